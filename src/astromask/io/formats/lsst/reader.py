"""Reading lsst.images archives: origin, unit, pixels, mask planes."""

from __future__ import annotations

import json
import warnings

import numpy as np
from astropy import units as u
from astropy.io import fits

from ....core.mask import Mask, as_unsigned
from ....core.masked_image import Box, MaskedImage
from ....core.schema import MaskPlane, MaskSchema
from ....errors import FormatError
from ... import cards
from ..._image_hdus import box_wcs, read_unit
from ...fitsfile import (
    bbox_slices,
    clean_header,
    find_hdu,
    hdu_label,
    image_shape,
    is_image_hdu,
    mask_of,
    read_pixels,
    read_wcs,
    read_xy0,
)
from ._layout import _CONTAINER_CARDS, _KINDS, PLANES_PER_HDU, _array_ref, _format_version, _Layout, _layout

# ------------------------------------------------------------------------------------------------
# origin, unit, pixels
# ------------------------------------------------------------------------------------------------


def _json_xy0(part: dict | None) -> tuple[int, int] | None:
    if part is None:
        return None
    yx0 = part.get("yx0", part.get("start"))  # 'start' in 30.0.6 files
    if isinstance(yx0, dict) and {"y", "x"} <= yx0.keys():
        return (int(yx0["x"]), int(yx0["y"]))
    if isinstance(yx0, (list, tuple)) and len(yx0) == 2:
        return (int(yx0[1]), int(yx0[0]))
    return None


def _has_origin_cards(header: fits.Header) -> bool:
    return "LTV1" in header or "LTV2" in header or str(header.get("CTYPE1A", "")).strip().upper() == "LINEAR"


def _origin(hdul: fits.HDUList, path: str, layout: _Layout) -> tuple[int, int]:
    """``(x0, y0)`` from the IMAGE header (``LTV`` or linear ``A`` WCS), checked against the JSON tree."""
    header = hdul[layout.first].header
    from_json = _json_xy0(layout.nodes["image"] or layout.nodes["mask"])
    if not _has_origin_cards(header):
        return from_json if from_json is not None else (0, 0)
    from_cards = read_xy0(header)
    if from_json is not None and from_json != from_cards:
        raise FormatError(
            f"the header puts the origin at (x0, y0) = {from_cards}, the JSON tree at {from_json}",
            path=path,
            hdu=hdu_label(hdul, layout.first),
        )
    return from_cards


def _parse_unit(text: str):
    """A JSON unit string: VOUnit (as lsst.images writes it), else astropy's generic format."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        for f in ("vounit", None):
            try:
                return u.Unit(text, format=f, parse_strict="raise")
            except ValueError:
                continue
        return u.Unit(text, parse_strict="silent")  # an unrecognized unit is kept by name


def _unit(hdul: fits.HDUList, layout: _Layout):
    """The image unit: the JSON tree's (VOUnit), else ``BUNIT``."""
    node = layout.nodes["image"]
    if node is not None:
        _, text = _array_ref(node.get("data"))
        if text:
            return _parse_unit(str(text))
    return read_unit(hdul[layout.first].header)


# ------------------------------------------------------------------------------------------------
# mask planes
# ------------------------------------------------------------------------------------------------


def _memory_schema(part: dict | None, path: str) -> MaskSchema | None:
    """The in-memory schema of the JSON tree (``planes`` with placeholders, ``dtype``)."""
    if part is None or not isinstance(part.get("planes"), list):
        return None
    planes: list[MaskPlane | None] = []
    try:
        for entry in part["planes"]:
            planes.append(None if entry is None else MaskPlane(str(entry["name"]), str(entry.get("description", ""))))
        dtype = np.dtype(str(part.get("dtype", "uint8")))
        keep = dtype.kind == "u" and 8 * dtype.itemsize >= len(planes)
        return MaskSchema(planes, dtype=dtype if keep else None, name="lsst.images")
    except (KeyError, TypeError, ValueError) as exc:
        raise FormatError(f"invalid mask schema in the JSON tree ({exc})", path=path, hdu="JSON") from None


def _packed_chunks(schema: MaskSchema) -> list[list[tuple[int, MaskPlane]]]:
    """``(memory bit, plane)`` for each MASK HDU: placeholders dropped, 31 planes per HDU."""
    planes = list(schema.items())
    chunks = [planes[k : k + PLANES_PER_HDU] for k in range(0, len(planes), PLANES_PER_HDU)]
    return chunks or [[]]


