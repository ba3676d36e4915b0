"""``astromask grow|shrink|open|close IN OUT`` and ``astromask boundary IN OUT``.

A file holding a bit-plane mask (any format astromask reads) is changed plane
by plane and written back in its format (or ``--to``). A plain FITS image
without plane cards or a mask beside it (a CIAO-style mask, non-zero = set) is
treated as one boolean plane and written as 0/1 in its own data type with its
header (see :func:`astromask.cli._common.read_operand`).
"""

from __future__ import annotations

import logging

import numpy as np

from .. import morphology
from ..core.mask import Mask
from ..errors import ParameterError
from ..io.fitsfile import read_wcs
from ..morphology.footprint import FOOTPRINTS
from ._common import (
    add_output_argument,
    add_output_options,
    check_output,
    each_hdu,
    load_array,
    read_operand,
    save,
    save_array,
    wrote,
)

log = logging.getLogger("astromask")

OPERATIONS = {
    "grow": "grow (dilate) mask planes by a footprint",
    "shrink": "shrink (erode) mask planes by a footprint",
    "open": "open (shrink, then grow) mask planes: removes features smaller than the footprint",
    "close": "close (grow, then shrink) mask planes: fills gaps smaller than the footprint",
}


def _size_list(text: str) -> tuple[str, ...]:
    parts = tuple(p.strip() for p in text.split(","))
    if not 1 <= len(parts) <= 2 or not all(parts):
        raise ParameterError(f"expected SIZE or SIZE_X,SIZE_Y, got {text!r}")
    return parts


def add_parser(sub) -> None:
    for name, text in OPERATIONS.items():
        p = sub.add_parser(
            name,
            help=text,
            description=text + ". Sizes are pixels or angles "
            "('10arcsec', '0.2deg'), angles converted with each axis' pixel scale.",
        )
        p.add_argument("input", metavar="IN", help="mask, masked image or plain 0/1 image")
        add_output_argument(p, "output file")
        p.add_argument("--footprint", choices=FOOTPRINTS, default="disk", help="footprint shape (default: disk)")
        size = p.add_mutually_exclusive_group(required=True)
        size.add_argument("--radius", help="disk/diamond radius, or box half-width (pixels or angle)")
        size.add_argument("--width", type=_size_list, help="box width, or WIDTH,HEIGHT (pixels or angle)")
        p.add_argument("--planes", help="planes to change, e.g. 'CR,SAT' or '~(EDGE)' (default: all)")
        p.add_argument("--iterations", type=int, default=1, help="repeat N times (CIAO numiter; default 1)")
        if name != "grow":
            p.add_argument(
                "--outside",
                choices=morphology.OUTSIDE,
                default="set",
                help="what pixels beyond the image edge count as when shrinking (default: set)",
            )
        add_output_options(p)
    p = sub.add_parser(
        "boundary",
        help="mask the margin of an image within a width of its edges",
        description="Write a 0/1 image on IN's grid (with its header and WCS): 1 within WIDTH "
        "of the edges. WIDTH is pixels or an angle; WIDTH_X,WIDTH_Y gives each axis its own.",
    )
    p.add_argument("input", metavar="IN", help="image whose grid and WCS to use")
    add_output_argument(p, "output 0/1 image")
    p.add_argument("--width", type=_size_list, required=True, help="margin width, or WIDTH_X,WIDTH_Y")
    p.add_argument("--invert", action="store_true", help="set the inside instead of the margin")
    add_output_options(p, formats=False)


def _run_boundary(args) -> int:
    data, header = load_array(args.input)
    width = args.width if len(args.width) == 2 else args.width[0]
    margin = morphology.boundary(data.shape, width, wcs=read_wcs(header))
    save_array((~margin if args.invert else margin).astype(np.uint8), header, args.output, overwrite=args.overwrite)
    wrote(args.output, f": {int(margin.sum())} margin pixels")
    return 0


def _run_one(args) -> int:
    check_output(args.output, [args.input], args.overwrite)
    if args.command == "boundary":
        return _run_boundary(args)
    operation = getattr(morphology, args.command)
    options = {"footprint": args.footprint, "iterations": args.iterations}
    if args.width is not None:
        options["width"] = args.width if len(args.width) == 2 else args.width[0]
    else:
        options["radius"] = args.radius
    if args.command != "grow":
        options["outside"] = args.outside
    operand = read_operand(args.input)
    if operand.is_values:
        if args.planes:
            raise ParameterError(f"--planes: {args.input} is a plain image with no planes")
        result = operation(operand.operand, wcs=operand.wcs, **options)
        save_array(result.astype(operand.values.dtype), operand.header, args.output, overwrite=args.overwrite)
        wrote(args.output, f": {int(result.sum())} pixels set")
        return 0
    result = operation(operand.loaded.obj, planes=args.planes, **options)
    fmt = save(operand.loaded, result, args.output, to=args.to, overwrite=args.overwrite, allow_loss=args.allow_loss)
    mask = result if isinstance(result, Mask) else result.mask
    wrote(args.output, f" ({fmt}): {mask.counts()}")
    return 0


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("input",), output="output")
