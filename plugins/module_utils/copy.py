# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Copy: the options of ``berth.core.copy``, the plan, the engine calls.

As ``community.docker.docker_container_copy_into``: one file, from the managed host (``path``)
or the task (``content``), into a container, running or stopped. The file in the container is
read through the engine (symlinks resolved inside the container's root, never out of it) and
compared by sha256, mode and owner; only a difference (or ``force: true``) writes it, by a
temp file renamed over the old one. The diff shows the mode, owner and checksum, and for
small text files the content itself, as ``ansible.builtin.copy`` does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import typing

from ansible_collections.berth.core.plugins.module_utils.compat import field_validator, model_validator
from ansible_collections.berth.core.plugins.module_utils.options import ModuleOptions, option
from ansible_collections.berth.core.plugins.module_utils.runner import (
    ABSENT,
    Action,
    Difference,
    Plan,
    Refused,
    Resource,
)

#: files up to this size, both sides text, get a content diff (the rest: checksums)
DIFF_LIMIT = 64 << 10
DEFAULT_MODE = 0o644  # of a file from ``content`` (a host file keeps its own)


class CopyOptions(ModuleOptions):
    container: str
    path: str | None = None
    content: str | None = None
    content_is_b64: bool = False
    container_path: str
    mode: typing.Any = None
    owner_id: int | None = option(None, ge=0)
    group_id: int | None = option(None, ge=0)
    follow: bool = False
    force: bool | None = None

    module_kwargs: typing.ClassVar[dict] = {"mutually_exclusive": [["path", "content"]],
                                            "required_one_of": [["path", "content"]],
                                            "required_together": [["owner_id", "group_id"]]}

    @field_validator("path")
    @classmethod
    def _host_path(cls, value):
        if value is None:
            return None
        value = os.path.expanduser(value)
        if not value.startswith("/"):
            raise ValueError(f"must be an absolute path on the managed host, not {value!r}")
        return value

    @field_validator("container_path")
    @classmethod
    def _absolute(cls, value):
        if not value.startswith("/"):
            raise ValueError(f"must be an absolute path in the container, not {value!r}")
        if value.rstrip("/") == "" or value.endswith("/"):
            raise ValueError(f"must name a file, not a directory: {value!r}")
        return value

    @field_validator("mode")
    @classmethod
    def _mode(cls, value):
        return parse_mode(value)

    @model_validator(mode="after")
    def _base64(self):
        if self.content_is_b64 and self.content is not None:
            try:
                base64.b64decode(self.content, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("content: not valid base64 (content_is_b64 is true)") from None
        return self


def parse_mode(value) -> int | None:
    """An int is the mode itself (YAML's ``0644`` arrives as 420); a string is octal."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a file mode: {value!r}")
    if isinstance(value, int):
        mode = value
    else:
        text = str(value).strip().removeprefix("0o")
        if not text or any(c not in "01234567" for c in text):
            raise ValueError(f"not an octal file mode: {value!r} (e.g. '0644')")
        mode = int(text, 8)
    if not 0 <= mode <= 0o7777:
        raise ValueError(f"not a file mode: {value!r} (0 to 07777)")
    return mode


def wanted_bytes(want: CopyOptions) -> bytes:
    """The file as ``content`` gives it."""
    text = want.content or ""
    return base64.b64decode(text) if want.content_is_b64 else text.encode()


# -- pure planning -----------------------------------------------------------------------------
class CopyPlan(Plan):
    """A plan whose diff adds the content of small text files, before and after (Ansible shows
    a list of diffs one after the other: the attributes, then the text)."""

    def __init__(self, actions=(), differences=(), warnings=(), text=None) -> None:
        super().__init__(actions, differences, warnings)
        self.text: dict | None = text

    def diff(self):
        base = super().diff()
        return [base, self.text] if self.actions and self.text is not None else base


def plan_copy(want: CopyOptions, have: dict) -> CopyPlan:
    """``have``: ``{"container": {"Id", "Name", "ReadOnly"} or None, "source": {...} or {"error"},
    "target": file state (``_state``) or None, "target_error": str or None}``."""
    container = have["container"]
    if container is None:
        raise Refused(f"container: no such container: {want.container}")
    source = have["source"]
    if source.get("error"):
        raise Refused(f"path: {source['error']}")
    where = want.container_path
    if have.get("target_error"):
        raise Refused(f"container_path: {have['target_error']}")
    target = have["target"]
    if target is not None and target["kind"] == "directory":
        raise Refused(f"container_path: {where} is a directory in the container")
    if target is not None and target["kind"] == "other":
        raise Refused(f"container_path: {where} is not a regular file in the container")

    mode = want.mode if want.mode is not None else source["mode"]
    owner = (want.owner_id, want.group_id) if want.owner_id is not None else (0, 0)
    after = {"checksum": source["sha256"], "mode": f"{mode:04o}", "owner": f"{owner[0]}:{owner[1]}"}
    exists = target is not None and target["kind"] == "file"
    if exists:
        before = {"checksum": target["sha256"], "mode": f"{target['mode']:04o}",
                  "owner": f"{target['uid']}:{target['gid']}"}
        differences = [Difference(k, before[k], after[k]) for k in after if before[k] != after[k]]
    else:
        kind = "absent" if target is None else f"a symlink to {target['target']}"
        differences = [Difference("state", kind, "file"), *(Difference(k, ABSENT, v) for k, v in after.items())]
    if (want.force is False and exists) or (want.force is None and not differences):
        return CopyPlan(differences=differences)  # force: false leaves a different file alone
    if container["ReadOnly"]:
        raise Refused(f"container: the root filesystem of container {container['Name']} is read-only")
    if not differences:  # force: true
        differences = [Difference("written", False, True)]
    action = Action("write", f"write {where} in container {container['Name']} ({source['size']} bytes, mode "
                             f"{mode:04o}, owner {owner[0]}:{owner[1]})",
                    container=container["Id"], path=where, data=source.get("data"), source=source.get("path"),
                    mode=mode, uid=owner[0], gid=owner[1], follow=want.follow)
    text = None
    if source["sha256"] != (target or {}).get("sha256"):
        text = _text_diff(f"{container['Name']}:{where}", target.get("content") if exists else b"",
                          source.get("text"))
    return CopyPlan([action], differences, text=text)


def _text_diff(name: str, before: bytes | None, after: bytes | None) -> dict | None:
    texts = [_text(before), _text(after)]
    if None in texts:
        return None
    return {"before_header": f"{name} (before)", "after_header": f"{name} (after)",
            "before": texts[0], "after": texts[1]}


def _text(data: bytes | None) -> str | None:
    if data is None or len(data) > DIFF_LIMIT or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


# -- the engine ----------------------------------------------------------------------------------
class Copy(Resource):
    options = CopyOptions
    result_key = "file"

    def observe(self) -> dict:
        from berth.errors import NotFound
        from berth.runtime.cp import CopyError

        opts = self.opts
        try:
            info = self.engine.inspect_container(opts.container)
        except NotFound:
            return {"container": None, "source": {}, "target": None}
        container = {"Id": info["Id"], "Name": info.get("Name", "").lstrip("/") or opts.container,
                     "ReadOnly": bool((info.get("HostConfig") or {}).get("ReadonlyRootfs"))}
        out = {"container": container, "source": self._source(), "target": None, "target_error": None}
        try:
            found = self.engine.container_file(info["Id"], opts.container_path, follow=opts.follow,
                                               read_limit=DIFF_LIMIT)
        except CopyError as exc:  # a parent missing or not a directory: nothing can be written there
            out["target_error"] = str(exc)
        else:
            out["target"] = None if found is None else _state(found)
        return out

    def _source(self) -> dict:
        """The file the task wants: its sha256, size, mode, and its bytes (``content``, or a small
        host file's for the diff). A host file is hashed as it is read, never held whole."""
        opts = self.opts
        if opts.path is None:
            data = wanted_bytes(opts)
            return {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "mode": DEFAULT_MODE,
                    "data": data, "text": data}
        try:
            fd = os.open(opts.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            return {"error": f"cannot read {opts.path}: {exc.strerror}"}
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                return {"error": f"{opts.path} is not a regular file"}
            digest, head, size = hashlib.sha256(), bytearray(), 0
            while chunk := f.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                if size <= DIFF_LIMIT:
                    head += chunk
        return {"sha256": digest.hexdigest(), "size": size, "mode": stat.S_IMODE(st.st_mode), "path": opts.path,
                "text": bytes(head) if size <= DIFF_LIMIT else None}

    plan = staticmethod(plan_copy)

    def report(self, actual) -> dict:
        if actual.get("container") is None:
            return {}
        target = actual.get("target")
        out = {"container_path": self.opts.container_path, "exists": target is not None}
        if target is not None:
            out.update(kind=target["kind"], mode=f"{target['mode']:04o}", owner_id=target["uid"],
                       group_id=target["gid"], size=target["size"], checksum=target["sha256"])
            if target["target"] is not None:
                out["link_target"] = target["target"]
        return {"file": out}

    def apply_write(self, container: str, path: str, data: bytes | None, source: str | None, mode: int,
                    uid: int, gid: int, follow: bool) -> None:
        self.engine.write_container_file(container, path, data=data, source=source, mode=mode, uid=uid, gid=gid,
                                         follow=follow)


def _state(found) -> dict:
    """The engine's ``FileState`` as plain data (what the plan reads and the result shows)."""
    return {"kind": found.kind, "mode": found.mode, "uid": found.uid, "gid": found.gid, "size": found.size,
            "sha256": found.sha256, "target": found.target, "content": found.content}
