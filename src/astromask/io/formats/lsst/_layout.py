"""lsst.images archives: constants, identification, the JSON tree and where each HDU is."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from ....errors import FormatError
from ... import cards
from ...fitsfile import (
    decoding,
    find_hdu,
    hdu_label,
    image_shape,
    is_image_hdu,
)

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
