from __future__ import annotations

import base64
import json
import stat

from berth.config import Credentials, CredentialStore


def test_docker_compatible_file_mode_0600(tmp_path) -> None:
    store = CredentialStore(tmp_path / "etc" / "auth.json")
    assert store.set("localhost:9000", Credentials("alice", "s3cret")) is True
    assert store.set("localhost:9000", Credentials("alice", "s3cret")) is False  # idempotent
    data = json.loads((tmp_path / "etc" / "auth.json").read_text())
    assert base64.b64decode(data["auths"]["localhost:9000"]["auth"]) == b"alice:s3cret"
    assert stat.S_IMODE((tmp_path / "etc" / "auth.json").stat().st_mode) == 0o600
    assert store.get("localhost:9000") == Credentials("alice", "s3cret")
    assert "s3cret" not in repr(store.get("localhost:9000"))


def test_hub_key_and_logout(tmp_path) -> None:
    store = CredentialStore(tmp_path / "auth.json")
    store.set("docker.io", Credentials("bob", "pw"))
    assert "https://index.docker.io/v1/" in json.loads((tmp_path / "auth.json").read_text())["auths"]
    assert store.get("docker.io").username == "bob"
    assert store.remove("docker.io") is True
    assert store.remove("docker.io") is False
    assert store.get("docker.io") is None
