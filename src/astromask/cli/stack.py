"""``astromask stack INPUTS... --outdir DIR``: KBMOD-style masking of a stack of exposures.

Parameters come from KBMOD's defaults, then ``--config kbmod.toml`` (KBMOD
parameter names), then the options given here.
"""

from __future__ import annotations

import argparse
import json
import logging

from ..io import WRITE_FORMATS
from ..morphology.footprint import FOOTPRINTS
from ..stack import StackConfig, load_config, run_stack
from ..stack.scheduler import check_scheduler
from ._common import add_loss_option, check_outdir

log = logging.getLogger("astromask")

# option dest -> KBMOD parameter name
_PARAMETERS = (
    "flag_keys",
    "repeated_flag_keys",
    "mask_num_images",
    "mask_grow",
    "footprint",
    "mask_threshold",
    "max_masked_pixels",
    "mask_bits_dict",
    "mask_bit_vector",
    "unknown_flags",
    "min_usable",
    "group_by",
    "night_offset",
)


def _threshold(text: str) -> float | None:
    if text.strip().lower() in ("none", "off"):
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or 'none', got {text!r}") from None


def _bits_dict(text: str):
    if text.strip().lower() == "kbmod":
        return "kbmod"
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        example = '{"BAD": 0, "CR": 3}'
        raise argparse.ArgumentTypeError(f"expected JSON such as '{example}' or 'kbmod': {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object {{plane: bit index}}, got {text!r}")
    return value


def _scheduler(text: str) -> str:
    try:
        return check_scheduler(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_parser(sub) -> None:
    p = sub.add_parser(
        "stack",
        help="mask a stack of exposures as KBMOD does (flags, threshold, global mask, growth)",
        description="Mask every image of a stack the KBMOD way: per-image flags (through each file's own "
        "planes), science > threshold, a global mask of pixels with repeated flags in at least N images, all "
        "grown (diamond by default); science and variance become NaN there. Pixels with NaN or infinite science "
        "or variance, or variance <= 0, are NO_DATA. Images more masked than --max-masked-pixels (or less usable "
        "than --min-usable) are dropped. Writes what is new to DIR: each exposure's mask as NAME_mask.fits (its "
        "planes plus STACK_MASKED, GLOBAL, NO_DATA; in its own format where that holds a lone mask, else plain "
        "FITS; compressed), global_mask.fits with the counts, stack_summary.ecsv, and prints the summary; "
        "--write-images writes the whole masked exposures instead. Streams: memory is one image, the previous "
        "one's output while it is written, and the count array.",
    )
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="image files, globs, directories, @list.txt or a .list/.txt file of names",
    )
    p.add_argument("-o", "--outdir", required=True, metavar="DIR", help="output directory (created if needed)")
    p.add_argument("--config", metavar="TOML", help="TOML file of KBMOD parameters (flag_keys, mask_grow, ...)")
    p.add_argument(
        "--flag-keys",
        metavar="NAMES",
        help="per-image flags, e.g. BAD,EDGE ('' for none; default BAD,EDGE,NO_DATA,SUSPECT,UNMASKEDNAN)",
    )
    p.add_argument(
        "--repeated-flag-keys",
        metavar="NAMES",
        help="flags counted for the global mask, e.g. CR (default none: no global mask)",
    )
    p.add_argument(
        "--mask-num-images",
        type=int,
        metavar="N",
        help="global where at least N images have a repeated flag (default 2)",
    )
    p.add_argument("--mask-grow", type=int, metavar="N", help="grow the combined mask by N pixels (default 10)")
    p.add_argument("--footprint", choices=FOOTPRINTS, help="growth footprint (default diamond, as KBMOD)")
    p.add_argument(
        "--unknown-flags",
        choices=("error", "warn", "ignore"),
        help="a plane named in --flag-keys or --repeated-flag-keys that an image lacks (nor a synonym of it): "
        "refuse (the default), warn and skip, or skip (the default flag keys are always skipped where absent)",
    )
    p.add_argument(
        "--mask-threshold", type=_threshold, metavar="T", help="mask science > T ('none' or 0: off, the default)"
    )
    p.add_argument(
        "--max-masked-pixels",
        type=float,
        metavar="F",
        help="drop images whose masked fraction is above F (default 0.5)",
    )
    p.add_argument(
        "--min-usable",
        type=float,
        metavar="F",
        help="drop images whose usable fraction (neither masked nor NO_DATA) is below F, as KBMOD drops bad "
        "images; for reprojected inputs, mostly NO_DATA, give it with --max-masked-pixels 1 (default off)",
    )
    p.add_argument(
        "--group-by",
        metavar="KEY",
        help="count the global mask per group of exposures, each group once: 'night' (the local night of "
        "MJD-OBS) or a header keyword such as FILTER (default: per image, as KBMOD)",
    )
    p.add_argument(
        "--night-offset",
        type=float,
        metavar="HOURS",
        help="with --group-by night: the night is the date of MJD-OBS + HOURS (default: the site's local noon "
        "from OBSGEO-L, else -12, Rubin's day_obs)",
    )
    p.add_argument(
        "--mask-bits-dict",
        type=_bits_dict,
        metavar="JSON",
        help="use this {plane: bit index} map instead of each file's own ('kbmod': KBMOD's map)",
    )
    p.add_argument(
        "--mask-bit-vector",
        type=int,
        metavar="INT",
        help="integer flags used instead of --flag-keys (KBMOD's mask_bit_vector)",
    )
    p.add_argument(
        "--to",
        choices=WRITE_FORMATS,
        help="output format (default: the input's where it has a file for a lone mask, afw or jwst, else "
        "plain FITS; with --write-images the input's, DECam CP images as afw files)",
    )
    p.add_argument(
        "--write-images",
        action="store_true",
        help="write the whole masked exposures (science and variance NaN where masked), under their own names, "
        "instead of their masks",
    )
    add_loss_option(p)
    p.add_argument(
        "--scheduler",
        type=_scheduler,
        metavar="NAME",
        help="synchronous, threads, processes or a Dask scheduler tcp://host:port "
        "(default: this process, without Dask)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")


