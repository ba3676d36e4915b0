"""``astromask detect IMAGE… -o OUT``: find the contaminants of exposures and write them as mask planes."""

from __future__ import annotations

import argparse
import logging
import os

import numpy as np

from .._optional import require
from ..core.masked_image import MaskedImage
from ..detect import picture
from ..detect.edge import DEFAULT_WIDTH
from ..detect.pipeline import CLASSICAL, DEFAULT_GROW, detect, parse_detectors, parse_grow
from ..errors import AstromaskError, FormatError, ParameterError
from ..io import WRITE_FORMATS
from ..io.fitsfile import parse_fits_name
from ..morphology.footprint import parse_size
from ..progress import progress
from ._common import (
    Batch,
    add_keep_going_option,
    add_loss_option,
    check_outdir,
    check_output,
    each_hdu,
    hdu_label,
    load,
    load_array,
    save,
    stage,
    staged_name,
)

log = logging.getLogger("astromask")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "detect",
        help="find saturation, cosmic rays, bad pixels and columns, trails, no-data regions",
        description="Run the classical contaminant detectors (and MaxiMask when installed) on each IMAGE, merge "
        "their planes with the file's own mask and write the masked image to OUT (a file for one image, a "
        "directory for several) with a PNG picture beside it. Detectors: " + ", ".join(CLASSICAL) + ".",
    )
    p.add_argument("images", nargs="+", metavar="IMAGE", help="input image (any format astromask reads)")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="output file (one IMAGE) or directory (several; created if missing)",
    )
    p.add_argument("--detectors", metavar="LIST", help=f"comma-separated detectors (default: {','.join(CLASSICAL)})")
    p.add_argument(
        "--cnn",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="add the MaxiMask network (default: when its extra and weights are installed)",
    )
    p.add_argument(
        "--grow",
        metavar="PLANE=R,...",
        help="grow planes by R pixels or an angle, e.g. CR=1,SAT=2 (default: "
        + ",".join(f"{k}={v}" for k, v in DEFAULT_GROW.items())
        + ")",
    )
    p.add_argument(
        "--saturate",
        type=float,
        metavar="LEVEL",
        help="saturation level (default: SATURATE card, else repeated values at the top of the image)",
    )
    p.add_argument("--gain", type=float, help="gain in e-/ADU (default: GAIN card)")
    p.add_argument("--readnoise", type=float, help="read noise in e- (default: RDNOISE card)")
    p.add_argument(
        "--edge",
        default=str(DEFAULT_WIDTH),
        metavar="WIDTH",
        help=f"EDGE border width, pixels or an angle (default {DEFAULT_WIDTH}; 0: none)",
    )
    p.add_argument(
        "--weight", metavar="FILE", help="weight map (inverse variance, e.g. a DECam oow file) of the one IMAGE"
    )
    p.add_argument(
        "--stack",
        action="store_true",
        help="the IMAGEs are exposures of one detector: find hot/dead pixels and bad columns from all",
    )
    p.add_argument("--darks", nargs="+", metavar="FILE", help="dark frames (hot pixels)")
    p.add_argument("--flats", nargs="+", metavar="FILE", help="flat fields (dead pixels, bad columns)")
    cr = p.add_argument_group("cosmic rays (astroscrappy.detect_cosmics)")
    cr.add_argument("--sigclip", type=float, default=4.5, help="Laplacian-to-noise limit (default 4.5)")
    cr.add_argument("--sigfrac", type=float, default=0.3, help="fraction of sigclip for neighbours (default 0.3)")
    cr.add_argument("--objlim", type=float, default=5.0, help="contrast limit against stars (default 5)")
    cr.add_argument("--niter", type=int, default=4, help="iterations (default 4)")
    cr.add_argument(
        "--noise-model",
        choices=["auto", "model", "measured", "variance"],
        default="auto",
        help="noise of the cosmic-ray test (default auto; see docs/detection.md)",
    )
    out = p.add_argument_group("output")
    out.add_argument(
        "--to",
        choices=WRITE_FORMATS,
        help="output format (default: the input's; plain FITS for DECam, JWST and MaxiMask inputs)",
    )
    add_loss_option(out)
    out.add_argument(
        "--clean",
        nargs="?",
        const="default",
        metavar="PLANES",
        help="write the image cleaned: pixels of PLANES (default CR,HOT,DEAD,BAD,BAD_COLUMN) replaced by the "
        "median of their clean neighbours, INTRP set there, as astroscrappy's cleaned array",
    )
    out.add_argument("--png", metavar="FILE", help="picture of the result (one IMAGE; default OUT with .png)")
    out.add_argument("--no-png", action="store_true", help="write no picture")
    out.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    add_keep_going_option(out)


def _clean_planes(text: str | None):
    """``--clean``: False, True (the default planes) or the planes named."""
    if text is None:
        return False
    if text == "default":
        return True
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise ParameterError(f"--clean takes a comma list of planes, got {text!r}")
    return names


def run(args) -> int:
    if len(args.images) == 1:  # one IMAGE of several HDUs: each HDU, into one OUT (and a picture per HDU)
        return each_hdu(args, _run, inputs=("images", "weight", "darks", "flats"), output="output")
    return _run(args)


