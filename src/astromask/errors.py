"""Every exception astromask raises for a mistake its user can make.

The tree::

    AstromaskError                       a user-facing error with a one-line message
    ├── ParameterError (ValueError)      an argument or option has a wrong value
    │   └── LimitError                   a size or count beyond the data or the memory
    ├── ParameterTypeError (TypeError)   an argument of the wrong kind (a float image where bits are needed)
    ├── NotFoundError (KeyError)         no such column, axis, HDU or variable
    │   └── UnknownPlaneError            a flag expression names a plane the schema lacks
    ├── OutOfBoundsError (IndexError)    a box or index outside the image
    ├── FormatError (ValueError)         a file does not hold what its format requires
    │   └── AmbiguousHDUError            one mask or image asked of a file that holds several
    ├── ParseError (ValueError)          malformed text, with the column in the user's own text
    │   ├── FlagExpressionError
    │   ├── RegionSyntaxError            (astromask.regions)
    │   ├── FilterSyntaxError            (astromask.filter)
    │   └── CalcSyntaxError
    ├── MissingDependencyError (ImportError)  an optional extra is not installed; names the extra
    ├── WeightsNotFoundError (FileNotFoundError)
    ├── LossError                        a format asked for cannot hold every plane (without allow_loss)
    └── OutputError                      an output that cannot be written there (a directory, read-only)
        └── OutputExistsError (FileExistsError)

Each class also derives from the built-in exception a Python user would expect
(``except ValueError`` keeps working), but the command line catches only
:class:`AstromaskError` and :class:`OSError`: any other exception is a bug in
astromask and is reported as one.
"""

from __future__ import annotations

import re

__all__ = [
    "AmbiguousHDUError",
    "AstromaskError",
    "CalcSyntaxError",
    "FlagExpressionError",
    "FormatError",
    "LimitError",
    "LossError",
    "MissingDependencyError",
    "NotFoundError",
    "OutOfBoundsError",
    "OutputError",
    "OutputExistsError",
    "ParameterError",
    "ParameterTypeError",
    "ParseError",
    "UnknownPlaneError",
    "UnknownPlaneWarning",
    "WeightsNotFoundError",
]


_LONGEST = 400  # characters of a message; only an echo of the user's own (long) input is ever longer


def _shortened(message: str) -> str:
    """A message that quotes a huge input, cut to a readable line (runs of one character counted)."""
    if len(message) <= _LONGEST:
        return message
    message = re.sub(r"(.)\1{24,}", lambda m: f"{m.group(1) * 8}...[{len(m.group(0))} x {m.group(1)!r}]", message)
    if len(message) > _LONGEST:
        message = f"{message[:250]} ...[{len(message) - 380} characters]... {message[-130:]}"
    return message


class AstromaskError(Exception):
    """Base class: a user-facing error with a one-line message (a long quoted input is cut)."""

    def __init__(self, *args: object) -> None:
        if args and isinstance(args[0], str):
            args = (_shortened(args[0]), *args[1:])
        super().__init__(*args)


class ParameterError(AstromaskError, ValueError):
    """An argument or option has a value astromask cannot use (the message names it)."""


class LimitError(ParameterError):
    """A size or count beyond what the data or the memory allows (the message says how much)."""


class ParameterTypeError(AstromaskError, TypeError):
    """An argument of the wrong kind: a float image where bits are needed, a list where a Mask is."""


class NotFoundError(AstromaskError, KeyError):
    """No such column, axis, HDU or variable (the message lists what there is)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownPlaneError(NotFoundError, ValueError):
    """A flag expression names a plane the schema does not have."""


class UnknownPlaneWarning(UserWarning):
    """A flag expression names a plane the schema does not have (downgraded)."""


class OutOfBoundsError(AstromaskError, IndexError):
    """A box or an index lies outside the image."""


class FormatError(AstromaskError, ValueError):
    """A file does not hold what its format requires (names the file and HDU)."""

    def __init__(self, message: str, *, path: str | None = None, hdu: object = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}"
            if hdu is not None:
                where += f"[{hdu}]"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.hdu = hdu


class AmbiguousHDUError(FormatError):
    """A file holds several masks or images (one per HDU) and the caller asked for one without naming it.

    ``units`` holds the selectors of the HDUs the file holds, in file order.
    """

    def __init__(self, message: str, *, path: str | None = None, units: tuple[str, ...] = ()) -> None:
        super().__init__(message, path=path)
        self.units = units


class ParseError(AstromaskError, ValueError):
    """Malformed text: ``problem`` at 1-based ``column`` of ``text``; ``where`` names the grammar.

    The message reads ``where: problem at column N in 'text'; detail`` (each part when given).
    """

    def __init__(
        self, problem: str, text: str = "", column: int | None = None, *, where: str = "", detail: str = ""
    ) -> None:
        message = f"{where}: {problem}" if where else problem
        if column is not None:
            message += f" at column {column}" + (f" in {text!r}" if text else "")
        if detail:
            message += f"; {detail}"
        super().__init__(message)
        self.problem = problem
        self.text = text
        self.column = column
        self.where = where
        self.detail = detail


class FlagExpressionError(ParseError):
    """A flag expression or bit number is malformed (mixed separators, a float or bool as a bit)."""


class CalcSyntaxError(ParseError):
    """A malformed ``calc`` expression."""


class MissingDependencyError(AstromaskError, ImportError):
    """An optional dependency is not installed; the message gives the ``pip install`` line."""


class WeightsNotFoundError(AstromaskError, FileNotFoundError):
    """The trained weights are not where they were looked for."""


class LossError(AstromaskError):
    """Writing in the format asked for would lose planes or flags; ``allow_loss`` writes anyway."""


class OutputError(AstromaskError):
    """An output cannot be written where it was asked for (a directory, a missing or read-only place)."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class OutputExistsError(OutputError, FileExistsError):
    """The output file exists and ``overwrite`` was not given."""

    def __init__(self, path: str) -> None:
        super().__init__("output file exists (use --overwrite / overwrite=True to replace it)", path=path)
