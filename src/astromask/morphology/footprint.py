"""Footprints (structuring elements) for growing and shrinking masks.

A footprint is a plain boolean array whose centre element is at index
``shape // 2`` (the :mod:`scipy.ndimage` convention), built by small named
constructors: :func:`box`, :func:`diamond` and :func:`disk`. Sizes are in
pixels, or angles (an :class:`astropy.units.Quantity` or a string such as
``"10arcsec"``) converted with the WCS pixel scale of each axis.

Rounding rule for angles: an offset ``(dx, dy)`` belongs to the footprint when
its centre lies inside the shape measured on the sky, with each axis scaled by
its own pixel scale (boundaries included, to a relative tolerance of 1e-9):
``(dx·sx)² + (dy·sy)² <= r²`` for a disk, ``|dx|·sx + |dy|·sy <= r`` for a
diamond, ``|dx|·sx <= w/2`` and ``|dy|·sy <= h/2`` for a box. A disk of 10″ on
pixels of 2″ × 4″ is therefore an ellipse 11 pixels wide and 5 high. (gammapy
instead rounds the width up to an odd number of pixels from the first axis'
scale only; see ``docs/morphology.md``.)
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.wcs import WCS

from ..core.units import parse_size, pixel_scales
from ..errors import ParameterError

__all__ = ["FOOTPRINTS", "box", "diamond", "disk", "make_footprint", "parse_size", "pixel_scales"]

FOOTPRINTS = ("disk", "box", "diamond")

# Offsets exactly on the boundary are inside; angles converted to pixels carry round-off.
_TOLERANCE = 1e-9


def _in_pixels(size, wcs: WCS | None, name: str) -> tuple[float, float]:
    """A size as pixel lengths along (x, y): the same number twice, or an angle over each axis' scale."""
    size = parse_size(size, name)
    if isinstance(size, u.Quantity):
        sx, sy = pixel_scales(wcs)
        deg = size.to_value(u.deg)
        return deg / sx, deg / sy
    return size, size


