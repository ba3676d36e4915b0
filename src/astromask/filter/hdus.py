"""HDU plumbing of the filters: CIAO block selection and cropping an image header."""

from __future__ import annotations

import re

from astropy.io import fits

from ..errors import FormatError
from ..io.fitsfile import find_hdu, is_image_hdu

__all__ = ["crop_header", "find_block", "is_table_hdu"]

_CRPIX = re.compile(r"^CRPIX([12])[A-Z]?$")


def is_table_hdu(hdu) -> bool:
    """True for a binary table HDU."""
    return isinstance(hdu, fits.BinTableHDU)


def find_block(hdul: fits.HDUList, block: str | int | None, path: str) -> int:
    """Index of the HDU a CIAO block selector names.

    Parameters
    ----------
    block : str, int or None
        A block name (``EXTNAME``, or CIAO's ``HDUNAME``), a block number
        counted from 1 (the primary HDU), or None for the first HDU holding
        an image or a binary table.

    Examples
    --------
    >>> hdul = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(name="EVENTS")])
    >>> find_block(hdul, None, "evt.fits"), find_block(hdul, 2, "evt.fits"), find_block(hdul, "events", "evt.fits")
    (1, 1, 1)
    """
    if block is None:
        for index, hdu in enumerate(hdul):
            if is_image_hdu(hdu) or is_table_hdu(hdu):
                return index
        raise FormatError("holds no image or table block", path=path)
    if isinstance(block, int):
        if not 1 <= block <= len(hdul):
            raise FormatError(f"no block {block}: the file has blocks 1..{len(hdul)} (1 is the primary HDU)", path=path)
        return block - 1
    for index, hdu in enumerate(hdul):
        if str(hdu.header.get("HDUNAME", "")).strip().upper() == block.upper():
            return index
    return find_hdu(hdul, block, path)


def block_label(hdul: fits.HDUList, index: int, path: str) -> str:
    """``'evt.fits[EVENTS]'``-style name of a block for messages."""
    header = hdul[index].header
    name = str(header.get("EXTNAME", "") or header.get("HDUNAME", "")).strip()
    return f"{path}[{name or ('PRIMARY' if index == 0 else index + 1)}]"


def crop_header(header: fits.Header, i0: int, j0: int) -> fits.Header:
    """A copy of an image header for the sub-image starting at array column ``i0``, row ``j0``.

    Every ``CRPIXn`` (the sky WCS, alternate WCSs and CIAO's ``CRPIXnP``
    physical WCS) and ``LTVn`` moves by the offset, so each pixel keeps its
    physical and sky coordinates. ``LTV`` is added when the header had neither
    ``LTV``/``LTM`` nor CIAO's physical WCS. Negative offsets grow the grid.

    Examples
    --------
    >>> h = crop_header(fits.Header({"CRPIX1": 50.0, "CRPIX2": 40.0, "LTV1": -100.0}), 10, 5)
    >>> h["CRPIX1"], h["CRPIX2"], h["LTV1"], h["LTV2"]
    (40.0, 35.0, -110.0, -5.0)
    """
    header = header.copy()
    if not (i0 or j0):
        return header
    for key in list(header.keys()):
        m = _CRPIX.match(key)
        if m:
            header[key] = float(header[key]) - (i0 if m.group(1) == "1" else j0)
    has_lt = any(key in header for key in ("LTV1", "LTV2", "LTM1_1", "LTM2_2", "LTM1_2", "LTM2_1"))
    if has_lt or "CDELT1P" not in header:
        header["LTV1"] = float(header.get("LTV1", 0.0)) - i0
        header["LTV2"] = float(header.get("LTV2", 0.0)) - j0
    return header
