"""Compiled bitwise dilation kernels: every bit plane of an integer mask at once.

Dilating each plane alone is the same as a bitwise OR over the footprint, so one
pass over a ``uint32`` array grows 32 planes. Three kernels:

* :func:`dilate_runs` — any footprint, given as horizontal runs: for each input
  row, sliding-window ORs of growing length (one OR per pixel per length step)
  are scattered into the output rows they reach. Cost ∝ pixels × (widest run +
  number of runs).
* :func:`dilate_rows` — one horizontal run of length ``L`` by the van Herk /
  Gil–Werman algorithm: about four operations per pixel whatever ``L``.
* :func:`dilate_lines` — the same along columns or diagonals (direction
  ``(1, s)``, ``s`` in -1, 0, 1), processed in column strips so that the work
  buffers stay small and rows are read contiguously.

Pixels outside the image read as 0 (no wrap-around). All kernels write ``out``;
``dilate_lines`` may OR into it instead (``accumulate``). Each call handles a
band of output rows or columns and releases the GIL, so that
:mod:`astromask.morphology` runs one band per thread.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["dilate_lines", "dilate_rows", "dilate_runs"]

STRIP = 512  # columns per strip in dilate_lines: buffers of length × STRIP per thread
SHORT = 8  # dilate_rows ORs shifted copies for windows up to this length


@njit(cache=True, nogil=True)
def _or_into(dst, src):  # pragma: no cover - compiled
    """``dst |= src`` (same length)."""
    for i in range(dst.size):
        dst[i] |= src[i]


@njit(cache=True, nogil=True)
def dilate_runs(src, out, run_dy, run_f0, run_f1, y0, y1):  # pragma: no cover - compiled
    """``out[y, x] = OR over runs (dy, f0, f1) of src[y - dy, x - f1 : x - f0 + 1]``.

    Runs must be sorted by length ``f1 - f0 + 1``. Only output rows
    ``y0 .. y1 - 1`` are written (one band per thread), from the input rows
    that reach them.
    """
    ny, nx = src.shape
    nruns = run_dy.size
    dy_min = run_dy.min()
    dy_max = run_dy.max()
    f_lo = min(0, -run_f1.max())  # first input column a window can reach, relative to x = 0
    f_hi = max(0, -run_f0.min())
    width = nx + f_hi - f_lo
    row = np.zeros(width, dtype=src.dtype)  # input row on columns f_lo .. nx - 1 + f_hi
    acc = np.zeros(width, dtype=src.dtype)  # acc[t] = OR row[t : t + length]
    for y in range(y0, y1):
        out[y, :] = 0
    for yin in range(max(0, y0 - dy_max), min(ny, y1 - dy_min)):
        row[-f_lo : -f_lo + nx] = src[yin, :]  # the margins stay 0
        acc[:] = row
        length = 1
        for k in range(nruns):
            need = run_f1[k] - run_f0[k] + 1
            while length < need:
                _or_into(acc[: width - length], row[length:])
                length += 1
            yout = yin + run_dy[k]
            if yout < y0 or yout >= y1:
                continue
            start = -run_f1[k] - f_lo  # acc index for x = 0
            _or_into(out[yout], acc[start : start + nx])


@njit(cache=True, nogil=True)
def dilate_rows(src, out, a, length, y0, y1):  # pragma: no cover - compiled
    """``out[y, x] = OR src[y, x + a : x + a + length]`` (van Herk / Gil–Werman), for rows ``y0 .. y1 - 1``."""
    _ny, nx = src.shape
    nblocks = (nx + length - 1) // length + 1
    n = nblocks * length  # extended row: ext[i] = src[y, a + i], 0 outside
    zero = src.dtype.type(0)
    ext = np.zeros(n, dtype=src.dtype)
    g = np.empty(n, dtype=src.dtype)  # OR from the block start to i
    h = np.empty(n, dtype=src.dtype)  # OR from i to the block end
    lo = max(0, -a)  # ext indices holding image columns
    hi = min(n, nx - a)
    for y in range(y0, y1):
        for i in range(lo, hi):
            ext[i] = src[y, a + i]
        if length <= SHORT:  # a few shifted ORs beat the block scans
            dst = out[y]
            dst[:] = ext[:nx]
            for k in range(1, length):
                _or_into(dst, ext[k : k + nx])
            continue
        for start in range(0, n, length):
            acc = zero
            for i in range(start, start + length):
                acc |= ext[i]
                g[i] = acc
            acc = zero
            for i in range(start + length - 1, start - 1, -1):
                acc |= ext[i]
                h[i] = acc
        for x in range(nx):
            out[y, x] = h[x] | g[x + length - 1]


@njit(cache=True, nogil=True)
def _load(src, yin, c0, row):  # pragma: no cover - compiled
    """``row[j] = src[yin, c0 + j]``, 0 outside ``src``."""
    sy, sx = src.shape
    bw = row.size
    if not 0 <= yin < sy:
        row[:] = 0
        return
    j0 = min(bw, max(0, -c0))
    j1 = max(j0, min(bw, sx - c0))
    row[:j0] = 0
    row[j0:j1] = src[yin, c0 + j0 : c0 + j1]
    row[j1:] = 0


@njit(cache=True, nogil=True)
def _or_shifted(dst, row, prev, s):  # pragma: no cover - compiled
    """``dst[j] = row[j] | prev[j - s]`` (``prev`` read as 0 outside)."""
    bw = row.size
    if s == 0:
        for j in range(bw):
            dst[j] = row[j] | prev[j]
    elif s == 1:
        dst[0] = row[0]
        for j in range(1, bw):
            dst[j] = row[j] | prev[j - 1]
    else:
        for j in range(bw - 1):
            dst[j] = row[j] | prev[j + 1]
        dst[bw - 1] = row[bw - 1]


@njit(cache=True, nogil=True)
def _load_or(src, yin, c0, dst, prev, s, row):  # pragma: no cover - compiled
    """``dst[j] = src[yin, c0 + j] | prev[j - s]``, both read as 0 outside; ``row`` is scratch.

    Rows that lie wholly inside ``src`` (nearly all) are read in place, without
    the copy into ``row``.
    """
    sy, sx = src.shape
    bw = dst.size
    if 0 <= yin < sy and c0 >= 0 and c0 + bw <= sx:
        _or_shifted(dst, src[yin, c0 : c0 + bw], prev, s)
    else:
        _load(src, yin, c0, row)
        _or_shifted(dst, row, prev, s)


@njit(cache=True, nogil=True)
def dilate_lines(src, out, a, length, s, cx, accumulate, xa, xb):  # pragma: no cover - compiled
    """Windows along the direction (dy, dx) = (1, s), s in {-1, 0, 1}:

    ``out[y, x] (|)= OR_k src[y + a + k, x + cx + s (a + k)]`` for ``k < length``.

    Van Herk along each line. The line index ``i`` (input row ``a + i``) is
    cut into blocks of ``length``; the window of output row ``y`` starts at
    ``i = y``, so output block ``b`` needs the suffix ORs ``h`` of block ``b``
    and the prefix ORs ``g`` of block ``b + 1`` only: two small buffers per
    strip of output columns, each input row read twice, rows read
    contiguously. Only output columns ``xa .. xb - 1`` are written. ``out``
    may be larger than ``src`` (read as 0 beyond it), but must not be ``src``.
    """
    ny, _nx = out.shape
    span = abs(s) * (length - 1)
    lo = cx + min(s * a, s * (a + length - 1))  # buffer column 0, relative to the strip start
    nblocks = (ny + length - 1) // length
    for x0 in range(xa, xb, STRIP):
        x1 = min(xb, x0 + STRIP)
        bw = x1 - x0 + span
        c0 = x0 + lo  # image column of buffer column 0
        g = np.empty((length, bw), dtype=src.dtype)
        h = np.empty((length, bw), dtype=src.dtype)
        row = np.empty(bw, dtype=src.dtype)
        j0 = x0 + cx + s * a - c0  # buffer column of the window start of output column x0
        j1 = j0 + s * (length - 1)  # ... and of its end
        w = x1 - x0
        for b in range(nblocks):
            base = b * length
            _load(src, a + base + length - 1, c0, h[length - 1])
            for r in range(length - 2, -1, -1):  # the line from (r, j) continues at (r + 1, j + s)
                _load_or(src, a + base + r, c0, h[r], h[r + 1], -s, row)
            _load(src, a + base + length, c0, g[0])
            for r in range(1, length):
                _load_or(src, a + base + length + r, c0, g[r], g[r - 1], s, row)
            nr = min(length, ny - base)
            dst = out[base, x0:x1]
            if accumulate:
                for k in range(w):
                    dst[k] |= h[0, j0 + k]
            else:
                dst[:] = h[0, j0 : j0 + w]
            for r in range(1, nr):
                dst = out[base + r, x0:x1]
                hr = h[r, j0 : j0 + w]
                gr = g[r - 1, j1 : j1 + w]
                if accumulate:
                    for k in range(w):
                        dst[k] |= hr[k] | gr[k]
                else:
                    for k in range(w):
                        dst[k] = hr[k] | gr[k]
