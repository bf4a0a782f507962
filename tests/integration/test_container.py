"""The container and container_info modules under real ``ansible-playbook`` runs (harness:
``playkit``, fixtures: ``conftest.py``); the host is checked through the engine itself."""

from __future__ import annotations

import socket
from pathlib import Path

from playkit import Host

#: what the test image adds to busybox: the things a comparison against the merged config would trip on
IMAGE_CHANGES = ['CMD ["sleep", "300"]', "ENV IMG=1 A=0", "LABEL img=1", "EXPOSE 80"]


def _image(h: Host, busybox_tar: Path, *changes: str) -> str:
    """Import busybox as ``busybox:latest`` (with ``changes``), and give it a repository digest, as a pull would."""
    image_id = str(h.engine.import_image(busybox_tar, "busybox", [*IMAGE_CHANGES, *changes]))
    with h.engine.store.images.editing_names() as names:
        names.digests[f"docker.io/library/busybox@sha256:{image_id[-64:][::-1]}"] = image_id
    return image_id


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _containers(h: Host) -> dict:
    return {row["Names"][0].lstrip("/"): h.engine.inspect_container(row["Id"]) for row in h.engine.containers(all=True)}


def test_container_written_differently_is_not_changed(host: Host, busybox_tar: Path, tmp_path: Path):
    image_id = _image(host, busybox_tar)
    digest_ref = f"busybox@sha256:{image_id[-64:][::-1]}"
    bind = tmp_path / "bind"
    bind.mkdir()
    run = host.play("container/traps.yml", bind_dir=str(bind), port=_free_port(), image_id=image_id,
                    digest_ref=digest_ref)
    assert run.rc == 0, run.output
    assert run["create"]["changed"] is True
    assert run["create"]["actions"] == ["create container web", "start container web"]
    again = [task for task in run.results if task != "create"]
    assert len(again) == 13
    assert {task: run[task]["changed"] for task in again} == dict.fromkeys(again, False), run.output
    web = _containers(host)["web"]
    assert web["State"]["Running"] is True
    assert web["Config"]["Cmd"] == ["sleep", "300"]
    assert sorted(web["Config"]["Env"])[:3] == ["A=1", "B=true", "IMG=1"]
    assert web["Config"]["Labels"] == {"L": "1", "img": "1"}
    assert web["HostConfig"]["Memory"] == 1 << 30
