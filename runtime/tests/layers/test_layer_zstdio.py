"""ZstdReader's frame bookkeeping, with a stand-in decompressor (zstandard may be absent)."""

from __future__ import annotations

import io

import pytest

from berth.layers.zstdio import ZstdReader


class _FakeFrame:
    """Frames are b"F" + one length byte + payload; output is the payload."""

    def __init__(self) -> None:
        self.buf = b""
        self.eof = False
        self.unused_data = b""

    def decompress(self, data: bytes) -> bytes:
        self.buf += data
        if len(self.buf) >= 2 and len(self.buf) >= 2 + self.buf[1]:
            end = 2 + self.buf[1]
            self.eof, self.unused_data = True, self.buf[end:]
            return self.buf[2:end]
        return b""


class _FakeDctx:
    def decompressobj(self) -> _FakeFrame:
        return _FakeFrame()


def _frame(payload: bytes) -> bytes:
    return b"F" + bytes([len(payload)]) + payload


def _read_all(data: bytes, size: int = 7) -> bytes:
    reader = ZstdReader(io.BytesIO(data), _FakeDctx())  # type: ignore[arg-type]
    out = b""
    while chunk := reader.read(size):
        out += chunk
    return out


def test_concatenated_frames() -> None:
    assert _read_all(_frame(b"hello ") + _frame(b"") + _frame(b"world" * 20)) == b"hello " + b"world" * 20


def test_truncated_frame_is_an_error() -> None:
    with pytest.raises(EOFError, match="middle of a frame"):
        _read_all(_frame(b"hello") + _frame(b"world")[:-2])


def test_empty_input() -> None:
    assert _read_all(b"") == b""
