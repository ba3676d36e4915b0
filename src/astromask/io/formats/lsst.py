"""lsst.images FITS archives (``FMTVER=1``), and the older 30.0.6 layout.

Layout (see ``../shared/reference/lsst-images.md``)
    ======================  ====================================================
    HDU                     content
    ======================  ====================================================
    0 primary (no data)     ``FMTVER``, ``INDXADDR/INDXSIZE``, ``JSONADDR/JSONSIZE``
                            (byte offset and size of the INDEX and JSON HDUs),
                            ``DATE``, ``DATAMODL``, then the metadata cards
    ``IMAGE``               pixels; ``BUNIT``, sky WCS, linear ``A`` WCS origin
    ``MASK`` (EXTVER 1..)   ``int32``, 31 planes per HDU, ``MSKNnnnn``/``MSKMnnnn``/
                            ``MSKDnnnn`` cards numbered from 0 in each HDU
    ``VARIANCE``            like ``IMAGE``, unit squared
    ``JSON``                one ``PB`` column; row 0 is the UTF-8 JSON tree
    ``INDEX``               one row per earlier HDU: name, version, type, addresses
    ======================  ====================================================

Schema authority
    The JSON ``mask.planes`` list (``null`` reserves a bit) and ``mask.dtype``
    define the in-memory bit layout: the plane at list position ``i`` is bit
    ``i``. On disk the placeholders are dropped and the planes are packed 31 to
    an ``int32`` HDU, so a disk bit can differ from the memory bit (schema
    ``[BAD, SATURATED, None, COSMIC_RAY]``: COSMIC_RAY is memory bit 3 but
    ``MSKM0002 = 4``). Reading maps each disk plane to its memory bit by name.

Metadata and WCS
    Metadata is the primary header without the container cards (lsst.images
    shows these as "external" metadata), plus the JSON tree's ``metadata``
    entries. The sky WCS is read from and written to the plane headers as FITS
    cards; astromask writes no ``sky_projection`` into the JSON tree, so
    lsst.images sees no sky projection in files astromask writes.

Other lsst.images files
    lsst.images up to 30.0.7 wrote no ``FMTVER`` (such files are recognised by
    ``JSONADDR``), numbered the ``MSKN`` cards from 1 and called ``yx0``
    ``start`` in the JSON tree; they are read. A file holding a bare
    lsst.images ``Mask`` reads as a :class:`Mask`, one holding a bare ``Image``
    as a :class:`MaskedImage` with an empty mask. Only masked images are
    written, in the current layout.

Writing options
    ``image_compression``, ``mask_compression``, ``variance_compression``
        ``'GZIP_2'`` (default), ``'GZIP_1'``, ``'RICE_1'`` or ``None`` (plain
        ``ImageHDU``); or a dict ``{'algorithm', 'quantize_level', 'seed'}``.
        ``compression`` sets all three at once. GZIP is lossless; ``RICE_1``
        quantizes floating-point planes (``quantize_level``, default 16.0)
        with ``SUBTRACTIVE_DITHER_2``. Masks are always lossless.
    ``dither_seed``
        The seed of each lossy plane (1..10000 used as given, ``-1`` from a
        checksum, ``0`` or ``None``: see ``compression_seed``).
    ``compression_seed``
        Writer-level seed (1..10000) that replaces a plane seed of ``None`` or
        ``0`` and goes up by one after each use, wrapping from 10000 to 1.
        A lossy plane with neither seed is refused; a plane seed of ``0`` with
        no writer seed means astropy's clock-based seed.
"""

from __future__ import annotations

import io
import json
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

from ...core.mask import Mask, as_unsigned
from ...core.masked_image import Box, MaskedImage
from ...core.schema import MaskPlane, MaskSchema
from ...errors import FormatError, ParameterError, ParameterTypeError
from .. import cards
from .._image_hdus import box_wcs, metadata_header, read_unit
from ..fitsfile import (
    bbox_slices,
    clean_header,
    decoding,
    find_hdu,
    hdu_label,
    image_shape,
    is_image_hdu,
    make_image_hdu,
    mask_of,
    origin_cards,
    read_pixels,
    read_wcs,
    read_xy0,
    wcs_cards,
)

__all__ = ["FORMAT_VERSION", "PLANES_PER_HDU", "describe", "identify", "mask_at", "read", "read_mask", "write"]

