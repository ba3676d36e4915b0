"""Rubin/afw legacy ``MaskedImage`` files (``IMAGE``/``MASK``/``VARIANCE`` with ``MP_*`` cards).

Layout
    An empty primary HDU (metadata, ``INHERIT=T``), then the image, mask and
    variance HDUs with ``EXTTYPE``/``EXTNAME`` = ``IMAGE``/``MASK``/``VARIANCE``,
    ``INHERIT=T``, ``LTV1/LTV2 = -x0/-y0``, the linear ``A`` WCS giving the same
    origin, the sky WCS and ``BUNIT``. The mask is ``int32`` and names its
    planes with ``MP_<NAME> = <bit index>`` cards (``HIERARCH MP_<NAME>`` for
    names longer than five characters). afw then appends BinTable "archive"
    HDUs (PSF, SkyWcs, PhotoCalib, ...).

Reading
    The three planes are found by ``EXTTYPE``, else ``EXTNAME``, else by
    position (HDUs 1, 2, 3: afw's own convention). The schema comes from the
    file's own ``MP_*`` cards: **astromask keeps the file's plane names** (it
    does not apply lsst.images' legacy renaming ``SAT`` → ``SATURATED``,
    ``INTRP`` → ``INTERPOLATED``, ...), so KBMOD-style flag names such as
    ``SAT`` or ``INTRP`` resolve, and each file's own bit layout is used (real
    DECam difference images disagree with KBMOD's hard-coded map from bit 9 up).
    Pass ``plane_map={"SAT": "SATURATED", ...}`` to rename planes on read (a
    value of ``None`` drops that plane). A mask with no ``MP_*`` cards gets the
    ``rubin`` preset; the schema's name says which was used (``'afw MP_ cards'``
    or ``'rubin'``). ``int32`` masks with bit 31 set are viewed as ``uint32``.

    The origin comes from ``LTV1/LTV2`` (else the ``A`` WCS), the sky WCS from
    the image HDU, the unit from the image ``BUNIT``. The metadata is the
    primary header without storage keywords, **merged with the image HDU's own
    non-structural cards** (a card in both takes the image HDU's value, as
    ``INHERIT=T`` means); cards of the mask and variance HDUs other than the
    plane table are not kept. Archive tables are ignored (``describe`` lists
    them as ``'table'``); ``AR_HDU`` and ``ARCHIVE_ID*`` cards, which point
    into them, are dropped. With ``hdu=`` naming the mask HDU, only the
    :class:`~astromask.Mask` is read.

Writing
    A :class:`~astromask.MaskedImage` becomes primary + ``IMAGE`` + ``MASK`` +
    ``VARIANCE`` (uncompressed unless ``compression='GZIP_2'``, ``'RICE_1'``,
    ... is given; floats are compressed losslessly); all metadata goes to the
    primary, so a read/write/read cycle gives the same metadata. A lone
    :class:`~astromask.Mask` becomes afw's own mask file (what ``Mask.writeFits``
    writes and ``Mask.readFits`` reads: the first HDU with data is the mask, with
    its ``MP_*`` cards), here the primary then a ``MASK`` HDU; :func:`write_mask`
    writes one with an origin, WCS and metadata. Such a file is read back as a
    Mask. The mask is written
    as ``int32`` (bit 31 as ``-2147483648``); a schema using more than 32 bits
    is refused, afw masks being 32-bit.

Examples
--------
>>> from astromask.io import afw, fitsfile
>>> hdul = fitsfile.open_fits("legacy_afw_style_maskedimage.fits")  # doctest: +SKIP
>>> mi = afw.read(hdul, "legacy_afw_style_maskedimage.fits")       # doctest: +SKIP
>>> mi.xy0, mi.mask.schema.bit("UNMASKEDNAN")                       # doctest: +SKIP
((200, 100), 11)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from astropy.io import fits

from ...core.mask import Mask, as_unsigned
from ...core.masked_image import Box, MaskedImage
from ...core.presets import get_schema
from ...core.schema import MaskSchema
from ...errors import FormatError, ParameterError, ParameterTypeError
from .. import cards
from .._image_hdus import box_wcs, metadata_header, read_unit, unit_string
from ..fitsfile import (
    bbox_slices,
    clean_header,
    find_hdu,
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
    read_xy0,
    wcs_cards,
)

__all__ = ["PLANES", "describe", "identify", "mask_at", "read", "read_mask", "schema_from_header", "write"]

#: The three plane kinds of an afw MaskedImage, in afw's HDU order.
PLANES = ("IMAGE", "MASK", "VARIANCE")
_AFW_MASK_BITS = 32
# Keywords the afw writer puts on every plane HDU; astromask regenerates them.
_PLANE_KEYS = ("EXTTYPE", "INHERIT", "BUNIT", "UZSCALE", "MP_*")
# Primary keywords that point into the archive tables astromask does not read.
_ARCHIVE_KEYS = ("AR_HDU", "ARCHIVE_ID*", "INHERIT")


# -- identification -------------------------------------------------------------------------------


def _is_lsst_images(hdul: fits.HDUList) -> bool:
    primary = hdul[0].header
    return "FMTVER" in primary or "JSONADDR" in primary


def _exttype(hdu) -> str:
    return str(hdu.header.get("EXTTYPE", "")).strip().upper()


def identify(hdul: fits.HDUList, path: str) -> bool:
    """An HDU with ``EXTTYPE`` IMAGE/MASK/VARIANCE, or an integer HDU with ``MP_*`` cards beside images.

    lsst.images files (``FMTVER``/``JSONADDR`` in the primary) are not afw files.
    """
    if _is_lsst_images(hdul):
        return False
    images = [i for i in range(len(hdul)) if is_image_hdu(hdul[i])]
    if any(_exttype(hdul[i]) in PLANES for i in range(len(hdul))):
        return True
    return len(images) >= 2 and any(is_integer_hdu(hdul[i]) and cards.has_mp_cards(hdul[i].header) for i in images)


# -- locating the planes --------------------------------------------------------------------------


def _locate(hdul: fits.HDUList, path: str) -> dict[str, int | None]:
    """HDU index of each plane: by EXTTYPE, else EXTNAME, else position 1, 2, 3."""
    found: dict[str, int | None] = {}
    for plane in PLANES:
        by_type = [i for i in range(1, len(hdul)) if _exttype(hdul[i]) == plane]
        by_name = [i for i in range(1, len(hdul)) if str(hdul[i].header.get("EXTNAME", "")).strip().upper() == plane]
        hits = by_type or by_name
        if len(hits) > 1:
            raise FormatError(f"{len(hits)} {plane} HDUs (HDUs {hits}); an afw file holds one", path=path)
        found[plane] = hits[0] if hits else None
    if all(v is None for v in found.values()):
        # afw's convention (and lsst.images' read_legacy): HDU 1 image, 2 mask, 3 variance
        for position, plane in enumerate(PLANES, start=1):
            found[plane] = position if position < len(hdul) and is_image_hdu(hdul[position]) else None
    return found


def _require(found: dict[str, int | None], plane: str, path: str) -> int:
    index = found[plane]
    if index is None:
        raise FormatError(f"afw file has no {plane} HDU", path=path, hdu=plane)
    return index


# -- schema ---------------------------------------------------------------------------------------


def schema_from_header(
    header: fits.Header, *, plane_map: Mapping[str, str | None] | None = None, path: str = "", hdu=None
) -> MaskSchema:
    """The ``uint32`` schema of an afw mask header: its ``MP_*`` cards, else the ``rubin`` preset.

    Descriptions come from the ``rubin`` preset for the planes it knows.
    ``plane_map`` renames planes (``None`` drops one); names absent from the
    header are ignored, so one map can serve many files.

    >>> hdr = fits.Header([("MP_BAD", 0), ("HIERARCH MP_UNMASKEDNAN", 10)])
    >>> s = schema_from_header(hdr, plane_map={"UNMASKEDNAN": "UNMASKED_NAN"})
    >>> s.bit("UNMASKED_NAN"), s.dtype, s.name
    (10, dtype('uint32'), 'afw MP_ cards')
    """
    rubin = get_schema("rubin")
    if cards.has_mp_cards(header):
        descriptions = {p.name: p.description for p in rubin}
        try:
            found = cards.schema_from_mp_cards(header, descriptions=descriptions)
        except ValueError as exc:
            raise FormatError(f"invalid MP_* cards: {exc}", path=path or None, hdu=hdu) from None
        if found.nbits > _AFW_MASK_BITS:
            raise FormatError(
                f"MP_* cards use bit {found.nbits - 1}; afw masks hold 32 bits", path=path or None, hdu=hdu
            )
        schema = MaskSchema(found.planes, dtype=np.uint32, name="afw MP_ cards")
    else:
        schema = rubin
    if plane_map:
        schema = schema.renamed(plane_map)
    return schema


# -- reading --------------------------------------------------------------------------------------


def _mask(hdu, slices, *, plane_map, path: str, index: int) -> Mask:
    if not is_integer_hdu(hdu):
        raise FormatError("mask HDU holds floating-point data, not an integer mask", path=path, hdu=index)
    schema = schema_from_header(hdu.header, plane_map=plane_map, path=path, hdu=index)
    array = as_unsigned(read_pixels(hdu, slices))
    if array.dtype.itemsize > 4:
        high = int(np.bitwise_or.reduce(array, axis=None)) >> _AFW_MASK_BITS if array.size else 0
        if high:
            raise FormatError("mask values use bits above 31; afw masks are 32-bit", path=path, hdu=index)
    return Mask(array.astype(np.uint32, copy=False), schema, copy=False)


def _metadata(hdul: fits.HDUList, image_index: int) -> fits.Header:
    """Primary cards, then the image HDU's own cards (the image HDU wins where both have a key)."""
    archive = any(isinstance(h, (fits.BinTableHDU, fits.TableHDU)) for h in hdul)
    metadata = _without_blanks(clean_header(hdul[0].header, drop=_ARCHIVE_KEYS))
    if archive:  # afw's *_ID cards are row ids in the archive tables
        for key in [k for k in metadata if k.endswith("_ID") and isinstance(metadata[k], int)]:
            metadata.remove(key, remove_all=True)
    extra = clean_header(hdul[image_index].header, drop=_PLANE_KEYS)
    for card in _without_blanks(extra).cards:
        if card.keyword in ("", "COMMENT", "HISTORY"):
            metadata.append(card, end=True)
        else:
            metadata[card.keyword] = (card.value, card.comment)
    return metadata


