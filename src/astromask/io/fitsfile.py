"""FITS plumbing shared by every format: extended file names, HDU lookup, headers, WCS,
pixel origin, compression choices, sections and atomic writes."""

from __future__ import annotations

import bz2
import functools
import gzip
import math
import mmap
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..errors import FormatError, OutputError, OutputExistsError, ParameterError
from ..mask import Mask
from ..masked_image import Box, MaskedImage

__all__ = [
    "FitsName",
    "bbox_slices",
    "check_writable",
    "clean_header",
    "describe_hdus",
    "find_hdu",
    "hdu_label",
    "image_hdu_indices",
    "image_shape",
    "is_image_hdu",
    "make_image_hdu",
    "mask_compression",
    "open_fits",
    "origin_cards",
    "parse_fits_name",
    "provenance_cards",
    "read_pixels",
    "read_wcs",
    "read_xy0",
    "record_provenance",
    "wcs_cards",
    "write_atomic",
]

# HDU selector: an index, an EXTNAME, or (EXTNAME, EXTVER)
HduSpec = int | str | tuple[str, int] | None

_BRACKET = re.compile(r"^(?P<path>.+?)\[(?P<spec>[^\[\]]*)\]$")
_PLUS = re.compile(r"^(?P<path>.+?)\+(?P<num>\d+)$")


@dataclass(frozen=True)
class FitsName:
    """A file name split into its path and CFITSIO HDU selector."""

    path: str
    hdu: HduSpec = None

    def __str__(self) -> str:
        if self.hdu is None:
            return self.path
        if isinstance(self.hdu, tuple):
            return f"{self.path}[{self.hdu[0]},{self.hdu[1]}]"
        return f"{self.path}[{self.hdu}]"


def _parse_spec(spec: str, name: str) -> HduSpec:
    spec = spec.strip()
    if not spec:
        raise FormatError(f"empty HDU selector in {name!r}")
    if spec.lstrip("+").isascii() and spec.lstrip("+").isdigit():
        return int(spec)
    if "," in spec:
        ext, _, ver = spec.rpartition(",")
        if not (ver.strip().isascii() and ver.strip().isdigit()):
            raise FormatError(f"HDU selector {spec!r} in {name!r}: EXTVER must be an integer")
        return (ext.strip(), int(ver))
    if spec.upper() in ("PRIMARY", "P"):
        return 0
    return spec


def parse_fits_name(name: str | os.PathLike) -> FitsName:
    """Split ``f.fits[1]``, ``f.fits[SCI]``, ``f.fits[SCI,2]`` or ``f.fits+1`` (CFITSIO syntax).

    A name that exists as a file is taken literally.

    >>> parse_fits_name("img.fits[SCI,2]")
    FitsName(path='img.fits', hdu=('SCI', 2))
    >>> parse_fits_name("img.fits.fz+1").hdu
    1
    """
    name = os.fspath(name)
    if os.path.exists(name):
        return FitsName(name)
    m = _BRACKET.match(name)
    if m:
        return FitsName(m.group("path"), _parse_spec(m.group("spec"), name))
    m = _PLUS.match(name)
    if m:
        return FitsName(m.group("path"), int(m.group("num")))
    return FitsName(name)


def open_fits(path: str) -> fits.HDUList:
    """Open a FITS file (plain, ``.gz``, ``.fz``/tile-compressed) lazily, with clear errors."""
    if not os.path.exists(path):
        raise FormatError("no such file", path=path)
    if os.path.isdir(path):
        raise FormatError("is a directory, not a FITS file", path=path)
    with warnings.catch_warnings():  # astropy warns of a cut file or header; check_complete raises instead
        warnings.filterwarnings("ignore", message="File may have been truncated")
        warnings.filterwarnings("ignore", message="Error validating header for HDU")
        warnings.filterwarnings("ignore", message="Unexpected extra padding")  # check_structure says why
        try:
            hdul = fits.open(path, memmap=False, lazy_load_hdus=True, mode="readonly")
        except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:
            raise FormatError(f"not a readable FITS file ({exc})", path=path) from None
        try:
            try:
                len(hdul)  # parse every header now: a cut or garbled one is an error here, not later
            except (OSError, ValueError, TypeError, IndexError, KeyError) as exc:  # KeyError: a missing NAXISn
                raise FormatError(f"not a readable FITS file ({exc})", path=path) from None
            check_structure(hdul, path)
            check_complete(hdul, path)
        except BaseException:
            hdul.close()
            raise
    return hdul


