"""Masks and masked images resampled onto another sky grid, plane by plane (:func:`reproject_masked`).

The geometry is the ``reproject`` package's: with ``method='exact'`` (the default) its spherical
polygon overlaps (``reproject_exact``), with ``'nearest'`` its nearest-pixel interpolation
(``reproject_interp(order=0)``), several times faster, which takes the source pixel under each
target centre.

With ``'exact'``, each plane of the source mask, as a 0/1 image, is resampled to the fraction of
each target pixel's covered area where the plane is set; the target pixel gets the plane when that
fraction exceeds the plane's threshold. The default threshold is 0 for the planes that mark bad
pixels (any overlap: a target pixel touched by a bad pixel is suspect; overlaps below 1e-9 of a
pixel, rounding in the polygon clipping, do not count) and 0.5 for the planes that describe the
sky rather than a defect (:data:`MAJORITY_PLANES`: detections, whose footprints must not grow by
a pixel at each resampling); ``thresholds={...}`` sets any plane's.
``NO_DATA`` is set where no source pixel covers the target (reproject's footprint is 0), and where
the covered fraction of the source's own ``NO_DATA`` exceeds its threshold. Science is resampled
with the same overlaps (an area-weighted mean: surface brightness, not flux), and variance with the
same weights: ``sum(w * var) / sum(w)``, which is the variance of a target pixel that takes one
source pixel's value at random by area; the variance of the weighted mean, ``sum(w**2 * var) /
sum(w)**2``, would need the overlaps themselves, which ``reproject`` does not return, and
neighbouring target pixels are correlated either way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
from astropy.wcs import WCS

from .._optional import require
from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..core.presets import made_plane
from ..errors import ParameterError

__all__ = ["MAJORITY_PLANES", "METHODS", "OVERLAP_FLOOR", "reproject_masked"]

log = logging.getLogger("astromask")

METHODS = ("exact", "nearest")
OVERLAP_FLOOR = 1e-9  #: covered fractions at or below this count as no overlap
#: Planes that describe the sky, not a defect: set by a majority of the covered area (threshold 0.5)
#: unless told otherwise; every other plane by any overlap.
MAJORITY_PLANES = ("DETECTED", "DETECTED_NEGATIVE")
_NO_DATA = made_plane("NO_DATA", "reproject")


def _reproject():
    return require("reproject", extra="reproject", needed_for="reprojection")


def _resample(reproject, data: np.ndarray, wcs_in: WCS, wcs_out: WCS, shape_out, method: str):
    data = np.asarray(data, dtype=np.float64)
    if method == "exact":
        return reproject.reproject_exact((data, wcs_in), wcs_out, shape_out=shape_out)
    return reproject.reproject_interp((data, wcs_in), wcs_out, shape_out=shape_out, order="nearest-neighbor")


def _thresholds(mask: Mask, thresholds: Mapping[str, float] | None) -> dict[str, float]:
    out = {name: 0.5 if name in MAJORITY_PLANES else 0.0 for name in mask.schema.names}
    for name, value in (thresholds or {}).items():
        own = mask.schema.resolve(name)
        if own is None:
            raise ParameterError(f"thresholds: no plane {name!r} in the mask (planes: {', '.join(mask.schema.names)})")
        if not isinstance(value, (int, float)) or not 0 <= value < 1:
            raise ParameterError(f"thresholds: {name} must be a fraction in [0, 1), got {value!r}")
        out[own] = float(value)
    return out


def reproject_masked(
    obj: MaskedImage | Mask,
    wcs_in: WCS,
    wcs_out: WCS,
    shape_out: tuple[int, int],
    *,
    method: str = "exact",
    thresholds: Mapping[str, float] | None = None,
) -> MaskedImage | Mask:
    """``obj`` resampled from ``wcs_in`` onto ``wcs_out`` (``shape_out`` pixels), plane by plane.

    Parameters
    ----------
    obj : MaskedImage or Mask
        What to resample; a MaskedImage's science and variance go with its mask.
    wcs_in, wcs_out : astropy.wcs.WCS
        The source and target sky grids (celestial).
    shape_out : (ny, nx)
        The target grid's shape.
    method : {'exact', 'nearest'}
        reproject's exact overlaps, or the source pixel under each target centre.
    thresholds : mapping of plane to fraction, optional
        With ``'exact'``: a plane is set where its covered fraction exceeds this (default 0, any
        overlap above :data:`OVERLAP_FLOOR`, and 0.5 for :data:`MAJORITY_PLANES`).

    Examples
    --------
    >>> from astromask import get_schema
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype, wcs.wcs.crval = ["RA---TAN", "DEC--TAN"], [150.0, 2.0]
    >>> wcs.wcs.crpix, wcs.wcs.cdelt = [5.5, 5.5], [-1 / 3600, 1 / 3600]
    >>> mask = Mask((10, 10), get_schema("rubin"))
    >>> mask.set("BAD", (4, 4))
    >>> shifted = wcs.deepcopy()
    >>> shifted.wcs.crpix = [6.0, 5.5]  # half a pixel along x
    >>> out = reproject_masked(mask, wcs, shifted, (10, 10))
    >>> out.get("BAD").nonzero()[1].tolist(), int(out.get("NO_DATA")[:, 0].sum())
    ([4, 5], 0)
    >>> reproject_masked(mask, wcs, shifted, (10, 10), thresholds={"BAD": 0.6}).get("BAD").sum()
    np.int64(0)
    """
    reproject = _reproject()
    if method not in METHODS:
        raise ParameterError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    for wcs, name in ((wcs_in, "wcs_in"), (wcs_out, "wcs_out")):
        if not isinstance(wcs, WCS) or not wcs.has_celestial:
            raise ParameterError(f"{name} must be a sky WCS, got {wcs!r}")
    mask = obj.mask if isinstance(obj, MaskedImage) else obj
    if method == "nearest" and thresholds:
        raise ParameterError("thresholds apply to method 'exact'")
    limits = _thresholds(mask, thresholds)
    shape_out = (int(shape_out[0]), int(shape_out[1]))
    own_no_data = mask.schema.resolve(_NO_DATA.name)
    schema = mask.schema if own_no_data is not None else mask.schema.with_planes(_NO_DATA)
    no_data_name = own_no_data or _NO_DATA.name
    out = Mask(shape_out, schema)
    footprint = None
    if method == "nearest":
        values, footprint = _resample(reproject, mask.array, wcs_in, wcs_out, shape_out, method)
        covered = footprint > 0
        out.array[covered] = values[covered].astype(mask.array.dtype)
    else:
        for name in mask.schema.names:
            plane = mask.get(name)
            if not plane.any():
                continue
            fraction, footprint = _resample(reproject, plane, wcs_in, wcs_out, shape_out, method)
            out.set(name, np.nan_to_num(fraction) > max(limits[name], OVERLAP_FLOOR))
        if footprint is None:  # an empty mask: the footprint alone
            _, footprint = _resample(reproject, np.zeros(mask.shape), wcs_in, wcs_out, shape_out, method)
        covered = footprint > 0
    out.set(no_data_name, out.get(no_data_name) | ~covered)
    log.info("reprojected %s: %d of %d target pixels covered", method, int(covered.sum()), covered.size)
    if not isinstance(obj, MaskedImage):
        return out
    science, _ = _resample(reproject, obj.image, wcs_in, wcs_out, shape_out, method)
    variance, _ = _resample(reproject, obj.variance, wcs_in, wcs_out, shape_out, method)
    science[~covered] = np.nan
    variance[~covered] = np.nan
    return MaskedImage(
        science.astype(np.float32),
        mask=out,
        variance=variance.astype(np.float32),
        unit=obj.unit,
        wcs=wcs_out,
        metadata=obj.metadata,
    )
