"""``astromask info FILE...``: per HDU, the kind, shape, dtype and mask planes with pixel counts."""

from __future__ import annotations

import json

from ..info import file_info, format_info
from ..io import FORMATS
from ..progress import progress
from ._common import Batch


def add_parser(sub) -> None:
    p = sub.add_parser(
        "info",
        help="describe files: HDUs, shapes, dtypes, mask planes and counts",
        description="Print, per HDU, the kind, shape and dtype, and for masks the schema "
        "(plane, bit, pixels set, fraction, description).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="FITS files (CFITSIO [ext] selectors allowed)")
    p.add_argument("--json", action="store_true", help="print one JSON document (a list, one entry per file)")
    p.add_argument("--format", choices=list(FORMATS), help="read as this format instead of guessing")
    p.add_argument(
        "--flags",
        metavar="EXPR",
        help="also count the pixels of each mask selected by a flag expression "
        "(plane names 'BAD,SAT', astropy bit-flag strings '~(CR+SAT)', integers)",
    )
    p.add_argument(
        "--unknown-flags",
        choices=["error", "warn", "ignore"],
        default="error",
        help="what an unknown plane name in --flags does (default: error)",
    )


def run(args) -> int:
    """Every good file is described; a bad one is named on stderr and the exit status is 1."""
    batch = Batch(args.files, keep_going=True)  # a listing goes on, as ls does
    infos = []
    for name in progress(args.files):
        with batch.item(name):
            infos.append(file_info(name, format=args.format, flags=args.flags, unknown=args.unknown_flags))
    if args.json:
        print(json.dumps(infos, indent=1))
    elif infos:
        print("\n\n".join(format_info(i) for i in infos))
    batch.finish()
    return 0