_FITS_BLOCK = 2880  # bytes: headers and data are padded to whole blocks
_OPENERS = {"gzip": gzip.open, "bzip2": bz2.open}


def _decompressed_size(path: str, compression: str) -> int:
    """Bytes in the decompressed stream of a gzip or bzip2 file; a cut or corrupt stream is an error.

    Decompressed once per file version: a command opens its input more than once.
    """
    stat = os.stat(path)
    return _stream_size(os.path.realpath(path), stat.st_mtime_ns, stat.st_size, compression)


@functools.lru_cache(maxsize=64)
def _stream_size(path: str, mtime_ns: int, size: int, compression: str) -> int:
    opener = _OPENERS.get(compression)
    if opener is None:  # zip, lzma: astropy reads them whole; nothing to learn here
        return 1 << 62
    total = 0
    try:
        with opener(path, "rb") as stream:
            while block := stream.read(1 << 22):
                total += len(block)
    except (EOFError, OSError, ValueError) as exc:  # gzip.BadGzipFile is an OSError
        raise FormatError(f"the {compression} stream is cut or corrupt ({exc})", path=path) from None
    return total


def _stored_size(hdu) -> int | None:
    """Bytes of data the header of ``hdu`` declares (no padding), or None if it cannot say."""
    if isinstance(hdu, fits.CompImageHDU):  # the binary table that holds the tiles
        table = getattr(hdu, "_bintable", None)
        return None if table is None else int(table.size)
    return int(hdu.size)


_BITPIX = (8, 16, 32, 64, -32, -64)


def _structural_int(header: fits.Header, key: str, path: str, label: str, low: int, high: int | None = None) -> int:
    value = header.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise FormatError(f"HDU {label}: card {key} = {value!r} is not an integer", path=path)
    if value < low or (high is not None and value > high):
        span = f"is outside {low}..{high}" if high is not None else f"must be >= {low}"
        raise FormatError(f"HDU {label}: card {key} = {value} {span}", path=path)
    return int(value)


def check_structure(hdul: fits.HDUList, path: str) -> None:
    """Refuse impossible structural cards (FITS standard §4.4.1), naming the HDU and the card:
    BITPIX not one of 8, 16, 32, 64, -32, -64; NAXIS outside 0..999; a negative NAXISn; PCOUNT < 0;
    GCOUNT < 1; an image extension with PCOUNT or GCOUNT other than 0 and 1."""
    for index in range(len(hdul)):
        header = hdul[index].header
        label = hdu_label(hdul, index)
        if isinstance(hdul[index], fits.CompImageHDU):  # the binary table holding the tiles: its own cards
            table = getattr(hdul[index], "_bintable", None)
            if table is not None:
                for key in ("NAXIS1", "NAXIS2", "PCOUNT", "TFIELDS"):
                    if key in table.header:
                        _structural_int(table.header, key, path, label, 0)
                _structural_int(table.header, "GCOUNT", path, label, 1)
            naxis = _structural_int(header, "NAXIS", path, label, 0, 999)  # the image cards, from ZNAXISn
            for axis in range(1, naxis + 1):
                _structural_int(header, f"NAXIS{axis}", path, label, 0)
            continue
        bitpix = header.get("BITPIX")
        if bitpix not in _BITPIX or isinstance(bitpix, bool):
            raise FormatError(f"HDU {label}: card BITPIX = {bitpix!r} is not one of {_BITPIX}", path=path)
        naxis = _structural_int(header, "NAXIS", path, label, 0, 999)
        for axis in range(1, naxis + 1):
            _structural_int(header, f"NAXIS{axis}", path, label, 0)
        if index > 0:
            pcount = _structural_int(header, "PCOUNT", path, label, 0)
            gcount = _structural_int(header, "GCOUNT", path, label, 1)
            if isinstance(hdul[index], fits.ImageHDU) and (pcount, gcount) != (0, 1):
                raise FormatError(
                    f"HDU {label}: an image extension needs PCOUNT = 0 and GCOUNT = 1, got {pcount} and {gcount}",
                    path=path,
                )


