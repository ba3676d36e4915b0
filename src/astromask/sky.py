"""Sky geometry and catalog exclusion masks.

:func:`make_geometry` builds an empty map grid with a celestial WCS, as gammapy's
``WcsGeom.create`` does. :func:`sky_circles_mask` and :func:`catalog_mask` mark
the pixels whose centre lies within a given angle of a sky position.

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
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord, UnitSphericalRepresentation
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS
from astropy.wcs.utils import celestial_frame_to_wcs, proj_plane_pixel_scales, wcs_to_celestial_frame
from numba import njit

from .errors import NotFoundError, ParameterError, ParameterTypeError
from .units import parse_angle

__all__ = ["SkyGeometry", "catalog_mask", "make_geometry", "read_catalog", "sky_circles_mask"]

# Relative allowance on the radius: pixel centres on the circle in exact arithmetic count as inside.
RADIUS_TOLERANCE = 1e-9
# Known column pairs (lower case) and the frame they imply, tried in this order.
POSITION_COLUMNS = (
    ("ra", "dec", "icrs"),
    ("raj2000", "dej2000", "icrs"),
    ("raj2000", "decj2000", "icrs"),
    ("ra_j2000", "dec_j2000", "icrs"),
    ("glon", "glat", "galactic"),
)
_RING = 12  # samples of the approximation error per source
_MAX_BAND = 0.05  # largest band half-width (fraction of the radius) handled by the approximation
_CHUNK = 1 << 21  # pixels per exact-evaluation batch


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class SkyGeometry:
    """A 2-D pixel grid with a celestial WCS.

    Attributes
    ----------
    shape : tuple of int
        ``(ny, nx)``, numpy order.
    wcs : astropy.wcs.WCS
        Celestial WCS of the grid (pixel ``(x, y)`` 0-based in the astropy API).
    """

    shape: tuple[int, int]
    wcs: WCS

    def empty_mask(self) -> np.ndarray:
        """An all-False boolean mask of the grid's shape (refused, saying how much, when it cannot fit)."""
        from ._limits import check_memory

        ny, nx = self.shape
        check_memory(float(ny) * float(nx), f"a {nx} x {ny} pixel map")
        return np.zeros(self.shape, dtype=bool)

    def to_header(self) -> fits.Header:
        """FITS header cards of the WCS."""
        return self.wcs.to_header()


def make_geometry(
    skydir,
    *,
    binsz,
    width=None,
    npix=None,
    frame: str = "icrs",
    proj: str = "CAR",
) -> SkyGeometry:
    """An empty map grid centred on ``skydir``, as gammapy's ``WcsGeom.create``.

    Parameters
    ----------
    skydir : SkyCoord, (lon, lat) or str
        Map centre. A ``SkyCoord`` is transformed to ``frame``; a pair (numbers
        in degrees or angles) and a string (``"83.63 22.01"``, ``"05h34m31.9s
        +22d00m52s"``) are read in ``frame``.
    binsz : angle or (lon, lat) pair of angles
        Pixel size; numbers are degrees.
    width : angle or (lon, lat) pair of angles, optional
        Map size; numbers are degrees. The number of pixels is
        ``rint(width / binsz)`` (half to even), as gammapy. Default, when
        ``npix`` is not given either: the whole sky, (360°, 180°).
    npix : int or (nx, ny), optional
        Map size in pixels, instead of ``width``.
    frame : {'icrs', 'galactic'} or another astropy frame name
        Celestial frame of the WCS.
    proj : str
        WCS projection code (``'CAR'``, ``'TAN'``, ``'AIT'``, ...).

    Returns
    -------
    SkyGeometry
        ``CRPIX`` at the map centre (``(n + 1) / 2``), ``CRVAL`` = ``skydir``,
        ``CDELT = (-binsz_lon, binsz_lat)``.

    Examples
    --------
    >>> geom = make_geometry((184.56, -5.78), width="5 deg", binsz=0.02, frame="galactic")
    >>> geom.shape, geom.wcs.wcs.ctype[0], geom.wcs.wcs.crpix.tolist()
    ((250, 250), 'GLON-CAR', [125.5, 125.5])
    """
    celestial = _frame(frame)
    center = _skydir(skydir, celestial)
    bx, by = _angle_pair(binsz, "binsz")
    if bx <= 0 or by <= 0:
        raise ParameterError(f"binsz must be positive, got {binsz!r}")
    if npix is not None:
        if width is not None:
            raise ParameterError("give width or npix, not both")
        nx, ny = _npix_pair(npix)
    else:
        wx, wy = _angle_pair((360.0, 180.0) if width is None else width, "width")
        nx, ny = int(np.rint(wx / bx)), int(np.rint(wy / by))
    if nx < 1 or ny < 1:
        raise ParameterError(f"the map has no pixels: width / binsz rounds to {nx} x {ny}")
    try:
        wcs = celestial_frame_to_wcs(celestial, projection=proj.upper())
        wcs.wcs.crpix = ((nx + 1) / 2.0, (ny + 1) / 2.0)
        wcs.wcs.crval = (center.spherical.lon.deg, center.spherical.lat.deg)
        wcs.wcs.cdelt = (-bx, by)
        wcs.wcs.set()
    except ValueError as exc:
        raise ParameterError(f"proj {proj!r} is not a WCS projection code: {str(exc).splitlines()[-1]}") from None
    wcs.pixel_shape = (nx, ny)
    return SkyGeometry((ny, nx), wcs)


