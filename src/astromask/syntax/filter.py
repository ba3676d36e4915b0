"""CIAO's virtual file names: ``file[block][filter][filter...][opt ...]``.

Longer than 500 lines because the grammar, its node types and the CIAO refusals are one
text to read against ``ahelp dmfiltering``; regions are :mod:`.region`.

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

Written by hand on the shared :class:`~astromask.syntax._scan.Cursor`, not with a parser
library: the ``,`` that either continues a column's ranges or starts a new term is decided by
looking at what follows, CIAO's refusals carry CIAO's reasons, and a region value is read by the
region grammar (:func:`astromask.syntax.region.read_terms`) on this grammar's own cursor, which
it leaves at the ``,``, ``||`` or ``)`` that ends the region.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..errors import ParseError
from ._scan import NAME, SIGNED_NUMBER, Cursor
from .region import Term, read_terms, shape_kind

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
    "parse_filters",
    "parse_virtual_file",
]

_PAIR = re.compile(r"\(\s*([A-Za-z_]\w*)\s*,\s*([A-Za-z_]\w*)\s*\)(?=\s*[=<>!])")
_RANGE_START = re.compile(r"\s*[-+.:\d]")
_BLOCK = re.compile(r"^\s*(?:#?(?P<number>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_.\-]*))\s*$")
_COMPARISONS = {"<=": "le", ">=": "ge", "!=": "ne", "<": "lt", ">": "gt", "==": "eq", "=": "eq"}
_REGION_OPERATORS = "+-*&!|"
_GROUP_WORD = re.compile(r"(exclude|filter)\s+", re.I)
_COMPARISON = re.compile(r"==|<=|>=|!=|=|<|>")
_MASK_CALL = re.compile(r"mask\s*(?=\()", re.I)
_MASK_WITH_REGION_LOGIC = (
    "a mask cannot be combined with regions by the region logic operators + - ! * & | "
    "(CIAO: 'Masks cannot be logically combined with regions'); use ',' (and) or '||' (or) between filters"
)
_REFUSED_IN_REGION = {"mask": _MASK_WITH_REGION_LOGIC, "bounds": _MASK_WITH_REGION_LOGIC}


class FilterSyntaxError(ParseError):
    """A malformed or refused filter; ``column`` is 1-based in ``text``."""

    def __init__(self, problem: str, text: str, column: int, *, detail: str = "") -> None:
        super().__init__(problem, text, column, where="filter", detail=detail)


def _filter_error(problem: str, text: str, column: int, detail: str) -> ParseError:
    return FilterSyntaxError(problem, text, column, detail=detail)


def filter_cursor(text: str, begin: int = 0, end: int | None = None) -> Cursor:
    """A cursor on ``text[begin:end]`` whose errors are :class:`FilterSyntaxError` s."""
    return Cursor(text, _filter_error, begin=begin, end=end, end_name="end of filter")


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
    """``col=<region>``: a CIAO region string (``circle(...)``, ``region(f.reg)``, ...), as written
    (``text``) and as parsed (``terms``, columns in the whole filter text)."""

    columns: Columns
    text: str
    column: int
    terms: tuple[Term, ...] = field(default=(), compare=False)  # follows from text


@dataclass(frozen=True)
class BoundsFilter:
    """``col=bounds(mask(file))`` or ``col=bounds(<region>)``: the rectangle enclosing it."""

    columns: Columns
    file: str | None
    region: str | None
    column: int
    terms: tuple[Term, ...] = field(default=(), compare=False)  # follows from text


@dataclass(frozen=True)
class AllOf:
    """AND of filters (``,``)."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    """OR of filters (``||``)."""

    items: tuple[Node, ...]


#: a node of a filter expression
Node = RangeFilter | MaskFilter | RegionFilter | BoundsFilter | AllOf | AnyOf


@dataclass(frozen=True)
class FilterGroup:
    """One filter bracket: its expression and whether it was ``[exclude ...]``."""

    expression: Node
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
    astromask.syntax.filter.FilterSyntaxError: filter: include and exclude filters cannot be used together \
(CIAO: 'Using both include and exclude filters is not supported') at column 28 in \
'evt.fits[sky=mask(m.fits)][exclude pi=1:10]'
    """
    start = text.find("[")
    path = (text if start < 0 else text[:start]).strip()
    if not path:
        raise FilterSyntaxError("no file name before the first '['", text, 1)
    block, groups, full, null = _parse_brackets(text, start)
    return VirtualFile(text, path, block, groups, full, null)


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
        block, groups, full, null = _parse_brackets(text, text.index("["))
        if block is not None or full or null is not None:
            raise FilterSyntaxError("only filter brackets are allowed here (no block or [opt])", text, 1)
        return groups
    return (_GroupParser(filter_cursor(text)).parse(),)


