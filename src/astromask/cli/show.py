"""``astromask show IMAGE... -o OUT.png``: the images with each mask plane overlaid in its own colour."""

from __future__ import annotations

import logging
import os

from ..errors import ParameterError
from ..progress import progress
from ..visual import STRETCHES, read_panels, show_figure
from ._common import check_output

log = logging.getLogger("astromask")


def add_input_options(p) -> None:
    """The inputs and drawing options shared by ``show`` and ``report``."""
    p.add_argument(
        "images",
        nargs="+",
        metavar="IMAGE",
        help="images, masked images or mask files in any supported format (CFITSIO [ext] selectors allowed)",
    )
    p.add_argument(
        "--mask",
        action="append",
        metavar="FILE",
        help="mask file to draw over the images instead of their own masks, e.g. a MaxiMask output cube "
        "over the image it was made from; give it once for every IMAGE or once per IMAGE",
    )
    p.add_argument(
        "--planes",
        metavar="EXPR",
        help="planes to draw: names 'CR,SAT' or a flag expression '~(BBG)' (default: every plane with a pixel set)",
    )
    p.add_argument(
        "--hdu",
        metavar="LIST",
        help="HDUs of each file to draw as separate panels: 'all' (every image HDU, or every mask HDU of a "
        "file holding only masks) or a comma list of numbers or names",
    )
    p.add_argument("--stretch", choices=STRETCHES, default="zscale", help="grey scale of the image (default: zscale)")
    p.add_argument(
        "--view",
        choices=("gnomonic", "mollweide"),
        default="gnomonic",
        help="how a HEALPix map from astromask healpix is drawn: zoomed on its footprint, or the whole sky",
    )


def mask_files(args) -> list:
    """The --mask file for each IMAGE (``None`` where none was given)."""
    masks = args.mask or [None]
    if len(masks) not in (1, len(args.images)):
        raise ParameterError(f"got {len(masks)} --mask files for {len(args.images)} images; give one or one per IMAGE")
    return masks * len(args.images) if len(masks) == 1 else masks


def read_inputs(args) -> list:
    """Panels of every IMAGE (one per HDU with --hdu), with --mask drawn over them."""
    panels = []
    for name, mask in progress(list(zip(args.images, mask_files(args)))):
        found = read_panels(name, masks=mask, hdus=args.hdu, view=args.view)
        for panel in found:
            planes = [n for n, c in panel.mask.counts().items() if c] if panel.mask is not None else []
            ny, nx = panel.shape
            log.info(
                "read %s: %d×%d (width×height), planes set: %s", panel.title, nx, ny, ", ".join(planes) or "(none)"
            )
        panels += found
    return panels


def add_parser(sub) -> None:
    p = sub.add_parser(
        "show",
        help="draw images with their mask planes overlaid (PNG, PDF, SVG)",
        description="Draw each IMAGE with an astronomical stretch and each mask plane overlaid in its own "
        "colour, with a legend of plane names and pixel counts; sky axes when the image has a celestial WCS; "
        "several images or HDUs as a grid. Large images are shown in blocks (image averaged, a plane drawn "
        "where any pixel of the block is set, so single masked pixels stay visible). Needs the 'plot' extra.",
    )
    add_input_options(p)
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="picture to write (.png, .pdf, .svg)")
    p.add_argument("--dpi", type=float, default=100, help="resolution of the picture (default: 100)")
    p.add_argument("--alpha", type=float, default=0.6, help="opacity of the plane colours (default: 0.6)")
    p.add_argument("--ncols", type=int, help="panels per row (default: a near-square grid)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args) -> int:
    check_output(args.output, args.images + (args.mask or []), args.overwrite)
    fmt = os.path.splitext(args.output)[1].lstrip(".").lower()
    if fmt not in ("png", "pdf", "svg"):
        raise ParameterError(f"{args.output}: the picture's name must end in .png, .pdf or .svg")
    if args.dpi <= 0:
        raise ParameterError(f"--dpi must be positive, got {args.dpi}")
    panels = read_inputs(args)
    fig = show_figure(
        panels, planes=args.planes, stretch=args.stretch, alpha=args.alpha, ncols=args.ncols, dpi=args.dpi
    )
    partial = f"{args.output}.{os.getpid()}.tmp"
    try:
        fig.savefig(partial, format=fmt)
        os.replace(partial, args.output)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    width, height = fig.get_size_inches() * fig.dpi
    log.info(
        "wrote %s (%d×%d pixels, %d panel%s)",
        args.output,
        round(width),
        round(height),
        len(panels),
        "" if len(panels) == 1 else "s",
    )
    return 0
