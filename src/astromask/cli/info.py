"""``astromask info FILE...``: per HDU, the kind, shape, dtype and mask planes with pixel counts."""

from __future__ import annotations

import json

from ..info import file_info, format_info
from ..io import FORMATS


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


def run(args) -> int:
    infos = [file_info(f, format=args.format) for f in args.files]
    if args.json:
        print(json.dumps(infos, indent=1))
    else:
        print("\n\n".join(format_info(i) for i in infos))
    return 0