def check_complete(hdul: fits.HDUList, path: str) -> None:
    """Refuse a file whose HDUs declare more data than it holds (a cut download, ``head -c``).

    Only the headers are read. The FITS padding after the last HDU's data may be missing
    (some writers omit it); a byte of data missing is an error naming the HDU and the sizes.
    A gzip or bzip2 file is decompressed once, in blocks, to learn its size and check its stream
    (astropy reads a cut stream as a shorter file without a word).
    """
    first = hdul.fileinfo(0)
    if not first:
        return
    compression = getattr(first["file"], "compression", None)
    available = _decompressed_size(path, compression) if compression else int(first["file"].size)
    for index in range(len(hdul)):
        info = hdul.fileinfo(index)
        if not info:
            continue
        size = _stored_size(hdul[index])
        if size is None:  # at least the padded span less one block's padding must be there
            size = max(0, int(info["datSpan"]) - _FITS_BLOCK + 1)
        end = int(info["datLoc"]) + size
        if end > available:
            raise FormatError(
                f"truncated: HDU {hdu_label(hdul, index)} declares {size} bytes of data ending at byte {end}, "
                f"but the file has {available} bytes",
                path=path,
            )
    info = hdul.fileinfo(len(hdul) - 1)
    if info:  # astropy drops an extension whose header is cut or garbled: say so instead
        tail = int(info["datLoc"]) + int(info["datSpan"])
        if tail < available:
            handle = info["file"]
            where = handle.tell()
            handle.seek(tail)
            start = handle.read(8)
            handle.seek(where)
            if start == b"XTENSION":
                raise FormatError(
                    f"HDU {len(hdul)} starting at byte {tail} has a cut or unreadable header "
                    f"(the file has {len(hdul)} readable HDUs before it)",
                    path=path,
                )


def mask_of(obj: MaskedImage | Mask) -> Mask:
    """The mask of a masked image, or the mask itself."""
    return obj.mask if isinstance(obj, MaskedImage) else obj


def hdu_label(hdul: fits.HDUList, index: int) -> str:
    """``'1 (MASK,2)'``-style label used in messages and ``astromask info``."""
    hdr = hdul[index].header
    name = hdr.get("EXTNAME", "PRIMARY" if index == 0 else "")
    ver = hdr.get("EXTVER", 1)
    return f"{index} ({name},{ver})" if name and ver != 1 else f"{index} ({name})" if name else str(index)


def _available(hdul: fits.HDUList) -> str:
    return ", ".join(hdu_label(hdul, i) for i in range(len(hdul)))


def find_hdu(hdul: fits.HDUList, spec: HduSpec, path: str) -> int:
    """Index of the HDU selected by ``spec`` (index, EXTNAME or (EXTNAME, EXTVER), case-insensitive)."""
    n = len(hdul)
    if isinstance(spec, (int, np.integer)):
        if not 0 <= int(spec) < n:
            raise FormatError(f"no HDU {spec}; the file has {n} HDUs: {_available(hdul)}", path=path)
        return int(spec)
    if isinstance(spec, str):
        name, ver = spec, None
    elif isinstance(spec, tuple) and len(spec) == 2:
        name, ver = spec
    else:
        raise FormatError(f"invalid HDU selector {spec!r}", path=path)
    for i in range(n):
        hdr = hdul[i].header
        extname = str(hdr.get("EXTNAME", "PRIMARY" if i == 0 else "")).strip()
        if extname.upper() == str(name).strip().upper() and (ver is None or int(hdr.get("EXTVER", 1)) == int(ver)):
            return i
    what = f"{name},{ver}" if ver is not None else name
    raise FormatError(f"no HDU named {what}; the file has: {_available(hdul)}", path=path)


