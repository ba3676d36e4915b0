"""Exceptions that carry what went wrong and where (file, HDU, option)."""

from __future__ import annotations

__all__ = ["AstromaskError", "FlagExpressionError", "FormatError", "OutputExistsError"]


class AstromaskError(Exception):
    """Base class: a user-facing error with a one-line message."""


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


class FlagExpressionError(AstromaskError, ValueError):
    """A flag expression or bit number is malformed (mixed separators, a float or bool as a bit)."""


class OutputExistsError(AstromaskError, FileExistsError):
    """The output file exists and ``overwrite`` was not given."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path}: output file exists (use --overwrite / overwrite=True to replace it)")
        self.path = path
