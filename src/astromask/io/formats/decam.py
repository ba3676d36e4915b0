"""DECam Community Pipeline (CP) image, data-quality and weight files (``ooi``/``ood``/``oow``).

Longer than 500 lines because one CP exposure is three files read and written together, and
the format's own description (below) is a fifth of it; the DQ encodings are
:mod:`.decam_dq`.

Files
    The CP writes three files per exposure: the image ``*_ooi_*``, the
    data-quality (DQ) mask ``*_ood_*`` and the weight map ``*_oow_*`` (inverse
    variance; 0 means no data). Each has an empty primary HDU (``PLVER``,
    ``PROCTYPE``, ``INSTRUME``, ...) and one image HDU per CCD, named by its
    position (``EXTNAME = 'N2'``; ``'ccd1'`` for 90prime). A file is recognised
    by ``_oo[idw]_`` in its name (or astromask's own ``.ood.fits``/``.oow.fits``
    siblings), or by ``PLVER`` and ``PROCTYPE`` (or astromask's ``DQENCODE``)
    in its primary header. Which of the three a file is comes from its name,
    else from ``PRODTYPE`` (``image``/``dqmask``/``wtmap``), else from its pixel
    type (integers: DQ).

DQ encodings
    Integer codes or bit planes, read and written as :mod:`.decam_dq` describes.

Reading
    An image (``ooi``) file is read with its ``ood`` and ``oow`` siblings,
    found by replacing ``_ooi_`` in the name (same directory), as a
    :class:`~astromask.MaskedImage`: ``hdu`` picks the CCD (EXTNAME such as
    ``'N2'``, or an index; default the first image HDU) and the siblings'
    HDU of the same EXTNAME is read. The variance is ``1/weight`` (float64,
    so that writing it back gives the same float32 weights); where the weight
    is 0 the variance is ``inf`` (never NaN) and, when the DQ mask gives no
    reason for it, plane ``NO_DATA`` is set. A missing ``ood`` sibling gives
    an all-clear DQ mask and a missing ``oow`` a variance of 1, each with a
    ``DQNOTE`` card saying so. The origin comes from ``LTV1/LTV2`` (the CP's
    are -1: pixel (0, 0) of a trimmed CCD is detector pixel (1, 1)), the TPV
    sky WCS from the CCD header. The metadata is the primary header merged
    with the CCD header (the CCD's value wins); ``SATURATE``, gains and the
    like stay there.

    A DQ (``ood``) file alone reads as a :class:`~astromask.Mask`. A weight
    (``oow``) file alone reads as a MaskedImage whose *image is the weight
    map*, with an all-clear mask and variance 1 (``DQNOTE`` says so).

Writing
    A MaskedImage written to ``x_ooi_y.fits`` gives three files, the siblings
    named by replacing ``_ooi_`` with ``_ood_`` and ``_oow_`` (a name without
    ``_ooi_``, ``x.fits``, gives ``x.ood.fits`` and ``x.oow.fits``): the image
    (its dtype), the DQ mask as ``int32`` and the weight as ``float32`` =
    ``1/variance``, 0 where the variance is infinite, NaN, not positive or
    ``NO_DATA`` is set. The DQ mask is written in the encoding it was read
    with (``encoding=`` overrides; bits for masks from elsewhere). In code
    mode one code is written per pixel, by the precedence
    :data:`CODE_PRECEDENCE`; ``INTERP`` has no code and is dropped with a
    warning. Planes the ``decam_cp`` preset lacks are dropped with a warning
    (``INTRP``, ``SATURATED``, ``COSMIC_RAY`` and ``INTERPOLATED`` are taken
    as their ``decam_cp`` namesakes). A :class:`~astromask.Mask` writes only
    the DQ file. CCD-level keywords (:data:`CCD_KEYWORDS`) go to the CCD
    header, the rest of the metadata to the primary, so that a read after a
    write gives the same metadata.

Examples
--------
>>> from astromask.io import decam, fitsfile
>>> name = "c4d_170316_062107_ooi_z_ls9.N2.fits"
>>> mi = decam.read(fitsfile.open_fits(name), name)  # doctest: +SKIP
>>> mi.mask.counts()["CR"], mi.metadata["DQRULE"]     # doctest: +SKIP
(177, 'PLVER V4.8.2 >= V3.5')
"""

