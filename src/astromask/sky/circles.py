"""Circles on the sky: :func:`sky_circles_mask` marks the pixels whose centre lies within a
given angle of a sky position.

Inclusion rule: a pixel is inside a circle when the **great-circle separation**
between its centre and the circle's centre is at most the radius (``<= r``, with
a relative allowance of 1e-9 so that centres exactly on the circle are inside
whatever the float round-off). gammapy's ``region_mask`` instead converts the
radius to pixels with the scale 1″ north of the centre and keeps ``< r_px``; see
``docs/sky.md`` for the differences.

How it stays fast: the separation is exact only where it has to be. Around each
source the map is approximated to first order (the pixel → tangent-plane
Jacobian, by finite differences of the WCS); the approximation error is measured
on a ring of 12 points just outside the circle. Pixels farther than twice that
error from the circle are decided by the approximation, in a compiled loop over
the source's bounding box; the thin band in between goes through the exact WCS
and separation. Sources where the approximation is poor (large circles on
strongly distorted projections) or undefined (a ring point outside the
projection's domain, e.g. across an all-sky map's longitude seam) are computed
exactly on a stamp bounded by 128 points of the circle, or on the whole map
when the circle holds a pole of the WCS frame.
"""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord, UnitSphericalRepresentation
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_scales, wcs_to_celestial_frame
from numba import njit

from ..errors import ParameterError, ParameterTypeError

__all__ = ["RADIUS_TOLERANCE", "sky_circles_mask"]

# Relative allowance on the radius: pixel centres on the circle in exact arithmetic count as inside.
RADIUS_TOLERANCE = 1e-9
_RING = 12  # samples of the approximation error per source
_MAX_BAND = 0.05  # largest band half-width (fraction of the radius) handled by the approximation
_CHUNK = 1 << 21  # pixels per exact-evaluation batch


# --------------------------------------------------------------------------- circles


def sky_circles_mask(shape: tuple[int, int], wcs: WCS, centers: SkyCoord, radius) -> np.ndarray:
    """Mask the pixels whose centre is within ``radius`` of any of ``centers``.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the map.
    wcs : astropy.wcs.WCS
        Celestial WCS of the map (any projection, SIP distortions included).
    centers : SkyCoord
        Circle centres, in any frame (transformed to the WCS frame by astropy).
    radius : angle or array of angles
        One radius or one per centre (Angle, Quantity, or strings such as
        ``"0.3deg"``).

    Returns
    -------
    numpy.ndarray of bool
        ``True`` where the great-circle separation between the pixel centre and
        some centre is ``<= radius`` (relative allowance 1e-9). Pixels whose
        centre has no sky position are never inside.

    Examples
    --------
    >>> geom = make_geometry((0, 0), npix=3, binsz=2)
    >>> c = SkyCoord([0], [0], unit="deg")
    >>> sky_circles_mask(geom.shape, geom.wcs, c, "2 deg").astype(int)
    array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]])
    """
    shape = (int(shape[0]), int(shape[1]))
    if not isinstance(centers, SkyCoord):
        raise ParameterTypeError(f"centers must be a SkyCoord, got {type(centers).__name__}")
    centers = centers.reshape(-1)
    radii = _radius_array(radius, len(centers))
    mask = np.zeros(shape, dtype=bool)
    if len(centers) == 0 or min(shape) == 0:
        return mask
    celestial = wcs.celestial
    sph = centers.transform_to(wcs_to_celestial_frame(celestial)).represent_as(UnitSphericalRepresentation)
    vectors = _unit_vectors(sph.lon.deg, sph.lat.deg)
    touching = _may_touch(celestial, shape, vectors, radii)
    vectors, radii = vectors[touching], radii[touching]
    x0, y0 = celestial.world_to_pixel_values(sph.lon.deg[touching], sph.lat.deg[touching])
    x0, y0 = np.asarray(x0, float).reshape(-1), np.asarray(y0, float).reshape(-1)
    limits = _chord_limits(radii)

    approx = _LocalApproximation(celestial, x0, y0, vectors, radii)
    _draw_approximate(mask, celestial, approx, vectors, limits)
    _draw_unapproximated(mask, celestial, np.flatnonzero(~approx.usable), vectors, radii, limits)
    return mask


def _radius_array(radius, n: int) -> np.ndarray:
    """Radii in radians, one per centre."""
    try:
        angle = Angle(radius)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise ParameterError(f"radius must be an angle (e.g. '0.3deg') or an array of angles: {exc}") from None
    rad = np.broadcast_to(angle.rad, (n,)).astype(float) if angle.isscalar else np.asarray(angle.rad, float)
    if rad.shape != (n,):
        raise ParameterError(f"radius must be one angle or one per centre ({n}), got {rad.size}")
    if not np.all(np.isfinite(rad)) or np.any(rad < 0):
        raise ParameterError("radii must be finite and non-negative")
    return np.minimum(rad, math.pi)