def _frame(name):
    """The astropy celestial frame instance for a frame name."""
    try:
        return SkyCoord(0 * u.deg, 0 * u.deg, frame=name).frame.replicate_without_data()
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"unknown frame {name!r}: {exc}") from None


def _skydir(skydir, frame) -> SkyCoord:
    if isinstance(skydir, SkyCoord):
        return skydir.transform_to(frame)
    try:
        if isinstance(skydir, str):
            return SkyCoord(skydir, unit="deg", frame=frame)
        lon, lat = skydir
        return SkyCoord(Angle(lon, unit="deg"), Angle(lat, unit="deg"), frame=frame)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise ParameterError(
            f"skydir must be a SkyCoord, a (lon, lat) pair or a string, got {skydir!r}: {exc}"
        ) from None


def _angle_pair(value, name: str) -> tuple[float, float]:
    """(lon, lat) in degrees from one angle or a pair."""
    if isinstance(value, (tuple, list)) or (isinstance(value, np.ndarray) and value.shape == (2,)):
        if len(value) != 2:
            raise ParameterError(f"{name} must be one angle or a (lon, lat) pair, got {value!r}")
        return parse_angle(value[0], name), parse_angle(value[1], name)
    angle = parse_angle(value, name)
    return angle, angle


def _npix_pair(npix) -> tuple[int, int]:
    values = tuple(npix) if isinstance(npix, (tuple, list)) else (npix, npix)
    if len(values) != 2 or not all(isinstance(v, (int, np.integer)) for v in values):
        raise ParameterError(f"npix must be an integer or an (nx, ny) pair of integers, got {npix!r}")
    return int(values[0]), int(values[1])


# --------------------------------------------------------------------------- catalogs


def read_catalog(
    catalog,
    *,
    radius=None,
    radius_column: str | None = None,
    radius_unit: str = "deg",
    lon_column: str | None = None,
    lat_column: str | None = None,
    frame: str | None = None,
    format: str | None = None,
) -> tuple[SkyCoord, Angle]:
    """Source positions and radii from a table.

    Parameters
    ----------
    catalog : str, Path or astropy.table.Table
        A table file (FITS, ECSV, CSV, anything ``Table.read`` reads) or a table.
    radius : angle, optional
        One radius for every source (an Angle, a Quantity or a string such as
        ``"0.3deg"``; a bare number is refused, to avoid pixel/degree mix-ups).
    radius_column : str, optional
        Column with a radius per source, in the column's unit, else ``radius_unit``.
        Exactly one of ``radius`` and ``radius_column`` is required.
    radius_unit : str
        Unit of a radius column that has none (default degrees).
    lon_column, lat_column : str, optional
        Position columns. Default: the first pair present among ``RA/DEC``,
        ``RAJ2000/DEJ2000``, ``RAJ2000/DECJ2000``, ``RA_J2000/DEC_J2000``,
        ``GLON/GLAT`` (any case). Values are in the column's unit, else degrees;
        sexagesimal strings are parsed by astropy.
    frame : str, optional
        Frame of the positions. Default: ``'galactic'`` for GLON/GLAT columns,
        else ``'icrs'``.
    format : str, optional
        ``Table.read`` format, when the file name does not tell it.

    Returns
    -------
    positions : SkyCoord
    radii : Angle
        One radius per source.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"RA": [83.63, 84.0], "DEC": [22.01, 22.5]})
    >>> pos, r = read_catalog(t, radius="0.3 deg")
    >>> pos.frame.name, r.deg.tolist()
    ('icrs', [0.3, 0.3])
    """
    name = "catalog"
    if isinstance(catalog, Table):
        table = catalog
    else:
        name = str(catalog)
        if not Path(name).exists():
            raise FileNotFoundError(f"{name}: no such catalog file")
        try:
            table = Table.read(name, format=format)
        except Exception as exc:  # astropy raises many kinds for unreadable tables
            raise ParameterError(f"{name}: cannot read the catalog as a table: {exc}") from None
    lon_name, lat_name, default_frame = _position_columns(table, lon_column, lat_column, name)
    positions = SkyCoord(
        _column_values(table, lon_name, name),
        _column_values(table, lat_name, name),
        unit=(table[lon_name].unit or u.deg, table[lat_name].unit or u.deg),
        frame=frame or default_frame,
    )
    radii = _radii(table, radius, radius_column, radius_unit, name)
    return positions, radii