from __future__ import annotations

import os
import re

import numpy as np
from astropy.io import fits

from ...core.mask import Mask
from ...core.masked_image import Box, MaskedImage
from ...errors import FormatError, ParameterError, ParameterTypeError
from .._image_hdus import box_wcs, metadata_header, read_unit, unit_string
from ..cards import has_mp_cards, has_msk_cards
from ..fitsfile import (
    bbox_slices,
    clean_header,
    find_hdu,
    image_hdu_indices,
    image_shape,
    is_image_hdu,
    is_integer_hdu,
    make_image_hdu,
    mask_compression,
    mask_of,
    open_fits,
    read_pixels,
    read_wcs,
    read_xy0,
    selected_image,
    wcs_cards,
)
from .decam_dq import (
    CODE_PRECEDENCE,
    CODES,
    ENCODINGS,
    _encoding_of,
    _schema,
    _write_encoding,
    decode_dq,
    dq_encoding,
    encode_dq,
    losses,
)

__all__ = [
    "CCD_KEYWORDS",
    "CODES",
    "CODE_PRECEDENCE",
    "decode_dq",
    "describe",
    "dq_encoding",
    "encode_dq",
    "file_role",
    "identify",
    "losses",
    "mask_at",
    "read",
    "read_mask",
    "sibling_path",
    "units",
    "write",
]

#: CP >= V3.5 integer DQ codes and the ``decam_cp`` plane each becomes.
ROLES = ("image", "dq", "weight")
_LETTER = {"image": "i", "dq": "d", "weight": "w"}
_PRODTYPE = {"image": "image", "dq": "dqmask", "weight": "wtmap"}
_ROLE_NAME = re.compile(r"_oo([idw])_")
_FITS_EXT = re.compile(r"(\.fits?|\.fts)?(\.fz|\.gz)?$", re.IGNORECASE)
# Cards astromask puts in the metadata to say how the DQ mask was read; regenerated on write.
_NOTE_KEYS = ("DQENCODE", "DQRULE", "DQNOTE")
_FILE_KEYS = ("INHERIT", "BUNIT", "PRODTYPE")
#: Metadata keywords written to the CCD header (the CP keeps them there); the rest go to the primary.
CCD_KEYWORDS = re.compile(
    r"^(DETPOS|DETECTOR|DETSEC|DETSIZE|CCDNUM|CCDNAME|CCDSEC|DATASEC[AB]?|TRIMSEC[AB]?|BIASSEC[AB]?|AMPSEC[AB]?|"
    r"GAIN[AB]?|RDNOISE[AB]?|SATURAT[EAB]|FLATMED[AB]|ARAWGAIN|FPA|SLOT\d+|NSATPIX|NBLEED|FWHM|ELLIPTIC|"
    r"AVSKY|AVSIG|SKYSIGMA|SKYBRITE|BPM|WTMAP|IMAGEID|AMPID|AMPNUM|RA1|DEC1|CENRA1|CENDEC1|COR\dRA1|COR\dDEC1)$"
)


# -- file names and roles -------------------------------------------------------------------------


def _split_ext(base: str) -> tuple[str, str]:
    m = _FITS_EXT.search(base)
    if m and m.group(0):
        return base[: m.start()], m.group(0)
    stem, ext = os.path.splitext(base)
    return stem, ext


def _role_from_name(path: str) -> str | None:
    base = os.path.basename(path)
    found = list(_ROLE_NAME.finditer(base))
    if found:
        return {"i": "image", "d": "dq", "w": "weight"}[found[-1].group(1)]
    stem, _ = _split_ext(base)
    own = re.search(r"\.oo([dw])$", stem, re.IGNORECASE)
    if own:
        return "dq" if own.group(1).lower() == "d" else "weight"
    return None


