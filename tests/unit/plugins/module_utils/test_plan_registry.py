"""plan_registry(desired, actual): a pure function, tested as a table (no engine, no registry)."""

from __future__ import annotations

import hashlib
import json

import pytest
from ansible_collections.berth.core.plugins.module_utils import registry as mod
from ansible_collections.berth.core.plugins.module_utils.options import OptionsError, parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import Refused

from berth.config import registries

REG = "reg.example:5000"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"


def want(**kw) -> mod.RegistryOptions:
    return parse_options(mod.RegistryOptions, {"registry_url": REG, **kw})


def have(name=REG, login=None, insecure=False, mirrors=(), certs=None) -> dict:
    return {"registry": name, "login": login, "insecure": insecure, "mirrors": list(mirrors), "certs": certs or {}}


SAME = {"username": "alice", "password_matches": True}
OTHER_PASSWORD = {"username": "alice", "password_matches": False}
CREDS = {"username": "alice", "password": "pw"}

# (desired, actual, action kinds)
CASES = {
    "nothing asked: nothing": (want(), have(login=SAME, insecure=True), []),
    "login, logged out: login": (want(**CREDS), have(), ["login"]),
    "login, same credentials: nothing": (want(**CREDS), have(login=SAME), []),
    "login, other password: login": (want(**CREDS), have(login=OTHER_PASSWORD), ["login"]),
    "login, other user: login": (want(**CREDS), have(login={"username": "bob", "password_matches": True}),
                                 ["login"]),
    "reauthorize, same credentials: nothing (observe checked them)": (want(reauthorize=True, **CREDS),
                                                                      have(login=SAME), []),
    "absent, logged in: logout": (want(state="absent"), have(login=SAME), ["logout"]),
    "absent, logged out: nothing": (want(state="absent"), have(), []),
    "absent with credentials given: logout": (want(state="absent", **CREDS), have(login=SAME), ["logout"]),
    "insecure wanted: add": (want(insecure=True), have(), ["insecure"]),
    "insecure listed: nothing": (want(insecure=True), have(insecure=True), []),
    "insecure false, listed: remove": (want(insecure=False), have(insecure=True), ["insecure"]),
    "ca given, none: write": (want(ca_cert=CA), have(), ["cert"]),
    "ca same: nothing": (want(ca_cert=CA), have(certs={"ca.crt": CA.encode()}), []),
    "ca empty, present: remove": (want(ca_cert=""), have(certs={"ca.crt": b"x"}), ["cert"]),
    "ca empty, none: nothing": (want(ca_cert=""), have(), []),
    "client pair: two files": (want(client_cert=CA, client_key=KEY), have(), ["cert", "cert"]),
    "settings before the login": (want(insecure=True, ca_cert=CA, **CREDS), have(), ["insecure", "cert", "login"]),
    "hub mirrors: set": (want(registry_url="docker.io", mirrors=["http://m:5001/"]), have("docker.io"), ["mirrors"]),
    "hub mirrors same: nothing": (want(registry_url="docker.io", mirrors=["http://m:5001"]),
                                  have("docker.io", mirrors=["http://m:5001"]), []),
    "hub mirrors emptied": (want(registry_url="docker.io", mirrors=[]), have("docker.io", mirrors=["http://m"]),
                            ["mirrors"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plan(case):
    desired, actual, kinds = CASES[case]
    plan = mod.plan_registry(desired, actual)
    assert [a.kind for a in plan.actions] == kinds
    assert plan.changed == bool(kinds)
    assert bool(plan.diff()["after"] or plan.diff()["before"]) == bool(kinds)


def test_the_diff_never_shows_secrets():
    plan = mod.plan_registry(want(ca_cert=CA, client_cert=CA, client_key=KEY, **CREDS),
                             have(login=OTHER_PASSWORD, certs={"client.key": b"old key"}))
    shown = json.dumps(plan.diff())
    assert "pw" not in shown.replace("password", "") and "MIIE" not in shown and "old key" not in shown
    sha = "sha256:" + hashlib.sha256(CA.encode()).hexdigest()
    assert plan.diff() == {
        "before": {"ca_cert": None, "client_cert": None, "client_key": "<hidden>",
                   "credentials": {"username": "alice", "password": "<hidden>"}},
        "after": {"ca_cert": sha, "client_cert": sha, "client_key": "<hidden, changed>",
                  "credentials": {"username": "alice", "password": "<hidden, changed>"}}}
    assert "pw" not in repr(plan.actions[-1])  # the password travels as a SecretStr


def test_login_diff_from_logged_out_and_logout_diff():
    assert mod.plan_registry(want(**CREDS), have()).diff() == {
        "before": {"credentials": None},
        "after": {"credentials": {"username": "alice", "password": "<hidden, changed>"}}}
    assert mod.plan_registry(want(state="absent"), have(login=SAME)).diff() == {
        "before": {"credentials": {"username": "alice", "password": "<hidden>"}}, "after": {"credentials": None}}


@pytest.mark.parametrize(("desired", "actual", "field"), [
    (want(mirrors=["http://m:5001"]), have(), "mirrors: "),
    (want(registry_url="docker.io", insecure=True), have("docker.io"), "insecure: "),
    (want(registry_url="docker.io", ca_cert=CA), have("docker.io"), "ca_cert: "),
])
def test_refused_settings_name_the_option(desired, actual, field):
    with pytest.raises(Refused) as err:
        mod.plan_registry(desired, actual)
    assert str(err.value).startswith(field)


@pytest.mark.parametrize(("options", "needle"), [
    ({"mirrors": ["ftp://m"]}, "option mirrors: invalid mirror URL 'ftp://m'"),
    ({"ca_cert": "/nonexistent/ca.pem"}, "option ca_cert: neither PEM text nor a readable file"),
    ({"ca_cert": KEY}, "option ca_cert: no PEM certificate"),
    ({"client_key": CA}, "option client_key: no PEM private key"),
])
def test_bad_options_name_the_option(options, needle):
    with pytest.raises(OptionsError) as err:
        want(**options)
    assert str(err.value).startswith(needle)


def test_a_pem_path_is_read(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text(CA.rstrip("\n"))
    assert want(ca_cert=str(path)).ca_cert == CA  # the file's text, ending in a newline


def test_the_hub_name_agrees_with_the_engine():
    assert mod.HUB == registries.HUB


def test_plan_is_pure():
    desired, actual = want(insecure=True, **CREDS), have(login=OTHER_PASSWORD)
    snapshot = repr(actual)
    assert repr(mod.plan_registry(desired, actual)) == repr(mod.plan_registry(desired, actual))
    assert repr(actual) == snapshot