def _chord_limits(radii: np.ndarray) -> np.ndarray:
    """Squared chord length of each radius (with the relative allowance)."""
    return (2 * np.sin(np.minimum(radii * (1 + RADIUS_TOLERANCE), math.pi) / 2)) ** 2


def _unit_vectors(lon_deg, lat_deg) -> np.ndarray:
    lon, lat = np.radians(lon_deg), np.radians(lat_deg)
    cos_lat = np.cos(lat)
    return np.stack([cos_lat * np.cos(lon), cos_lat * np.sin(lon), np.sin(lat)], axis=-1)


def _pixel_vectors(wcs: WCS, x, y) -> np.ndarray:
    """Unit vectors of pixel positions (0-based); NaN where the WCS has no sky position."""
    lon, lat = wcs.pixel_to_world_values(x, y)
    return _unit_vectors(lon, lat)


def _separation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Great-circle angle between unit vectors, from the chord (accurate at small angles)."""
    chord = np.linalg.norm(a - b, axis=-1)
    return 2 * np.arcsin(np.minimum(chord / 2, 1.0))


def _may_touch(wcs: WCS, shape: tuple[int, int], vectors: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Sources whose circle can reach the map: within the map's reach (from its border pixels) plus radius."""
    ny, nx = shape
    xs = np.concatenate([np.arange(nx), np.arange(nx), np.zeros(ny), np.full(ny, nx - 1)])
    ys = np.concatenate([np.zeros(nx), np.full(nx, ny - 1), np.arange(ny), np.arange(ny)])
    center = _pixel_vectors(wcs, (nx - 1) / 2, (ny - 1) / 2)
    border = _pixel_vectors(wcs, xs, ys)
    if not (np.all(np.isfinite(border)) and np.all(np.isfinite(center))):
        return np.ones(len(vectors), dtype=bool)
    pixel = np.radians(np.max(proj_plane_pixel_scales(wcs)))
    reach = np.max(_separation(border, center)) + pixel
    return _separation(vectors, center) <= reach + radii


