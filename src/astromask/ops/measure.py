"""Where a mask is set and how much sky it covers.

* :func:`bounds`: the bounding box of the set (non-zero) pixels, CIAO's
  ``bounds(mask(f))``; :func:`logical_bounds` gives it as CIAO's 1-based
  logical pixel numbers.
* :func:`area`: the number of set pixels, or their solid angle from the WCS.
* :func:`pixel_area_map`: the solid angle of every pixel.

Each pixel's solid angle is that of the spherical polygon through its corners
(the pixel edges taken as great-circle arcs): the quadrilateral is split into
two spherical triangles whose areas come from the Van Oosterom & Strackee
(1983) formula ``tan(E/2) = a.(b x c) / (1 + a.b + b.c + c.a)`` on the unit
vectors of the corners. This is exact for projections that map great circles
to straight lines (``TAN``) and otherwise converges as the square of the pixel
size; ``oversample=n`` splits each pixel into ``n x n`` parts. Nothing assumes
the pixel area is constant, so wide fields and distorted (SIP) WCSs are
measured pixel by pixel. Pixels are taken in row blocks to bound memory.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.wcs import WCS

from ..core.masked_image import Box, MaskedImage
from ..errors import ParameterError, ParameterTypeError
from .algebra import to_bool

__all__ = ["area", "bounds", "logical_bounds", "pixel_area_map"]

_BLOCK_CORNERS = 1 << 19  # corner positions computed at a time (about 40 MB of work arrays)


def _set_rows_cols(selected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.flatnonzero(selected.any(axis=1)), np.flatnonzero(selected.any(axis=0))


def bounds(mask, *, flags: object = None) -> Box | None:
    """The smallest box holding every set pixel, or ``None`` for an empty mask.

    Parameters
    ----------
    mask : Mask, MaskedImage, or boolean, integer or float array
        Set pixels as :func:`astromask.ops.algebra.to_bool` reads them (non-zero;
        for floats non-zero and finite).
    flags : flag expression, optional
        For a :class:`Mask` or :class:`MaskedImage`: only these planes.

    Returns
    -------
    Box or None
        Half-open, in absolute pixel coordinates for a :class:`MaskedImage`
        (its ``xy0`` added), in array indices otherwise.

    Examples
    --------
    >>> m = np.zeros((6, 8), dtype=bool); m[2, 3] = m[4, 6] = True
    >>> bounds(m)
    Box(y0=2, y1=5, x0=3, x1=7)
    >>> bounds(np.zeros((2, 2))) is None
    True
    """
    rows, cols = _set_rows_cols(to_bool(mask, flags))
    if rows.size == 0:
        return None
    x0, y0 = mask.xy0 if isinstance(mask, MaskedImage) else (0, 0)
    return Box(y0 + int(rows[0]), y0 + int(rows[-1]) + 1, x0 + int(cols[0]), x0 + int(cols[-1]) + 1)


def logical_bounds(mask, *, flags: object = None) -> tuple[int, int, int, int] | None:
    """CIAO's ``bounds()`` in logical pixels: ``(xmin, ymin, xmax, ymax)``, 1-based, inclusive.

    Logical pixel ``(x, y)`` is array element ``[y - 1, x - 1]`` (the origin
    of a masked image plays no part). The CIAO region
    ``rect(xmin,ymin,xmax,ymax)`` in logical coordinates holds exactly these
    pixels' centres. ``None`` for an empty mask.

    Examples
    --------
    >>> m = np.zeros((6, 8), dtype=bool); m[2, 3] = m[4, 6] = True
    >>> logical_bounds(m)
    (4, 3, 7, 5)
    """
    rows, cols = _set_rows_cols(to_bool(mask, flags))
    if rows.size == 0:
        return None
    return int(cols[0]) + 1, int(rows[0]) + 1, int(cols[-1]) + 1, int(rows[-1]) + 1


def _celestial(wcs) -> WCS:
    if not isinstance(wcs, WCS):
        raise ParameterTypeError(f"wcs must be an astropy.wcs.WCS, got {type(wcs).__name__}")
    if not wcs.has_celestial:
        raise ParameterError("the WCS has no celestial axes; sky areas need longitude and latitude")
    return wcs.celestial if wcs.naxis > 2 else wcs


def _unit_vectors(lon_deg: np.ndarray, lat_deg: np.ndarray) -> np.ndarray:
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)])


def _triangle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Signed solid angle of spherical triangles (Van Oosterom & Strackee 1983); vectors on axis 0.

    The triple product is taken as ``a.((b - a) x (c - a))``: the short edge
    vectors keep its relative precision for tiny (sub-arcsecond) pixels.
    """
    triple = np.einsum("i...,i...->...", a, np.cross(b - a, c - a, axis=0))
    dots = np.einsum("i...,i...->...", a, b) + np.einsum("i...,i...->...", b, c) + np.einsum("i...,i...->...", c, a)
    return 2.0 * np.arctan2(triple, 1.0 + dots)


