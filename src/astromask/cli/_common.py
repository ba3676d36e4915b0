"""Input and output conventions shared by the commands that transform masks and images.

Two kinds of input:

* **Plane masks** (:func:`load`): whatever :func:`astromask.io.read` makes of a
  file, a :class:`~astromask.Mask` or a :class:`~astromask.MaskedImage`, with
  the format it was read as, so the result can be written back in that format.
* **Plain arrays** (:func:`load_array`): the numbers of one image HDU and its
  header, for the CIAO-style tools (``calc``, ``thresh``, ``blob``, ``combine
  --op sum``) that work on values, as ``dmimgcalc`` does. The output is a
  single-HDU FITS image that keeps the input's header (WCS, physical keywords).
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..errors import AstromaskError, OutputError, OutputExistsError, ParameterError
from ..io import (
    WRITE_FORMATS,
    Extension,
    Extensions,
    check_loss,
    get_format,
    output_format,
    registry,
    write,
)
from ..io import open as open_source
from ..io.extensions import merge_outputs
from ..io.fitsfile import (
    check_writable,
    parse_fits_name,
    read_wcs,
    record_provenance,
    write_atomic,
)
from ..io.formats import plain
from ..ops import algebra

__all__ = [
    "Batch",
    "Loaded",
    "Operand",
    "add_keep_going_option",
    "add_output_argument",
    "add_output_options",
    "add_position_options",
    "check_outdir",
    "check_output",
    "each_hdu",
    "load",
    "load_array",
    "read_operand",
    "replaced_whole",
    "save",
    "save_array",
    "stage",
    "staged_name",
    "wrote",
]

log = logging.getLogger("astromask")


@dataclass
class Loaded:
    """A file read for a command: the object, the format it was read as and the name given."""

    name: str
    format: str
    obj: MaskedImage | Mask

    @property
    def mask(self) -> Mask:
        return self.obj.mask if isinstance(self.obj, MaskedImage) else self.obj


def add_output_argument(parser, help: str = "output file", *, first: bool = False) -> None:
    """OUT: ``-o/--output OUT`` (the one form every command takes) or, as CIAO tools take it, a
    positional after the inputs (before them with ``first``: ``combine --op union OUT IN...``).
    The command line moves ``-o OUT`` to the positional's place before parsing, wherever it stands."""
    parser.add_argument("output", metavar="OUT", help=f"{help} (or give it as -o OUT)")
    parser.add_argument("-o", "--output", dest="output_option", metavar="OUT", help=help)
    parser.set_defaults(_output_first=first)


def add_output_options(parser, *, formats: bool = True) -> None:
    """``--overwrite`` and (for plane-mask commands) ``--to FORMAT`` and ``--allow-loss``."""
    parser.add_argument("--overwrite", action="store_true", help="replace OUT if it exists")
    if formats:
        parser.add_argument(
            "--to", choices=WRITE_FORMATS, help="output format (default: the input's, plain FITS for masks)"
        )
        add_loss_option(parser)


def add_position_options(parser) -> None:
    """How a catalogue's positions are found: ``--lon-column/--lat-column``, ``--frame``, ``--format``
    (as :func:`astromask.sky.read_positions` takes them)."""
    parser.add_argument("--lon-column", metavar="COL", help="longitude column (with --lat-column)")
    parser.add_argument("--lat-column", metavar="COL", help="latitude column (with --lon-column)")
    parser.add_argument("--frame", help="frame of the positions (default: galactic for GLON/GLAT, else icrs)")
    parser.add_argument("--format", dest="table_format", help="table format for astropy when the name does not tell it")


def add_loss_option(parser) -> None:
    """``--allow-loss``: write in a --to format that cannot hold every plane (it is said what is lost)."""
    parser.add_argument(
        "--allow-loss",
        action="store_true",
        help="write even if the --to format cannot hold every plane or flag (what is lost is said in one line)",
    )


def check_output(output: str, inputs: list[str] | tuple[str, ...] | None, overwrite: bool) -> None:
    """Refuse, before any work, to write over an input, over an existing file without ``overwrite``,
    into a directory's name, or where the file cannot be written (:func:`check_writable`).

    ``inputs`` are recorded as the output's provenance (HISTORY cards)."""
    record_provenance(inputs=[str(name) for name in inputs or ()])
    if os.path.exists(output) and not os.path.isdir(output):
        for name in inputs or ():
            src = parse_fits_name(name).path
            if os.path.exists(src) and os.path.samefile(src, output):
                raise OutputError(f"output is the input file {name}; write to another name", path=output)
    check_writable(output, overwrite=overwrite)


