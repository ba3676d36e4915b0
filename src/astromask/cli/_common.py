"""Input and output conventions shared by the commands that transform masks and images.

Two kinds of input:

* **Plane masks** (:func:`load`): whatever :func:`astromask.io.read` makes of a
  file, a :class:`~astromask.Mask` or a :class:`~astromask.MaskedImage`, with
  the format it was read as, so the result can be written back in that format.
* **Plain arrays** (:func:`load_array`): the numbers of one image HDU and its
  header, for the CIAO-style tools (``calc``, ``thresh``, ``blob``, ``combine
  --op sum``) that work on values, as ``dmimgcalc`` does. The output is a
  single-HDU FITS image that keeps the input's header (WCS, physical keywords).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from ..errors import AstromaskError, FormatError, OutputExistsError
from ..io import FORMATS, WRITE_FORMATS, identify, read, write
from ..io.fitsfile import (
    find_hdu,
    image_hdu_indices,
    image_shape,
    open_fits,
    parse_fits_name,
    read_pixels,
    write_atomic,
)
from ..mask import Mask
from ..masked_image import MaskedImage

__all__ = [
    "Loaded",
    "add_output_options",
    "check_output",
    "load",
    "load_array",
    "save",
    "save_array",
]


@dataclass
class Loaded:
    """A file read for a command: the object, the format it was read as and the name given."""

    name: str
    format: str
    obj: MaskedImage | Mask

    @property
    def mask(self) -> Mask:
        return self.obj.mask if isinstance(self.obj, MaskedImage) else self.obj


def add_output_options(parser, *, formats: bool = True) -> None:
    """``--overwrite`` and (for plane-mask commands) ``--to FORMAT``."""
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    if formats:
        parser.add_argument(
            "--to", choices=WRITE_FORMATS, help="output format (default: the input's, plain FITS for masks)"
        )


def check_output(output: str, inputs: list[str] | tuple[str, ...], overwrite: bool) -> None:
    """Refuse to write over an input or, without ``overwrite``, over an existing file."""
    if os.path.exists(output):
        for name in inputs:
            src = parse_fits_name(name).path
            if os.path.exists(src) and os.path.samefile(src, output):
                raise AstromaskError(f"{output}: output is the input file {name}; write to another name")
        if not overwrite:
            raise OutputExistsError(output)


def load(name: str, *, format: str | None = None) -> Loaded:
    """Read ``name`` (CFITSIO selector allowed) as a mask or masked image, keeping its format."""
    path = parse_fits_name(name).path
    if format is None:
        with open_fits(path) as hdul:
            format = identify(hdul, path)
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}")
    return Loaded(name, format, read(name, format=format))


def save(loaded: Loaded, obj: MaskedImage | Mask, output: str, *, to: str | None = None,
         overwrite: bool = False) -> str:
    """Write ``obj`` in format ``to``, else the input's format where it can be written, else plain FITS.

    Returns the format written.
    """
    fmt = to or (loaded.format if loaded.format in WRITE_FORMATS else "fits")
    if fmt == "decam" and isinstance(obj, Mask):
        fmt = "fits"
    write(obj, output, format=fmt, overwrite=overwrite)
    return fmt


def load_array(name: str) -> tuple[np.ndarray, fits.Header]:
    """Pixels (native order, scaled) and header of one 2-D image HDU.

    The HDU is the one selected in the name (``f.fits[2]``, ``f.fits[MASK]``)
    or the first HDU holding an image.
    """
    parsed = parse_fits_name(name)
    with open_fits(parsed.path) as hdul:
        if parsed.hdu is None:
            index = next(image_hdu_indices(hdul), None)
            if index is None:
                raise FormatError("holds no image HDU", path=parsed.path)
        else:
            index = find_hdu(hdul, parsed.hdu, parsed.path)
        hdu = hdul[index]
        shape = image_shape(hdu) if hdu.header.get("NAXIS", 0) or hasattr(hdu, "section") else ()
        if len(shape) != 2:
            raise FormatError(f"HDU is not a 2-D image (shape {shape})", path=parsed.path, hdu=index)
        data = read_pixels(hdu)
        header = hdu.header.copy()
    for key in ("XTENSION", "PCOUNT", "GCOUNT", "EXTNAME", "EXTVER", "BZERO", "BSCALE", "BLANK", "CHECKSUM",
                "DATASUM", "ZIMAGE", "ZBITPIX", "ZCMPTYPE"):
        header.remove(key, ignore_missing=True, remove_all=True)
    return data, header


def save_array(array: np.ndarray, header: fits.Header | None, output: str, *, overwrite: bool = False) -> None:
    """Write ``array`` as the primary HDU of a new FITS file (atomically), with ``header``'s cards."""
    data = np.asarray(array)
    if data.dtype == bool:
        data = data.astype(np.uint8)
    hdr = fits.Header() if header is None else header.copy()
    for key in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "BZERO", "BSCALE", "BLANK"):
        hdr.remove(key, ignore_missing=True, remove_all=True)
    if data.dtype.kind == "u" and data.dtype.itemsize > 1:  # FITS stores unsigned via BZERO
        hdu = fits.PrimaryHDU(data, header=hdr, uint=True)
    else:
        hdu = fits.PrimaryHDU(data, header=hdr)
    write_atomic(fits.HDUList([hdu]), output, overwrite=overwrite)
