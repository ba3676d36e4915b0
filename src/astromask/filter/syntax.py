"""CIAO's virtual file names: ``file[block][filter][filter...][opt ...]``.

Grammar of one filter bracket (CIAO ``dmfiltering`` / ``dmmasks``)::

    group    := ['exclude' | 'filter'] anyof
    anyof    := allof { '||' allof }            OR, lowest precedence
    allof    := item { ',' item }               AND
    item     := '(' anyof ')' | term
    term     := columns '=' value | name cmp number
    columns  := name | '(' name ',' name ')'    a vector column (sky) or a column pair
    value    := 'mask(' file ')' | 'bounds(' ('mask(' file ')' | region) ')'
              | region                          a CIAO region string (shapes, region(file))
              | range { ',' range }             OR of ranges of one column
    range    := number | [number] ':' [number]
    cmp      := '<' | '<=' | '>' | '>=' | '!='

A ``,`` followed by a number or ``:`` continues the ranges of the column before
it (``ccd_id=0:3,7``); otherwise it starts a new term (AND). ``[opt full]``,
``[opt null=VALUE]`` (or both, comma separated) are options; the first bracket
is a block when it is a bare name or number (``[EVENTS]``, ``[2]``, ``[#2]``;
numbers count from 1, the primary HDU).

What CIAO refuses is refused here with CIAO's reason: include and exclude
filters together, a mask combined with regions by region logic operators
(``mask(f)+region(r)``, ``field()-mask(f)``), and (checked when columns are
resolved, :mod:`astromask.filter.plan`) a column used in two masks.
Errors are :class:`FilterSyntaxError` (a ``ValueError``) whose one-line
message gives the column in the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ParseError
from ..regions.ciao import shape_kind

__all__ = [
    "AllOf",
    "AnyOf",
    "BoundsFilter",
    "Columns",
    "FilterGroup",
    "FilterSyntaxError",
    "MaskFilter",
    "Range",
    "RangeFilter",
    "RegionFilter",
    "VirtualFile",
    "format_number",
    "parse_filter",
    "parse_virtual_file",
]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_PAIR = re.compile(r"\(\s*([A-Za-z_]\w*)\s*,\s*([A-Za-z_]\w*)\s*\)(?=\s*[=<>!])")
_RANGE_START = re.compile(r"\s*[-+.:\d]")
_BLOCK = re.compile(r"^\s*(?:#?(?P<number>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*))\s*$")
_COMPARISONS = {"<=": "le", ">=": "ge", "!=": "ne", "<": "lt", ">": "gt", "==": "eq", "=": "eq"}
_REGION_OPERATORS = "+-*&!|"
_MASK_WITH_REGION_LOGIC = (
    "a mask cannot be combined with regions by the region logic operators + - ! * & | "
    "(CIAO: 'Masks cannot be logically combined with regions'); use ',' (and) or '||' (or) between filters"
)


class FilterSyntaxError(ParseError):
    """A malformed or refused filter; ``column`` is 1-based in ``text``."""

    def __init__(self, problem: str, text: str, column: int, *, detail: str = "") -> None:
        super().__init__(problem, text, column, where="filter", detail=detail)


@dataclass(frozen=True)
class Columns:
    """The column(s) a term filters: ``('sky',)``, ``('pi',)`` or a pair ``('x', 'y')`` (lower case)."""

    names: tuple[str, ...]
    column: int

    @property
    def pair(self) -> bool:
        return len(self.names) == 2

    def __str__(self) -> str:
        return f"({self.names[0]},{self.names[1]})" if self.pair else self.names[0]


@dataclass(frozen=True)
class Range:
    """One range of a column filter.

    ``op`` is ``'range'`` (``lo:hi``, either end open when None), ``'eq'``
    (``=v``), ``'ne'``, ``'lt'``, ``'le'``, ``'gt'`` or ``'ge'`` (``lo`` holds
    the value of the one-sided forms).
    """

    op: str
    lo: float | None = None
    hi: float | None = None

    def __str__(self) -> str:
        if self.op == "range":
            return f"{format_number(self.lo)}:{format_number(self.hi)}"
        symbol = {"eq": "", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}[self.op]
        return f"{symbol}{format_number(self.lo)}"


def format_number(value: float | None) -> str:
    """A range end as the filter syntax writes it ('' for an open end)."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


