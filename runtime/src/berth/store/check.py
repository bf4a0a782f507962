"""``berth system check [--repair]``: verify every digest and every reference.

Finds what a kill -9 or a disk fault can leave behind and, with ``repair``,
fixes it so that the next pull simply works:

* temp files/dirs of dead writers (named ``kind-<pid>-<rand>``) -> removed
* leases of dead operations -> removed
* blobs whose content does not hash to their name -> removed
* image records that are unreadable or miss a blob or layer -> removed with their names
* names pointing at missing records -> removed
* layer dirs without metadata -> removed
* unreferenced blobs and layers -> collected (garbage, not an error)
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path

from berth.errors import StoreError
from berth.fsutil import rmtree
from berth.reference import Digest
from berth.store.leases import live_claims
from berth.store.store import Store
from berth.structs import dataclass, field


@dataclass
class Problem:
    kind: str
    subject: str
    detail: str
    repaired: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail, "repaired": self.repaired}


@dataclass
class CheckReport:
    problems: list[Problem] = field(default_factory=list)
    blobs_checked: int = 0
    images_checked: int = 0
    layers_checked: int = 0
    garbage_blobs: int = 0
    garbage_layers: int = 0

    @property
    def clean(self) -> bool:
        return all(p.repaired for p in self.problems)

    def to_dict(self) -> dict[str, object]:
        return {
            "clean": self.clean,
            "problems": [p.to_dict() for p in self.problems],
            "blobs_checked": self.blobs_checked,
            "images_checked": self.images_checked,
            "layers_checked": self.layers_checked,
            "garbage_blobs": self.garbage_blobs,
            "garbage_layers": self.garbage_layers,
        }


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_pid(name: str) -> int | None:
    parts = name.split("-")
    for part in parts[1:]:
        if part.isdigit():
            return int(part)
    return None


def check_store(store: Store, *, repair: bool = False) -> CheckReport:
    report = CheckReport()
    paths = store.paths

    def problem(kind: str, subject: str, detail: str, fix=None) -> None:
        p = Problem(kind, subject, detail)
        if repair and fix is not None:
            fix()
            p.repaired = True
        report.problems.append(p)

    # 1. debris of dead writers
    if paths.tmp.is_dir():
        for entry in paths.tmp.iterdir():
            pid = _owner_pid(entry.name)
            if pid is None or not _pid_alive(pid):
                problem("stale-temp", entry.name, "left by a writer that no longer runs",
                        lambda e=entry: _remove_temp(e))
    if paths.leases.is_dir():
        live = {p.name for p in paths.leases.iterdir()}
        live_claims(paths, reap=repair)
        if repair:
            for name in live - {p.name for p in paths.leases.iterdir()}:
                report.problems.append(Problem("stale-lease", name, "lease of a dead operation", repaired=True))

    # 2. blobs: content matches name
    bad_blobs: set[Digest] = set()
    for d in list(store.blobs):
        report.blobs_checked += 1
        try:
            ok = store.blobs.verify(d)
        except (OSError, StoreError):
            ok = False
        if not ok:
            bad_blobs.add(d)
            problem("corrupt-blob", str(d), "content does not match its digest", lambda d=d: store.blobs.delete(d))

    # 3. layers: complete
    for d in list(store.layers):
        report.layers_checked += 1
        if not store.layers.has(d):
            problem("incomplete-layer", str(d), "layer dir has no metadata", lambda d=d: rmtree(store.layers.dir(d)))

    # 4. image records and what they reference
    good_ids: set[str] = set()
    for image_id in store.images.ids():
        report.images_checked += 1
        reason = _record_problem(store, image_id, bad_blobs)
        if reason is None:
            good_ids.add(str(image_id))
            continue

        def drop(i=image_id) -> None:
            with store.images.editing_names() as names:
                names.drop_image(i)
                store.images.remove_record(i)

        problem("broken-image", str(image_id), reason, drop)

    # 5. names pointing nowhere
    names = store.images.names()
    dangling = {k for k, v in {**names.tags, **names.digests}.items() if v not in good_ids}
    known_bad = {p.subject for p in report.problems if p.kind == "broken-image"}
    for key in sorted(dangling):
        target = names.tags.get(key) or names.digests.get(key)
        if target in known_bad:
            continue

        def drop_name(k=key) -> None:
            with store.images.editing_names() as idx:
                idx.tags.pop(k, None)
                idx.digests.pop(k, None)

        problem("dangling-name", key, f"points at missing image {target}", drop_name)

    # 6. garbage (not a problem: collected on repair)
    blobs, layers = store.referenced()
    claims = live_claims(paths, reap=False)
    report.garbage_blobs = len([d for d in store.blobs if d not in blobs and d not in claims.get("blob", set())])
    report.garbage_layers = len([d for d in store.layers if d not in layers and d not in claims.get("layer", set())])
    if repair and (report.garbage_blobs or report.garbage_layers):
        store.gc()
    return report


def _record_problem(store: Store, image_id: Digest, bad_blobs: set[Digest]) -> str | None:
    try:
        rec = store.images.get(image_id)
    except StoreError as exc:
        return str(exc)
    if rec is None:
        return "record vanished"
    if rec.id != image_id:
        return f"record file names {image_id} but holds {rec.id}"
    for d in sorted(rec.blobs()):
        if d in bad_blobs or not store.blobs.has(d):
            return f"blob {d} is missing or corrupt"
    try:
        config = json.loads(store.blobs.read(rec.id))
        diff_ids = [Digest.parse(x) for x in config["rootfs"]["diff_ids"]]
    except (ValueError, KeyError, TypeError, StoreError) as exc:
        return f"config blob is unreadable: {exc}"
    if diff_ids != rec.diff_ids():
        return "config diff_ids do not match the record's layers"
    for d in diff_ids:
        if not store.layers.has(d):
            return f"unpacked layer {d} is missing"
    return None


def _remove_temp(entry: Path) -> None:
    """Unmount what a dead writer left mounted inside (a build step's rootfs), then remove the tree:
    removing through a live overlay would only fill its upper dir with whiteouts."""
    from berth.runtime.mountutil import umount

    prefix = str(entry) + "/"
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for point in sorted((p for p in points if p.startswith(prefix)), key=lambda p: -p.count("/")):
        umount(Path(point))
    # A dead writer's helper (a layer extraction, killed with its parent by PR_SET_PDEATHSIG) can
    # still finish the write it was in while this runs: a directory then refills once.
    for attempt in range(10):
        try:
            rmtree(entry)
            return
        except OSError as exc:
            if exc.errno != errno.ENOTEMPTY or attempt == 9:
                raise
            time.sleep(0.05)
