"""``python -m berth.layers``: the per-layer extraction process a pull starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from imagekit import layer_tar


def _extract(tmp_path, parent: int | None):
    blob = tmp_path / "layer.tar"
    blob.write_bytes(layer_tar({"etc/motd": b"hi\n"}))
    (tmp_path / "diff").mkdir()  # made by the parent, as LayerStore._unpack does
    env = {k: v for k, v in os.environ.items() if k != "BERTH_LAYERS_PARENT"}
    if parent is not None:
        env["BERTH_LAYERS_PARENT"] = str(parent)
    return subprocess.run([sys.executable, "-m", "berth.layers", str(blob), str(tmp_path / "diff")],
                          capture_output=True, text=True, env=env, check=False)


def test_extracts_and_reports_the_diff_id(tmp_path):
    proc = _extract(tmp_path, parent=os.getpid())
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["diff_id"].startswith("sha256:")
    assert (tmp_path / "diff" / "etc" / "motd").read_bytes() == b"hi\n"


def test_an_orphan_writes_nothing(tmp_path):
    """Its pull died before it could ask to be killed with it (the child was re-parented): it
    must not write into a temp dir that ``system check`` is about to remove."""
    proc = _extract(tmp_path, parent=os.getpid() + 10_000_000)  # not this child's parent
    assert proc.returncode == 1
    assert list((tmp_path / "diff").iterdir()) == []