def sibling_path(path: str, role: str) -> str:
    """The name of the ``role`` file (``'image'``, ``'dq'``, ``'weight'``) that goes with ``path``.

    ``_ooi_``/``_ood_``/``_oow_`` is swapped where the name has it; otherwise
    ``x.fits`` pairs with ``x.ood.fits`` and ``x.oow.fits``.

    >>> sibling_path("d/c4d_170316_062107_ooi_z_ls9.N2.fits", "dq")
    'd/c4d_170316_062107_ood_z_ls9.N2.fits'
    >>> sibling_path("out.fits.fz", "weight"), sibling_path("out.ood.fits", "image")
    ('out.oow.fits.fz', 'out.fits')
    """
    if role not in ROLES:
        raise ParameterError(f"role must be one of {ROLES}, got {role!r}")
    directory, base = os.path.split(path)
    found = list(_ROLE_NAME.finditer(base))
    if found:
        last = found[-1]
        base = f"{base[: last.start()]}_oo{_LETTER[role]}_{base[last.end() :]}"
    else:
        stem, ext = _split_ext(base)
        stem = re.sub(r"\.oo[dw]$", "", stem, flags=re.IGNORECASE)
        base = stem + ("" if role == "image" else f".oo{_LETTER[role]}") + ext
    return os.path.join(directory, base)


def file_role(hdul: fits.HDUList, path: str) -> str:
    """``'image'``, ``'dq'`` or ``'weight'``: from the name, else ``PRODTYPE``, else the pixel type."""
    role = _role_from_name(path)
    if role is not None:
        return role
    prodtype = str(hdul[0].header.get("PRODTYPE", "")).strip().lower()
    for role, value in _PRODTYPE.items():
        if prodtype == value:
            return role
    first = next(image_hdu_indices(hdul), None)
    return "dq" if first is not None and is_integer_hdu(hdul[first]) else "image"


def _cp_layout(hdul: fits.HDUList) -> bool:
    """One kind of CCD HDU only (all integer or all float), none carrying mask-plane cards.

    Files of other formats that copied a CP header into their metadata mix an
    image with an integer mask HDU (or name planes) and so do not pass.
    """
    images = list(image_hdu_indices(hdul))
    if not images:
        return False
    if len({is_integer_hdu(hdul[i]) for i in images}) != 1:
        return False
    return not any(has_mp_cards(hdul[i].header) or has_msk_cards(hdul[i].header) for i in images)


def identify(hdul: fits.HDUList, path: str) -> bool:
    """A CP product: CCD HDUs of one kind, and ``_oo[idw]_`` in the name or CP cards in the primary.

    CP cards are ``PLVER`` with ``PROCTYPE``, or astromask's own ``DQENCODE``.
    """
    if not _cp_layout(hdul):
        return False
    if _role_from_name(path) is not None:
        return True
    primary = hdul[0].header
    return "DQENCODE" in primary or ("PLVER" in primary and "PROCTYPE" in primary)


# -- reading --------------------------------------------------------------------------------------


def _ccd_index(hdul: fits.HDUList, hdu, path: str) -> int:
    index = selected_image(hdul, hdu, path)
    if hdu is None:
        return index
    if len(image_shape(hdul[index])) != 2:
        raise FormatError(f"CCD image must be 2-D, got shape {image_shape(hdul[index])}", path=path, hdu=hdu)
    return index


def units(hdul: fits.HDUList, path: str) -> list[int]:
    """The CCD HDUs, one image, DQ mask or weight map each, in file order."""
    return [i for i in image_hdu_indices(hdul) if len(image_shape(hdul[i])) == 2]


def _matching_index(hdul: fits.HDUList, main: fits.HDUList, index: int, path: str) -> int:
    """The HDU of a sibling file holding the same CCD (same EXTNAME, else the same index)."""
    extname = str(main[index].header.get("EXTNAME", "")).strip()
    spec = extname if extname and index != 0 else index
    found = find_hdu(hdul, spec, path)
    if image_shape(hdul[found]) != image_shape(main[index]):
        raise FormatError(
            f"shape {image_shape(hdul[found])} differs from the image's {image_shape(main[index])}",
            path=path,
            hdu=spec,
        )
    return found


def _read_dq(hdul, path, index, slices, encoding, fallback_primary=None) -> Mask:
    hdu = hdul[index]
    if not is_integer_hdu(hdu):
        raise FormatError("DQ HDU holds floating-point data, not integer flags", path=path, hdu=index)
    values = read_pixels(hdu, slices)
    if encoding is None:
        primary = hdul[0].header
        if fallback_primary is not None and "PLVER" not in primary and "DQENCODE" not in primary:
            primary = fallback_primary
        encoding, rule = dq_encoding(primary, values)
    else:
        if encoding not in ENCODINGS:
            raise ParameterError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
        rule = "encoding= given"
    return decode_dq(values, encoding, rule=rule, path=path, hdu=index)