def _config(args) -> StackConfig:
    given = {name: getattr(args, name) for name in _PARAMETERS if getattr(args, name) is not None}
    if args.config:
        return load_config(args.config, **given)
    return StackConfig.from_mapping(given, source="options")


def run(args) -> int:
    config = _config(args)
    check_outdir(args.outdir)
    result = run_stack(
        args.inputs,
        args.outdir,
        config,
        to=args.to,
        scheduler=args.scheduler,
        overwrite=args.overwrite,
        write_options={"allow_loss": True} if args.allow_loss else None,
        write_images=args.write_images,
    )
    print(summary_text(result, config))
    return 0


def summary_text(result, config: StackConfig) -> str:
    """What a stack run did, for the terminal: one line per image, the global mask, the files written."""
    import os

    table = result.table
    width = max([len("file")] + [len(os.path.basename(name)) for name in table["file"]])
    grouped = "group" in table.colnames
    groups = [str(group) for group in table["group"]] if grouped else []
    group_width = max([len("group")] + [len(group) for group in groups])
    lines = [
        f"pixel counts before growth; masked: the fraction after growth by {config.mask_grow} ({config.footprint}); "
        "usable: neither masked nor without data",
        f"{'file':{width}s}  " + (f"{'group':{group_width}s}  " if grouped else "") + f"{'flagged':>9s}  "
        f"{'threshold':>9s}  {'global':>9s}  {'no data':>9s}  {'masked':>7s}  {'usable':>7s}  kept",
    ]
    for i, row in enumerate(table):
        lines.append(
            f"{os.path.basename(row['file']):{width}s}  "
            + (f"{groups[i]:{group_width}s}  " if grouped else "")
            + f"{row['n_flagged']:9d}  {row['n_threshold']:9d}  {row['n_global']:9d}  {row['n_no_data']:9d}  "
            f"{row['masked_fraction']:7.2%}  {row['usable_fraction']:7.2%}  {'no' if row['dropped'] else 'yes'}"
        )
    if result.global_mask is None:
        lines.append("global mask: none (no --repeated-flag-keys)")
    else:
        masks = result.global_mask if isinstance(result.global_mask, dict) else {"": result.global_mask}
        pixels = sum(int(mask.sum()) for mask in masks.values())
        per = f" over {len(masks)} CCDs ({', '.join(masks)})" if len(masks) > 1 else ""
        lines.append(
            f"global mask: {pixels} pixels{per} with {','.join(config.repeated_flag_keys)} "
            f"in at least {config.mask_num_images} {'groups' if grouped else 'images'} -> {result.paths['global']}"
        )
    kept = len(table) - len(result.dropped)
    lines.append(f"{kept} images masked, {len(result.dropped)} dropped; summary {result.paths['summary']}")
    return "\n".join(lines)
