"""The service images of ``images/<name>/`` (mysql, tomcat, nginx, redis, registry, flask-web), built
on the local Debian base and cached between runs, for the tests, the roles' tests and the demo.

``ensure_image(engine, name)`` returns ``local/<name>:latest`` in ``engine``, the cheapest way it can
(``ensure_images`` for several at once):

1. the engine already holds it, built from the same sources (the key label matches): nothing;
2. ``$BERTH_TEST_CACHE/service-images/<name>-<key>.tar`` exists: ``load`` it (seconds);
3. otherwise ``build`` it (20-90 s of apt-get) and ``save`` it there for the next run.

The key is a checksum of the image's directory (names, exec bits, contents) and of the base image's
content (layer diff_ids and config). Not the base's image ID: ``import`` stamps the time into the
config, so every engine that imports the same rootfs gets a new ID, while the layers stay the same
(debian-base.sh makes a deterministic tar). The Debian mirror moving on does not change the key:
delete the cache directory to pick up new package versions.

As a script (``make images``): fill the cache, in a temporary engine unless ``--root`` names one:
``python tests/images/service_images.py [--cache DIR] [--root ROOT] [NAME ...]``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from berth.engine import Engine
from berth.errors import BerthError, ImageNotFound

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "images"
DEBIAN_SCRIPT = REPO / "tests" / "images" / "debian-base.sh"
BASE = "local/debian:bookworm"
#: what Docker's debian image declares (its PATH, bash as the command)
BASE_CHANGES = ["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 'CMD ["bash"]']
#: the label recording which sources an image was built from
KEY_LABEL = "org.berth.images.key"

Log = Callable[[str], None]


def names() -> list[str]:
    """Every image under images/ (a directory with a Dockerfile)."""
    return sorted(p.parent.name for p in IMAGES.glob("*/Dockerfile"))


def default_cache_dir() -> Path:
    """Where debian-base.sh and the Makefile keep test images: $BERTH_TEST_CACHE or ~/.cache/berth."""
    return Path(os.environ.get("BERTH_TEST_CACHE") or Path.home() / ".cache" / "berth")


def image_ref(name: str) -> str:
    return f"local/{name}:latest"


def has_image(engine: Engine, ref: str) -> bool:
    try:
        engine.image_id(ref)
    except ImageNotFound:
        return False
    return True


def ensure_base(engine: Engine, cache_dir: Path | None = None) -> str:
    """Import ``local/debian:bookworm`` into ``engine`` unless it holds it (debootstrap on first use)."""
    if has_image(engine, BASE):
        return BASE
    cache = Path(cache_dir or default_cache_dir())
    cache.mkdir(parents=True, exist_ok=True)
    rootfs = cache / "debian-bookworm.tar"
    proc = subprocess.run(["bash", str(DEBIAN_SCRIPT), str(rootfs)], capture_output=True, text=True,
                          env={**os.environ, "BERTH_TEST_CACHE": str(cache)})
    if proc.returncode != 0:
        raise RuntimeError(f"{DEBIAN_SCRIPT.name} failed:\n{proc.stderr}")
    engine.import_image(rootfs, BASE, changes=BASE_CHANGES)
    return BASE


def base_identity(engine: Engine) -> str:
    """The base image's content, without the import time its ID depends on."""
    info = engine.inspect_image(BASE)
    return json.dumps({"layers": info["RootFS"]["Layers"], "config": info["Config"]}, sort_keys=True)


def source_key(image_dir: Path, base: str) -> str:
    """A checksum of everything a build of ``image_dir`` on ``base`` reads."""
    h = hashlib.sha256(base.encode())
    for path in sorted(p for p in image_dir.rglob("*") if p.is_file()):
        h.update(b"\0" + str(path.relative_to(image_dir)).encode() + b"\0")
        h.update(b"x" if os.access(path, os.X_OK) else b"-")  # COPY keeps the mode
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def archive_path(cache: Path, name: str, key: str) -> Path:
    return cache / "service-images" / f"{name}-{key}.tar"


def built_from(engine: Engine, ref: str, key: str) -> bool:
    if not has_image(engine, ref):
        return False
    labels = engine.inspect_image(ref)["Config"].get("Labels") or {}
    return labels.get(KEY_LABEL) == key


