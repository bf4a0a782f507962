"""The volume and network modules under real ``ansible-playbook`` runs (harness: ``playkit``,
fixtures: ``conftest.py``); the host is checked through the engine itself."""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

from playkit import ENGINE_MISSING, Host, make_container


# -- volume / volume_info ---------------------------------------------------------------------
def test_volume(host: Host, tmp_path: Path):
    bind = tmp_path / "bind"
    bind.mkdir()
    run = host.play("volume/apply.yml", vol="data", bind_dir=str(bind))
    assert run.rc == 0, run.output
    assert run["create"]["changed"] is True
    assert run["create"]["actions"] == ["create volume data (driver local)"]
    assert run["create again"]["changed"] is False
    assert run["create bind"]["changed"] is True and run["create bind again"]["changed"] is False
    assert run["create"]["volume"]["Labels"] == {"app": "web"}
    volumes = host.volumes()
    assert volumes["data"]["Labels"] == {"app": "web"}
    assert volumes["data-bind"]["Options"] == {"type": "none", "o": "bind", "device": str(bind)}

    # check mode: changes reported, nothing changed; --diff shows before/after
    before = host.volumes()
    run = host.play("volume/modify.yml", check=True, diff=True, vol="data")
    assert run.rc == 0, run.output
    never, changed = run["labels differ, recreate never"], run["labels differ, recreate options-changed"]
    assert never["changed"] is False
    assert any("recreate is never" in w for w in never.get("warnings", [])), never
    assert changed["changed"] is True
    assert changed["actions"] == ["remove volume data", "create volume data (driver local)"]
    assert changed["diff"] == {"before": {"labels": {"app": "web"}}, "after": {"labels": {"app": "db"}}}
    assert '-        "app": "web"' in run.output and '+        "app": "db"' in run.output
    assert host.volumes() == before

    run = host.play("volume/modify.yml", vol="data")
    assert run.rc == 0, run.output
    assert run["labels differ, recreate options-changed"]["changed"] is True
    assert host.volumes()["data"]["Labels"] == {"app": "db"}

    run = host.play("volume_info/info.yml", vol="data")
    assert run.rc == 0, run.output
    assert run["info"]["exists"] is True and run["info"]["volume"]["Labels"] == {"app": "db"}
    assert run["info"]["changed"] is False and "actions" not in run["info"]
    assert run["info missing"] == {**run["info missing"], "exists": False, "volume": None}

    run = host.play("volume/absent.yml", vol="data", check=True)
    assert run.rc == 0 and run["remove"]["changed"] is True
    assert "data" in host.volumes()
    run = host.play("volume/absent.yml", vol="data")
    assert run.rc == 0, run.output
    assert run["remove"]["changed"] is True and run["remove again"]["changed"] is False
    assert set(host.volumes()) == {"data-bind"}


def test_module_defaults_of_the_action_group(host: Host):
    run = host.play("volume/module_defaults.yml", vol="grouped")
    assert run.rc == 0, run.output
    assert host.volumes()["grouped"]["Labels"] == {"team": "infra"}


def test_volume_bad_input_names_the_field_and_changes_nothing(host: Host, busybox_tar: Path):
    from berth.containers.spec import Mount

    make_container(host, busybox_tar, "user", mounts=(Mount(type="volume", source="used", target="/data"),))
    before = host.volumes()
    assert set(before) == {"used"}
    run = host.play("volume/bad.yml", vol="fresh", used="used")
    assert run.rc == 0, run.output
    assert "Unsupported parameters" in run.failed("unknown option") and "size" in run.failed("unknown option")
    assert "labels" in run.failed("wrong type")
    assert "recreate" in run.failed("bad choice") and "sometimes" in run.failed("bad choice")
    assert run.failed("unsupported driver option").startswith("driver_options.type: ")
    assert run.failed("bad name").startswith('name: invalid volume name "bad name"')
    msg = run.failed("in use, recreate")
    assert msg.startswith("remove volume used: remove used: volume is in use - [")
    assert run["in use, recreate"]["error"]["type"] == "VolumeInUse"
    assert host.volumes() == before


def test_volume_without_the_engine_says_so(host: Host, tmp_path: Path):
    for python in ("/nonexistent/bin/python", "/usr/bin/python3"):
        if python == "/usr/bin/python3" and not Path(python).exists():
            continue
        run = host.play("volume/absent.yml", vol="data", berth_python=python)
        assert run.rc != 0
        assert run.failed("remove") == ENGINE_MISSING, python
    assert host.volumes() == {}
    assert not (host.root / "volumes").exists()


