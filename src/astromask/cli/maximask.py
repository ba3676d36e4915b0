"""``astromask maximask IM_PATH`` and ``astromask maxitrack IM_PATH``: the MaxiMask and MaxiTrack
command lines, with the original's options (``maximask==1.4.1``), run in PyTorch."""

from __future__ import annotations

import argparse
import logging
import os
import random

from ..errors import ParameterError
from ..progress import progress

log = logging.getLogger("astromask")

_TRUE = ("yes", "true", "t", "y", "1")
_FALSE = ("no", "false", "f", "n", "0")


def _bool(text: str) -> bool:
    """The original's ``str2bool``: yes/true/t/y/1 or no/false/f/n/0 (any case)."""
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"boolean value expected (yes/no, true/false, 1/0), got {text!r}")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"integer expected, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"number expected, got {text!r}") from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"number expected, got {text!r}") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be strictly between 0 and 1, got {value}")
    return value


def _common(p, batch_help: str) -> None:
    p.add_argument(
        "im_path",
        metavar="IM_PATH",
        help="a FITS file (.fits, .fits.fz, .fits.gz), one HDU of it (file.fits[n]), "
        "a directory or a .list file of such names",
    )
    p.add_argument(
        "--net-dir",
        "--net_dir",
        metavar="DIR",
        help="model directory in the original layout (.../maximask_and_maxitrack/<net>/model); "
        "default: the weights cached by 'python -m astromask.maximask'",
    )
    p.add_argument("--batch-size", "--batch_size", type=_positive_int, metavar="N", help=batch_help)
    p.add_argument("--device", choices=["cpu", "cuda"], help="where the network runs (default: cuda if available)")
    p.add_argument(
        "--fast",
        action="store_true",
        help="let PyTorch use AVX-512 kernels where the CPU has them (faster on such CPUs, but a few "
        "pixels near the thresholds may differ from the original's; default: the pinned path, "
        "the same masks on every x86-64 CPU)",
    )
    p.add_argument("-v", "--verbose", dest="tool_verbose", action="store_true", help="log what is done")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "maximask",
        help="find contaminants (cosmic rays, bad columns, trails, saturation, ...) with MaxiMask",
        description="Run the MaxiMask network (original weights, in PyTorch) on images and write "
        "<name>.mask.fits beside each (<name>.mask<n>.fits for file.fits[n]): per processed HDU, "
        "14 class maps (uint8 by default, float32 probabilities with --proba_thresh no, or one int16 "
        "map of powers of two with --single_mask yes), with the input's HDU layout and sky WCS.",
    )
    _common(
        p,
        "patches per network call (default: 4 on CPU, 16 on GPU; the original's 8 takes more "
        "memory for no gain on CPU); each patch of a batch takes about 150 MB",
    )
    p.add_argument(
        "--config-dir",
        "--config_dir",
        metavar="DIR",
        help="directory with classes.flags, classes.priors and classes.thresh "
        "(14 lines 'NAME value'); default: the original's settings",
    )
    p.add_argument(
        "--prior-modif",
        "--prior_modif",
        type=_bool,
        default=True,
        metavar="BOOL",
        help="move the probabilities to the priors of classes.priors (default: yes)",
    )
    p.add_argument(
        "--proba-thresh",
        "--proba_thresh",
        type=_bool,
        default=True,
        metavar="BOOL",
        help="threshold the probabilities with classes.thresh (default: yes)",
    )
    p.add_argument(
        "--single-mask",
        "--single_mask",
        type=_bool,
        default=False,
        metavar="BOOL",
        help="join the classes in one map of sum(2**k) (default: no; needs thresholds)",
    )
    p.add_argument(
        "-o",
        "--outdir",
        metavar="DIR",
        help="write the .mask.fits files in DIR (made if needed) instead of beside each input, "
        "so that read-only data can be processed",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing .mask.fits outputs")
    p.add_argument(
        "--keep-going",
        action="store_true",
        help="with several files, go on when one fails, then exit 1 naming the failed ones",
    )

    t = sub.add_parser(
        "maxitrack",
        help="probability that exposures suffer from tracking errors (MaxiTrack)",
        description="Run the MaxiTrack network on images and append '<file> <probability>' lines "
        "(per cube plane: '<file> HDU <i> Channel <c> <probability>') to maxitrack.out.",
    )
    _common(t, "blocks per network call (default: 16)")
    t.add_argument(
        "--prior-value",
        "--prior_value",
        "--prior",
        dest="prior",
        type=_probability,
        default=0.05,
        metavar="P",
        help="expected proportion of exposures with tracking errors (default: 0.05)",
    )
    t.add_argument(
        "--frac",
        type=_fraction,
        default=1.0,
        metavar="F",
        help="use a random fraction 0 < F <= 1 of each file's HDUs (at least one; default: 1)",
    )
    t.add_argument("--seed", type=int, help="seed of the --frac draw (default: unseeded, as the original)")
    t.add_argument(
        "-o",
        "--output",
        default="maxitrack.out",
        metavar="FILE",
        help="file the results are appended to (default: maxitrack.out)",
    )


def _files(im_path: str) -> list[str]:
    from ..maximask.files import input_files

    files = input_files(im_path)
    if not files:
        raise ParameterError(f"{im_path}: no FITS file to process")
    log.info("files to process: %s", ", ".join(files))
    return files


def numerics_line() -> str:
    from ..maximask import numerics

    current = numerics.state()
    return current.describe() if current is not None else "numeric path not set"


def _run_maximask(args) -> int:
    from ..maximask import load_maximask, read_config
    from ..maximask.files import check_processable, maximask_file

    config = read_config(
        args.config_dir, prior_modif=args.prior_modif, proba_thresh=args.proba_thresh, single_mask=args.single_mask
    )
    from ._common import check_outdir

    files = _files(args.im_path)
    for name in files:  # before any work: every input must have something to process
        check_processable(name)
    if args.outdir:
        check_outdir(args.outdir)
        os.makedirs(args.outdir, exist_ok=True)
    mm = load_maximask(args.net_dir, args.device, args.batch_size)
    log.info("%s", numerics_line())
    from ._common import Batch

    batch = Batch(files, keep_going=args.keep_going)
    for name in progress(files):
        with batch.item(name):
            print(f"wrote {maximask_file(mm, name, config, overwrite=args.overwrite, outdir=args.outdir)}")
    batch.finish()
    return 0


def _run_maxitrack(args) -> int:
    from ..io.fitsfile import check_writable
    from ..maximask import load_maxitrack
    from ..maximask.files import check_processable, maxitrack_file
    from ..maximask.maxitrack import DEFAULT_BATCH

    files = _files(args.im_path)
    for name in files:
        check_processable(name)
    check_writable(args.output, overwrite=True)  # appended to: before any work
    mt = load_maxitrack(args.net_dir, args.device, args.batch_size or DEFAULT_BATCH)
    log.info("%s", numerics_line())
    rng = random.Random(args.seed)
    for name in progress(files):
        lines = maxitrack_file(mt, name, prior=args.prior, frac=args.frac, rng=rng)
        with open(args.output, "a") as f:
            f.write("".join(line + "\n" for line in lines))
        print(f"appended to {args.output}: " + "; ".join(lines))
    return 0


def run(args) -> int:
    from ..maximask import numerics

    if args.tool_verbose:
        log.setLevel(logging.INFO)
    numerics.use("fast" if args.fast else "pinned")
    if args.command == "maxitrack":
        return _run_maxitrack(args)
    return _run_maximask(args)
