"""Writing lsst.images archives: compression options, the HDUs, the JSON tree and the byte layout."""

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

from ....core.mask import Mask
from ....core.masked_image import MaskedImage
from ....core.schema import MaskSchema
from ....errors import ParameterError, ParameterTypeError
from ... import cards
from ..._image_hdus import metadata_header
from ...fitsfile import (
    make_image_hdu,
    origin_cards,
    wcs_cards,
)
from ._layout import (
    _CONTAINER_CARDS,
    _DATATYPES,
    _UNSET,
    COMPRESSIONS,
    DEFAULT_QUANTIZE_LEVEL,
    FORMAT_VERSION,
    MAX_SEED,
    SCHEMA_VERSION,
    _schema_url,
)
from .reader import _copy_bits, _packed_chunks

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
        hdus.append(make_image_hdu(disk, header, name="MASK", compression=choice.algorithm, row_tiles=True))
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
