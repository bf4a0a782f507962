"""One image per step, as the classic builder: the parent's layers (plus the step's diff, if any) and
the stage's config, with one history entry appended."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from berth.reference import Digest, Platform
from berth.runtime.commit import base_history, write_image
from berth.state.records import now_rfc3339
from berth.store import LayerRef, Store


def step_image(store: Store, parent: Digest | None, full: dict[str, Any], created_by: str, *,
               record_dir: Path | None = None, stub_record: dict[str, Any] | None = None) -> Digest:
    """The image of one step: ``full`` (the stage's config JSON, already edited by the step) over
    ``parent``; the overlay upper dir under ``record_dir`` becomes a layer unless it is empty."""

    def make_config(_base: dict[str, Any], layers: list[LayerRef], empty: bool) -> dict[str, Any]:
        created = now_rfc3339()
        cfg = copy.deepcopy(full)
        step: dict[str, Any] = {"created": created, "created_by": created_by}
        if empty:
            step["empty_layer"] = True
        plat = Platform.host()
        cfg.setdefault("architecture", plat.architecture)
        cfg.setdefault("os", "linux")
        cfg.setdefault("config", {})
        for stale in ("container", "container_config", "comment"):  # a commit's, not a build's
            cfg.pop(stale, None)
        cfg["created"] = created
        cfg["history"] = [*base_history(full), step]
        cfg["rootfs"] = {"type": "layers", "diff_ids": [str(x.diff_id) for x in layers]}
        return cfg

    return write_image(store, parent, record_dir, make_config, source="build", stub_record=stub_record)
