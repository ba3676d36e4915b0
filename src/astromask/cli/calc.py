"""``astromask calc OUT EXPR IN...``: pixel arithmetic on images, CIAO ``dmimgcalc op="imgout=..."``.

``img1`` is the first IN, ``img2`` the second, and so on; ``imgout=`` in front
of the expression is optional. The expression is parsed by
:mod:`astromask.ops.calc` (never by Python's ``eval``). Each IN is the numbers of
one image HDU (the selected one, or the first holding an image); OUT is a
single-HDU FITS image with the first input's header, so the WCS is kept.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import numpy as np

from ..errors import AstromaskError, ParameterError
from ..ops.calc import cast_like, cast_to, parse
from ..progress import progress
from ._common import add_output_argument, add_output_options, check_output, each_hdu, load_array, save_array, wrote

log = logging.getLogger("astromask")

TYPES = ("auto", "uint8", "int16", "int32", "int64", "float32", "float64")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "calc",
        help="pixel arithmetic on images (dmimgcalc 'imgout=...')",
        description="Evaluate EXPR pixel by pixel on the IN images (img1 is the first IN) and write OUT. "
        "Operators: + - * / ^ (or **, power), comparisons < <= > >= == !=, logical && || ! (also & | ~), "
        "cond ? a : b; functions abs fabs sqrt exp log log10 sin cos tan asin acos atan atan2 sinh cosh "
        "tanh ceil floor pow min max isnan isinf isfinite; constants pi e. "
        "Example: astromask calc inv.fits 'imgout=(1-img1)' mask.fits",
    )
    add_output_argument(p, "output file", first=True)
    p.add_argument("expression", metavar="EXPR", help="expression, e.g. 'imgout=(1-img1)' or 'img1*img2*img3'")
    p.add_argument("inputs", nargs="+", metavar="IN", help="input images: img1, img2, ... in this order")
    p.add_argument(
        "--type",
        choices=TYPES,
        default="auto",
        help="output pixel type (default auto: the inputs' integer type when every value fits it exactly, "
        "uint8 for comparisons, else float64, or float32 for float32 inputs)",
    )
    add_output_options(p, formats=False)


def _run_one(args) -> int:
    with _plain_errors():
        expression = parse(args.expression)
    needed = expression.image_count()
    if needed > len(args.inputs):
        raise ParameterError(f"the expression uses img{needed} but {len(args.inputs)} input file(s) were given")
    check_output(args.output, args.inputs, args.overwrite)
    images, header = [], None
    for name in progress(args.inputs):
        array, hdr = load_array(name)
        if images and array.shape != images[0].shape:
            raise ParameterError(f"{name}: shape {array.shape} differs from {args.inputs[0]}'s {images[0].shape}")
        images.append(array)
        header = hdr if header is None else header
    with _plain_errors():
        result = expression.evaluate(*images)
    result = cast_like(result, *images) if args.type == "auto" else cast_to(result, np.dtype(args.type), what="--type")
    save_array(result, header, args.output, overwrite=args.overwrite)
    wrote(args.output, f" ({result.dtype})")
    return 0


@contextmanager
def _plain_errors():
    """Calculator errors without their ``calc:`` prefix (the command line names the command already)."""
    try:
        yield
    except AstromaskError as exc:  # only the user's mistakes: a bug keeps its own type and traceback
        exc.args = (str(exc).removeprefix("calc: "),)
        raise


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("inputs",), output="output")
