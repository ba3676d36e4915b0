"""JWST-style files: ``SCI``, ``ERR``, ``DQ`` and the ``DQ_DEF`` plane table.

Layout (stdatamodels ``image.schema.yaml`` and ``dq_def.schema.yaml``):

==============  ====================================================================
HDU             content
==============  ====================================================================
primary         metadata, no data
``SCI``         the image (``float32``), ``BUNIT`` and the sky WCS
``ERR``         standard deviation of ``SCI`` (optional)
``VAR_*``       variance terms ``VAR_POISSON``, ``VAR_RNOISE``, ``VAR_FLAT`` (optional)
``DQ``          data quality bits, ``uint32``
``DQ_DEF``      table of the file's own bits: ``BIT`` int32, ``VALUE`` uint32,
                ``NAME`` ascii 40, ``DESCRIPTION`` ascii 80
==============  ====================================================================

Reading
    The plane names come from ``DQ_DEF`` when the file has one (the rule of
    :func:`stdatamodels.dynamicdq.dynamic_mask`: the file's own table wins);
    otherwise from the ``jwst`` preset (``dqflags.pixel``), except in files
    whose ``TELESCOP`` names another telescope (HST writes ``SCI/ERR/DQ``
    too), where each bit in use becomes a ``BITnn`` plane. The variance is
    ``ERR**2``, or the sum of the ``VAR_*`` terms when there is no ``ERR``.
    ``SCI``, ``ERR`` and ``DQ`` are matched by ``EXTVER``. A file with a
    ``DQ`` but no ``SCI`` holds a :class:`~astromask.Mask`.

Writing
    A primary with the metadata, ``SCI`` (``float32``, with ``BUNIT`` and WCS),
    ``ERR = sqrt(variance)``, ``DQ`` (``uint32``, every plane at the bit its
    schema gives it) and ``DQ_DEF`` built from the schema (descriptions cut to
    80 characters). Schemas wider than 32 bits and plane names longer than
    40 characters are refused. A lone :class:`~astromask.Mask` is written as
    ``DQ`` and ``DQ_DEF`` only. A pixel origin other than ``(0, 0)`` is kept as
    the linear ``A`` WCS.

    stdatamodels honours ``DQ_DEF`` only in reference-file models
    (``MaskModel`` remaps through it on load); its ``ImageModel`` takes ``DQ``
    as standard ``dqflags.pixel`` bits. For such readers, remap the mask to
    the ``jwst`` preset before writing (``mask.remap(get_schema("jwst"))``).
"""

from __future__ import annotations

import os
import re

import numpy as np
from astropy.io import fits

from ...core.mask import Mask, as_unsigned
from ...core.masked_image import Box, MaskedImage
from ...core.presets import get_schema
from ...core.schema import MaskSchema
from ...errors import FormatError, ParameterTypeError
from .. import cards
from .._image_hdus import box_wcs, metadata_header, read_unit, unit_string
from ..fitsfile import (
    bbox_slices,
    clean_header,
    describe_hdus,
    find_hdu,
    image_section,
    image_shape,
    is_image_hdu,
    is_integer_hdu,
    make_image_hdu,
    mask_compression,
    mask_of,
    origin_cards,
    read_columns,
    read_pixels,
    read_wcs,
    wcs_cards,
)

__all__ = [
    "companions",
    "describe",
    "dq_def_hdu",
    "identify",
    "mask_at",
    "read",
    "read_mask",
    "schema_from_dq_def",
    "units",
    "write",
    "write_mask",
]

DQ_BITS = 32
NAME_WIDTH = 40
DESCRIPTION_WIDTH = 80
VARIANCE_TERMS = ("VAR_POISSON", "VAR_RNOISE", "VAR_FLAT")
_DQ_DEF_DTYPE = np.dtype(
    [("BIT", ">i4"), ("VALUE", ">u4"), ("NAME", f"S{NAME_WIDTH}"), ("DESCRIPTION", f"S{DESCRIPTION_WIDTH}")]
)
_NOT_A_NAME = re.compile(r"[^A-Za-z0-9_\-]")


# -- HDU lookup -------------------------------------------------------------------------------------


def _extname(hdu) -> str:
    return str(hdu.header.get("EXTNAME", "")).strip().upper()


