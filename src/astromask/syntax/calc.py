"""The grammar of ``calc`` expressions (CIAO ``dmimgcalc`` ``op="imgout=..."``), read on a
:class:`~astromask.syntax._scan.Cursor`; :mod:`astromask.ops.calc` evaluates the tree.

Grammar, lowest precedence first::

    expression := ["imgout" "="] ternary
    ternary    := binary ["?" ternary ":" ternary]
    binary     := the levels of BINARY_LEVELS, each left-associative over the next:
                  "||" "|"  <  "&&" "&"  <  comparisons (do not chain)  <  "+" "-"  <  "*" "/"
    unary      := ("-" | "+" | "!" | "~") unary | power
    power      := atom [("^" | "**") unary]          (right-associative)
    atom       := number | name | name "(" [ternary {"," ternary}] ")" | "(" ternary ")"

Written by hand, not with a parser library: precedence climbing over :data:`BINARY_LEVELS` is
as short as a grammar file, and the messages (``comparisons do not chain; join them with &&``,
a function called without parentheses, a depth limit instead of a RecursionError) are code.
Errors are :class:`~astromask.errors.CalcSyntaxError` at 1-based columns of the expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import CalcSyntaxError, ParseError
from ._scan import NAME, NUMBER, Cursor, Token, TokenParser

__all__ = [
    "BINARY_LEVELS",
    "COMPARISONS",
    "Binary",
    "Call",
    "Condition",
    "Name",
    "Number",
    "Unary",
    "calc_error",
    "names",
    "parse_tree",
]

COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
#: binary operators, lowest precedence first
BINARY_LEVELS: tuple[tuple[str, ...], ...] = (("||", "|"), ("&&", "&"), COMPARISONS, ("+", "-"), ("*", "/"))

_OPERATOR = re.compile(r"\*\*|&&|\|\||==|!=|<=|>=|[-+*/^()<>!~&|?:,=]")
_PREFIX = re.compile(r"\s*imgout\s*=(?!=)", re.IGNORECASE)


# -- the tree ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Name:
    name: str
    column: int


@dataclass(frozen=True)
class Unary:
    op: str
    operand: object


@dataclass(frozen=True)
class Binary:
    op: str
    left: object
    right: object


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[object, ...]
    column: int


@dataclass(frozen=True)
class Condition:
    test: object
    if_true: object
    if_false: object


def calc_error(problem: str, column: int | None = None, detail: str = "") -> CalcSyntaxError:
    """A ``calc`` error; its message gives the column but does not quote the expression."""
    return CalcSyntaxError(problem, column=column, where="calc", detail=detail)


def _make_error(problem: str, text: str, column: int, detail: str) -> ParseError:
    return calc_error(problem, column, detail)


class _Parser(TokenParser):
    """Precedence climbing; ``functions`` maps each function name to its number of arguments
    (None: two or more)."""

    #: deepest nesting of parentheses, calls, conditions and unary operators (a RecursionError otherwise)
    MAX_DEPTH = 64

    def __init__(self, cursor: Cursor, functions: Mapping[str, int | None]) -> None:
        self.functions = functions
        self.depth = 0
        super().__init__(cursor)

    def lex(self) -> Token:
        c = self.cursor
        c.skip()
        at = c.pos
        if at >= c.end:
            return Token("END", "", at + 1)
        for kind, pattern in (("NUMBER", NUMBER), ("NAME", NAME), ("", _OPERATOR)):
            m = c.match(pattern, skip=False)
            if m is not None:
                return Token(kind or m.group(), m.group(), at + 1)
        raise c.error(f"unexpected character {c.text[at]!r}", at)

    def unexpected(self, expected: str = "", detail: str = "") -> ParseError:
        what = "end of expression" if self.tok.kind == "END" else repr(self.tok.text)
        return self.error(f"unexpected {what}" + (f" ({expected})" if expected else ""), detail=detail)

    def expect(self, kind: str, expected: str = "") -> Token:
        return super().expect(kind, expected or f"expected {kind!r}")

    def nested(self, rule: Callable[[], object]) -> object:
        self.depth += 1
        if self.depth > self.MAX_DEPTH:
            raise self.error(f"expression nested deeper than {self.MAX_DEPTH} levels")
        try:
            return rule()
        finally:
            self.depth -= 1

    def parse(self) -> object:
        if self.tok.kind == "END":
            raise self.error("empty expression, expected a value")
        tree = self.ternary()
        if self.tok.kind != "END":
            raise self.unexpected()
        return tree

    def ternary(self) -> object:
        return self.nested(self._ternary)

    def _ternary(self) -> object:
        test = self.binary(0)
        if self.accept("?") is None:
            return test
        if_true = self.ternary()
        self.expect(":")
        return Condition(test, if_true, self.ternary())

    def binary(self, level: int) -> object:
        if level == len(BINARY_LEVELS):
            return self.unary()
        operators = BINARY_LEVELS[level]
        left = self.binary(level + 1)
        while op := self.accept(*operators):
            left = Binary(op.kind, left, self.binary(level + 1))
            if operators is COMPARISONS:
                if self.tok.kind in COMPARISONS:
                    raise self.unexpected("comparisons do not chain; join them with &&")
                break
        return left

    def unary(self) -> object:
        if op := self.accept("-", "+", "!", "~"):
            return Unary(op.kind, self.nested(self.unary))
        base = self.atom()
        if op := self.accept("^", "**"):
            return Binary(op.kind, base, self.unary())
        return base

    def atom(self) -> object:
        tok = self.tok
        if self.accept("NUMBER"):
            return Number(float(tok.text))
        if self.accept("NAME"):
            if self.accept("(") is None:
                if tok.text in self.functions:
                    raise self.error(f"function {tok.text!r} needs arguments in parentheses", tok)
                return Name(tok.text, tok.column)
            return self.call(tok)
        if self.accept("("):
            inner = self.ternary()
            self.expect(")")
            return inner
        raise self.unexpected()

    def call(self, name: Token) -> Call:
        if name.text not in self.functions:
            known = ", ".join(sorted(self.functions))
            raise self.error(f"unknown function {name.text!r}", name, f"known: {known}")
        args = []
        if self.accept(")") is None:
            args.append(self.ternary())
            while self.accept(","):
                args.append(self.ternary())
            self.expect(")")
        nargs = self.functions[name.text]
        if nargs is None and len(args) < 2:
            raise self.error(f"{name.text}() takes two or more arguments, got {len(args)}", name)
        if nargs is not None and len(args) != nargs:
            raise self.error(f"{name.text}() takes {nargs} argument{'s' if nargs > 1 else ''}, got {len(args)}", name)
        return Call(name.text, tuple(args), name.column)


def parse_tree(text: str, functions: Mapping[str, int | None]) -> object:
    """The tree of an expression (an ``imgout=`` prefix is stepped over); ``functions`` maps the
    function names the evaluator knows to their number of arguments (None: two or more).

    Examples
    --------
    >>> parse_tree("imgout=1 - img1", {})
    Binary(op='-', left=Number(value=1.0), right=Name(name='img1', column=12))
    """
    prefix = _PREFIX.match(text)
    cursor = Cursor(text, _make_error, begin=prefix.end() if prefix else 0, end_name="end of expression")
    return _Parser(cursor, functions).parse()


def names(node: object) -> list[Name]:
    """Every :class:`Name` of a tree, in order."""
    if isinstance(node, Name):
        return [node]
    if isinstance(node, Unary):
        return names(node.operand)
    if isinstance(node, Binary):
        return names(node.left) + names(node.right)
    if isinstance(node, Call):
        return [n for arg in node.args for n in names(arg)]
    if isinstance(node, Condition):
        return names(node.test) + names(node.if_true) + names(node.if_false)
    return []