def is_image_hdu(hdu) -> bool:
    """True for a primary, image or tile-compressed HDU holding a 2-D or larger array."""
    if isinstance(hdu, fits.CompImageHDU):
        return hdu.header.get("NAXIS", 0) >= 2
    if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU)):
        return hdu.header.get("NAXIS", 0) >= 2
    return False


def image_shape(hdu) -> tuple[int, ...]:
    """Array shape of an image HDU (numpy order) from its header, without reading pixels."""
    hdr = hdu.header
    return tuple(int(hdr[f"NAXIS{k}"]) for k in range(hdr.get("NAXIS", 0), 0, -1))


def image_hdu_indices(hdul: fits.HDUList) -> Iterator[int]:
    return (i for i in range(len(hdul)) if is_image_hdu(hdul[i]))


def describe_hdus(hdul: fits.HDUList, image_kind) -> list[dict]:
    """One ``{'index', 'kind'}`` row per HDU: ``'table'``, ``'header'`` (no image), or ``image_kind(index)``."""
    rows = []
    for i, hdu in enumerate(hdul):
        if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
            kind = "table"
        elif not is_image_hdu(hdu):
            kind = "header"
        else:
            kind = image_kind(i)
        rows.append({"index": i, "kind": kind})
    return rows


def bbox_slices(box: Box | None, xy0: tuple[int, int], shape: tuple[int, int], where: str) -> tuple[slice, slice]:
    """Local slices of an absolute ``box`` inside an image at origin ``xy0``; errors name ``where``."""
    if box is None:
        return (slice(0, shape[0]), slice(0, shape[1]))
    x0, y0 = xy0
    full = Box(y0, y0 + shape[0], x0, x0 + shape[1])
    if not full.contains(box):
        raise FormatError(f"requested box {box} is outside the image bbox {full}", path=where)
    return box.slices(xy0)


_STORED_FLOATS = ContextVar("stored_floats", default=False)


@contextmanager
def stored_float_order() -> Iterator[None]:
    """Within this block, :func:`read_pixels` returns floating-point pixels in the file's byte order.

    For readers that only set pixels and write them back (the stack's second
    pass): the big-endian arrays FITS stores are then neither swapped on
    reading nor swapped back on writing, which saves two passes over the
    pixels and an image-sized allocation. Integer pixels (masks) are still
    made native.
    """
    token = _STORED_FLOATS.set(True)
    try:
        yield
    finally:
        _STORED_FLOATS.reset(token)


def read_pixels(hdu, slices: tuple[slice, slice] | None = None) -> np.ndarray:
    """Pixels of an image HDU, native byte order, BZERO/BSCALE applied; only ``slices`` if given.

    ``section`` reads only the rows needed (and only the tiles needed for a
    tile-compressed HDU). Within :func:`stored_float_order`, floating-point
    pixels keep the file's byte order.
    """
    try:
        if slices is None or slices == (slice(0, image_shape(hdu)[0]), slice(0, image_shape(hdu)[1])):
            data = hdu.data
        else:
            data = hdu.section[slices]
        data = np.asarray(data)
    except (ValueError, KeyError, TypeError, IndexError, OverflowError) as exc:  # astropy decoding a broken HDU
        name = str(hdu.header.get("EXTNAME", "")).strip() or "the HDU"
        raise FormatError(f"the data of {name} cannot be decoded ({type(exc).__name__}: {exc})") from None
    if not data.dtype.isnative and not (data.dtype.kind == "f" and _STORED_FLOATS.get()):
        data = data.astype(data.dtype.newbyteorder("="))
    elif _maps_a_file(data):  # an HDUList opened with memmap=True: never hand out views of the file
        data = data.copy()
    return data


def _maps_a_file(array: np.ndarray) -> bool:
    base = array
    while base is not None:
        if isinstance(base, (np.memmap, mmap.mmap)):
            return True
        base = getattr(base, "base", None)
    return False


