"""``astromask combine --op OP OUT IN...``: union, intersection, xor or difference of masks; value stacks.

Two kinds of input (see :func:`astromask.cli._common.read_operand`):

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

import numpy as np

from ..errors import ParameterError
from ..ops import algebra
from ..ops.calc import cast_like
from ..progress import progress
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

OPS = algebra.SET_OPS + algebra.STACK_OPS


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
    add_output_argument(p, "output file", first=True)
    p.add_argument("inputs", nargs="+", metavar="IN", help="input files (CFITSIO [ext] selectors allowed)")
    p.add_argument(
        "--nan",
        choices=["skip", "propagate"],
        help="value stacks: leave NaN pixels out, or let them give NaN (default: skip for min/max "
        "as dmimgfilt does, propagate for sum/mul)",
    )
    add_output_options(p)


def _run_one(args) -> int:
    check_output(args.output, args.inputs, args.overwrite)
    if args.op in algebra.STACK_OPS:
        return _run_stack(args)
    if args.nan is not None:
        raise ParameterError(f"--nan applies to sum, mul, min and max, not to --op {args.op}")
    if args.op == "difference" and len(args.inputs) < 2:
        raise ParameterError("--op difference needs at least two inputs (the first minus the others)")
    operands = (read_operand(name) for name in progress(args.inputs))  # read one at a time
    first = next(operands)
    function = getattr(algebra, args.op)
    result = first.operand
    for operand in operands:
        if operand.is_values != first.is_values:
            raise ParameterError(
                f"{operand.name}: holds {operand.kind} but {first.name} holds {first.kind}; combine files of one kind"
            )
        if operand.target.shape != result.shape:
            raise ParameterError(
                f"{operand.name}: shape {operand.target.shape} differs from {first.name}'s {result.shape}"
            )
        result = function(result, operand.operand)
    if first.is_values:
        if args.to not in (None, "fits"):
            raise ParameterError(f"plain images are combined into a plain FITS image, not --to {args.to}")
        save_array(result.astype(np.uint8), first.header, args.output, overwrite=args.overwrite)
        fmt = "fits"
    else:
        fmt = save(first.loaded, result, args.output, to=args.to, overwrite=args.overwrite, allow_loss=args.allow_loss)
    wrote(args.output, f" ({fmt}, {len(args.inputs)} inputs)")
    return 0


def _run_stack(args) -> int:
    if args.to not in (None, "fits"):
        raise ParameterError(f"--op {args.op} writes a plain FITS image, not --to {args.to}")
    first: list = []  # (header, shape, name) of the first input
    dtypes = []

    def arrays() -> Iterator[np.ndarray]:
        for name in progress(args.inputs):
            array, header = load_array(name)
            if not first:
                first.extend([header, array.shape, name])
            elif array.shape != first[1]:
                raise ParameterError(f"{name}: shape {array.shape} differs from {first[2]}'s {first[1]}")
            dtypes.append(array.dtype)
            yield array

    skip = None if args.nan is None else args.nan == "skip"
    result = algebra.stack(args.op, arrays(), skip_nan=skip)
    result = cast_like(result, *dtypes)  # integer sums come back to the inputs' type when they fit
    save_array(result, first[0], args.output, overwrite=args.overwrite)
    wrote(args.output, f" ({args.op} of {len(args.inputs)} images)")
    return 0


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("inputs",), output="output")
