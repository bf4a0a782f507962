"""A MySQL/MariaDB client in a few dozen lines (protocol 4.1, mysql_native_password, text queries), so
the tests can log in through a published port without a mysql client on the host. Enough for
``SELECT`` and DDL/DML: no TLS, no prepared statements, no multi-statements."""

from __future__ import annotations

import hashlib
import socket
import struct

# capability flags
LONG_PASSWORD, CONNECT_WITH_DB, PROTOCOL_41, SECURE_CONNECTION, PLUGIN_AUTH = 0x1, 0x8, 0x200, 0x8000, 0x80000
NATIVE = "mysql_native_password"
UTF8MB4 = 45


class MysqlError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def native_token(password: str, scramble: bytes) -> bytes:
    """SHA1(password) XOR SHA1(scramble + SHA1(SHA1(password)))."""
    if not password:
        return b""
    stage1 = hashlib.sha1(password.encode()).digest()
    mask = hashlib.sha1(scramble + hashlib.sha1(stage1).digest()).digest()
    return bytes(a ^ b for a, b in zip(stage1, mask, strict=True))


def _lenenc(data: bytes, pos: int) -> tuple[int | None, int]:
    """A length-encoded integer at ``pos``: (value, next position); 0xfb is NULL (None)."""
    first = data[pos]
    if first < 0xFB:
        return first, pos + 1
    if first == 0xFB:
        return None, pos + 1
    width = {0xFC: 2, 0xFD: 3, 0xFE: 8}[first]
    return int.from_bytes(data[pos + 1 : pos + 1 + width], "little"), pos + 1 + width


class Mysql:
    def __init__(self, host: str, port: int, user: str, password: str, database: str | None = None,
                 timeout: float = 10.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.seq = 0
        try:
            self._login(user, password, database)
        except BaseException:
            self.sock.close()
            raise

    def __enter__(self) -> Mysql:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def query(self, sql: str) -> list[tuple[str | None, ...]]:
        """Run one statement; its rows as text (``[]`` for statements without a result set)."""
        self.seq = 0
        self._send(b"\x03" + sql.encode())
        first = self._recv()
        self._check(first)
        if first[0] == 0x00:
            return []
        columns, _ = _lenenc(first, 0)
        for _ in range(columns or 0):
            self._recv()  # column definitions: names and types are not needed here
        self._recv()  # EOF after the columns
        rows = []
        while True:
            packet = self._recv()
            self._check(packet)
            if packet[0] == 0xFE and len(packet) < 9:
                return rows
            row, pos = [], 0
            for _ in range(columns or 0):
                length, pos = _lenenc(packet, pos)
                row.append(None if length is None else packet[pos : pos + length].decode())
                pos += length or 0
            rows.append(tuple(row))

    def _login(self, user: str, password: str, database: str | None) -> None:
        greeting = self._recv()
        self._check(greeting)
        if greeting[0] != 10:
            raise ConnectionError(f"not a MySQL protocol 10 server: {greeting[:20]!r}")
        pos = greeting.index(b"\0", 1) + 1 + 4  # server version, connection id
        scramble = greeting[pos : pos + 8]
        pos += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10  # filler, caps, charset, status, caps, data length, reserved
        scramble += greeting[pos : pos + 12]
        caps = LONG_PASSWORD | PROTOCOL_41 | SECURE_CONNECTION | PLUGIN_AUTH | (CONNECT_WITH_DB if database else 0)
        token = native_token(password, scramble)
        body = struct.pack("<IIB23x", caps, 1 << 24, UTF8MB4) + user.encode() + b"\0"
        body += bytes([len(token)]) + token
        if database:
            body += database.encode() + b"\0"
        self._send(body + NATIVE.encode() + b"\0")
        reply = self._recv()
        if reply[0] == 0xFE:  # auth switch: the account's plugin differs from the greeting's
            plugin, _, data = reply[1:].partition(b"\0")
            if plugin.decode() != NATIVE:
                raise MysqlError(0, f"unsupported authentication plugin {plugin.decode()}")
            self._send(native_token(password, data.rstrip(b"\0")))
            reply = self._recv()
        self._check(reply)

    def _check(self, packet: bytes) -> None:
        if packet[0] == 0xFF:
            code = int.from_bytes(packet[1:3], "little")
            message = packet[3:].decode(errors="replace")
            raise MysqlError(code, message[6:] if message.startswith("#") else message)

    def _send(self, payload: bytes) -> None:
        self.sock.sendall(len(payload).to_bytes(3, "little") + bytes([self.seq]) + payload)
        self.seq = (self.seq + 1) % 256

    def _recv(self) -> bytes:
        header = self._read(4)
        self.seq = (header[3] + 1) % 256
        return self._read(int.from_bytes(header[:3], "little"))

    def _read(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            buf += chunk
        return buf
