"""astropy CCDData FITS files: image, boolean ``MASK``, ``UNCERT`` and optional flags.

Layout (what :meth:`astropy.nddata.CCDData.write` writes and
:meth:`astropy.nddata.CCDData.read` reads):

==============  ====================================================================
HDU             content
==============  ====================================================================
primary         the image, metadata, ``BUNIT`` and the sky WCS
``MASK``        boolean mask as ``uint8`` (1 = masked)
``UNCERT``      uncertainty; ``UTYPE`` names its class: ``StdDevUncertainty``,
                ``VarianceUncertainty`` or ``InverseVariance`` (absent: std. dev.)
``FLAGS``       optional integer flags (astropy 8 ``hdu_flags='FLAGS'``), or one
                ``FLAGS_<name>`` HDU per flag of a ``FlagCollection``
==============  ====================================================================

Reading
    The boolean ``MASK`` becomes one plane, ``BAD``. When the file has an
    integer ``FLAGS`` HDU, its bits become the mask planes instead, named by
    its ``MSKN/MSKM/MSKD`` cards (``BITnn`` planes without them); a
    ``FLAGS_<name>`` collection gives one plane per flag. Pixels the ``MASK``
    marks but no flag covers are added to a ``BAD`` plane. The variance comes
    from ``UNCERT`` (std. dev. squared, inverse variance inverted, zero inverse
    variance read as infinite variance).

Writing
    The primary holds the image (``BUNIT`` only when the image has a unit, as
    astropy does: ``CCDData.read`` of a file without one needs ``unit=``).
    ``MASK`` is ``select()`` of every plane, and, unless the mask is the single
    ``BAD`` plane that reading a bare ``MASK`` gives, a ``FLAGS`` HDU keeps the
    integer planes with ``MSKN/MSKM/MSKD`` cards, so every plane name survives
    a round trip and ``CCDData.read(path, hdu_flags='FLAGS')`` sees them.
    ``UNCERT`` is a ``VarianceUncertainty`` by default. A pixel origin other
    than ``(0, 0)`` is recorded as the linear ``A`` WCS.
"""

from __future__ import annotations

import re

import numpy as np
from astropy.io import fits

from ...core.mask import Mask
from ...core.masked_image import Box, MaskedImage
from ...core.presets import made_plane
from ...core.schema import MaskPlane, MaskSchema
from ...errors import FormatError, ParameterError, ParameterTypeError
from .. import cards
from .._image_hdus import box_wcs, metadata_header, read_unit, unit_string, variance_from_uncertainty
from ..fitsfile import (
    bbox_slices,
    clean_header,
    describe_hdus,
    find_hdu,
    image_hdu_indices,
    image_section,
    image_shape,
    is_image_hdu,
    is_integer_hdu,
    make_image_hdu,
    mask_compression,
    mask_of,
    origin_cards,
    read_pixels,
    read_wcs,
    wcs_cards,
)
from .plain import filter_mask_ref, mask_from_hdu, mask_hdu

__all__ = ["BOOL_PLANE", "UNCERTAINTY_TYPES", "describe", "identify", "mask_at", "read", "read_mask", "write"]

MASK_NAME = "MASK"
UNCERT_NAME = "UNCERT"
FLAGS_NAME = "FLAGS"
UTYPE_KEY = "UTYPE"
_AUXILIARY = (MASK_NAME, UNCERT_NAME, FLAGS_NAME, "PSFIMAGE")

#: ``UTYPE`` class name for each uncertainty kind (the names astropy writes).
UNCERTAINTY_TYPES = {"std": "StdDevUncertainty", "var": "VarianceUncertainty", "ivar": "InverseVariance"}
_KIND_OF_TYPE = {v: k for k, v in UNCERTAINTY_TYPES.items()}

#: The plane a bare boolean ``MASK`` is read into.
BOOL_PLANE = made_plane("BAD", "ccddata")
_BOOL_SCHEMA = MaskSchema([BOOL_PLANE], name="ccddata")
_PLANE_NAME = re.compile(r"[^A-Za-z0-9_\-]")


# -- HDU lookup -------------------------------------------------------------------------------------


def _extname(hdu) -> str:
    return str(hdu.header.get("EXTNAME", "")).strip().upper()


