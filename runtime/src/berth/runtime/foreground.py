"""What a foreground client (``run``, ``start -a``, ``attach``, ``exec``) sets up around its container:
detach keys and the signal proxy. Apart from ``berth.runtime.attach`` (sockets, terminals, threads),
which a foreground ``run`` without ``-i``/``-t`` does not need.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

DETACH_KEYS = b"\x10\x11"  # ctrl-p ctrl-q
#: what ``--sig-proxy`` forwards (Docker forwards every signal but SIGCHLD, SIGPIPE, SIGURG, SIGWINCH;
#: these are the ones a terminal user or a supervisor sends)
PROXIED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def parse_detach_keys(text: str, flag: str = "--detach-keys") -> bytes:
    """Docker's notation: comma-separated keys, each a single character or ``ctrl-<x>`` with x one of
    ``a``-``z``, ``@``, ``[``, ``\\``, ``]``, ``^``, ``_`` (``ctrl-p,ctrl-q`` is the default)."""
    from berth.containers.values import invalid

    if not text.strip():
        raise invalid(flag, text, "expected keys such as ctrl-p,ctrl-q")
    out = bytearray()
    for key in text.split(","):
        low = key.lower()
        if len(key) == 1 and key.isascii():
            out.append(ord(key))
        elif low.startswith("ctrl-") and len(low) == 6 and low[5] in "abcdefghijklmnopqrstuvwxyz@[\\]^_":
            out.append(ord(low[5].upper()) & 0x1F)  # ctrl-a = 1 ... ctrl-z = 26, ctrl-@ = 0, ctrl-_ = 31
        else:
            raise invalid(flag, text, f"unknown key {key!r}: use a character or ctrl-<value> with <value> "
                                      f"one of a-z, @, [, \\, ], ^, _")
    return bytes(out)


@contextlib.contextmanager
def proxy_signals(send: Callable[[int], None], enabled: bool = True) -> Iterator[None]:
    """``--sig-proxy``: while the block runs, forward ``PROXIED_SIGNALS`` the process receives to
    ``send(signum)`` (a failure to deliver is ignored: the container may have just exited) instead of
    acting on them. Main thread only (elsewhere, and when not ``enabled``, a no-op)."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(Exception):
            send(signum)

    old = {sig: signal.signal(sig, forward) for sig in PROXIED_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
