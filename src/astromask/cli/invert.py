"""``astromask invert IN OUT [--planes EXPR]``: the complement of a mask.

Plane masks (mask files with named planes, masked images) have the named
planes flipped (all by default) and are written in the input's format (a
masked image stays a masked image). A plain image (CIAO-style value mask, see
:func:`astromask.cli._common.read_operand`) becomes a 0/1 ``uint8`` image with
the input's header that is 1 where the input is 0, NaN or infinite: CIAO's
``dmimgcalc op="imgout=(1-img1)"`` on a 0/1 mask.
"""

from __future__ import annotations

import logging

import numpy as np

from ..core.masked_image import MaskedImage
from ..errors import ParameterError
from ..ops import algebra
from ._common import (
    add_output_argument,
    add_output_options,
    check_output,
    each_hdu,
    read_operand,
    save,
    save_array,
    wrote,
)

log = logging.getLogger("astromask")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "invert",
        help="flip mask planes, or invert a 0/1 image",
        description="Write the complement of IN to OUT: the planes given by --planes (default all named "
        "planes) are flipped; a plain image becomes 1 where it is zero or not finite, 0 elsewhere.",
    )
    p.add_argument("input", metavar="IN", help="input file (CFITSIO [ext] selector allowed)")
    add_output_argument(p, "output file")
    p.add_argument(
        "--planes",
        metavar="EXPR",
        help="planes to flip: names 'BAD,SAT', an astropy bit-flag string or an integer (default: all named planes)",
    )
    add_output_options(p)


def _run_one(args) -> int:
    check_output(args.output, [args.input], args.overwrite)
    operand = read_operand(args.input)
    if operand.is_values:
        if args.planes is not None:
            raise ParameterError(f"{args.input}: --planes needs a mask file; this is a plain image (values)")
        if args.to not in (None, "fits"):
            raise ParameterError(f"a plain image is inverted into a plain FITS image, not --to {args.to}")
        result = algebra.invert(operand.operand).astype(np.uint8)
        save_array(result, operand.header, args.output, overwrite=args.overwrite)
        fmt = "fits"
    else:
        obj = operand.loaded.obj
        inverted = operand.loaded.mask.invert(args.planes)
        if isinstance(obj, MaskedImage):
            obj.mask = inverted
            inverted = obj
        fmt = save(
            operand.loaded, inverted, args.output, to=args.to, overwrite=args.overwrite, allow_loss=args.allow_loss
        )
    wrote(args.output, f" ({fmt})")
    return 0


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("input",), output="output")
