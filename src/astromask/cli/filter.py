"""``astromask filter "IN[filters]" OUT`` and ``astromask merge A B... OUT``: CIAO's dmcopy and dmmerge for masks.

``filter`` applies CIAO DM filters (``[sky=mask(m.fits)]``, ``[exclude ...]``,
regions, column ranges, ``[opt full]``, ``[opt null=v]``) to an event list or
an image and records them in the output's data subspace, with the masks in
``MASK`` extensions. ``merge`` concatenates event lists with the same columns
and stores the union of their masks.
"""

from __future__ import annotations

from ..errors import ParameterError
from ..filter import filter_file, merge
from ..filter.tables import DEFAULT_CHUNK_ROWS
from ._common import add_output_argument, add_output_options, check_output


def add_parser(sub) -> None:
    p = sub.add_parser(
        "filter",
        help="filter an event list or image with CIAO mask, region and range filters (dmcopy)",
        description="Copy INPUT to OUT keeping the rows (pixels) that pass its filters, as CIAO's "
        'dmcopy "IN[filters]" OUT does: IN is FILE[block][filter]...[opt full,null=v], e.g. '
        "'evt.fits[EVENTS][sky=mask(m.fits),pi=10:200]', 'img.fits[exclude sky=mask(m.fits)]', "
        "'evt.fits[(time,pi)=mask(m2.fits)]', 'evt.fits[sky=bounds(mask(m.fits))]'. Mask pixels of 0 exclude, "
        "any other value includes; positions outside a mask are always excluded. Images are cropped "
        "to the selection unless [opt full]. OUT keeps every HDU of IN; the filter is recorded in the "
        "block's data subspace (DSTYPn/DSVALn/DSREFn) and each mask stored as a byte MASK extension.",
    )
    p.add_argument("input", metavar="INPUT", help="virtual file name: FILE[block][filters][opt ...] (quote it)")
    add_output_argument(p, "output FITS file")
    p.add_argument(
        "--chunk-rows",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        metavar="N",
        help=f"table rows filtered at a time (default {DEFAULT_CHUNK_ROWS}; bounds memory)",
    )
    add_output_options(p, formats=False)

    m = sub.add_parser(
        "merge",
        help="concatenate event lists with the same columns; union of their masks (dmmerge)",
        description="Write the rows of every INPUT table (same columns, in order) to OUT, with the first "
        "input's other HDUs and headers. The data subspaces are merged: masks become one MASK extension "
        "holding their union.",
    )
    m.add_argument("files", nargs="+", metavar="FILE", help="two or more event lists, then OUT (unless -o OUT)")
    m.add_argument("-o", "--output", dest="merged", metavar="OUT", help="output file")
    m.add_argument(
        "--chunk-rows",
        type=int,
        default=DEFAULT_CHUNK_ROWS,
        metavar="N",
        help=f"rows copied at a time (default {DEFAULT_CHUNK_ROWS})",
    )
    add_output_options(m, formats=False)


def run(args) -> int:
    if args.command == "merge":
        files = args.files + ([args.merged] if args.merged else [])
        if len(files) < 3:
            raise ParameterError(f"merge needs two or more inputs and OUT, got {len(files)} file name(s)")
        *inputs, output = files
        check_output(output, inputs, args.overwrite)
        merge(inputs, output, overwrite=args.overwrite, chunk_rows=args.chunk_rows)
        return 0
    check_output(args.output, [args.input.split("[", 1)[0]], args.overwrite)
    filter_file(args.input, args.output, overwrite=args.overwrite, chunk_rows=args.chunk_rows)
    return 0