def _without_blanks(header: fits.Header) -> fits.Header:
    """``header`` without empty padding cards (blank keyword, blank value)."""
    return fits.Header([c for c in header.cards if c.keyword or str(c.value).strip()])


def read(
    hdul: fits.HDUList,
    path: str,
    *,
    hdu=None,
    bbox: Box | None = None,
    plane_map: Mapping[str, str | None] | None = None,
) -> MaskedImage | Mask:
    """Read an afw legacy file (see the module docstring).

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The open file.
    path : str
        Its name, for messages.
    hdu : int or str, optional
        ``None`` (or the image HDU) reads the MaskedImage; the mask HDU reads
        only the :class:`~astromask.Mask`.
    bbox : Box, optional
        Absolute box to read (only the rows it covers are read).
    plane_map : mapping, optional
        Plane renaming applied on read, e.g. ``{"SAT": "SATURATED"}``.

    Returns
    -------
    MaskedImage or Mask
    """
    found = _locate(hdul, path)
    if hdu is not None:
        index = find_hdu(hdul, hdu, path)
        if index == found["MASK"]:
            return _read_mask_only(hdul, path, index, bbox, plane_map)
        if index not in (0, found["IMAGE"]):
            raise FormatError(
                "afw files are read whole (image HDU) or by their MASK HDU, not this HDU", path=path, hdu=hdu
            )
    if found["IMAGE"] is None and found["MASK"] is not None and found["VARIANCE"] is None:
        return _read_mask_only(hdul, path, found["MASK"], bbox, plane_map)
    image_index = _require(found, "IMAGE", path)
    mask_index = _require(found, "MASK", path)
    variance_index = _require(found, "VARIANCE", path)
    main = hdul[image_index]
    shape, xy0, slices = image_section(hdul, image_index, bbox, path)
    for other in (mask_index, variance_index):
        if image_shape(hdul[other]) != shape:
            raise FormatError(
                f"shape {image_shape(hdul[other])} differs from the image's {shape}", path=path, hdu=other
            )
    wcs = read_wcs(main.header)
    return MaskedImage(
        read_pixels(main, slices),
        mask=_mask(hdul[mask_index], slices, plane_map=plane_map, path=path, index=mask_index),
        variance=read_pixels(hdul[variance_index], slices),
        unit=read_unit(main.header),
        wcs=box_wcs(wcs, slices) if bbox is not None else wcs,
        xy0=xy0 if bbox is None else (bbox.x0, bbox.y0),
        metadata=_metadata(hdul, image_index),
    )


