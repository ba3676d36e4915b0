"""``astromask area IN [--unit deg2]``: the number of set pixels, or the sky area they cover.

Set pixels are read as by ``astromask bounds``. Sky areas sum each pixel's own
solid angle from the WCS (:func:`astromask.ops.measure.area`): the WCS of a
masked image or plain image, or ``--wcs FILE``; for a mask file without one,
the first image HDU of the same file with the same shape and a sky WCS.
"""

from __future__ import annotations

import json

from ..errors import ParameterError
from ..io.fitsfile import sky_wcs_of
from ..ops.measure import area
from ._common import each_hdu, read_operand

UNITS = ("pix", "sr", "deg2", "arcmin2", "arcsec2")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "area",
        help="number of set pixels, or their area on the sky",
        description="Print the area of the set pixels of IN: a pixel count, or (with --unit) the sum of each "
        "pixel's solid angle computed from its corners through the WCS.",
    )
    p.add_argument("input", metavar="IN", help="mask file, masked image or plain image ([ext] selector allowed)")
    p.add_argument("--unit", choices=UNITS, default="pix", help="area unit (default: pix, the pixel count)")
    p.add_argument("--flags", metavar="EXPR", help="only these planes of a mask (names 'BAD,SAT', bit-flag strings)")
    p.add_argument("--wcs", metavar="FILE", help="take the sky WCS from this FITS file/HDU instead")
    p.add_argument(
        "--oversample",
        type=int,
        default=1,
        metavar="N",
        help="split each pixel into N x N parts (for projections whose pixel edges are not great circles)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _run_one(args) -> int:
    operand = read_operand(args.input)
    if args.flags is not None and operand.is_values:
        raise ParameterError(f"{args.input}: --flags needs a mask file; this is a plain image (values)")
    target = operand.target
    pixels = area(target, flags=args.flags)
    result = {"file": args.input, "pixels": int(pixels.value), "area": float(pixels.value), "unit": "pix"}
    if args.unit != "pix":
        wcs = sky_wcs_of(args.wcs) if args.wcs else operand.wcs
        if wcs is None and not args.wcs:
            wcs = sky_wcs_of(args.input, target.shape)
        if wcs is None:
            where = args.wcs or args.input
            raise ParameterError(f"{where}: no sky WCS found; --unit {args.unit} needs one (give --wcs FILE)")
        if args.wcs and wcs.pixel_shape is not None and tuple(wcs.pixel_shape[::-1]) != tuple(target.shape):
            raise ParameterError(
                f"{args.wcs}: the WCS is for shape {tuple(wcs.pixel_shape[::-1])}, {args.input} has {target.shape}"
            )
        sky = area(target, wcs, unit=args.unit, flags=args.flags, oversample=args.oversample)
        result.update(area=float(sky.value), unit=args.unit)
    if args.json:
        print(json.dumps(result))
    elif args.unit == "pix":
        print(f"{args.input}: {result['pixels']} pix")
    else:
        print(f"{args.input}: {result['area']:.10g} {args.unit} ({result['pixels']} pixels)")
    return 0


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("input",), output=None)
