"""``astromask reproject IN OUT --wcs REF``: a mask or masked image resampled onto REF's sky grid.

Each plane is resampled on its own (:mod:`astromask.sky.reproject`): with ``--method exact`` (the
default) a target pixel gets a plane where the covered fraction of source pixels with that plane
exceeds the plane's threshold (``--threshold PLANE=F``; default 0, any overlap), with ``nearest``
the planes of the source pixel under its centre. ``NO_DATA`` marks the target pixels no source pixel
covers. Science and variance of a masked image are resampled with the same overlaps.
"""

from __future__ import annotations

from ..errors import ParameterError
from ..io import masks_on_sky, output_format, write_mask
from ..io.fitsfile import read_wcs
from ._common import add_output_argument, add_output_options, check_output, load, load_array, save

HELP = "resample a mask or masked image onto another sky grid, plane by plane"


def add_parser(sub) -> None:
    p = sub.add_parser("reproject", help=HELP, description=__doc__.split("\n\n", 1)[1])
    p.add_argument("input", metavar="IN", help="mask or masked image with a sky WCS (CFITSIO [ext] selector allowed)")
    add_output_argument(p, "output file")
    p.add_argument("--wcs", required=True, metavar="REF", help="image whose sky WCS and shape give the target grid")
    p.add_argument("--method", choices=("exact", "nearest"), default="exact", help="overlaps, or nearest pixel")
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="PLANE=F",
        help="with --method exact: set PLANE where its covered fraction exceeds F (default 0); repeatable",
    )
    add_output_options(p)


def _thresholds(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            sep = ""
        if not sep or not name.strip():
            raise ParameterError(f"--threshold must be PLANE=FRACTION, such as DETECTED=0.5, got {item!r}")
    return out


def run(args) -> int:
    from ..core.masked_image import MaskedImage
    from ..sky.reproject import reproject_masked

    check_output(args.output, [args.input, args.wcs], args.overwrite)
    thresholds = _thresholds(args.threshold)
    pixels, header = load_array(args.wcs)
    wcs_out = read_wcs(header)
    if wcs_out is None or not wcs_out.has_celestial or pixels.ndim != 2:
        raise ParameterError(f"{args.wcs}: --wcs needs a 2-D image with a sky WCS, to give the target grid")
    loaded = load(args.input)
    wcs_in = loaded.obj.wcs if isinstance(loaded.obj, MaskedImage) else None
    if wcs_in is None:
        wcs_in = next(masks_on_sky(args.input))[1]  # a lone mask's WCS is in its header
    if wcs_in is None or not wcs_in.has_celestial:
        raise ParameterError(f"{args.input}: no sky WCS to resample from")
    out = reproject_masked(
        loaded.obj, wcs_in.celestial, wcs_out.celestial, pixels.shape, method=args.method, thresholds=thresholds or None
    )
    if isinstance(out, MaskedImage):
        written = save(loaded, out, args.output, to=args.to, overwrite=args.overwrite, allow_loss=args.allow_loss)
    else:
        written = output_format(loaded.format, out, args.to)
        write_mask(
            out,
            args.output,
            format=written,
            wcs=wcs_out.celestial,
            overwrite=args.overwrite,
            allow_loss=args.allow_loss,
        )
    mask = out.mask if isinstance(out, MaskedImage) else out
    counts = mask.counts()
    planes = ", ".join(f"{name} {n}" for name, n in counts.items() if n) or "none"
    print(
        f"{args.input} onto {args.wcs}'s grid {pixels.shape[1]}x{pixels.shape[0]} ({args.method}): {planes} -> "
        f"{args.output} ({written})"
    )
    return 0