def _disk_planes(header: fits.Header, version: int, expected: list[tuple[int, MaskPlane]], where) -> list:
    """``(disk bit, plane)`` of one MASK HDU from its ``MSKN`` cards (the packed JSON order without them)."""
    if not cards.has_msk_cards(header):
        return [(k, plane) for k, (_, plane) in enumerate(expected)]
    try:
        schema = cards.schema_from_msk_cards(header, one_based=version == 0)
    except ValueError as exc:
        raise FormatError(str(exc), path=where[0], hdu=where[1]) from None
    if schema.nbits > PLANES_PER_HDU + 1:
        raise FormatError(f"MSKM cards name bit {schema.nbits - 1} of an int32 mask", path=where[0], hdu=where[1])
    return list(schema.items())


def _copy_bits(source: np.ndarray, pairs: list[tuple[int, int]], dtype: np.dtype, out: np.ndarray | None = None):
    """Move bit ``s`` of ``source`` to bit ``d`` of a ``dtype`` array for each ``(s, d)`` pair.

    Pairs with the same shift are moved together, so a packed layout costs
    one operation per HDU.
    """
    dtype = np.dtype(dtype)
    if out is None:
        out = np.zeros(source.shape, dtype=dtype)
    work = np.promote_types(source.dtype, dtype)
    by_shift: dict[int, int] = {}
    for s, d in pairs:
        by_shift[d - s] = by_shift.get(d - s, 0) | (1 << s)
    for shift, bits in by_shift.items():
        part = (source & source.dtype.type(bits)).astype(work, copy=False)
        part = part << work.type(shift) if shift >= 0 else part >> work.type(-shift)
        out |= part.astype(dtype, copy=False)
    return out


def _read_mask(hdul: fits.HDUList, path: str, layout: _Layout, slices: tuple[slice, slice]) -> Mask:
    """The MASK HDUs merged by plane name into the JSON tree's bit layout."""
    schema = _memory_schema(layout.nodes["mask"], path)
    chunks = _packed_chunks(schema) if schema is not None else [[]] * len(layout.masks)
    if schema is not None and len(chunks) != len(layout.masks):
        raise FormatError(
            f"the JSON schema packs into {len(chunks)} MASK HDUs, the file has {len(layout.masks)}", path=path
        )
    per_hdu = []
    for index, expected in zip(layout.masks, chunks, strict=True):
        where = (path, hdu_label(hdul, index))
        per_hdu.append((index, _disk_planes(hdul[index].header, layout.version, expected, where)))
    if schema is None:  # no JSON tree: the planes of the HDUs in order, packed
        schema = MaskSchema([p for _, planes in per_hdu for _, p in planes], name="lsst.images")
    extra = [p for _, planes in per_hdu for _, p in planes if p.name not in schema]
    if extra:
        try:
            schema = MaskSchema([*schema.planes, *extra], name=schema.name)
        except ValueError as exc:
            raise FormatError(f"MSKN cards name planes the JSON tree lacks: {exc}", path=path) from None
    out = None
    for index, planes in per_hdu:
        disk = as_unsigned(read_pixels(hdul[index], slices))
        pairs = [(bit, schema.bit(p.name)) for bit, p in planes]
        out = _copy_bits(disk, pairs, schema.dtype, out)
    return Mask(out, schema, copy=False)


def _mask_hdu_array(hdul: fits.HDUList, path: str, index: int, slices) -> Mask:
    """The planes of one MASK HDU, from its own ``MSKN`` cards (``BITnn`` planes without them)."""
    hdu = hdul[index]
    if not is_image_hdu(hdu) or len(image_shape(hdu)) != 2:
        raise FormatError("HDU holds no 2-D mask", path=path, hdu=hdu_label(hdul, index))
    version = _format_version(hdul, path)
    disk = read_pixels(hdu, slices)
    if disk.dtype.kind not in "iu":
        raise FormatError(f"mask HDU holds {disk.dtype} data, not integers", path=path, hdu=hdu_label(hdul, index))
    disk = as_unsigned(disk)
    if not cards.has_msk_cards(hdu.header):
        return Mask(disk, cards.generic_schema(disk, name=f"{path}[{index}]"), copy=False)
    planes = _disk_planes(hdu.header, version, [], (path, hdu_label(hdul, index)))
    schema = MaskSchema.from_bits(
        {p.name: bit for bit, p in planes}, {p.name: p.description for _, p in planes}, name=f"{path}[{index}]"
    )
    return Mask(_copy_bits(disk, [(b, b) for b, _ in planes], schema.dtype), schema, copy=False)


# ------------------------------------------------------------------------------------------------
# reading
# ------------------------------------------------------------------------------------------------


