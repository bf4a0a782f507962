"""A zstd reader that notices truncation, with bounded memory.

zstandard's ``stream_reader`` (and ``read_to_iter``) return a quiet EOF when
the input stops in the middle of a frame, so a cut-off layer download would
extract as a shortened layer. We drive ``decompressobj`` ourselves, one
frame after another, and fail if the input ends inside a frame.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from berth.errors import ArchiveError

#: compressed bytes fed per step. zstd's RLE blocks reach ~32000:1, so this
#: bounds what one step of a "zstd bomb" can put in memory to ~64 MiB.
_FEED = 2048
_READ = 64 * 1024


def open_zstd(src: BinaryIO) -> ZstdReader:
    try:
        import zstandard  # lazy: optional dependency
    except ImportError:
        raise ArchiveError("zstd layers need the 'zstandard' Python module, which is not installed") from None
    return ZstdReader(src, zstandard.ZstdDecompressor())


class ZstdReader:
    def __init__(self, src: BinaryIO, dctx: Any) -> None:
        self._src = src
        self._dctx = dctx
        self._frame: Any = None  # decompressobj of the frame in progress
        self._in = b""
        self._in_pos = 0
        self._out = b""
        self._out_pos = 0

    def read(self, size: int = -1) -> bytes:
        while self._out_pos >= len(self._out):
            if not self._step():
                return b""
        end = len(self._out) if size < 0 else self._out_pos + size
        chunk = self._out[self._out_pos:end]
        self._out_pos += len(chunk)
        return chunk

    def _step(self) -> bool:
        """Decode the next piece of input into ``_out``; False at a clean end."""
        if self._in_pos >= len(self._in):
            self._in, self._in_pos = self._src.read(_READ), 0
            if not self._in:
                if self._frame is not None:
                    raise EOFError("zstd stream ends in the middle of a frame")
                return False
        if self._frame is None:
            self._frame = self._dctx.decompressobj()
        data = self._in[self._in_pos:self._in_pos + _FEED]
        self._in_pos += len(data)
        self._out, self._out_pos = self._frame.decompress(data), 0
        if self._frame.eof:
            # Frames may be concatenated: what follows this one starts a new frame.
            self._in = self._frame.unused_data + self._in[self._in_pos:]
            self._in_pos = 0
            self._frame = None
        return True