@dataclass(frozen=True)
class RangeFilter:
    """``col=lo:hi,...`` or ``col<v``: the rows (pixels) whose value is in any of the ranges."""

    columns: Columns
    ranges: tuple[Range, ...]


@dataclass(frozen=True)
class MaskFilter:
    """``col=mask(file)``: the rows (pixels) that fall on a non-zero pixel of the mask image."""

    columns: Columns
    file: str
    column: int


@dataclass(frozen=True)
class RegionFilter:
    """``col=<region>``: a CIAO region string (``circle(...)``, ``region(f.reg)``, ...)."""

    columns: Columns
    text: str
    column: int


@dataclass(frozen=True)
class BoundsFilter:
    """``col=bounds(mask(file))`` or ``col=bounds(<region>)``: the rectangle enclosing it."""

    columns: Columns
    file: str | None
    region: str | None
    column: int


@dataclass(frozen=True)
class AllOf:
    """AND of filters (``,``)."""

    items: tuple


@dataclass(frozen=True)
class AnyOf:
    """OR of filters (``||``)."""

    items: tuple


@dataclass(frozen=True)
class FilterGroup:
    """One filter bracket: its expression and whether it was ``[exclude ...]``."""

    expression: object
    exclude: bool
    column: int


@dataclass(frozen=True)
class VirtualFile:
    """A parsed virtual file name.

    Attributes
    ----------
    path : str
        The file.
    block : str, int or None
        ``[EVENTS]`` (a name), ``[2]`` (a 1-based block number: 1 is the
        primary HDU) or None (the first image or table).
    groups : tuple of FilterGroup
        The filter brackets, ANDed.
    full : bool
        ``[opt full]``: do not crop a filtered image.
    null : float or None
        ``[opt null=v]``: value of excluded image pixels.
    """

    text: str
    path: str
    block: str | int | None = None
    groups: tuple[FilterGroup, ...] = ()
    full: bool = False
    null: float | None = None

    @property
    def exclude(self) -> bool:
        return any(group.exclude for group in self.groups)


def parse_virtual_file(text: str) -> VirtualFile:
    """Parse ``file[block][filter]...[opt ...]``.

    Examples
    --------
    >>> vf = parse_virtual_file("evt.fits[EVENTS][ccd_id=0:3,7,sky=mask(m.fits)][opt full]")
    >>> vf.path, vf.block, vf.full, len(vf.groups)
    ('evt.fits', 'EVENTS', True, 1)
    >>> parse_virtual_file("evt.fits[sky=mask(m.fits)][exclude pi=1:10]")
    Traceback (most recent call last):
    ...
    astromask.filter.syntax.FilterSyntaxError: filter: include and exclude filters cannot be used together \
(CIAO: 'Using both include and exclude filters is not supported') at column 28 in \
'evt.fits[sky=mask(m.fits)][exclude pi=1:10]'
    """
    start = text.find("[")
    path = (text if start < 0 else text[:start]).strip()
    if not path:
        raise FilterSyntaxError("no file name before the first '['", text, 1)
    block, groups, full, null = None, [], False, None
    for index, (begin, end) in enumerate(_brackets(text, start)):
        content = text[begin:end]
        word = content.strip().split(None, 1)[0].lower() if content.strip() else ""
        if not content.strip():
            raise FilterSyntaxError("empty brackets []", text, begin)
        if word == "opt":
            full, null = _options(text, begin, end, full, null)
        elif word == "bin":
            raise FilterSyntaxError("binning ([bin ...]) is not supported; filter, then bin", text, begin + 1)
        elif word in ("cols", "col"):
            raise FilterSyntaxError("column selection ([cols ...]) is not supported", text, begin + 1)
        elif _BLOCK.match(content) and word not in ("exclude", "filter"):
            if index != 0:
                raise FilterSyntaxError(f"block {content.strip()!r} must be the first bracket", text, begin + 1)
            m = _BLOCK.match(content)
            block = int(m.group("number")) if m.group("number") else m.group("name")
            if block == 0:
                raise FilterSyntaxError("block numbers start at 1 (the primary HDU)", text, begin + 1)
        else:
            groups.append(_GroupParser(text, begin, end).parse())
    _check_include_exclude(text, groups)
    return VirtualFile(text, path, block, tuple(groups), full, null)


