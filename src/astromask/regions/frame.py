"""Pixel coordinate systems of an image: logical, physical and sky.

* **logical**: 1-based pixel centres, ``x = column + 1``, ``y = row + 1``.
* **physical**: CIAO's detector/sky pixels, ``logical = LTM @ physical + LTV``
  (IRAF's ``LTMi_j``/``LTVi`` cards, or CIAO's ``CRVALnP``/``CRPIXnP``/``CDELTnP``
  alternate WCS when present, which states the same map).
* **world**: the image's celestial WCS (degrees), which maps logical pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..errors import ParameterError

__all__ = ["PixelFrame"]


@dataclass(frozen=True)
class PixelFrame:
    """The logical ↔ physical ↔ world transforms of one image.

    Parameters
    ----------
    ltm : 2x2 tuple
        ``LTM`` matrix, ``logical = ltm @ physical + ltv``.
    ltv : 2-tuple
        ``LTV`` offset.
    wcs : astropy.wcs.WCS or None
        Celestial WCS of the logical pixels (FITS convention, 1-based).

    Examples
    --------
    >>> f = PixelFrame(ltv=(-10.0, -20.0))
    >>> f.to_logical(11.0, 21.0)
    (1.0, 1.0)
    """

    ltm: tuple[tuple[float, float], tuple[float, float]] = ((1.0, 0.0), (0.0, 1.0))
    ltv: tuple[float, float] = (0.0, 0.0)
    wcs: WCS | None = None

    @classmethod
    def from_header(cls, header: fits.Header | None, *, wcs: WCS | None = None) -> PixelFrame:
        """The frame of an image header (identity when it has no physical keywords).

        ``wcs`` overrides the celestial WCS read from the header.
        """
        if header is None:
            return cls(wcs=wcs)
        if wcs is None:
            from ..io.fitsfile import read_wcs

            wcs = read_wcs(header)
        has_lt = any(k in header for k in ("LTV1", "LTV2", "LTM1_1", "LTM1_2", "LTM2_1", "LTM2_2"))
        if not has_lt and "CDELT1P" in header and "CDELT2P" in header:  # CIAO's physical alternate WCS
            scale = [float(header[f"CDELT{k}P"]) for k in (1, 2)]
            crpix = [float(header.get(f"CRPIX{k}P", 0.0)) for k in (1, 2)]
            crval = [float(header.get(f"CRVAL{k}P", 0.0)) for k in (1, 2)]
            ltm = ((1.0 / scale[0], 0.0), (0.0, 1.0 / scale[1]))
            ltv = (crpix[0] - crval[0] / scale[0], crpix[1] - crval[1] / scale[1])
            return cls(ltm, ltv, wcs)
        ltm = tuple(tuple(float(header.get(f"LTM{i}_{j}", 1.0 if i == j else 0.0)) for j in (1, 2)) for i in (1, 2))
        ltv = (float(header.get("LTV1", 0.0)), float(header.get("LTV2", 0.0)))
        if ltm[0][0] * ltm[1][1] - ltm[0][1] * ltm[1][0] == 0:
            raise ParameterError(f"header LTM matrix {ltm} is singular")
        return cls(ltm, ltv, wcs)  # type: ignore[arg-type]

    @property
    def separable(self) -> bool:
        """True when physical x depends only on logical x (no rotation in ``LTM``)."""
        return self.ltm[0][1] == 0 and self.ltm[1][0] == 0

    @property
    def physical_per_logical(self) -> float:
        """Length of one logical pixel in physical pixels (geometric mean of the two axes)."""
        (a, b), (c, d) = self.ltm
        return 1.0 / math.sqrt(abs(a * d - b * c))

    def physical_axes(self, nx: int, ny: int, x0: int = 1, y0: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Physical coordinates of logical pixel centres ``x0..x0+nx-1`` and ``y0..y0+ny-1``.

        For a separable frame: a row vector of x and a column vector of y, which
        broadcast to the ``(ny, nx)`` grid. Otherwise two full ``(ny, nx)`` arrays.
        """
        i = np.arange(x0, x0 + nx, dtype=float)
        j = np.arange(y0, y0 + ny, dtype=float)
        if self.separable:
            x = (i - self.ltv[0]) / self.ltm[0][0]
            y = (j - self.ltv[1]) / self.ltm[1][1]
            return x[np.newaxis, :], y[:, np.newaxis]
        return self.to_physical(i[np.newaxis, :], j[:, np.newaxis])

    def to_physical(self, x, y):
        """Physical coordinates of logical ``(x, y)`` (arrays broadcast)."""
        (a, b), (c, d) = self.ltm
        det = a * d - b * c
        u = np.asarray(x, dtype=float) - self.ltv[0]
        v = np.asarray(y, dtype=float) - self.ltv[1]
        px, py = (d * u - b * v) / det, (a * v - c * u) / det
        return np.broadcast_arrays(px, py) if np.ndim(px) or np.ndim(py) else (float(px), float(py))

    def to_logical(self, x, y):
        """Logical coordinates of physical ``(x, y)`` (arrays broadcast)."""
        (a, b), (c, d) = self.ltm
        lx = a * np.asarray(x, dtype=float) + b * np.asarray(y, dtype=float) + self.ltv[0]
        ly = c * np.asarray(x, dtype=float) + d * np.asarray(y, dtype=float) + self.ltv[1]
        return (lx, ly) if np.ndim(lx) else (float(lx), float(ly))

    def _require_wcs(self) -> WCS:
        if self.wcs is None:
            raise ParameterError("region uses world coordinates (d, sexagesimal, \", ') but the image has no sky WCS")
        return self.wcs

    def world_to_physical(self, lon, lat):
        """Physical coordinates of world ``(lon, lat)`` in degrees, in the WCS's own frame."""
        lx, ly = self._require_wcs().all_world2pix(np.asarray(lon, float), np.asarray(lat, float), 1)
        return self.to_physical(lx, ly)

    def degrees_per_physical(self) -> float:
        """Size of one physical pixel in degrees (CIAO divides world sizes by this scale)."""
        from ..core.units import area_pixel_scale

        return area_pixel_scale(self._require_wcs()) / self.physical_per_logical