def parse_filters(text: str) -> VirtualFile:
    """Filters and options with no file name: ``"sky=mask(m.fits)"`` or
    ``"[sky=box(3,3,2,2)][opt null=-1]"`` (a :class:`VirtualFile` whose ``path`` is ``''``);
    columns in errors count in ``text`` itself.

    Examples
    --------
    >>> vf = parse_filters("[pi=1:10][opt full]")
    >>> vf.full, len(vf.groups), vf.block
    (True, 1, None)
    """
    if not text.lstrip().startswith("["):
        return VirtualFile(text, "", None, parse_filter(text))
    block, groups, full, null = _parse_brackets(text, text.index("["))
    return VirtualFile(text, "", block, groups, full, null)


def _parse_brackets(text: str, start: int) -> tuple[str | int | None, tuple[FilterGroup, ...], bool, float | None]:
    """The block, filter groups and options of the brackets from ``text[start]`` on."""
    block: str | int | None = None
    groups: list[FilterGroup] = []
    full, null = False, None
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
        elif (m := _BLOCK.match(content)) and word not in ("exclude", "filter"):
            if index != 0:
                raise FilterSyntaxError(f"block {content.strip()!r} must be the first bracket", text, begin + 1)
            block = int(m.group("number")) if m.group("number") else m.group("name")
            if block == 0:
                raise FilterSyntaxError("block numbers start at 1 (the primary HDU)", text, begin + 1)
        else:
            groups.append(_GroupParser(filter_cursor(text, begin, end)).parse())
    _check_include_exclude(text, groups)
    return block, tuple(groups), full, null


