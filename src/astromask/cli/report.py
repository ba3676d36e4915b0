"""``astromask report INPUT... -o DIR``: a self-contained HTML page with one switchable layer per mask plane."""

from __future__ import annotations

from ..report import write_report
from ._common import check_outdir
from .show import add_input_options, mask_files


def add_parser(sub) -> None:
    p = sub.add_parser(
        "report",
        help="write a static HTML page of images with switchable mask planes",
        description="Write DIR/index.html: per image, the stretched image with one layer per mask plane "
        "(check boxes show or hide them), a table of pixel counts and fractions per plane, and the "
        "parameters that made the mask (MaxiMask, DECam CP and astromask header cards). The page is "
        "self-contained (images inlined, no network, no server).",
    )
    add_input_options(p)
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for index.html (made if missing)")
    p.add_argument("--title", default="astromask report", help="page title")
    p.add_argument("--overwrite", action="store_true", help="replace DIR/index.html if it exists")


def run(args) -> int:
    check_outdir(args.output)
    write_report(
        args.images,
        args.output,
        masks=mask_files(args),
        hdus=args.hdu,
        planes=args.planes,
        stretch=args.stretch,
        title=args.title,
        overwrite=args.overwrite,
    )
    return 0