def describe(hdul: fits.HDUList, path: str) -> list[dict]:
    """One ``{'index', 'kind'}`` row per HDU (``header``, ``image``, ``mask``, ``variance``, ``table``)."""
    rows = []
    for i in range(len(hdul)):
        hdu = hdul[i]
        name = str(hdu.header.get("EXTNAME", "")).strip().upper()
        if is_image_hdu(hdu):
            kind = _KINDS.get(name, "image")
        elif i == 0:
            kind = "header"
        else:
            kind = "table"
        rows.append({"index": i, "kind": kind})
    return rows


def mask_at(hdul: fits.HDUList, path: str, index: int) -> Mask:
    """The planes stored in MASK HDU ``index``, named by that HDU's own ``MSKN`` cards.

    The bits are those of the file (packed, 31 to an HDU); :func:`read`
    gives the whole mask in its in-memory layout instead.
    """
    return _mask_hdu_array(hdul, path, index, None)


def _metadata(hdul: fits.HDUList, tree: dict | None) -> fits.Header:
    """Primary-header cards without the container cards, plus the JSON tree's ``metadata`` entries.

    JSON entries whose key the header already has are skipped; lists and
    dicts are stored as JSON strings.
    """
    header = clean_header(hdul[0].header, drop=_CONTAINER_CARDS)
    native = tree.get("metadata") if tree is not None else None
    if not isinstance(native, dict):
        return header
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)  # long keys become HIERARCH
        for key, value in native.items():
            if str(key).upper() in header:
                continue
            if isinstance(value, (list, dict)):
                value = json.dumps(value, separators=(",", ":"))
            header[str(key)] = value
    return header


def _read_archive(hdul: fits.HDUList, path: str, bbox: Box | None) -> MaskedImage | Mask:
    layout = _layout(hdul, path)
    shape = image_shape(hdul[layout.first])
    xy0 = _origin(hdul, path, layout)
    slices = bbox_slices(bbox, xy0, shape, path)
    if layout.masks:
        mask = _read_mask(hdul, path, layout, slices)
    else:
        mask = Mask(tuple(s.stop - s.start for s in slices), MaskSchema([]))
    if layout.image is None:  # a bare lsst.images Mask
        return mask
    image = read_pixels(hdul[layout.image], slices)
    variance = read_pixels(hdul[layout.variance], slices) if layout.variance is not None else None
    wcs = read_wcs(hdul[layout.image].header)
    return MaskedImage(
        image,
        mask=mask,
        variance=variance,
        unit=_unit(hdul, layout),
        wcs=wcs if bbox is None else box_wcs(wcs, slices),
        xy0=xy0 if bbox is None else (bbox.x0, bbox.y0),
        metadata=_metadata(hdul, layout.tree),
    )


def read(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> MaskedImage | Mask:
    """Read an lsst.images archive.

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
        The open file.
    path : str
        Its name (for messages).
    hdu : int, str or (str, int), optional
        ``None``, the primary, ``IMAGE`` or ``VARIANCE``: the masked image. A
        ``MASK`` HDU: a :class:`Mask` with that HDU's own planes and bits.
        (A file holding a bare lsst.images ``Mask`` reads as a :class:`Mask`;
        one holding a bare ``Image`` gets an all-clear mask and variance 1.)
    bbox : Box, optional
        Absolute box to read; only the tiles it touches are decompressed.

    Returns
    -------
    MaskedImage or Mask

    Examples
    --------
    >>> from astromask.io import read
    >>> mi = read("calexp.fits", format="lsst")  # doctest: +SKIP
    >>> mi.mask.schema.names  # doctest: +SKIP
    ['BAD', 'SATURATED', 'COSMIC_RAY']
    """
    _format_version(hdul, path)
    if hdu is not None:
        index = find_hdu(hdul, hdu, path)
        name = str(hdul[index].header.get("EXTNAME", "")).strip().upper()
        if name == "MASK":
            slices = bbox_slices(bbox, read_xy0(hdul[index].header), image_shape(hdul[index]), path)
            return _mask_hdu_array(hdul, path, index, slices)
        if index != 0 and name not in ("IMAGE", "VARIANCE"):
            raise FormatError(
                "HDU is not a plane of the masked image; select IMAGE, VARIANCE or a MASK HDU",
                path=path,
                hdu=hdu_label(hdul, index),
            )
    return _read_archive(hdul, path, bbox)


def read_mask(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The mask :func:`read` gives, reading only the ``MASK`` HDUs (merged into the tree's bit layout)."""
    if hdu is None and bbox is None:
        layout = _layout(hdul, path)
        if layout.image is not None and layout.masks:
            shape = image_shape(hdul[layout.first])
            return _read_mask(hdul, path, layout, (slice(0, shape[0]), slice(0, shape[1])))
    return mask_of(read(hdul, path, hdu=hdu, bbox=bbox))
