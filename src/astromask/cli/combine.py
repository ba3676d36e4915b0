"""``astromask combine --op OP OUT IN...``: union, intersection, xor or difference of masks; value stacks.

Two kinds of input (see :func:`read_operand`, shared with ``invert``,
``bounds`` and ``area``):

* **plane masks**: mask files with named planes and masked images of any
  format; the set operations work plane by plane, planes matched by name, and
  OUT is a mask file (``--to``, else the first input's format where it stores
  a lone mask, else plain FITS);
* **plain images** (CIAO-style value masks: a plain FITS image HDU without
  plane cards, and without a mask HDU beside it): a pixel is in the mask where
  it is non-zero and finite; OUT is a 0/1 ``uint8`` image with the first
  input's header (WCS kept).

``--op sum|mul|min|max`` always combines the values of plain images, as
``dmimgcalc`` and ``dmimgfilt`` stacks do; the files are read one at a time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from .. import algebra
from ..calc import cast_like
from ..io import cards, get_format, identify
from ..io.fitsfile import find_hdu, image_hdu_indices, open_fits, parse_fits_name, read_wcs
from ..mask import Mask
from ..masked_image import MaskedImage
from ._common import Loaded, add_output_options, check_output, load, load_array, save, save_array

log = logging.getLogger("astromask")

OPS = algebra.SET_OPS + algebra.STACK_OPS
LONE_MASK_FORMATS = ("fits", "jwst")  # formats that store a mask without an image


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
    parsed = parse_fits_name(name)
    with open_fits(parsed.path) as hdul:
        fmt = identify(hdul, parsed.path)
        plain = fmt == "fits" and _plain_image(hdul, parsed.path, parsed.hdu)
    if plain:
        values, header = load_array(name)
        return Operand(name, values=values, header=header)
    return Operand(name, loaded=load(name, format=fmt))


def add_parser(sub) -> None:
    p = sub.add_parser(
        "combine",
        help="union, intersection, xor, difference of masks; sum, mul, min, max of images",
        description="Combine IN files pixel by pixel into OUT. Set operations (union, intersection, xor: odd "
        "count, difference: the first minus all others) work plane by plane on mask files and on the "
        "non-zero, finite pixels of plain images (OUT is then a 0/1 image). sum, mul, min and max combine "
        "image values like CIAO dmimgcalc and dmimgfilt stacks.",
    )
    p.add_argument("--op", required=True, choices=OPS, help="the operation")
    p.add_argument("output", metavar="OUT", help="output file")
    p.add_argument("inputs", nargs="+", metavar="IN", help="input files (CFITSIO [ext] selectors allowed)")
    p.add_argument(
        "--nan",
        choices=["skip", "propagate"],
        help="value stacks: leave NaN pixels out, or let them give NaN (default: skip for min/max "
        "as dmimgfilt does, propagate for sum/mul)",
    )
    add_output_options(p)


def run(args) -> int:
    check_output(args.output, args.inputs, args.overwrite)
    if args.op in algebra.STACK_OPS:
        return _run_stack(args)
    if args.nan is not None:
        raise ValueError(f"--nan applies to sum, mul, min and max, not to --op {args.op}")
    if args.op == "difference" and len(args.inputs) < 2:
        raise ValueError("--op difference needs at least two inputs (the first minus the others)")
    operands = (read_operand(name) for name in args.inputs)  # read one at a time
    first = next(operands)
    function = getattr(algebra, args.op)
    result = first.operand
    for operand in operands:
        if operand.is_values != first.is_values:
            raise ValueError(
                f"{operand.name}: holds {operand.kind} but {first.name} holds {first.kind}; "
                "combine files of one kind"
            )
        if operand.target.shape != result.shape:
            raise ValueError(f"{operand.name}: shape {operand.target.shape} differs from {first.name}'s {result.shape}")
        result = function(result, operand.operand)
    if first.is_values:
        if args.to not in (None, "fits"):
            raise ValueError(f"plain images are combined into a plain FITS image, not --to {args.to}")
        save_array(result.astype(np.uint8), first.header, args.output, overwrite=args.overwrite)
        fmt = "fits"
    else:
        to = args.to or (first.loaded.format if first.loaded.format in LONE_MASK_FORMATS else "fits")
        fmt = save(first.loaded, result, args.output, to=to, overwrite=args.overwrite)
    log.info("wrote %s (%s, %d inputs)", args.output, fmt, len(args.inputs))
    return 0


def _run_stack(args) -> int:
    if args.to not in (None, "fits"):
        raise ValueError(f"--op {args.op} writes a plain FITS image, not --to {args.to}")
    first: list = []  # (header, shape, name) of the first input
    dtypes = []

    def arrays() -> Iterator[np.ndarray]:
        for name in args.inputs:
            array, header = load_array(name)
            if not first:
                first.extend([header, array.shape, name])
            elif array.shape != first[1]:
                raise ValueError(f"{name}: shape {array.shape} differs from {first[2]}'s {first[1]}")
            dtypes.append(array.dtype)
            yield array

    skip = None if args.nan is None else args.nan == "skip"
    result = algebra.stack(args.op, arrays(), skip_nan=skip)
    result = cast_like(result, *dtypes)  # integer sums come back to the inputs' type when they fit
    save_array(result, first[0], args.output, overwrite=args.overwrite)
    log.info("wrote %s (%s of %d images)", args.output, args.op, len(args.inputs))
    return 0