def _named(hdul: fits.HDUList, name: str) -> int | None:
    """Index of the first HDU whose EXTNAME is ``name`` (case-insensitive), or None."""
    return next((i for i, hdu in enumerate(hdul) if i > 0 and _extname(hdu) == name), None)


def _flag_collection(hdul: fits.HDUList) -> list[int]:
    """Indices of ``FLAGS_<name>`` HDUs (an astropy ``FlagCollection``)."""
    return [i for i, hdu in enumerate(hdul) if _extname(hdu).startswith(FLAGS_NAME + "_") and is_image_hdu(hdu)]


def _role(hdul: fits.HDUList, index: int) -> str:
    """``'mask'``, ``'flags'``, ``'flag'`` (one of a collection), ``'uncert'`` or ``'data'``."""
    name = _extname(hdul[index]) if index > 0 else ""
    if name == MASK_NAME:
        return "mask"
    if name == FLAGS_NAME:
        return "flags"
    if name.startswith(FLAGS_NAME + "_"):
        return "flag"
    if name == UNCERT_NAME:
        return "uncert"
    return "data"


# -- identify / describe ----------------------------------------------------------------------------


def identify(hdul: fits.HDUList, path: str) -> bool:
    """A ``uint8`` ``MASK`` HDU and/or an ``UNCERT`` HDU (or the ``FLAGS_<name>`` HDUs of an astropy
    ``FlagCollection``), without lsst.images or afw plane cards."""
    mask, uncert = _named(hdul, MASK_NAME), _named(hdul, UNCERT_NAME)
    if mask is None and uncert is None:
        return bool(_flag_collection(hdul)) and not any(cards.has_mp_cards(hdu.header) for hdu in hdul)
    if mask is not None and any(filter_mask_ref(hdul, i) == mask for i in range(len(hdul))):
        return False  # a CIAO mask-filtered file: MASK means "included", read as plain FITS
    if mask is not None:
        hdr = hdul[mask].header
        if int(hdr.get("BITPIX", 0)) != 8 or cards.has_msk_cards(hdr) or cards.has_mp_cards(hdr):
            return False
    return not any(cards.has_mp_cards(hdu.header) for hdu in hdul)


def _uncertainty_kind(header: fits.Header) -> str:
    """``'std'``, ``'var'`` or ``'ivar'`` from ``UTYPE`` (astropy reads a missing or unknown one as std)."""
    return _KIND_OF_TYPE.get(str(header.get(UTYPE_KEY, "")).strip(), "std")


def describe(hdul: fits.HDUList, path: str) -> list[dict]:
    """One ``{'index', 'kind'}`` row per HDU."""

    def kind(i: int) -> str:
        role = _role(hdul, i)
        if role in ("mask", "flags", "flag"):
            return "mask"
        if role == "uncert":
            return "weight" if _uncertainty_kind(hdul[i].header) == "ivar" else "variance"
        return "image"

    return describe_hdus(hdul, kind)


# -- masks ------------------------------------------------------------------------------------------


def _check_shape(hdul, index: int, shape, path: str) -> None:
    got = image_shape(hdul[index])
    if got != tuple(shape):
        raise FormatError(f"shape {got} differs from the image shape {tuple(shape)}", path=path, hdu=index)


def _bool_mask(masked: np.ndarray) -> Mask:
    mask = Mask(masked.shape, _BOOL_SCHEMA)
    mask.set(BOOL_PLANE.name, masked)
    return mask


def _flags_mask(hdu, slices, *, path: str, index: int) -> Mask:
    """The integer planes of a ``FLAGS`` HDU, named by its ``MSKN`` cards (``BITnn`` without, from the whole HDU)."""
    return mask_from_hdu(hdu, slices, path=path, index=index, whole_hdu_names=True)


def _collection_mask(hdul, indices: list[int], slices, shape) -> Mask:
    """One plane per ``FLAGS_<name>`` HDU, set where it is non-zero."""
    names = []
    for i in indices:
        name = _PLANE_NAME.sub("_", _extname(hdul[i])[len(FLAGS_NAME) + 1 :]) or f"FLAG{i}"
        names.append(name if not name[0].isdigit() else f"F{name}")
    schema = MaskSchema([MaskPlane(n, f"CCDData flag {n!r}.") for n in names], name="ccddata flags")
    mask = Mask(tuple(shape), schema)
    for name, i in zip(names, indices):
        mask.set(name, read_pixels(hdul[i], slices) != 0)
    return mask