# Keywords that describe the storage of one HDU rather than its content.
_STRUCTURAL = re.compile(
    r"^(SIMPLE|XTENSION|BITPIX|NAXIS\d*|EXTEND|PCOUNT|GCOUNT|GROUPS|BZERO|BSCALE|BLANK|"
    r"CHECKSUM|DATASUM|EXTNAME|EXTVER|THEAP|TFIELDS|TTYPE\d+|TFORM\d+|TUNIT\d+|TDIM\d+|"
    # tile-compression bookkeeping (FITS standard §10), not metadata such as DECam's ZD
    r"ZIMAGE|ZCMPTYPE|ZBITPIX|ZNAXIS\d*|ZTILE\d+|ZNAME\d+|ZVAL\d+|ZSIMPLE|ZEXTEND|ZBLOCKED|ZTENSION|"
    r"ZPCOUNT|ZGCOUNT|ZHECKSUM|ZDATASUM|ZQUANTIZ|ZDITHER0|ZBLANK|ZSCALE|ZZERO|ZMASKCMP)$"
)
_WCS_KEY = re.compile(
    r"^(WCSAXES[A-Z]?|WCSNAME[A-Z]?|CTYPE\d[A-Z]?|CRPIX\d[A-Z]?|CRVAL\d[A-Z]?|CDELT\d[A-Z]?|CUNIT\d[A-Z]?|"
    r"CD\d_\d[A-Z]?|PC\d_\d[A-Z]?|PV\d_\d+[A-Z]?|PS\d_\d+[A-Z]?|CROTA\d|LONPOLE[A-Z]?|LATPOLE[A-Z]?|"
    r"RADESYS[A-Z]?|RADECSYS|EQUINOX[A-Z]?|EPOCH|MJDREF|DATEREF|"
    r"A_ORDER|B_ORDER|AP_ORDER|BP_ORDER|A_\d+_\d+|B_\d+_\d+|AP_\d+_\d+|BP_\d+_\d+|A_DMAX|B_DMAX|"
    r"LTV\d|LTM\d_\d|WAT\d_\d+|WCSDIM)$"
)


_STANDARD_COMMENTS = ("FITS (Flexible Image Transport System)", "and Astrophysics', volume 376")


def clean_header(header: fits.Header, *, drop_wcs: bool = True, drop: tuple[str, ...] = ()) -> fits.Header:
    """A copy of ``header`` without storage keywords (and WCS/origin keywords unless ``drop_wcs=False``).

    What is left is the metadata that travels with the data.
    """
    out = fits.Header()
    upper = {d.upper() for d in drop}
    exact = {d for d in upper if not d.endswith("*")}
    prefixes = tuple(d[:-1] for d in upper if d.endswith("*"))
    for card in header.cards:
        key = card.keyword.upper()
        if key == "COMMENT" and any(s in str(card.value) for s in _STANDARD_COMMENTS):
            continue  # regenerated by astropy on write
        if key not in ("", "COMMENT", "HISTORY"):
            if _STRUCTURAL.match(key) or key in exact or (prefixes and key.startswith(prefixes)):
                continue
            if drop_wcs and _WCS_KEY.match(key):
                continue
        out.append(card, end=True)
    return out


def read_wcs(header: fits.Header) -> WCS | None:
    """The celestial WCS of an image header (primary key), or None when it has none."""
    if not any(str(header.get(f"CTYPE{k}", "")).strip() for k in (1, 2)):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        hdr = header.copy()
        # IRAF's LTV/LTM describe the physical system, not the sky WCS
        for key in ("LTV1", "LTV2", "LTM1_1", "LTM2_2", "LTM1_2", "LTM2_1"):
            hdr.remove(key, ignore_missing=True)
        try:
            wcs = WCS(hdr, naxis=2, relax=True)
        except Exception:
            return None
    if not wcs.has_celestial:
        return None
    return wcs


