"""A minimal PNG encoder (8-bit grey or RGBA), so the HTML report needs no imaging library."""

from __future__ import annotations

import struct
import zlib

import numpy as np

from ..errors import ParameterError, ParameterTypeError

__all__ = ["encode_png"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> PNG colour type: grey, RGB, RGBA


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def encode_png(pixels: np.ndarray, *, level: int = 6) -> bytes:
    """PNG bytes of an 8-bit image; row 0 is the top row of the picture.

    Parameters
    ----------
    pixels : array of uint8, shape (H, W), (H, W, 3) or (H, W, 4)
        Grey, RGB or RGBA values.
    level : int
        zlib compression level (0-9).

    Returns
    -------
    bytes
        A complete PNG file (no interlacing; every row uses filter 0).

    Examples
    --------
    >>> encode_png(np.zeros((2, 3), np.uint8))[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
    True
    """
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        raise ParameterTypeError(f"PNG pixels must be uint8, got {pixels.dtype}")
    channels = 1 if pixels.ndim == 2 else pixels.shape[-1] if pixels.ndim == 3 else 0
    if channels not in _COLOUR_TYPES or 0 in pixels.shape[:2]:
        raise ParameterError(f"PNG pixels must have shape (H, W), (H, W, 3) or (H, W, 4), got {pixels.shape}")
    height, width = pixels.shape[:2]
    rows = np.ascontiguousarray(pixels).reshape(height, width * channels)
    raw = np.hstack([np.zeros((height, 1), np.uint8), rows]).tobytes()  # filter byte 0 before each row
    header = struct.pack(">IIBBBBB", width, height, 8, _COLOUR_TYPES[channels], 0, 0, 0)
    return _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, level)) + _chunk(b"IEND", b"")
