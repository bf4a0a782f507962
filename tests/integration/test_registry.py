"""The registry module under real ``ansible-playbook`` runs, against a real registry (Debian's
docker-registry with htpasswd auth, from the engine tests' ``registry_fixture``)."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from playkit import Host

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "runtime" / "tests"))
import registry_fixture  # the engine tests' real registries
from registry_fixture import free_port, make_cert

auth_registry = registry_fixture.auth_registry  # a fixture: docker-registry with htpasswd auth


def _auths(h: Host) -> dict:
    path = h.root / "etc" / "auth.json"
    return json.loads(path.read_text())["auths"] if path.exists() else {}


def test_login_logout(host: Host, auth_registry, monkeypatch: pytest.MonkeyPatch):
    from berth.config import Credentials

    reg, user, password = auth_registry.host, auth_registry.username, auth_registry.password
    wrong = "not-" + password
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "3")  # -vvv: the password must not show there either
    login = host.play("registry/login.yml", reg=reg, user=user, password=password, wrong_password=wrong)
    assert login.rc == 0, login.output

    check = login["login, check mode"]
    assert check["changed"] is True and check["registry"]["logged_in"] is False
    assert check["diff"] == {"before": {"credentials": None},
                             "after": {"credentials": {"username": user, "password": "<hidden, changed>"}}}
    assert login["login"]["changed"] is True and login["login"]["actions"] == [f"log in to {reg} as {user}"]
    assert login["login"]["registry"] == {"name": reg, "logged_in": True, "username": user, "insecure": False,
                                          "ca_cert": None, "client_cert": None, "client_key": False}
    assert login["credentials file"]["stat"]["mode"] == "0600"
    assert login["login again"]["changed"] is False and login["reauthorize"]["changed"] is False

    msg = login.failed("wrong password")
    assert msg.startswith(f"log in to {reg} as {user}: username/password: login to {reg} failed: unauthorized"), msg
    assert login["wrong password"]["changed"] is False
    assert login["login after the wrong password"]["changed"] is False  # the good credentials stayed
    # stored where and as the engine's own login, pull and push read them
    assert host.engine.credentials.get(reg) == Credentials(user, password)
    assert host.engine.login(reg, user, password) is False

    logout = host.play("registry/logout.yml", reg=reg)
    assert logout.rc == 0, logout.output
    assert logout["logout, check mode"]["changed"] is True
    assert logout["logout, check mode"]["diff"] == {
        "before": {"credentials": {"username": user, "password": "<hidden>"}}, "after": {"credentials": None}}
    assert logout["logout"]["changed"] is True and logout["logout"]["actions"] == [f"log out of {reg}"]
    assert logout["logout again"]["changed"] is False
    assert _auths(host) == {}

    # the secrets appear nowhere: not in -vvv output, results or diffs, in clear or as auth.json has them
    assert "<hidden, changed>" in login.output  # the diff was shown, without the password
    for run in (login, logout):
        for secret in (password, wrong):
            for text in (secret, base64.b64encode(f"{user}:{secret}".encode()).decode()):
                assert text not in run.output
                assert text not in json.dumps(run.results)


def test_settings(host: Host, tmp_path: Path):
    reg = "registry.example:5000"
    ca, _key = make_cert(tmp_path / "ca", "ca", cn="berth test CA")
    client, client_key = make_cert(tmp_path / "client", "client", cn="berth test client")
    mirrors = ["http://127.0.0.1:5001", "https://mirror.example"]
    config = host.root / "etc" / "config.json"
    before = config.read_text()

    run = host.play("registry/settings.yml", reg=reg, insecure=True, ca_cert=str(ca), client_cert=str(client),
                    client_key=client_key.read_text(), mirrors=mirrors)
    assert run.rc == 0, run.output
    assert run["settings, check mode"]["changed"] is True and run["hub mirrors, check mode"]["changed"] is True
    assert run["settings, check mode"]["registry"]["insecure"] is False  # observed before: nothing written
    assert run["settings"]["changed"] is True
    assert run["settings"]["actions"] == [f"add {reg} to insecure-registries", f"write certs.d/{reg}/ca.crt",
                                          f"write certs.d/{reg}/client.cert", f"write certs.d/{reg}/client.key"]
    assert run["settings again"]["changed"] is False
    assert run["hub mirrors"]["changed"] is True and run["hub mirrors again"]["changed"] is False
    assert run["hub mirrors"]["registry"]["mirrors"] == mirrors

    raw = json.loads(config.read_text())
    assert raw["insecure-registries"] == [reg] and raw["registry-mirrors"] == mirrors
    assert {k: v for k, v in raw.items() if k not in ("insecure-registries", "registry-mirrors")} == json.loads(before)
    certs = host.engine.paths.certs_dir / reg
    assert (certs / "ca.crt").read_bytes() == ca.read_bytes()
    assert (certs / "client.cert").read_bytes() == client.read_bytes()
    assert (certs / "client.key").read_bytes() == client_key.read_bytes()
    assert stat.S_IMODE((certs / "client.key").stat().st_mode) == 0o600
    key_body = client_key.read_text().splitlines()[1]
    assert key_body not in run.output and key_body not in json.dumps(run.results)
    from berth.engine import Engine

    fresh = Engine(root=host.root)  # the engine itself reads them
    assert fresh.config.is_insecure(reg) and fresh.config.registry_mirrors == mirrors

    run = host.play("registry/settings.yml", reg=reg, insecure=False, ca_cert="", client_cert="", client_key="",
                    mirrors=[])
    assert run.rc == 0, run.output
    assert run["settings"]["actions"] == [f"remove {reg} from insecure-registries", f"remove certs.d/{reg}/ca.crt",
                                          f"remove certs.d/{reg}/client.cert", f"remove certs.d/{reg}/client.key"]
    assert run["settings again"]["changed"] is False and run["hub mirrors again"]["changed"] is False
    assert json.loads(config.read_text()) == json.loads(before)
    assert not (host.engine.paths.certs_dir / reg).exists()


def test_bad_input_names_the_field_and_changes_nothing(host: Host):
    config = host.root / "etc" / "config.json"
    before = config.read_text()
    closed = free_port()
    run = host.play("registry/bad.yml", reg="registry.example:5000", closed=closed)
    assert run.rc == 0, run.output
    assert "Unsupported parameters" in run.failed("unknown option") and "email" in run.failed("unknown option")
    assert run.failed("bad mirror url").startswith("option mirrors: invalid mirror URL 'ftp://mirror.example'")
    assert run.failed("mirrors of another registry").startswith("mirrors: berth, like Docker, has mirrors for "
                                                                "Docker Hub only")
    assert run.failed("ca file missing").startswith("option ca_cert: neither PEM text nor a readable file")
    assert "client_cert, client_key" in run.failed("client cert without its key")
    assert run.failed("bad registry").startswith("registry_url: invalid registry 'https://'")
    unreachable = run.failed("unreachable registry")
    assert unreachable.startswith(f"log in to 127.0.0.1:{closed} as alice: ") and f"127.0.0.1:{closed}" in \
        unreachable.split(": ", 1)[1]
    assert config.read_text() == before
    assert not (host.root / "etc" / "auth.json").exists() and not host.engine.paths.certs_dir.exists()


_OBSERVE_ONLY = """
import json, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.berth.core.plugins.module_utils import registry
from ansible_collections.berth.core.plugins.module_utils.options import parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import execute
from berth.engine import Engine

params = {"registry_url": "reg.example:5000", "username": "alice", "password": "pw", "insecure": True}
result, _ = execute(registry.Registry, parse_options(registry.Registry.options, params), Engine(root=sys.argv[2]),
                    check_mode=False)
heavy = sorted(m for m in sys.modules if m == "berth.network.rtnl" or m.split(".")[0] in ("requests", "urllib3"))
print(json.dumps({"changed": result["changed"], "heavy": heavy}))
"""


def test_a_no_change_run_does_not_import_requests(host: Host, collections_root: Path):
    """DESIGN, budgets: stored credentials are compared without the network."""
    from berth.config import Credentials

    host.engine.credentials.set("reg.example:5000", Credentials("alice", "pw"))
    host.engine.set_insecure_registry("reg.example:5000", True)
    proc = subprocess.run([sys.executable, "-c", _OBSERVE_ONLY, str(collections_root), str(host.root)],
                          capture_output=True, text=True, check=False, env={**os.environ, "BERTH_ROOT": ""})
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"changed": False, "heavy": []}