def _block_areas(wcs: WCS, rows: tuple[int, int], cols: tuple[int, int], oversample: int) -> np.ndarray:
    """Solid angles (sr) of the pixels ``[rows[0]:rows[1], cols[0]:cols[1]]``."""
    n = oversample
    ny, nx = rows[1] - rows[0], cols[1] - cols[0]
    ys = rows[0] - 0.5 + np.arange(ny * n + 1) / n
    xs = cols[0] - 0.5 + np.arange(nx * n + 1) / n
    x, y = np.meshgrid(xs, ys)
    lon, lat = wcs.pixel_to_world_values(x, y)
    v = _unit_vectors(np.asarray(lon), np.asarray(lat))
    a, b, c, d = v[:, :-1, :-1], v[:, :-1, 1:], v[:, 1:, 1:], v[:, 1:, :-1]
    with np.errstate(invalid="ignore"):
        parts = np.abs(_triangle(a, b, c) + _triangle(a, c, d))
    if n > 1:
        parts = parts.reshape(ny, n, nx, n).sum(axis=(1, 3))
    return parts


def _row_blocks(rows: tuple[int, int], ncols: int, oversample: int):
    step = max(1, _BLOCK_CORNERS // ((ncols * oversample + 1) * oversample) - 1)
    for start in range(rows[0], rows[1], step):
        yield start, min(start + step, rows[1])


def _check_oversample(oversample: int) -> int:
    if not isinstance(oversample, (int, np.integer)) or oversample < 1:
        raise ParameterError(f"oversample must be a positive integer, got {oversample!r}")
    return int(oversample)


def pixel_area_map(wcs: WCS, shape: tuple[int, int], *, oversample: int = 1) -> np.ndarray:
    """The solid angle of every pixel, in steradians.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        Celestial WCS of the (0-based) pixel grid; distortions (SIP, TPV) are
        applied.
    shape : (ny, nx)
        The grid.
    oversample : int
        Split each pixel into ``oversample x oversample`` parts (for
        projections whose pixel edges are not great circles, e.g. ``CAR``
        rows of constant latitude).

    Returns
    -------
    ndarray of float64, shape ``shape``
        NaN where a pixel corner falls outside the projection.

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.cdelt = [-1 / 3600, 1 / 3600]
    >>> a = pixel_area_map(w, (3, 3)) * (180 / np.pi * 3600) ** 2
    >>> bool(np.allclose(a, 1.0))
    True
    """
    wcs = _celestial(wcs)
    n = _check_oversample(oversample)
    ny, nx = (int(s) for s in shape)
    out = np.empty((ny, nx))
    for r0, r1 in _row_blocks((0, ny), nx, n):
        out[r0:r1] = _block_areas(wcs, (r0, r1), (0, nx), n)
    return out


def _area_unit(unit) -> u.UnitBase:
    try:
        unit = u.Unit(unit)
    except (ValueError, TypeError):
        raise ParameterError(f"unknown area unit {unit!r}; use pix, sr, deg2, arcmin2 or arcsec2") from None
    if unit in (u.pix, u.pix**2) or unit.physical_type == "solid angle":
        return unit
    raise ParameterError(f"area unit must be pixels or a solid angle (sr, deg2, arcmin2, arcsec2), got {unit}")


def area(mask, wcs: WCS | None = None, *, unit="pix", flags: object = None, oversample: int = 1) -> u.Quantity:
    """The area of a mask's set pixels, in pixels or on the sky.

    Parameters
    ----------
    mask : Mask, MaskedImage, or boolean, integer or float array
        Set pixels as :func:`astromask.ops.algebra.to_bool` reads them.
    wcs : astropy.wcs.WCS, optional
        Needed for sky units; a :class:`MaskedImage`'s own WCS by default.
    unit : str or astropy unit
        ``'pix'`` (the count), or a solid angle: ``'sr'``, ``'deg2'``,
        ``'arcmin2'``, ``'arcsec2'``.
    flags : flag expression, optional
        For a :class:`Mask` or :class:`MaskedImage`: only these planes.
    oversample : int
        See :func:`pixel_area_map`.

    Returns
    -------
    astropy.units.Quantity
        In ``pix2`` or in ``unit``: the sum of each set pixel's own solid angle.

    Raises
    ------
    ValueError
        Sky units without a WCS, or set pixels whose corners fall outside
        the projection.

    Examples
    --------
    >>> m = np.zeros((4, 4), dtype=bool); m[1:3, 1:3] = True
    >>> area(m)
    <Quantity 4. pix2>
    >>> from astropy.wcs import WCS
    >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.cdelt = [-1 / 3600, 1 / 3600]
    >>> round(float(area(m, w, unit="arcsec2").value), 6)
    4.0
    """
    unit = _area_unit(unit)
    selected = to_bool(mask, flags)
    if unit in (u.pix, u.pix**2):
        return u.Quantity(np.count_nonzero(selected), u.pix**2)
    if wcs is None and isinstance(mask, MaskedImage):
        wcs = mask.wcs
    if wcs is None:
        raise ParameterError(f"area in {unit} needs a WCS (give wcs=, or a MaskedImage with one)")
    wcs = _celestial(wcs)
    n = _check_oversample(oversample)
    rows, cols = _set_rows_cols(selected)
    total = 0.0
    if rows.size:
        c0, c1 = int(cols[0]), int(cols[-1]) + 1
        for r0, r1 in _row_blocks((int(rows[0]), int(rows[-1]) + 1), c1 - c0, n):
            inside = selected[r0:r1, c0:c1]
            if not inside.any():
                continue
            values = _block_areas(wcs, (r0, r1), (c0, c1), n)[inside]
            if np.isnan(values).any():
                raise ParameterError(
                    f"{int(np.isnan(values).sum())} set pixels in rows {r0}..{r1 - 1} have corners outside the "
                    "WCS projection; their solid angle is undefined"
                )
            total += float(values.sum())
    return u.Quantity(total, u.sr).to(unit)
