"""``astromask coadd OUT IN...``: masks on one pixel grid combined plane by plane.

OUT is a FITS file: a ``MASK`` HDU (planes by ``--rule``, ``NO_DATA`` where no input covers a pixel,
the grid's WCS; read it with ``astromask.read``) and ``COUNTS``, a cube whose first slice is the
number of inputs covering each pixel and slice ``k`` (named by card ``PLANEk``) the number of
covering inputs with that plane, both RICE_1-compressed. An input
covers a pixel unless its ``NO_DATA`` plane is set there. Every input must be on the first one's grid
(shape and sky WCS); inputs on other grids need reprojecting first.
"""

from __future__ import annotations

import logging

import numpy as np
from astropy.io import fits

from ..errors import FormatError, ParameterError
from ..io import masks_on_sky
from ..io.fitsfile import make_image_hdu, wcs_cards, write_atomic
from ..io.formats.plain import mask_hdu
from ..ops.coadd import RULES, coadd_masks
from ._common import add_output_argument, check_output

log = logging.getLogger("astromask")

HELP = "combine masks on one grid plane by plane: counts, union/intersection/at least N, input counts"
GRID_TOLERANCE = 0.01  # pixels: how far the inputs' WCSs may place the first grid's pixels


def add_parser(sub) -> None:
    p = sub.add_parser("coadd", help=HELP, description=__doc__.split("\n\n", 1)[1])
    add_output_argument(p, "output FITS file", first=True)
    p.add_argument("inputs", metavar="IN", nargs="+", help="mask or image files on one grid (one mask each)")
    p.add_argument("--rule", choices=RULES, default="union", help="how each plane is combined (default union)")
    p.add_argument("--min-count", type=int, metavar="N", help="with --rule atleast: inputs that must have a plane")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")


def _one_mask(name: str):
    masks = list(masks_on_sky(name))
    if len(masks) != 1:
        raise FormatError(f"holds {len(masks)} masks; name one as {name}[HDU]", path=name)
    return masks[0]


def _same_grid(reference, candidate, name: str) -> None:
    (mask, wcs, _), (other, other_wcs, _) = reference, candidate
    if other.shape != mask.shape:
        raise FormatError(f"has shape {other.shape}, the first input {mask.shape}: coadds need one grid", path=name)
    ny, nx = mask.shape
    x = np.array([0.0, nx - 1, nx - 1, 0.0, (nx - 1) / 2])
    y = np.array([0.0, 0.0, ny - 1, ny - 1, (ny - 1) / 2])
    px, py = other_wcs.world_to_pixel(wcs.pixel_to_world(x, y))
    off = float(np.nanmax(np.hypot(px - x, py - y)))
    if not np.isfinite(off) or off > GRID_TOLERANCE:
        raise FormatError(
            f"is not on the first input's grid: its WCS places that grid's pixels up to {off:.3g} pixels away "
            f"(more than {GRID_TOLERANCE}); reproject it first",
            path=name,
        )


def run(args) -> int:
    check_output(args.output, args.inputs, args.overwrite)
    if args.rule == "atleast" and args.min_count is None:
        raise ParameterError("--rule atleast needs --min-count N")
    if args.rule != "atleast" and args.min_count is not None:
        raise ParameterError("--min-count goes with --rule atleast")
    first = _one_mask(args.inputs[0])

    def masks():
        yield first[0]
        for name in args.inputs[1:]:  # one at a time
            candidate = _one_mask(name)
            _same_grid(first, candidate, name)
            yield candidate[0]

    result = coadd_masks(masks(), rule=args.rule, min_count=args.min_count)
    header = fits.Header()
    header["NINPUTS"] = (result.n_inputs, "inputs combined")
    header["RULE"] = (args.rule, "how each plane of MASK was combined")
    if args.min_count is not None:
        header["MINCOUNT"] = (args.min_count, "rule atleast: a plane where COUNT_<PLANE> >= this")
    geometry = wcs_cards(first[1])
    hdus = [fits.PrimaryHDU(header=header), mask_hdu(result.mask, compression="RICE_1", header=geometry)]
    cube = np.stack([result.inputs, *result.counts.values()])
    cube_header = fits.Header()
    cube_header["PLANE0"] = ("NINPUTS", "slice 0: the inputs covering each pixel")
    for k, plane in enumerate(result.counts, start=1):
        cube_header[f"PLANE{k}"] = (plane, f"slice {k}: covering inputs with {plane}")
    hdus.append(make_image_hdu(cube, cube_header, name="COUNTS", compression="RICE_1"))
    write_atomic(fits.HDUList(hdus), args.output, overwrite=args.overwrite)
    gaps = int(result.mask.get("NO_DATA").sum())
    planes = ", ".join(f"{p} {int(result.mask.get(p).sum())}" for p in result.counts if result.mask.get(p).any())
    print(
        f"{result.n_inputs} masks, rule {args.rule}: {planes or 'no plane set'}; "
        f"{gaps} pixels covered by none (NO_DATA) -> {args.output}"
    )
    return 0