# -- network / network_info -------------------------------------------------------------------
def _net_vars(h: Host) -> dict:
    subnet = h.subnets[2]
    return {"net": "web", "subnet": str(subnet), "gateway": str(subnet.network_address + 254),
            "iprange": str(list(subnet.subnets(new_prefix=25))[1]), "bridge": f"bn{secrets.token_hex(3)}"}


def test_network(host: Host):
    v = _net_vars(host)
    run = host.play("network/apply.yml", **v)
    assert run.rc == 0, run.output
    assert run["create"]["changed"] is True and run["create again"]["changed"] is False
    assert run["create with defaults"]["changed"] is True and run["create with defaults again"]["changed"] is False
    nets = host.networks()
    web = nets["web"]
    assert web["IPAM"]["Config"] == [{"Subnet": v["subnet"], "Gateway": v["gateway"], "IPRange": v["iprange"]}]
    assert web["Options"]["com.docker.network.bridge.name"] == v["bridge"]
    assert web["Labels"] == {"tier": "web"} and web["Internal"] is False
    assert run["create"]["network"]["Id"] == web["Id"]
    assert nets["web-auto"]["IPAM"]["Config"][0]["Subnet"] == str(host.subnets[1])  # the engine's pool

    before = host.networks()
    run = host.play("network/modify.yml", check=True, diff=True, net="web")
    assert run.rc == 0, run.output
    assert run["modify"]["changed"] is True
    assert run["modify"]["actions"] == ["recreate network web"]
    assert run["modify"]["diff"] == {"before": {"internal": False, "labels": {"tier": "web"}},
                                     "after": {"internal": True, "labels": {"tier": "db"}}}
    assert '-    "internal": false' in run.output and '+    "internal": true' in run.output
    assert host.networks() == before

    run = host.play("network/modify.yml", net="web")
    assert run.rc == 0, run.output
    web = host.networks()["web"]
    assert web["Internal"] is True and web["Labels"] == {"tier": "db"}
    assert web["Id"] != before["web"]["Id"]
    # what the task did not give was carried over: addressing, bridge name
    assert web["IPAM"]["Config"] == before["web"]["IPAM"]["Config"]
    assert web["Options"]["com.docker.network.bridge.name"] == v["bridge"]

    run = host.play("network_info/info.yml", net="web")
    assert run.rc == 0, run.output
    assert run["info"]["exists"] is True and run["info"]["network"]["Id"] == web["Id"]
    assert run["info missing"]["exists"] is False and run["info missing"]["network"] is None
    assert run["info predefined"]["network"]["Options"]["com.docker.network.bridge.name"] == host.bridge

    run = host.play("network/absent.yml", net="web-auto")
    assert run.rc == 0, run.output
    assert run["remove without force"]["changed"] is True  # no container: no force needed
    assert run["remove"]["changed"] is False and run["remove again"]["changed"] is False
    assert set(host.networks()) == {"bridge", "host", "none", "web"}


def test_network_containers(host: Host, busybox_tar: Path):
    v = _net_vars(host)
    assert host.play("network/apply.yml", **v).rc == 0
    app = make_container(host, busybox_tar, "app", start=True)
    make_container(host, busybox_tar, "db")  # created, not running

    run = host.play("network/connect.yml", net="web", containers=["app", "db"])
    assert run.rc == 0, run.output
    assert run["connect"]["changed"] is True and run["connect again"]["changed"] is False
    assert run["connect"]["actions"] == ["connect container app to network web",
                                         "connect container db to network web"]
    assert host.members("web") == ["app", "db"]
    ip = host.engine.inspect_container("app")["NetworkSettings"]["Networks"]["web"]["IPAddress"]
    assert ipaddress.IPv4Address(ip) in ipaddress.IPv4Network(v["iprange"])

    make_container(host, busybox_tar, "cache")
    run = host.play("network/connect.yml", net="web", containers=["cache"], appends=True)
    assert run.rc == 0, run.output
    assert run["connect"]["changed"] is True and run["connect again"]["changed"] is False
    assert host.members("web") == ["app", "cache", "db"]

    run = host.play("network/connect.yml", net="web", containers=["app"], check=True, diff=True)
    assert run["connect"]["diff"] == {"before": {"connected": ["app", "cache", "db"]}, "after": {"connected": ["app"]}}
    assert host.members("web") == ["app", "cache", "db"]
    run = host.play("network/connect.yml", net="web", containers=["app"])
    assert run.rc == 0, run.output
    assert run["connect"]["actions"] == ["disconnect container cache from network web",
                                         "disconnect container db from network web"]
    assert host.members("web") == ["app"]

    # a new subnet with a container connected: refused without force, recreated with it
    new = str(host.subnets[3])
    before = host.networks()
    run = host.play("network/resubnet.yml", net="web", subnet=new, force=False)
    assert "cannot change in place" in run.failed("resubnet") and "(app)" in run.failed("resubnet")
    assert "force: true" in run.failed("resubnet")
    assert host.networks() == before
    run = host.play("network/resubnet.yml", net="web", subnet=new, force=True)
    assert run.rc == 0, run.output
    assert run["resubnet"]["actions"] == ["recreate network web (disconnect app; reconnect app)"]
    web = host.networks()["web"]
    assert web["IPAM"]["Config"][0]["Subnet"] == new and host.members("web") == ["app"]
    settings = host.engine.inspect_container(app)["NetworkSettings"]["Networks"]["web"]
    assert ipaddress.IPv4Address(settings["IPAddress"]) in ipaddress.IPv4Network(new)

    run = host.play("network/absent.yml", net="web")
    assert run.rc == 0, run.output
    assert "has containers connected (app): set force: true" in run.failed("remove without force")
    assert run["remove"]["changed"] is True and run["remove again"]["changed"] is False
    assert run["remove"]["actions"] == ["disconnect container app from network web", "remove network web"]
    assert "web" not in host.networks()
    assert host.engine.inspect_container(app)["State"]["Running"] is True


