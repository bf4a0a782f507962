"""Reading a container's log with Docker's semantics (streams, --tail, --since, -t, -f).

The file is conmon's k8s-file format, one record per line::

    2024-01-01T00:00:00.123456789+00:00 stdout F hello

``P`` marks a partial record (a long line split by conmon, or output without a
trailing newline); records are joined until the ``F`` that ends the line, so
each yielded line is what the container wrote, with its newline, as in
Docker's json-file ``log`` field.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple


class LogLine(NamedTuple):
    stream: str  # "stdout" | "stderr"
    line: str  # with its trailing "\n" unless the container wrote none
    time: str  # RFC3339Nano, as conmon wrote it


def parse_time(text: str) -> float:
    """RFC3339 with nanoseconds -> unix seconds (float)."""
    from datetime import datetime  # here: `logs --since`, not every foreground `run`, needs it

    head, _, rest = text.partition(".")
    frac, tz = "", "+00:00"
    if rest:
        digits = ""
        for i, ch in enumerate(rest):
            if not ch.isdigit():
                tz = rest[i:]
                break
            digits += ch
        frac = digits
    elif head.endswith("Z"):
        head = head[:-1]
    tz = "+00:00" if tz in ("Z", "") else tz
    return datetime.fromisoformat(f"{head}{tz}").timestamp() + (float(f"0.{frac}") if frac else 0.0)


def _records(f, final: Callable[[], bool] = lambda: True) -> Iterator[LogLine | None]:
    """Yield joined lines from the current position; None when at EOF (caller may poll).

    At EOF, partial records that no ``F`` ended are yielded as they are (no newline added) when
    ``final()`` says no more output can come: the container's last output without a trailing
    newline (``printf x``), which Docker shows too."""
    pending: dict[str, tuple[list[str], str]] = {}
    buf = b""
    while True:
        chunk = f.readline()
        if not chunk:
            if pending and final():
                for stream, (acc, first_ts) in sorted(pending.items(), key=lambda kv: kv[1][1]):
                    yield LogLine(stream, "".join(acc), first_ts)
                pending.clear()
            yield None
            continue
        buf += chunk
        if not buf.endswith(b"\n"):
            continue  # conmon is mid-write; the rest comes with the next read
        raw, buf = buf[:-1].decode("utf-8", "replace"), b""
        parts = raw.split(" ", 3)
        if len(parts) < 3:
            continue
        ts, stream, tag = parts[0], parts[1], parts[2]
        text = parts[3] if len(parts) > 3 else ""
        acc, first_ts = pending.pop(stream, ([], ts))
        acc.append(text)
        if tag == "P":
            pending[stream] = (acc, first_ts)
            continue
        yield LogLine(stream, "".join(acc) + "\n", first_ts)


def read_log(path: Path, *, follow: bool = False, tail: int | None = None, since: float | None = None,
             until: float | None = None, running: Callable[[], bool] = lambda: False,
             poll: float = 0.1, sleep: Callable[[float], None] = time.sleep) -> Iterator[LogLine]:
    """Lines of the log. ``tail``: only the last N; ``since``/``until``: unix seconds;
    ``follow``: keep reading while ``running()`` says the container runs (then drain and stop),
    ``sleep(poll)`` between reads (one that wakes at the container's exit ends a follow sooner)."""
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed in finally; reopened on rotation
    except FileNotFoundError:
        return
    try:
        backlog: deque[LogLine] | list[LogLine] = deque(maxlen=tail) if tail is not None and tail >= 0 else []
        def final() -> bool:
            return not follow or not running()

        gen = _records(f, final)
        for rec in gen:
            if rec is None:
                break
            if _in_window(rec, since, until):
                backlog.append(rec)
        yield from backlog
        if not follow:
            return
        drained_after_exit = False
        while True:
            for rec in gen:  # up to EOF (``_records`` yields None there, and never ends)
                if rec is None:
                    break
                if _in_window(rec, since, until):
                    yield rec
            if drained_after_exit:
                return
            if not running():
                drained_after_exit = True  # one more pass picks up what was written before the exit
                continue
            if _rotated(path, f):
                f.close()
                f = open(path, "rb")  # noqa: SIM115
                gen = _records(f, final)
            sleep(poll)
    finally:
        f.close()


def _in_window(rec: LogLine, since: float | None, until: float | None) -> bool:
    if since is None and until is None:
        return True
    ts = parse_time(rec.time)
    return (since is None or ts >= since) and (until is None or ts <= until)


def _rotated(path: Path, f) -> bool:
    """conmon replaces the file when it reaches --log-size-max: a new inode or a shorter file."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_ino != os.fstat(f.fileno()).st_ino or st.st_size < f.tell()
