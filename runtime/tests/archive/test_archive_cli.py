"""``berth import`` / ``save`` / ``load`` end to end, as separate processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def berth(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "berth.cli.main", "--root", str(root), *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_import_save_load_round_trip(tmp_path: Path, rootfs_tar: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    proc = berth(one, "import", str(rootfs_tar), "busybox:cli", "-c", 'CMD ["sh"]', "-c", "ENV A=1 B=2",
                 "-m", "from the CLI")
    assert proc.returncode == 0, proc.stderr
    image_id = proc.stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71

    archive = tmp_path / "busybox.tar"
    proc = berth(one, "save", "-o", str(archive), "busybox:cli")
    assert proc.returncode == 0, proc.stderr
    assert archive.is_file()

    proc = berth(two, "load", "-i", str(archive))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["Loaded image: busybox:cli"]

    proc = berth(two, "inspect", "busybox:cli")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    info = data[0] if isinstance(data, list) else data
    assert info["Id"] == image_id
    assert info["Config"] == {"Cmd": ["sh"], "Env": ["A=1", "B=2"]}
    assert info["Comment"] == "from the CLI"


def test_cli_errors(tmp_path: Path) -> None:
    root = tmp_path / "root"
    bogus = tmp_path / "bogus.tar"
    bogus.write_text("not a tar\n" * 100)
    proc = berth(root, "load", "-i", str(bogus))
    assert proc.returncode != 0
    assert f"{bogus} is not a tar archive" in proc.stderr

    proc = berth(root, "import", str(bogus), "-c", "RUN true")
    assert proc.returncode == 125
    assert "RUN is not a valid change command" in proc.stderr

    proc = berth(root, "save", "-o", str(tmp_path / "out.tar"), "nothing:here")
    assert proc.returncode != 0
    assert not (tmp_path / "out.tar").exists()
