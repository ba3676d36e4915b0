"""Unit, metadata and WCS pieces shared by the image formats.

The formats keep the image unit in ``BUNIT``, the metadata in the primary
header and the sky WCS on the image HDU; these small functions move those
pieces between headers and :class:`~astromask.MaskedImage` attributes.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

from ..errors import ParameterError
from .fitsfile import clean_header

__all__ = ["box_wcs", "metadata_header", "read_unit", "unit_string", "variance_from_uncertainty"]


def read_unit(header: fits.Header) -> u.UnitBase | None:
    """The unit in ``BUNIT``, or None when it is absent, empty or dimensionless.

    ``'ADU'`` is read as ``adu`` (as :func:`astropy.nddata.fits_ccddata_reader`
    does); a string astropy cannot parse is kept as an unrecognized unit.

    >>> read_unit(fits.Header({"BUNIT": "ADU"}))
    Unit("adu")
    """
    text = str(header.get("BUNIT", "")).strip()
    if not text:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        for candidate in (text, text.lower()):
            try:
                unit = u.Unit(candidate, parse_strict="raise")
            except ValueError:
                continue
            return None if unit == u.dimensionless_unscaled else unit
        return u.Unit(text, parse_strict="silent")  # an UnrecognizedUnit keeps the text


def unit_string(unit: u.UnitBase) -> str:
    """``BUNIT`` text for a unit, in astropy's generic format (what ``CCDData.write`` writes)."""
    return u.Unit(unit).to_string()


def metadata_header(metadata: fits.Header | Mapping | None, *, drop: tuple[str, ...] = ()) -> fits.Header:
    """Metadata as header cards, without storage, WCS or origin keywords.

    A mapping keeps its string, number and boolean values; keys longer than
    eight characters become ``HIERARCH`` cards.
    """
    if metadata is None:
        return fits.Header()
    if isinstance(metadata, fits.Header):
        return clean_header(metadata, drop=drop)
    header = fits.Header()
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, (str, int, float, bool, np.number, np.bool_)):
            continue
        header[key if len(key) <= 8 else f"HIERARCH {key}"] = value
    return clean_header(header, drop=drop)


def box_wcs(wcs: WCS | None, slices: tuple[slice, slice]) -> WCS | None:
    """The WCS of a sub-array ``slices = (rows, cols)`` (SIP reference pixel shifted too)."""
    if wcs is None:
        return None
    return wcs.slice(slices)


def variance_from_uncertainty(array: np.ndarray, kind: str) -> np.ndarray:
    """Variance from an uncertainty array of ``kind`` ``{'std', 'var', 'ivar'}``.

    An inverse variance of zero (or below) means no information: infinite variance.

    >>> variance_from_uncertainty(np.array([2.0, 0.0]), "ivar")
    array([0.5, inf])
    """
    array = np.asarray(array)
    dtype = array.dtype if array.dtype.kind == "f" else np.dtype(np.float64)
    if kind == "var":
        return array.astype(dtype, copy=False)
    if kind == "std":
        return np.square(array, dtype=dtype)
    if kind == "ivar":
        positive = array > 0
        out = np.full(array.shape, np.inf, dtype=dtype)
        np.divide(1.0, array, out=out, where=positive)
        return out
    raise ParameterError(f"uncertainty kind must be one of ('std', 'var', 'ivar'), got {kind!r}")
