"""Internal: ``python -m berth.layers BLOB DEST`` extracts one layer in its own process.

Pull runs one of these per layer so extractions use every core (tar parsing
holds the GIL; threads barely overlap). Prints the ExtractResult as JSON;
the parent verifies the diff_id and publishes the directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path

#: the parent's pid, set by LayerStore.unpack_file
PARENT_ENV = "BERTH_LAYERS_PARENT"


def _die_with_parent() -> None:
    """A killed pull must not leave an extraction running into a dir ``system check`` removes."""
    from berth.libc import libc

    with contextlib.suppress(OSError, AttributeError):
        libc().prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    # the parent may have died during this interpreter's start-up, before the line above: the
    # child was then re-parented and no signal will come
    parent = os.environ.get(PARENT_ENV)
    if parent and os.getppid() != int(parent):
        sys.exit(1)


def main(argv: list[str]) -> int:
    _die_with_parent()
    from berth.errors import BerthError
    from berth.layers.extract import extract_layer

    blob, dest = Path(argv[0]), Path(argv[1])
    try:
        with open(blob, "rb") as f:
            result = extract_layer(f, dest)
    except BerthError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
        return 1
    print(json.dumps({"diff_id": str(result.diff_id), "size": result.size, "entries": result.entries}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
