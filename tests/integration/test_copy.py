"""The copy module under real ``ansible-playbook`` runs, into busybox containers run by the engine;
the files are checked through the engine itself."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from pathlib import Path

from playkit import Host, make_container


def _file(h: Host, ctr: str, path: str):
    return h.engine.container_file(ctr, path, read_limit=1 << 20)


def test_copy(host: Host, busybox_tar: Path, tmp_path: Path):
    make_container(host, busybox_tar, "app", start=True)
    make_container(host, busybox_tar, "idle")
    src = tmp_path / "script.sh"
    src.write_text("#!/bin/sh\necho hi\n")
    src.chmod(0o750)
    blob = os.urandom(3000)
    escaped = f"berth-test-escaped-{secrets.token_hex(4)}"
    sh = ["sh", "-c", f"ln -s ../../../../../../etc/{escaped} /tmp/escape && ln -s /etc/app.conf /tmp/link"]
    assert host.engine.exec_container("app", sh)[0] == 0

    run = host.play("copy/apply.yml", ctr="app", stopped="idle", src=str(src), b64=base64.b64encode(blob).decode())
    assert run.rc == 0, run.output

    check = run["content, check mode"]
    assert check["changed"] is True and check["file"] == {"container_path": "/etc/app.conf", "exists": False}
    sha1 = hashlib.sha256(b"a=1\n").hexdigest()
    assert check["diff"] == [
        {"before": {"state": "absent"}, "after": {"state": "file", "checksum": sha1, "mode": "0644", "owner": "0:0"}},
        {"before_header": "app:/etc/app.conf (before)", "after_header": "app:/etc/app.conf (after)",
         "before": "", "after": "a=1\n"}]
    assert run["content"]["changed"] is True and run["content again"]["changed"] is False
    assert run["content"]["actions"] == ["write /etc/app.conf in container app (4 bytes, mode 0644, owner 0:0)"]
    assert run["content"]["file"]["checksum"] == sha1

    change = run["new content, mode and owner, check mode"]
    assert change["changed"] is True and change["file"]["checksum"] == sha1  # observed before: unchanged
    sha2 = hashlib.sha256(b"a=2\n").hexdigest()
    assert change["diff"][0] == {"before": {"checksum": sha1, "mode": "0644", "owner": "0:0"},
                                 "after": {"checksum": sha2, "mode": "0600", "owner": "1000:100"}}
    assert change["diff"][1]["before"] == "a=1\n" and change["diff"][1]["after"] == "a=2\n"
    assert "-a=1" in run.output and "+a=2" in run.output  # --diff shows the text, as ansible.builtin.copy
    assert run["new content, mode and owner"]["changed"] is True
    assert run["new content, mode and owner again"]["changed"] is False  # YAML's 0600 is the same mode

    assert run["from a host file"]["changed"] is True and run["from a host file again"]["changed"] is False
    assert run["binary"]["changed"] is True and run["binary again"]["changed"] is False
    assert isinstance(run["binary"]["diff"], dict)  # not text: checksums only
    assert run["force false leaves a different file"]["changed"] is False
    assert run["force true writes the same file"]["changed"] is True
    assert run["stopped container"]["changed"] is True and run["stopped container again"]["changed"] is False
    assert run["through a symlink that points out of the root"]["changed"] is True
    assert run["replacing the symlink itself"]["changed"] is True

    conf = _file(host, "app", "/etc/app.conf")
    assert (conf.content, conf.mode, conf.uid, conf.gid) == (b"a=2\n", 0o600, 1000, 100)
    script = _file(host, "app", "/tmp/script.sh")
    assert (script.content, script.mode, script.uid) == (src.read_bytes(), 0o750, 0)  # the host file's mode
    assert _file(host, "app", "/tmp/blob.bin").content == blob
    assert host.engine.exec_container("app", ["cat", "/tmp/blob.bin"])[1] == blob  # the process sees it too
    assert _file(host, "idle", "/etc/stopped.conf").content == b"stopped\n"
    assert _file(host, "app", f"/etc/{escaped}").content == b"contained\n"  # inside the container's root
    assert not Path("/etc", escaped).exists()
    assert _file(host, "app", "/tmp/link").kind == "file"


def test_copy_bad_input_names_the_field_and_changes_nothing(host: Host, busybox_tar: Path, tmp_path: Path):
    make_container(host, busybox_tar, "app", start=True)
    host_file = tmp_path / "host.txt"
    host_file.write_text("host\n")
    assert host.engine.exec_container("app", ["ln", "-s", str(host_file), "/tmp/to-host"])[0] == 0
    run = host.play("copy/bad.yml", ctr="app")
    assert run.rc == 0, run.output
    assert run.failed("missing container") == "container: no such container: no-such-container"
    assert run.failed("bad mode") == "option mode: not an octal file mode: 'u=rw' (e.g. '0644') (got 'u=rw')"
    assert run.failed("relative container path").startswith("option container_path: must be an absolute path")
    assert run.failed("missing directory in the container").startswith(
        "container_path: no such directory in the container: /no/such/dir/x")
    assert run.failed("a directory in the container") == "container_path: /etc is a directory in the container"
    assert run.failed("missing host file") == "path: cannot read /nonexistent/file: No such file or directory"
    assert "mutually exclusive: path|content" in run.failed("path and content")
    assert "owner_id, group_id" in run.failed("owner without group")
    assert run.failed("a symlink to a host path").startswith("container_path: no such directory in the container")
    assert host_file.read_text() == "host\n"
    assert _file(host, "app", "/tmp/x") is None
