"""A pending restart: ``python -m berth.runtime.restarter ROOT ID RESTART_COUNT``.

Spawned by the exit hook (see ``berth.runtime.restart.schedule``) after the back-off delay has been
slept by ``sleep``. Starts the container through ``Engine.start`` (so whatever the engine does on a
start, networking included, happens on a restart too), but only if this restart is still pending:
``lifecycle.start`` checks that under the container's op lock (``RuntimeContext.policy_restart``), so a
``stop``, ``kill``, manual ``start`` or ``rm`` in the meantime wins. Never raises: a failure is
recorded in State.Error by ``lifecycle.start``, which also marks the container exited, as moby
does when a restart fails.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) < 3:
        return 2
    from berth.engine import Engine
    from berth.engine.container_ops import runtime_context
    from berth.errors import BerthError

    root, cid, count = argv[0], argv[1], int(argv[2])
    engine = Engine(root)
    runtime_context(engine).policy_restart = count
    try:
        engine.start(cid)
    except (BerthError, OSError) as exc:
        from berth.paths import Paths
        from berth.state import ContainerStore

        # stop_restarting: it failed before lifecycle.start (e.g. a layer is gone), which marks it itself
        ContainerStore(Paths.for_root(root)).record_error(cid, f"restart: {exc}", stop_restarting=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