def _variance(weight: np.ndarray) -> np.ndarray:
    weight = weight.astype(np.float64)
    variance = np.full(weight.shape, np.inf)
    good = np.isfinite(weight) & (weight > 0)
    np.divide(1.0, weight, out=variance, where=good)
    return variance


def _metadata(hdul: fits.HDUList, index: int) -> fits.Header:
    """Primary cards merged with the CCD header's own (the CCD's value wins)."""
    drop = _FILE_KEYS + _NOTE_KEYS
    metadata = fits.Header([c for c in clean_header(hdul[0].header, drop=drop).cards if _kept(c)])
    if index != 0:
        for card in clean_header(hdul[index].header, drop=drop).cards:
            if not _kept(card):
                continue
            if card.keyword in ("", "COMMENT", "HISTORY"):
                metadata.append(card, end=True)
            else:
                metadata[card.keyword] = (card.value, card.comment)
    return metadata


def _kept(card: fits.Card) -> bool:
    return bool(card.keyword) or bool(str(card.value).strip())  # drop blank padding cards


def _box(hdul, index, bbox, path):
    main = hdul[index]
    xy0 = read_xy0(main.header)
    slices = bbox_slices(bbox, xy0, image_shape(main), f"{path}[{index}]")
    return xy0 if bbox is None else (bbox.x0, bbox.y0), slices


def _no_data_where_unweighted(mask: Mask, variance: np.ndarray) -> None:
    """Set ``NO_DATA`` where the weight is 0 (infinite variance) and the DQ mask gives no reason."""
    no_reason = ~np.isfinite(variance) & ~mask.any_set()
    if no_reason.any():
        mask.set("NO_DATA", no_reason)


def read(
    hdul: fits.HDUList,
    path: str,
    *,
    hdu=None,
    bbox: Box | None = None,
    encoding: str | None = None,
) -> MaskedImage | Mask:
    """Read a CP image (with its DQ and weight siblings), DQ mask or weight map.

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The open file.
    path : str
        Its name; the siblings of an image are looked up beside it.
    hdu : int or str, optional
        The CCD (EXTNAME such as ``'N2'``, or an index); default the first image HDU.
    bbox : Box, optional
        Absolute box to read (only the rows or tiles it covers are read).
    encoding : {None, 'codes', 'bits'}
        Force the DQ encoding instead of deciding it (see the module docstring).

    Returns
    -------
    MaskedImage or Mask
        A Mask for a DQ file, a MaskedImage otherwise.
    """
    index = _ccd_index(hdul, hdu, path)
    xy0, slices = _box(hdul, index, bbox, path)
    role = file_role(hdul, path)
    if role == "dq":
        return _read_dq(hdul, path, index, slices, encoding)
    main = hdul[index]
    wcs = read_wcs(main.header)
    wcs = box_wcs(wcs, slices) if bbox is not None else wcs
    metadata = _metadata(hdul, index)
    pixels = read_pixels(main, slices)
    unit = read_unit(main.header if "BUNIT" in main.header else hdul[0].header)
    if role == "weight":
        metadata["DQNOTE"] = "image holds the CP weight map (inverse variance)"
        return MaskedImage(pixels, schema=_schema("bits", "no DQ file read"), wcs=wcs, xy0=xy0, metadata=metadata)
    mask, notes = _sibling_mask(hdul, path, index, slices, encoding)
    variance, weight_notes = _sibling_variance(hdul, path, index, slices)
    notes += weight_notes
    if variance is not None:
        _no_data_where_unweighted(mask, variance)
    enc = _encoding_of(mask.schema)
    metadata["DQENCODE"] = (enc, "how the CP DQ mask stores flags (codes or bits)")
    metadata["DQRULE"] = (mask.schema.name.split(": ", 1)[-1], "how astromask decided DQENCODE")
    if notes:
        metadata["DQNOTE"] = "; ".join(notes)
    return MaskedImage(
        pixels,
        mask=mask,
        variance=variance,
        unit=unit,
        wcs=wcs,
        xy0=xy0,
        metadata=metadata,
    )