def check_outdir(outdir: str) -> None:
    """Refuse, before any work, an output directory that is a file or cannot be made or written."""
    if os.path.exists(outdir) and not os.path.isdir(outdir):
        raise OutputError("is a file, not a directory", path=outdir)
    place = os.path.abspath(outdir)
    while not os.path.exists(place):  # made with its parents: the nearest existing one must take it
        place = os.path.dirname(place)
    if not os.path.isdir(place):
        raise OutputError(f"cannot make it: {place} is a file", path=outdir)
    if not os.access(place, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write in {place} (permission denied or a read-only file system)", path=outdir)


@dataclass
class _Gathered:
    """The outputs of a command run once per HDU, held until every HDU is done."""

    parts: list[tuple[Extension, dict[str, fits.HDUList]]] = field(default_factory=list)
    formats: set[str] = field(default_factory=set)
    staged: list[tuple[str, str]] = field(default_factory=list)  # (temporary, final) side files, e.g. PNGs


#: while :func:`each_hdu` runs a command on one HDU: where its outputs go, and which HDU it is
_GATHER: ContextVar[tuple[_Gathered, Extension] | None] = ContextVar("astromask_gather", default=None)


def _gathered(outputs: dict[str, fits.HDUList], fmt: str) -> bool:
    """Hand one HDU's outputs to :func:`each_hdu` when it is collecting them; True when it took them."""
    current = _GATHER.get()
    if current is None:
        return False
    gathered, ext = current
    gathered.parts.append((ext, outputs))
    gathered.formats.add(fmt)
    return True


def staged_name(final: str) -> str:
    """A temporary name beside ``final`` (same extension) to write a side output to, then rename."""
    folder, base = os.path.split(final)
    return os.path.join(folder, f".astromask-{os.getpid()}-{base}")


@contextmanager
def replaced_whole(final: str, overwrite: bool) -> Iterator[str]:
    """A temporary name beside ``final`` (same extension) to write the whole output to; renamed over
    ``final`` when the block ends well, removed otherwise (an error, Ctrl-C)."""
    temporary = staged_name(final)
    try:
        yield temporary
        if os.path.exists(final) and not overwrite:  # appeared meanwhile
            raise OutputExistsError(final)
        os.replace(temporary, final)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def hdu_label() -> str | None:
    """The HDU :func:`each_hdu` is running the command on, or None."""
    current = _GATHER.get()
    return current[1].label if current is not None else None


def stage(final: str) -> str | None:
    """While :func:`each_hdu` runs: a temporary name for the side output ``final`` (a picture), renamed
    when every HDU is done and removed otherwise. None outside :func:`each_hdu`."""
    current = _GATHER.get()
    if current is None:
        return None
    temporary = staged_name(final)
    current[0].staged.append((temporary, final))
    return temporary


def wrote(output: str, detail: str = "") -> None:
    """Log ``wrote OUTPUT<detail>`` (``detail`` such as ``' (fits)'`` or ``': 12 pixels set'``), or while
    :func:`each_hdu` runs, what one HDU gave."""
    current = _GATHER.get()
    if current is not None:
        log.info("  HDU %s%s", current[1].label, detail)
    else:
        log.info("wrote %s%s", output, detail)


def _layout(name: str) -> Extensions | None:
    """The layout of a file of several masks or images with none selected (objects not read), else None."""
    with open_source(name) as source:
        return source.layout() if source.several else None


def each_hdu(
    args: argparse.Namespace,
    body: Callable[[argparse.Namespace], int],
    *,
    inputs: Sequence[str] = ("input",),
    output: str | None = "output",
) -> int:
    """Run a one-HDU command ``body(args)`` on every HDU of a file of several masks or images.

    ``inputs`` names the attributes of ``args`` holding input names (a name or a list of names).
    When none holds several masks or images (or each names its HDU, ``f.fits[ccd2]``), this is
    ``body(args)``. Otherwise ``body`` runs once per HDU, the inputs of several HDUs given as
    ``f.fits[<HDU>]`` (they must hold the same HDUs), and what it writes to ``args.<output>`` is
    kept in memory and written at the end as one file: the HDUs in their order and with their
    names, the primary header and the other HDUs (tables) copied from the first such input.
    Nothing is written unless every HDU succeeds.
    """
    files: dict[str, Extensions] = {}
    labels: list[str] | None = None
    first = ""
    for attr in inputs:
        value = getattr(args, attr, None)
        for name in [value] if isinstance(value, str) else list(value or []):
            layout = _layout(name)
            if layout is None:
                continue
            these = list(layout)
            if labels is None:
                labels, first = these, name
            elif [x.upper() for x in these] != [x.upper() for x in labels]:
                raise ParameterError(
                    f"{name}: holds the HDUs {', '.join(these)}, {first} holds {', '.join(labels)}; "
                    "give files with the same HDUs, or pick one with [HDU]"
                )
            files[name] = layout
    if labels is None:
        return body(args)
    target = getattr(args, output) if output else None
    if target and os.path.exists(target) and not getattr(args, "overwrite", False):
        raise OutputExistsError(target)
    reference = files[first]
    log.info("%s: %d HDUs (%s)", first, len(labels), ", ".join(labels))
    gathered = _Gathered()
    try:
        return _each(args, body, inputs, files, labels, reference, target, gathered)
    finally:
        for temporary, _ in gathered.staged:  # left only when something failed
            if os.path.exists(temporary):
                os.remove(temporary)


def _each(args, body, inputs, files, labels, reference, target, gathered) -> int:
    status = 0
    for k, label in enumerate(labels):
        sub = argparse.Namespace(**vars(args))
        for attr in inputs:
            value = getattr(args, attr, None)
            if isinstance(value, str):
                setattr(sub, attr, f"{files[value].path}[{label}]" if value in files else value)
            elif value:
                setattr(sub, attr, [f"{files[v].path}[{label}]" if v in files else v for v in value])
        token = _GATHER.set((gathered, reference.extensions[k]))
        try:
            status = max(status, body(sub))
        finally:
            _GATHER.reset(token)
    if target:
        if len(gathered.parts) != len(labels):
            raise RuntimeError(f"{target}: the command wrote {len(gathered.parts)} of {len(labels)} HDUs")  # a bug
        fmt = gathered.formats.pop() if len(gathered.formats) == 1 else "fits"
        if not registry.get(fmt).per_hdu:
            raise ParameterError(f"{target}: {fmt} files hold one masked image, not {len(labels)} HDUs; use --to fits")
        # the input's primary cards travel only within its format (a CP primary would make a plain file read as CP)
        primary = reference.primary if fmt == reference.format else None
        merged = merge_outputs(gathered.parts, primary=primary, other=reference.other, main=target)
        overwrite = getattr(args, "overwrite", False)
        for path in merged:
            if os.path.exists(path) and not overwrite:
                raise OutputExistsError(path)
        for path, hdul in merged.items():
            write_atomic(hdul, path, overwrite=overwrite)
        log.info("wrote %s (%s, %d HDUs)", target, fmt, len(labels))
    for temporary, final in gathered.staged:
        os.replace(temporary, final)
        log.info("wrote %s", final)
    return status


def add_keep_going_option(parser) -> None:
    """``--keep-going``: with several inputs, go on after one fails (the exit status says so)."""
    parser.add_argument(
        "--keep-going",
        action="store_true",
        help="with several inputs, go on with the others when one fails, then exit 1 naming the failed ones "
        "(default: stop at the first, naming it)",
    )


class Batch:
    """Inputs handled one at a time: a failure names its input; with ``keep_going`` the others go on.

    >>> batch = Batch(["a.fits", "b.fits"], keep_going=True)
    >>> for name in batch.names:
    ...     with batch.item(name):
    ...         if name == "a.fits":
    ...             raise OutputError("cannot write", path=name)
    >>> batch.failed
    ['a.fits']
    """

    def __init__(self, names: Sequence[str], *, keep_going: bool) -> None:
        self.names = list(names)
        self.keep_going = keep_going and len(self.names) > 1  # one input: its error is the one line
        self.failed: list[str] = []

    @contextmanager
    def item(self, name: str) -> Iterator[None]:
        try:
            yield
        except (AstromaskError, OSError) as exc:  # the user's mistakes; a bug still stops everything
            text = " ".join(str(exc).split())
            if not self.keep_going:
                if str(name) in text or len(self.names) == 1:
                    raise
                raise AstromaskError(f"{name}: {text}") from exc
            self.failed.append(name)
            log.error("error: %s", text if str(name) in text else f"{name}: {text}")

    def finish(self) -> None:
        """Refuse to end in success when an input failed (``--keep-going``), naming them."""
        if self.failed:
            raise AstromaskError(
                f"{len(self.failed)} of {len(self.names)} inputs failed: {', '.join(map(str, self.failed))}"
            )


def load(name: str, *, format: str | None = None) -> Loaded:
    """Read ``name`` (CFITSIO selector allowed) as a mask or masked image, keeping its format."""
    with open_source(name, format=format) as source:
        return Loaded(name, source.format, source.read())


def save(
    loaded: Loaded,
    obj: MaskedImage | Mask,
    output: str,
    *,
    to: str | None = None,
    overwrite: bool = False,
    allow_loss: bool = False,
) -> str:
    """Write ``obj`` in format ``to``, else the input's format where it stores ``obj`` whole, else plain
    FITS (:func:`astromask.io.output_format`).

    Returns the format written.
    """
    fmt = output_format(loaded.format, obj, to)
    if _GATHER.get() is not None:
        if fmt.lower() not in WRITE_FORMATS:
            raise ParameterError(f"format must be one of {', '.join(WRITE_FORMATS)}, got {fmt!r}")
        check_loss(obj, fmt, f"{output}[{hdu_label()}]", allow_loss=allow_loss)
        _gathered(get_format(fmt).write(obj, output), fmt)
    else:
        write(obj, output, format=fmt, overwrite=overwrite, allow_loss=allow_loss)
    return fmt


def load_array(name: str) -> tuple[np.ndarray, fits.Header]:
    """Pixels (native order, scaled) and header of one 2-D image HDU (:func:`plain.read_values`)."""
    return plain.read_values(name)


def save_array(array: np.ndarray, header: fits.Header | None, output: str, *, overwrite: bool = False) -> None:
    """Write ``array`` as the primary HDU of a new FITS file (atomically), with ``header``'s cards."""
    hdul = fits.HDUList([plain.values_hdu(array, header)])
    if not _gathered({output: hdul}, "fits"):
        write_atomic(hdul, output, overwrite=overwrite)


def save_selection(mask: np.ndarray, header: fits.Header, args) -> None:
    """Write a 0/1 mask made from an image (``--invert`` flips it), with the image's cards less
    ``BUNIT`` (the values are no longer in its unit), and say how many pixels it sets."""
    if args.invert:
        mask = ~mask
    header = header.copy()
    header.remove("BUNIT", ignore_missing=True)
    save_array(mask, header, args.output, overwrite=args.overwrite)
    log.info("wrote %s (%d pixels set)", args.output, int(mask.sum()))


@dataclass
class Operand:
    """An input of the mask algebra commands: plane masks, or the values of a plain image."""

    name: str
    loaded: Loaded | None = None  # plane masks: a mask file or masked image
    values: np.ndarray | None = None  # a plain image: CIAO-style value mask
    header: fits.Header | None = None  # the plain image's header

    @property
    def is_values(self) -> bool:
        return self.values is not None

    @property
    def kind(self) -> str:
        return "a plain image" if self.is_values else "plane masks"

    @property
    def target(self) -> Mask | MaskedImage | np.ndarray:
        """What the measures work on: the image's values, or the mask / masked image."""
        return self.values if self.is_values else self.loaded.obj

    @property
    def operand(self) -> Mask | np.ndarray:
        """The set operations' input: the mask, or the non-zero finite pixels of the values."""
        return algebra.to_bool(self.values) if self.is_values else self.loaded.mask

    @property
    def wcs(self) -> WCS | None:
        if self.is_values:
            return read_wcs(self.header)
        return self.loaded.obj.wcs if isinstance(self.loaded.obj, MaskedImage) else None


def read_operand(name: str) -> Operand:
    """Read ``name``: a plain FITS image as values (with its header), anything else as plane masks."""
    with open_source(name) as source:
        if not (source.format == "fits" and plain.is_value_image(source.hdul, source.path, source.hdu)):
            return Operand(name, loaded=Loaded(name, source.format, source.read()))
    values, header = load_array(name)
    return Operand(name, values=values, header=header)