def _box_shape(slices) -> tuple[int, int]:
    return tuple(s.stop - s.start for s in slices)


def _read_mask(hdul: fits.HDUList, path: str, slices) -> Mask:
    """The mask planes: ``FLAGS`` (or a flag collection) when present, plus ``MASK`` pixels they miss."""
    shape = _box_shape(slices)
    flags_index = _named(hdul, FLAGS_NAME)
    collection = _flag_collection(hdul)
    mask_index = _named(hdul, MASK_NAME)
    mask = None
    if flags_index is not None and is_integer_hdu(hdul[flags_index]):
        mask = _flags_mask(hdul[flags_index], slices, path=path, index=flags_index)
    elif collection:
        mask = _collection_mask(hdul, collection, slices, shape)
    if mask_index is None:
        return mask if mask is not None else Mask(shape, _BOOL_SCHEMA)
    masked = read_pixels(hdul[mask_index], slices) != 0
    if mask is None:
        return _bool_mask(masked)
    extra = masked & ~mask.select()
    if extra.any():
        if BOOL_PLANE.name not in mask.schema:
            mask = mask.remap(mask.schema.with_planes(BOOL_PLANE))
        mask.set(BOOL_PLANE.name, extra)
    return mask


def mask_at(hdul: fits.HDUList, path: str, index: int) -> Mask:
    """The mask of HDU ``index``: ``MASK`` as one ``BAD`` plane, ``FLAGS`` with its own planes."""
    return _mask_of_hdu(hdul, path, index, None)


def _mask_of_hdu(hdul: fits.HDUList, path: str, index: int, slices) -> Mask:
    hdu = hdul[index]
    role = _role(hdul, index)
    if len(image_shape(hdu)) != 2:
        raise FormatError(f"mask must be 2-D, got shape {image_shape(hdu)}", path=path, hdu=index)
    if slices is None:
        slices = bbox_slices(None, (0, 0), image_shape(hdu), path)
    if role == "mask":
        return _bool_mask(read_pixels(hdu, slices) != 0)
    if role == "flags" and is_integer_hdu(hdu):
        return _flags_mask(hdu, slices, path=path, index=index)
    if role == "flag":
        return _collection_mask(hdul, [index], slices, _box_shape(slices))
    raise FormatError("is not a MASK or FLAGS HDU of a CCDData file", path=path, hdu=index)


# -- read -------------------------------------------------------------------------------------------


def _data_index(hdul: fits.HDUList, hdu, path: str) -> int:
    """The image HDU: ``hdu`` if given, else the primary, else the first image extension with data."""
    if hdu is not None:
        index = find_hdu(hdul, hdu, path)
        if not is_image_hdu(hdul[index]):
            raise FormatError("HDU holds no 2-D image", path=path, hdu=hdu)
        return index
    for i in image_hdu_indices(hdul):
        if i == 0 or (_extname(hdul[i]) not in _AUXILIARY and _role(hdul, i) == "data"):
            return i
    raise FormatError("holds no image HDU", path=path)


def _read_variance(hdul: fits.HDUList, path: str, shape, slices) -> np.ndarray | None:
    index = _named(hdul, UNCERT_NAME)
    if index is None:
        return None
    _check_shape(hdul, index, shape, path)
    hdu = hdul[index]
    return variance_from_uncertainty(read_pixels(hdu, slices), _uncertainty_kind(hdu.header))