def _sibling_mask(hdul, path, index, slices, encoding) -> tuple[Mask, list[str]]:
    dq_path = sibling_path(path, "dq")
    shape = (slices[0].stop - slices[0].start, slices[1].stop - slices[1].start)
    if not os.path.exists(dq_path):
        if encoding is None:
            encoding, rule = dq_encoding(hdul[0].header)
        else:
            rule = "encoding= given"
        return Mask(shape, _schema(encoding, rule)), [f"no DQ file {os.path.basename(dq_path)}: DQ mask all clear"]
    with open_fits(dq_path) as dq_hdul:
        dq_index = _matching_index(dq_hdul, hdul, index, dq_path)
        return _read_dq(dq_hdul, dq_path, dq_index, slices, encoding, hdul[0].header), []


def _sibling_variance(hdul, path, index, slices) -> tuple[np.ndarray | None, list[str]]:
    weight_path = sibling_path(path, "weight")
    if not os.path.exists(weight_path):
        return None, [f"no weight file {os.path.basename(weight_path)}: variance set to 1"]
    with open_fits(weight_path) as weight_hdul:
        weight_index = _matching_index(weight_hdul, hdul, index, weight_path)
        return _variance(read_pixels(weight_hdul[weight_index], slices)), []


def describe(hdul: fits.HDUList, path: str) -> list[dict]:
    """One ``{'index', 'kind', 'name'}`` row per HDU (DQ rows add the ``'encoding'`` the header implies)."""
    role = file_role(hdul, path)
    kind = {"image": "image", "dq": "mask", "weight": "weight"}[role]
    rows = []
    for i, hdu in enumerate(hdul):
        row = {"index": i, "kind": kind if is_image_hdu(hdu) else "header", "name": str(hdu.header.get("EXTNAME", ""))}
        if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
            row["kind"] = "table"
        if row["kind"] == "mask" and ("PLVER" in hdul[0].header or "DQENCODE" in hdul[0].header):
            row["encoding"] = dq_encoding(hdul[0].header)[0]
        rows.append(row)
    return rows


def mask_at(hdul: fits.HDUList, path: str, index: int) -> Mask:
    """The decoded DQ mask of CCD HDU ``index`` of a DQ (``ood``) file."""
    if file_role(hdul, path) != "dq":
        raise FormatError("is a CP image or weight file; its mask is in the ood file", path=path, hdu=index)
    index = _ccd_index(hdul, index, path)
    return _read_dq(hdul, path, index, None, None)


# -- writing --------------------------------------------------------------------------------------


def _split_metadata(metadata) -> tuple[fits.Header, fits.Header]:
    """(primary cards, CCD cards) of the metadata."""
    header = metadata_header(metadata, drop=_FILE_KEYS + _NOTE_KEYS)
    primary, ccd = fits.Header(), fits.Header()
    for card in header.cards:
        (ccd if CCD_KEYWORDS.match(card.keyword) else primary).append(card, end=True)
    return primary, ccd


def _extname(metadata, extname: str | None) -> str:
    if extname:
        return extname
    if isinstance(metadata, (fits.Header, dict)):
        for key in ("DETPOS", "CCDNAME"):
            value = str(metadata.get(key, "")).strip()
            if value:
                return value
    return "CCD1"


def _weight(obj: MaskedImage) -> np.ndarray:
    variance = np.asarray(obj.variance, dtype=np.float64)
    good = np.isfinite(variance) & (variance > 0)
    if "NO_DATA" in obj.mask.schema:
        good &= ~obj.mask.get("NO_DATA")
    weight = np.zeros(variance.shape, dtype=np.float64)
    np.divide(1.0, variance, out=weight, where=good)
    return weight.astype(np.float32)


def _files(path: str, role: str) -> dict[str, str]:
    if _role_from_name(path) not in (None, role):
        raise ParameterError(f"{path}: a {role} is written to an image (_ooi_) name or a plain name")
    return {r: (path if r == role else sibling_path(path, r)) for r in ROLES}


