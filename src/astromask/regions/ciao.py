"""CIAO region syntax: lexer and parser.

Grammar (the CIAO region library's, no parentheses)::

    region := ['|' | '+'] term { [op] term }       a region may not start with '-'
    op     := '|' | '+'  (OR: start a new component)   '&' | '*'  (AND)   '-'  (AND NOT)
              nothing between two terms means OR
    term   := ['!'] shape '(' args ')'  |  ['!'] region '(' file ')'
    arg    := ['-'] number [unit]  |  ['-'] hh:mm:ss.s

Units: coordinates plain (physical) or ``d``/sexagesimal (world); sizes plain or
``p`` (physical), ``i`` (logical), ``d``, ``'``, ``"``/``''`` (world); angles
plain or ``d`` (degrees), ``'``, ``"`` (arcmin, arcsec of angle).

Errors are :class:`RegionSyntaxError` (a ``ValueError``) whose one-line message
names the column, e.g. ``region: unexpected ')' at column 14 in 'circle(1,2,3))'``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ParseError

__all__ = ["Arg", "RegionSyntaxError", "ShapeSpec", "Token", "parse_terms", "shape_kind", "tokenize"]


class RegionSyntaxError(ParseError):
    """A malformed region string; ``column`` is 1-based in ``text``."""

    def __init__(self, problem: str, text: str, column: int, *, where: str = "region") -> None:
        super().__init__(problem, text, column, where=where)


@dataclass(frozen=True)
class Token:
    kind: str  # NAME NUMBER UNIT PATH ( ) , ! & | - : END
    text: str
    column: int


_NUMBER = re.compile(r"(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DIGITS = frozenset("0123456789")  # ASCII only: str.isdigit() is also true of '²' and '٣'
_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_SINGLE = {"(": "(", ")": ")", ",": ",", "!": "!", "&": "&", "*": "&", "|": "|", "+": "|", "-": "-", ":": ":"}


def tokenize(text: str, *, where: str = "region") -> list[Token]:
    """Split a region string into tokens with their 1-based columns."""
    tokens: list[Token] = []
    pos, n = 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch.isspace():
            pos += 1
        elif ch in _DIGITS or (ch == "." and pos + 1 < n and text[pos + 1] in _DIGITS):
            m = _NUMBER.match(text, pos)
            tokens.append(Token("NUMBER", m.group(), pos + 1))
            pos = m.end()
            pos = _unit(text, pos, tokens, where)
        elif ch in _LETTERS:
            m = _NAME.match(text, pos)
            tokens.append(Token("NAME", m.group(), pos + 1))
            pos = m.end()
            if m.group().lower() == "region":
                pos = _region_path(text, pos, tokens, where)
        elif ch in _SINGLE:
            tokens.append(Token(_SINGLE[ch], ch, pos + 1))
            pos += 1
        else:
            hint = " (CIAO region strings and files allow no trailing comments)" if ch == "#" else ""
            hint = " (use '+' or a new line between shapes)" if ch == ";" else hint
            raise RegionSyntaxError(f"unexpected {ch!r}{hint}", text, pos + 1, where=where)
    tokens.append(Token("END", "", n + 1))
    return tokens


def _unit(text: str, pos: int, tokens: list[Token], where: str) -> int:
    """Read the unit suffix right after a number, if any."""
    if text.startswith("''", pos):
        tokens.append(Token("UNIT", '"', pos + 1))
        return pos + 2
    if pos < len(text) and text[pos] in "'\"":
        tokens.append(Token("UNIT", text[pos], pos + 1))
        return pos + 1
    m = _NAME.match(text, pos)
    if m:
        if m.group().lower() not in ("d", "p", "i"):
            raise RegionSyntaxError(f"unknown unit {m.group()!r} (use d, p, i, ', \")", text, pos + 1, where=where)
        tokens.append(Token("UNIT", m.group().lower(), pos + 1))
        return m.end()
    return pos


def _region_path(text: str, pos: int, tokens: list[Token], where: str) -> int:
    """``region(file)``: everything up to the closing parenthesis is the file name."""
    m = re.compile(r"\s*\(([^)]*)\)").match(text, pos)
    if not m:
        raise RegionSyntaxError("region needs a file name: region(file)", text, pos + 1, where=where)
    if not m.group(1).strip():
        raise RegionSyntaxError("region() needs a file name", text, m.start(1) + 1, where=where)
    tokens.append(Token("PATH", m.group(1).strip(), m.start(1) + 1))
    return m.end()


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


class _Parser:
    def __init__(self, text: str, where: str, load_file: Callable) -> None:
        self.text = text
        self.where = where
        self.tokens = tokenize(text, where=where)
        self.pos = 0
        self.load_file = load_file

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def error(self, problem: str, token: Token | None = None):
        token = token or self.tok
        return RegionSyntaxError(problem, self.text, token.column, where=self.where)

    def unexpected(self, expected: str = ""):
        tok = self.tok
        what = "end of text" if tok.kind == "END" else repr(tok.text)
        return self.error(f"unexpected {what}" + (f", expected {expected}" if expected else ""))

    def expect(self, kind: str, expected: str) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected(expected)
        tok = self.tok
        self.pos += 1
        return tok

    def terms(self, continuation: bool) -> list[tuple[str, bool, object]]:
        """``[(op, negated, term)]`` with op one of '|', '&', '-'; the first op is '|' unless continued."""
        out = []
        op = "|"
        if self.tok.kind in ("|", "&", "-"):
            if self.tok.kind == "-" and not continuation:
                raise self.error("a region may not start with '-' (write field()-shape)")
            if self.tok.kind == "&" and not continuation:
                raise self.error(f"a region may not start with {self.tok.text!r}")
            op = self.tok.kind
            self.pos += 1
        while True:
            negated, term = self.term()
            out.append((op, negated, term))
            if self.tok.kind == "END":
                return out
            if self.tok.kind in ("|", "&", "-"):
                op = self.tok.kind
                self.pos += 1
                if self.tok.kind == "END":
                    raise self.unexpected("a shape")
            elif self.tok.kind in ("NAME", "!"):
                op = "|"
            else:
                raise self.unexpected("an operator (+ | & * -) or a shape")

    def term(self) -> tuple[bool, object]:
        negated = False
        if self.tok.kind == "!":
            negated = True
            self.pos += 1
        name = self.expect("NAME", "a shape name")
        kind = shape_kind(name.text)
        if kind is None:
            problem = _UNSUPPORTED.get(name.text.lower(), f"unknown shape {name.text!r}")
            raise self.error(problem, name)
        if kind == "region":
            path = self.expect("PATH", "region(file)")
            try:
                return negated, self.load_file(path.text)
            except (OSError, ValueError) as exc:
                raise self.error(f"cannot read region file {path.text!r} ({exc})", path) from exc
        self.expect("(", f"'(' after {name.text}")
        args = self.args()
        self.expect(")", "',' or ')'")
        return negated, self.spec(kind, name, args)

    def args(self) -> list[Arg]:
        out: list[Arg] = []
        if self.tok.kind == ")":
            return out
        while True:
            out.append(self.arg())
            if self.tok.kind != ",":
                return out
            self.pos += 1

    def arg(self) -> Arg:
        start = self.tok
        sign = 1.0
        if self.tok.text in ("-", "+"):
            sign = -1.0 if self.tok.text == "-" else 1.0
            self.pos += 1
        number = self.expect("NUMBER", "a number")
        value = float(number.text)
        if self.tok.kind == ":":
            self.pos += 1
            minutes = float(self.expect("NUMBER", "minutes of a sexagesimal value").text)
            self.expect(":", "':' in a sexagesimal value")
            seconds = float(self.expect("NUMBER", "seconds of a sexagesimal value").text)
            return Arg(sign * (value + minutes / 60.0 + seconds / 3600.0), "sexagesimal", start.column)
        unit = ""
        if self.tok.kind == "UNIT":
            unit = self.tok.text
            self.pos += 1
        return Arg(sign * value, unit, start.column)

    def spec(self, kind: str, name: Token, args: list[Arg]) -> ShapeSpec:
        roles = _roles(kind, len(args))
        if roles is None:
            raise self.error(f"{kind} takes {_arity(kind)} arguments, got {len(args)}", name)
        for arg, role in zip(args, roles):
            allowed = _ALLOWED_UNITS[role]
            if arg.unit not in allowed:
                shown = arg.unit if arg.unit != "sexagesimal" else "a sexagesimal value"
                raise RegionSyntaxError(
                    f"{kind}: {_ROLE_NAMES[role]} cannot be given as {shown}", self.text, arg.column, where=self.where
                )
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
        return (
            required + optional
            if count == len(required) + len(optional)
            else (required if count == len(required) else None)
        )
    return pattern if count == len(pattern) else None


def _arity(kind: str) -> str:
    pattern = SHAPES[kind][1]
    if pattern == "*":
        return "an even number (>= 6) of"
    if "?" in pattern:
        required, optional = pattern.split("?")
        return f"{len(required)} or {len(required) + len(optional)}"
    return str(len(pattern))


def parse_terms(
    text: str, *, where: str = "region", continuation: bool = False, load_file: Callable
) -> list[tuple[str, bool, object]]:
    """Parse a region string into ``[(op, negated, term)]``.

    ``op`` is ``'|'`` (OR), ``'&'`` (AND) or ``'-'`` (AND NOT); ``term`` is a
    :class:`ShapeSpec` or what ``load_file(path)`` returned for ``region(path)``.
    With ``continuation`` the text may start with an operator (a line of a region file).
    """
    if not text.strip():
        raise RegionSyntaxError("empty region", text, 1, where=where)
    parser = _Parser(text, where, load_file)
    return parser.terms(continuation)
