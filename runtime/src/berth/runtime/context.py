"""``RuntimeContext``: where a container's runtime files live, and the OCI runtime to use.

Shared by the engine (container_ops) and the exit hook, which runs in a
fresh process conmon starts and so must rebuild everything from the root.
"""

from __future__ import annotations

import contextlib
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from berth.paths import Paths
from berth.runtime.driver import RuncDriver, detect_runtime
from berth.state import ContainerStore
from berth.structs import dataclass

if TYPE_CHECKING:
    from berth.config import EngineConfig
    from berth.network.manager import NetworkManager


@dataclass
class RuntimeContext:
    paths: Paths
    preferred_runtime: str | None = None
    #: the engine's config when it has one in hand; else read from the root (the exit hook)
    given_config: EngineConfig | None = None
    #: set by the restarter (``berth.runtime.restarter``): the RestartCount the pending restart it
    #: performs was scheduled with. ``lifecycle.start`` then starts only if that restart is still
    #: pending (not cancelled by a stop, superseded by a manual start or removed), and keeps
    #: RestartCount and the back-off.
    policy_restart: int | None = None

    @cached_property
    def containers(self) -> ContainerStore:
        return ContainerStore(self.paths)

    @cached_property
    def config(self) -> EngineConfig:
        from berth.config import EngineConfig

        return self.given_config or EngineConfig.load(self.paths.config_file)

    @cached_property
    def network(self) -> NetworkManager:
        """Networking of containers (``berth.network``): attach at start, detach at exit and rm."""
        from berth.network.manager import NetworkManager

        return NetworkManager(self.paths, self.config.network, self.containers)

    @cached_property
    def driver(self) -> RuncDriver:
        return detect_runtime(self.paths.run_dir, self.preferred_runtime)

    @cached_property
    def kernel_serves_x32(self) -> bool:
        """``berth.runtime.seccomp.kernel_serves_x32``, probed once per boot: the answer is kept in
        the run dir, which a reboot (the only way to change it) clears."""
        from berth.runtime.seccomp import kernel_serves_x32

        cached = self.paths.run_dir / "kernel-x32"
        try:
            return cached.read_text() == "1"
        except OSError:
            pass
        answer = kernel_serves_x32()
        with contextlib.suppress(OSError):  # no cache (read-only run dir...): probe again next time
            from berth.fsutil import atomic_write

            atomic_write(cached, b"1" if answer else b"0", durable=False)
        return answer

    # -- per-container run state (gone after a reboot, by design) -----------
    def bundle(self, cid: str) -> Path:
        """The OCI bundle: config.json, rootfs/ (the overlay mount point), pid files, conmon's fifos."""
        return self.paths.run_dir / "containers" / cid

    def rootfs(self, cid: str) -> Path:
        return self.bundle(cid) / "rootfs"

    @property
    def exit_dir(self) -> Path:
        return self.paths.run_dir / "exits"

    def exit_file(self, cid: str) -> Path:
        return self.exit_dir / cid

    @property
    def socket_dir(self) -> Path:
        return self.paths.run_dir / "socket"

    # -- per-container persistent files ------------------------------------
    def log_path(self, cid: str) -> Path:
        return self.containers.dir(cid) / "container.log"

    def waiter_lock(self, cid: str) -> Path:
        """Held (shared) by each process in ``lifecycle.wait``: the exit hook waits for it (``exit_hook``)."""
        return self.bundle(cid) / "waiter.lock"

    def op_lock(self, cid: str) -> Path:
        """Serialises start / finalize / remove of one container (never held while it runs)."""
        return self.paths.locks / "containers" / f"{cid}.lock"

    def exit_code(self, cid: str) -> int | None:
        try:
            return int(self.exit_file(cid).read_text().strip())
        except (OSError, ValueError):
            return None
