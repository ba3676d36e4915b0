"""Sky geometry: :func:`make_geometry` builds an empty map grid with a celestial WCS, as gammapy's
``WcsGeom.create`` does."""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from astropy.wcs.utils import celestial_frame_to_wcs

from ..core.units import parse_angle
from ..errors import ParameterError

__all__ = ["SkyGeometry", "make_geometry"]


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
        from .._limits import check_memory

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
