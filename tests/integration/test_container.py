"""The container and container_info modules under real ``ansible-playbook`` runs (harness:
``playkit``, fixtures: ``conftest.py``); the host is checked through the engine itself."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from playkit import Host, make_container

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
    assert len(again) == 14
    assert {task: run[task]["changed"] for task in again} == dict.fromkeys(again, False), run.output
    web = _containers(host)["web"]
    assert web["State"]["Running"] is True
    assert web["Config"]["Cmd"] == ["sleep", "300"]
    assert sorted(web["Config"]["Env"])[:3] == ["A=1", "B=true", "IMG=1"]
    assert web["Config"]["Labels"] == {"L": "1", "img": "1"}
    assert web["HostConfig"]["Memory"] == 1 << 30
    assert web["HostConfig"]["SecurityOpt"] == ["no-new-privileges"]


def test_container_changes_recreate_it_and_check_mode_only_predicts(host: Host, busybox_tar: Path):
    first = _image(host, busybox_tar)
    assert host.play("container/modify.yml", env_a="1").rc == 0
    before = _containers(host)["web"]

    run = host.play("container/modify.yml", check=True, diff=True, env_a="2")
    assert run.rc == 0, run.output
    assert run["modify"]["changed"] is True
    assert run["modify"]["actions"] == ["recreate container web (env)", "start container web"]
    assert run["modify"]["diff"] == {"before": {"env": {"A": "1"}}, "after": {"env": {"A": "2"}}}
    assert '-        "A": "1"' in run.output and '+        "A": "2"' in run.output
    assert _containers(host)["web"] == before

    run = host.play("container/modify.yml", env_a="2")
    assert run.rc == 0, run.output
    web = _containers(host)["web"]
    assert web["Id"] != before["Id"] and web["State"]["Running"] is True
    assert "A=2" in web["Config"]["Env"] and web["Image"] == first

    # the tag now names another image: that is a difference, the container follows its image
    moved = _image(host, busybox_tar, "ENV V=2")
    assert moved != first
    run = host.play("container/modify.yml", env_a="2")
    assert run.rc == 0, run.output
    assert run["modify"]["actions"] == ["recreate container web (image)", "start container web"]
    assert run["modify"]["diff"] == {"before": {"image": first}, "after": {"image": moved}}
    assert _containers(host)["web"]["Image"] == moved
    assert host.play("container/modify.yml", env_a="2")["modify"]["changed"] is False


def test_limits_and_restart_policy_change_in_place(host: Host, busybox_tar: Path):
    """Like docker_container: memory, cpus, pids_limit and the restart policy are updated on the
    running container (berth update), not by a recreate."""
    _image(host, busybox_tar)
    assert host.play("container/update.yml", memory="64m", restart="no").rc == 0
    before = _containers(host)["web"]

    run = host.play("container/update.yml", check=True, diff=True, memory="128m", restart="always")
    assert run.rc == 0, run.output
    assert run["limits"]["actions"] == ["update container web (memory, restart_policy)"]
    assert run["limits"]["diff"] == {"before": {"memory": 64 << 20, "restart_policy": "no"},
                                     "after": {"memory": 128 << 20, "restart_policy": "always"}}
    assert _containers(host)["web"] == before

    run = host.play("container/update.yml", memory="128m", restart="always")
    assert run.rc == 0, run.output
    assert run["limits"]["changed"] is True
    web = _containers(host)["web"]
    assert (web["Id"], web["State"]["Pid"], web["State"]["StartedAt"]) == (
        before["Id"], before["State"]["Pid"], before["State"]["StartedAt"])  # the same process, not restarted
    assert web["HostConfig"]["Memory"] == 128 << 20 and web["HostConfig"]["RestartPolicy"]["Name"] == "always"
    assert host.play("container/update.yml", memory="128m", restart="always")["limits"]["changed"] is False


def test_container_states_and_info(host: Host, busybox_tar: Path):
    _image(host, busybox_tar)
    run = host.play("container/lifecycle.yml", name="job")
    assert run.rc == 0, run.output
    changed = {task: result.get("changed") for task, result in run.results.items()}
    assert changed == {"present": True, "present again": False, "started": True, "started again": False,
                       "present keeps it running": False, "restarted": True, "stopped": True,
                       "stopped again": False, "info": False, "absent": True, "absent again": False,
                       "info missing": False}
    assert run["present"]["actions"] == ["create container job"]
    assert run["present"]["container"]["State"]["Running"] is False
    assert run["started"]["actions"] == ["start container job"]
    assert run["restarted"]["actions"] == ["restart container job"]
    assert run["restarted"]["diff"] == {"before": {"restarted": False}, "after": {"restarted": True}}
    assert run["stopped"]["diff"] == {"before": {"running": True}, "after": {"running": False}}
    assert run["info"]["exists"] is True and run["info"]["container"]["Name"] == "/job"
    assert run["info"]["container"]["State"]["Status"] == "exited"
    assert run["absent"]["actions"] == ["remove container job"]
    assert run["info missing"]["exists"] is False and run["info missing"]["container"] is None
    assert "job" not in _containers(host)


def test_container_networks_change_in_place_and_survive_a_recreate(host: Host, busybox_tar: Path):
    _image(host, busybox_tar)
    subnet, subnet2 = host.subnets[2], host.subnets[3]
    host.engine.networks.create_network("front", subnet=str(subnet))
    host.engine.networks.create_network("back", subnet=str(subnet2))
    v = {"net": "front", "ip": str(subnet.network_address + 10), "net2": "back"}
    run = host.play("container/networks.yml", **v)
    assert run.rc == 0, run.output
    changed = {task: result["changed"] for task, result in run.results.items()}
    assert changed == {"create": True, "create again": False, "join another network": True,
                       "join another network again": False, "not listed, allowed by default": False,
                       "not listed, strict": True}
    assert run["join another network"]["actions"] == ["connect container app to network back"]
    assert run["not listed, strict"]["actions"] == ["disconnect container app from network back"]
    first = run["create"]["container"]
    assert run["not listed, strict"]["container"]["Id"] == first["Id"]  # in place
    settings = first["NetworkSettings"]["Networks"]
    assert list(settings) == ["front"]  # networks_cli_compatible: created on the first, not on bridge
    assert settings["front"]["IPAddress"] == v["ip"] and settings["front"]["Aliases"] == ["api"]

    run = host.play("container/recreate_on_network.yml", **v)
    assert run.rc == 0, run.output
    assert run["recreate"]["actions"] == ["recreate container app (env)", "connect container app to network back",
                                          "start container app"]
    app = _containers(host)["app"]
    assert app["Id"] != first["Id"] and app["State"]["Running"] is True
    settings = app["NetworkSettings"]["Networks"]
    assert sorted(settings) == ["back", "front"]
    assert settings["front"]["IPAddress"] == v["ip"] and settings["front"]["Aliases"] == ["api"]


def test_container_bad_input_names_the_option_and_changes_nothing(host: Host, busybox_tar: Path, tmp_path: Path):
    _image(host, busybox_tar)
    keep = make_container(host, busybox_tar, "keep")
    before = _containers(host)
    run = host.play("container/bad.yml", name="keep", missing=str(tmp_path / "missing"))
    assert run.rc == 0, run.output
    assert "Unsupported parameters" in run.failed("unknown option") and "shm_size" in run.failed("unknown option")
    assert "tty" in run.failed("wrong type")
    assert run.failed("ports with host network").startswith(
        "published_ports: ports cannot be published with network_mode host")
    assert run.failed("bad memory").startswith('memory: invalid memory value "12q"')
    assert "restart_policy" in run.failed("bad restart policy") and "sometimes" in run.failed("bad restart policy")
    assert run.failed("retries without on-failure") == ("restart_policy: invalid restart_policy value \"always:3\": "
                                                       "maximum retry count can only be used with 'on-failure'")
    assert run.failed("missing image, pull never") == "image: no such image on the host: nosuch:1 (and pull is never)"
    assert run.failed("bind source missing") == (f"mounts[0].source: bind source path does not exist: "
                                                 f"{tmp_path / 'missing'}")
    assert run.failed("bad port").startswith('published_ports: invalid published_ports value "99999"')
    assert "comparisons.memory: allow_more_present applies to lists and dicts only" in run.failed("bad comparison")
    assert run.failed("no such network") == "networks.nosuch: no such network: nosuch"
    assert run.failed("no such volumes_from") == "volumes_from[0]: no such container: nosuch"
    assert run.failed("one path twice").startswith("tmpfs[0]: invalid tmpfs[0] value \"/a\": duplicate mount point")
    assert run.failed("bad capability").startswith('capabilities: invalid capabilities value "FLY"')
    assert run.failed("bad security opt").startswith(
        f'security_opts: invalid security_opts value "seccomp={tmp_path / "missing"}.json": opening seccomp profile')
    assert _containers(host) == before and before["keep"]["Id"] == keep
    assert host.volumes() == {}


_OBSERVE_ONLY = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.berth.core.plugins.module_utils import container
from ansible_collections.berth.core.plugins.module_utils.options import parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import execute
from berth.engine import Engine

engine = Engine(root=sys.argv[2])
changed = []
for resource, params in ((container.Container, json.loads(sys.argv[3])), (container.ContainerInfo, {"name": "web"})):
    result, _ = execute(resource, parse_options(resource.options, params), engine, check_mode=False)
    changed.append(result["changed"])
heavy = sorted(m for m in sys.modules if m == "berth.network.rtnl" or m.split(".")[0] in ("requests", "urllib3"))
print(json.dumps({"changed": changed, "heavy": heavy}))
"""


def test_a_no_change_run_imports_no_netlink_or_requests(host: Host, busybox_tar: Path, collections_root: Path):
    """DESIGN, budgets: the observe path reads records; netlink and requests only when acting."""
    from berth.containers.parse import parse_publish
    from berth.containers.spec import ContainerSpec

    _image(host, busybox_tar)
    host.engine.networks.create_network("front", subnet=str(host.subnets[2]))
    port = _free_port()
    host.engine.create_container(ContainerSpec(image="busybox", name="web", env=(("A", "1"),), network="front",
                                               ports=tuple(parse_publish(f"{port}:80"))), detach=True)
    host.engine.start("web")
    params = {"name": "web", "image": "busybox", "env": {"A": 1}, "published_ports": [f"{port}:80"],
              "networks": [{"name": "front"}], "pull": "missing"}
    proc = subprocess.run([sys.executable, "-c", _OBSERVE_ONLY, str(collections_root), str(host.root),
                           json.dumps(params)], capture_output=True, text=True, check=False,
                          env={**os.environ, "BERTH_ROOT": ""})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"changed": [False, False], "heavy": []}
