"""``ContainerStore``: container records on disk, the names index, lookups.

Layout (all under the engine root)::

    containers/<id>/config.json   written once at create (Docker-shaped)
    containers/<id>/state.json    ContainerState, rewritten atomically under state.lock
    container-names/<name>        the id owning <name>; the uniqueness index
    locks/containers.lock         held only while a name is claimed or released

A create assembles its directory under tmp/ and renames it into place, so a
crash never leaves a half-written record; the name file is written first
(under the lock) and a name whose record does not exist is stale and may be
taken over. That is what makes concurrent creates race-free across processes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from berth.errors import BerthError, InvalidArgument
from berth.fsutil import atomic_write, atomic_write_json, fsync_dir, read_json, rmtree
from berth.locks import file_lock
from berth.paths import Paths
from berth.runtime.errors import ContainerNotFound, NameInUse
from berth.state.names import random_name, validate_name
from berth.state.records import ContainerState, now_rfc3339

#: build_config(id, bare_name) -> the Docker-shaped config.json body
ConfigBuilder = Callable[[str, str], dict[str, Any]]
#: prepare(id, dir): write extra files (hosts, resolv.conf...) into the record dir before it is published
Preparer = Callable[[str, Path], None]

_HEX = frozenset("0123456789abcdef")


class ContainerStore:
    def __init__(self, paths: Paths) -> None:
        self.paths = paths
        self.base = paths.root / "containers"
        self.names_dir = paths.root / "container-names"

    # -- paths -------------------------------------------------------------
    def dir(self, cid: str) -> Path:
        return self.base / cid

    @contextmanager
    def _names_lock(self) -> Iterator[None]:
        with file_lock(self.paths.locks / "containers.lock"):
            yield

    # -- create / remove -----------------------------------------------------
    def create(self, name: str | None, build_config: ConfigBuilder, prepare: Preparer | None = None) -> str:
        """Publish a new record; raise NameInUse if ``name`` is taken. Returns the new id."""
        # here, not at the top: a lookup (a no-change Ansible task) need not import berth.store
        from berth.store.blobs import temp_name

        bare = validate_name(name) if name else None
        cid = os.urandom(32).hex()  # what secrets.token_hex does; secrets would import hashlib/OpenSSL
        self.paths.tmp.mkdir(parents=True, exist_ok=True)
        tmp = self.paths.tmp / temp_name("container")
        try:
            tmp.mkdir()
            with self._names_lock():
                bare = bare or self._free_random_name()
                self._claim_name(bare, cid)
                try:
                    # Built under the lock only because it needs the final name; it is local file
                    # writes (and the network's address or alias checks, which may refuse)
                    atomic_write_json(tmp / "config.json", build_config(cid, bare))
                    atomic_write_json(tmp / "state.json", ContainerState().to_dict())
                    if prepare is not None:
                        prepare(cid, tmp)
                    self.base.mkdir(parents=True, exist_ok=True)
                    os.rename(tmp, self.dir(cid))
                except BaseException:
                    self._release_name(bare, cid)  # a refused create leaves no claim behind
                    raise
                fsync_dir(self.base)
        finally:
            if tmp.exists():
                rmtree(tmp)
        return cid

    def _claim_name(self, bare: str, cid: str) -> None:
        owner = self._name_owner(bare)
        if owner is not None and self.exists(owner):
            raise NameInUse(
                f'Conflict. The container name "/{bare}" is already in use by container "{owner}". '
                f"You have to remove (or rename) that container to be able to reuse that name.",
                name=bare, container=owner,
            )
        atomic_write(self.names_dir / bare, cid.encode())

    def _release_name(self, bare: str, cid: str) -> None:
        if self._name_owner(bare) == cid:
            (self.names_dir / bare).unlink(missing_ok=True)

    def _free_random_name(self) -> str:
        for attempt in range(50):
            candidate = random_name(attempt)
            owner = self._name_owner(candidate)
            if owner is None or not self.exists(owner):
                return candidate
        return f"berth_{os.urandom(4).hex()}"

    def _name_owner(self, bare: str) -> str | None:
        try:
            return (self.names_dir / bare).read_text().strip() or None
        except (FileNotFoundError, NotADirectoryError):
            return None

    def remove(self, cid: str) -> None:
        """Drop the record and its name; idempotent. The caller has stopped and unmounted it."""
        from berth.store.blobs import temp_name

        bare = self.name_of(cid)
        self._mark_removing(cid)  # a crash from here on: ``system check --repair`` finishes the removal
        self.paths.tmp.mkdir(parents=True, exist_ok=True)
        doomed = self.paths.tmp / temp_name("deleted-container")
        with self._names_lock():
            try:
                os.rename(self.dir(cid), doomed)
            except FileNotFoundError:
                return
            if bare:
                self._release_name(bare, cid)
        rmtree(doomed)

    def _mark_removing(self, cid: str) -> None:
        """Status "removing" (dockerd's RemovalInProgress), so a removal cut short is finished later."""
        if not self.dir(cid).is_dir():  # file_lock would create the dir again
            return
        with file_lock(self.dir(cid) / "state.lock"):
            data = read_json(self.dir(cid) / "state.json")
            if data is None:
                return
            st = ContainerState.from_dict(data)
            st.Status = "removing"
            atomic_write_json(self.dir(cid) / "state.json", st.to_dict())

    def rename(self, cid: str, new_name: str) -> str:
        """Give ``cid`` the name ``new_name`` (Docker's rename); returns the old bare name.

        Under the names lock: claim the new name, rewrite config.json's Name, release the old
        claim. A crash in between leaves a second claim for the id, which ``system check`` drops
        (the claim that does not match the record's Name is stale)."""
        bare = validate_name(new_name)
        with self._names_lock():
            if not self.exists(cid):
                raise ContainerNotFound(f"No such container: {cid}", container=cid)
            old = self.name_of(cid)
            if old == bare:
                raise InvalidArgument("Renaming a container with the same name as its current name",
                                      value=new_name)
            if self._name_owner(bare) != cid:  # (a claim of its own is left over from a cut-short rename)
                self._claim_name(bare, cid)
            try:
                with self.editing_config(cid) as config:
                    config["Name"] = f"/{bare}"
            except BaseException:
                self._release_name(bare, cid)
                raise
            if old:
                self._release_name(old, cid)
        return old

    # -- reading -------------------------------------------------------------
    def exists(self, cid: str) -> bool:
        return (self.dir(cid) / "config.json").is_file()

    def ids(self) -> list[str]:
        if not self.base.is_dir():
            return []
        return sorted(p.name for p in self.base.iterdir() if len(p.name) == 64 and (p / "config.json").is_file())

    def config(self, cid: str) -> dict[str, Any]:
        data = read_json(self.dir(cid) / "config.json")
        if data is None:
            raise ContainerNotFound(f"No such container: {cid}", container=cid)
        return data

    def name_of(self, cid: str) -> str:
        data = read_json(self.dir(cid) / "config.json") or {}
        return str(data.get("Name", "")).lstrip("/")

    def state(self, cid: str) -> ContainerState:
        data = read_json(self.dir(cid) / "state.json")
        if data is None:
            raise ContainerNotFound(f"No such container: {cid}", container=cid)
        return ContainerState.from_dict(data)

    def record_error(self, cid: str, message: str, *, stop_restarting: bool = False) -> None:
        """For processes nobody reads (the exit hook, the restarter): put ``message`` in State.Error;
        ``stop_restarting`` also marks a pending restart as exited. Never raises."""
        try:
            with self.editing_state(cid) as st:
                st.Error = message
                if stop_restarting and st.Status == "restarting":
                    st.Status, st.Running, st.Restarting = "exited", False, False
        except (BerthError, OSError):
            pass

    @contextmanager
    def editing_config(self, cid: str) -> Iterator[dict[str, Any]]:
        """Read-modify-write config.json (network connect/disconnect) under the container's
        config flock; rename takes it too, inside the names lock."""
        if not self.dir(cid).is_dir():
            raise ContainerNotFound(f"No such container: {cid}", container=cid)
        with file_lock(self.dir(cid) / "config.lock"):
            config = self.config(cid)
            yield config
            atomic_write_json(self.dir(cid) / "config.json", config)

    @contextmanager
    def editing_state(self, cid: str) -> Iterator[ContainerState]:
        """Read-modify-write state.json under the container's flock (short: no waiting inside)."""
        if not self.dir(cid).is_dir():
            raise ContainerNotFound(f"No such container: {cid}", container=cid)
        with file_lock(self.dir(cid) / "state.lock"):
            st = self.state(cid)
            yield st
            atomic_write_json(self.dir(cid) / "state.json", st.to_dict())

    def lookup(self, text: str) -> str:
        """Full id, then name (with or without "/"), then unique id prefix: Docker's order."""
        if not text:
            raise ContainerNotFound("No such container: ", container=text)
        if len(text) == 64 and self.exists(text):
            return text
        bare = text.removeprefix("/")
        owner = self._name_owner(bare) if "/" not in bare else None
        if owner is not None and self.exists(owner):
            return owner
        if set(text) <= _HEX:
            matches = [c for c in self.ids() if c.startswith(text)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise ContainerNotFound(f"Multiple IDs found with provided prefix: {text}", container=text)
        raise ContainerNotFound(f"No such container: {text}", container=text)


__all__ = ["ContainerStore", "now_rfc3339"]
