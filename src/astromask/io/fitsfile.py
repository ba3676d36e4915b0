"""FITS plumbing shared by every format: extended file names, HDU lookup, headers, WCS,
pixel origin, compression choices, sections and atomic writes.

Longer than 500 lines because it is the one place every format opens, reads and writes FITS
through; the checks at open are :mod:`._validate` and :mod:`._prescan`, CFITSIO names
:mod:`astromask.syntax.fits_name`.
"""

from __future__ import annotations

import math
import mmap
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

from ..core.mask import Mask
from ..core.masked_image import Box, MaskedImage
from ..errors import FormatError, OutputError, OutputExistsError, ParameterError
from ..syntax.fits_name import FitsName, HduSpec, parse_fits_name
from . import _prescan
from ._validate import check_cards, check_complete, check_structure, hdu_label

__all__ = [
    "FitsName",
    "bbox_slices",
    "check_writable",
    "clean_header",
    "decoding",
    "describe_hdus",
    "find_hdu",
    "hdu_label",
    "image_hdu_indices",
    "image_section",
    "image_shape",
    "is_image_hdu",
    "is_integer_hdu",
    "make_image_hdu",
    "mask_compression",
    "open_fits",
    "origin_cards",
    "parse_fits_name",
    "provenance_cards",
    "read_columns",
    "read_pixels",
    "read_wcs",
    "read_xy0",
    "record_provenance",
    "selected_image",
    "sky_wcs_of",
    "wcs_cards",
    "write_atomic",
]


def _why(exc: Exception) -> str:
    """astropy's message, with its type where the message alone says little."""
    text = str(exc)[:150]
    return text if isinstance(exc, (OSError, ValueError)) else f"{type(exc).__name__}: {text}"


def open_fits(path: str) -> fits.HDUList:
    """Open a FITS file (plain, ``.gz``, ``.fz``/tile-compressed) lazily, with clear errors."""
    if not os.path.exists(path):
        raise FormatError("no such file", path=path)
    if os.path.isdir(path):
        raise FormatError("is a directory, not a FITS file", path=path)
    _prescan.scan(path)  # impossible structural cards are refused before astropy trusts them
    with warnings.catch_warnings():  # astropy warns of a cut file or header; check_complete raises instead
        warnings.filterwarnings("ignore", message="File may have been truncated")
        warnings.filterwarnings("ignore", message="Error validating header for HDU")
        warnings.filterwarnings("ignore", message="Unexpected extra padding")  # check_structure says why
        failure = None
        try:
            # astropy leaves the file it opened to be closed when its frames are freed if the first
            # HDU fails: that happens as this except clause ends, inside this filter
            warnings.simplefilter("ignore", ResourceWarning)
            hdul = fits.open(path, memmap=False, lazy_load_hdus=True, mode="readonly")
        except MemoryError:
            raise
        except Exception as exc:  # astropy parsing the file's headers, nothing of ours
            failure = f"not a readable FITS file ({_why(exc)})"
        if failure is not None:
            raise FormatError(failure, path=path)
        try:
            try:
                len(hdul)  # parse every header now: a cut or garbled one is an error here, not later
            except MemoryError:
                raise
            except Exception as exc:  # as above (KeyError: a missing NAXISn; OverflowError: ZTILE1 = 1E999)
                raise FormatError(f"not a readable FITS file ({_why(exc)})", path=path) from None
            check_cards(hdul, path)
            check_structure(hdul, path)
            check_complete(hdul, path)
        except BaseException:
            hdul.close()
            raise
    return hdul


def mask_of(obj: MaskedImage | Mask) -> Mask:
    """The mask of a masked image, or the mask itself."""
    return obj.mask if isinstance(obj, MaskedImage) else obj


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


def is_integer_hdu(hdu) -> bool:
    """True when an image HDU holds integers (``ZBITPIX`` for tile-compressed HDUs): ``BSCALE`` 1 and
    ``BZERO`` 0 or the offset of the unsigned (signed for 8 bits) convention; any other scaling makes
    astropy return floats."""
    hdr = hdu.header
    bitpix = hdr.get("ZBITPIX", hdr.get("BITPIX")) if isinstance(hdu, fits.CompImageHDU) else hdr.get("BITPIX")
    if bitpix is None or int(bitpix) <= 0:
        return False
    offset = {8: -128, 16: 1 << 15, 32: 1 << 31, 64: 1 << 63}.get(int(bitpix))  # the (un)signed conventions
    return float(hdr.get("BSCALE", 1.0)) == 1.0 and float(hdr.get("BZERO", 0.0)) in (0.0, offset)


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


