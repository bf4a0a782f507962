"""Turning transport failures and registry error bodies into short causes.

No requests import here: exceptions are inspected by walking their chain, so
this module is cheap to import.
"""

from __future__ import annotations

import json

from berth.errors import NotFound, RegistryError


class BlobUnknown(RegistryError, NotFound):
    """The registry answered 404 for a blob."""


def describe_exception(exc: BaseException) -> str:
    """One short cause for a connection failure: ``connection refused``, ``TLS ...``."""
    import socket
    import ssl

    for e in _chain(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            reason = e.verify_message or e.reason or "verification failed"
            return f"TLS certificate verification failed: {reason}"
        if isinstance(e, ssl.SSLError):
            return f"TLS handshake failed: {e.reason or e}"
        if isinstance(e, ConnectionRefusedError):
            return "connection refused"
        if isinstance(e, socket.gaierror):
            return f"cannot resolve host name: {e.strerror or e}"
        if isinstance(e, ConnectionResetError):
            return "connection reset by peer"
        if isinstance(e, TimeoutError):
            return "timed out"
    # urllib3 wraps a lot as text only; look for well-known words
    text = str(exc)
    lowered = text.lower()
    for needle, cause in (
        ("connection refused", "connection refused"),
        ("certificate verify failed", "TLS certificate verification failed"),
        ("wrong version number", "TLS handshake failed: the server does not speak TLS"),
        ("timed out", "timed out"),
        ("name or service not known", "cannot resolve host name"),
        ("connection reset", "connection reset by peer"),
        ("remotedisconnected", "the server closed the connection"),
        ("connection aborted", "the server closed the connection"),
    ):
        if needle in lowered:
            return cause
    return _one_line(text) or type(exc).__name__


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, its causes/contexts and the ``reason``/args urllib3 hides them in."""
    seen: list[BaseException] = []
    todo: list[BaseException] = [exc]
    while todo and len(seen) < 32:
        e = todo.pop(0)
        if any(e is s for s in seen):
            continue
        seen.append(e)
        for nxt in (getattr(e, "reason", None), e.__cause__, e.__context__, *getattr(e, "args", ())):
            if isinstance(nxt, BaseException):
                todo.append(nxt)
    return seen


def registry_errors(body: bytes) -> tuple[list[str], str]:
    """Error codes and a message from a registry's ``{"errors": [...]}`` body."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return [], ""
    errs = doc.get("errors") if isinstance(doc, dict) else None
    if not isinstance(errs, list):
        return [], ""
    codes: list[str] = []
    messages: list[str] = []
    for err in errs:
        if not isinstance(err, dict):
            continue
        code = str(err.get("code") or "")
        msg = str(err.get("message") or "")
        if code:
            codes.append(code)
        text = f"{code.lower().replace('_', ' ')}: {msg}" if code and msg else (msg or code)
        if text:
            messages.append(_one_line(text))
    return codes, "; ".join(messages)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]
