"""Basic (htpasswd) and Bearer (token server) authentication against real registries."""

from __future__ import annotations

import pytest

from berth.config.credentials import Credentials
from berth.errors import AuthenticationRequired

SERVERS = ["auth_registry", "token_registry"]


@pytest.fixture(params=SERVERS)
def secured(request):
    return request.getfixturevalue(request.param)


def _creds(server) -> Credentials:
    return Credentials(server.username, server.password)


def test_ping_accepts_a_challenge(secured, make_client) -> None:
    make_client(secured).ping()


def test_no_credentials(secured, make_client) -> None:
    client = make_client(secured)
    with pytest.raises(
        AuthenticationRequired,
        match=rf"pull access denied for berth/private: authentication required \(try berth login {secured.host}\)",
    ) as info:
        client.get_manifest("berth/private", "latest")
    assert info.value.status == 401
    with pytest.raises(AuthenticationRequired, match=f"login to {secured.host} failed: no username and password"):
        client.check_login()


def test_wrong_credentials(secured, make_client) -> None:
    client = make_client(secured, credentials=Credentials(secured.username, "wrong"))
    with pytest.raises(AuthenticationRequired, match=f"login to {secured.host} failed: unauthorized") as info:
        client.check_login()
    assert "wrong" not in str(info.value)
    with pytest.raises(AuthenticationRequired) as info:
        client.get_manifest("berth/private", "latest")
    assert "wrong" not in str(info.value)


def test_right_credentials_push_pull_mount(secured, make_client, pusher) -> None:
    client = make_client(secured, credentials=_creds(secured))
    client.check_login()
    img = pusher(client, "berth/private", "v1")
    assert client.get_manifest("berth/private", "v1")[2] == img.digest
    assert b"".join(client.blob_chunks("berth/private", img.layer_digest)) == img.layer
    assert client.mount_blob("berth/private2", img.layer_digest, "berth/private") is True
    assert "berth/private" in client.catalog()
    # a fresh client with the same credentials pulls it too
    other = make_client(secured, credentials=_creds(secured))
    assert other.get_manifest("berth/private", str(img.digest))[0] == img.manifest


def test_tokens_are_reused(token_registry, make_client, pusher) -> None:
    ts = token_registry.token_server
    client = make_client(token_registry, credentials=_creds(token_registry))
    pusher(client, "berth/tokens", "v1")
    before = len(ts.requests)
    for _ in range(3):
        client.get_manifest("berth/tokens", "v1")
        client.tags("berth/tokens")
    # one token for the pull scope, reused for every later request
    assert len(ts.requests) - before == 1
    assert ts.requests[-1] == (token_registry.username, ["repository:berth/tokens:pull"])


def test_mount_asks_for_both_repositories(token_registry, make_client, pusher) -> None:
    ts = token_registry.token_server
    client = make_client(token_registry, credentials=_creds(token_registry))
    img = pusher(client, "berth/m-src")
    assert client.mount_blob("berth/m-dst", img.layer_digest, "berth/m-src") is True
    assert any(
        set(scopes) == {"repository:berth/m-dst:pull,push", "repository:berth/m-src:pull"}
        for _, scopes in ts.requests
    )


def test_access_token_field(tmp_path, make_client, pusher) -> None:
    pytest.importorskip("cryptography")
    from registry_fixture import TokenServer, start_registry

    ts = TokenServer(tmp_path / "token", token_field="access_token")
    with start_registry(tmp_path / "reg", token_server=ts) as server:
        client = make_client(server, credentials=_creds(server))
        img = pusher(client, "berth/oauth")
        assert client.get_manifest("berth/oauth", "latest")[2] == img.digest


def test_anonymous_pull_of_public_repository(tmp_path, make_client, pusher) -> None:
    pytest.importorskip("cryptography")
    from registry_fixture import TokenServer, start_registry

    ts = TokenServer(tmp_path / "token", public_repos=("library/public",))
    with start_registry(tmp_path / "reg", token_server=ts) as server:
        img = pusher(make_client(server, credentials=_creds(server)), "library/public")
        anon = make_client(server)
        assert anon.get_manifest("library/public", "latest")[2] == img.digest
        assert ts.requests[-1] == (None, ["repository:library/public:pull"])
