"""CFITSIO extended file names: ``f.fits[1]``, ``f.fits[SCI]``, ``f.fits[SCI,2]``, ``f.fits+1``.

A malformed selector is an :class:`HduSelectorError` (a ParseError and a FormatError) at its
column in the whole name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..errors import FormatError, ParseError

__all__ = ["FitsName", "HduSelectorError", "HduSpec", "parse_fits_name"]

# HDU selector: an index, an EXTNAME, or (EXTNAME, EXTVER)
HduSpec = int | str | tuple[str, int] | None

_BRACKET = re.compile(r"^(?P<path>.+?)\[(?P<spec>[^\[\]]*)\]$")
_PLUS = re.compile(r"^(?P<path>.+?)\+(?P<num>\d+)$")


@dataclass(frozen=True)
class FitsName:
    """A file name split into its path and CFITSIO HDU selector."""

    path: str
    hdu: HduSpec = None

    def __str__(self) -> str:
        if self.hdu is None:
            return self.path
        if isinstance(self.hdu, tuple):
            return f"{self.path}[{self.hdu[0]},{self.hdu[1]}]"
        return f"{self.path}[{self.hdu}]"


class HduSelectorError(ParseError, FormatError):
    """A malformed CFITSIO HDU selector (``f.fits[...]``); ``column`` is 1-based in the whole name."""


#: an EXTNAME as a selector: a letter or ``_`` first, then printable ASCII other than filter syntax
_EXTNAME = re.compile(r"[A-Za-z_][ -~]*")
_NOT_IN_EXTNAME = set(",[]=()<>!&|;")


def _parse_spec(spec: str, name: str, start: int) -> HduSpec:
    """``spec`` (the text between the brackets, at 1-based column ``start`` of ``name``): an HDU
    number, an EXTNAME, or ``EXTNAME,EXTVER``."""

    def error(problem: str, at: int) -> HduSelectorError:
        return HduSelectorError(problem, name, start + at, where="HDU selector")

    body = spec.strip()
    lead = len(spec) - len(spec.lstrip())
    if not body:
        raise error("empty, expected an HDU number, an EXTNAME or EXTNAME,EXTVER", 0)
    if body.lstrip("+").isascii() and body.lstrip("+").isdigit():
        return int(body)
    if body[0] in "+-0123456789":
        raise error(f"{body!r} is not an HDU number (0, 1, 2...) or an EXTNAME", lead)
    ext, comma, ver = body.partition(",")
    name_text = ext.rstrip()
    if not name_text:
        raise error("expected an EXTNAME before ','", lead)
    if _EXTNAME.fullmatch(name_text) is None or _NOT_IN_EXTNAME & set(name_text):
        bad = next(
            i for i, c in enumerate(name_text) if c in _NOT_IN_EXTNAME or not _EXTNAME.fullmatch(name_text[: i + 1])
        )
        raise error(f"unexpected {name_text[bad]!r} in the EXTNAME", lead + bad)
    if comma:
        if not (ver.strip().isascii() and ver.strip().isdigit()):
            at = lead + len(ext) + 1 + (len(ver) - len(ver.lstrip()))
            raise error("EXTVER must be an integer (EXTNAME,EXTVER)", at)
        return (ext.strip(), int(ver))
    if body.upper() in ("PRIMARY", "P"):
        return 0
    return body


def parse_fits_name(name: str | os.PathLike[str]) -> FitsName:
    """Split ``f.fits[1]``, ``f.fits[SCI]``, ``f.fits[SCI,2]`` or ``f.fits+1`` (CFITSIO syntax).

    A name that exists as a file is taken literally.

    >>> parse_fits_name("img.fits[SCI,2]")
    FitsName(path='img.fits', hdu=('SCI', 2))
    >>> parse_fits_name("img.fits.fz+1").hdu
    1
    """
    name = os.fspath(name)
    if os.path.exists(name):
        return FitsName(name)
    m = _BRACKET.match(name)
    if m:
        return FitsName(m.group("path"), _parse_spec(m.group("spec"), name, m.start("spec") + 1))
    m = _PLUS.match(name)
    if m:
        return FitsName(m.group("path"), int(m.group("num")))
    return FitsName(name)
