"""The ``astromask`` command.

Exit status: 0 success, 1 data error (bad file, missing HDU, unknown plane,
existing output), 2 usage error. Errors are one line on stderr naming the
file, HDU or option; no tracebacks (``--debug`` shows them).
"""

from __future__ import annotations

import argparse
import logging
import sys

from .. import __version__
from ..errors import AstromaskError
from ..schema import UnknownPlaneError
from . import (
    area, blob, bounds, calc, catalog, combine, convert, detect, geom, info, invert, maximask, morph, region, report, show,
    significance, stack, thresh,
)
from . import filter as filter_

__all__ = ["main", "build_parser"]

COMMANDS = {
    "info": info,
    "convert": convert,
    **{name: morph for name in ("grow", "shrink", "open", "close", "boundary")},
    "combine": combine,
    "invert": invert,
    "calc": calc,
    "thresh": thresh,
    "blob": blob,
    "bounds": bounds,
    "area": area,
    "region": region,
    "filter": filter_,
    "merge": filter_,
    "catalog": catalog,
    "geom": geom,
    "significance": significance,
    "detect": detect,
    "maximask": maximask,
    "maxitrack": maximask,
    "stack": stack,
    "show": show,
    "report": report,
}

# Errors that mean "the data or the request is wrong", reported as one line with exit 1.
DATA_ERRORS = (AstromaskError, UnknownPlaneError, ValueError, KeyError, OSError, TypeError)


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} -h')\n")


def _configure_logging(verbose: bool, quiet: bool) -> None:
    """Messages of the ``astromask`` logger go to the current stderr as ``astromask: ...`` lines."""
    log = logging.getLogger("astromask")
    for handler in [h for h in log.handlers if getattr(h, "_astromask_cli", False)]:
        log.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("astromask: %(message)s"))
    handler._astromask_cli = True  # type: ignore[attr-defined]
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="astromask",
        description="Astronomical pixel masks: inspect, convert, make, refine and apply them.",
    )
    parser.add_argument("--version", action="version", version=f"astromask {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is done")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in dict.fromkeys(COMMANDS.values()):  # a module may add several commands
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # -h, --version and usage errors (status 2)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    _configure_logging(args.verbose, args.quiet)
    try:
        return int(COMMANDS[args.command].run(args) or 0)
    except BrokenPipeError:  # `astromask info f | head`
        return 0
    except DATA_ERRORS as exc:
        if args.debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"astromask {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
