"""``Engine``: the one entry point for the CLI and the Ansible modules.

It owns no state of its own beyond paths and lazily-loaded config; every
method reads and changes the on-disk store under short locks, so any number
of engines (processes) can work on one root at once.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from berth.errors import Conflict, ImageInUse, ImageNotFound, InvalidArgument
from berth.paths import Paths

# berth.reference and berth.progress are imported where used: a volume task's no-change run needs
# neither, and every task pays for what the engine imports (DESIGN, budgets)
if TYPE_CHECKING:
    from collections.abc import Iterator

    from berth.config import Credentials, CredentialStore, EngineConfig
    from berth.containers.spec import ContainerSpec
    from berth.distribution.puller import PullResult
    from berth.distribution.pusher import PushResult
    from berth.progress import ProgressFn
    from berth.reference import Digest, Reference
    from berth.runtime.context import RuntimeContext
    from berth.store import Store
    from berth.store.check import CheckReport
    from berth.store.store import GCResult


class Engine:
    def __init__(self, root: str | os.PathLike[str] | None = None, *, config: EngineConfig | None = None) -> None:
        self.paths = Paths.for_root(root)
        self._config = config

    # The store, config and credentials are imported and opened on first use: a module's
    # no-change run (a volume's record, a container's) needs none of them, and every task
    # pays for what the engine imports (DESIGN, budgets).
    @cached_property
    def store(self) -> Store:
        from berth.store import Store

        return Store(self.paths, image_users=[self._containers_using_image], layer_users=[self._container_layers])

    # -- configuration -----------------------------------------------------
    @property
    def config(self) -> EngineConfig:
        if self._config is None:
            from berth.config import EngineConfig

            self._config = EngineConfig.load(self.paths.config_file)
        return self._config

    @cached_property
    def volumes(self):  # -> berth.volumes.VolumeStore, imported lazily
        from berth.volumes import VolumeStore

        return VolumeStore(self.paths)

    @cached_property
    def credentials(self) -> CredentialStore:
        from berth.config import CredentialStore

        return CredentialStore(self.paths.auth_file)

    def registry_client(self, registry: str, credentials: Credentials | None = None):
        from berth.distribution.client import RegistryClient

        creds = credentials if credentials is not None else self.credentials.get(registry)
        return RegistryClient(registry, config=self.config, certs_dir=self.paths.certs_dir, credentials=creds)

    # -- containers hook (filled in by the runtime) --------------------------
    def _containers_using_image(self, image_id: Digest) -> list[str]:
        """Names of containers whose record uses ``image_id``.

        Container records live in ``containers/<id>/config.json`` with
        ``Image`` (the image ID) and ``Name``; until the runtime lands this
        finds none, but rmi already honours it.
        """
        import json

        base = self.paths.root / "containers"
        if not base.is_dir():
            return []
        users = []
        for cfg in base.glob("*/config.json"):
            try:
                data = json.loads(cfg.read_text())
            except (OSError, ValueError):
                continue
            if data.get("Image") == str(image_id):
                users.append(str(data.get("Name") or cfg.parent.name).lstrip("/"))
        return sorted(users)

    def _container_layers(self) -> set[Digest]:
        """Layers mounted (or mountable) by containers: GC keeps them even after ``rmi -f``."""
        from berth.engine import container_ops

        return container_ops.layers_in_use(self)

    # -- containers ------------------------------------------------------------
    # Thin delegations: the work is in berth.engine.container_ops / berth.runtime.
    def create_container(self, spec: ContainerSpec, **kw: Any) -> str:
        from berth.engine import container_ops

        return container_ops.create(self, spec, **kw)

    def start(self, ref: str, **kw: Any) -> str:
        from berth.engine import container_ops

        return container_ops.start(self, ref, **kw)

    def stop(self, ref: str, timeout: int | None = None) -> str:
        from berth.engine import container_ops

        return container_ops.stop(self, ref, timeout)

    def restart_container(self, ref: str, timeout: int | None = None) -> str:
        """``docker restart``: stop, then start (an ``--rm`` container is kept across it)."""
        from berth.engine import container_ops

        return container_ops.restart(self, ref, timeout)

    def kill(self, ref: str, signal: str | int = "SIGKILL") -> str:
        from berth.engine import container_ops

        return container_ops.kill(self, ref, signal)

    def remove_container(self, ref: str, *, force: bool = False, volumes: bool = False) -> str:
        from berth.engine import container_ops

        return container_ops.rm(self, ref, force=force, volumes=volumes)

    def waiter(self, ref: str) -> Any:
        from berth.engine import container_ops

        return container_ops.waiter(self, ref)

    def wait(self, ref: str, **kw: Any) -> int:
        from berth.engine import container_ops

        return container_ops.wait(self, ref, **kw)

    def containers(self, *, all: bool = False) -> list[dict[str, Any]]:
        from berth.engine import container_ops

        return container_ops.ps(self, all=all)

    # The read-only views of one container go to berth.runtime directly, not through
    # container_ops (whose imports serve create and start): a container task's no-change run
    # inspects a container and reads its creation spec, nothing more (DESIGN, budgets).
    @cached_property
    def _runtime_ctx(self) -> RuntimeContext:
        """The engine's one RuntimeContext (``container_ops.runtime_context(engine)`` returns it too)."""
        from berth.runtime.context import RuntimeContext

        return RuntimeContext(self.paths, self.config.extra.get("default-runtime"), self.config)

    def inspect_container(self, ref: str) -> dict[str, Any]:
        from berth.runtime.views import inspect_view

        ctx = self._runtime_ctx
        return inspect_view(ctx, ctx.containers.lookup(ref))

    def container_spec(self, ref: str) -> ContainerSpec | None:
        """The spec the container was created from (None: created before the engine recorded it)."""
        from berth.containers.record import recorded_spec

        containers = self._runtime_ctx.containers
        return recorded_spec(containers.config(containers.lookup(ref)))

    def logs(self, ref: str, **kw: Any) -> Iterator[Any]:
        from berth.engine import container_ops

        return container_ops.logs(self, ref, **kw)

    def update_container(self, ref: str, changes: Any = None, **kw: Any) -> str:
        """``docker update``: memory, memory_swap, nano_cpus, cpu_shares, pids_limit, restart (see
        ``berth.runtime.update``); live on a running container, recorded for the next start."""
        from berth.engine import container_ops

        return container_ops.update(self, ref, changes, **kw)

    def rename_container(self, ref: str, new_name: str) -> str:
        from berth.engine import container_ops

        return container_ops.rename(self, ref, new_name)

    @property
    def networks(self):  # -> berth.network.manager.NetworkManager, imported lazily
        return self._runtime_ctx.network

    def connect(self, ref: str, network: str, **kw: Any) -> str:
        from berth.engine import container_ops

        return container_ops.connect(self, ref, network, **kw)

    def disconnect(self, ref: str, network: str, **kw: Any) -> str:
        from berth.engine import container_ops

        return container_ops.disconnect(self, ref, network, **kw)

    def port(self, ref: str) -> list:
        from berth.engine import container_ops

        return container_ops.port(self, ref)

    def top(self, ref: str) -> dict[str, Any]:
        from berth.engine import container_ops

        return container_ops.top(self, ref)

    def exec_container(self, ref: str, cmd: list[str], **kw: Any) -> tuple[int, bytes, bytes]:
        from berth.engine import container_ops

        return container_ops.exec_(self, ref, cmd, **kw)

    def copy(self, src: str, dst: str) -> None:
        from berth.engine import container_ops

        container_ops.cp(self, src, dst)

    def put_archive(self, ref: str, path: str, stream: Any) -> int:
        """``cp - CONTAINER:DIR``: unpack the tar read from the binary ``stream`` into the directory
        ``path`` of the container (checked whole first; nothing lands outside its root)."""
        from berth.engine import container_ops

        return container_ops.put_archive(self, ref, path, stream)

    def get_archive(self, ref: str, path: str, out: Any) -> None:
        """``cp CONTAINER:PATH -``: a tar of ``path`` in the container, written to the binary ``out``."""
        from berth.engine import container_ops

        container_ops.get_archive(self, ref, path, out)

    def container_file(self, ref: str, path: str, *, follow: bool = False, read_limit: int = 0):
        """What is at ``path`` in the container, running or stopped (``berth.runtime.cp.FileState``, None:
        nothing); a regular file's bytes too when at most ``read_limit``. Symlinks resolve inside its root."""
        from berth.engine import container_ops

        return container_ops.read_file(self, ref, path, follow=follow, read_limit=read_limit)

    def write_container_file(self, ref: str, path: str, *, data: bytes | None = None, source: str | None = None,
                             mode: int = 0o644, uid: int = 0, gid: int = 0, follow: bool = False) -> None:
        """Replace the file at ``path`` in the container with ``data`` or the host file ``source``, atomically."""
        from berth.engine import container_ops

        container_ops.write_file(self, ref, path, data=data, source=source, mode=mode, uid=uid, gid=gid,
                                 follow=follow)

    def commit(self, ref: str, repo: str | None = None, **kw: Any) -> str:
        from berth.engine import container_ops

        return container_ops.commit(self, ref, repo, **kw)

    # -- images --------------------------------------------------------------
    def pull(self, ref: str, *, platform: str | None = None, progress: ProgressFn | None = None) -> PullResult:
        from berth.reference import Platform, Reference

        reference = Reference.parse(ref)
        plat = Platform.parse(platform) if platform else None
        return self._puller(reference, progress).pull(reference, plat)

    def remote_image(self, ref: str, *, platform: str | None = None) -> tuple[Digest, Digest]:
        """(the registry's digest, the image ID) a ``pull`` of ``ref`` would bring, from its manifests
        only: no blob is downloaded and nothing is stored."""
        from berth.reference import Platform, Reference

        reference = Reference.parse(ref)
        plat = Platform.parse(platform) if platform else None
        return self._puller(reference).resolve(reference, plat)

    def _puller(self, reference: Reference, progress: ProgressFn | None = None):
        from berth.distribution.puller import Puller
        from berth.progress import no_progress

        return Puller(
            self.store,
            self.registry_client(reference.registry),
            max_workers=self.config.max_concurrent_downloads,
            attempts=self.config.max_download_attempts,
            progress=progress or no_progress,
        )

    def registry_digest(self, ref: str) -> Digest | None:
        """The digest of the manifest the registry holds under ``ref`` now (HEAD), None if it has none."""
        from berth.reference import Reference

        reference = Reference.parse(ref)
        client = self.registry_client(reference.registry)
        client.ping()
        return client.manifest_digest(reference.repository, reference.lookup)

    def push(self, ref: str, *, progress: ProgressFn | None = None) -> PushResult:
        from berth.distribution.pusher import Pusher
        from berth.progress import no_progress
        from berth.reference import Reference

        reference = Reference.parse(ref)
        image_id = self._resolve_for_push(reference)
        record = self.store.images.get(image_id)
        if record is None:
            raise ImageNotFound(f"no such image: {ref}", image=ref)
        client = self.registry_client(reference.registry)
        pusher = Pusher(self.store, client, max_workers=self.config.max_concurrent_uploads,
                        progress=progress or no_progress)
        return pusher.push(reference, record)

    def _resolve_for_push(self, reference: Reference) -> Digest:
        try:
            return self.store.images.resolve(str(reference))
        except ImageNotFound:
            raise ImageNotFound(
                f"an image does not exist locally with the tag: {reference.familiar_name}", image=str(reference)
            ) from None

    def image_id(self, ref: str) -> Digest:
        """The ID of the image ``ref`` names (name[:tag], name@digest, ID or unique ID prefix)."""
        # the name index alone (``store.images`` is such an ImageStore, holding nothing but paths):
        # opening the whole store imports all of it, which a container task's no-change run would
        # pay for (DESIGN, budgets)
        from berth.store.images import ImageStore

        return ImageStore(self.paths).resolve(ref)

    def tag(self, source: str, target: str) -> bool:
        """Point ``target`` at the image ``source`` names; True if that changed anything."""
        from berth.reference import Reference

        image_id = self.store.images.resolve(source)
        ref = Reference.parse(target)
        if ref.digest:
            raise InvalidArgument(f"tag: target {target!r} must be a name[:tag], not a digest", value=target)
        key = f"{ref.name}:{ref.tag}"
        with self.store.images.editing_names() as names:
            if names.tags.get(key) == str(image_id):
                return False
            names.tags[key] = str(image_id)
        return True

    def rmi(self, ref: str, *, force: bool = False, prune: bool = True) -> list[dict[str, str]]:
        """Docker's rmi: untag a name; delete the image when no name is left, and then (``prune``)
        the untagged images it was built on that nothing else needs (a build's steps), and the
        layers no image uses.

        Returns Docker's list of ``{"Untagged": name}`` / ``{"Deleted": id}``.
        """
        from berth.engine.image_views import build_ancestors
        from berth.reference import Reference, familiar_key

        image_id = self.store.images.resolve(ref)
        ancestors = build_ancestors(self.store, image_id) if prune else []
        by_name = _is_name(ref, image_id)
        out: list[dict[str, str]] = []
        with self.store.images.editing_names() as names:
            tags, digests = names.names_of(image_id)
            if by_name:
                key = Reference.parse(ref).index_key
                remaining = [t for t in tags if t != key]
                if key in names.tags:
                    out.append({"Untagged": familiar_key(key)})
                    del names.tags[key]
                elif key in names.digests:
                    out.append({"Untagged": familiar_key(key)})
                    del names.digests[key]
                if remaining:
                    return out  # other tags still name the image: untag only
                if not force:
                    self._refuse_if_used(image_id, ref)
            else:
                if len({t.rsplit(":", 1)[0] for t in tags}) > 1 and not force:
                    raise Conflict(
                        f"conflict: unable to delete {image_id.short} (must be forced) - "
                        f"image is referenced in multiple repositories",
                        image=str(image_id),
                    )
                if not force:
                    self._refuse_if_used(image_id, ref)
            for t in tags + digests:
                if t in names.tags or t in names.digests:
                    out.append({"Untagged": familiar_key(t)})
            names.drop_image(image_id)
            self.store.images.remove_record(image_id)
            out.append({"Deleted": str(image_id)})
            out += self._remove_untagged_parents(names, ancestors)
        if prune:
            self.store.gc()
        return out

    def _remove_untagged_parents(self, names: Any, ancestors: list[Digest]) -> list[dict[str, str]]:
        """Docker's parent pruning after an rmi: nearest first, each ancestor with no name, no
        container and no other image built on it; the first one that is still needed stops it."""
        from berth.engine.image_views import built_upon

        out: list[dict[str, str]] = []
        for parent in ancestors:
            tags, digests = names.names_of(parent)
            if tags or digests or self.store.users_of(parent) or self.store.images.get(parent) is None:
                break
            if parent in built_upon(self.store):
                break  # another image was built on it
            names.drop_image(parent)
            self.store.images.remove_record(parent)
            out.append({"Deleted": str(parent)})
        return out

    def _refuse_if_used(self, image_id: Digest, ref: str) -> None:
        users = self.store.users_of(image_id)
        if users:
            raise ImageInUse(
                f"conflict: unable to remove image {ref} ({image_id.short}): "
                f"in use by container(s) {', '.join(users)} (use force to remove anyway)",
                image=str(image_id),
                containers=users,
            )

    def images(self, *, all: bool = False) -> list[dict[str, Any]]:
        """``images``; ``all`` also lists the intermediate images of builds (``images -a``)."""
        from berth.engine.image_views import image_summaries

        return image_summaries(self.store, intermediate=all)

    def build(self, options: Any, out: Any = None) -> Digest:
        """``build``: ``options`` is a ``berth.build.builder.BuildOptions``; ``out(text)`` gets the output."""
        from berth.build.builder import build, no_output

        return build(self, options, out or no_output)

    def inspect_image(self, ref: str) -> dict[str, Any]:
        from berth.engine.image_views import inspect_image

        return inspect_image(self.store, self.store.images.resolve(ref))

    def history(self, ref: str) -> list[dict[str, Any]]:
        from berth.engine.image_views import history

        return history(self.store, self.store.images.resolve(ref))

    # -- archives --------------------------------------------------------------
    def save(self, refs: list[str], output: str | os.PathLike[str]) -> None:
        from berth.archive import save_images

        save_images(self.store, refs, Path(output))

    def load(self, source: str | os.PathLike[str]) -> list[str]:
        from berth.archive import load_archive

        return load_archive(self.store, Path(source))

    def archive_images(self, source: str | os.PathLike[str]) -> list[tuple[Digest, list[str]]]:
        """What ``load`` would bring: each image's ID and tags (name-index keys), nothing loaded."""
        from berth.archive import archive_images

        return archive_images(self.store, Path(source))

    def import_image(self, source: str | os.PathLike[str], ref: str | None = None,
                     changes: list[str] | None = None, message: str = "") -> Digest:
        from berth.archive import import_rootfs

        return import_rootfs(self.store, Path(source), ref, changes or [], message)

    # -- registries ------------------------------------------------------------
    def login(self, registry: str, username: str, password: str) -> bool:
        """Verify credentials against the registry, then store them; True if the file changed."""
        registry = _registry_name(registry)
        from berth.config import Credentials

        creds = Credentials(username, password)
        self.registry_client(registry, creds).check_login()
        return self.credentials.set(registry, creds)

    def logout(self, registry: str) -> bool:
        return self.credentials.remove(_registry_name(registry))

    def set_insecure_registry(self, registry: str, insecure: bool) -> bool:
        """List (or unlist) ``registry`` in ``insecure-registries``; True if the config changed."""
        from berth.config import registries

        return self._config_changed(registries.set_insecure(self.paths.config_file, _registry_name(registry), insecure))

    def set_registry_mirrors(self, mirrors: list[str]) -> bool:
        """``registry-mirrors`` (Docker Hub's mirrors, as in Docker) exactly ``mirrors``; True if changed."""
        from berth.config import registries

        return self._config_changed(registries.set_mirrors(self.paths.config_file, list(mirrors)))

    def registry_certs(self, registry: str) -> dict[str, bytes]:
        """``certs.d/<registry>/``'s ``ca.crt``, ``client.cert``, ``client.key`` that exist."""
        from berth.config import registries

        return registries.read_certs(self.paths.certs_dir, _registry_name(registry))

    def set_registry_cert(self, registry: str, name: str, data: bytes | None) -> bool:
        """Write (or, ``data`` None, remove) ``certs.d/<registry>/<name>``; True if it changed."""
        from berth.config import registries

        return registries.set_cert(self.paths.config_file, self.paths.certs_dir, _registry_name(registry), name, data)

    def _config_changed(self, changed: bool) -> bool:
        if changed:  # read the file again next time (and the runtime's view of it)
            self._config = None
            self.__dict__.pop("_runtime_ctx", None)
        return changed

    # -- system ------------------------------------------------------------------
    def system_check(self, *, repair: bool = False) -> CheckReport:
        from berth.build.builder.check import check_build
        from berth.runtime.check import check_engine
        from berth.store.check import Problem, check_store

        report = check_store(self.store, repair=repair)
        report.problems.extend(Problem(**p) for p in check_build(self, repair))
        report.problems.extend(Problem(**p) for p in self.volumes.check(repair=repair))
        report.problems.extend(Problem(**p) for p in check_engine(self, repair=repair))
        report.problems.extend(Problem(**p) for p in self._check_network(repair))
        return report

    def _check_network(self, repair: bool) -> list[dict[str, Any]]:
        from berth.engine.container_ops import runtime_context
        from berth.network.check import check_network
        from berth.runtime.errors import ContainerNotFound
        from berth.runtime.liveness import is_alive

        mgr = self.networks

        def running(cid: str) -> bool:
            try:
                st = mgr.containers.state(cid)
            except ContainerNotFound:
                return False
            return is_alive(st.Pid, st.PidStartTime)

        return check_network(mgr, running, runtime_context(self).op_lock, repair)

    def system_df(self) -> dict[str, Any]:
        from berth.engine.image_views import disk_usage

        return disk_usage(self.store, self._containers_using_image)

    def system_prune(self, *, all: bool = False) -> dict[str, Any]:
        """Remove dangling images (``all``: every unused image), then collect garbage."""
        deleted: list[str] = []
        with self.store.images.editing_names() as names:
            for rec in list(self.store.images.records()):
                tags, _ = names.names_of(rec.id)
                if (tags and not all) or self.store.users_of(rec.id):
                    continue
                names.drop_image(rec.id)
                self.store.images.remove_record(rec.id)
                deleted.append(str(rec.id))
        gc: GCResult = self.store.gc()
        return {"ImagesDeleted": deleted, "SpaceReclaimed": gc.bytes_freed,
                "BlobsDeleted": len(gc.blobs), "LayersDeleted": len(gc.layers)}


def _registry_name(registry: str) -> str:
    from berth.config.registries import registry_name

    return registry_name(registry)


def _is_name(ref: str, image_id: Digest) -> bool:
    """Was the image named (name:tag / name@digest) rather than given by ID?"""
    bare = ref.removeprefix("sha256:")
    return not (image_id.hex.startswith(bare) and all(c in "0123456789abcdef" for c in bare))
