from __future__ import annotations

from pathlib import Path

import pytest

from berth.config.credentials import Credentials
from berth.distribution.auth import (
    BasicAuth,
    Challenge,
    TokenAuth,
    merge_scopes,
    parse_www_authenticate,
    pick_challenge,
    repository_scope,
)
from berth.errors import AuthenticationRequired


def test_bearer_with_realm_service_scope() -> None:
    [c] = parse_www_authenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
        'scope="repository:library/busybox:pull"'
    )
    assert c.scheme == "bearer"
    assert c.realm == "https://auth.docker.io/token"
    assert c.service == "registry.docker.io"
    assert c.scope == "repository:library/busybox:pull"


def test_quoted_values_keep_commas_and_escapes() -> None:
    [c] = parse_www_authenticate(r'Bearer realm="https://a/token?x=1,2", scope="repository:foo:pull,push", x="a \"q\""')
    assert c.realm == "https://a/token?x=1,2"
    assert c.scope == "repository:foo:pull,push"
    assert c.params["x"] == 'a "q"'


def test_case_spaces_and_unquoted_values() -> None:
    [c] = parse_www_authenticate('  BEARER   Realm = "https://a/t" ,  Service=reg.example ,error=invalid_token')
    assert c.scheme == "bearer"
    assert c.realm == "https://a/t"
    assert c.service == "reg.example"
    assert c.params["error"] == "invalid_token"


def test_several_challenges() -> None:
    cs = parse_www_authenticate('Basic realm="Registry Realm", Bearer realm="https://t/token",service="s"')
    assert [c.scheme for c in cs] == ["basic", "bearer"]
    assert cs[0].realm == "Registry Realm"
    assert cs[1].service == "s"
    assert pick_challenge(cs) == cs[1]


def test_token68_and_bare_schemes() -> None:
    cs = parse_www_authenticate("Negotiate abc123==, Basic")
    assert [c.scheme for c in cs] == ["negotiate", "basic"]
    assert cs[0].params[""] == "abc123=="
    assert pick_challenge(cs) == cs[1]


def test_empty_and_garbage_headers() -> None:
    assert parse_www_authenticate("") == []
    assert pick_challenge(parse_www_authenticate("")) is None
    # a Bearer challenge without a realm is useless: fall back to Basic if offered
    assert pick_challenge([Challenge("bearer", {}), Challenge("basic", {})]) == Challenge("basic", {})
    parse_www_authenticate('=",,,"  ;; Bearer realm')  # never raises


def test_scopes() -> None:
    assert repository_scope("library/busybox") == "repository:library/busybox:pull"
    assert repository_scope("a/b", ["pull", "push"]) == "repository:a/b:pull,push"
    assert merge_scopes(["repository:a:pull"], ["repository:a:push", "repository:b:pull", ""]) == (
        "repository:a:pull,push",
        "repository:b:pull",
    )
    assert merge_scopes(["registry:catalog:*"]) == ("registry:catalog:*",)


def test_secrets_never_in_repr() -> None:
    creds = Credentials("bob", "hunter2")
    assert "hunter2" not in repr(BasicAuth(creds))
    auth = TokenAuth(Challenge("bearer", {"realm": "http://x/t"}), creds, session=None, registry="r")
    assert "hunter2" not in repr(auth)


def test_token_cached_per_scope_until_expiry(token_registry, tmp_path: Path) -> None:
    import requests

    ts = token_registry.token_server
    now = [1000.0]
    creds = Credentials(token_registry.username, token_registry.password)
    with requests.Session() as session:
        auth = TokenAuth(
            Challenge("bearer", {"realm": ts.realm, "service": ts.service}),
            creds,
            session=session,
            registry=token_registry.host,
            clock=lambda: now[0],
        )
        before = len(ts.requests)
        a = auth.token(("repository:x:pull",))
        assert auth.token(("repository:x:pull",)) == a
        assert len(ts.requests) == before + 1
        assert ts.requests[-1] == (creds.username, ["repository:x:pull"])
        auth.token(("repository:y:pull",))
        assert len(ts.requests) == before + 2
        now[0] += ts.expires_in  # expired (renewed early, at 90% of its life)
        auth.token(("repository:x:pull",))
        assert len(ts.requests) == before + 3
        assert a not in repr(auth)


def test_token_server_rejects_wrong_password(token_registry) -> None:
    import requests

    ts = token_registry.token_server
    with requests.Session() as session:
        auth = TokenAuth(
            Challenge("bearer", {"realm": ts.realm, "service": ts.service}),
            Credentials(token_registry.username, "wrong"),
            session=session,
            registry=token_registry.host,
        )
        with pytest.raises(AuthenticationRequired, match=f"login to {token_registry.host} failed: unauthorized"):
            auth.token(("repository:x:pull",))
