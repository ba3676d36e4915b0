"""``astromask blob IN OUT --threshold T``: CIAO ``dmimgblob`` label maps, or the mask of chosen labels.

OUT is an int32 label map (sources 1..N, background groups -1..-M unless
``--srconly``, NaN 0), or with ``--select`` a 0/1 uint8 mask of the chosen
labels. It keeps IN's header except ``BUNIT``.
"""

from __future__ import annotations

import logging

from ..ops.blobs import blob_mask, blobs
from ._common import add_output_argument, add_output_options, check_output, each_hdu, load_array, save_array, wrote

log = logging.getLogger("astromask")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "blob",
        help="label connected groups of pixels above a threshold (dmimgblob)",
        description="Label the groups of contiguous pixels >= THRESHOLD as 1..N in raster order "
        "and, unless --srconly, the groups below it as -1..-M; NaN pixels are 0.",
    )
    p.add_argument("input", metavar="IN", help="input image (CFITSIO [ext] selector allowed)")
    add_output_argument(p, "output FITS image")
    p.add_argument("--threshold", type=float, required=True, metavar="T", help="sources are pixels >= T")
    p.add_argument("--srconly", action="store_true", help="label only the sources (background 0)")
    p.add_argument("--smooth", type=float, metavar="SIGMA", help="Gaussian smoothing (pixels) before the threshold")
    p.add_argument(
        "--connectivity", type=int, choices=[4, 8], default=8, help="4 (edges) or 8 (edges and corners, default)"
    )
    p.add_argument(
        "--select",
        metavar="LABELS",
        help="write a 0/1 mask of these labels instead: 'sources', 'background', '5', '2:7', '1,3,5:9'",
    )
    add_output_options(p, formats=False)


def _run_one(args) -> int:
    check_output(args.output, [args.input], args.overwrite)
    image, header = load_array(args.input)
    labels = blobs(image, args.threshold, smooth=args.smooth, connectivity=args.connectivity, srconly=args.srconly)
    result = labels if args.select is None else blob_mask(labels, args.select)
    header.remove("BUNIT", ignore_missing=True)
    save_array(result, header, args.output, overwrite=args.overwrite)
    wrote(args.output, f" ({int(labels.max(initial=0))} sources)")
    return 0


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("input",), output="output")
