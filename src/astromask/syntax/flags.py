"""The flag-list grammar of astropy.nddata.bitmask, scanned with 1-based columns in its errors.

``[~] item (sep item)...`` or ``[~](item (sep item)...)``: an item is a plane name or an
integer, ``sep`` one of ``,``, ``+``, ``|`` and the same throughout. :func:`scan_flag_list`
gives the items with their columns; :meth:`astromask.MaskSchema.flags` resolves them.
"""

from __future__ import annotations

import re

from ..errors import FlagExpressionError

__all__ = ["flag_error", "is_integer_text", "scan_flag_list"]

_ITEM_RE = re.compile(r"-?[0-9]+|[A-Za-z_][A-Za-z0-9_\-]*")
_SEPARATORS = ",+|"


def flag_error(expr: str, problem: str, column: int, detail: str = "") -> FlagExpressionError:
    error = FlagExpressionError(problem, "", column, where=f"invalid flag expression {expr!r}", detail=detail)
    error.text = expr
    return error


def scan_flag_list(expr: str) -> tuple[list[tuple[str, int]], str]:
    """The items of a flag string (each with its 1-based column) and its one separator kind.

    The grammar is astropy.nddata.bitmask's: ``[~] item (sep item)...`` or ``[~](item (sep item)...)``,
    an item a plane name or an integer, ``sep`` one of ``,``, ``+``, ``|`` and the same throughout.
    """
    at, end = 0, len(expr)

    def blanks(at: int) -> int:
        while at < end and expr[at] in " \t":
            at += 1
        return at

    at = blanks(at)
    if at < end and expr[at] == "~":
        at = blanks(at + 1)
    wrapped = at < end and expr[at] == "("
    if wrapped:
        at += 1
    items: list[tuple[str, int]] = []
    sep = ""
    while True:
        at = blanks(at)
        m = _ITEM_RE.match(expr, at)
        if m is None or (m.end() < end and (expr[m.end()].isalnum() or expr[m.end()] == "_")):
            found = repr(expr[at]) if at < end else "the end"
            raise flag_error(
                expr,
                f"expected a plane name or integer, found {found}",
                at + 1,
                "'~' may only precede the whole list, parentheses only wrap it"
                if at < end and expr[at] in "~()"
                else "",
            )
        items.append((m.group(), at + 1))
        at = blanks(m.end())
        if at == end:
            break
        char = expr[at]
        if char in _SEPARATORS:
            if sep and char != sep:
                raise flag_error(
                    expr,
                    f"it mixes the separators {sep!r} and {char!r}",
                    at + 1,
                    "use one kind throughout, as astropy.nddata.bitmask does",
                )
            sep, at = char, at + 1
            continue
        if char == ")" and wrapped:
            wrapped = False
            at = blanks(at + 1)
            if at < end:
                raise flag_error(expr, f"unexpected {expr[at]!r} after ')'", at + 1)
            break
        expected = "a separator (',', '+' or '|')" + (" or ')'" if wrapped else "")
        raise flag_error(expr, f"expected {expected}, found {char!r}", at + 1)
    if wrapped:
        raise flag_error(expr, "missing ')'", end + 1)
    return items, sep or ","


def is_integer_text(text: str) -> bool:
    """``'12'``, ``'-3'``: ASCII digits (``str.isdigit`` also accepts ``'²'``, which ``int`` refuses)."""
    digits = text[1:] if text.startswith("-") else text
    return bool(digits) and digits.isascii() and digits.isdigit()