def _east_north(center: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors pointing east and north at each centre (at a pole: any east)."""
    east = np.stack([-center[..., 1], center[..., 0], np.zeros(center.shape[:-1])], axis=-1)
    norm = np.linalg.norm(east, axis=-1, keepdims=True)
    east = np.where(norm > 0, east / np.where(norm > 0, norm, 1), [0.0, 1.0, 0.0])
    return east, np.cross(center, east)


def _tangent(points: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Azimuthal-equidistant coordinates (east, north) in radians of points around a centre."""
    east, north = _east_north(center)
    a, b = np.sum(points * east, axis=-1), np.sum(points * north, axis=-1)
    length = np.hypot(a, b)
    scale = np.where(length > 0, _separation(points, center) / np.where(length > 0, length, 1), 0.0)
    return np.stack([a * scale, b * scale], axis=-1)


class _LocalApproximation:
    """Per source: the pixel → tangent-plane Jacobian and the band where it cannot decide.

    ``usable`` flags sources where the measured error (on a ring at 1.1 r, times
    two) is at most 5 % of the radius; ``band`` is that error bound in radians.
    """

    def __init__(self, wcs: WCS, x0, y0, vectors: np.ndarray, radii: np.ndarray) -> None:
        self.x0, self.y0, self.radii = x0, y0, radii
        n = len(x0)
        steps = [(1, 0), (-1, 0), (0, 1), (0, -1)]
        xs = np.concatenate([x0 + dx for dx, _ in steps])
        ys = np.concatenate([y0 + dy for _, dy in steps])
        with np.errstate(invalid="ignore"):
            t = _tangent(_pixel_vectors(wcs, xs, ys), np.tile(vectors, (4, 1))).reshape(4, n, 2)
        jac = np.stack([(t[0] - t[1]) / 2, (t[2] - t[3]) / 2], axis=-1)  # (n, 2, 2): t = J @ (dx, dy)
        det = jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
        finite = np.isfinite(det) & (det != 0) & np.isfinite(x0) & np.isfinite(y0)
        jac[~finite] = np.eye(2)
        self.jacobian = jac
        self.inverse = np.linalg.inv(jac)
        self.band = self._error(wcs, vectors) * 2 + radii * 1e-7
        with np.errstate(invalid="ignore"):
            self.usable = finite & (self.band <= _MAX_BAND * radii)

    def _error(self, wcs: WCS, vectors: np.ndarray) -> np.ndarray:
        """Largest |exact separation - approximate distance| on a ring at 1.1 r."""
        phi = 2 * np.pi * np.arange(_RING) / _RING
        east, north = 1.1 * self.radii[:, None] * np.cos(phi), 1.1 * self.radii[:, None] * np.sin(phi)
        inv = self.inverse[:, :, :, None]  # pixel offsets = J⁻¹ @ (east, north)
        dx, dy = inv[:, 0, 0] * east + inv[:, 0, 1] * north, inv[:, 1, 0] * east + inv[:, 1, 1] * north
        with np.errstate(invalid="ignore"):
            points = _pixel_vectors(wcs, self.x0[:, None] + dx, self.y0[:, None] + dy)
            error = np.abs(_separation(points, vectors[:, None, :]) - 1.1 * self.radii[:, None])
        return np.max(error, axis=1)

    def half_height(self) -> np.ndarray:
        """Half the height (pixels) of the approximate circle grown by the band."""
        return (self.radii + self.band) * np.linalg.norm(self.inverse[:, 1, :], axis=1)


def _offset_points(vectors: np.ndarray, radii: np.ndarray, count: int) -> np.ndarray:
    """``count`` points at exactly ``radii`` from each centre, (n, count, 3)."""
    east, north = _east_north(vectors)
    phi = 2 * np.pi * np.arange(count) / count
    direction = np.cos(phi)[None, :, None] * north[:, None] + np.sin(phi)[None, :, None] * east[:, None]
    r = radii[:, None, None]
    return np.cos(r) * vectors[:, None, :] + np.sin(r) * direction


def _world_to_pixel(wcs: WCS, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lon = np.degrees(np.arctan2(points[..., 1], points[..., 0]))
    lat = np.degrees(np.arcsin(np.clip(points[..., 2], -1, 1)))
    with np.errstate(invalid="ignore"):
        x, y = wcs.world_to_pixel_values(lon, lat)
    return np.asarray(x, float), np.asarray(y, float)


def _draw_approximate(mask, wcs, approx: _LocalApproximation, vectors, limits) -> None:
    """Sources with a usable approximation: the compiled loops, then the exact band."""
    index = np.flatnonzero(approx.usable)
    if not index.size:
        return
    inner = np.maximum(approx.radii - approx.band, 0)[index] ** 2
    outer = (approx.radii + approx.band)[index] ** 2
    jac = np.ascontiguousarray(approx.jacobian[index].reshape(-1, 4))
    x0, y0, half_height = approx.x0[index], approx.y0[index], approx.half_height()[index]
    _fill_inner(mask, x0, y0, jac, inner, half_height)
    ks, xs, ys = _band_pixels(mask, x0, y0, jac, inner, outer, half_height)
    for start in range(0, ks.size, _CHUNK):
        k, x, y = (a[start : start + _CHUNK] for a in (ks, xs, ys))
        sources = index[k]
        with np.errstate(invalid="ignore"):
            chord2 = np.sum((_pixel_vectors(wcs, x, y) - vectors[sources]) ** 2, axis=1)
        inside = chord2 <= limits[sources]
        mask[y[inside], x[inside]] = True


# The approximate distance² along a row is a quadratic in x, so each row's runs
# (distance² <= inner: inside; <= outer: inside or in the band) come from its roots.


@njit(cache=True, nogil=True)
def _row_span(y0, half_height, ny):  # pragma: no cover - compiled
    """First and last rows of the map within ``half_height`` of row ``y0``."""
    return max(0, math.ceil(y0 - half_height)), min(ny - 1, math.floor(y0 + half_height))


@njit(cache=True, nogil=True)
def _fill_inner(mask, x0, y0, jac, inner, half_height):  # pragma: no cover - compiled
    """Mark the pixels with approximate distance² <= inner."""
    ny, nx = mask.shape
    for k in range(x0.size):
        a, b_row, c_row = _row_quadratic(jac[k])
        y_first, y_last = _row_span(y0[k], half_height[k], ny)
        for y in range(y_first, y_last + 1):
            dy = y - y0[k]
            first, last = _run(x0[k], a, b_row * dy, c_row * dy * dy, inner[k], 0, nx - 1)
            for x in range(first, last + 1):
                mask[y, x] = True


@njit(cache=True, nogil=True)
def _band_pixels(mask, x0, y0, jac, inner, outer, half_height):  # pragma: no cover - compiled
    """(source, x, y) of the unmarked pixels with inner < approximate distance² <= outer."""
    ny, nx = mask.shape
    size = 1 << 16
    ks, xs, ys = np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size, np.int64)
    n = 0
    for k in range(x0.size):
        a, b_row, c_row = _row_quadratic(jac[k])
        y_first, y_last = _row_span(y0[k], half_height[k], ny)
        for y in range(y_first, y_last + 1):
            dy = y - y0[k]
            b, c = b_row * dy, c_row * dy * dy
            xa, xb = _run(x0[k], a, b, c, outer[k], 0, nx - 1)
            ia, ib = _run(x0[k], a, b, c, inner[k], xa, xb)
            if ia > ib:  # no inner run: the whole outer run is band
                ia, ib = xb + 1, xb
            for side in range(2):  # left of the inner run, then right of it
                for x in range(xa, ia) if side == 0 else range(ib + 1, xb + 1):
                    if mask[y, x]:
                        continue
                    if n == size:
                        size *= 2
                        ks, xs, ys = _grow(ks, size), _grow(xs, size), _grow(ys, size)
                    ks[n], xs[n], ys[n] = k, x, y
                    n += 1
    return ks[:n], xs[:n], ys[:n]


@njit(cache=True, nogil=True)
def _grow(array, size):  # pragma: no cover - compiled
    out = np.empty(size, array.dtype)
    out[: array.size] = array
    return out


@njit(cache=True, nogil=True)
def _row_quadratic(j):  # pragma: no cover - compiled
    """distance² = a·dx² + 2 (b·dy)·dx + c·dy² for t = J @ (dx, dy), J = [[j0, j1], [j2, j3]]."""
    return j[0] * j[0] + j[2] * j[2], j[0] * j[1] + j[2] * j[3], j[1] * j[1] + j[3] * j[3]


@njit(cache=True, nogil=True)
def _run(x0, a, b, c, limit, lo, hi):  # pragma: no cover - compiled
    """Integer x in [lo, hi] with a·dx² + 2b·dx + c <= limit (dx = x - x0); empty when first > last."""
    disc = b * b - a * (c - limit)
    if disc < 0:
        return hi + 1, hi
    root = math.sqrt(disc)
    return max(lo, math.ceil(x0 + (-b - root) / a)), min(hi, math.floor(x0 + (-b + root) / a))


def _draw_unapproximated(mask, wcs, index: np.ndarray, vectors, radii, limits) -> None:
    """Sources without a usable approximation: exact on their stamps, or on the whole map."""
    stamps = _exact_stamps(wcs, mask.shape, vectors[index], radii[index])
    for k, stamp in zip(index, stamps):
        if stamp is not None:
            _draw_exact(mask, wcs, stamp, vectors[k : k + 1], limits[k : k + 1])
    whole = [k for k, stamp in zip(index, stamps) if stamp is None]
    if whole:
        _draw_exact(mask, wcs, (0, mask.shape[0], 0, mask.shape[1]), vectors[whole], limits[whole])


def _exact_stamps(wcs: WCS, shape, vectors: np.ndarray, radii: np.ndarray) -> list:
    """Pixel boxes ``(y0, y1, x0, x1)`` holding each circle, from 128 points on it; None: use the whole map.

    The whole map is used when the circle holds a pole of the WCS frame or
    leaves the projection's domain, where points on the circle do not bound it.
    """
    if not len(vectors):
        return []
    ny, nx = shape
    x, y = _world_to_pixel(wcs, _offset_points(vectors, radii, 128))
    cx, cy = _world_to_pixel(wcs, vectors)
    poles = np.minimum(_separation(vectors, np.array([0, 0, 1.0])), _separation(vectors, np.array([0, 0, -1.0])))
    stamps = []
    for k in range(len(vectors)):
        xs, ys = np.append(x[k], cx[k]), np.append(y[k], cy[k])
        if poles[k] <= radii[k] or not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
            stamps.append(None)
            continue
        pad_x = 2 + 0.1 * (xs.max() - xs.min())
        pad_y = 2 + 0.1 * (ys.max() - ys.min())
        x_lo, x_hi = max(0, math.floor(xs.min() - pad_x)), min(nx, math.ceil(xs.max() + pad_x) + 1)
        y_lo, y_hi = max(0, math.floor(ys.min() - pad_y)), min(ny, math.ceil(ys.max() + pad_y) + 1)
        stamps.append((y_lo, y_hi, x_lo, x_hi) if x_lo < x_hi and y_lo < y_hi else (0, 0, 0, 0))
    return stamps


def _draw_exact(mask, wcs, stamp, vectors: np.ndarray, limits: np.ndarray) -> None:
    """Exact separations on every pixel of a box, in row chunks."""
    y_lo, y_hi, x_lo, x_hi = stamp
    if y_lo >= y_hi or x_lo >= x_hi:
        return
    rows = max(1, _CHUNK // (x_hi - x_lo))
    xs = np.arange(x_lo, x_hi)
    for y_start in range(y_lo, y_hi, rows):
        ys = np.arange(y_start, min(y_hi, y_start + rows))
        gx, gy = np.meshgrid(xs, ys)
        with np.errstate(invalid="ignore"):
            points = _pixel_vectors(wcs, gx, gy)
        inside = np.zeros(gx.shape, dtype=bool)
        for vector, limit in zip(vectors, limits):
            inside |= np.sum((points - vector) ** 2, axis=-1) <= limit
        mask[ys[0] : ys[-1] + 1, x_lo:x_hi] |= inside
