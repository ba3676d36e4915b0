"""``astromask significance COUNTS BACKGROUND OUT``: mask the significant pixels of a counts map.

Counts and background are summed in a disk of ``--radius`` (gammapy's
``ExcessMapEstimator`` correlation radius); the significance is Cash's for a
known background or, with ``--alpha``, Li & Ma's with BACKGROUND as the OFF
counts. OUT is a 0/1 ``uint8`` image with COUNTS' header (``BUNIT`` dropped):
1 where the significance is above ``--above`` (or below ``--below``), 0
elsewhere; ``--invert`` swaps them (gammapy's exclusion-mask polarity).
Pixels where COUNTS or BACKGROUND is NaN add nothing and have no significance;
``--nan`` says whether they are masked.
"""

from __future__ import annotations

import logging

from ..errors import ParameterError
from ..io.fitsfile import read_wcs
from ..sky.significance import NAN_POLICIES, significance_map, significance_mask
from ._common import add_output_argument, add_output_options, check_output, load_array, save_selection

log = logging.getLogger("astromask")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "significance",
        help="mask pixels by their correlated significance (Cash or Li & Ma)",
        description="Sum COUNTS and BACKGROUND in a disk of --radius around each pixel, compute the "
        "significance and write a 0/1 mask of the pixels above --above (or below --below).",
    )
    p.add_argument("counts", metavar="COUNTS", help="counts image (CFITSIO [ext] selector allowed)")
    p.add_argument("background", metavar="BACKGROUND", help="expected background image, or the OFF counts with --alpha")
    add_output_argument(p, "output FITS mask")
    p.add_argument(
        "--radius", required=True, metavar="SIZE", help="correlation radius: an angle (0.4deg) or pixels (5 or 5pix)"
    )
    p.add_argument("--above", type=float, metavar="S", help="mask pixels with significance > S")
    p.add_argument("--below", type=float, metavar="S", help="mask pixels with significance < S")
    p.add_argument(
        "--hysteresis", type=float, metavar="LOW", help="also mask pixels > LOW connected to a pixel above --above"
    )
    p.add_argument(
        "--connectivity", type=int, choices=[4, 8], default=4, help="--hysteresis neighbours: 4 (default) or 8"
    )
    p.add_argument(
        "--alpha", type=float, metavar="A", help="ON/OFF exposure ratio: BACKGROUND holds OFF counts (Li & Ma eq. 17)"
    )
    p.add_argument(
        "--nan",
        choices=NAN_POLICIES,
        default="keep",
        help="pixels without a significance: keep them usable (0, default, as the gammapy tutorial) or mask them (1)",
    )
    p.add_argument("--invert", action="store_true", help="write 1 for usable pixels instead")
    add_output_options(p, formats=False)


def run(args) -> int:
    if args.above is None and args.below is None:
        raise ParameterError("give --above and/or --below")
    check_output(args.output, [args.counts, args.background], args.overwrite)
    counts, header = load_array(args.counts)
    background, _ = load_array(args.background)
    if background.shape != counts.shape:
        raise ParameterError(
            f"{args.background}: shape {background.shape} differs from {args.counts} shape {counts.shape}"
        )
    significance = significance_map(counts, background, args.radius, wcs=read_wcs(header), alpha=args.alpha)
    mask = significance_mask(
        significance,
        above=args.above,
        below=args.below,
        low=args.hysteresis,
        nan=args.nan,
        connectivity=args.connectivity,
    )
    save_selection(mask, header, args)
    return 0
