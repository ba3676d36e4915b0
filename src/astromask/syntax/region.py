"""The CIAO region grammar, read on a :class:`~astromask.syntax._scan.Cursor`.

Grammar (the CIAO region library's, no parentheses)::

    region := ['|' | '+'] term { [op] term }       a region may not start with '-'
    op     := '|' | '+'  (OR: start a new component)   '&' | '*'  (AND)   '-'  (AND NOT)
              nothing between two terms means OR
    term   := ['!'] shape '(' args ')'  |  ['!'] region '(' file ')'
    arg    := ['-'] number [unit]  |  ['-'] hh:mm:ss.s

Units: coordinates plain (physical) or ``d``/sexagesimal (world); sizes plain or
``p`` (physical), ``i`` (logical), ``d``, ``'``, ``"``/``''`` (world); angles
plain or ``d`` (degrees), ``'``, ``"`` (arcmin, arcsec of angle).

:func:`parse_terms` reads a whole region string; :func:`read_terms` reads a region embedded
in another grammar (a DM filter's ``sky=circle(...)-box(...)``) on that grammar's cursor and
stops before the ``,``, ``||`` or ``)`` that ends it, so errors are at columns of the whole
text. The grammar is transcribed by hand from CIAO's ``regparser.y``, and not a parser
library's, because the filter grammar must call it part-way through its own text.

Errors are :class:`RegionSyntaxError` (a ``ValueError``) whose one-line message
names the column, e.g. ``region: unexpected ')' at column 14 in 'circle(1,2,3))'``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ParseError
from ._scan import DIGITS, LETTERS, NAME, NUMBER, Cursor, Token, TokenParser

__all__ = [
    "SHAPES",
    "Arg",
    "RegionFile",
    "RegionSyntaxError",
    "ShapeSpec",
    "Term",
    "parse_terms",
    "read_terms",
    "region_cursor",
    "shape_kind",
]


class RegionSyntaxError(ParseError):
    """A malformed region string; ``column`` is 1-based in ``text``."""

    def __init__(self, problem: str, text: str, column: int, *, where: str = "region", detail: str = "") -> None:
        super().__init__(problem, text, column, where=where, detail=detail)


def region_cursor(text: str, where: str = "region") -> Cursor:
    """A cursor on a whole region string, its errors :class:`RegionSyntaxError` s named ``where``."""

    def make(problem: str, text: str, column: int, detail: str) -> ParseError:
        return RegionSyntaxError(problem, text, column, where=where, detail=detail)

    return Cursor(text, make)


# full name -> (minimum abbreviation length, argument roles)
# roles: x, y = position; s = size; a = angle; '*' = (x, y) pairs; after '?' = optional
SHAPES = {
    "rectangle": (4, "xyxy"),
    "box": (3, "xyss?a"),
    "rotbox": (6, "xyssa"),
    "circle": (3, "xys"),
    "annulus": (7, "xyss"),
    "ellipse": (3, "xyssa"),
    "sector": (4, "xyaa"),
    "pie": (3, "xyssaa"),
    "polygon": (4, "*"),
    "point": (3, "xy"),
    "field": (5, ""),
    "region": (6, ""),
}
_UNSUPPORTED = {
    "text": "text is a label, not an area (CIAO reads it as a point)",
    "line": "line has no area (CIAO reads it as a rectangle)",
    "rotrect": "rotrect is not a CIAO region shape (use rotbox)",
    "elliptannulus": "elliptannulus is not supported by the CIAO region library",
    "diamond": "diamond is not supported by the CIAO region library",
    "rotdiamond": "rotdiamond is not supported by the CIAO region library",
}


def shape_kind(name: str) -> str | None:
    """The full shape name for a (case-insensitive, abbreviated) name, or None."""
    low = name.lower()
    for full, (minimum, _) in SHAPES.items():
        if len(low) >= minimum and full.startswith(low):
            return full
    return None


@dataclass(frozen=True)
class Arg:
    """One shape argument as written: value and unit ('', p, i, d, ', \", hms/dms for sexagesimal)."""

    value: float
    unit: str
    column: int


@dataclass(frozen=True)
class ShapeSpec:
    """A shape as parsed: kind, arguments with their roles, column in the text."""

    kind: str
    roles: str
    args: tuple[Arg, ...]
    column: int


@dataclass(frozen=True)
class RegionFile:
    """``region(path)`` as parsed: the file is read when the region is built
    (:func:`astromask.regions.region.combine`), not by the grammar."""

    path: str
    column: int


#: ``(op, negated, term)``: op ``'|'`` (OR), ``'&'`` (AND) or ``'-'`` (AND NOT)
Term = tuple[str, bool, ShapeSpec | RegionFile]

_SINGLE = {"(": "(", ")": ")", ",": ",", "!": "!", "&": "&", "*": "&", "|": "|", "+": "|", "-": "-", ":": ":"}
_REGION_PATH = re.compile(r"\s*\(([^)]*)\)")


class _Parser(TokenParser):
    """Recursive descent; with ``embedded`` the region ends before a ``,``, ``)`` or ``||`` of the
    grammar around it."""

    def __init__(self, cursor: Cursor, embedded: bool, refuse: dict[str, str]) -> None:
        self.embedded = embedded
        self.refuse = refuse
        self.after_number = False
        self.pending: Token | None = None
        super().__init__(cursor)

    # -- the lexer: one token at the cursor ---------------------------------------------------

    def lex(self) -> Token:
        c = self.cursor
        if self.pending is not None:
            tok, self.pending = self.pending, None
            return tok
        if self.after_number:  # a unit sticks to its number: no blank between
            self.after_number = False
            unit = self.unit()
            if unit is not None:
                return unit
        c.skip()
        at = c.pos
        if at >= c.end:
            return Token("END", "", at + 1)
        ch = c.text[at]
        if ch in DIGITS or (ch == "." and c.char(1) in DIGITS):
            m = c.match(NUMBER, skip=False)
            assert m is not None
            self.after_number = True
            return Token("NUMBER", m.group(), at + 1)
        if ch in LETTERS:
            m = c.match(NAME, skip=False)
            assert m is not None
            if m.group().lower() == "region":
                self.pending = self.region_path()
            return Token("NAME", m.group(), at + 1)
        if ch in _SINGLE:
            c.pos += 1
            return Token(_SINGLE[ch], ch, at + 1)
        hint = " (CIAO region strings and files allow no trailing comments)" if ch == "#" else ""
        hint = " (use '+' or a new line between shapes)" if ch == ";" else hint
        raise c.error(f"unexpected {ch!r}{hint}", at)

    def unit(self) -> Token | None:
        """The unit suffix right after a number, if any."""
        c = self.cursor
        at = c.pos
        if c.text.startswith("''", at) and at + 2 <= c.end:
            c.pos += 2
            return Token("UNIT", '"', at + 1)
        if c.char() in ("'", '"'):
            c.pos += 1
            return Token("UNIT", c.text[at], at + 1)
        m = c.match(NAME, skip=False)
        if m is None:
            return None
        if m.group().lower() not in ("d", "p", "i"):
            raise c.error(f"unknown unit {m.group()!r} (use d, p, i, ', \")", at)
        return Token("UNIT", m.group().lower(), at + 1)

    def region_path(self) -> Token:
        """``region(file)``: everything up to the closing parenthesis is the file name."""
        c = self.cursor
        m = _REGION_PATH.match(c.text, c.pos, c.end)
        if not m:
            raise c.error("region needs a file name: region(file)")
        if not m.group(1).strip():
            raise c.error("region() needs a file name", m.start(1))
        c.pos = m.end()
        return Token("PATH", m.group(1).strip(), m.start(1) + 1)

    # -- the grammar --------------------------------------------------------------------------

    def at_region_end(self) -> bool:
        """The end of the text, or (embedded) the ``,``, ``)`` or ``||`` of the grammar around."""
        if self.tok.kind == "END":
            return True
        if not self.embedded:
            return False
        return self.tok.kind in (",", ")") or (
            self.tok.text == "|" and self.cursor.text.startswith("|", self.tok.column)
        )

    def terms(self, continuation: bool) -> list[Term]:
        """``[(op, negated, term)]``; the first op is '|' unless continued."""
        out: list[Term] = []
        op = "|"
        if self.tok.kind in ("|", "&", "-") and not self.at_region_end():
            if self.tok.kind == "-" and not continuation:
                raise self.error("a region may not start with '-' (write field()-shape)")
            if self.tok.kind == "&" and not continuation:
                raise self.error(f"a region may not start with {self.tok.text!r}")
            op = self.advance().kind
        while True:
            negated, term = self.term()
            out.append((op, negated, term))
            if self.at_region_end():
                return out
            if self.tok.kind in ("|", "&", "-"):
                op = self.advance().kind
                if self.at_region_end():
                    raise self.unexpected("a shape")
            elif self.tok.kind in ("NAME", "!"):
                op = "|"
            else:
                raise self.unexpected("an operator (+ | & * -) or a shape")

    def term(self) -> tuple[bool, ShapeSpec | RegionFile]:
        negated = self.accept("!") is not None
        name = self.expect("NAME", "a shape name")
        kind = shape_kind(name.text)
        if kind is None:
            low = name.text.lower()
            problem = self.refuse.get(low) or _UNSUPPORTED.get(low, f"unknown shape {name.text!r}")
            raise self.error(problem, name)
        if kind == "region":
            path = self.expect("PATH", "region(file)")
            return negated, RegionFile(path.text, path.column)
        self.expect("(", f"'(' after {name.text}")
        args = self.args()
        self.expect(")", "',' or ')'")
        return negated, self.spec(kind, name, args)

    def args(self) -> list[Arg]:
        out: list[Arg] = []
        if self.tok.kind == ")":
            return out
        out.append(self.arg())
        while self.accept(","):
            out.append(self.arg())
        return out

    def arg(self) -> Arg:
        start = self.tok
        sign = 1.0
        if self.tok.text in ("-", "+"):
            sign = -1.0 if self.advance().text == "-" else 1.0
        value = float(self.expect("NUMBER", "a number").text)
        if self.accept(":"):
            minutes = float(self.expect("NUMBER", "minutes of a sexagesimal value").text)
            self.expect(":", "':' in a sexagesimal value")
            seconds = float(self.expect("NUMBER", "seconds of a sexagesimal value").text)
            return Arg(sign * (value + minutes / 60.0 + seconds / 3600.0), "sexagesimal", start.column)
        unit = self.accept("UNIT")
        return Arg(sign * value, unit.text if unit else "", start.column)

    def spec(self, kind: str, name: Token, args: list[Arg]) -> ShapeSpec:
        roles = _roles(kind, len(args))
        if roles is None:
            raise self.error(f"{kind} takes {_arity(kind)} arguments, got {len(args)}", name)
        for arg, role in zip(args, roles):
            if arg.unit not in _ALLOWED_UNITS[role]:
                shown = arg.unit if arg.unit != "sexagesimal" else "a sexagesimal value"
                raise self.cursor.error(f"{kind}: {_ROLE_NAMES[role]} cannot be given as {shown}", arg.column - 1)
        worlds = {arg.unit in ("d", "sexagesimal") for arg, role in zip(args, roles) if role in "xy"}
        if len(worlds) > 1:
            raise self.error(f"{kind}: positions mix world (d, hh:mm:ss) and physical coordinates", name)
        return ShapeSpec(kind, roles, tuple(args), name.column)


_ALLOWED_UNITS = {
    "x": ("", "d", "sexagesimal"),
    "y": ("", "d", "sexagesimal"),
    "s": ("", "p", "i", "d", "'", '"'),
    "a": ("", "d", "'", '"'),
}
_ROLE_NAMES = {"x": "a position", "y": "a position", "s": "a size", "a": "an angle"}


def _roles(kind: str, count: int) -> str | None:
    pattern = SHAPES[kind][1]
    if pattern == "*":
        return "xy" * (count // 2) if count >= 6 and count % 2 == 0 else None
    if "?" in pattern:
        required, optional = pattern.split("?")
        if count == len(required) + len(optional):
            return required + optional
        return required if count == len(required) else None
    return pattern if count == len(pattern) else None


def _arity(kind: str) -> str:
    pattern = SHAPES[kind][1]
    if pattern == "*":
        return "an even number (>= 6) of"
    if "?" in pattern:
        required, optional = pattern.split("?")
        return f"{len(required)} or {len(required) + len(optional)}"
    return str(len(pattern))


def read_terms(
    cursor: Cursor, *, continuation: bool = False, embedded: bool = True, refuse: dict[str, str] | None = None
) -> list[Term]:
    """Read a region at the cursor; with ``embedded`` it ends before a ``,``, ``)`` or ``||`` at
    parenthesis depth 0, where the cursor is left for the grammar that called.

    Errors come from the cursor's own error factory, at columns of its whole text; ``refuse``
    maps names that are not shapes to the reason the calling grammar gives for them
    (the DM filter's ``mask(...)`` inside a region).
    """
    parser = _Parser(cursor, embedded, refuse or {})
    if parser.at_region_end():
        raise parser.unexpected("a region shape")
    terms = parser.terms(continuation)
    if embedded:
        parser.rewind()
    return terms


def parse_terms(text: str, *, where: str = "region", continuation: bool = False) -> list[Term]:
    """Parse a whole region string into ``[(op, negated, term)]``.

    ``op`` is ``'|'`` (OR), ``'&'`` (AND) or ``'-'`` (AND NOT); ``term`` is a
    :class:`ShapeSpec` or a :class:`RegionFile` for ``region(path)``.
    With ``continuation`` the text may start with an operator (a line of a region file).

    Examples
    --------
    >>> [(op, neg, term.kind) for op, neg, term in parse_terms("circle(1,2,3) - !box(1,1,2,2)")]
    [('|', False, 'circle'), ('-', True, 'box')]
    """
    if not text.strip():
        raise RegionSyntaxError("empty region", text, 1, where=where)
    return read_terms(region_cursor(text, where), continuation=continuation, embedded=False)