def _extver(hdu) -> int:
    return int(hdu.header.get("EXTVER", 1))


def _named(hdul: fits.HDUList, name: str, extver: int | None = None) -> int | None:
    """Index of the HDU called ``name`` (with ``extver`` if given), or None."""
    for i, hdu in enumerate(hdul):
        if i > 0 and _extname(hdu) == name and (extver is None or _extver(hdu) == extver):
            return i
    return None


def identify(hdul: fits.HDUList, path: str) -> bool:
    """An HDU named ``DQ`` or ``DQ_DEF``."""
    return _named(hdul, "DQ") is not None or _named(hdul, "DQ_DEF") is not None


def describe(hdul: fits.HDUList, path: str) -> list[dict]:
    """One ``{'index', 'kind'}`` row per HDU."""
    kinds = {"DQ": "mask", "ERR": "variance", "WHT": "weight", **dict.fromkeys(VARIANCE_TERMS, "variance")}
    return describe_hdus(hdul, lambda i: kinds.get(_extname(hdul[i]) if i > 0 else "", "image"))


# -- the plane table --------------------------------------------------------------------------------


def _text(value) -> str:
    return (value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)).strip()


def _row_bit(bit, value, name: str, path: str, index: int) -> int | None:
    """Bit index of one ``DQ_DEF`` row (None for a ``VALUE = 0`` row such as ``GOOD``)."""
    for column, given in (("BIT", bit), ("VALUE", value)):
        whole = isinstance(given, (int, np.integer)) and not isinstance(given, (bool, np.bool_))
        whole |= isinstance(given, (float, np.floating)) and bool(np.isfinite(given)) and given == int(given)
        if given is not None and not whole:
            raise FormatError(f"DQ_DEF row {name!r}: {column} {given!r} is not an integer", path=path, hdu=index)
    value = int(value) & 0xFFFFFFFF if value is not None else None
    if value == 0:
        return None
    if value is not None and value & (value - 1):
        raise FormatError(f"DQ_DEF row {name!r}: VALUE {value} is not a single bit", path=path, hdu=index)
    from_value = None if value is None else value.bit_length() - 1
    if bit is not None and from_value is not None and int(bit) != from_value:
        raise FormatError(f"DQ_DEF row {name!r}: BIT {int(bit)} but VALUE {value}", path=path, hdu=index)
    found = from_value if from_value is not None else int(bit)
    if not 0 <= found < DQ_BITS:
        raise FormatError(f"DQ_DEF row {name!r}: bit {found} is outside 0..31", path=path, hdu=index)
    return found


def _plane_name(text: str, bit: int) -> str:
    name = _NOT_A_NAME.sub("_", text) or f"BIT{bit:02d}"
    return name if not name[0].isdigit() else f"_{name}"


def schema_from_dq_def(hdul: fits.HDUList, path: str, index: int) -> MaskSchema:
    """The schema in a ``DQ_DEF`` table: one plane per row, at the bit its ``VALUE`` (or ``BIT``) gives.

    Rows with ``VALUE = 0`` (``GOOD``) name no bit and are skipped.
    """
    columns = read_columns(hdul[index], path)
    if "NAME" not in columns or not ({"BIT", "VALUE"} & set(columns)):
        raise FormatError("DQ_DEF table needs a NAME column and a BIT or VALUE column", path=path, hdu=index)
    bits: dict[str, int] = {}
    descriptions: dict[str, str] = {}
    for row in range(len(columns["NAME"])):
        text = _text(columns["NAME"][row])
        bit = _row_bit(
            columns["BIT"][row] if "BIT" in columns else None,
            columns["VALUE"][row] if "VALUE" in columns else None,
            text,
            path,
            index,
        )
        if bit is None:
            continue
        name = _plane_name(text, bit)
        if name.upper() in (n.upper() for n in bits):
            raise FormatError(f"DQ_DEF names plane {name!r} twice", path=path, hdu=index)
        bits[name] = bit
        descriptions[name] = _text(columns["DESCRIPTION"][row]) if "DESCRIPTION" in columns else ""
    try:
        return MaskSchema.from_bits(bits, descriptions, dtype=np.uint32, name=f"{os.path.basename(path)}[DQ_DEF]")
    except ValueError as exc:
        raise FormatError(str(exc), path=path, hdu=index) from None


