"""Rendering helpers: Docker-style tables, JSON, sizes, ages, progress."""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO


def print_json(obj: Any, out: TextIO = sys.stdout) -> None:
    out.write(json.dumps(obj, indent=4, sort_keys=False) + "\n")


def table(headers: list[str], rows: list[list[str]], out: TextIO = sys.stdout) -> None:
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    for row in [headers, *rows]:
        out.write("   ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() + "\n")


def human_size(n: float) -> str:
    """Docker's units.HumanSize: decimal, 3 significant digits."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.3g}{unit}" if unit != "B" else f"{int(n)}B"
        n /= 1000
    return f"{n}"


def human_age(iso: str) -> str:
    if not iso:
        return "N/A"
    from datetime import UTC, datetime

    try:
        ts = datetime.fromisoformat(iso.replace("Z", "+00:00")[:26] + ("+00:00" if iso.endswith("Z") else ""))
    except ValueError:
        try:
            ts = datetime.fromisoformat(iso.replace("Z", "+00:00"))
        except ValueError:
            return iso
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    secs = max(0, (datetime.now(UTC) - ts).total_seconds())
    for limit, div, unit in ((60, 1, "second"), (3600, 60, "minute"), (86400, 3600, "hour"),
                             (86400 * 14, 86400, "day"), (86400 * 60, 86400 * 7, "week"),
                             (86400 * 730, 86400 * 30, "month")):
        if secs < limit:
            n = int(secs // div)
            if unit == "second" and n < 1:
                return "Less than a second ago"
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    n = int(secs // (86400 * 365))
    return f"{n} years ago"


class ProgressRenderer:
    """Live per-layer lines on a TTY; silence otherwise (scripts and logs stay clean)."""

    def __init__(self, out: TextIO = sys.stderr) -> None:
        self.out = out
        self.tty = out.isatty()
        self.order: list[str] = []
        self.lines: dict[str, str] = {}
        self._last = 0.0

    def __call__(self, ev: Any) -> None:
        if not self.tty:
            return
        text = f"{ev.id}: {ev.status}"
        if ev.total and ev.status in ("Downloading", "Pushing", "Extracting"):
            text += f" {human_size(ev.current)}/{human_size(ev.total)}"
        if ev.id not in self.lines:
            self.order.append(ev.id)
        self.lines[ev.id] = text
        now = time.monotonic()
        if now - self._last > 0.1 or ev.status.endswith("complete") or ev.status in ("Pushed", "Already exists"):
            self._last = now
            self._draw()

    def _draw(self) -> None:
        if getattr(self, "_drawn", 0):
            self.out.write(f"\x1b[{self._drawn}A")
        for key in self.order:
            self.out.write("\x1b[2K" + self.lines[key] + "\n")
        self._drawn = len(self.order)
        self.out.flush()


def ports_text(ports: list[dict[str, Any]]) -> str:
    """``docker ps``'s PORTS column: ``0.0.0.0:8080->80/tcp, 127.0.0.1:5353->53/udp``."""
    out = []
    for p in ports:
        if p.get("PublicPort"):
            out.append(f"{p.get('IP') or '0.0.0.0'}:{p['PublicPort']}->{p['PrivatePort']}/{p['Type']}")
        else:
            out.append(f"{p['PrivatePort']}/{p['Type']}")
    return ", ".join(out)


def each(items: list[str], action: Any) -> int:
    """Docker's multi-target convention: act on each, print it (unless the action returns False),
    report each failure on stderr, exit 1 if any failed."""
    from berth.errors import BerthError

    rc = 0
    for item in items:
        try:
            if action(item) is not False:
                print(item)
        except BerthError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            rc = 1
    return rc