def write(
    obj: MaskedImage | Mask,
    path: str,
    *,
    encoding: str | None = None,
    compression: str | None = None,
    extname: str | None = None,
) -> dict[str, fits.HDUList]:
    """The image, DQ and weight files of a MaskedImage (only the DQ file of a Mask).

    Parameters
    ----------
    obj : MaskedImage or Mask
    path : str
        The image (``_ooi_``) name; the siblings are derived from it (see
        :func:`sibling_path`). A Mask is written to the ``_ood_`` sibling of an
        ``_ooi_`` name, else to ``path`` itself.
    encoding : {None, 'codes', 'bits'}
        DQ encoding; default: the one the mask was read with, else bits.
    compression : {None, 'GZIP_1', 'GZIP_2', 'RICE_1', 'PLIO_1'}
        Tile compression (default none); floats are compressed losslessly.
    extname : str, optional
        EXTNAME of the CCD HDU; default the metadata's ``DETPOS`` or ``CCDNAME``, else ``'CCD1'``.

    Examples
    --------
    >>> m = decode_dq(np.array([[0, 5]]), "codes")
    >>> out = write(m, "x_ooi_z.fits")
    >>> list(out), out["x_ood_z.fits"][1].data.tolist()
    (['x_ood_z.fits'], [[0, 5]])
    """
    if isinstance(obj, Mask):
        encoding = _write_encoding(obj, encoding)
        target = sibling_path(path, "dq") if _role_from_name(path) == "image" else path
        primary, ccd = fits.Header(), fits.Header()
        dq = encode_dq(obj, encoding)
        return {target: _hdul(primary, ccd, "dq", encoding, dq, (0, 0), None, None, extname or "CCD1", compression)}
    if not isinstance(obj, MaskedImage):
        raise ParameterTypeError(f"can only write a Mask or MaskedImage, got {type(obj).__name__}")
    encoding = _write_encoding(obj, encoding)
    names = _files(path, "image")
    primary, ccd = _split_metadata(obj.metadata)
    name = _extname(obj.metadata, extname)
    arrays = {"image": obj.image, "dq": encode_dq(obj.mask, encoding), "weight": _weight(obj)}
    return {
        names[role]: _hdul(
            primary,
            ccd,
            role,
            encoding,
            arrays[role],
            obj.xy0,
            obj.wcs,
            obj.unit if role == "image" else None,
            name,
            compression,
        )
        for role in ROLES
    }


def _hdul(primary, ccd, role, encoding, data, xy0, wcs, unit, extname, compression) -> fits.HDUList:
    head = primary.copy()
    head["PRODTYPE"] = (_PRODTYPE[role], "Data product type")
    head["DQENCODE"] = (encoding, "CP DQ mask holds codes or bits (astromask)")
    header = fits.Header()
    header["INHERIT"] = (True, "Inherits global header")
    x0, y0 = xy0
    if (x0, y0) != (0, 0):
        header["LTV1"] = (float(-x0), "Detector to image transformation")
        header["LTV2"] = (float(-y0), "Detector to image transformation")
        header["LTM1_1"] = 1.0
        header["LTM2_2"] = 1.0
    header.extend(wcs_cards(wcs))
    if unit is not None:
        header["BUNIT"] = unit_string(unit)
    header.extend(ccd)
    hdu_compression = mask_compression(data, compression) if role == "dq" else compression
    ccd_hdu = make_image_hdu(data, header, name=extname, compression=hdu_compression)
    return fits.HDUList([fits.PrimaryHDU(header=head), ccd_hdu])


def read_mask(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The mask :func:`read` gives an image: its ``ood`` DQ sibling and the ``oow`` weight (a zero
    weight sets ``NO_DATA`` where the DQ mask gives no reason), without reading the image."""
    if bbox is not None or file_role(hdul, path) != "image":
        return mask_of(read(hdul, path, hdu=hdu, bbox=bbox))
    index = _ccd_index(hdul, hdu, path)
    _, slices = _box(hdul, index, None, path)
    mask, _ = _sibling_mask(hdul, path, index, slices, None)
    variance, _ = _sibling_variance(hdul, path, index, slices)
    if variance is not None:
        _no_data_where_unweighted(mask, variance)
    return mask