def _read_mask_only(hdul, path: str, index: int, bbox: Box | None, plane_map) -> Mask:
    hdu = hdul[index]
    shape = image_shape(hdu)
    if len(shape) != 2:
        raise FormatError(f"mask must be 2-D, got shape {shape}", path=path, hdu=index)
    slices = bbox_slices(bbox, read_xy0(hdu.header), shape, f"{path}[{index}]")
    return _mask(hdu, slices, plane_map=plane_map, path=path, index=index)


def describe(hdul: fits.HDUList, path: str) -> list[dict]:
    """One ``{'index', 'kind', 'name'}`` row per HDU; archive tables are ``'table'``."""
    found = _locate(hdul, path)
    kinds = {index: plane.lower() for plane, index in found.items() if index is not None}
    rows = []
    for i, hdu in enumerate(hdul):
        if i in kinds:
            kind = kinds[i]
        elif isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
            kind = "table"
        elif is_image_hdu(hdu):
            kind = "image"
        else:
            kind = "header"
        rows.append({"index": i, "kind": kind, "name": str(hdu.header.get("EXTNAME", "PRIMARY" if i == 0 else ""))})
    return rows


def mask_at(hdul: fits.HDUList, path: str, index: int) -> Mask:
    """The mask in HDU ``index`` with the planes of its own ``MP_*`` cards."""
    hdu = hdul[index]
    if not is_image_hdu(hdu) or not is_integer_hdu(hdu):
        raise FormatError("HDU holds no integer mask", path=path, hdu=index)
    return _mask(hdu, None, plane_map=None, path=path, index=index)


