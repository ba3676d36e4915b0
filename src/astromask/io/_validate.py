"""Checks every FITS file passes when it is opened (``fitsfile.open_fits``), after the raw header
walk of :mod:`._prescan`: every card parses, the structural cards are possible (FITS standard
§4.4.1), a tile-compressed image has one table row per tile, and no HDU declares more data than
the file holds. Each failure is a FormatError naming the file, the HDU and the card."""

from __future__ import annotations

import math
import warnings

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from ..errors import FormatError
from . import _prescan

__all__ = ["check_cards", "check_complete", "check_structure", "hdu_label"]


def hdu_label(hdul: fits.HDUList, index: int) -> str:
    """``'1 (MASK,2)'``-style label used in messages and ``astromask info``."""
    hdr = hdul[index].header
    name = hdr.get("EXTNAME", "PRIMARY" if index == 0 else "")
    ver = hdr.get("EXTVER", 1)
    return f"{index} ({name},{ver})" if name and ver != 1 else f"{index} ({name})" if name else str(index)


_FITS_BLOCK = _prescan.BLOCK


def _decompressed_size(path: str) -> int:
    """Bytes in the decompressed stream of a gzip or bzip2 file, from the header walk."""
    return _prescan.scan(path).size


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
    return _prescan.in_range(int(value), key, path, label, low, high)


def check_cards(hdul: fits.HDUList, path: str) -> None:
    """Parse every card of every header now, so that an unparsable one (``EXTNAME = E``, a number
    with two exponents) is an error naming the HDU and the card, not an astropy VerifyError later."""
    for index in range(len(hdul)):
        hdu = hdul[index]
        headers = [hdu.header]
        if isinstance(hdu, fits.CompImageHDU) and getattr(hdu, "_bintable", None) is not None:
            headers.append(hdu._bintable.header)
        for header in headers:
            for card in header.cards:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")  # a fixable card is astropy's to fix, as it reads
                        card.value  # noqa: B018 - parsing is the point
                except (VerifyError, ValueError) as exc:
                    why = str(exc).split(";")[0].split(", fix it")[0][:100]
                    try:
                        label = hdu_label(hdul, index)
                    except (VerifyError, ValueError):  # EXTNAME or EXTVER is the unparsable one
                        label = str(index)
                    raise FormatError(
                        f"HDU {label}: card {card.keyword or '?'} cannot be parsed ({why})",
                        path=path,
                    ) from None


def _check_tiles(table: fits.Header, axes: list[int], path: str, label: str) -> None:
    """A tile-compressed image: each ``ZTILEn`` a positive integer, and one table row per tile (so that
    the image declared is no larger than the tiles stored allow)."""
    tiles = 1
    for axis, length in enumerate(axes, start=1):
        key = f"ZTILE{axis}"
        tile = _structural_int(table, key, path, label, 1) if key in table else (length if axis == 1 else 1)
        tiles *= -(-length // max(tile, 1))
    rows = table.get("NAXIS2")
    if axes and rows != tiles:
        raise FormatError(
            f"HDU {label}: the compressed image of {' x '.join(map(str, axes))} pixels needs {tiles} tiles, "
            f"but its table has {rows} rows (ZNAXISn, ZTILEn or NAXIS2 is wrong)",
            path=path,
        )


def check_structure(hdul: fits.HDUList, path: str) -> None:
    """After the raw walk (which cannot read zip or lzma files, and does not look inside tile tables),
    refuse impossible structural cards (FITS standard §4.4.1), naming the HDU and the card:
    BITPIX not one of 8, 16, 32, 64, -32, -64; NAXIS outside 0..999; a negative NAXISn; PCOUNT < 0;
    GCOUNT < 1; an image extension with PCOUNT or GCOUNT other than 0 and 1."""
    for index in range(len(hdul)):
        header = hdul[index].header
        label = hdu_label(hdul, index)
        for key in ("BSCALE", "BZERO"):
            value = header.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise FormatError(f"HDU {label}: card {key} = {value!r} is not a finite number", path=path)
        if isinstance(hdul[index], fits.CompImageHDU):  # the binary table holding the tiles: its own cards
            table = getattr(hdul[index], "_bintable", None)
            if table is not None:
                for key in ("NAXIS1", "NAXIS2", "PCOUNT", "TFIELDS"):
                    if key in table.header:
                        _structural_int(table.header, key, path, label, 0)
                _structural_int(table.header, "GCOUNT", path, label, 1)
            naxis = _structural_int(header, "NAXIS", path, label, 0, 999)  # the image cards, from ZNAXISn
            axes = [_structural_int(header, f"NAXIS{axis}", path, label, 0) for axis in range(1, naxis + 1)]
            if table is not None:
                _check_tiles(table.header, axes, path, label)
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
    # each HDU's own fileinfo: HDUList.fileinfo also renders every header to learn whether it was resized
    first = hdul[0].fileinfo()
    if not first:
        return
    compression = getattr(first["file"], "compression", None)
    if compression in ("gzip", "bzip2"):
        available = _decompressed_size(path)
    elif compression:  # zip, lzma: astropy reads them whole; nothing to learn here
        return
    else:
        available = int(first["file"].size)
    for index in range(len(hdul)):
        info = hdul[index].fileinfo()
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
    info = hdul[len(hdul) - 1].fileinfo()
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