def parse_filter(text: str) -> tuple[FilterGroup, ...]:
    """Parse filters alone: ``"sky=mask(m.fits)"`` or ``"[sky=mask(m.fits)][pi=1:10]"``.

    Examples
    --------
    >>> (group,) = parse_filter("exclude sky=circle(10,10,3)||pi=1:5")
    >>> group.exclude, type(group.expression).__name__
    (True, 'AnyOf')
    """
    if not text.strip():
        raise FilterSyntaxError("empty filter", text, 1)
    if text.lstrip().startswith("["):
        vf = parse_virtual_file("data" + text)
        if vf.block is not None or vf.full or vf.null is not None:
            raise FilterSyntaxError("only filter brackets are allowed here (no block or [opt])", text, 1)
        return tuple(FilterGroup(g.expression, g.exclude, g.column - 4) for g in vf.groups)
    return (_GroupParser(text, 0, len(text)).parse(),)


def _brackets(text: str, start: int):
    """``(begin, end)`` of each bracket's content, nested brackets in parentheses allowed."""
    pos = start
    while 0 <= pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        if text[pos] != "[":
            raise FilterSyntaxError(f"unexpected {text[pos]!r} after ']' (expected '[')", text, pos + 1)
        opened: list[int] = []
        depth_paren, depth_bracket, end = 0, 0, pos + 1
        while end < len(text):
            ch = text[end]
            if ch == "(":
                depth_paren += 1
                opened.append(end)
            elif ch == ")":
                depth_paren -= 1
                if opened:
                    opened.pop()
            elif ch == "[":
                depth_bracket += 1
            elif ch == "]":
                if depth_bracket == 0 and depth_paren <= 0:
                    break
                depth_bracket -= 1
            end += 1
        if end >= len(text):
            if opened:
                raise FilterSyntaxError("'(' is never closed", text, opened[-1] + 1)
            raise FilterSyntaxError("'[' is never closed", text, pos + 1)
        yield pos + 1, end
        pos = end + 1


def _options(text: str, begin: int, end: int, full: bool, null: float | None) -> tuple[bool, float | None]:
    content = text[begin:end]
    offset = begin + content.lower().index("opt") + 3
    for m in re.finditer(r"[^,\s][^,]*", text[offset:end]):
        item, column = m.group().strip(), offset + m.start() + 1
        key, _, value = item.partition("=")
        key = key.strip().lower()
        if key == "full" and not value:
            full = True
        elif key == "null" and value.strip():
            try:
                null = float(value)
            except ValueError:
                raise FilterSyntaxError(f"null={value.strip()!r} is not a number", text, column) from None
        else:
            raise FilterSyntaxError(f"unsupported option {item!r} (astromask knows full and null=VALUE)", text, column)
    return full, null


def _check_include_exclude(text: str, groups: list[FilterGroup]) -> None:
    if len({group.exclude for group in groups}) > 1:
        second = next(g for g in groups[1:] if g.exclude != groups[0].exclude)
        raise FilterSyntaxError(
            "include and exclude filters cannot be used together "
            "(CIAO: 'Using both include and exclude filters is not supported')",
            text,
            second.column,
        )