def dq_def_hdu(schema: MaskSchema, *, path: str = "") -> fits.BinTableHDU:
    """The ``DQ_DEF`` table of a schema (at most 32 bits, names of at most 40 characters)."""
    _check_fits_in_dq(schema, path)
    rows = np.zeros(len(schema), dtype=_DQ_DEF_DTYPE)
    for row, (bit, plane) in zip(rows, schema.items()):
        row["BIT"] = bit
        row["VALUE"] = 1 << bit
        row["NAME"] = plane.name.encode("ascii")
        row["DESCRIPTION"] = plane.description.encode("ascii", "replace")[:DESCRIPTION_WIDTH]
    return fits.BinTableHDU(rows, name="DQ_DEF")


def _check_fits_in_dq(schema: MaskSchema, path: str) -> None:
    if schema.nbits > DQ_BITS:
        wide = [p.name for b, p in schema.items() if b >= DQ_BITS]
        raise FormatError(
            f"JWST DQ arrays hold {DQ_BITS} bits; schema {schema.name or ''!s} uses {schema.nbits} "
            f"(planes beyond bit 31: {', '.join(wide)})",
            path=path,
        )
    long = [p.name for p in schema if len(p.name) > NAME_WIDTH]
    if long:
        raise FormatError(f"DQ_DEF names hold {NAME_WIDTH} characters; too long: {', '.join(long)}", path=path)


def _file_schema(hdul: fits.HDUList, path: str, dq: np.ndarray) -> MaskSchema:
    """``DQ_DEF`` when present; the ``jwst`` preset, or ``BITnn`` planes for another telescope."""
    index = _named(hdul, "DQ_DEF")
    if index is not None:
        return schema_from_dq_def(hdul, path, index)
    telescope = str(hdul[0].header.get("TELESCOP", "JWST")).strip().upper()
    if telescope not in ("", "JWST"):
        return cards.generic_schema(dq, name=f"{os.path.basename(path)}[DQ]")
    return get_schema("jwst")


# -- masks ------------------------------------------------------------------------------------------


def _dq_array(hdu, slices, path: str, index: int) -> np.ndarray:
    """The ``DQ`` pixels as ``uint32`` (bits above 31 refused)."""
    if int(hdu.header.get("BITPIX", -32)) < 0:
        raise FormatError("DQ holds floating-point data, not bit flags", path=path, hdu=index)
    if not is_integer_hdu(hdu):
        raise FormatError("DQ holds floating-point data (BITPIX or BSCALE), not integer flags", path=path, hdu=index)
    array = as_unsigned(read_pixels(hdu, slices))
    if array.dtype.itemsize > 4 and array.size and int(np.bitwise_or.reduce(array, axis=None)) >> DQ_BITS:
        raise FormatError("DQ values use bits above 31", path=path, hdu=index)
    return array.astype(np.uint32, copy=False)


def _dq_mask(hdul: fits.HDUList, path: str, index: int, slices) -> Mask:
    hdu = hdul[index]
    shape = image_shape(hdu)
    if len(shape) != 2:
        raise FormatError(f"DQ must be 2-D, got shape {shape}", path=path, hdu=index)
    if slices is None:
        slices = bbox_slices(None, (0, 0), shape, path)
    array = _dq_array(hdu, slices, path, index)
    full = array if array.shape == shape else _dq_array(hdu, None, path, index)
    return Mask(array, _file_schema(hdul, path, full), copy=False)


def mask_at(hdul: fits.HDUList, path: str, index: int) -> Mask:
    """The mask in ``DQ`` HDU ``index``, named by the file's ``DQ_DEF``."""
    if index == 0 or _extname(hdul[index]) != "DQ":
        raise FormatError("is not a DQ HDU", path=path, hdu=index)
    return _dq_mask(hdul, path, index, None)


# -- read -------------------------------------------------------------------------------------------


def _target(hdul: fits.HDUList, hdu, path: str) -> int:
    if hdu is not None:
        index = find_hdu(hdul, hdu, path)
        if not is_image_hdu(hdul[index]):
            raise FormatError("HDU holds no 2-D image", path=path, hdu=hdu)
        return index
    for name in ("SCI", "DQ"):
        index = _named(hdul, name)
        if index is not None:
            return index
    raise FormatError("holds neither a SCI nor a DQ HDU", path=path)


