"""``astromask region IMAGE REGION OUT``: the mask of a region on an image's grid.

Like CIAO's ``dmcopy "img[sky=region(r)]"`` on a ones-image: OUT is a byte
image, 1 where the pixel centre is in the region and 0 elsewhere, with the
image's header (sky WCS, physical ``LTM``/``LTV``). It is cropped to the
bounding box of the selected pixels unless ``--full`` (CIAO's ``[opt full]``);
cropping shifts ``CRPIXn*`` and ``LTVn`` so every coordinate system still
holds. ``--exclude`` selects the outside (``[exclude sky=region(r)]``);
``--apply`` writes the image itself with unselected pixels set to ``--null``.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.io import fits

from ..errors import ParameterError
from ..filter.hdus import crop_header
from ..regions import load_region
from ._common import (
    add_output_argument,
    add_output_options,
    check_output,
    each_hdu,
    hdu_label,
    load_array,
    save_array,
    wrote,
)

log = logging.getLogger("astromask")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "region",
        help="make a 0/1 mask (or filter an image) from a CIAO, FITS, ds9 or CRTF region",
        description="Rasterize REGION on the grid of IMAGE: a pixel is in the region when its centre is. "
        "REGION is a CIAO region string ('circle(4096.5,4096.5,20)-box(...)'), region(FILE), or a file: "
        "CIAO ASCII, FITS region table (file.fits[EXT] picks the table), ds9 or CRTF. "
        "OUT is a byte image (1 = in the region) with IMAGE's header, cropped to the selected pixels "
        "unless --full.",
    )
    p.add_argument(
        "image",
        metavar="IMAGE",
        help="image giving the grid, physical and sky coordinates (CFITSIO [ext] selector allowed)",
    )
    p.add_argument("region", metavar="REGION", help="region string, region(FILE) or region file")
    add_output_argument(p, "output FITS file")
    p.add_argument("--exclude", action="store_true", help="select the pixels outside the region")
    p.add_argument("--full", action="store_true", help="keep the full image size (CIAO [opt full])")
    p.add_argument(
        "--apply",
        action="store_true",
        help="write IMAGE's pixels instead of a 0/1 mask, unselected pixels set to --null",
    )
    p.add_argument(
        "--null",
        type=float,
        default=0.0,
        metavar="VALUE",
        help="value of unselected pixels with --apply (default 0; 'nan' for float images)",
    )
    add_output_options(p, formats=False)


def _run_one(args) -> int:
    check_output(args.output, [args.image, args.region], args.overwrite)
    data, header = load_array(args.image)
    region = load_region(args.region)
    selected = region.mask(data.shape, header=header)
    if args.exclude:
        selected = ~selected
    if args.apply:
        out = _filtered(data, selected, args.null)
    else:
        out = selected.astype(np.uint8)
        header.remove("BUNIT", ignore_missing=True)
    if not args.full and not selected.any() and hdu_label() is not None:
        log.info("  HDU %s: the region selects no pixel; written at full size", hdu_label())
    elif not args.full:
        if not selected.any():
            raise ParameterError(
                f"{args.region}: the region selects no pixel of {args.image} (use --full to "
                "write the full-size image anyway)"
            )
        out, header = _crop(out, selected, header)
    header.add_history(f"astromask region{' --exclude' if args.exclude else ''}: {args.region}"[:72])
    save_array(out, header, args.output, overwrite=args.overwrite)
    wrote(args.output, f": {int(selected.sum())} of {selected.size} pixels selected")
    return 0


def _filtered(data: np.ndarray, selected: np.ndarray, null: float) -> np.ndarray:
    if data.dtype.kind in "iu" and not float(null).is_integer():
        raise ParameterError(f"--null {null} is not an integer, but the image is {data.dtype}")
    out = data.copy()
    out[~selected] = null
    return out


def _crop(out: np.ndarray, selected: np.ndarray, header: fits.Header) -> tuple[np.ndarray, fits.Header]:
    """Cut to the selected pixels' bounding box, the header moved with it (:func:`crop_header`)."""
    rows = np.flatnonzero(selected.any(axis=1))
    cols = np.flatnonzero(selected.any(axis=0))
    j0, j1, i0, i1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    return out[j0:j1, i0:i1], crop_header(header, int(i0), int(j0))


def run(args) -> int:
    return each_hdu(args, _run_one, inputs=("image",), output="output")
