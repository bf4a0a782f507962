"""conmon's exit command: ``python -m berth.runtime.exit_hook ROOT ID [RUNTIME [WAITER_LOCK]]``.

Runs once per container exit, in a fresh process (conmon's child), so it
imports only what finalize needs. It applies the restart policy but never
waits out the back-off itself: it spawns a detached restarter and returns
(``berth.runtime.restart``). Never raises: a failure is recorded in the
container's State.Error, since nobody reads this process's output.

A process in ``lifecycle.wait`` (a foreground ``run``, ``berth wait``, the
modules) finalizes the container itself as soon as it sees it exit, and holds
WAITER_LOCK (shared) meanwhile. The hook first waits for that lock and reads
the record, before it imports the engine: when the waiter has done the work
(the usual case for ``run --rm``) the hook ends there, and its start-up no
longer competes for the CPU with the waiter's finalize. A waiter that died
half-way leaves the record saying so, and the hook does the rest.
"""

from __future__ import annotations

import sys

_ACTIVE = ("running", "paused", "restarting")  # berth.runtime.lifecycle.ACTIVE, without importing it


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        return 2
    if len(argv) > 3 and _done_by_waiter(argv[0], argv[1], argv[3]):
        return 0
    from berth.errors import BerthError
    from berth.paths import Paths
    from berth.runtime.context import RuntimeContext
    from berth.runtime.lifecycle import on_exit

    ctx = RuntimeContext(Paths.for_root(argv[0]), argv[2] if len(argv) > 2 else None)
    try:
        on_exit(ctx, argv[1])
    except (BerthError, OSError) as exc:
        ctx.containers.record_error(argv[1], f"exit hook: {exc}")
        return 1
    return 0


def _done_by_waiter(root: str, cid: str, waiter_lock: str) -> bool:
    """After every waiter has let go of ``waiter_lock``: is nothing left for ``on_exit``? True when
    the record is gone, or finalized and not to be auto-removed; anything unclear is False."""
    import fcntl
    import json
    import os

    try:
        fd = os.open(waiter_lock, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        fd = -1  # nobody ever waited (or the bundle is gone with the record)
    if fd >= 0:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        finally:
            os.close(fd)
    record = os.path.join(root, "containers", cid)
    try:
        with open(os.path.join(record, "state.json"), "rb") as f:
            if json.load(f).get("Status") in _ACTIVE:
                return False
        with open(os.path.join(record, "config.json"), "rb") as f:
            return not (json.load(f).get("HostConfig") or {}).get("AutoRemove")
    except FileNotFoundError:
        return not os.path.isdir(record)  # removed: nothing to finalize
    except (OSError, ValueError, AttributeError):
        return False  # let on_exit see it (and record what is wrong)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
