"""``astromask catalog IMAGE CATALOG OUT``: mask the pixels within a radius of catalog sources.

IMAGE gives the grid and its sky WCS; CATALOG is a table (FITS, ECSV, CSV) of
sky positions. OUT is a 0/1 ``uint8`` image with IMAGE's header (``BUNIT``
dropped): 1 where a pixel centre is within the radius of a source (great-circle
separation ``<=`` radius), or, with ``--invert``, 1 elsewhere (gammapy's
exclusion-mask polarity).
"""

from __future__ import annotations

import logging

from ..errors import ParameterError
from ..io.fitsfile import read_wcs
from ..sky import catalog_mask
from ._common import (
    add_output_argument,
    add_output_options,
    add_position_options,
    check_output,
    load_array,
    save_selection,
)

log = logging.getLogger("astromask")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "catalog",
        help="mask the pixels within a radius of the sources of a catalog",
        description="Write a 0/1 mask of IMAGE's grid: 1 within the radius (great-circle separation "
        "<= radius) of any source of CATALOG. Position columns are found by name (RA/DEC, "
        "RAJ2000/DEJ2000, GLON/GLAT) unless given.",
    )
    p.add_argument("image", metavar="IMAGE", help="image giving the grid and sky WCS (CFITSIO [ext] selector allowed)")
    p.add_argument("catalog", metavar="CATALOG", help="table of sources (FITS, ECSV, CSV)")
    add_output_argument(p, "output FITS mask")
    radius = p.add_mutually_exclusive_group(required=True)
    radius.add_argument("--radius", metavar="ANGLE", help="one radius for all sources, e.g. 0.3deg or 30arcsec")
    radius.add_argument("--radius-column", metavar="COL", help="column with a radius per source")
    p.add_argument("--radius-unit", default="deg", help="unit of a radius column without one (default deg)")
    add_position_options(p)
    p.add_argument("--invert", action="store_true", help="write 1 outside the circles instead")
    add_output_options(p, formats=False)


def run(args) -> int:
    check_output(args.output, [args.image, args.catalog], args.overwrite)
    image, header = load_array(args.image)
    wcs = read_wcs(header)
    if wcs is None:
        raise ParameterError(f"{args.image}: the image has no sky WCS to place catalog positions on")
    mask = catalog_mask(
        image.shape,
        wcs,
        args.catalog,
        radius=args.radius,
        radius_column=args.radius_column,
        radius_unit=args.radius_unit,
        lon_column=args.lon_column,
        lat_column=args.lat_column,
        frame=args.frame,
        format=args.table_format,
    )
    save_selection(mask, header, args)
    return 0