def read(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> MaskedImage | Mask:
    """The :class:`MaskedImage` of a CCDData file (a :class:`Mask` when ``hdu`` picks ``MASK``/``FLAGS``)."""
    index = _data_index(hdul, hdu, path)
    main = hdul[index]
    shape, xy0, slices = image_section(hdul, index, bbox, path)
    if _role(hdul, index) in ("mask", "flags", "flag"):
        return _mask_of_hdu(hdul, path, index, slices)
    for i in (_named(hdul, MASK_NAME), _named(hdul, FLAGS_NAME), *_flag_collection(hdul)):
        if i is not None:
            _check_shape(hdul, i, shape, path)
    image = read_pixels(main, slices)
    metadata = clean_header(hdul[0].header) if index != 0 else fits.Header()
    metadata.extend(clean_header(main.header, drop=("BUNIT",)), unique=True)
    wcs = read_wcs(main.header)
    return MaskedImage(
        image,
        mask=_read_mask(hdul, path, slices),
        variance=_read_variance(hdul, path, shape, slices),
        unit=read_unit(main.header),
        wcs=box_wcs(wcs, slices) if bbox is not None else wcs,
        xy0=xy0 if bbox is None else (bbox.x0, bbox.y0),
        metadata=metadata,
    )


# -- write ------------------------------------------------------------------------------------------


def _uncertainty_array(variance: np.ndarray, kind: str) -> np.ndarray:
    variance = np.asarray(variance)
    if kind == "var":
        return variance
    with np.errstate(invalid="ignore", divide="ignore"):
        if kind == "std":
            return np.sqrt(variance)
        return np.where(np.isinf(variance), 0.0, 1.0 / variance).astype(variance.dtype, copy=False)


def _primary(obj: MaskedImage) -> fits.PrimaryHDU:
    header = metadata_header(obj.metadata)
    header.remove("BUNIT", ignore_missing=True, remove_all=True)
    if obj.unit is not None:
        header["BUNIT"] = unit_string(obj.unit)
    header.extend(wcs_cards(obj.wcs), unique=True, update=True)
    if obj.xy0 != (0, 0):
        header.extend(origin_cards(obj.xy0), unique=True, update=True)
    return fits.PrimaryHDU(obj.image, header=header)


def write(
    obj: MaskedImage | Mask,
    path: str,
    *,
    uncertainty: str = "var",
    compression: str | None = None,
) -> dict[str, fits.HDUList]:
    """The HDUs of a CCDData file for a :class:`MaskedImage`.

    Parameters
    ----------
    obj : MaskedImage
        A lone :class:`Mask` cannot be written: a CCDData file holds an image.
    path : str
        Output file name (used in messages and as the key of the result).
    uncertainty : {'var', 'std', 'ivar'}
        How to store the variance in ``UNCERT``: ``VarianceUncertainty``
        (lossless, the default), ``StdDevUncertainty`` or ``InverseVariance``.
    compression : str, optional
        Lossless tile compression for ``MASK`` and ``FLAGS`` (e.g. ``'GZIP_2'``);
        the image stays in the primary HDU, which FITS cannot compress.

    Returns
    -------
    dict
        ``{path: HDUList}``.
    """
    if isinstance(obj, Mask):
        raise FormatError("a CCDData file holds an image; write a lone Mask as 'fits' or 'jwst'", path=path)
    if not isinstance(obj, MaskedImage):
        raise ParameterTypeError(f"can only write a MaskedImage, got {type(obj).__name__}")
    if uncertainty not in UNCERTAINTY_TYPES:
        raise ParameterError(f"uncertainty must be one of {tuple(UNCERTAINTY_TYPES)}, got {uncertainty!r}")
    hdus = [_primary(obj)]
    masked = obj.mask.select().astype(np.uint8)
    hdus.append(make_image_hdu(masked, name=MASK_NAME, compression=mask_compression(masked, compression)))
    unc_header = fits.Header([(UTYPE_KEY, UNCERTAINTY_TYPES[uncertainty])])
    hdus.append(fits.ImageHDU(_uncertainty_array(obj.variance, uncertainty), unc_header, name=UNCERT_NAME))
    if obj.mask.schema != _BOOL_SCHEMA:
        hdus.append(mask_hdu(obj.mask, name=FLAGS_NAME, compression=compression))
    return {path: fits.HDUList(hdus)}


def read_mask(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The mask :func:`read` gives, reading only the ``FLAGS``/``MASK`` HDUs."""
    if hdu is None and bbox is None:
        index = _data_index(hdul, None, path)
        shape = image_shape(hdul[index])
        if len(shape) == 2 and _role(hdul, index) not in ("mask", "flags", "flag"):
            return _read_mask(hdul, path, (slice(0, shape[0]), slice(0, shape[1])))
    return mask_of(read(hdul, path, hdu=hdu, bbox=bbox))
