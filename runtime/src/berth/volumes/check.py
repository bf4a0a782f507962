"""``berth system check`` for volumes: find (and with ``repair``, fix) what a crash left behind.

Entries whose lock is held belong to a live operation and are skipped, never touched.
A directory without metadata is removed when it holds no data; when it does, it is adopted
with default metadata, because deleting a user's files is worse than an unexpected volume.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.errors import BerthError, InvalidArgument
from berth.fsutil import atomic_write_json, read_json, rmtree
from berth.volumes import copyup
from berth.volumes.names import validate_name
from berth.volumes.options import DRIVER

if TYPE_CHECKING:
    from berth.volumes.store import VolumeStore


def check_volumes(store: VolumeStore, *, repair: bool = False) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    try:
        entries = sorted(os.listdir(store.base))
    except FileNotFoundError:
        return problems
    for entry in entries:
        if entry.startswith("."):
            continue
        try:
            validate_name(entry)
        except InvalidArgument:
            detail = f"{store.base / entry} is not a volume (left alone)"
            problems.append(_problem("volume-unknown-entry", entry, detail))
            continue
        with store.locks.try_hold(entry) as free:
            if free:
                problems.extend(_check_one(store, entry, repair))
    problems.extend(_check_staging(store, repair))
    return problems


def _check_one(store: VolumeStore, name: str, repair: bool) -> list[dict[str, Any]]:
    vdir, data = store.dir(name), store.data_dir(name)
    if not vdir.is_dir():
        return []
    out: list[dict[str, Any]] = []
    try:
        meta = read_json(vdir / "meta.json")
        broken = None if isinstance(meta, dict) else ("missing" if meta is None else "not an object")
    except (ValueError, OSError) as exc:
        broken = f"unreadable ({exc})"
    if broken:
        has_data = data.is_dir() and any(os.scandir(data))
        if not has_data:
            p = _problem("volume-incomplete", name, f"meta.json {broken} and no data: a create was interrupted")
            if repair:
                store._discard(name)
                p["repaired"] = True
            return [p]
        p = _problem("volume-metadata-missing", name, f"meta.json {broken} but _data has content: adopt it")
        if repair:
            atomic_write_json(vdir / "meta.json", _adopted(name, vdir))
            p["repaired"] = True
        out.append(p)
    if not data.is_dir():
        p = _problem("volume-data-missing", name, "_data is missing: recreate it empty")
        if repair:
            data.mkdir(mode=0o755)
            os.chmod(data, 0o755)
            p["repaired"] = True
        out.append(p)
    found = copyup.state(vdir)
    if found:
        what = "finish publishing the copied files" if found == "move" else "discard the partial copy"
        p = _problem("volume-copyup-interrupted", name, f"copy-up was interrupted: {what}")
        target = _copy_target(store, name)
        if repair and target is not None and target.is_dir():
            copyup.recover(vdir, target)
            p["repaired"] = True
        out.append(p)
    return out


def _check_staging(store: VolumeStore, repair: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    try:
        entries = sorted(os.listdir(store.staging))
    except FileNotFoundError:
        return out
    for entry in entries:
        kind, _, rest = entry.partition(".")
        name = rest.rpartition(".")[0]
        try:
            validate_name(name)
        except InvalidArgument:
            name = ""
        # A staging dir is live while its volume's lock is held; unknown names cannot be.
        with store.locks.try_hold(name) if name else nullcontext(True) as free:
            if not free:
                continue
            what = {"c": "an interrupted create", "r": "an interrupted remove"}.get(kind, "unknown staging entry")
            p = _problem("volume-staging-leftover", entry, f"{store.staging / entry}: {what}")
            if repair:
                rmtree(store.staging / entry)
                p["repaired"] = True
            out.append(p)
    return out


def _copy_target(store: VolumeStore, name: str) -> Path | None:
    try:
        return store.mount_source(name)
    except BerthError:
        return None  # a bind volume whose device is gone: nothing to finish into


def _adopted(name: str, vdir: os.PathLike[str]) -> dict[str, Any]:
    created = datetime.fromtimestamp(os.stat(vdir).st_mtime, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    # Not anonymous even if the name looks random: `volume prune` must not delete adopted data.
    return {"Name": name, "Driver": DRIVER, "Labels": {}, "Options": {}, "Scope": "local",
            "CreatedAt": created, "Anonymous": False}


def _problem(kind: str, subject: str, detail: str) -> dict[str, Any]:
    return {"kind": kind, "subject": subject, "detail": detail, "repaired": False}

