"""A Redis client in a few lines (RESP2 over a socket), so the tests need no redis-cli on the host."""

from __future__ import annotations

import socket


class RedisError(Exception):
    """An error reply (``-ERR ...``, ``-NOAUTH ...``)."""


class Redis:
    def __init__(self, host: str, port: int, timeout: float = 5.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def __enter__(self) -> Redis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.reader.close()
        self.sock.close()

    def __call__(self, *args: str) -> str | int | list | None:
        """Send one command; return its reply (an error reply raises :class:`RedisError`)."""
        out = [f"*{len(args)}\r\n".encode()]
        for arg in args:
            data = arg.encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(out))
        return self._reply()

    def _reply(self) -> str | int | list | None:
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError(f"connection closed mid-reply: {line!r}")
        kind, body = line[:1], line[1:-2].decode()
        if kind == b"+":
            return body
        if kind == b"-":
            raise RedisError(body)
        if kind == b":":
            return int(body)
        if kind == b"$":
            if body == "-1":
                return None
            data = self.reader.read(int(body) + 2)
            return data[:-2].decode()
        if kind == b"*":
            return None if body == "-1" else [self._reply() for _ in range(int(body))]
        raise ConnectionError(f"not a RESP reply: {line!r}")