# -- writing --------------------------------------------------------------------------------------


def _int32_mask(mask: Mask) -> np.ndarray:
    """The mask as afw's ``int32`` (bit 31 becomes ``-2147483648``)."""
    if mask.schema.nbits > _AFW_MASK_BITS:
        raise ParameterError(
            f"afw masks hold 32 bits, but schema {mask.schema.name or ''!s} uses {mask.schema.nbits} "
            f"(planes {', '.join(mask.schema.names[-3:])} ...); remap it to a schema of at most 32 planes"
        )
    array = mask.array
    if array.dtype.itemsize > 4 and array.size and int(np.bitwise_or.reduce(array, axis=None)) >> _AFW_MASK_BITS:
        raise ParameterError("mask values use bits above 31; afw masks are 32-bit")
    return array.astype(np.uint32, copy=False).view(np.int32)


def _plane_header(exttype: str, xy0: tuple[int, int]) -> fits.Header:
    hdr = fits.Header()
    hdr["INHERIT"] = True
    hdr["EXTTYPE"] = exttype
    hdr.extend(origin_cards(xy0, ltv=True))
    return hdr


def _primary(metadata) -> fits.PrimaryHDU:
    header = metadata_header(metadata, drop=("INHERIT",))
    header["INHERIT"] = True
    return fits.PrimaryHDU(header=header)


