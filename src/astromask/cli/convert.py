"""``astromask convert IN OUT --to FORMAT``: rewrite a mask or masked image in another format."""

from __future__ import annotations

import logging

from ..io import FORMATS, WRITE_FORMATS, Extensions, write
from ..io import open as open_source
from ._common import add_loss_option, add_output_argument, check_output

log = logging.getLogger("astromask")


def add_parser(sub) -> None:
    p = sub.add_parser(
        "convert",
        help="convert between mask file formats",
        description="Read IN (format chosen by content) and write OUT in the format given by --to. "
        "OUT is written to a temporary file and renamed; an existing OUT needs --overwrite.",
    )
    p.add_argument("input", metavar="IN", help="input file (CFITSIO [ext] selector allowed)")
    add_output_argument(p, "output file")
    p.add_argument("--to", required=True, choices=WRITE_FORMATS, help="output format")
    p.add_argument("--from", dest="from_format", choices=list(FORMATS), help="input format (default: guess)")
    p.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    add_loss_option(p)
    p.add_argument(
        "--compression",
        choices=["GZIP_2", "GZIP_1", "RICE_1", "PLIO_1", "NONE"],
        help="mask compression (lossless; default GZIP_2 where the format compresses)",
    )


def run(args) -> int:
    check_output(args.output, [args.input], args.overwrite)
    with open_source(args.input, format=args.from_format) as source:
        obj = source.read_all() if source.several else source.read()
    options = {}
    if args.compression:
        key = "mask_compression" if args.to == "lsst" else "compression"
        options[key] = None if args.compression == "NONE" else args.compression
    write(obj, args.output, format=args.to, overwrite=args.overwrite, allow_loss=args.allow_loss, **options)
    hdus = f", {len(obj)} HDUs: {', '.join(obj)}" if isinstance(obj, Extensions) else ""
    log.info("wrote %s (%s%s)", args.output, args.to, hdus)
    return 0