def ensure_image(engine: Engine, name: str, cache_dir: Path | None = None, *, log: Log | None = None) -> str:
    """``local/<name>:latest`` in ``engine``: already there, loaded from the cache, or built and cached."""
    from berth.build.builder import BuildOptions

    cache = Path(cache_dir or default_cache_dir())
    ensure_base(engine, cache)
    ref = image_ref(name)
    key = source_key(IMAGES / name, base_identity(engine))
    if built_from(engine, ref, key):
        return ref
    archive = archive_path(cache, name, key)
    if archive.is_file():
        try:
            engine.load(archive)
        except BerthError:  # a damaged cache file (a copy cut short, a bad disk) is only a miss
            archive.unlink()
        if built_from(engine, ref, key):
            return ref
    chunks: list[str] = []
    try:
        engine.build(BuildOptions(context=IMAGES / name, tags=(ref,), labels=((KEY_LABEL, key),)),
                     log or chunks.append)
    except Exception as exc:
        raise RuntimeError(f"building {ref} failed: {exc}\n{''.join(chunks)[-4000:]}") from exc
    _save(engine, ref, archive)
    return ref


def ensure_images(engine: Engine, wanted: list[str], cache_dir: Path | None = None, *,
                  log: Log | None = None) -> dict[str, str]:
    """``ensure_image`` for several images: those in the cache are loaded side by side (a load is mostly
    gzip, which runs outside the GIL), then the others are built one after the other. Each loader has an
    ``Engine`` object of its own on the same root, as separate ``berth load`` processes would."""
    from concurrent.futures import ThreadPoolExecutor

    cache = Path(cache_dir or default_cache_dir())
    ensure_base(engine, cache)
    base = base_identity(engine)
    archives = {n: archive_path(cache, n, source_key(IMAGES / n, base)) for n in wanted}
    # largest first: the long load (tomcat's JRE) starts at once and the small ones fill in beside it
    cached = sorted((n for n, a in archives.items() if a.is_file()), key=lambda n: -archives[n].stat().st_size)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(lambda n: ensure_image(Engine(root=engine.paths.root), n, cache), cached))
    return {n: ensure_image(engine, n, cache, log=log) for n in wanted}


def _save(engine: Engine, ref: str, archive: Path) -> None:
    """Save ``ref`` as ``archive`` (complete or not at all), dropping this image's older archives."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=archive.parent, prefix=f".{archive.name}.")
    os.close(fd)
    try:
        engine.save([ref], tmp)
        os.replace(tmp, archive)
    finally:
        Path(tmp).unlink(missing_ok=True)
    name = archive.name.rsplit("-", 1)[0]
    for old in archive.parent.glob(f"{name}-*.tar"):
        if old != archive and old.name.rsplit("-", 1)[0] == name:
            old.unlink()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build or load the service images of images/ and cache them.")
    parser.add_argument("--cache", type=Path, default=None, help="cache directory (default: $BERTH_TEST_CACHE)")
    parser.add_argument("--root", type=Path, default=None,
                        help="engine root to leave the images in (default: a temporary one)")
    parser.add_argument("names", nargs="*", help=f"images (default: all of {', '.join(names())})")
    args = parser.parse_args(argv)
    wanted = args.names or names()
    unknown = sorted(set(wanted) - set(names()))
    if unknown:
        parser.error(f"no such image under {IMAGES}: {', '.join(unknown)}")
    if args.root:
        return _fill(Engine(root=args.root), wanted, args.cache)
    # A throwaway engine with a bridge and subnet of its own, so it cannot meet another engine's.
    sys.path.insert(0, str(REPO / "runtime" / "tests"))
    from rtkit import isolated_engine, teardown_engine

    with tempfile.TemporaryDirectory(prefix="berth-images-") as tmp:
        engine = isolated_engine(Path(tmp) / "root")
        try:
            return _fill(engine, wanted, args.cache, skip_cached=True)
        finally:
            teardown_engine(engine)


def _fill(engine: Engine, wanted: list[str], cache_dir: Path | None, *, skip_cached: bool = False) -> int:
    """Bring ``wanted`` into ``engine``; ``skip_cached``: only build what the cache lacks (the engine is
    thrown away after, so loading an archive would only cost time)."""
    cache = Path(cache_dir or default_cache_dir())
    if skip_cached:
        ensure_base(engine, cache)
        base = base_identity(engine)
        archives = {name: archive_path(cache, name, source_key(IMAGES / name, base)) for name in wanted}
        for name, archive in archives.items():
            if archive.is_file():
                print(f"{image_ref(name)}: cached in {archive}")
        wanted = [name for name in wanted if not archives[name].is_file()]
    for ref in ensure_images(engine, wanted, cache, log=lambda text: print(text, end="", flush=True)).values():
        print(f"{ref}: {engine.image_id(ref)} ({engine.inspect_image(ref)['Size'] / 1e6:.0f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