def _run(args) -> int:
    detectors = parse_detectors(args.detectors)
    grow = parse_grow(args.grow)
    edge = parse_size(args.edge, "--edge")
    several = len(args.images) > 1
    if several and (args.weight or args.png):
        raise ParameterError("--weight and --png apply to a single IMAGE")
    if args.png and args.no_png:
        raise ParameterError("give --png FILE or --no-png, not both")
    if not args.no_png:  # before any work, not after every detector has run
        require("matplotlib", extra="plot", needed_for="detect's PNG (or give --no-png)")
    outputs = _outputs(args.images, args.output, several)
    pictures = {}
    for output in outputs:  # every output checked before any work
        png = None if args.no_png else (args.png or os.path.splitext(output)[0] + ".png")
        if png and hdu_label() is not None:  # one picture per HDU: out.ccd2.png
            root, ext = os.path.splitext(png)
            png = f"{root}.{hdu_label().replace(',', '_')}{ext}"
        for path in [output] + ([png] if png else []):
            check_output(path, args.images, args.overwrite)
        pictures[output] = png
    # --stack needs every frame at once; otherwise each image is read when its turn comes
    loaded = [_load_image(name) for name in args.images] if args.stack else None
    first_shape = loaded[0].obj.shape if loaded else None
    weight = _weight(args.weight, first_shape or _load_image(args.images[0]).obj.shape) if args.weight else None
    darks = _arrays(args.darks, "--darks")
    flats = _arrays(args.flats, "--flats")
    options = {
        "sigclip": args.sigclip,
        "sigfrac": args.sigfrac,
        "objlim": args.objlim,
        "niter": args.niter,
        "noise": args.noise_model,
    }
    batch = Batch(args.images, keep_going=args.keep_going)
    jobs = list(enumerate(zip(args.images, outputs)))
    for i, (name, output) in progress(jobs) if several else jobs:
        with batch.item(name):
            item = loaded[i] if loaded else _load_image(name)
            frames = [other.obj.image for j, other in enumerate(loaded) if j != i] if loaded else None
            result = detect(
                item.obj,
                detectors=detectors,
                cnn=args.cnn,
                grow=grow,
                saturate=args.saturate,
                gain=args.gain,
                readnoise=args.readnoise,
                edge_width=edge,
                weight=weight,
                frames=frames,
                darks=darks,
                flats=flats,
                cosmic_options=options,
                progress=not several,
                clean=_clean_planes(args.clean),
            )
            png = pictures[output]
            written = _write_outputs(args, item, result, output, png)
            if not args.quiet:
                trails = "".join(
                    f"; trail rho={t.rho:.1f} theta={t.theta:.2f} width={t.width:.1f}" for t in result.trails
                )
                line = f"{item.name}: found (pixels after growth) {result.summary()}{trails} -> {output} ({written})"
                print(line + (f", {png}" if png else ""))
    batch.finish()
    return 0


def _write_outputs(args, item, result, output: str, png: str | None) -> str:
    """The FITS and the PNG, together or not at all: the picture is made first under a temporary name."""
    partial = (stage(png) or staged_name(png)) if png else None
    try:
        if partial:
            picture.save_png(result.image, partial, title=os.path.basename(item.name))
        written = save(item, result.image, output, to=args.to, overwrite=args.overwrite, allow_loss=args.allow_loss)
        if partial and hdu_label() is None:
            os.replace(partial, png)
    finally:
        if partial and hdu_label() is None and os.path.exists(partial):
            os.remove(partial)
    return written


def _outputs(images: list[str], output: str, several: bool) -> list[str]:
    if not several:
        if os.path.isdir(output):
            raise AstromaskError(f"{output}: is a directory; give a file name for one IMAGE")
        return [output]
    if os.path.exists(output) and not os.path.isdir(output):
        raise AstromaskError(f"{output}: not a directory; OUT must be a directory for several IMAGEs")
    check_outdir(output)
    os.makedirs(output, exist_ok=True)
    names = [_stem(name) + ".detect.fits" for name in images]
    if len(set(names)) != len(names):
        raise AstromaskError("two IMAGEs have the same file name; their outputs would collide in " + output)
    return [os.path.join(output, name) for name in names]


def _stem(name: str) -> str:
    base = os.path.basename(parse_fits_name(name).path)
    for ext in (".fz", ".gz"):
        if base.lower().endswith(ext):
            base = base[: -len(ext)]
    return os.path.splitext(base)[0]


def _load_image(name: str):
    item = load(name)
    if not isinstance(item.obj, MaskedImage):
        raise FormatError("holds a mask, not an image to detect contaminants in", path=name)
    return item


def _weight(name: str, shape) -> np.ndarray:
    data, _ = load_array(name)
    if data.shape != shape:
        raise FormatError(f"weight map has shape {data.shape}, the image {shape}", path=name)
    return data


def _arrays(names: list[str] | None, option: str) -> np.ndarray | None:
    if not names:
        return None
    arrays = [load_array(name)[0] for name in names]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ParameterError(f"{option} files differ in shape: {sorted(shapes)}")
    return np.stack(arrays)