class _GroupParser:
    """Recursive descent over ``text[begin:end]``; positions stay absolute for error columns."""

    def __init__(self, text: str, begin: int, end: int) -> None:
        self.text = text
        self.pos = begin
        self.begin = begin
        self.end = end

    # -- helpers ------------------------------------------------------------------------------

    def error(self, problem: str, pos: int | None = None) -> FilterSyntaxError:
        return FilterSyntaxError(problem, self.text, (self.pos if pos is None else pos) + 1)

    def skip(self) -> None:
        while self.pos < self.end and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, literal: str) -> bool:
        self.skip()
        return self.text.startswith(literal, self.pos) and self.pos + len(literal) <= self.end

    def at_end(self) -> bool:
        self.skip()
        return self.pos >= self.end

    def unexpected(self, expected: str) -> FilterSyntaxError:
        self.skip()
        what = "end of filter" if self.pos >= self.end else repr(self.text[self.pos])
        return self.error(f"unexpected {what}, expected {expected}")

    def name(self, expected: str = "a column name") -> tuple[str, int]:
        self.skip()
        m = _NAME.match(self.text, self.pos, self.end)
        if not m:
            raise self.unexpected(expected)
        self.pos = m.end()
        return m.group(), m.start()

    def number(self) -> float:
        self.skip()
        m = _NUMBER.match(self.text, self.pos, self.end)
        if not m:
            raise self.unexpected("a number")
        self.pos = m.end()
        return float(m.group())

    def parenthesized(self) -> tuple[str, int]:
        """The text between '(' at the current position and its matching ')'."""
        self.skip()
        if not self.peek("("):
            raise self.unexpected("'('")
        depth, start = 0, self.pos
        for i in range(self.pos, self.end):
            depth += {"(": 1, ")": -1}.get(self.text[i], 0)
            if depth == 0:
                self.pos = i + 1
                return self.text[start + 1 : i], start + 1
        raise self.error("'(' is never closed", start)

    # -- grammar ------------------------------------------------------------------------------

    def parse(self) -> FilterGroup:
        self.skip()
        start = self.pos
        exclude = False
        m = re.compile(r"(exclude|filter)\s+", re.I).match(self.text, self.pos, self.end)
        if m:
            exclude = m.group(1).lower() == "exclude"
            self.pos = m.end()
            if self.at_end():
                raise self.unexpected("a filter after " + m.group(1))
        expression = self.anyof()
        if not self.at_end():
            raise self.unexpected("',' or '||' between filters")
        return FilterGroup(expression, exclude, start + 1)

    def anyof(self):
        items = [self.allof()]
        while self.peek("||"):
            self.pos += 2
            items.append(self.allof())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def allof(self):
        items = [self.item()]
        while self.peek(","):
            self.pos += 1
            items.append(self.item())
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def item(self):
        self.skip()
        if self.peek("(") and not _PAIR.match(self.text, self.pos, self.end):
            self.pos += 1
            expression = self.anyof()
            if not self.peek(")"):
                raise self.unexpected("')'")
            self.pos += 1
            return expression
        return self.term()

    def columns(self) -> Columns:
        self.skip()
        start = self.pos
        m = _PAIR.match(self.text, self.pos, self.end)
        if m:
            self.pos = m.end()
            return Columns((m.group(1).lower(), m.group(2).lower()), start + 1)
        name, _ = self.name("a column name or (column,column)")
        return Columns((name.lower(),), start + 1)

    def term(self):
        columns = self.columns()
        self.skip()
        m = re.compile(r"==|<=|>=|!=|=|<|>").match(self.text, self.pos, self.end)
        if not m:
            raise self.unexpected(f"'=' or a comparison after {columns}")
        self.pos = m.end()
        op = _COMPARISONS[m.group()]
        if m.group() in ("=", "=="):
            return self.value(columns)
        if columns.pair:
            raise self.error(f"{columns} can only be filtered with =mask(...), =bounds(...) or a region", m.start())
        return RangeFilter(columns, (Range(op, self.number()),))

    def value(self, columns: Columns):
        self.skip()
        start = self.pos
        m = _NAME.match(self.text, self.pos, self.end)
        word = m.group().lower() if m else ""
        followed_by_paren = bool(m) and self.text[m.end() : self.end].lstrip().startswith("(")
        if word == "mask" and followed_by_paren:
            self.pos = m.end()
            file, column = self.parenthesized()
            self.refuse_region_logic_after()
            return MaskFilter(columns, self.file_name(file, column), start + 1)
        if word == "bounds" and followed_by_paren:
            self.pos = m.end()
            inner, column = self.parenthesized()
            self.refuse_region_logic_after()
            return self.bounds(columns, inner, column, start)
        if self.peek("!") or (followed_by_paren and shape_kind(word) is not None):
            return self.region(columns, start)
        if followed_by_paren:
            raise self.error(f"unknown region shape or filter function {m.group()!r}", start)
        if m:
            raise self.error(
                f"unexpected {m.group()!r}: expected a number, a range lo:hi, mask(file) or a region", start
            )
        if columns.pair:
            raise self.error(f"{columns} can only be filtered with =mask(...), =bounds(...) or a region", start)
        ranges = [self.range()]
        while self.peek(",") and _RANGE_START.match(self.text, self.pos + 1, self.end):
            self.pos += 1
            ranges.append(self.range())
        return RangeFilter(columns, tuple(ranges))

    def range(self) -> Range:
        self.skip()
        start = self.pos
        lo = hi = None
        if not self.peek(":"):
            lo = self.number()
        if not self.peek(":"):
            if lo is None:
                raise self.unexpected("a number")
            return Range("eq", lo)
        self.pos += 1
        self.skip()
        if _NUMBER.match(self.text, self.pos, self.end):
            hi = self.number()
        if lo is None and hi is None:
            raise self.error("a range needs at least one end (lo:, :hi or lo:hi)", start)
        if lo is not None and hi is not None and hi < lo:
            raise self.error(f"range {format_number(lo)}:{format_number(hi)} is reversed (lo > hi)", start)
        return Range("range", lo, hi)

    def file_name(self, text: str, column: int) -> str:
        if not text.strip():
            raise self.error("mask() needs a file name", column - 1)
        return text.strip()

    def refuse_region_logic_after(self) -> None:
        """After mask(...)/bounds(...): a region operator (but not '||') is CIAO's refused combination."""
        self.skip()
        if self.pos < self.end and self.text[self.pos] in _REGION_OPERATORS and not self.peek("||"):
            raise self.error(_MASK_WITH_REGION_LOGIC)

    def bounds(self, columns: Columns, inner: str, column: int, start: int) -> BoundsFilter:
        sub = _GroupParser(self.text, column, column + len(inner))
        sub.skip()
        m = re.compile(r"mask\s*(?=\()", re.I).match(self.text, sub.pos, sub.end)
        if m:
            sub.pos = m.end()
            file, file_column = sub.parenthesized()
            if not sub.at_end():
                raise sub.error(_MASK_WITH_REGION_LOGIC)
            return BoundsFilter(columns, self.file_name(file, file_column), None, start + 1)
        if not inner.strip():
            raise self.error("bounds() needs mask(file) or a region", column - 1)
        region = sub.region(columns, sub.pos)
        if not sub.at_end():
            raise sub.unexpected("')'")
        return BoundsFilter(columns, None, region.text, start + 1)

    def region(self, columns: Columns, start: int) -> RegionFilter:
        """A region string: up to ',' or '||' or an unmatched ')' at parenthesis depth 0."""
        depth, pos = 0, start
        while pos < self.end:
            ch = self.text[pos]
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            elif depth == 0 and (ch == "," or self.text.startswith("||", pos)):
                break
            pos += 1
        text = self.text[start:pos].rstrip()
        for m in re.finditer(r"\b(mask|bounds)\s*\(", text, flags=re.I):
            if _outside_parentheses(text, m.start()):
                raise self.error(_MASK_WITH_REGION_LOGIC, start + m.start())
        self.pos = pos
        return RegionFilter(columns, text, start + 1)


def _outside_parentheses(text: str, index: int) -> bool:
    return text[:index].count("(") == text[:index].count(")")