def units(hdul: fits.HDUList, path: str) -> list[int]:
    """Every ``SCI`` HDU (``SCI,1``, ``SCI,2``... each read with its own ``ERR`` and ``DQ``), else every ``DQ``."""
    for name in ("SCI", "DQ"):
        found = [i for i, hdu in enumerate(hdul) if i > 0 and _extname(hdu) == name and is_image_hdu(hdu)]
        if found:
            return found
    return []


def companions(hdul: fits.HDUList, path: str, index: int) -> list[int]:
    """The ``ERR``, ``DQ`` and ``VAR_*`` HDUs of the ``SCI`` HDU ``index``, and the ``DQ_DEF`` table."""
    if _extname(hdul[index]) != "SCI":
        return [i for i in [_named(hdul, "DQ_DEF")] if i is not None]
    extver = _extver(hdul[index])
    names = ("ERR", "DQ", *VARIANCE_TERMS)
    found = [_named(hdul, name, extver) for name in names] + [_named(hdul, "DQ_DEF")]
    return [i for i in found if i is not None]


def _companion(hdul, name: str, extver: int, shape, path: str) -> int | None:
    index = _named(hdul, name, extver)
    if index is not None and image_shape(hdul[index]) != tuple(shape):
        raise FormatError(f"shape {image_shape(hdul[index])} differs from SCI {tuple(shape)}", path=path, hdu=index)
    return index


def _variance(hdul, extver: int, shape, slices, path: str) -> np.ndarray | None:
    err = _companion(hdul, "ERR", extver, shape, path)
    if err is not None:
        return np.square(read_pixels(hdul[err], slices))
    terms = [i for i in (_companion(hdul, n, extver, shape, path) for n in VARIANCE_TERMS) if i is not None]
    if not terms:
        return None
    return np.sum([read_pixels(hdul[i], slices) for i in terms], axis=0)


