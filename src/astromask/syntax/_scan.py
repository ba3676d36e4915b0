"""The scanner every grammar of :mod:`astromask.syntax` reads with.

A :class:`Cursor` walks the user's own text, ``text[pos:end]``, so that every error is at a
1-based column of what the user typed, however deep the grammar that finds it: the DM filter
grammar hands its cursor to the region grammar, which stops at the filter's ``,``, ``||`` or
``)`` and leaves the cursor there. :class:`TokenParser` is the base of the two token grammars
(regions and ``calc``): one token of look-ahead, read from the cursor on demand.

The lexemes are shared: :data:`NUMBER` (unsigned, ASCII digits: ``str.isdigit`` and ``\\d``
also accept ``'²'`` and ``'٣'``), :data:`SIGNED_NUMBER` and :data:`NAME`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import ParseError

__all__ = ["DIGITS", "LETTERS", "NAME", "NUMBER", "SIGNED_NUMBER", "Cursor", "ErrorFactory", "Token", "TokenParser"]

NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
SIGNED_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
DIGITS = frozenset("0123456789")
LETTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")

#: ``(problem, text, column, detail) -> ParseError``: the error class of the grammar that owns the text
ErrorFactory = Callable[[str, str, int, str], ParseError]


class Cursor:
    """A position in ``text[begin:end]``; errors are made by ``error_factory`` at 1-based columns of
    the whole ``text``.

    ``end_name`` is how an error names the end (``'end of filter'``, ``'end of text'``).
    """

    def __init__(
        self,
        text: str,
        error_factory: ErrorFactory,
        *,
        begin: int = 0,
        end: int | None = None,
        end_name: str = "end of text",
    ) -> None:
        self.text = text
        self.pos = begin
        self.end = len(text) if end is None else end
        self.error_factory = error_factory
        self.end_name = end_name

    def sub(self, begin: int, end: int) -> Cursor:
        """A cursor on ``text[begin:end]`` with the same errors (a bracket, a parenthesized argument)."""
        return Cursor(self.text, self.error_factory, begin=begin, end=end, end_name=self.end_name)

    def skip(self) -> None:
        """Step over blanks."""
        while self.pos < self.end and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= self.end

    def char(self, offset: int = 0) -> str:
        """The character ``offset`` after the position, or ``''`` past the end."""
        at = self.pos + offset
        return self.text[at] if at < self.end else ""

    def peek(self, literal: str) -> bool:
        """Whether ``literal`` is next (after blanks); the position does not move past it."""
        self.skip()
        return self.text.startswith(literal, self.pos) and self.pos + len(literal) <= self.end

    def take(self, literal: str) -> bool:
        """Step over ``literal`` if it is next."""
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def match(self, pattern: re.Pattern[str], *, skip: bool = True) -> re.Match[str] | None:
        """Step over ``pattern`` if it matches here (after blanks unless ``skip`` is false)."""
        if skip:
            self.skip()
        m = pattern.match(self.text, self.pos, self.end)
        if m is not None:
            self.pos = m.end()
        return m

    def found(self) -> str:
        """What is next, as an error names it: ``"','"`` or the end."""
        self.skip()
        return self.end_name if self.pos >= self.end else repr(self.text[self.pos])

    def error(self, problem: str, at: int | None = None, detail: str = "") -> ParseError:
        """An error at 0-based index ``at`` of the text (the position by default)."""
        return self.error_factory(problem, self.text, (self.pos if at is None else at) + 1, detail)

    def unexpected(self, expected: str = "", detail: str = "") -> ParseError:
        found = self.found()
        return self.error(f"unexpected {found}" + (f", expected {expected}" if expected else ""), detail=detail)


@dataclass(frozen=True)
class Token:
    """One token: ``kind`` is ``NUMBER``, ``NAME``, ``END``, a grammar's own kind, or the
    punctuation itself (``'('``, ``'**'``); ``column`` is 1-based in the whole text."""

    kind: str
    text: str
    column: int


class TokenParser:
    """One token of look-ahead over a cursor: subclasses give :meth:`lex`, which reads the next
    token at the cursor (blanks skipped) and steps over it."""

    def __init__(self, cursor: Cursor) -> None:
        self.cursor = cursor
        self.tok = self.lex()

    def lex(self) -> Token:
        raise NotImplementedError

    def advance(self) -> Token:
        """Step to the next token; returns the one stepped over."""
        tok = self.tok
        self.tok = self.lex()
        return tok

    def accept(self, *kinds: str) -> Token | None:
        """Step over the token if its kind is one of ``kinds``."""
        return self.advance() if self.tok.kind in kinds else None

    def expect(self, kind: str, expected: str) -> Token:
        if self.tok.kind != kind:
            raise self.unexpected(expected)
        return self.advance()

    def error(self, problem: str, token: Token | None = None, detail: str = "") -> ParseError:
        return self.cursor.error(problem, (token or self.tok).column - 1, detail)

    def unexpected(self, expected: str = "", detail: str = "") -> ParseError:
        what = self.cursor.end_name if self.tok.kind == "END" else repr(self.tok.text)
        return self.error(f"unexpected {what}" + (f", expected {expected}" if expected else ""), detail=detail)

    def rewind(self) -> None:
        """Put the look-ahead token back, so that the cursor is at its start (the grammar that
        called this one goes on from there)."""
        self.cursor.pos = self.tok.column - 1