def _brackets(text: str, start: int) -> Iterator[tuple[int, int]]:
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
    """Recursive descent on a cursor over one bracket; positions stay absolute for error columns."""

    def __init__(self, cursor: Cursor) -> None:
        self.c = cursor

    def number(self) -> float:
        m = self.c.match(SIGNED_NUMBER)
        if not m:
            raise self.c.unexpected("a number")
        return float(m.group())

    def parenthesized(self) -> tuple[str, int]:
        """The text between '(' at the position and its matching ')' (a file name), and where it starts."""
        c = self.c
        if not c.peek("("):
            raise c.unexpected("'('")
        depth, start = 0, c.pos
        for i in range(c.pos, c.end):
            depth += {"(": 1, ")": -1}.get(c.text[i], 0)
            if depth == 0:
                c.pos = i + 1
                return c.text[start + 1 : i], start + 1
        raise c.error("'(' is never closed", start)

    # -- grammar ------------------------------------------------------------------------------

    def parse(self) -> FilterGroup:
        c = self.c
        c.skip()
        start = c.pos
        exclude = False
        m = c.match(_GROUP_WORD)
        if m:
            exclude = m.group(1).lower() == "exclude"
            if c.at_end():
                raise c.unexpected("a filter after " + m.group(1))
        expression = self.anyof()
        if not c.at_end():
            raise c.unexpected("',' or '||' between filters")
        return FilterGroup(expression, exclude, start + 1)

    def anyof(self) -> Node:
        items: list[Node] = [self.allof()]
        while self.c.take("||"):
            items.append(self.allof())
        return items[0] if len(items) == 1 else AnyOf(tuple(items))

    def allof(self) -> Node:
        items: list[Node] = [self.item()]
        while self.c.take(","):
            items.append(self.item())
        return items[0] if len(items) == 1 else AllOf(tuple(items))

    def item(self) -> Node:
        c = self.c
        if c.peek("(") and not _PAIR.match(c.text, c.pos, c.end):
            c.pos += 1
            expression = self.anyof()
            if not c.take(")"):
                raise c.unexpected("')'")
            return expression
        return self.term()

    def columns(self) -> Columns:
        c = self.c
        c.skip()
        start = c.pos
        m = c.match(_PAIR)
        if m:
            return Columns((m.group(1).lower(), m.group(2).lower()), start + 1)
        m = c.match(NAME)
        if not m:
            raise c.unexpected("a column name or (column,column)")
        return Columns((m.group().lower(),), start + 1)

    def term(self) -> Node:
        columns = self.columns()
        m = self.c.match(_COMPARISON)
        if not m:
            raise self.c.unexpected(f"'=' or a comparison after {columns}")
        if m.group() in ("=", "=="):
            return self.value(columns)
        if columns.pair:
            raise self.c.error(f"{columns} can only be filtered with =mask(...), =bounds(...) or a region", m.start())
        return RangeFilter(columns, (Range(_COMPARISONS[m.group()], self.number()),))

    def value(self, columns: Columns) -> Node:
        c = self.c
        c.skip()
        start = c.pos
        m = NAME.match(c.text, c.pos, c.end)
        word = m.group().lower() if m else ""
        followed_by_paren = m is not None and c.text[m.end() : c.end].lstrip().startswith("(")
        if word == "mask" and m and followed_by_paren:
            c.pos = m.end()
            file, column = self.parenthesized()
            self.refuse_region_logic_after()
            return MaskFilter(columns, self.file_name(file, column), start + 1)
        if word == "bounds" and m and followed_by_paren:
            c.pos = m.end()
            inner, column = self.parenthesized()
            self.refuse_region_logic_after()
            return self.bounds(columns, inner, column, start)
        if c.peek("!") or (followed_by_paren and shape_kind(word) is not None):
            return self.region(columns)
        if m and followed_by_paren:
            raise c.error(f"unknown region shape or filter function {m.group()!r}", start)
        if m:
            raise c.error(f"unexpected {m.group()!r}: expected a number, a range lo:hi, mask(file) or a region", start)
        if columns.pair:
            raise c.error(f"{columns} can only be filtered with =mask(...), =bounds(...) or a region", start)
        ranges = [self.range()]
        while c.peek(",") and _RANGE_START.match(c.text, c.pos + 1, c.end):
            c.pos += 1
            ranges.append(self.range())
        return RangeFilter(columns, tuple(ranges))

    def range(self) -> Range:
        c = self.c
        c.skip()
        start = c.pos
        lo = hi = None
        if not c.peek(":"):
            lo = self.number()
        if not c.take(":"):
            if lo is None:
                raise c.unexpected("a number")
            return Range("eq", lo)
        c.skip()
        if SIGNED_NUMBER.match(c.text, c.pos, c.end):
            hi = self.number()
        if lo is None and hi is None:
            raise c.error("a range needs at least one end (lo:, :hi or lo:hi)", start)
        if lo is not None and hi is not None and hi < lo:
            raise c.error(f"range {format_number(lo)}:{format_number(hi)} is reversed (lo > hi)", start)
        return Range("range", lo, hi)

    def file_name(self, text: str, column: int) -> str:
        if not text.strip():
            raise self.c.error("mask() needs a file name", column - 1)
        return text.strip()

    def refuse_region_logic_after(self) -> None:
        """After mask(...)/bounds(...): a region operator (but not '||') is CIAO's refused combination."""
        c = self.c
        if not c.at_end() and c.char() in _REGION_OPERATORS and not c.peek("||"):
            raise c.error(_MASK_WITH_REGION_LOGIC)

    def bounds(self, columns: Columns, inner: str, column: int, start: int) -> BoundsFilter:
        sub = _GroupParser(self.c.sub(column, column + len(inner)))
        if sub.c.match(_MASK_CALL):
            file, file_column = sub.parenthesized()
            if not sub.c.at_end():
                raise sub.c.error(_MASK_WITH_REGION_LOGIC)
            return BoundsFilter(columns, self.file_name(file, file_column), None, start + 1)
        if not inner.strip():
            raise self.c.error("bounds() needs mask(file) or a region", column - 1)
        region = sub.region(columns)
        if not sub.c.at_end():
            raise sub.c.unexpected("')'")
        return BoundsFilter(columns, None, region.text, start + 1, region.terms)

    def region(self, columns: Columns) -> RegionFilter:
        """A region, read by the region grammar on this cursor up to the ``,``, ``||`` or ``)`` after it."""
        c = self.c
        c.skip()
        start = c.pos
        terms = read_terms(c, refuse=_REFUSED_IN_REGION)
        return RegionFilter(columns, c.text[start : c.pos].rstrip(), start + 1, tuple(terms))
