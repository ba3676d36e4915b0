"""Plain FITS: any image or mask HDU, in any file.

Reading
    The selected HDU (default: the first HDU with a 2-D array) is a *mask*
    when it holds integers and its EXTNAME or the file name says so (``MASK``,
    ``DQ``, ``BPM``, ``FLAG``, ``BADPIX``, ``QUAL``, ``_ood``, ``mask``) or it
    carries plane cards (``MSKN*``, ``MP_*``); otherwise it is an *image*. An
    image is returned as a :class:`MaskedImage`, with the file's ``MASK``/``DQ``
    and ``VARIANCE``/``VAR`` HDUs when it has them (else an all-clear mask of
    the ``rubin`` preset and variance 1). A mask HDU's planes come from its
    ``MSKN*`` or ``MP_*`` cards; without them each bit in use becomes a
    ``BITnn`` plane. BZERO/BSCALE, big-endian data, ``.gz`` files and
    tile-compressed HDUs are handled by astropy.

Writing
    A :class:`MaskedImage` becomes an empty primary (metadata cards), an
    ``IMAGE`` HDU with the sky WCS, a ``MASK`` HDU and a ``VARIANCE`` HDU; a
    :class:`Mask` becomes a primary plus one ``MASK`` HDU. Masks are written
    losslessly tile-compressed (``compression='GZIP_2'`` by default, ``PLIO_1``
    where it is valid, ``None`` for none) with ``MSKN/MSKM/MSKD`` cards. The
    pixel origin is written as ``LTV1/LTV2`` and the linear ``A`` WCS when it
    is not (0, 0).
"""

from __future__ import annotations

import os
import re

import numpy as np
from astropy.io import fits

from ...core.mask import Mask, as_unsigned, included
from ...core.masked_image import Box, MaskedImage
from ...core.presets import get_schema
from ...core.schema import MaskPlane, MaskSchema
from ...errors import FormatError, ParameterTypeError
from .. import cards
from .._image_hdus import box_wcs, metadata_header, read_unit, unit_string
from ..fitsfile import (
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
    parse_fits_name,
    read_pixels,
    read_wcs,
    selected_image,
    wcs_cards,
)

__all__ = ["companions", "describe", "identify", "mask_at", "mask_from_hdu", "read", "read_mask", "units", "write"]

_MASK_NAME = re.compile(r"(MASK|^DQ$|BPM|FLAG|BADPIX|QUAL)", re.IGNORECASE)
_MASK_FILE = re.compile(r"(mask|_ood[_.]|bpm|badpix)", re.IGNORECASE)
_VARIANCE_NAME = re.compile(r"(^|_)(VARIANCE|VAR)$", re.IGNORECASE)


def identify(hdul: fits.HDUList, path: str) -> bool:
    """Plain FITS is the fallback: any file with an image HDU."""
    return any(True for _ in image_hdu_indices(hdul))


def _named_mask(hdu) -> bool:
    """An integer image HDU that is a mask by its own cards or EXTNAME (not only by the file's name)."""
    if not is_image_hdu(hdu) or not is_integer_hdu(hdu):
        return False
    hdr = hdu.header
    return cards.has_msk_cards(hdr) or cards.has_mp_cards(hdr) or bool(_MASK_NAME.search(str(hdr.get("EXTNAME", ""))))


def _is_mask_hdu(hdul: fits.HDUList, index: int, path: str) -> bool:
    hdu = hdul[index]
    if not is_image_hdu(hdu) or not is_integer_hdu(hdu):
        return False
    return _named_mask(hdu) or bool(_MASK_FILE.search(os.path.basename(path)))


def describe(hdul: fits.HDUList, path: str) -> list[dict]:
    return describe_hdus(hdul, lambda i: _kind(hdul, i, path))


