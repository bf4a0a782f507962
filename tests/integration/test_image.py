"""The image and image_info modules under real ``ansible-playbook`` runs (harness: ``playkit``,
fixtures: ``conftest.py``), against a real registry (Debian's docker-registry, started once for the
file); the host and the registry are checked through the engine itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from playkit import Host, make_container

from berth.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "runtime" / "tests"))
from registry_fixture import REGISTRY_BIN, free_port, start_registry

UNKNOWN = "(known after the run)"


class Registry(NamedTuple):
    host: str  # 127.0.0.1:PORT
    seed: Engine  # the engine that fills it
    busybox: str  # <host>/library/busybox:1, pushed by seed


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, busybox_tar: Path) -> Iterator[Registry]:
    if not os.access(REGISTRY_BIN, os.X_OK):
        pytest.skip("docker-registry is not installed")
    server = start_registry(tmp_path_factory.mktemp("registry"))
    seed = Engine(root=tmp_path_factory.mktemp("seed"))
    ref = f"{server.host}/library/busybox:1"
    seed.import_image(busybox_tar, ref)
    seed.push(ref)
    yield Registry(server.host, seed, ref)
    server.stop()


def state(h: Host) -> dict:
    """Everything an image task may write: records, names, blobs, layers."""
    names = h.engine.store.images.names()
    return {"images": sorted(str(i) for i in h.engine.store.images.ids()), "tags": names.tags,
            "digests": names.digests, "blobs": sorted(str(b) for b in h.engine.store.blobs),
            "layers": sorted(str(x) for x in h.engine.store.layers)}


def changes(run, *tasks: str) -> list[bool]:
    return [run[t]["changed"] for t in tasks]


# -- pull ------------------------------------------------------------------------------------------
def test_image_pull(host: Host, registry: Registry, busybox_tar: Path):
    ref = registry.busybox.replace(":1", ":pulled")
    registry.seed.tag(registry.busybox, ref)
    registry.seed.push(ref)
    first_id = str(registry.seed.image_id(ref))
    tasks = ("pull", "pull again", "pull forced", "pull forced again")

    run = host.play("image/pull.yml", check=True, diff=True, ref=ref)
    assert run.rc == 0, run.output
    assert changes(run, *tasks) == [True, True, True, True]  # check mode: nothing was pulled
    assert run["pull"]["diff"] == {"before": {"exists": False}, "after": {"exists": True, "id": UNKNOWN}}
    assert run["pull"]["actions"] == [f"pull image {ref}"]
    assert state(host) == {"images": [], "tags": {}, "digests": {}, "blobs": [], "layers": []}

    run = host.play("image/pull.yml", diff=True, ref=ref)
    assert run.rc == 0, run.output
    assert changes(run, *tasks) == [True, False, False, False]
    assert run["pull"]["diff"] == {"before": {"exists": False}, "after": {"exists": True, "id": first_id}}
    assert run["pull"]["image"]["Id"] == first_id == str(host.engine.image_id(ref))
    assert run["pull forced"]["diff"] == {"before": {}, "after": {}}

    # the registry's tag moves to another image: only a forced pull follows it
    registry.seed.import_image(busybox_tar, ref, changes=["LABEL generation=2"])
    registry.seed.push(ref)
    second_id = str(registry.seed.image_id(ref))
    assert second_id != first_id
    before = state(host)
    run = host.play("image/pull.yml", check=True, diff=True, ref=ref)
    assert run.rc == 0, run.output
    assert changes(run, *tasks) == [False, False, True, True]
    assert run["pull forced"]["diff"] == {"before": {"id": first_id}, "after": {"id": second_id}}
    assert state(host) == before  # asked the registry's manifests, stored nothing

    run = host.play("image/pull.yml", diff=True, ref=ref)
    assert run.rc == 0, run.output
    assert changes(run, *tasks) == [False, False, True, False]
    assert run["pull forced"]["diff"] == {"before": {"id": first_id}, "after": {"id": second_id}}
    assert str(host.engine.image_id(ref)) == second_id
    assert host.engine.inspect_image(ref)["Config"]["Labels"] == {"generation": "2"}


# -- tag and push ----------------------------------------------------------------------------------
def test_image_tag_and_push(host: Host, registry: Registry, busybox_tar: Path):
    host.engine.import_image(busybox_tar, "busybox:latest")
    host.engine.import_image(busybox_tar, "busybox:other", changes=["LABEL other=yes"])
    repo = f"{registry.host}/mirror/busybox:7"
    local = host.engine.inspect_image("busybox:latest")
    other = host.engine.inspect_image("busybox:other")

    before = state(host)
    run = host.play("image/push.yml", check=True, diff=True, image="busybox", repo=repo)
    assert run.rc == 0, run.output
    assert run["tag and push"]["actions"] == [f"tag image busybox:latest as {repo}", f"push image {repo}"]
    assert run["tag and push"]["diff"] == {"before": {"repository": {repo: None}, "pushed": {repo: None}},
                                           "after": {"repository": {repo: local["Id"]}, "pushed": {repo: UNKNOWN}}}
    assert state(host) == before and registry.seed.registry_digest(repo) is None

    run = host.play("image/push.yml", diff=True, image="busybox", repo=repo)
    assert run.rc == 0, run.output
    assert changes(run, "tag and push", "tag and push again") == [True, False]
    manifest = local["Descriptor"]["digest"]
    assert run["tag and push"]["diff"]["after"] == {"repository": {repo: local["Id"]}, "pushed": {repo: manifest}}
    assert str(registry.seed.registry_digest(repo)) == manifest
    assert str(host.engine.image_id(repo)) == local["Id"]

    # the repository tag names busybox:latest: another image moves it only with force_tag
    run = host.play("image/push.yml", diff=True, image="busybox", repo=repo, other="busybox:other")
    assert run.rc == 0, run.output
    assert changes(run, "tag and push", "another image, no force_tag", "another image, force_tag") == [
        False, False, True]
    assert any("force_tag: true moves it" in w for w in run["another image, no force_tag"]["warnings"])
    assert run["another image, force_tag"]["diff"] == {
        "before": {"repository": {repo: local["Id"]}, "pushed": {repo: manifest}},
        "after": {"repository": {repo: other["Id"]}, "pushed": {repo: other["Descriptor"]["digest"]}}}
    assert str(registry.seed.registry_digest(repo)) == other["Descriptor"]["digest"]
    # without force_tag the moved tag stays, and the registry has what it names: nothing to do
    assert run["first image again, no force_tag"]["changed"] is False


# -- build -----------------------------------------------------------------------------------------
DOCKERFILE = """FROM busybox
ARG GREETING=none
LABEL greeting=$GREETING
COPY hello.txt /hello.txt
"""


def test_image_build(host: Host, busybox_tar: Path, tmp_path: Path):
    host.engine.import_image(busybox_tar, "busybox:latest")
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile.app").write_text(DOCKERFILE)
    (context / "hello.txt").write_text("hello\n")
    tasks = ("build", "build again", "build forced", "build forced again")
    v = {"name": "web:1", "context": str(context)}

    before = state(host)
    run = host.play("image/build.yml", check=True, diff=True, greeting="one", **v)
    assert run.rc == 0, run.output
    assert changes(run, *tasks) == [True, True, True, True]
    assert run["build"]["diff"] == {"before": {"exists": False}, "after": {"exists": True, "id": UNKNOWN}}
    assert state(host) == before

    run = host.play("image/build.yml", diff=True, greeting="one", **v)
    assert run.rc == 0, run.output
    # a forced rebuild of an unchanged context finds every step in the cache: the same ID, no change
    assert changes(run, *tasks) == [True, False, False, False]
    first = host.engine.inspect_image("web:1")
    assert run["build"]["diff"] == {"before": {"exists": False}, "after": {"exists": True, "id": first["Id"]}}
    assert first["Config"]["Labels"] == {"greeting": "one", "team": "web"}
    assert "Step 3/5 : LABEL greeting=$GREETING" in run["build"]["stdout"]
    assert run["build forced"]["actions"] == [] and "stdout" in run["build forced"]

    run = host.play("image/build.yml", diff=True, greeting="two", **v)
    assert run.rc == 0, run.output
    assert changes(run, *tasks) == [False, False, True, False]
    second = host.engine.inspect_image("web:1")
    assert second["Config"]["Labels"]["greeting"] == "two"
    assert run["build forced"]["diff"] == {"before": {"id": first["Id"]}, "after": {"id": second["Id"]}}
    assert run["build forced"]["actions"] == [f"rebuild image web:1 from {context}"]


# -- load, save, image_info ------------------------------------------------------------------------
def test_image_load_save_and_info(host: Host, busybox_tar: Path, tmp_path: Path):
    image_id = str(host.engine.import_image(busybox_tar, "app:1"))
    archive, out = tmp_path / "app.tar", tmp_path / "out" / "saved.tar"
    out.parent.mkdir()
    host.engine.save(["app:1"], archive)
    host.engine.rmi("app:1")
    assert state(host)["images"] == []
    tasks = ("load", "load again", "load forced", "save", "save again")
    v = {"name": "app:1", "archive": str(archive), "out": str(out)}

    run = host.play("image/load.yml", check=True, diff=True, **v)
    assert run.rc == 0, run.output
    assert changes(run, *tasks) == [True, True, True, True, True]
    assert run["load"]["diff"] == {"before": {"exists": False}, "after": {"exists": True, "id": image_id}}
    assert run["save"]["actions"] == [f"load images from {archive}", f"save image app:1 to {out}"]
    assert state(host)["images"] == [] and state(host)["blobs"] == [] and not out.exists()

    run = host.play("image/load.yml", **v)
    assert run.rc == 0, run.output
    assert changes(run, *tasks) == [True, False, False, True, False]
    assert run["load"]["image"]["Id"] == image_id and run["save"]["actions"] == [f"save image app:1 to {out}"]
    assert host.engine.archive_images(out) == [(host.engine.image_id("app:1"), ["docker.io/library/app:1"])]

    host.engine.tag("app:1", "app:2")
    run = host.play("image_info/info.yml", names=["app:1", "app:2", "missing:1", "Bad Name"])
    assert run.rc == 0, run.output
    assert [i["Id"] for i in run["info"]["images"]] == [image_id]  # one image, two names; missing ones left out
    assert sorted(run["info"]["images"][0]["RepoTags"]) == ["app:1", "app:2"]
    assert [i["Id"] for i in run["info all"]["images"]] == [image_id]
    assert run["info"]["changed"] is False and "actions" not in run["info"]


# -- absent ----------------------------------------------------------------------------------------
def test_image_absent(host: Host, busybox_tar: Path):
    make_container(host, busybox_tar, "user")  # uses busybox:latest
    host.engine.import_image(busybox_tar, "app:1", changes=["LABEL app=1"])  # another image than busybox
    host.engine.tag("app:1", "app:2")
    app = str(host.engine.image_id("app:1"))
    run = host.play("image/absent.yml", name="app:1", used="busybox")
    assert run.rc == 0, run.output
    check = run["remove, check mode"]
    assert check["changed"] is True and check["actions"] == ["remove image app:1"]
    assert check["diff"] == {"before": {"exists": True, "id": app}, "after": {"exists": False}}
    assert changes(run, "remove", "remove again", "remove used, forced", "remove used, forced again") == [
        True, False, True, False]
    assert "in use by container(s)" in run.failed("remove used")
    names = host.engine.store.images.names().tags
    assert names == {"docker.io/library/app:2": app}  # app:1 untagged only: app:2 still names the image


# -- bad input -------------------------------------------------------------------------------------
def test_image_bad_input_names_the_option_and_changes_nothing(host: Host, registry: Registry, busybox_tar: Path,
                                                               tmp_path: Path):
    host.engine.import_image(busybox_tar, "busybox:latest")
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile.fail").write_text("FROM busybox\nRUN exit 3\n")
    closed = f"127.0.0.1:{free_port()}"
    before = state(host)
    run = host.play("image/bad.yml", closed=closed, registry=registry.host, context=str(context),
                    missing=str(tmp_path / "missing"))
    assert run.rc == 0, run.output
    assert run.failed("bad reference").startswith("name: invalid reference format")
    assert run.failed("bad tag").startswith("tag: invalid reference format")
    assert "source" in run.failed("no source")
    assert run.failed("unreachable registry").startswith(f"pull image {closed}/app:1: name: ")
    assert run["unreachable registry"]["error"]["type"] == "RegistryUnreachable"
    assert run.failed("unknown image in the registry").startswith(f"pull image {registry.host}/nothing/here:1: name: ")
    assert run.failed("build path missing") == f"build.path: {tmp_path / 'missing'} does not exist"
    step = run.failed("step fails")
    assert step.startswith(f"build image app:1 from {context}: build: Step 2/2 (Dockerfile.fail:2) : RUN exit 3")
    assert "non-zero code: 3" in step
    assert run.failed("load path missing").startswith(f"load_path: cannot open {tmp_path / 'missing'}")
    assert run.failed("push to an unreachable registry").startswith("repository: ")
    assert run.failed("local, not present").startswith("name: image app:1 is not present")
    assert run.failed("archive directory missing") == (
        f"archive_path: the directory of {tmp_path / 'missing' / 'out.tar'} does not exist")
    after = state(host)
    assert after["tags"] == before["tags"] and after["digests"] == before["digests"]
    assert after == before  # not even a half-pulled blob


# -- budgets ---------------------------------------------------------------------------------------
_OBSERVE_ONLY = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.berth.core.plugins.module_utils import image
from ansible_collections.berth.core.plugins.module_utils.options import parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import execute
from berth.engine import Engine

engine = Engine(root=sys.argv[2])
changed = []
for resource, params in ((image.Image, {"name": sys.argv[3], "source": "pull"}),
                         (image.Image, {"name": sys.argv[3], "source": "pull", "platform": "linux/amd64"}),
                         (image.Image, {"name": sys.argv[3], "source": "build", "build": {"path": "/nonexistent"}}),
                         (image.Image, {"name": "missing:1", "state": "absent"}),
                         (image.ImageInfo, {"name": [sys.argv[3]]})):
    result, _ = execute(resource, parse_options(resource.options, params), engine, check_mode=False)
    changed.append(result["changed"])
heavy = sorted(m for m in sys.modules if m == "berth.network.rtnl" or m.split(".")[0] in ("requests", "urllib3"))
print(json.dumps({"changed": changed, "heavy": heavy}))
"""


def test_a_no_change_image_run_asks_no_registry_and_imports_no_requests(host: Host, busybox_tar: Path,
                                                                       collections_root: Path):
    """DESIGN, budgets: a present image with source pull is a look at the store, nothing more (the
    image names a registry on a closed port: asking it would fail the task)."""
    ref = f"127.0.0.1:{free_port()}/app:1"
    host.engine.import_image(busybox_tar, ref)
    if host.engine.inspect_image(ref)["Architecture"] != "amd64":
        pytest.skip("the platform case assumes an amd64 host")
    proc = subprocess.run([sys.executable, "-c", _OBSERVE_ONLY, str(collections_root), str(host.root), ref],
                          capture_output=True, text=True, check=False, env={**os.environ, "BERTH_ROOT": ""})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"changed": [False] * 5, "heavy": []}