def _offsets(rx: float, ry: float, limit: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer offset grids (dy, dx) covering half-widths rx, ry (at most ``limit = (ny, nx)``)."""
    nx = int(np.floor(min(rx * (1 + _TOLERANCE), 2**62)))
    ny = int(np.floor(min(ry * (1 + _TOLERANCE), 2**62)))
    if limit is not None:
        ny, nx = min(ny, int(limit[0])), min(nx, int(limit[1]))
    return np.ogrid[-ny : ny + 1, -nx : nx + 1]


def disk(radius, *, wcs: WCS | None = None, limit: tuple[int, int] | None = None) -> np.ndarray:
    """Offsets with ``dx² + dy² <= r²`` (exact Euclidean disk; an ellipse in pixels for angles on unequal scales).

    >>> disk(1).astype(int)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    >>> int(disk(2).sum()), int(disk(32).sum())
    (13, 3209)
    """
    rx, ry = _in_pixels(radius, wcs, "radius")
    dy, dx = _offsets(rx, ry, limit)
    if rx == 0 or ry == 0:
        return np.ones((dy.size, dx.size), dtype=bool)
    return (dx / rx) ** 2 + (dy / ry) ** 2 <= 1 + _TOLERANCE


def diamond(radius, *, wcs: WCS | None = None, limit: tuple[int, int] | None = None) -> np.ndarray:
    """Offsets with ``|dx| + |dy| <= r`` (KBMOD's growth footprint).

    >>> int(diamond(2).sum()), diamond(2)[0].astype(int).tolist()
    (13, [0, 0, 1, 0, 0])
    """
    rx, ry = _in_pixels(radius, wcs, "radius")
    dy, dx = _offsets(rx, ry, limit)
    if rx == 0 or ry == 0:
        return np.ones((dy.size, dx.size), dtype=bool)
    return np.abs(dx) / rx + np.abs(dy) / ry <= 1 + _TOLERANCE


def box(width, height=None, *, wcs: WCS | None = None, limit: tuple[int, int] | None = None) -> np.ndarray:
    """A ``height`` × ``width`` rectangle (``height`` defaults to ``width``).

    Pixel widths are whole numbers of pixels; an even width is centred as in
    :mod:`scipy.ndimage` (offsets ``-w//2 .. w - 1 - w//2``). An angular width
    keeps the offsets whose centres lie within ``w/2`` of the centre, so it is
    always odd.

    >>> box(3).shape, box(5, 1).shape
    ((3, 3), (1, 5))
    """
    height = width if height is None else height
    sizes = []
    for value, axis, name in ((width, 0, "width"), (height, 1, "height")):
        size = parse_size(value, name)
        if isinstance(size, u.Quantity):
            scale = pixel_scales(wcs)[axis]
            half = int(np.floor(size.to_value(u.deg) / 2 / scale * (1 + _TOLERANCE)))
            sizes.append(2 * half + 1)
        else:
            if size != int(size) or size < 1:
                raise ParameterError(f"box {name} in pixels must be a whole number >= 1, got {value!r}")
            sizes.append(int(min(size, 2**62)))
    if limit is not None:  # wider than twice the image reaches nothing more
        sizes = [min(size, 2 * int(lim) + 1) for size, lim in zip(sizes, (limit[1], limit[0]))]
    return np.ones((sizes[1], sizes[0]), dtype=bool)


def make_footprint(
    footprint="disk", radius=None, *, width=None, wcs: WCS | None = None, limit: tuple[int, int] | None = None
) -> np.ndarray:
    """The footprint named ``footprint`` of the given ``radius`` (or box ``width``), or a user array.

    Parameters
    ----------
    footprint : {'disk', 'box', 'diamond'} or array_like
        Shape, or a 2-D array of any truthy values (centre at ``shape // 2``).
    radius : float, Quantity or str
        Disk/diamond radius, or box half-width (a box of radius r is
        ``2r+1`` wide): pixels or an angle.
    width : size or (size, size), optional
        Box width, or (width, height), instead of ``radius``.
    wcs : astropy.wcs.WCS, optional
        Needed for angular sizes.
    limit : (ny, nx), optional
        The shape of the image the footprint is for: offsets beyond it reach nothing, so the
        footprint is cut to ``[-ny, ny] x [-nx, nx]`` (a radius of 100000 on a 1040 x 1392
        image is the same operation as one of 1392, without 300 GB of footprint).

    >>> make_footprint("box", 1).shape, make_footprint("box", width=(5, 3)).shape
    ((3, 3), (3, 5))
    """
    if not isinstance(footprint, str):
        array = np.asarray(footprint)
        if array.ndim != 2 or array.size == 0:
            raise ParameterError(f"footprint array must be 2-D and non-empty, got shape {array.shape}")
        if radius is not None or width is not None:
            raise ParameterError("give either a footprint array or a radius/width, not both")
        return array.astype(bool)
    kind = footprint.lower()
    if kind not in FOOTPRINTS:
        raise ParameterError(f"footprint must be one of {FOOTPRINTS} or an array, got {footprint!r}")
    if width is not None:
        if kind != "box":
            raise ParameterError(f"width applies to the box footprint; use radius for {kind!r}")
        if radius is not None:
            raise ParameterError("give radius or width, not both")
        w, h = (width, None) if isinstance(width, (str, int, float, u.Quantity)) else tuple(width)
        return box(w, h, wcs=wcs, limit=limit)
    if radius is None:
        raise ParameterError(f"the {kind} footprint needs a radius")
    if kind == "box":
        rx, ry = _in_pixels(radius, wcs, "radius")
        dy, dx = _offsets(rx, ry, limit)
        return np.ones((dy.size, dx.size), dtype=bool)
    return (disk if kind == "disk" else diamond)(radius, wcs=wcs, limit=limit)