def mask_from_hdu(hdu, slices=None, *, path: str = "", index: int = 0, whole_hdu_names: bool = False) -> Mask:
    """A :class:`Mask` from an integer image HDU, its schema from the HDU's own plane cards.

    Without plane cards each bit in use becomes a ``BITnn`` plane: the bits in
    the pixels read, or with ``whole_hdu_names`` the bits used anywhere in the
    HDU (so that a box read has the planes of a full read, at the cost of
    reading the whole HDU).
    """
    if not is_integer_hdu(hdu):
        raise FormatError("HDU holds floating-point data, not an integer mask", path=path, hdu=index)
    shape = image_shape(hdu)
    if len(shape) != 2:
        raise FormatError(f"mask HDU must be 2-D, got shape {shape}", path=path, hdu=index)
    array = as_unsigned(read_pixels(hdu, slices))
    hdr = hdu.header
    label = f"{os.path.basename(path)}[{index}]"
    try:
        if cards.has_msk_cards(hdr):
            schema = cards.schema_from_msk_cards(hdr, name=label)
        elif cards.has_mp_cards(hdr):
            schema = cards.schema_from_mp_cards(hdr, name=label)
        else:
            schema = None
    except ValueError as exc:
        raise FormatError(str(exc), path=path, hdu=index) from None
    if schema is not None and array.dtype.itemsize >= schema.dtype.itemsize:
        schema = MaskSchema(schema.planes, dtype=array.dtype, name=schema.name)  # keep the stored width
    elif schema is not None:  # the cards name bits beyond the stored type: widen
        array = array.astype(schema.dtype)
    if schema is None:
        full = array if not whole_hdu_names or array.shape == shape else as_unsigned(read_pixels(hdu))
        schema = cards.generic_schema(full, name=label)
    return Mask(array, schema, copy=False)


def mask_at(hdul: fits.HDUList, path: str, index: int) -> Mask:
    return mask_from_hdu(hdul[index], path=path, index=index)


_FILTERED = "Outside the CIAO mask filter recorded in the data subspace (MASK value 0)."


def filter_mask_ref(hdul: fits.HDUList, index: int) -> int | None:
    """The HDU a CIAO data-subspace record of HDU ``index`` names as its mask (``DSREFn = ':MASK'``)."""
    header = hdul[index].header
    for key, value in header.items():
        if re.fullmatch(r"\d*DSREF\d+", key) and str(value).startswith(":"):
            name = str(value)[1:].strip().upper()
            for i, hdu in enumerate(hdul):
                if str(hdu.header.get("EXTNAME", "")).strip().upper() == name:
                    return i
    return None


def _kind(hdul: fits.HDUList, index: int, path: str) -> str:
    if _is_mask_hdu(hdul, index, path):
        return "mask"
    return "variance" if _VARIANCE_NAME.search(str(hdul[index].header.get("EXTNAME", ""))) else "image"


def _two_d(hdul: fits.HDUList) -> list[int]:
    return [i for i in image_hdu_indices(hdul) if len(image_shape(hdul[i])) == 2]


def units(hdul: fits.HDUList, path: str) -> list[int]:
    """The HDUs that each hold one image (read with its mask and variance) or, in a file of masks
    alone, one mask: ``[SCI]`` for SCI/DQ/VAR, ``[ccd1, ccd2, ...]`` for a file of CCD masks."""
    two_d = _two_d(hdul)
    kinds = {i: _kind(hdul, i, path) for i in two_d}
    # an HDU named as a mask is not an image of its own even when it holds floats (a CIAO filter record)
    images = [i for i in two_d if kinds[i] == "image" and not _MASK_NAME.search(str(hdul[i].header.get("EXTNAME", "")))]
    if images:
        return images
    masks = [i for i in two_d if kinds[i] == "mask"]
    named = [i for i in masks if _named_mask(hdul[i])]
    return named or masks  # beside a MASK HDU, an integer HDU called mask only by the file (COUNT) is not one


def companions(hdul: fits.HDUList, path: str, index: int) -> list[int]:
    """The mask and variance HDUs read with image HDU ``index``."""
    if _kind(hdul, index, path) != "image":
        return []
    shape = image_shape(hdul[index])
    found = (_companion(hdul, pattern, shape, index, path) for pattern in (_MASK_NAME, _VARIANCE_NAME))
    return [i for i in found if i is not None]


def _owned(hdul: fits.HDUList, candidate: int, image: int) -> bool:
    """Does HDU ``candidate`` belong to image HDU ``image`` by name (``ccd1_MASK`` beside ``ccd1``)
    or by version (``DQ,2`` beside ``SCI,2``)?"""
    own, other = hdul[image].header, hdul[candidate].header
    same_version = own.get("EXTVER", 1) == other.get("EXTVER", 1)  # FITS: EXTVER is 1 when absent
    extname = str(own.get("EXTNAME", "")).strip().upper()
    if extname and str(other.get("EXTNAME", "")).strip().upper().startswith(extname + "_"):
        return same_version
    return "EXTVER" in own and "EXTVER" in other and same_version


