"""The ``astromask`` command.

Exit status: 0 success, 1 a data error (bad file, missing HDU, unknown plane,
existing output: an :class:`~astromask.errors.AstromaskError` or an
``OSError``), 2 a usage error, 3 a bug in astromask (any other exception),
130 interrupted (Ctrl-C). Errors are one line on stderr naming the file, HDU
or option; no tracebacks (``--debug`` shows them).

Each command lives in its own module, imported only when that command runs, so
that ``astromask --version`` and ``astromask -h`` stay fast: the table below
holds what ``-h`` lists, and ``tests/test_cli.py`` checks it against the modules.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import shlex
import sys
from types import ModuleType

from .. import __version__
from ..errors import AstromaskError

__all__ = ["COMMANDS", "HELP", "build_parser", "main"]

# command -> the module that adds its parser and runs it
COMMANDS: dict[str, str | ModuleType] = {
    "info": "astromask.cli.info",
    "convert": "astromask.cli.convert",
    **dict.fromkeys(("grow", "shrink", "open", "close", "boundary"), "astromask.cli.morph"),
    "combine": "astromask.cli.combine",
    "invert": "astromask.cli.invert",
    "calc": "astromask.cli.calc",
    "thresh": "astromask.cli.thresh",
    "blob": "astromask.cli.blob",
    "bounds": "astromask.cli.bounds",
    "area": "astromask.cli.area",
    "region": "astromask.cli.region",
    "filter": "astromask.cli.filter",
    "merge": "astromask.cli.filter",
    "catalog": "astromask.cli.catalog",
    "lookup": "astromask.cli.lookup",
    "healpix": "astromask.cli.healpix",
    "coadd": "astromask.cli.coadd",
    "reproject": "astromask.cli.reproject",
    "geom": "astromask.cli.geom",
    "significance": "astromask.cli.significance",
    "detect": "astromask.cli.detect",
    "maximask": "astromask.cli.maximask",
    "maxitrack": "astromask.cli.maximask",
    "stack": "astromask.cli.stack",
    "show": "astromask.cli.show",
    "report": "astromask.cli.report",
}

# command -> its line in `astromask -h` (the same text as its module's parser help)
HELP = {
    "info": "describe files: HDUs, shapes, dtypes, mask planes and counts",
    "convert": "convert between mask file formats",
    "grow": "grow (dilate) mask planes by a footprint",
    "shrink": "shrink (erode) mask planes by a footprint",
    "open": "open (shrink, then grow) mask planes: removes features smaller than the footprint",
    "close": "close (grow, then shrink) mask planes: fills gaps smaller than the footprint",
    "boundary": "mask the margin of an image within a width of its edges",
    "combine": "union, intersection, xor, difference of masks; sum, mul, min, max of images",
    "invert": "flip mask planes, or invert a 0/1 image",
    "calc": "pixel arithmetic on images (dmimgcalc 'imgout=...')",
    "thresh": "replace pixels outside a cut (dmimgthresh), or write a sigma-clip or hysteresis mask",
    "blob": "label connected groups of pixels above a threshold (dmimgblob)",
    "bounds": "bounding box of the set (non-zero) pixels",
    "area": "number of set pixels, or their area on the sky",
    "region": "make a 0/1 mask (or filter an image) from a CIAO, FITS, ds9 or CRTF region",
    "filter": "filter an event list or image with CIAO mask, region and range filters (dmcopy)",
    "merge": "concatenate event lists with the same columns; union of their masks (dmmerge)",
    "catalog": "mask the pixels within a radius of the sources of a catalog",
    "lookup": "add to each catalogue row the mask planes at its position (MASKBITS)",
    "healpix": "write the HEALPix footprint of masks, one bit per plane (a healsparse map)",
    "coadd": "combine masks on one grid plane by plane: counts, union/intersection/at least N, input counts",
    "reproject": "resample a mask or masked image onto another sky grid, plane by plane",
    "geom": "write an empty map with a sky WCS (gammapy WcsGeom.create)",
    "significance": "mask pixels by their correlated significance (Cash or Li & Ma)",
    "detect": "find saturation, cosmic rays, bad pixels and columns, trails, no-data regions",
    "maximask": "find contaminants (cosmic rays, bad columns, trails, saturation, ...) with MaxiMask",
    "maxitrack": "probability that exposures suffer from tracking errors (MaxiTrack)",
    "stack": "mask a stack of exposures as KBMOD does (flags, threshold, global mask, growth)",
    "show": "draw images with their mask planes overlaid (PNG, PDF, SVG)",
    "report": "write a static HTML page of images with switchable mask planes",
}

_GLOBAL_FLAGS = {"-v", "--verbose", "-q", "--quiet", "--debug"}
EXIT_DATA, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 1, 2, 3, 130


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit status 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} -h')\n")


def command_module(name: str) -> ModuleType:
    """The module of command ``name``, imported now."""
    module = COMMANDS[name]
    return importlib.import_module(module) if isinstance(module, str) else module


def _module_name(name: str) -> str:
    module = COMMANDS[name]
    return module if isinstance(module, str) else module.__name__


def __getattr__(name: str) -> ModuleType:  # `astromask.cli.stack` works before the command ran
    if name in {m.rsplit(".", 1)[-1] for m in COMMANDS.values() if isinstance(m, str)}:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def _chosen(argv: list[str]) -> str | None:
    """The command named in ``argv``: the first word after the global options."""
    for word in argv:
        if word in _GLOBAL_FLAGS:
            continue
        return word if word in COMMANDS else None
    return None


def build_parser(command: str | None = None, *, full: bool = False) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module (or every module with ``full``) adds its real options.

    The other commands are listed with their help line and are not imported.
    """
    parser = _Parser(
        prog="astromask",
        description="Astronomical pixel masks: inspect, convert, make, refine and apply them.",
    )
    parser.add_argument("--version", action="version", version=f"astromask {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what is done")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    added: set[str] = set()
    for name in COMMANDS:
        if name in added:
            continue
        if full or (command is not None and _module_name(name) == _module_name(command)):
            before = set(sub.choices)
            command_module(name).add_parser(sub)  # a module may add several commands
            added |= set(sub.choices) - before
        else:
            sub.add_parser(name, help=HELP[name], add_help=False)
            added.add(name)
    return parser


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _place_output(parser: argparse.ArgumentParser, command: str | None, argv: list[str]) -> list[str]:
    """``-o OUT`` / ``--output OUT`` of a command whose OUT is also a positional, moved to that positional's
    place (after the inputs, or right after the command word for ``combine``/``calc``), so that both
    spellings parse the same way, wherever the user put them."""
    sub = next((a for a in parser._actions if isinstance(a, argparse._SubParsersAction)), None)
    chosen = sub.choices.get(command) if sub is not None and command else None
    if chosen is None or not any(a.dest == "output_option" for a in chosen._actions):
        return argv
    start = argv.index(command) + 1
    head, rest, found = argv[:start], [], []
    words = iter(argv[start:])
    for word in words:
        if word in ("-o", "--output"):
            found.append(next(words, ""))
        elif word.startswith("--output="):
            found.append(word.split("=", 1)[1])
        elif word.startswith("-o") and len(word) > 2 and not word.startswith("--"):
            found.append(word[2:])
        else:
            rest.append(word)
    if len(found) > 1:
        chosen.error(f"-o given {len(found)} times: {', '.join(found)}")
    if not found:
        return argv
    if chosen.get_default("_output_first"):
        return head + found + rest
    # after "--": an option taking several values (geom --width 5deg) cannot swallow it
    return head + rest + ([] if "--" in rest else ["--"]) + found


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else [str(a) for a in argv]
    command = _chosen(argv)
    parser = build_parser(command)
    try:
        argv = _place_output(parser, command, argv)
        args = parser.parse_args(argv)
    except SystemExit as exc:  # -h, --version and usage errors (status 2)
        return int(exc.code or 0)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    _configure_logging(args.verbose, args.quiet)
    prefix = f"astromask {args.command}"
    from ..io.fitsfile import record_provenance  # every file written records the command that made it

    record_provenance(command="astromask " + shlex.join(argv))
    try:
        return int(command_module(args.command).run(args) or 0)
    except BrokenPipeError:  # `astromask info f | head`
        return 0
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f"{prefix}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (AstromaskError, OSError) as exc:  # the user's mistake: one line
        if args.debug:
            raise
        print(f"{prefix}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_DATA
    except Exception as exc:  # anything else is our bug: say so, keep the traceback behind --debug
        if args.debug:
            raise
        print(
            f"{prefix}: internal error (a bug in astromask; please report it): "
            f"{type(exc).__name__}: {_one_line(exc)}; run with --debug for the traceback",
            file=sys.stderr,
        )
        return EXIT_BUG
    finally:
        record_provenance(command="")  # later writes in this process (the Python API) are not this command's


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
