"""The packed diamond: a kernel of :mod:`astromask.morphology` for 0/1 masks and small radii.

A diamond of radius ``r`` (``|dx| + |dy| <= r``) is, row by row, the union over
``dy`` of the row ``y + dy`` grown sideways by ``r - |dy|``. Rows are packed 64
pixels to a word, so growing sideways by one pixel is three shifts and ORs per
word, and the ``r`` sideways steps and the ``2r + 1`` row ORs together cost about
``10 r`` operations per 64 pixels: a few milliseconds for a 2048×4096 exposure at
``r = 10`` (KBMOD's growth). The cost grows with ``r``, so beyond
:data:`PACKED_MAX_RADIUS` morphology's radius-independent diagonal kernel is used.
Both are exact; pixels outside the image are clear.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["PACKED_MAX_RADIUS", "grow_diamond"]

#: Largest radius grown on packed rows; beyond it, morphology's radius-independent kernels are faster.
PACKED_MAX_RADIUS = 32  # measured on 4096 x 2048 (2-core EPYC): 3.2x faster at r = 10, even near 32, slower at 48
_WORD = np.dtype("<u8")  # bit i of word j is pixel 64 j + i (packbits' little bit order)
_ONE, _TOP = np.uint64(1), np.uint64(63)


def _pack(masked: np.ndarray) -> np.ndarray:
    """Rows of ``masked`` as 64-bit words, one spare bit-column of zeros at least to the right."""
    ny, nx = masked.shape
    words = nx // 64 + 1
    packed = np.zeros((ny, 8 * words), dtype=np.uint8)
    packed[:, : -(-nx // 8)] = np.packbits(masked, axis=1, bitorder="little")
    return packed.view(_WORD)


def _widen_rows(rows: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> None:
    """``out`` = ``rows`` grown by one pixel left and right (bits carried across words, not rows)."""
    np.left_shift(rows, _ONE, out=out)
    out[:, 1:] |= rows[:, :-1] >> _TOP
    out |= rows
    np.right_shift(rows, _ONE, out=scratch)
    scratch[:, :-1] |= rows[:, 1:] << _TOP
    out |= scratch


def grow_diamond(masked: np.ndarray, radius: int) -> np.ndarray:
    """``masked`` grown by the diamond ``|dx| + |dy| <= radius``, clipped at the edges.

    The same pixels as ``astromask.morphology.grow(masked, radius,
    footprint="diamond")`` (and KBMOD's ``grow_mask``), on bit-packed rows.

    Parameters
    ----------
    masked : 2-D bool array
    radius : int
        ``>= 0``.

    Returns
    -------
    2-D bool array
        A new array.

    Examples
    --------
    >>> m = np.zeros((5, 5), bool); m[2, 2] = True
    >>> grow_diamond(m, 1).astype(int)[1:4, 1:4]
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    """
    if radius < 0:
        raise ParameterError(f"radius must be >= 0, got {radius}")
    masked = np.asarray(masked, dtype=bool)
    ny, nx = masked.shape
    rows = _pack(masked)  # rows grown sideways by k = radius - |dy| at step k
    wider, scratch = np.empty_like(rows), np.empty_like(rows)
    grown = np.zeros_like(rows)
    for k in range(radius + 1):
        dy = radius - k
        if dy == 0:
            grown |= rows
        elif dy < ny:
            grown[dy:] |= rows[:-dy]
            grown[:-dy] |= rows[dy:]
        if k < radius:
            _widen_rows(rows, wider, scratch)
            rows, wider = wider, rows
    return np.unpackbits(grown.view(np.uint8), axis=1, count=nx, bitorder="little").view(bool)
