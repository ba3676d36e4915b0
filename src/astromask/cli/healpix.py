"""``astromask healpix IN... OUT --nside N``: the HEALPix footprint of masks, one bit per plane.

OUT is a healsparse map (``int64`` values, NEST ordering): bit ``i`` is plane ``MBIT<i>`` of its
header, bit 63 ``COVERED`` marks the HEALPix pixels whose centre lies on some input pixel. Every
mask of every input (each CCD of a multi-extension exposure) is added, one at a time, with OR.
"""

from __future__ import annotations

from ..io import masks_on_sky
from ._common import add_output_argument, check_output, replaced_whole

HELP = "write the HEALPix footprint of masks, one bit per plane (a healsparse map)"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "healpix",
        help=HELP,
        description="Write a healsparse map of the masks of every input (all their CCDs): bit i of each "
        "HEALPix pixel is set where plane i is set, as the MBIT<i> header cards name them, and bit 63 (COVERED) "
        "where the pixel's centre lies on an input pixel. A plane is kept whichever grid is finer: a HEALPix "
        "pixel gets it where its centre falls on a pixel with it, or where the centre of such a pixel falls in it.",
    )
    p.add_argument("inputs", metavar="IN", nargs="+", help="mask or image files with a sky WCS")
    add_output_argument(p, "output healsparse map (FITS)")
    p.add_argument("--nside", type=int, required=True, help="HEALPix resolution, a power of 2 (2**17: 1.6 arcsec)")
    p.add_argument("--nside-coverage", type=int, default=32, help="healsparse coverage resolution (default 32)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args) -> int:
    from ..sky.healpix import healpix_map

    check_output(args.output, args.inputs, args.overwrite)
    footprint = None
    for name in args.inputs:  # each file's masks are read one at a time
        footprint = healpix_map(masks_on_sky(name), args.nside, nside_coverage=args.nside_coverage, into=footprint)
    with replaced_whole(args.output, args.overwrite) as temporary:
        footprint.write(temporary, clobber=True)
    counts = footprint.counts()
    area = counts["COVERED"] * 41252.96125 / (12 * args.nside**2)
    planes = ", ".join(f"{name} {n}" for name, n in counts.items() if n and name != "COVERED") or "none"
    print(
        f"{counts['COVERED']} HEALPix pixels covered at nside {args.nside} ({area:.4g} deg2); "
        f"pixels per plane: {planes} -> {args.output}"
    )
    return 0
