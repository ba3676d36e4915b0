"""Grow, shrink, open and close masks: boolean masks and every plane of a bit-plane mask at once.

Each plane of an integer mask is treated as if it were alone: growing is a
bitwise OR over the footprint, shrinking a bitwise AND, so one pass handles
all planes (see :mod:`astromask.morphology._kernels`).

Edges: nothing wraps around. For growing, pixels outside the image are clear.
For shrinking, pixels outside the image count as **set** by default
(``outside="set"``): a mask that fills the image stays full, and a closing
(grow then shrink) never loses a pixel. ``outside="clear"`` is
:func:`scipy.ndimage.binary_erosion`'s default (``border_value=0``): shrinking
then also eats in from the image edges.

``iterations=N`` repeats the operation N times, as CIAO ``dmimgfilt``'s
``numiter`` and scipy's ``iterations`` do; ``open``/``close`` shrink (grow) N
times and then grow (shrink) N times.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from ..core.mask import Mask, as_unsigned
from ..core.masked_image import MaskedImage
from ..errors import ParameterError
from . import _kernels as kernels
from . import _packed
from .footprint import make_footprint

__all__ = ["boundary", "close", "grow", "open", "shrink"]

OUTSIDE = ("set", "clear")


@dataclass(frozen=True)
class _Offsets:
    """A footprint as the offsets (dy, dx) of its set elements from the centre ``shape // 2``."""

    dy: np.ndarray
    dx: np.ndarray

    @classmethod
    def from_array(cls, footprint: np.ndarray) -> _Offsets:
        iy, ix = np.nonzero(footprint)
        cy, cx = footprint.shape[0] // 2, footprint.shape[1] // 2
        return cls((iy - cy).astype(np.int64), (ix - cx).astype(np.int64))

    def reflected(self) -> _Offsets:
        return _Offsets(-self.dy, -self.dx)

    @property
    def extent(self) -> tuple[int, int, int, int]:
        return int(self.dy.min()), int(self.dy.max()), int(self.dx.min()), int(self.dx.max())

    def is_rectangle(self) -> bool:
        y0, y1, x0, x1 = self.extent
        return self.dy.size == (y1 - y0 + 1) * (x1 - x0 + 1)

    def diamond_radius(self) -> int | None:
        """r if the offsets are exactly ``|dx| + |dy| <= r``, else None."""
        y0, y1, x0, x1 = self.extent
        r = y1
        if (y0, x0, x1) != (-r, -r, r) or self.dy.size != 2 * r * r + 2 * r + 1:
            return None
        return r if bool(np.all(np.abs(self.dx) + np.abs(self.dy) <= r)) else None

    def runs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Horizontal runs (dy, first dx, last dx), sorted by length."""
        order = np.lexsort((self.dx, self.dy))
        dy, dx = self.dy[order], self.dx[order]
        breaks = np.flatnonzero((np.diff(dy) != 0) | (np.diff(dx) != 1)) + 1
        starts = np.concatenate(([0], breaks))
        ends = np.concatenate((breaks, [dy.size])) - 1
        run_dy, run_f0, run_f1 = dy[starts], dx[starts], dx[ends]
        by_length = np.argsort(run_f1 - run_f0, kind="stable")
        return run_dy[by_length], run_f0[by_length], run_f1[by_length]


def _threads() -> int:
    """Parallel bands: ``NUMBA_NUM_THREADS`` when set, else one per core (the result never depends on it)."""
    from numba import config

    return max(1, int(config.NUMBA_NUM_THREADS))


def _in_bands(kernel, n: int, *args, step: int = 1) -> None:
    """Run ``kernel(*args, lo, hi)`` over ``range(n)`` cut into one band per core (multiples of ``step``).

    The kernels release the GIL, so the bands run in parallel threads.
    """
    size = -(-n // _threads())
    size = -(-size // step) * step
    bands = [(lo, min(n, lo + size)) for lo in range(0, n, size)]
    if len(bands) == 1:
        kernel(*args, *bands[0])
        return
    with ThreadPoolExecutor(len(bands)) as pool:
        for future in [pool.submit(kernel, *args, lo, hi) for lo, hi in bands]:
            future.result()


def _dilate_rectangle(array: np.ndarray, offsets: _Offsets) -> np.ndarray:
    y0, y1, x0, x1 = offsets.extent
    rows = np.empty_like(array)
    _in_bands(kernels.dilate_rows, array.shape[0], array, rows, -x1, x1 - x0 + 1)
    out = np.empty_like(array)
    _in_bands(kernels.dilate_lines, array.shape[1], rows, out, -y1, y1 - y0 + 1, 0, 0, False, step=kernels.STRIP)
    return out


def _dilate_diamond(array: np.ndarray, r: int) -> np.ndarray:
    """A diamond is two interleaved lattices of diagonal segment sums; each is two diagonal passes.

    Offsets with ``dx + dy`` of parity p are ``(u0 + i + j, i - j)`` for
    ``0 <= i, j < n``, where ``u0`` is the first value of parity p in ``[-r, r]``.
    The first pass writes past the bottom-right edge (by ``n - 1``), where
    the second pass, going back up-right, still finds it.
    """
    ny, nx = array.shape
    out = np.empty_like(array)
    scratch = np.empty((ny + r) * (nx + r), dtype=array.dtype)
    for parity in (0, 1):
        u0 = -r if (r - parity) % 2 == 0 else -r + 1
        n = (r - u0) // 2 + 1
        diagonal = scratch[: (ny + n - 1) * (nx + n - 1)].reshape(ny + n - 1, nx + n - 1)
        _in_bands(
            kernels.dilate_lines, diagonal.shape[1], array, diagonal, -(n - 1), n, 1, 0, False, step=kernels.STRIP
        )  # offsets i·(1, 1)
        _in_bands(
            kernels.dilate_lines, nx, diagonal, out, 0, n, -1, -u0, parity == 1, step=kernels.STRIP
        )  # offsets (u0, 0) + j·(1, -1)
    return out


def _dilate_runs(array: np.ndarray, offsets: _Offsets) -> np.ndarray:
    out = np.empty_like(array)
    run_dy, run_f0, run_f1 = offsets.runs()
    _in_bands(kernels.dilate_runs, array.shape[0], array, out, run_dy, run_f0, run_f1)
    return out


def _dilate_once(array: np.ndarray, offsets: _Offsets) -> np.ndarray:
    """One dilation of an unsigned 2-D array, choosing the cheapest exact kernel."""
    if offsets.dy.size == 0:
        return np.zeros_like(array)
    if offsets.is_rectangle():
        return _dilate_rectangle(array, offsets)
    y0, y1, x0, x1 = offsets.extent
    r = offsets.diamond_radius()
    if r is not None and r <= _packed.PACKED_MAX_RADIUS and array.dtype == np.uint8 and int(array.max()) <= 1:
        return _packed.grow_diamond(array.view(bool), r).view(np.uint8)  # a 0/1 mask: 64 pixels a word
    runs_cost = (x1 - x0 + 1) + (y1 - y0 + 1)  # ORs per pixel of dilate_runs
    if r is not None and runs_cost > 24:  # the diagonal passes cost about as much as 24 ORs
        return _dilate_diamond(array, r)
    return _dilate_runs(array, offsets)


def _power(offsets: _Offsets, n: int, shape: tuple[int, int]) -> tuple[_Offsets, int]:
    """``n`` dilations as one where the footprint composes exactly (rectangles, diamonds), cut to what
    can reach within an image of ``shape``."""
    ny, nx = shape
    if n > 1 and offsets.dy.size and offsets.is_rectangle():
        y0, y1, x0, x1 = offsets.extent
        y0, y1, x0, x1 = max(n * y0, -ny), min(n * y1, ny), max(n * x0, -nx), min(n * x1, nx)
        gy, gx = np.mgrid[y0 : y1 + 1, x0 : x1 + 1]
        return _Offsets(gy.ravel(), gx.ravel()), 1
    r = offsets.diamond_radius() if offsets.dy.size else None
    if n > 1 and r is not None:
        big = n * r
        gy, gx = np.mgrid[-min(big, ny) : min(big, ny) + 1, -min(big, nx) : min(big, nx) + 1]
        keep = np.abs(gy) + np.abs(gx) <= big
        return _Offsets(gy[keep], gx[keep]), 1
    return offsets, n


def _dilate(array: np.ndarray, offsets: _Offsets, iterations: int) -> np.ndarray:
    offsets, n = _power(offsets, iterations, array.shape)
    for _ in range(n):
        grown = _dilate_once(array, offsets)
        if n > 1 and np.array_equal(grown, array):  # a fixed point: more iterations change nothing
            return grown
        array = grown
    return array


def _erode(array: np.ndarray, offsets: _Offsets, iterations: int, outside: str) -> np.ndarray:
    """AND over ``q + f`` for f in the footprint: the complement of dilating the complement by -f."""
    offsets, n = _power(offsets, iterations, array.shape)
    reflected = offsets.reflected()
    for _ in range(n):
        previous = array
        array = _dilate_once(~array, reflected)
        np.invert(array, out=array)
        if outside == "clear" and offsets.dy.size:
            y0, y1, x0, x1 = offsets.extent
            ny, nx = array.shape
            array[: max(0, -y0)] = 0
            array[max(0, ny - max(0, y1)) :] = 0
            array[:, : max(0, -x0)] = 0
            array[:, max(0, nx - max(0, x1)) :] = 0
        if n > 1 and np.array_equal(array, previous):  # a fixed point
            break
    return array


# -- the public operations ------------------------------------------------------------------------


def _prepare(mask, planes):
    """(unsigned 2-D array, bits to operate on, function turning a result array back into mask's type)."""
    if isinstance(mask, MaskedImage):
        array, bits, back = _prepare(mask.mask, planes)

        def rebuild(result):
            return MaskedImage(
                mask.image,
                mask=back(result),
                variance=mask.variance,
                unit=mask.unit,
                wcs=mask.wcs,
                xy0=mask.xy0,
                metadata=mask.metadata,
            )

        return array, bits, rebuild
    if isinstance(mask, Mask):
        bits = mask.schema.flags(planes)
        return mask.array, bits, lambda result: Mask(result, mask.schema, copy=False)
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ParameterError(f"mask must be 2-D, got shape {array.shape}")
    if array.dtype == bool:
        if planes is not None:
            raise ParameterError("planes= applies to integer bit-plane masks, not boolean masks")
        return array.view(np.uint8), 0xFF, lambda result: result.view(bool)  # bytes stay 0/1
    unsigned = np.ascontiguousarray(as_unsigned(array))
    all_bits = int(np.iinfo(unsigned.dtype).max)
    bits = all_bits if planes is None else int(planes)
    if not 0 <= bits <= all_bits:
        raise ParameterError(f"planes must be a bit mask within {unsigned.dtype}, got {planes!r}")
    return unsigned, bits, lambda result: result.view(array.dtype) if array.dtype.kind == "i" else result


def _shape_of(mask) -> tuple[int, int]:
    return tuple(mask.shape) if isinstance(mask, (Mask, MaskedImage)) else np.shape(mask)  # type: ignore[return-value]


def _resolve(mask, radius, footprint, width, wcs) -> _Offsets:
    """The footprint's offsets, cut to what can reach within the image (exactly the same result)."""
    if wcs is None and isinstance(mask, MaskedImage):
        wcs = mask.wcs
    shape = _shape_of(mask)
    limit = (shape[0], shape[1]) if len(shape) == 2 else None
    return _Offsets.from_array(make_footprint(footprint, radius, width=width, wcs=wcs, limit=limit))


def _check(iterations: int, outside: str) -> None:
    if not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise ParameterError(f"iterations must be an integer >= 1, got {iterations!r}")
    if outside not in OUTSIDE:
        raise ParameterError(f"outside must be one of {OUTSIDE}, got {outside!r}")


def _apply(mask, planes, steps):
    array, bits, back = _prepare(mask, planes)
    array = np.ascontiguousarray(array)
    full = int(np.iinfo(array.dtype).max)
    selected = array & array.dtype.type(bits) if bits != full else array
    for step in steps:
        selected = step(selected)
    if bits != full:  # put the other planes back, a block of rows at a time to bound the memory
        keep = array.dtype.type(~bits & full)
        for y in range(0, array.shape[0], 256):
            block = selected[y : y + 256]
            block &= array.dtype.type(bits)
            block |= array[y : y + 256] & keep
    return back(selected)


def grow(mask, radius=None, *, footprint="disk", width=None, planes=None, iterations: int = 1, wcs=None):
    """Grow (dilate) a mask: each set pixel spreads over the footprint centred on it.

    Parameters
    ----------
    mask : bool array, integer array, Mask or MaskedImage
        Boolean masks give boolean results; integer arrays and masks are
        grown plane by plane (bitwise), all planes in one pass.
    radius : float, Quantity or str
        Footprint radius in pixels or as an angle (``"10arcsec"``); a box of
        radius r is 2r+1 pixels wide.
    footprint : {'disk', 'box', 'diamond'} or array_like
        Shape, or a user array (centre at ``shape // 2`` as in scipy).
    width : size or (size, size), optional
        Box width (and height) instead of a radius.
    planes : plane names, flag expression or int, optional
        Planes to grow (default all); other planes are returned unchanged.
    iterations : int
        Number of times to grow (CIAO ``numiter``).
    wcs : astropy.wcs.WCS, optional
        For angular sizes (a MaskedImage's own WCS is used by default).

    Examples
    --------
    >>> m = np.zeros((5, 5), bool); m[2, 2] = True
    >>> grow(m, 1, footprint="diamond").astype(int)[1:4, 1:4]
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    """
    _check(iterations, "set")
    offsets = _resolve(mask, radius, footprint, width, wcs)
    return _apply(mask, planes, [lambda a: _dilate(a, offsets, iterations)])


def shrink(
    mask, radius=None, *, footprint="disk", width=None, planes=None, iterations: int = 1, wcs=None, outside: str = "set"
):
    """Shrink (erode) a mask: a pixel stays set only if the whole footprint on it is set.

    Parameters are those of :func:`grow`, plus ``outside``: ``'set'`` (default)
    or ``'clear'``, what pixels beyond the image edge count as.

    Examples
    --------
    >>> m = np.ones((4, 4), bool)
    >>> int(shrink(m, 1, footprint="box").sum()), int(shrink(m, 1, footprint="box", outside="clear").sum())
    (16, 4)
    """
    _check(iterations, outside)
    offsets = _resolve(mask, radius, footprint, width, wcs)
    return _apply(mask, planes, [lambda a: _erode(a, offsets, iterations, outside)])


def open(
    mask, radius=None, *, footprint="disk", width=None, planes=None, iterations: int = 1, wcs=None, outside: str = "set"
):
    """Opening: shrink then grow, removing features smaller than the footprint (see :func:`grow`)."""
    _check(iterations, outside)
    offsets = _resolve(mask, radius, footprint, width, wcs)
    return _apply(
        mask, planes, [lambda a: _erode(a, offsets, iterations, outside), lambda a: _dilate(a, offsets, iterations)]
    )


def close(
    mask, radius=None, *, footprint="disk", width=None, planes=None, iterations: int = 1, wcs=None, outside: str = "set"
):
    """Closing: grow then shrink, filling gaps smaller than the footprint (see :func:`grow`)."""
    _check(iterations, outside)
    offsets = _resolve(mask, radius, footprint, width, wcs)
    return _apply(
        mask, planes, [lambda a: _dilate(a, offsets, iterations), lambda a: _erode(a, offsets, iterations, outside)]
    )


def boundary(shape, width, *, wcs=None) -> np.ndarray:
    """The margin of an image within ``width`` of its edges, per axis (True in the margin).

    Parameters
    ----------
    shape : (ny, nx), array, Mask or MaskedImage
        Image shape, or something that has one (a MaskedImage also gives its WCS).
    width : size or (size_x, size_y)
        Margin width: pixels or an angle, converted with each axis' own pixel
        scale. ``(0.3deg, 0.1deg)`` puts the 0.3° margin on the left and right
        (x) edges and 0.1° on the top and bottom. A pixel is in the margin
        when all of it lies within the width of the image edge, so the margin
        is ``floor(width)`` pixels (1e-9 relative tolerance), as gammapy's
        ``boundary_mask`` counts (5.5 px → 5) but without its axis swap.

    Examples
    --------
    >>> boundary((5, 6), (2, 1)).astype(int)
    array([[1, 1, 1, 1, 1, 1],
           [1, 1, 0, 0, 1, 1],
           [1, 1, 0, 0, 1, 1],
           [1, 1, 0, 0, 1, 1],
           [1, 1, 1, 1, 1, 1]])
    """
    from .footprint import _TOLERANCE, _in_pixels

    if isinstance(shape, MaskedImage):
        wcs = shape.wcs if wcs is None else wcs
        shape = shape.shape
    elif isinstance(shape, (Mask, np.ndarray)):
        shape = shape.shape
    ny, nx = (int(n) for n in shape)
    if isinstance(width, (tuple, list)):
        if len(width) != 2:
            raise ParameterError(f"width must be one size or (x, y), got {width!r}")
        wx = _in_pixels(width[0], wcs, "width")[0]
        wy = _in_pixels(width[1], wcs, "width")[1]
    else:
        wx, wy = _in_pixels(width, wcs, "width")
    mx = int(np.floor(wx * (1 + _TOLERANCE)))  # pixel i spans [i, i + 1] from the edge
    my = int(np.floor(wy * (1 + _TOLERANCE)))
    out = np.zeros((ny, nx), dtype=bool)
    out[:my] = out[ny - my :] = True
    out[:, :mx] = out[:, nx - mx :] = True
    return out
