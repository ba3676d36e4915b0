"""Mask images as CIAO's mask filters read them.

* A mask pixel of **0 excludes, any other value includes** (negative too);
  NaN, ±Inf and an integer image's ``BLANK`` count as 0 (:func:`included`).
* A physical point ``(x, y)`` (table columns, or image pixel centres) falls
  on the pixel whose logical centre is within ±0.5 of the mask's logical
  ``ltm @ (x, y) + ltv``: pixel ``i`` covers ``i - 0.5 <= lx < i + 0.5``.
* Points **outside the mask image are always excluded**, also by
  ``[exclude col=mask(f)]`` (:meth:`MaskImage.excludes`).
* Only the WCS and physical keywords of the mask file travel with the mask
  (CIAO: "Other header keywords in the original mask file are not saved").
"""

from __future__ import annotations

import re

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..core.mask import included  # CIAO's polarity rule lives with the core types
from ..errors import FormatError
from ..io.fitsfile import image_shape, is_image_hdu, open_fits, read_pixels
from ..ops.measure import logical_bounds
from ..regions import Literal, PixelFrame, Region
from ..regions.shapes import Polygon, Rectangle
from ._kernels import gather_points
from .hdus import crop_header, find_block

__all__ = ["MaskImage", "included", "read_mask", "saved_cards", "wcs_difference"]

_SAVED = re.compile(
    r"^(WCSAXES[A-Z]?|WCSNAME[A-Z]?|CTYPE\d[A-Z]?|CRPIX\d[A-Z]?|CRVAL\d[A-Z]?|CDELT\d[A-Z]?|CUNIT\d[A-Z]?|"
    r"CD\d_\d[A-Z]?|PC\d_\d[A-Z]?|PV\d_\d+[A-Z]?|PS\d_\d+[A-Z]?|CROTA\d|LONPOLE[A-Z]?|LATPOLE[A-Z]?|"
    r"RADESYS[A-Z]?|RADECSYS|EQUINOX[A-Z]?|EPOCH|WCSTY\d[A-Z]?|LTV\d|LTM\d_\d|MTYPE\d+|MFORM\d+|"
    r"A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|A_\d+_\d+|B_\d+_\d+|AP_\d+_\d+|BP_\d+_\d+|A_DMAX|B_DMAX)$"
)
_CHUNK = 1 << 20  # points per call of the compiled lookup (bounds the float64 copies)


def saved_cards(header: fits.Header | None) -> fits.Header:
    """The WCS and physical-coordinate cards of a header (what is stored with a mask)."""
    out = fits.Header()
    for card in (header or fits.Header()).cards:
        if _SAVED.match(card.keyword.upper()):
            out.append(card, end=True)
    return out


