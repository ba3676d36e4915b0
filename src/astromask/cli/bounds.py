"""``astromask bounds IN``: the bounding box of the set pixels (CIAO ``bounds(mask(IN))``).

Set pixels are those with any mask bit set (or the planes of ``--flags``) for
plane masks, and the non-zero, finite pixels of a plain image. The box is
printed 0-based and half-open (absolute coordinates for a masked image with a
pixel origin) and as CIAO's 1-based logical pixel range and region.
"""

from __future__ import annotations

import json

from ..errors import ParameterError
from ..ops.measure import bounds, logical_bounds
from ._common import each_hdu, read_operand


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bounds",
        help="bounding box of the set (non-zero) pixels",
        description="Print the smallest box holding every set pixel of IN: 0-based half-open "
        "[y0:y1, x0:x1] and CIAO's 1-based logical rect(xmin,ymin,xmax,ymax).",
    )
    p.add_argument("input", metavar="IN", help="mask file, masked image or plain image ([ext] selector allowed)")
    p.add_argument("--flags", metavar="EXPR", help="only these planes of a mask (names 'BAD,SAT', bit-flag strings)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def describe(name: str, flags: object = None) -> dict:
    """The bounds of file ``name`` as a JSON-ready dict (``box`` is ``None`` when nothing is set)."""
    operand = read_operand(name)
    if flags is not None and operand.is_values:
        raise ParameterError(f"{name}: --flags needs a mask file; this is a plain image (values)")
    box = bounds(operand.target, flags=flags)
    info = {"file": name, "box": None, "shape": None, "logical": None, "region": None}
    if box is None:
        return info
    xmin, ymin, xmax, ymax = logical_bounds(operand.target, flags=flags)
    info.update(
        box={"y0": box.y0, "y1": box.y1, "x0": box.x0, "x1": box.x1},
        shape=list(box.shape),
        logical={"xmin": xmin, "ymin": ymin, "xmax": xmax, "ymax": ymax},
        region=f"rect({xmin},{ymin},{xmax},{ymax})",
    )
    return info


def _run_one(args) -> int:
    info = describe(args.input, args.flags)
    if args.json:
        print(json.dumps(info))
    elif info["box"] is None:
        print(f"{args.input}: no set pixels")
    else:
        b, lg = info["box"], info["logical"]
        print(
            f"{args.input}: [y {b['y0']}:{b['y1']}, x {b['x0']}:{b['x1']}] (0-based, end excluded), "
            f"{info['shape'][0]} x {info['shape'][1]} pixels"
        )
        print(f"  CIAO logical x={lg['xmin']}:{lg['xmax']} y={lg['ymin']}:{lg['ymax']}  {info['region']}")
    return 0


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("input",), output=None)