def _find_column(table: Table, column: str, source: str) -> str:
    if column in table.colnames:
        return column
    matches = [c for c in table.colnames if c.lower() == column.lower()]
    if len(matches) == 1:
        return matches[0]
    raise NotFoundError(f"{source}: no column {column!r} (columns: {', '.join(table.colnames)})")


def _position_columns(table: Table, lon: str | None, lat: str | None, source: str) -> tuple[str, str, str]:
    if (lon is None) != (lat is None):
        raise ParameterError("give both lon_column and lat_column, or neither")
    if lon is not None:
        lon_name = _find_column(table, lon, source)
        frame = "galactic" if lon_name.lower().startswith("glon") else "icrs"
        return lon_name, _find_column(table, lat, source), frame
    lower = {c.lower(): c for c in table.colnames}
    for lon_key, lat_key, frame in POSITION_COLUMNS:
        if lon_key in lower and lat_key in lower:
            return lower[lon_key], lower[lat_key], frame
    raise NotFoundError(
        f"{source}: no position columns found (looked for RA/DEC, RAJ2000/DEJ2000, GLON/GLAT; "
        f"columns: {', '.join(table.colnames)}); name them with lon_column/lat_column"
    )


def _column_values(table: Table, column: str, source: str) -> np.ndarray:
    values = table[column]
    missing = np.ma.getmaskarray(values)
    if values.dtype.kind in "fc":
        missing = missing | ~np.isfinite(np.ma.getdata(values))
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ParameterError(
            f"{source}: {rows.size} sources have no value in column {column!r} "
            f"(rows {', '.join(map(str, rows[:5]))}{', ...' if rows.size > 5 else ''})"
        )
    return np.asarray(np.ma.getdata(values))


def _radii(table: Table, radius, column: str | None, unit: str, source: str) -> Angle:
    if (radius is None) == (column is None):
        raise ParameterError("give a radius or a radius column (exactly one)")
    if column is None:
        return Angle(np.full(len(table), parse_angle(radius, "radius", default_unit=None)), u.deg)
    name = _find_column(table, column, source)
    try:
        radii = Angle(_column_values(table, name, source), unit=table[name].unit or unit)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise ParameterError(f"{source}: column {name!r} does not hold angles: {exc}") from None
    bad = np.flatnonzero(radii.deg < 0)
    if bad.size:
        raise ParameterError(f"{source}: negative radius in column {name!r} (rows {', '.join(map(str, bad[:5]))})")
    return radii


def catalog_mask(shape: tuple[int, int], wcs: WCS, catalog, **columns) -> np.ndarray:
    """Mask the pixels within a radius of any catalog source.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the map.
    wcs : astropy.wcs.WCS
        Celestial WCS of the map.
    catalog : str, Path or astropy.table.Table
        The sources; see :func:`read_catalog`.
    **columns
        ``radius``, ``radius_column``, ``radius_unit``, ``lon_column``,
        ``lat_column``, ``frame``, ``format``: as in :func:`read_catalog`.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` (masked) where a pixel centre is within the radius of a source;
        see :func:`sky_circles_mask`. ``~mask`` is gammapy's exclusion-mask polarity.

    Examples
    --------
    >>> from astropy.table import Table
    >>> geom = make_geometry((0, 0), npix=3, binsz=2)
    >>> t = Table({"RA": [0.0, 20.0], "DEC": [0.0, 20.0]})
    >>> int(catalog_mask(geom.shape, geom.wcs, t, radius="1 deg").sum())
    1
    """
    positions, radii = read_catalog(catalog, **columns)
    return sky_circles_mask(shape, wcs, positions, radii)


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
def _fill_inner(mask, x0, y0, jac, inner, half_height):  # pragma: no cover - compiled
    """Mark the pixels with approximate distance² <= inner."""
    ny, nx = mask.shape
    for k in range(x0.size):
        a, b_row, c_row = _row_quadratic(jac[k])
        y_first = max(0, math.ceil(y0[k] - half_height[k]))
        y_last = min(ny - 1, math.floor(y0[k] + half_height[k]))
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
        y_first = max(0, math.ceil(y0[k] - half_height[k]))
        y_last = min(ny - 1, math.floor(y0[k] + half_height[k]))
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
