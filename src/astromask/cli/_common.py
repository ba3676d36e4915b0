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
from astropy.wcs import WCS

from .. import algebra
from ..errors import AstromaskError, FormatError, OutputExistsError
from ..io import WRITE_FORMATS, cards, get_format, output_format, write
from ..io import open as open_source
from ..io.fitsfile import (
    find_hdu,
    image_hdu_indices,
    image_shape,
    open_fits,
    parse_fits_name,
    read_pixels,
    read_wcs,
    write_atomic,
)
from ..mask import Mask
from ..masked_image import MaskedImage

__all__ = [
    "Loaded",
    "Operand",
    "add_output_options",
    "check_output",
    "load",
    "load_array",
    "read_operand",
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
    with open_source(name, format=format) as source:
        return Loaded(name, source.format, source.read())


def save(
    loaded: Loaded, obj: MaskedImage | Mask, output: str, *, to: str | None = None, overwrite: bool = False
) -> str:
    """Write ``obj`` in format ``to``, else the input's format where it stores ``obj`` whole, else plain
    FITS (:func:`astromask.io.output_format`).

    Returns the format written.
    """
    fmt = output_format(loaded.format, obj, to)
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
    for key in (
        "XTENSION",
        "PCOUNT",
        "GCOUNT",
        "EXTNAME",
        "EXTVER",
        "BZERO",
        "BSCALE",
        "BLANK",
        "CHECKSUM",
        "DATASUM",
        "ZIMAGE",
        "ZBITPIX",
        "ZCMPTYPE",
    ):
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


@dataclass
class Operand:
    """An input of the mask algebra commands: plane masks, or the values of a plain image."""

    name: str
    loaded: Loaded | None = None  # plane masks: a mask file or masked image
    values: np.ndarray | None = None  # a plain image: CIAO-style value mask
    header: fits.Header | None = None  # the plain image's header

    @property
    def is_values(self) -> bool:
        return self.values is not None

    @property
    def kind(self) -> str:
        return "a plain image" if self.is_values else "plane masks"

    @property
    def target(self) -> Mask | MaskedImage | np.ndarray:
        """What the measures work on: the image's values, or the mask / masked image."""
        return self.values if self.is_values else self.loaded.obj

    @property
    def operand(self) -> Mask | np.ndarray:
        """The set operations' input: the mask, or the non-zero finite pixels of the values."""
        return algebra.to_bool(self.values) if self.is_values else self.loaded.mask

    @property
    def wcs(self) -> WCS | None:
        if self.is_values:
            return read_wcs(self.header)
        return self.loaded.obj.wcs if isinstance(self.loaded.obj, MaskedImage) else None


def _plain_image(hdul: fits.HDUList, path: str, hdu) -> bool:
    """Is the HDU to read a plain image: no plane cards, and no mask HDU beside it in a plain file?"""
    index = find_hdu(hdul, hdu, path) if hdu is not None else next(image_hdu_indices(hdul), None)
    if index is None:
        return False
    header = hdul[index].header
    if cards.has_msk_cards(header) or cards.has_mp_cards(header):
        return False
    kinds = get_format("fits").describe(hdul, path)
    return not any(row["kind"] == "mask" and row["index"] != index for row in kinds)


def read_operand(name: str) -> Operand:
    """Read ``name``: a plain FITS image as values (with its header), anything else as plane masks."""
    with open_source(name) as source:
        if not (source.format == "fits" and _plain_image(source.hdul, source.path, source.hdu)):
            return Operand(name, loaded=Loaded(name, source.format, source.read()))
    values, header = load_array(name)
    return Operand(name, values=values, header=header)