def read(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> MaskedImage | Mask:
    """The :class:`MaskedImage` of ``SCI`` (a :class:`Mask` when the file, or ``hdu``, is a ``DQ``)."""
    index = _target(hdul, hdu, path)
    main = hdul[index]
    shape, xy0, slices = image_section(hdul, index, bbox, path)
    if index > 0 and _extname(main) == "DQ":
        return _dq_mask(hdul, path, index, slices)
    extver = _extver(main) if index > 0 else 1
    dq = _companion(hdul, "DQ", extver, shape, path)
    image = read_pixels(main, slices)
    if dq is not None:
        mask = _dq_mask(hdul, path, dq, slices)
    else:
        mask = Mask(image.shape, _file_schema(hdul, path, np.zeros((0, 0), np.uint32)))
    metadata = clean_header(hdul[0].header) if index != 0 else fits.Header()
    metadata.extend(clean_header(main.header, drop=("BUNIT",)), unique=True)
    wcs = read_wcs(main.header)
    return MaskedImage(
        image,
        mask=mask,
        variance=_variance(hdul, extver, shape, slices, path),
        unit=read_unit(main.header),
        wcs=box_wcs(wcs, slices) if bbox is not None else wcs,
        xy0=xy0 if bbox is None else (bbox.x0, bbox.y0),
        metadata=metadata,
    )


# -- write ------------------------------------------------------------------------------------------


def _dq_hdu(mask: Mask, header: fits.Header, compression: str | None, path: str):
    _check_fits_in_dq(mask.schema, path)
    array = mask.array
    if array.dtype.itemsize > 4 and array.size and int(np.bitwise_or.reduce(array, axis=None)) >> DQ_BITS:
        raise FormatError("mask values use bits above 31, which a JWST DQ array cannot hold", path=path)
    dq = array.astype(np.uint32)
    return make_image_hdu(dq, header, name="DQ", compression=mask_compression(dq, compression))


def _image_headers(obj: MaskedImage) -> tuple[fits.Header, fits.Header]:
    """Headers of ``SCI`` (unit, WCS, origin) and of ``ERR``/``DQ`` (origin; unit for ``ERR``)."""
    geometry = origin_cards(obj.xy0) if obj.xy0 != (0, 0) else fits.Header()
    sci = geometry.copy()
    err = geometry.copy()
    if obj.unit is not None:
        sci["BUNIT"] = unit_string(obj.unit)
        err["BUNIT"] = unit_string(obj.unit)
    sci.extend(wcs_cards(obj.wcs), unique=True, update=True)
    return sci, err


def write(
    obj: MaskedImage | Mask,
    path: str,
    *,
    compression: str | None = None,
    image_compression: str | None = None,
) -> dict[str, fits.HDUList]:
    """The HDUs of a JWST-style file.

    Parameters
    ----------
    obj : MaskedImage or Mask
        A :class:`Mask` is written as ``DQ`` and ``DQ_DEF`` alone.
    path : str
        Output file name (used in messages and as the key of the result).
    compression : str, optional
        Lossless tile compression of ``DQ`` (JWST files are uncompressed by default).
    image_compression : str, optional
        Tile compression of ``SCI`` and ``ERR`` (lossless: ``quantize_level=0``).

    Returns
    -------
    dict
        ``{path: HDUList}``.
    """
    if isinstance(obj, Mask):
        hdus = [fits.PrimaryHDU(), _dq_hdu(obj, fits.Header(), compression, path), dq_def_hdu(obj.schema, path=path)]
        return {path: fits.HDUList(hdus)}
    if not isinstance(obj, MaskedImage):
        raise ParameterTypeError(f"can only write a Mask or MaskedImage, got {type(obj).__name__}")
    sci_header, err_header = _image_headers(obj)
    with np.errstate(invalid="ignore"):  # a negative variance has no standard deviation: NaN
        err = np.sqrt(np.asarray(obj.variance, dtype=np.float32))
    geometry = origin_cards(obj.xy0) if obj.xy0 != (0, 0) else fits.Header()
    hdus = [
        fits.PrimaryHDU(header=metadata_header(obj.metadata)),
        make_image_hdu(np.asarray(obj.image, np.float32), sci_header, name="SCI", compression=image_compression),
        make_image_hdu(err, err_header, name="ERR", compression=image_compression),
        _dq_hdu(obj.mask, geometry, compression, path),
        dq_def_hdu(obj.mask.schema, path=path),
    ]
    return {path: fits.HDUList(hdus)}


def write_mask(
    mask: Mask, path: str, *, xy0=(0, 0), wcs=None, metadata=None, compression: str | None = None
) -> dict[str, fits.HDUList]:
    """A mask alone as a JWST-style file: primary (the image's metadata), ``DQ`` with the origin and
    the sky WCS of its image, and ``DQ_DEF``.

    >>> from astromask.core.presets import get_schema
    >>> mask = Mask(np.zeros((2, 3), np.uint32), get_schema("jwst"))
    >>> hdul = write_mask(mask, "out.fits", xy0=(5, 7), metadata=fits.Header({"EXPTIME": 30.0}))["out.fits"]
    >>> [h.name for h in hdul], hdul["DQ"].header["CRVAL2A"], hdul[0].header["EXPTIME"]
    (['PRIMARY', 'DQ', 'DQ_DEF'], 7.0, 30.0)
    """
    header = origin_cards(xy0) if tuple(xy0) != (0, 0) else fits.Header()
    header.extend(wcs_cards(wcs), unique=True, update=True)
    hdus = [
        fits.PrimaryHDU(header=metadata_header(metadata)),
        _dq_hdu(mask, header, compression, path),
        dq_def_hdu(mask.schema, path=path),
    ]
    return {path: fits.HDUList(hdus)}


def read_mask(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The mask :func:`read` gives, reading only the ``DQ`` HDU and its ``DQ_DEF`` table."""
    if hdu is None and bbox is None:
        index = _target(hdul, None, path)
        main = hdul[index]
        shape = image_shape(main)
        if len(shape) == 2 and not (index > 0 and _extname(main) == "DQ"):
            dq = _companion(hdul, "DQ", _extver(main) if index > 0 else 1, shape, path)
            if dq is None:
                return Mask(shape, _file_schema(hdul, path, np.zeros((0, 0), np.uint32)))
            return _dq_mask(hdul, path, dq, (slice(0, shape[0]), slice(0, shape[1])))
    return mask_of(read(hdul, path, hdu=hdu, bbox=bbox))