class MaskImage:
    """A 0/1 mask image with its physical (``LTM``/``LTV``) and sky coordinates.

    Parameters
    ----------
    values : ndarray, shape (ny, nx)
        Any numeric image: :func:`included` turns it into 0/1 bytes.
    header : astropy.io.fits.Header, optional
        Its WCS and physical keywords (others are dropped).
    name : str
        Where it came from, for messages.

    Examples
    --------
    >>> m = MaskImage(np.array([[0, 5], [-1, 0]]), fits.Header({"LTV1": -10.0, "LTV2": -20.0}))
    >>> m.contains(np.array([11.2, 12.4, 12.6, 11.0]), np.array([21.0, 21.0, 21.0, 22.4])).tolist()
    [False, True, False, True]
    >>> m.excludes(np.array([11.2, 12.6]), np.array([21.0, 21.0])).tolist()   # outside stays out
    [True, False]
    """

    def __init__(
        self, values: np.ndarray, header: fits.Header | None = None, *, name: str = "mask", blank: int | None = None
    ) -> None:
        values = np.asarray(values)
        if values.ndim != 2:
            raise FormatError(f"a mask must be a 2-D image, got shape {values.shape}", path=name)
        self.values = np.ascontiguousarray(
            values if values.dtype == np.uint8 and values.max(initial=0) <= 1 else included(values, blank=blank)
        )
        self.header = saved_cards(header)
        self.name = name
        self.frame = PixelFrame.from_header(self.header)

    def __repr__(self) -> str:
        return f"MaskImage({self.name!r}, shape={self.values.shape}, included={int(self.values.sum())})"

    @property
    def shape(self) -> tuple[int, int]:
        return self.values.shape

    @property
    def wcs(self) -> WCS | None:
        return self.frame.wcs

    @property
    def pixel_area(self) -> float:
        """Area of one mask pixel in square physical units."""
        return self.frame.physical_per_logical**2

    def _lookup(self, x, y, want: int) -> np.ndarray:
        x = np.ravel(np.asarray(x, dtype=np.float64))
        y = np.ravel(np.asarray(y, dtype=np.float64))
        if x.size <= _CHUNK:
            return gather_points(self.values, x, y, self.frame.ltm, self.frame.ltv, want)
        out = np.empty(x.size, dtype=bool)
        for start in range(0, x.size, _CHUNK):
            part = slice(start, start + _CHUNK)
            out[part] = gather_points(self.values, x[part], y[part], self.frame.ltm, self.frame.ltv, want)
        return out

    def contains(self, x, y) -> np.ndarray:
        """True where the physical point ``(x, y)`` falls on an included pixel (1-D result)."""
        return self._lookup(x, y, 1)

    def excludes(self, x, y) -> np.ndarray:
        """True where the point falls on an *excluded* pixel inside the image (``[exclude ...]``)."""
        return self._lookup(x, y, 0)

    def inverted(self) -> MaskImage:
        """The mask with 0 and 1 swapped (how an excluded mask is stored)."""
        return MaskImage((1 - self.values).astype(np.uint8), self.header, name=self.name)

    def crop(self, i0: int, i1: int, j0: int, j1: int) -> MaskImage:
        """The sub-mask of array columns ``i0:i1`` and rows ``j0:j1`` (headers follow)."""
        return MaskImage(self.values[j0:j1, i0:i1], crop_header(self.header, i0, j0), name=self.name)

    def bounds_region(self) -> Region | None:
        """CIAO's ``bounds(mask(f))``: the physical rectangle around the included pixels.

        The rectangle covers whole pixels (their centres ±0.5); a rotated
        physical system gives the four corners as a polygon. None when nothing
        is included.
        """
        box = logical_bounds(self.values)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        lx = np.array([x0 - 0.5, x1 + 0.5, x1 + 0.5, x0 - 0.5])
        ly = np.array([y0 - 0.5, y0 - 0.5, y1 + 0.5, y1 + 0.5])
        px, py = self.frame.to_physical(lx, ly)
        if self.frame.separable:
            shape = Rectangle(float(px.min()), float(py.min()), float(px.max()), float(py.max()))
        else:
            shape = Polygon(tuple(float(v) for v in px), tuple(float(v) for v in py))
        return Region([[Literal(True, shape)]])

    def to_hdu(self, name: str = "MASK") -> fits.ImageHDU:
        """The mask as CIAO stores it: a byte image of 0 and 1 with the mask's WCS."""
        return fits.ImageHDU(self.values, header=self.header.copy(), name=name)


def read_mask(spec: str) -> MaskImage:
    """Read the mask image ``file`` or ``file[block]`` (block name, or number from 1).

    The image is the block named, else the first 2-D image of the file.
    """
    from ..syntax.filter import parse_virtual_file

    vf = parse_virtual_file(spec)
    if vf.groups or vf.full or vf.null is not None:
        raise FormatError("a mask file takes a block selector only, not filters", path=spec)
    with open_fits(vf.path) as hdul:
        if vf.block is None:
            index = next((i for i, hdu in enumerate(hdul) if is_image_hdu(hdu)), None)
            if index is None:
                raise FormatError("holds no image to use as a mask", path=vf.path)
        else:
            index = find_block(hdul, vf.block, vf.path)
        hdu = hdul[index]
        shape = image_shape(hdu) if is_image_hdu(hdu) else ()
        if len(shape) != 2:
            raise FormatError(f"a mask must be a 2-D image, block {index + 1} has shape {shape}", path=vf.path)
        data = read_pixels(hdu)
        header = hdu.header
        blank = header.get("BLANK") if data.dtype.kind in "iu" else None
        return MaskImage(data, header, name=spec, blank=blank)


# -- WCS equivalence -------------------------------------------------------------------------------


def _linear(wcs: WCS) -> np.ndarray:
    return np.diag(wcs.wcs.get_cdelt()) @ wcs.wcs.get_pc()


