"""Compiled inner loop of mask filters: physical points to mask pixels, one pass, no temporaries."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["gather_points"]


@numba.njit(nogil=True, cache=True)
def _gather(values, x, y, a, b, c, d, e, f, want, out):  # pragma: no cover - compiled
    ny, nx = values.shape
    hi_x = nx + 0.5
    hi_y = ny + 0.5
    for k in range(x.shape[0]):
        xk = x[k]
        yk = y[k]
        lx = a * xk + b * yk + e
        ly = c * xk + d * yk + f
        if lx >= 0.5 and lx < hi_x and ly >= 0.5 and ly < hi_y:
            out[k] = values[int(ly - 0.5), int(lx - 0.5)] == want
        else:  # outside the mask image, or NaN
            out[k] = False


def gather_points(values: np.ndarray, x: np.ndarray, y: np.ndarray, ltm, ltv, want: int) -> np.ndarray:
    """For each physical point, whether it falls on a mask pixel of value ``want``.

    Logical ``(lx, ly) = ltm @ (x, y) + ltv``; the pixel of logical centre
    ``(i, j)`` (1-based) covers ``i - 0.5 <= lx < i + 0.5``. Points outside the
    image (and NaN) give False whatever ``want`` is.

    Parameters
    ----------
    values : ndarray of uint8, shape (ny, nx)
        The mask, 0 and 1.
    x, y : 1-D float64 arrays
    ltm, ltv : the physical to logical transform (2x2, 2)
    want : {0, 1}
        1: points on included pixels; 0: points on excluded pixels inside the mask.
    """
    out = np.empty(x.shape[0], dtype=np.bool_)
    (a, b), (c, d) = ltm
    _gather(values, x, y, float(a), float(b), float(c), float(d), float(ltv[0]), float(ltv[1]), np.uint8(want), out)
    return out