def selected_image(hdul: fits.HDUList, hdu: HduSpec, path: str, first: int | None = None) -> int:
    """The index of the image HDU ``hdu`` selects; with no selection ``first`` (when given), else
    the first image HDU. An HDU without an image, or a file without one, is a FormatError."""
    if hdu is None:
        index = first if first is not None else next(image_hdu_indices(hdul), None)
        if index is None:
            raise FormatError("holds no image HDU", path=path)
        return index
    index = find_hdu(hdul, hdu, path)
    if not is_image_hdu(hdul[index]):
        raise FormatError("HDU holds no 2-D image", path=path, hdu=hdu)
    return index


def image_section(
    hdul: fits.HDUList, index: int, bbox: Box | None, path: str
) -> tuple[tuple[int, ...], tuple[int, int], tuple[slice, slice]]:
    """The shape, pixel origin and local slices of ``bbox`` of the 2-D image in HDU ``index``;
    an image of another dimension is a :class:`FormatError` naming the file and HDU."""
    main = hdul[index]
    shape = image_shape(main)
    if len(shape) != 2:
        raise FormatError(f"image must be 2-D, got shape {shape}", path=path, hdu=index)
    xy0 = read_xy0(main.header)
    return shape, xy0, bbox_slices(bbox, xy0, shape, f"{path}[{index}]")


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


@contextmanager
def decoding(hdu, what: str = "data") -> Iterator[None]:
    """Let astropy decode ``hdu``'s data; any failure is a FormatError naming the file and the HDU.

    Only astropy's own decoding runs inside (``hdu.data``, ``hdu.section``, a table's columns), on
    bytes and cards that come from the file: a corrupt tile stream, ``ZCMPTYPE = 'abc'``,
    ``TFORM1 = 1E999``, a text ``TZERO`` end in many exception types (CfitsioException, TypeError,
    AssertionError, ...), all of them the file's fault. MemoryError is not converted.
    """
    try:
        yield
    except MemoryError:
        raise
    except Exception as exc:  # see above: astropy's decoder on the file's bytes
        raise _undecodable(hdu, what, f"{type(exc).__name__}: {str(exc)[:150]}") from None


def _undecodable(hdu, what: str, why: str) -> FormatError:
    name = str(hdu.header.get("EXTNAME", "")).strip() or "the HDU"
    info = hdu.fileinfo() or {}
    return FormatError(f"the {what} of {name} cannot be decoded ({why})", path=getattr(info.get("file"), "name", None))


def read_pixels(hdu, slices: tuple[slice, slice] | None = None) -> np.ndarray:
    """Pixels of an image HDU, native byte order, BZERO/BSCALE applied; only ``slices`` if given.

    ``section`` reads only the rows needed (and only the tiles needed for a
    tile-compressed HDU). Within :func:`stored_float_order`, floating-point
    pixels keep the file's byte order.
    """
    with decoding(hdu):
        if slices is None or slices == (slice(0, image_shape(hdu)[0]), slice(0, image_shape(hdu)[1])):
            data = hdu.data
        else:
            data = hdu.section[slices]
        data = np.asarray(data)
    if data.dtype.kind not in "biuf":  # None from a tile table with no rows, say
        raise _undecodable(hdu, "data", f"it decodes to {data.dtype} values, not pixels")
    if slices is None and data.shape != image_shape(hdu):
        raise _undecodable(hdu, "data", f"it decodes to shape {data.shape}, not the {image_shape(hdu)} declared")
    if not data.dtype.isnative and not (data.dtype.kind == "f" and _STORED_FLOATS.get()):
        data = _native(hdu, data)
    elif _maps_a_file(data):  # an HDUList opened with memmap=True: never hand out views of the file
        data = data.copy()
    return data


def read_columns(hdu, path: str) -> dict[str, np.ndarray]:
    """The columns of a binary or ASCII table HDU as arrays, keyed by upper-case name; a table whose
    cards astropy cannot decode (``TFORM1 = 1E999``, ``TFIELDS = 'abc'``, a text ``TZERO``) is a
    FormatError naming the file and the HDU."""
    with decoding(hdu, "table"):
        table = hdu.data
        if table is None:
            return {}
        return {str(c).upper(): np.asarray(table[c]) for c in table.columns.names}