def wcs_cards(wcs: WCS | None) -> fits.Header:
    """Header cards for a sky WCS (SIP and TPV kept)."""
    if wcs is None:
        return fits.Header()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        hdr = wcs.to_header(relax=True)
    for key in ("DATE-OBS", "MJD-OBS", "DATEREF", "MJDREF", "MJDREFI", "MJDREFF"):
        hdr.remove(key, ignore_missing=True)
    return hdr


def read_xy0(header: fits.Header, *, required: bool = False, where: str = "") -> tuple[int, int]:
    """Pixel origin ``(x0, y0)`` as lsst.images reads it: ``LTV1/LTV2`` first, else the linear A WCS.

    Returns ``(0, 0)`` when neither is present, unless ``required``.
    """

    def number(key: str, default: float) -> float:
        value = header.get(key, default)
        try:
            out = float(value)
        except (TypeError, ValueError):
            out = math.nan
        if isinstance(value, bool) or not math.isfinite(out) or abs(out) > 2**53:
            raise FormatError(f"card {key} = {value!r} is not a finite pixel offset", path=where or None)
        return out

    if "LTV1" in header or "LTV2" in header:
        return (-round(number("LTV1", 0)), -round(number("LTV2", 0)))
    if str(header.get("CTYPE1A", "")).strip().upper() == "LINEAR" and "CRVAL1A" in header:
        x0 = number("CRVAL1A", 0.0) - (number("CRPIX1A", 1.0) - 1)
        y0 = number("CRVAL2A", 0.0) - (number("CRPIX2A", 1.0) - 1)
        return (round(x0), round(y0))
    if required:
        raise FormatError("header records no LTV1/LTV2 cards or linear offset WCS", path=where or None)
    return (0, 0)


def origin_cards(xy0: tuple[int, int], *, ltv: bool = False) -> fits.Header:
    """The linear ``A`` WCS (lsst.images and afw) for an origin, plus ``LTV1/LTV2`` when ``ltv``."""
    x0, y0 = xy0
    hdr = fits.Header()
    if ltv:
        hdr["LTV1"] = -x0
        hdr["LTV2"] = -y0
    hdr["CTYPE1A"] = "LINEAR"
    hdr["CTYPE2A"] = "LINEAR"
    hdr["CRPIX1A"] = 1.0
    hdr["CRPIX2A"] = 1.0
    hdr["CRVAL1A"] = float(x0)
    hdr["CRVAL2A"] = float(y0)
    hdr["CUNIT1A"] = "PIXEL"
    hdr["CUNIT2A"] = "PIXEL"
    return hdr


COMPRESSIONS = ("GZIP_1", "GZIP_2", "RICE_1", "PLIO_1", "HCOMPRESS_1", "NONE")


def mask_compression(array: np.ndarray, requested: str | None = "GZIP_2") -> str | None:
    """A lossless compression valid for this mask array.

    PLIO_1 is only valid for non-negative values below 2**24 in 8-bit or
    signed 16/32-bit arrays; anywhere else it falls back to GZIP_2.
    """
    if requested is None or requested.upper() == "NONE":
        return None
    requested = requested.upper()
    if requested not in COMPRESSIONS:
        raise ParameterError(f"compression must be one of {COMPRESSIONS}, got {requested!r}")
    if requested == "PLIO_1":
        ok = array.dtype in (np.uint8, np.int16, np.int32, np.int8) and (
            array.size == 0 or (int(array.min()) >= 0 and int(array.max()) < 2**24)
        )
        return "PLIO_1" if ok else "GZIP_2"
    return requested


