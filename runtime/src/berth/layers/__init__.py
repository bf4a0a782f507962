"""Layer tars: safe extraction into overlay upper dirs, and creation from a tree.

Imports stay light: compression modules other than gzip are loaded only when
a layer uses them.
"""

from __future__ import annotations

from berth.layers.create import compress_layer, gzip_stream, write_layer_tar
from berth.layers.extract import ExtractResult, extract_layer

__all__ = ["ExtractResult", "compress_layer", "extract_layer", "gzip_stream", "write_layer_tar"]
