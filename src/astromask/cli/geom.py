"""``astromask geom OUT --skydir ...``: an empty map with a sky WCS, as gammapy's ``WcsGeom.create``.

OUT is a ``uint8`` image of zeros whose header holds the WCS, to draw masks on
(``astromask catalog OUT CATALOG MASK ...``).
"""

from __future__ import annotations

import logging

from astropy.coordinates import SkyCoord

from .._limits import check_memory
from ..errors import ParameterError
from ..io.fitsfile import wcs_cards
from ..sky import make_geometry
from ._common import add_output_argument, add_output_options, check_output, save_array

log = logging.getLogger("astromask")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "geom",
        help="write an empty map with a sky WCS (gammapy WcsGeom.create)",
        description="Write a zero uint8 image centred on --skydir with pixels of --binsz, "
        "rint(width / binsz) pixels across (or --npix), CRPIX at the centre and CDELT1 negative.",
    )
    add_output_argument(p, "output FITS image")
    p.add_argument(
        "--skydir",
        required=True,
        metavar="POS",
        help="map centre: 'LON LAT' in degrees or sexagesimal ('05h34m31.9s +22d00m52s')",
    )
    p.add_argument("--skydir-frame", metavar="FRAME", help="frame of --skydir (default: --frame)")
    p.add_argument("--frame", default="icrs", help="frame of the map: icrs (default), galactic, ...")
    p.add_argument("--binsz", required=True, nargs="+", metavar="ANGLE", help="pixel size (one, or lon and lat)")
    size = p.add_mutually_exclusive_group(required=True)
    size.add_argument("--width", nargs="+", metavar="ANGLE", help="map size (one, or lon and lat), e.g. 5deg")
    size.add_argument("--npix", nargs="+", type=int, metavar="N", help="map size in pixels (one, or nx and ny)")
    p.add_argument("--proj", default="CAR", help="WCS projection code: CAR (default), TAN, AIT, ...")
    add_output_options(p, formats=False)


def _one_or_pair(values: list, option: str):
    if len(values) > 2:
        raise ParameterError(f"{option} takes one value or two (lon, lat), got {len(values)}")
    return values[0] if len(values) == 1 else tuple(values)


def run(args) -> int:
    check_output(args.output, [], args.overwrite)
    try:
        skydir = SkyCoord(args.skydir, unit="deg", frame=args.skydir_frame or args.frame)
    except ValueError as exc:
        raise ParameterError(f"--skydir {args.skydir!r} is not a sky position: {exc}") from None
    geom = make_geometry(
        skydir,
        binsz=_one_or_pair(args.binsz, "--binsz"),
        width=None if args.width is None else _one_or_pair(args.width, "--width"),
        npix=None if args.npix is None else _one_or_pair(args.npix, "--npix"),
        frame=args.frame,
        proj=args.proj,
    )
    ny, nx = geom.shape
    check_memory(2.0 * ny * nx, f"--binsz/--width: a {nx} x {ny} pixel map")  # the mask and its uint8 copy
    save_array(geom.empty_mask().view("uint8"), wcs_cards(geom.wcs), args.output, overwrite=args.overwrite)
    log.info("wrote %s (%d x %d)", args.output, geom.shape[1], geom.shape[0])
    return 0