def test_network_bad_input_names_the_field_and_changes_nothing(host: Host):
    v = _net_vars(host)
    assert host.play("network/apply.yml", **v).rc == 0
    before = host.networks()
    run = host.play("network/bad.yml", net="other", subnet=str(host.subnets[4]), taken=v["subnet"])
    assert run.rc == 0, run.output
    assert "Unsupported parameters" in run.failed("unknown option") and "enable_ipv6" in run.failed("unknown option")
    assert "internal" in run.failed("wrong type")
    assert run.failed("bad subnet").startswith("option ipam_config[0].subnet: ")
    assert "has host bits set" in run.failed("host bits in subnet")
    assert run.failed("two ipam configs").startswith("option ipam_config: List should have at most 1 item")
    assert run.failed("subnet taken") == f"ipam_config[0].subnet: {v['subnet']} overlaps {v['subnet']} of network web"
    assert run.failed("gateway outside the subnet").startswith(
        "option ipam_config[0]: gateway 192.0.2.1 is not inside subnet")
    # the engine's own error, with the option its data names
    assert run.failed("bridge name too long").startswith(
        "create network other (driver bridge): driver_options.com.docker.network.bridge.name: invalid bridge name")
    assert run.failed("no such container") == "connected: no such container: no-such-container"
    assert host.networks() == before


def test_network_without_the_engine_says_so(host: Host):
    run = host.play("network_info/info.yml", net="web", berth_python="/nonexistent/bin/python")
    assert run.failed("info") == ENGINE_MISSING


_OBSERVE_ONLY = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.berth.core.plugins.module_utils import network, volume
from ansible_collections.berth.core.plugins.module_utils.options import parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import execute
from berth.engine import Engine

engine = Engine(root=sys.argv[2])
changed = []
for resource, params in ((volume.Volume, {"name": "data", "labels": {"a": "1"}}),
                         (network.Network, {"name": "web", "ipam_config": [{"subnet": sys.argv[3]}],
                                            "connected": ["app"]})):
    result, _ = execute(resource, parse_options(resource.options, params), engine, check_mode=False)
    changed.append(result["changed"])
heavy = sorted(m for m in sys.modules if m == "berth.network.rtnl" or m.split(".")[0] in ("requests", "urllib3"))
print(json.dumps({"changed": changed, "heavy": heavy}))
"""


def test_a_no_change_run_imports_no_netlink_or_requests(host: Host, busybox_tar: Path, collections_root: Path):
    """DESIGN, budgets: the observe path reads records; netlink and requests only when acting."""
    subnet = str(host.subnets[2])
    host.engine.volumes.create("data", labels={"a": "1"})
    host.engine.networks.create_network("web", subnet=subnet)
    make_container(host, busybox_tar, "app", start=True)
    host.engine.connect("app", "web")
    proc = subprocess.run([sys.executable, "-c", _OBSERVE_ONLY, str(collections_root), str(host.root), subnet],
                          capture_output=True, text=True, check=False, env={**os.environ, "BERTH_ROOT": ""})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"changed": [False, False], "heavy": []}