def _companion(hdul: fits.HDUList, pattern: re.Pattern, shape, skip: int, path: str) -> int | None:
    """The mask or variance HDU that goes with image HDU ``skip`` (by EXTNAME), shape-checked.

    Where the file holds several images, the companion must be the image's own (by name prefix or
    EXTVER); with one image, the first HDU whose name matches is.
    """
    matches = [
        i for i in image_hdu_indices(hdul) if i != skip and pattern.search(str(hdul[i].header.get("EXTNAME", "")))
    ]
    own = [i for i in matches if _owned(hdul, i, skip)]
    if own:
        found = own[0]
    elif matches and len(units(hdul, path)) <= 1:
        found = matches[0]
    else:
        return None
    if image_shape(hdul[found]) != shape:
        raise FormatError(
            f"shape {image_shape(hdul[found])} differs from the image's {shape} in HDU {skip}", path=path, hdu=found
        )
    return found


def _main_index(hdul: fits.HDUList, path: str, hdu) -> int:
    """The HDU to read: the one selected, else the first of :func:`units`, else the first image."""
    return selected_image(hdul, hdu, path, next(iter(units(hdul, path)), None) if hdu is None else None)


def read(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> MaskedImage | Mask:
    index = _main_index(hdul, path, hdu)
    main = hdul[index]
    shape, xy0, slices = image_section(hdul, index, bbox, path)
    if bbox is not None:
        xy0 = (bbox.x0, bbox.y0)
    if _is_mask_hdu(hdul, index, path):
        return mask_from_hdu(main, slices, path=path, index=index)
    image = read_pixels(main, slices)
    mask_index = _companion(hdul, _MASK_NAME, shape, index, path)
    if mask_index is not None and filter_mask_ref(hdul, index) == mask_index:
        # a CIAO mask filter's record: the MASK HDU holds 1 where the filter includes the pixel
        inside = included(read_pixels(hdul[mask_index], slices)).view(bool)  # NaN is outside, as in CIAO
        mask = Mask.from_bool(~inside, MaskPlane("FILTERED", _FILTERED))
    elif mask_index is not None and is_integer_hdu(hdul[mask_index]):
        mask = mask_from_hdu(hdul[mask_index], slices, path=path, index=mask_index)
    else:
        mask = Mask(image.shape, get_schema("rubin"))
    var_index = _companion(hdul, _VARIANCE_NAME, shape, index, path)
    variance = read_pixels(hdul[var_index], slices) if var_index is not None else None
    wcs = read_wcs(main.header)
    if bbox is not None:
        wcs = box_wcs(wcs, slices)
    metadata = clean_header(hdul[0].header) if index != 0 else fits.Header()
    metadata.extend(clean_header(main.header, drop=("BUNIT", "INHERIT")), unique=True)
    return MaskedImage(
        image,
        mask=mask,
        variance=variance,
        unit=read_unit(main.header),
        wcs=wcs,
        xy0=xy0,
        metadata=metadata,
    )


def mask_hdu(mask: Mask, *, name: str = "MASK", compression: str | None = "GZIP_2", header=None):
    """A ``MASK`` image HDU with ``MSKN/MSKM/MSKD`` cards, losslessly compressed by default."""
    hdr = fits.Header() if header is None else header.copy()
    hdr.extend(cards.msk_cards(mask.schema), unique=True)
    data = mask.array
    return make_image_hdu(data, hdr, name=name, compression=mask_compression(data, compression))


def write_mask(
    mask: Mask, path: str, *, xy0=(0, 0), wcs=None, metadata=None, compression: str | None = "GZIP_2"
) -> dict[str, fits.HDUList]:
    """A mask with an origin and sky WCS (the ``MASK`` HDU :func:`write` gives a masked image), the
    metadata in the primary: the layout of an lsst.images ``MASK`` HDU (``MSKN`` cards)."""
    header = origin_cards(xy0, ltv=True) if tuple(xy0) != (0, 0) else fits.Header()
    header.extend(wcs_cards(wcs), unique=True)
    primary = fits.PrimaryHDU(header=metadata_header(metadata))
    return {path: fits.HDUList([primary, mask_hdu(mask, compression=compression, header=header)])}


def write(
    obj: MaskedImage | Mask, path: str, *, compression: str | None = "GZIP_2", image_compression: str | None = None
) -> dict[str, fits.HDUList]:
    """The HDUs of a plain FITS file (see the module docstring)."""
    if isinstance(obj, Mask):
        return {path: fits.HDUList([fits.PrimaryHDU(), mask_hdu(obj, compression=compression)])}
    if not isinstance(obj, MaskedImage):
        raise ParameterTypeError(f"can only write a Mask or MaskedImage, got {type(obj).__name__}")
    primary = fits.PrimaryHDU(header=metadata_header(obj.metadata))
    geometry = origin_cards(obj.xy0, ltv=True) if obj.xy0 != (0, 0) else fits.Header()
    image_header = geometry.copy()
    image_header.extend(wcs_cards(obj.wcs), unique=True)
    if obj.unit is not None:
        image_header["BUNIT"] = unit_string(obj.unit)
    variance_header = geometry.copy()
    if obj.variance_unit is not None:
        variance_header["BUNIT"] = unit_string(obj.variance_unit)
    return {
        path: fits.HDUList(
            [
                primary,
                make_image_hdu(obj.image, image_header, name="IMAGE", compression=image_compression),
                mask_hdu(obj.mask, compression=compression, header=geometry),
                make_image_hdu(obj.variance, variance_header, name="VARIANCE", compression=image_compression),
            ]
        )
    }


def read_mask(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The mask :func:`read` gives, reading only the mask HDU beside the image."""
    if bbox is None:
        index = _main_index(hdul, path, hdu)
        if not _is_mask_hdu(hdul, index, path):
            shape = image_shape(hdul[index])
            if len(shape) == 2:
                mask_index = _companion(hdul, _MASK_NAME, shape, index, path)
                if mask_index is not None and filter_mask_ref(hdul, index) == mask_index:
                    return mask_of(read(hdul, path, hdu=hdu))  # a CIAO filter record: FILTERED
                if mask_index is not None and is_integer_hdu(hdul[mask_index]):
                    whole = (slice(0, shape[0]), slice(0, shape[1]))
                    return mask_from_hdu(hdul[mask_index], whole, path=path, index=mask_index)
                return Mask(shape, get_schema("rubin"))
    return mask_of(read(hdul, path, hdu=hdu, bbox=bbox))


# -- value images: the CIAO-style images of calc, thresh, region and the mask algebra ---------------


def read_values(name: str) -> tuple[np.ndarray, fits.Header]:
    """Pixels (native order, scaled) and header of one 2-D image HDU: the one selected in the name
    (``f.fits[2]``, ``f.fits[MASK]``) or the first holding an image; the header without the
    cards that describe the HDU rather than its values."""
    from .. import open as open_source

    parsed = parse_fits_name(name)
    with open_source(name, format="fits") as source:
        source.one(hint="")
        hdul = source.hdul
        index = selected_image(hdul, parsed.hdu, parsed.path, next(iter(source.units()), None))
        hdu = hdul[index]
        shape = image_shape(hdu) if hdu.header.get("NAXIS", 0) or hasattr(hdu, "section") else ()
        if len(shape) != 2:
            raise FormatError(f"HDU is not a 2-D image (shape {shape})", path=parsed.path, hdu=index)
        data = read_pixels(hdu)
        header = hdu.header
    return data, clean_header(header, drop_wcs=False)


def values_hdu(array: np.ndarray, header: fits.Header | None) -> fits.PrimaryHDU:
    """``array`` as a primary HDU with ``header``'s cards (booleans as 0/1 bytes, unsigned
    integers through BZERO as FITS stores them)."""
    data = np.asarray(array)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    hdr = fits.Header() if header is None else clean_header(header, drop_wcs=False)
    if data.dtype.kind == "u" and data.dtype.itemsize > 1:  # FITS stores unsigned via BZERO
        return fits.PrimaryHDU(data, header=hdr, uint=True)
    return fits.PrimaryHDU(data, header=hdr)


def is_value_image(hdul: fits.HDUList, path: str, hdu) -> bool:
    """Is the HDU to read a plain image of values: no plane cards, and no mask HDU beside it?"""
    index = find_hdu(hdul, hdu, path) if hdu is not None else next(image_hdu_indices(hdul), None)
    if index is None:
        return False
    header = hdul[index].header
    if cards.has_msk_cards(header) or cards.has_mp_cards(header):
        return False
    return not any(row["kind"] == "mask" and row["index"] != index for row in describe(hdul, path))