FORMAT_VERSION = 1
PLANES_PER_HDU = 31  # bits of an int32 that lsst.images uses (the sign bit is left clear)
SCHEMA_BASE = "https://images.lsst.io/schemas"
SCHEMA_VERSION = "1.0.0"
COMPRESSIONS = ("GZIP_2", "GZIP_1", "RICE_1", None)
DEFAULT_QUANTIZE_LEVEL = 16.0
MAX_SEED = 10000

# primary-header cards that describe the container, not the data
_CONTAINER_CARDS = ("FMTVER", "INDXADDR", "INDXSIZE", "JSONADDR", "JSONSIZE", "DATE", "DATAMODL")
_KINDS = {"IMAGE": "image", "MASK": "mask", "VARIANCE": "variance"}
# data types the JSON tree can name (lsst.images NumberType)
_DATATYPES = ("uint8", "uint16", "uint32", "uint64", "int8", "int16", "int32", "int64", "float32", "float64")
_UNSET = object()


def _schema_url(name: str) -> str:
    return f"{SCHEMA_BASE}/{name}-{SCHEMA_VERSION}"


# ------------------------------------------------------------------------------------------------
# identification and versions
# ------------------------------------------------------------------------------------------------


def identify(hdul: fits.HDUList, path: str) -> bool:
    """An lsst.images archive has ``FMTVER`` (current) or ``JSONADDR`` (30.0.6) in its primary header."""
    try:
        header = hdul[0].header
    except (IndexError, OSError, ValueError):
        return False
    return "FMTVER" in header or "JSONADDR" in header


def _format_version(hdul: fits.HDUList, path: str) -> int:
    """``FMTVER`` of the file; 0 for a 30.0.6 file (``JSONADDR`` without ``FMTVER``)."""
    header = hdul[0].header
    if "FMTVER" not in header:
        if "JSONADDR" in header:
            return 0
        raise FormatError("not an lsst.images FITS archive (no FMTVER or JSONADDR card)", path=path, hdu=0)
    try:
        version = cards.card_int(header, "FMTVER")
    except FormatError as exc:
        raise FormatError(str(exc), path=path, hdu=0) from None
    if version > FORMAT_VERSION:
        raise FormatError(
            f"lsst.images container format version FMTVER={version} is newer than this reader "
            f"understands ({FORMAT_VERSION}); update astromask",
            path=path,
            hdu=0,
        )
    return version


# ------------------------------------------------------------------------------------------------
# the JSON tree
# ------------------------------------------------------------------------------------------------