def make_image_hdu(
    data: np.ndarray,
    header: fits.Header | None = None,
    *,
    name: str | None = None,
    compression: str | None = None,
    quantize_level: float = 0.0,
    dither_seed: int | None = None,
    primary: bool = False,
):
    """An ImageHDU, or a CompImageHDU when ``compression`` is given.

    ``quantize_level=0.0`` with GZIP keeps floats lossless; RICE_1 with a
    positive level and ``dither_seed`` quantizes with SUBTRACTIVE_DITHER_2.
    """
    header = fits.Header() if header is None else header.copy()
    if primary:
        return fits.PrimaryHDU(data, header=header)
    if compression is None or compression.upper() == "NONE":
        return fits.ImageHDU(data, header=header, name=name)
    kwargs = {"compression_type": compression.upper(), "quantize_level": quantize_level}
    if data.dtype.kind == "f" and quantize_level != 0.0:
        kwargs["quantize_method"] = 2  # SUBTRACTIVE_DITHER_2
        kwargs["dither_seed"] = 0 if dither_seed is None else int(dither_seed)
    return fits.CompImageHDU(data, header=header, name=name, **kwargs)


#: What produced the files this process writes: the command line and its inputs (set by the CLI);
#: :func:`write_atomic` records it as HISTORY in each file's primary header.
PROVENANCE: dict[str, object] = {"command": None, "inputs": []}


def record_provenance(*, command: str | None = None, inputs: list[str] | tuple[str, ...] = ()) -> None:
    """Set the command line, and add inputs, that :func:`write_atomic` records in the files it writes."""
    if command is not None:
        PROVENANCE["command"] = command or None
        PROVENANCE["inputs"] = []
    known = PROVENANCE["inputs"]
    assert isinstance(known, list)
    for name in inputs:
        if name and str(name) not in known:
            known.append(str(name))


def provenance_cards() -> list[str]:
    """The HISTORY lines of :data:`PROVENANCE`: the astromask version with the command line, and
    each input file (none when no command line was recorded)."""
    from .. import __version__

    command = PROVENANCE["command"]
    if not command:  # the Python API leaves headers as the caller made them (record_provenance to add it)
        return []
    lines = [f"astromask {__version__}: {command}"]
    lines += [f"astromask input: {name}" for name in PROVENANCE["inputs"]]  # type: ignore[union-attr]
    return lines


def check_writable(path: str | os.PathLike, *, overwrite: bool = False) -> None:
    r"""Refuse, before any work, an output that cannot be written as a file at ``path``.

    A directory (or a name ending in ``/``), a folder that does not exist or is not a
    folder, an existing file without ``overwrite`` and a place that is not writable
    (permissions, a read-only file system) are :class:`~astromask.errors.OutputError`\s
    naming the place.
    """
    path = os.fspath(path)
    if path.endswith(os.sep) or os.path.isdir(path):
        raise OutputError("is a directory; give a file name", path=path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.exists(directory):
        raise OutputError(f"the directory {os.path.dirname(path) or '.'} does not exist", path=path)
    if not os.path.isdir(directory):
        raise OutputError(f"{os.path.dirname(path)} is not a directory", path=path)
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(path)
    if not os.access(directory, os.W_OK | os.X_OK):
        where = os.path.dirname(path) or "."
        raise OutputError(f"cannot write in {where} (permission denied or a read-only file system)", path=path)


def write_atomic(hdul: fits.HDUList, path: str, *, overwrite: bool = False) -> None:
    """Write ``hdul`` to a temporary file beside ``path`` and rename it into place.

    An existing ``path`` is refused unless ``overwrite``; a failed write leaves
    nothing behind.
    """
    path = os.fspath(path)
    check_writable(path, overwrite=overwrite)
    directory = os.path.dirname(os.path.abspath(path))
    suffix = ".fits.gz" if path.endswith(".gz") else ".fits"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".astromask-", suffix=suffix, dir=directory)
    except OSError as exc:  # the user's terms: the place, not a temporary file's name
        raise OutputError(f"cannot write in {directory}: {exc.strerror or exc}", path=path) from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a written file follows the umask like any other
    try:
        # what made this file, after any history it inherited (a streamed table file: on the table)
        header = hdul[0].header if isinstance(hdul, fits.HDUList) else getattr(hdul, "header", None)
        for line in provenance_cards() if header is not None else ():
            header.add_history(line)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", fits.verify.VerifyWarning)
            hdul.writeto(tmp, overwrite=True, output_verify="silentfix")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