def _native(hdu, data: np.ndarray) -> np.ndarray:
    """``data`` (the HDU's big-endian pixels) in native byte order.

    An array astropy read into memory for this HDU alone is swapped in place, and the HDU
    forgets it (a later ``hdu.data`` reads the file again): a copy of an image-sized array costs
    as much as the swap again, in fresh pages. Anything else is copied.
    """
    native = data.dtype.newbyteorder("=")
    owned = (
        data.flags.writeable
        and data.flags.c_contiguous
        and not _maps_a_file(data)
        and "data" in getattr(hdu, "__dict__", {})
        and hdu.__dict__["data"] is data
        and getattr(hdu, "_file", None) is not None
    )
    if not owned:
        return data.astype(native)
    del hdu.data
    return data.byteswap(inplace=True).view(native)


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
#: PLIO_1 is written only for values below this (see :func:`mask_compression`).
PLIO_SAFE = 2**12
#: Pixels per compression tile of integer images: tiles of whole rows, about 2**16 pixels.
#: One row per tile, astropy's default, takes three times as long to compress a 4096x2048 mask
#: with RICE_1 (0.078 s against 0.024 s; 0.019 s with 2**18, but each tile's buffers are then
#: 4 times larger); the file is the same size.
INTEGER_TILE_PIXELS = 2**16


def mask_compression(array: np.ndarray, requested: str | None = "GZIP_2") -> str | None:
    """A lossless compression valid for this mask array.

    PLIO_1 is valid for non-negative values below 2**24 in 8-bit or signed
    16/32-bit arrays, but astropy's PLIO encoder (8.0) overruns its buffer and
    aborts the process on pixels that change often between values of 2**14 and
    more (measured on random 16-bit masks): it is used only below
    :data:`PLIO_SAFE`, and anywhere else falls back to GZIP_2.
    """
    if requested is None or requested.upper() == "NONE":
        return None
    requested = requested.upper()
    if requested not in COMPRESSIONS:
        raise ParameterError(f"compression must be one of {COMPRESSIONS}, got {requested!r}")
    if requested == "PLIO_1":
        ok = array.dtype in (np.uint8, np.int16, np.int32, np.int8) and (
            array.size == 0 or (int(array.min()) >= 0 and int(array.max()) < PLIO_SAFE)
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
    row_tiles: bool = False,
):
    """An ImageHDU, or a CompImageHDU when ``compression`` is given.

    ``quantize_level=0.0`` with GZIP keeps floats lossless; RICE_1 with a
    positive level and ``dither_seed`` quantizes with SUBTRACTIVE_DITHER_2.
    Integer images are compressed in tiles of :data:`INTEGER_TILE_PIXELS`
    (whole rows), floats and ``row_tiles=True`` one row per tile (astropy's and
    lsst.images' tiles).
    """
    header = fits.Header() if header is None else header.copy()
    if primary:
        return fits.PrimaryHDU(data, header=header)
    if compression is None or compression.upper() == "NONE":
        return fits.ImageHDU(data, header=header, name=name)
    kwargs = {"compression_type": compression.upper(), "quantize_level": quantize_level}
    wide = data.dtype.kind in "iub" and not row_tiles and compression.upper() != "HCOMPRESS_1"
    if wide and data.ndim == 2 and data.shape[1]:
        kwargs["tile_shape"] = (max(1, min(data.shape[0], INTEGER_TILE_PIXELS // data.shape[1])), data.shape[1])
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


def sky_wcs_of(name: str, shape: tuple[int, int] | None = None) -> WCS | None:
    """The sky WCS of the HDU selected in ``name``, or of its first image HDU (of ``shape``, when
    given) having one; None when none has."""
    parsed = parse_fits_name(name)
    with open_fits(parsed.path) as hdul:
        if parsed.hdu is not None:
            return read_wcs(hdul[find_hdu(hdul, parsed.hdu, parsed.path)].header)
        for index in image_hdu_indices(hdul):
            if shape is None or image_shape(hdul[index]) == tuple(shape):
                wcs = read_wcs(hdul[index].header)
                if wcs is not None:
                    return wcs
    return None
