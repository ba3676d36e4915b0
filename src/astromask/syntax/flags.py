"""The flag-list grammar of astropy.nddata.bitmask, scanned with 1-based columns in its errors.

``[~] item (sep item)...`` or ``[~](item (sep item)...)``: an item is a plane name or an
integer, ``sep`` one of ``,``, ``+``, ``|`` and the same throughout. :func:`scan_flag_list`
gives the items with their columns; :meth:`astromask.MaskSchema.flags` resolves them.
"""

from __future__ import annotations

import re

from ..errors import FlagExpressionError, ParseError
from ._scan import Cursor

__all__ = ["flag_error", "is_integer_text", "scan_flag_list"]

_ITEM_RE = re.compile(r"-?[0-9]+|[A-Za-z_][A-Za-z0-9_\-]*")
_SEPARATORS = ",+|"


def flag_error(expr: str, problem: str, column: int, detail: str = "") -> FlagExpressionError:
    """An error at 1-based ``column`` of the flag string ``expr`` (quoted in its ``where``)."""
    error = FlagExpressionError(problem, "", column, where=f"invalid flag expression {expr!r}", detail=detail)
    error.text = expr
    return error


def _make_error(problem: str, text: str, column: int, detail: str) -> ParseError:
    return flag_error(text, problem, column, detail)


def scan_flag_list(expr: str) -> tuple[list[tuple[str, int]], str]:
    """The items of a flag string (each with its 1-based column) and its one separator kind.

    The grammar is astropy.nddata.bitmask's: ``[~] item (sep item)...`` or ``[~](item (sep item)...)``,
    an item a plane name or an integer, ``sep`` one of ``,``, ``+``, ``|`` and the same throughout.

    Examples
    --------
    >>> scan_flag_list("~(BAD | SAT)")
    ([('BAD', 3), ('SAT', 9)], '|')
    """
    c = Cursor(expr, _make_error)
    c.take("~")
    wrapped = c.take("(")
    items: list[tuple[str, int]] = []
    sep = ""
    while True:
        c.skip()
        m = _ITEM_RE.match(expr, c.pos)
        if m is None or (m.end() < c.end and (expr[m.end()].isalnum() or expr[m.end()] == "_")):
            found = "the end" if c.at_end() else repr(c.char())
            hint = "'~' may only precede the whole list, parentheses only wrap it" if c.char() in tuple("~()") else ""
            raise c.error(f"expected a plane name or integer, found {found}", detail=hint)
        items.append((m.group(), c.pos + 1))
        c.pos = m.end()
        if c.at_end():
            break
        char = c.char()
        if char in _SEPARATORS:
            if sep and char != sep:
                raise c.error(
                    f"it mixes the separators {sep!r} and {char!r}",
                    detail="use one kind throughout, as astropy.nddata.bitmask does",
                )
            sep, c.pos = char, c.pos + 1
            continue
        if char == ")" and wrapped:
            wrapped = False
            c.pos += 1
            if not c.at_end():
                raise c.error(f"unexpected {c.char()!r} after ')'")
            break
        expected = "a separator (',', '+' or '|')" + (" or ')'" if wrapped else "")
        raise c.error(f"expected {expected}, found {char!r}")
    if wrapped:
        raise c.error("missing ')'", c.end)
    return items, sep or ","


def is_integer_text(text: str) -> bool:
    """``'12'``, ``'-3'``: ASCII digits (``str.isdigit`` also accepts ``'²'``, which ``int`` refuses)."""
    digits = text[1:] if text.startswith("-") else text
    return bool(digits) and digits.isascii() and digits.isdigit()