def _mask_hdu(mask: Mask, xy0, compression: str | None, wcs=None):
    data = _int32_mask(mask)
    hdr = _plane_header("MASK", xy0)
    hdr.extend(wcs_cards(wcs))
    hdr.extend(cards.mp_cards(mask.schema))
    return make_image_hdu(data, hdr, name="MASK", compression=mask_compression(data, compression))


def write_mask(
    mask: Mask, path: str, *, xy0=(0, 0), wcs=None, metadata=None, compression: str | None = None
) -> dict[str, fits.HDUList]:
    """A mask as afw's mask file: primary (metadata) + ``MASK`` with ``MP_*`` cards, the origin
    (``LTV``, ``A`` WCS) and the sky WCS.

    >>> from astromask.core.presets import get_schema
    >>> mask = Mask(np.zeros((2, 3), np.uint32), get_schema("rubin"))
    >>> hdul = write_mask(mask, "out.fits", xy0=(5, 7), compression="RICE_1")["out.fits"]
    >>> [h.name for h in hdul], hdul["MASK"].header["LTV2"], hdul["MASK"].header["MP_BAD"]
    (['PRIMARY', 'MASK'], -7, 0)
    """
    return {path: fits.HDUList([_primary(metadata), _mask_hdu(mask, xy0, compression, wcs)])}


def write(obj: MaskedImage | Mask, path: str, *, compression: str | None = None) -> dict[str, fits.HDUList]:
    """The HDUs of an afw legacy file.

    Parameters
    ----------
    obj : MaskedImage or Mask
        A lone :class:`~astromask.Mask` is written as afw's mask file
        (primary + ``MASK``).
    path : str
        Output name.
    compression : {None, 'GZIP_1', 'GZIP_2', 'RICE_1', 'PLIO_1', 'HCOMPRESS_1'}
        Tile compression of every plane (default: none, as afw writes).
        Floats are compressed losslessly; ``PLIO_1`` applies to the mask only
        where its values allow it (else ``GZIP_2``).

    Examples
    --------
    >>> from astromask.core.presets import get_schema
    >>> mi = MaskedImage(np.zeros((2, 3), np.float32), schema=get_schema("rubin"), xy0=(5, 7))
    >>> hdul = write(mi, "out.fits")["out.fits"]
    >>> [h.name for h in hdul], hdul["MASK"].header["LTV1"], hdul["MASK"].data.dtype
    (['PRIMARY', 'IMAGE', 'MASK', 'VARIANCE'], -5, dtype('int32'))
    """
    if isinstance(obj, Mask):
        return {path: fits.HDUList([_primary(None), _mask_hdu(obj, (0, 0), compression)])}
    if not isinstance(obj, MaskedImage):
        raise ParameterTypeError(f"can only write a MaskedImage, got {type(obj).__name__}")
    image_header = _plane_header("IMAGE", obj.xy0)
    image_header.extend(wcs_cards(obj.wcs))
    variance_header = _plane_header("VARIANCE", obj.xy0)
    variance_header.extend(wcs_cards(obj.wcs))
    if obj.unit is not None:
        image_header["BUNIT"] = unit_string(obj.unit)
        variance_header["BUNIT"] = unit_string(obj.variance_unit)
    return {
        path: fits.HDUList(
            [
                _primary(obj.metadata),
                make_image_hdu(obj.image, image_header, name="IMAGE", compression=compression),
                _mask_hdu(obj.mask, obj.xy0, compression, obj.wcs),
                make_image_hdu(obj.variance, variance_header, name="VARIANCE", compression=compression),
            ]
        )
    }


def read_mask(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The mask :func:`read` gives, reading only the ``MASK`` HDU."""
    found = _locate(hdul, path)
    if hdu is None and found["MASK"] is not None and found["IMAGE"] is not None:
        return _read_mask_only(hdul, path, found["MASK"], bbox, None)
    return mask_of(read(hdul, path, hdu=hdu, bbox=bbox))
