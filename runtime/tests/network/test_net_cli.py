"""The networking CLI as a user types it (``berth run -p``, ``port``, ``network ...``), and an engine
that lives in a network namespace of its own, as each simulated fleet host's engine does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import netkit
import pytest
from nethost import free_port, httpd_cmd, wait_http

from berth.engine import Engine

BERTH = [sys.executable, "-m", "berth.cli.main"]


def berth(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([*BERTH, "--root", str(root), *args], capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def test_run_publish_port_ps_and_network_commands(rt):
    root = rt.paths.root
    port = free_port()
    berth(root, "run", "-d", "--name", "web", "-p", f"{port}:80", "busybox", *httpd_cmd())
    wait_http(f"http://127.0.0.1:{port}/")
    assert berth(root, "port", "web").stdout == f"80/tcp -> 0.0.0.0:{port}\n"
    assert berth(root, "port", "web", "80").stdout == f"0.0.0.0:{port}\n"
    assert f"0.0.0.0:{port}->80/tcp" in berth(root, "ps").stdout
    bad = berth(root, "port", "web", "81", check=False)
    assert bad.returncode != 0 and "81/tcp" in bad.stderr

    net_id = berth(root, "network", "create", "--subnet", "10.251.180.0/24", "--label", "app=demo", "appnet").stdout
    assert len(net_id.strip()) == 64
    listing = berth(root, "network", "ls").stdout
    assert [line.split()[1] for line in listing.splitlines()[1:]] == ["bridge", "host", "none", "appnet"]
    berth(root, "run", "-d", "--name", "db", "--network", "appnet", "--network-alias", "database", "busybox",
          "sleep", "60")
    out = berth(root, "run", "--rm", "--network", "appnet", "busybox", "nslookup", "database").stdout
    ip = json.loads(berth(root, "inspect", "db").stdout)[0]["NetworkSettings"]["Networks"]["appnet"]["IPAddress"]
    assert ip in out
    view = json.loads(berth(root, "network", "inspect", "appnet").stdout)[0]
    assert view["Labels"] == {"app": "demo"} and [c["Name"] for c in view["Containers"].values()] == ["db"]
    refused = berth(root, "network", "rm", "appnet", check=False)
    assert refused.returncode == 1 and "active endpoints" in refused.stderr
    berth(root, "network", "connect", "appnet", "web")
    assert ip in berth(root, "exec", "web", "nslookup", "db").stdout
    berth(root, "network", "disconnect", "appnet", "web")
    berth(root, "rm", "-f", "db", "web")
    assert berth(root, "network", "rm", "appnet").stdout == "appnet\n"


@pytest.mark.parametrize(("args", "message"), [
    (["run", "-p", "99999:80", "busybox", "true"], "99999"),
    (["run", "--ip", "10.0.0.9", "busybox", "true"], "--ip"),
    (["run", "--network", "nosuch", "busybox", "true"], "network nosuch not found"),
    (["network", "create", "--subnet", "10.0.0.1/33", "x"], "10.0.0.1/33"),
    (["network", "create", "--subnet", "10.251.181.0/24", "--gateway", "10.9.9.9", "x"], "10.9.9.9"),
    (["network", "create", "-o", "com.docker.network.driver.mtu=12", "x"], "mtu"),
])
def test_bad_input_is_a_clear_error_and_creates_nothing(rt, args, message):
    root = rt.paths.root
    proc = berth(root, *args, check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr
    assert berth(root, "ps", "-a", "-q").stdout == ""
    assert [line.split()[1] for line in berth(root, "network", "ls").stdout.splitlines()[1:]] == [
        "bridge", "host", "none"]


def test_engine_in_its_own_network_namespace(tmp_path, busybox_tar):
    """One fleet host: the engine and its containers live in a namespace with the default config
    (``berth0``, 172.17.0.0/16); another machine reaches a published port through it."""
    root = tmp_path / "hostroot"
    Engine(root=root).import_image(busybox_tar, "busybox")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    with netkit.netns("eh") as host, netkit.netns("ec") as client:
        netkit.veth(host, client, "192.168.77.1/24", "192.168.77.2/24")

        def cli(*args: str, check: bool = True) -> subprocess.CompletedProcess:
            # nsenter --net, not `ip netns exec`: that also remounts /sys, hiding the cgroup mounts runc needs
            proc = subprocess.run(["nsenter", f"--net={host.path}", *BERTH, "--root", str(root), *args],
                                  capture_output=True, text=True, env=env, timeout=60)
            assert proc.returncode == 0 or not check, proc.stderr
            return proc

        try:
            cli("run", "-d", "--name", "web", "-p", "8080:80", "busybox", *httpd_cmd())
            fetch = "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=3).read().decode())"
            for ns, url in ((host, "http://127.0.0.1:8080/"), (client, "http://192.168.77.1:8080/")):
                for _ in range(50):
                    got = ns.run(sys.executable, "-c", fetch, url, check=False)
                    if got.returncode == 0:
                        break
                assert got.stdout.startswith("hello-"), got.stderr
            assert "berth0" in host.ip("-o", "link").stdout
            ident = Engine(root=root).networks.ident  # and its rules are there, not in the runner's namespace
            assert ident in subprocess.run(["nsenter", f"--net={host.path}", "nft", "list", "tables"],
                                           capture_output=True, text=True).stdout
            assert ident not in subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
        finally:
            cli("rm", "-f", "web", check=False)
            subprocess.run(["nsenter", f"--net={host.path}", sys.executable, "-c", "import sys; from berth.engine "
                            "import Engine; Engine(root=sys.argv[1]).networks.shutdown()", str(root)], env=env,
                           check=False, timeout=60)
