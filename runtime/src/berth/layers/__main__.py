"""Internal: ``python -m berth.layers BLOB DEST`` extracts one layer in its own process.

Pull runs one of these per layer so extractions use every core (tar parsing
holds the GIL; threads barely overlap). Prints the ExtractResult as JSON;
the parent verifies the diff_id and publishes the directory.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import signal
import sys
from pathlib import Path


def _die_with_parent() -> None:
    # A killed pull must not leave an extraction running into a dir fsck will remove.
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def main(argv: list[str]) -> int:
    from berth.errors import BerthError
    from berth.layers.extract import extract_layer

    _die_with_parent()
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
