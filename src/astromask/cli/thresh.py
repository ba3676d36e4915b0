"""``astromask thresh IN OUT``: CIAO ``dmimgthresh`` cuts, or a sigma-clip or hysteresis 0/1 mask.

Modes (one of):

* ``--cut CUT [--value V] [--exp EXPFILE]``: the image with the pixels outside
  the cut replaced by ``V`` (same dtype as IN unless ``V`` needs float).
* ``--sigma N [--side above|below|both] [--box SIZE]``: 0/1 uint8 mask of the
  pixels deviating more than N sigma from the sigma-clipped background.
* ``--hysteresis LOW,HIGH [--connectivity 4|8]``: 0/1 uint8 mask of the pixels
  ``> LOW`` connected to a pixel ``> HIGH``.

OUT is one image HDU keeping IN's header (``BUNIT`` dropped for masks).
"""

from __future__ import annotations

import argparse
import logging
import math

from ..errors import ParameterError
from ..ops.threshold import hysteresis, parse_cut, sigma_clip_mask, thresh
from ._common import add_output_argument, add_output_options, check_output, each_hdu, load_array, save_array, wrote

log = logging.getLogger("astromask")

_MODE_OPTIONS = {
    "cut": ("value", "exp"),
    "sigma": ("side", "box"),
    "hysteresis": ("connectivity",),
}


def _replacement(text: str) -> float:
    """A replacement value; ``INDEF`` (CIAO) and ``nan`` mean NaN."""
    if text.strip().upper() == "INDEF":
        return math.nan
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or INDEF, got {text!r}") from None


def _low_high(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH (two numbers), got {text!r}") from None
    return low, high


def add_parser(sub) -> None:
    p = sub.add_parser(
        "thresh",
        help="replace pixels outside a cut (dmimgthresh), or write a sigma-clip or hysteresis mask",
        description="With --cut, write IN with the pixels outside the cut (compared on IN or on "
        "--exp) replaced by --value, as CIAO dmimgthresh does. With --sigma or --hysteresis, "
        "write a 0/1 mask of the selected pixels. NaN pixels are never selected or replaced.",
    )
    p.add_argument("input", metavar="IN", help="input image (CFITSIO [ext] selector allowed)")
    add_output_argument(p, "output FITS image")
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument(
        "--cut",
        metavar="CUT",
        help="keep lo <= v <= hi: '10' (v >= 10), '10%%' (of the maximum), 'lo:hi', ':hi', 'lo:', "
        "'5:5'; write --cut=-5:5 for a negative start",
    )
    mode.add_argument("--sigma", type=float, metavar="N", help="mask pixels deviating > N sigma (clipped)")
    mode.add_argument("--hysteresis", type=_low_high, metavar="LOW,HIGH", help="mask pixels > LOW linked to > HIGH")
    p.add_argument("--value", type=_replacement, help="--cut: replacement value, a number or INDEF (default 0)")
    p.add_argument("--exp", metavar="EXPFILE", help="--cut: compare the cut with this image (e.g. exposure map)")
    p.add_argument("--side", choices=["above", "below", "both"], help="--sigma: which deviations (default above)")
    p.add_argument("--box", type=int, metavar="SIZE", help="--sigma: local background, median in SIZE x SIZE")
    p.add_argument("--connectivity", type=int, choices=[4, 8], help="--hysteresis: 4 (default) or 8")
    add_output_options(p, formats=False)


def _check_mode_options(args) -> str:
    mode = next(m for m in _MODE_OPTIONS if getattr(args, m) is not None)
    for other, options in _MODE_OPTIONS.items():
        for option in options:
            if other != mode and getattr(args, option) is not None:
                raise ParameterError(f"--{option} applies to --{other}, not to --{mode}")
    return mode


def _run_one(args) -> int:
    mode = _check_mode_options(args)
    inputs = [args.input] + ([args.exp] if args.exp else [])
    check_output(args.output, inputs, args.overwrite)
    image, header = load_array(args.input)
    if mode == "cut":
        cut = parse_cut(args.cut, name="--cut")
        against = None
        if args.exp:
            against, _ = load_array(args.exp)
            if against.shape != image.shape:
                raise ParameterError(f"{args.exp}: shape {against.shape} differs from {args.input} shape {image.shape}")
        result = thresh(image, cut, value=0 if args.value is None else args.value, against=against)
    else:
        if mode == "sigma":
            side = args.side or "above"
            result = sigma_clip_mask(image, args.sigma, above=side != "below", below=side != "above", box=args.box)
        else:
            low, high = args.hysteresis
            result = hysteresis(image, low, high, connectivity=args.connectivity or 4)
        header.remove("BUNIT", ignore_missing=True)
    save_array(result, header, args.output, overwrite=args.overwrite)
    wrote(args.output, f" ({mode})")
    return 0


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("input", "exp"), output="output")
