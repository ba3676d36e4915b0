"""``astromask lookup CATALOG MASK... -o OUT``: the mask planes at each catalogue position.

OUT is CATALOG with the columns ``MASKBITS`` (int64: bit ``i`` set where plane ``i`` is set at the
object, or within ``--radius`` of it, in any of the masks; the planes are named by the header cards
``MBIT<i>`` of a FITS output, or the table's metadata) and ``ON_MASK`` (the position lies on a
pixel of at least one mask), and with ``--plane-columns`` a boolean ``MASK_<PLANE>`` per plane.
Every mask of every file counts (each CCD of a multi-extension exposure), read one at a time.
"""

from __future__ import annotations

import itertools
import logging

import numpy as np
from astropy.table import Table

from ..errors import OutputError, ParameterError
from ..io import is_healpix_file, masks_on_sky
from ..sky.catalog import read_positions
from ..sky.lookup import lookup_planes, merge_lookups
from ._common import add_output_argument, add_position_options, check_output, replaced_whole

log = logging.getLogger("astromask")

HELP = "add to each catalogue row the mask planes at its position (MASKBITS)"


def add_parser(sub) -> None:
    p = sub.add_parser(
        "lookup",
        help=HELP,
        description="Write CATALOG with a MASKBITS column: per object, the OR of the mask planes set at its "
        "position (or within --radius) in every mask of the MASK files, each placed on the sky by its WCS. "
        "Position columns are found by name (RA/DEC, RAJ2000/DEJ2000, GLON/GLAT) unless given. The output "
        "format follows OUT's extension (.fits, .ecsv, .csv ...).",
    )
    p.add_argument("catalog", metavar="CATALOG", help="table of objects (FITS, ECSV, CSV)")
    p.add_argument(
        "masks",
        metavar="MASK",
        nargs="+",
        help="mask or image files with a sky WCS (all their CCDs), or HEALPix maps from astromask healpix",
    )
    add_output_argument(p, "output table")
    p.add_argument("--radius", metavar="ANGLE", help="also count pixels within this angle, e.g. 2arcsec")
    p.add_argument("--plane-columns", action="store_true", help="add a boolean MASK_<PLANE> column per plane")
    add_position_options(p)
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def run(args) -> int:
    check_output(args.output, [args.catalog, *args.masks], args.overwrite)
    table, positions = read_positions(
        args.catalog, lon_column=args.lon_column, lat_column=args.lat_column, frame=args.frame, format=args.table_format
    )
    maps = [name for name in args.masks if is_healpix_file(name)]
    pixel_masks = [name for name in args.masks if name not in maps]
    masks = itertools.chain.from_iterable(masks_on_sky(name) for name in pixel_masks)  # one CCD at a time
    found = lookup_planes(positions, masks, radius=args.radius)
    if maps:
        from ..sky.healpix import HealpixMasks, lookup_healpix

        if args.radius:
            raise ParameterError(f"{maps[0]}: --radius applies to pixel masks, not to HEALPix maps")
        for name in maps:
            found = merge_lookups(found, lookup_healpix(positions, HealpixMasks.read(name)))
    out = Table(table, copy=False)
    for name in ("MASKBITS", "ON_MASK"):
        if name in out.colnames:
            raise OutputError(f"{args.catalog} has a {name} column already; rename it first", path=args.output)
    out["MASKBITS"] = found.bits
    out["MASKBITS"].description = "OR of the mask planes at the object: bit i is plane MBIT<i>"
    out["ON_MASK"] = found.covered
    out["ON_MASK"].description = "the position lies on a pixel of at least one mask"
    if args.plane_columns:
        for plane in found.planes:
            out[f"MASK_{plane}"] = found.plane(plane)
    for i, plane in enumerate(found.planes):
        out.meta[f"MBIT{i}"] = plane
    _write_table(out, args.output, args.table_format, args.overwrite)
    flagged = int(np.count_nonzero(found.bits))
    print(
        f"{len(out)} objects, {int(found.covered.sum())} on a mask, {flagged} with a plane set "
        f"({', '.join(f'{p} {int(found.plane(p).sum())}' for p in found.planes if found.plane(p).any()) or 'none'})"
        f" -> {args.output}"
    )
    return 0


def _write_table(table: Table, path: str, fmt: str | None, overwrite: bool) -> None:
    """Write the table whole or not at all (a temporary file with the same extension, renamed)."""
    with replaced_whole(path, overwrite) as temporary:
        table.write(temporary, format=fmt, overwrite=True)