def _load_tree(hdul: fits.HDUList, path: str) -> dict | None:
    """Row 0 of the ``JSON`` HDU, parsed; ``None`` when the file has no JSON HDU."""
    try:
        index = find_hdu(hdul, "JSON", path)
    except FormatError:
        return None
    hdu = hdul[index]
    with decoding(hdu, "table"):
        table = hdu.data
    try:
        cell = table[0]["JSON"]
        tree = json.loads(np.asarray(cell, dtype=np.uint8).tobytes().decode("utf-8"))
    except (KeyError, IndexError, TypeError, ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read the JSON tree ({exc})", path=path, hdu="JSON") from None
    if not isinstance(tree, dict):
        raise FormatError("the JSON tree is not an object", path=path, hdu="JSON")
    for node in (tree, *(v for v in tree.values() if isinstance(v, dict))):
        min_version = node.get("min_read_version", 1)
        if isinstance(min_version, int) and min_version > 1:
            raise FormatError(
                f"the data model needs a reader of version {min_version}; this reader knows version 1",
                path=path,
                hdu="JSON",
            )
    return tree


def _parse_source(source: object, path: str) -> tuple[str, int]:
    """``'fits:MASK,2'`` → ``('MASK', 2)``."""
    if not isinstance(source, str) or not source.startswith("fits:"):
        raise FormatError(f"data reference {source!r} is not of the form 'fits:NAME[,VER]'", path=path, hdu="JSON")
    name, _, ver = source[5:].partition(",")
    try:
        return name.strip().upper(), int(ver) if ver else 1
    except ValueError:
        raise FormatError(f"data reference {source!r} has a non-integer version", path=path, hdu="JSON") from None


def _array_ref(data: object) -> tuple[dict, str | None]:
    """The array reference and unit string of an image ``data`` entry (bare or ``{value, unit}``)."""
    if isinstance(data, dict) and "value" in data and isinstance(data["value"], dict):
        return data["value"], data.get("unit")
    if isinstance(data, dict):
        return data, None
    return {}, None


def _component(tree: dict | None, key: str) -> dict | None:
    part = tree.get(key) if tree is not None else None
    return part if isinstance(part, dict) else None


# ------------------------------------------------------------------------------------------------
# locating HDUs
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Where the planes of one archive are, and the JSON nodes that describe them.

    A masked image has all three planes; a bare lsst.images ``Image`` only
    ``image``, a bare ``Mask`` only ``masks``.
    """

    image: int | None
    masks: tuple[int, ...]
    variance: int | None
    nodes: dict  # 'image', 'mask', 'variance' → JSON node or None
    tree: dict | None
    version: int

    @property
    def first(self) -> int:
        """The HDU whose header gives the origin and sky WCS."""
        return self.image if self.image is not None else self.masks[0]


def _nodes(tree: dict | None) -> dict:
    """The JSON nodes of the planes: a masked image's three, or the top of a bare image or mask tree."""
    if tree is None:
        return {"image": None, "mask": None, "variance": None, "kind": "masked_image"}
    if isinstance(tree.get("image"), dict) or isinstance(tree.get("mask"), dict):
        return {k: _component(tree, k) for k in ("image", "mask", "variance")} | {"kind": "masked_image"}
    if "planes" in tree:
        return {"image": None, "mask": tree, "variance": None, "kind": "mask"}
    return {"image": tree, "mask": None, "variance": None, "kind": "image"}


def _hdu_of(hdul: fits.HDUList, path: str, node: dict | None, name: str) -> int:
    if node is not None and "data" in node:
        ref, _ = _array_ref(node["data"])
        if "source" in ref:
            return find_hdu(hdul, _parse_source(ref["source"], path), path)
    return find_hdu(hdul, name, path)


def _mask_hdu_indices(hdul: fits.HDUList, path: str, node: dict | None) -> tuple[int, ...]:
    refs = node.get("data") if node is not None else None
    if isinstance(refs, list) and refs:
        return tuple(find_hdu(hdul, _parse_source(_array_ref(r)[0].get("source"), path), path) for r in refs)
    found = []
    for i in range(1, len(hdul)):
        hdr = hdul[i].header
        if str(hdr.get("EXTNAME", "")).strip().upper() == "MASK" and is_image_hdu(hdul[i]):
            found.append((int(hdr.get("EXTVER", 1)), i))
    if not found:
        raise FormatError("no MASK HDU", path=path)
    return tuple(i for _, i in sorted(found))


def _layout(hdul: fits.HDUList, path: str) -> _Layout:
    version = _format_version(hdul, path)
    tree = _load_tree(hdul, path)
    nodes = _nodes(tree)
    kind = nodes.pop("kind")
    has_image, has_mask = kind in ("masked_image", "image"), kind in ("masked_image", "mask")
    layout = _Layout(
        image=_hdu_of(hdul, path, nodes["image"], "IMAGE") if has_image else None,
        masks=_mask_hdu_indices(hdul, path, nodes["mask"]) if has_mask else (),
        variance=_hdu_of(hdul, path, nodes["variance"], "VARIANCE") if kind == "masked_image" else None,
        nodes=nodes,
        tree=tree,
        version=version,
    )
    shape = image_shape(hdul[layout.first])
    if len(shape) != 2:
        raise FormatError(f"image must be 2-D, got shape {shape}", path=path, hdu=hdu_label(hdul, layout.first))
    for i in (layout.image, *layout.masks, layout.variance):
        if i is not None and image_shape(hdul[i]) != shape:
            raise FormatError(
                f"shape {image_shape(hdul[i])} differs from {shape} in {hdu_label(hdul, layout.first)}",
                path=path,
                hdu=hdu_label(hdul, i),
            )
    return layout


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


# ------------------------------------------------------------------------------------------------
# writing: options
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Compression:
    """How to store one plane: algorithm (``None``: no compression), quantize level, seed."""

    algorithm: str | None
    quantize_level: float = 0.0
    seed: int | None = None


def _check_seed(seed, what: str) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not -1 <= int(seed) <= MAX_SEED:
        raise ParameterError(f"{what} must be -1, 0 or 1..{MAX_SEED}, got {seed!r}")
    return int(seed)


def _compression(
    option, plane: str, *, quantize_level: float, seed: int | None, floating: bool, what: str
) -> _Compression:
    """Parse one compression option (a name, ``None`` or a dict); ``what`` names it in errors."""
    if isinstance(option, dict):
        unknown = set(option) - {"algorithm", "quantize_level", "seed"}
        if unknown:
            raise ParameterError(f"{what} takes keys 'algorithm', 'quantize_level', 'seed'; got {sorted(unknown)}")
        algorithm = option.get("algorithm")
        level = option.get("quantize_level", _UNSET)
        seed = _check_seed(option.get("seed", seed), f"{what}['seed']")
    else:
        algorithm, level = option, _UNSET
    if isinstance(algorithm, str):
        algorithm = None if algorithm.upper() == "NONE" else algorithm.upper()
    if algorithm not in COMPRESSIONS:
        raise ParameterError(f"{what} must be one of {COMPRESSIONS}, got {algorithm!r}")
    if plane == "mask":
        if level is not _UNSET and level not in (0, 0.0, None):
            raise ParameterError(f"masks are always written losslessly; {what} cannot quantize (got {level!r})")
        return _Compression(algorithm)
    if level is _UNSET:
        level = quantize_level if algorithm == "RICE_1" else 0.0
    level = float(level or 0.0)
    if not floating or algorithm is None:
        return _Compression(algorithm)
    if algorithm == "RICE_1" and level == 0.0:
        raise ParameterError(
            f"{what}: RICE_1 of floating-point pixels needs quantize_level != 0; use GZIP_2 for lossless"
        )
    return _Compression(algorithm, level, seed)


class _Seeds:
    """The writer-level dither seed: replaces a plane seed of None or 0, then counts up (10000 → 1)."""

    def __init__(self, start: int | None) -> None:
        if start is not None and not 1 <= start <= MAX_SEED:
            raise ParameterError(f"compression_seed must be in 1..{MAX_SEED}, got {start!r}")
        self._next = start

    def take(self, seed: int | None, plane: str) -> int:
        if seed not in (None, 0):
            return seed
        if self._next is None:
            if seed == 0:
                return 0  # astropy: seed from the system clock
            raise ParameterError(
                f"lossy compression of the {plane} plane needs a dither seed: "
                f"pass compression_seed=1..{MAX_SEED} (or dither_seed)"
            )
        used, self._next = self._next, self._next % MAX_SEED + 1
        return used


# ------------------------------------------------------------------------------------------------
# writing: HDUs
# ------------------------------------------------------------------------------------------------


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


def _date_card(header: fits.Header) -> None:
    header["DATE"] = (_now(), "UTC date this HDU was written.")


def _unit_strings(unit) -> tuple[str, str]:
    """``(VOUnit string for JSON, FITS string for BUNIT)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        out = []
        for fmt in ("vounit", "fits"):
            try:
                out.append(unit.to_string(fmt))
            except ValueError:
                out.append(unit.to_string())
    return out[0], out[1]


def _datatype(array: np.ndarray, plane: str) -> str:
    name = np.dtype(array.dtype).name
    if name not in _DATATYPES:
        raise ParameterError(f"lsst.images cannot store {plane} pixels of type {array.dtype}; use one of {_DATATYPES}")
    return name


def _ref(name: str, ver: int, array: np.ndarray, plane: str) -> dict:
    source = f"fits:{name}" if ver == 1 else f"fits:{name},{ver}"
    return {"source": source, "shape": list(array.shape), "datatype": _datatype(array, plane), "byteorder": "big"}


def _plane_header(
    name: str,
    xy0: tuple[int, int],
    *,
    ver: int = 1,
    unit: str | None = None,
    planes: fits.Header | None = None,
    wcs: WCS | None = None,
) -> fits.Header:
    """EXTNAME (EXTVER), BUNIT, mask plane cards, sky WCS, origin: the order lsst.images writes."""
    header = fits.Header()
    header["EXTNAME"] = (name, "extension name")
    if ver != 1:
        header["EXTVER"] = ver
    if unit:
        header["BUNIT"] = unit
    if planes is not None:
        header.extend(planes)
    header.extend(wcs_cards(wcs))
    header.extend(origin_cards(xy0))
    return header


def _image_hdu(array: np.ndarray, header: fits.Header, choice: _Compression, seeds: _Seeds, plane: str):
    """The IMAGE or VARIANCE HDU; a lossy choice takes its dither seed from ``seeds``."""
    seed = seeds.take(choice.seed, plane) if choice.quantize_level != 0.0 else None
    _date_card(header)
    return make_image_hdu(
        array,
        header,
        name=header["EXTNAME"],
        compression=choice.algorithm,
        quantize_level=choice.quantize_level,
        dither_seed=seed,
    )


def _mask_hdus(mask: Mask, xy0: tuple[int, int], wcs: WCS | None, choice: _Compression) -> tuple[list, list[dict]]:
    """One int32 MASK HDU per 31 planes (placeholders dropped), with its data references."""
    hdus, refs = [], []
    for k, chunk in enumerate(_packed_chunks(mask.schema)):
        pairs = [(bit, n) for n, (bit, _) in enumerate(chunk)]
        disk = _copy_bits(mask.array, pairs, np.uint32).view(np.int32)
        planes = cards.msk_cards(MaskSchema([p for _, p in chunk], dtype=np.uint32))
        header = _plane_header("MASK", xy0, ver=k + 1, planes=planes, wcs=wcs)
        _date_card(header)
        hdus.append(make_image_hdu(disk, header, name="MASK", compression=choice.algorithm))
        refs.append(_ref("MASK", k + 1, disk, "mask"))
    return hdus, refs


def _primary(metadata) -> fits.PrimaryHDU:
    header = fits.Header()
    header["FMTVER"] = (FORMAT_VERSION, "FITS container layout version.")
    header["INDXADDR"] = (0, "Offset in bytes to the HDU index.")
    header["INDXSIZE"] = (0, "Size of the HDU index.")
    header["JSONADDR"] = (0, "Offset in bytes to the JSON tree HDU.")
    header["JSONSIZE"] = (0, "Size of the JSON tree HDU.")
    _date_card(header)
    header["DATAMODL"] = (_schema_url("masked_image"), "Schema URL.")
    header.extend(metadata_header(metadata, drop=_CONTAINER_CARDS))
    return fits.PrimaryHDU(header=header)


def _json_hdu(tree: dict) -> fits.BinTableHDU:
    payload = json.dumps(tree, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    cell = np.empty(1, dtype=object)
    cell[0] = np.frombuffer(payload, dtype=np.uint8)
    hdu = fits.BinTableHDU.from_columns([fits.Column(name="JSON", format="PB()", array=cell)], name="JSON")
    _date_card(hdu.header)
    return hdu


def _index_hdu(rows: list[tuple]) -> fits.BinTableHDU:
    names, vers, xtensions, zimage, hdr, dat, size = zip(*rows, strict=True) if rows else ((),) * 7
    columns = [
        fits.Column(name="EXTNAME", format="8A", array=np.array(names, dtype="S8")),
        fits.Column(name="EXTVER", format="J", array=np.array(vers, dtype=np.int32)),
        fits.Column(name="XTENSION", format="8A", array=np.array(xtensions, dtype="S8")),
        fits.Column(name="ZIMAGE", format="L", array=np.array(zimage, dtype=bool)),
        fits.Column(name="HDRADDR", format="K", array=np.array(hdr, dtype=np.int64)),
        fits.Column(name="DATADDR", format="K", array=np.array(dat, dtype=np.int64)),
        fits.Column(name="DATSIZE", format="K", array=np.array(size, dtype=np.int64)),
    ]
    hdu = fits.BinTableHDU.from_columns(columns, name="INDEX")
    _date_card(hdu.header)
    return hdu


def _plane_tree(data, xy0: tuple[int, int], name: str, **extra) -> dict:
    node = {"schema_version": SCHEMA_VERSION, "min_read_version": 1, "data": data, "yx0": [xy0[1], xy0[0]]}
    node.update(extra)
    node["schema_url"] = _schema_url(name)
    return node


def _tree(mi: MaskedImage, image_ref: dict, mask_refs: list[dict], variance_ref: dict) -> dict:
    """The JSON tree, in the shape lsst.images writes it."""
    image_data, variance_data = image_ref, variance_ref
    if mi.unit is not None:
        image_data = {"value": image_ref, "unit": _unit_strings(mi.unit)[0]}
        variance_data = {"value": variance_ref, "unit": _unit_strings(mi.variance_unit)[0]}
    planes = [None if p is None else {"name": p.name, "description": p.description} for p in mi.mask.schema.planes]
    return {
        "schema_version": SCHEMA_VERSION,
        "min_read_version": 1,
        "image": _plane_tree(image_data, mi.xy0, "image"),
        "mask": _plane_tree(mask_refs, mi.xy0, "mask", planes=planes, dtype=str(mi.mask.schema.dtype)),
        "variance": _plane_tree(variance_data, mi.xy0, "image"),
        "schema_url": _schema_url("masked_image"),
    }


# ------------------------------------------------------------------------------------------------
# writing: byte layout
# ------------------------------------------------------------------------------------------------


def _serialize(hdul: fits.HDUList) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        hdul.writeto(buffer, output_verify="silentfix")
    return buffer.getvalue()


def _measure(data: bytes) -> tuple[list[tuple], fits.HDUList]:
    """``(EXTNAME, EXTVER, XTENSION, ZIMAGE, HDRADDR, DATADDR, DATSIZE)`` of every HDU of serialized bytes."""
    hdul = fits.open(io.BytesIO(data), disable_image_compression=True, lazy_load_hdus=False)
    rows = []
    for i, hdu in enumerate(hdul):
        info = hdul.fileinfo(i)
        hdr = hdu.header
        xtension = "IMAGE" if i == 0 else str(hdr.get("XTENSION", "")).strip()
        rows.append(
            (
                str(hdr.get("EXTNAME", "")).strip() if i else "",
                int(hdr.get("EXTVER", 1)),
                xtension,
                bool(hdr.get("ZIMAGE", False)),
                int(info["hdrLoc"]),
                int(info["datLoc"]),
                int(info["datSpan"]),
            )
        )
    return rows, hdul


def _span(row: tuple) -> int:
    """Bytes from the start of an HDU's header to the end of its padded data."""
    return row[5] - row[4] + row[6]


def _hdu_bytes(hdu) -> bytes:
    """The serialized bytes of one HDU (a primary alone, or an extension after an empty primary)."""
    if isinstance(hdu, fits.PrimaryHDU):
        return _serialize(fits.HDUList([hdu]))
    data = _serialize(fits.HDUList([fits.PrimaryHDU(), hdu]))
    return data[2880:]  # an empty primary is one header block


def _patch(data: bytearray, row: tuple, replacement: bytes) -> None:
    """Overwrite the HDU at ``row`` with bytes of exactly its size."""
    if len(replacement) != _span(row):
        raise RuntimeError(f"lsst.images writer: HDU {row[0] or 'PRIMARY'} changed size while filling in addresses")
    data[row[4] : row[4] + len(replacement)] = replacement


def _finish(hdus: list) -> fits.HDUList:
    """Append the INDEX HDU and fill in the primary's address cards.

    The file is serialized once with a placeholder index; the offsets are read
    back from those bytes, and the primary header and INDEX HDU (whose sizes do
    not depend on the values) are re-serialized and patched in place, so the
    pixels are compressed only once. The patched bytes are re-read and checked.
    """
    placeholder = _index_hdu([("", 1, "", False, 0, 0, 0)] * len(hdus))
    data = bytearray(_serialize(fits.HDUList([*hdus, placeholder])))
    draft, _ = _measure(bytes(data))
    json_row, index_row = draft[-2:]
    primary = hdus[0]
    primary.header["INDXADDR"] = index_row[4]
    primary.header["INDXSIZE"] = _span(index_row)
    primary.header["JSONADDR"] = json_row[4]
    primary.header["JSONSIZE"] = _span(json_row)
    _patch(data, draft[0], _hdu_bytes(primary))
    _patch(data, index_row, _hdu_bytes(_index_hdu(draft[:-1])))
    measured, hdul = _measure(bytes(data))
    if measured != draft or hdul[-1].header.get("EXTNAME") != "INDEX" or hdul[-2].header.get("EXTNAME") != "JSON":
        raise RuntimeError("lsst.images writer: the HDU byte layout changed while filling in the index")
    return hdul


def write(
    obj: MaskedImage,
    path: str,
    *,
    compression=_UNSET,
    image_compression=_UNSET,
    mask_compression=_UNSET,
    variance_compression=_UNSET,
    quantize_level: float = DEFAULT_QUANTIZE_LEVEL,
    dither_seed: int | None = None,
    compression_seed: int | None = None,
) -> dict[str, fits.HDUList]:
    """The lsst.images FITS archive of a :class:`MaskedImage`.

    Parameters
    ----------
    obj : MaskedImage
        What to write (a bare :class:`Mask` is refused: write it with format
        ``'fits'``).
    path : str
        Output file name.
    compression : {'GZIP_2', 'GZIP_1', 'RICE_1', None} or dict, optional
        Default of the three options below.
    image_compression, mask_compression, variance_compression : {'GZIP_2', 'GZIP_1', 'RICE_1', None} or dict
        Per-plane compression (default ``'GZIP_2'``, lossless); a dict takes
        ``algorithm``, ``quantize_level`` and ``seed``. ``RICE_1`` quantizes
        floating-point pixels; masks are never quantized.
    quantize_level : float
        Quantization level of ``RICE_1`` floating-point planes (default 16.0).
    dither_seed : int, optional
        Dither seed of lossy planes (see the module notes).
    compression_seed : int, optional
        Writer-level seed used where a plane's seed is ``None`` or 0, counting
        up after each use.

    Returns
    -------
    dict
        ``{path: HDUList}``, its INDEX and address cards measured in the bytes
        that HDUList writes.

    Examples
    --------
    >>> import numpy as np, astromask
    >>> mi = astromask.MaskedImage(np.zeros((4, 5), np.float32), schema=astromask.get_schema("rubin"))
    >>> astromask.write(mi, "out.fits", image_compression="RICE_1", compression_seed=7)  # doctest: +SKIP
    """
    if isinstance(obj, Mask):
        raise ParameterError("the lsst format stores masked images; write a bare Mask with format='fits'")
    if not isinstance(obj, MaskedImage):
        raise ParameterTypeError(f"expected a MaskedImage, got {type(obj).__name__}")
    default = "GZIP_2" if compression is _UNSET else compression
    seed = _check_seed(dither_seed, "dither_seed")
    options = {}
    for plane, option, array in (
        ("image", image_compression, obj.image),
        ("mask", mask_compression, obj.mask.array),
        ("variance", variance_compression, obj.variance),
    ):
        options[plane] = _compression(
            default if option is _UNSET else option,
            plane,
            quantize_level=quantize_level,
            seed=seed,
            floating=np.asarray(array).dtype.kind == "f",
            what="compression" if option is _UNSET else f"{plane}_compression",
        )
    seeds = _Seeds(_check_seed(compression_seed, "compression_seed"))
    unit = variance_unit = None
    if obj.unit is not None:
        unit, variance_unit = _unit_strings(obj.unit)[1], _unit_strings(obj.variance_unit)[1]
    image = np.asarray(obj.image)
    variance = np.asarray(obj.variance)
    image_ref = _ref("IMAGE", 1, image, "image")
    variance_ref = _ref("VARIANCE", 1, variance, "variance")
    primary = _primary(obj.metadata)
    image_header = _plane_header("IMAGE", obj.xy0, unit=unit, wcs=obj.wcs)
    image_hdu = _image_hdu(image, image_header, options["image"], seeds, "image")
    mask_hdus, mask_refs = _mask_hdus(obj.mask, obj.xy0, obj.wcs, options["mask"])
    variance_header = _plane_header("VARIANCE", obj.xy0, unit=variance_unit, wcs=obj.wcs)
    variance_hdu = _image_hdu(variance, variance_header, options["variance"], seeds, "variance")
    tree = _tree(obj, image_ref, mask_refs, variance_ref)
    hdus = [primary, image_hdu, *mask_hdus, variance_hdu, _json_hdu(tree)]
    return {path: _finish(hdus)}


def read_mask(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The mask :func:`read` gives, reading only the ``MASK`` HDUs (merged into the tree's bit layout)."""
    if hdu is None and bbox is None:
        layout = _layout(hdul, path)
        if layout.image is not None and layout.masks:
            shape = image_shape(hdul[layout.first])
            return _read_mask(hdul, path, layout, (slice(0, shape[0]), slice(0, shape[1])))
    return mask_of(read(hdul, path, hdu=hdu, bbox=bbox))
