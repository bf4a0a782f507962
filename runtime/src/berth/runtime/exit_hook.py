"""conmon's exit command: ``python -m berth.runtime.exit_hook ROOT ID [RUNTIME]``.

Runs once per container exit, in a fresh process (conmon's child), so it
imports only what finalize needs. It applies the restart policy but never
waits out the back-off itself: it spawns a detached restarter and returns
(``berth.runtime.restart``). Never raises: a failure is recorded in the
container's State.Error, since nobody reads this process's output.
"""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        return 2
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