def _physical(wcs: WCS, frame: PixelFrame) -> tuple[np.ndarray, np.ndarray]:
    """``CD`` and ``CRPIX`` of a sky WCS expressed in physical pixels.

    With ``logical = LTM p + LTV``: ``CD (logical - CRPIX) = (CD LTM)(p - LTM⁻¹ (CRPIX - LTV))``.
    """
    ltm = np.array(frame.ltm, dtype=float)
    crpix = np.linalg.solve(ltm, np.asarray(wcs.wcs.crpix, float) - np.asarray(frame.ltv, float))
    return _linear(wcs) @ ltm, crpix


def wcs_difference(
    a: tuple[WCS | None, PixelFrame], b: tuple[WCS | None, PixelFrame], *, same_pixel_size: bool = False
) -> str | None:
    """The first keyword in which two sky systems differ, or None when equivalent (or either is missing).

    Both are compared in physical pixels (so a cropped copy of an image
    matches its parent): projection (``CTYPEn``), tangent point
    (``CRVALn``), scale and rotation (``CDELTn``/``PCi_j``), reference pixel
    (``CRPIXn``), ``LONPOLE``/``LATPOLE`` and SIP distortion. With
    ``same_pixel_size`` (images) the logical pixels must also have the same
    size (``LTMi_j``).

    Examples
    --------
    >>> w = WCS(naxis=2); w.wcs.ctype = ["RA---TAN", "DEC--TAN"]; w.wcs.cdelt = [-1e-4, 1e-4]
    >>> v = w.deepcopy(); v.wcs.crval = [0.0, 1e-3]
    >>> wcs_difference((w, PixelFrame()), (v, PixelFrame()))
    'CRVAL2 0 vs 0.001'
    >>> c = w.deepcopy(); c.wcs.crpix = [w.wcs.crpix[0] - 5, w.wcs.crpix[1]]
    >>> wcs_difference((w, PixelFrame()), (c, PixelFrame(ltv=(-5.0, 0.0)))) is None   # a cropped copy
    True
    """
    (wa, fa), (wb, fb) = a, b
    if wa is None or wb is None:
        return None
    if same_pixel_size:
        for i in range(2):
            for j in range(2):
                if not np.isclose(fa.ltm[i][j], fb.ltm[i][j], rtol=1e-9, atol=1e-12):
                    return f"LTM{i + 1}_{j + 1} (pixel size) {fa.ltm[i][j]:g} vs {fb.ltm[i][j]:g}"
    for i in range(2):
        ta, tb = wa.wcs.ctype[i].strip().upper(), wb.wcs.ctype[i].strip().upper()
        if ta != tb:
            return f"CTYPE{i + 1} {ta!r} vs {tb!r}"
    for i in range(2):
        if not np.isclose(wa.wcs.crval[i], wb.wcs.crval[i], rtol=0, atol=1e-9 * max(1.0, abs(wa.wcs.crval[i]))):
            return f"CRVAL{i + 1} {wa.wcs.crval[i]:.10g} vs {wb.wcs.crval[i]:.10g}"
    cd_a, crpix_a = _physical(wa, fa)
    cd_b, crpix_b = _physical(wb, fb)
    scale = max(np.abs(cd_a).max(), 1e-300)
    for i in range(2):
        for j in range(2):
            if not np.isclose(cd_a[i, j], cd_b[i, j], rtol=0, atol=1e-7 * scale):
                key = f"CDELT{i + 1} (pixel size)" if i == j else f"PC{i + 1}_{j + 1} (rotation)"
                return f"{key} {cd_a[i, j]:.8g} vs {cd_b[i, j]:.8g} per physical pixel"
    for i in range(2):
        if not np.isclose(crpix_a[i], crpix_b[i], rtol=0, atol=1e-4):
            return f"CRPIX{i + 1} {crpix_a[i]:.8g} vs {crpix_b[i]:.8g} in physical pixels"
    for key, va, vb in (("LONPOLE", wa.wcs.lonpole, wb.wcs.lonpole), ("LATPOLE", wa.wcs.latpole, wb.wcs.latpole)):
        if not np.isclose(va, vb, rtol=0, atol=1e-9):
            return f"{key} {va:g} vs {vb:g}"
    if (wa.sip is None) != (wb.sip is None):
        return f"A_ORDER (SIP distortion) {'present' if wa.sip else 'absent'} vs {'present' if wb.sip else 'absent'}"
    return None
