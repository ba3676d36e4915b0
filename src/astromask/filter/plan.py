"""Parsed filters resolved against a table or an image, ready to evaluate.

:func:`build_plan` looks up every column (``sky`` and other vector names
through ``MTYPEn``/``MFORMn``, default ``sky = (x, y)``), reads the masks,
parses the regions (world coordinates through the table's column WCS or the
image's WCS), checks the WCS of each mask against the data's, refuses a
column used in two masks, and applies ``exclude`` by negating the expression
(De Morgan down to the tests; a negated mask test selects the *excluded*
pixels inside the mask image, so points outside a mask stay excluded).

Tests work on *values*: a function giving, for a :class:`Column`, its numbers
(float64 or int64) and a validity array (False for integer NULLs). Tables
give column values; images give the physical coordinates of pixel centres.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..errors import AstromaskError, NotFoundError, ParameterError, ParameterTypeError, ParseError
from ..regions import Literal, PixelFrame, Region
from ..regions.region import combine
from ..regions.shapes import Rectangle
from ..syntax.filter import (
    AllOf,
    AnyOf,
    BoundsFilter,
    Columns,
    FilterGroup,
    FilterSyntaxError,
    MaskFilter,
    Range,
    RangeFilter,
    RegionFilter,
)
from .masks import MaskImage, read_mask, wcs_difference

__all__ = ["Column", "ImageTarget", "MaskTest", "Plan", "RangeTest", "RegionTest", "TableTarget", "build_plan"]

MAX_COMPONENTS = 256
_INTEGER_FORMS = "BIJK"
_NUMERIC_FORMS = "BIJKED"


@dataclass(frozen=True)
class Column:
    """A filterable column (or image axis).

    ``index`` is the 1-based ``TTYPEn`` number (the axis number for images);
    ``integer`` selects CIAO's integer range rule; ``field`` is the
    ``(min, max)`` extent (``TLMIN``/``TLMAX``) when known.
    """

    name: str
    index: int
    integer: bool
    field: tuple[float, float] | None = None
    form: str = ""
    unit: str = ""


# -- targets ---------------------------------------------------------------------------------------


def _vectors(header: fits.Header) -> dict[str, tuple[str, str]]:
    """``MTYPEn``/``MFORMn`` pairs: ``{'sky': ('x', 'y')}``."""
    out = {}
    for key in header:
        m = re.match(r"^MTYPE(\d+)$", key)
        if m and f"MFORM{m.group(1)}" in header:
            parts = [p.strip().lower() for p in str(header[f"MFORM{m.group(1)}"]).split(",")]
            if len(parts) == 2:
                out[str(header[key]).strip().lower()] = (parts[0], parts[1])
    return out


class TableTarget:
    """The columns of a binary table header.

    Examples
    --------
    >>> h = fits.BinTableHDU.from_columns([fits.Column("X", "E"), fits.Column("Y", "E"),
    ...                                    fits.Column("PI", "J")]).header
    >>> t = TableTarget(h, "evt.fits[EVENTS]")
    >>> t.vector("sky"), t.column("pi").integer
    (('x', 'y'), True)
    """

    kind = "table"

    def __init__(self, header: fits.Header, label: str) -> None:
        self.header = header
        self.label = label
        self.names = {str(header[f"TTYPE{n}"]).strip().lower(): n for n in range(1, int(header["TFIELDS"]) + 1)}
        self.vectors = _vectors(header)
        if "sky" not in self.vectors and "x" in self.names and "y" in self.names:
            self.vectors["sky"] = ("x", "y")

    def vector(self, name: str) -> tuple[str, str] | None:
        return self.vectors.get(name)

    def column(self, name: str) -> Column:
        if name not in self.names:
            raise NotFoundError(f"no column {name!r} in {self.label} (columns: {', '.join(self.names)})")
        n = self.names[name]
        h = self.header
        form = str(h[f"TFORM{n}"]).strip().upper()
        m = re.match(r"^(\d*)([A-Z])", form)
        repeat, letter = int(m.group(1) or 1), m.group(2)
        if letter not in _NUMERIC_FORMS or repeat != 1:
            raise NotFoundError(
                f"column {name!r} of {self.label} (TFORM {form}) cannot be filtered: only scalar numeric columns can"
            )
        scale, zero = float(h.get(f"TSCAL{n}", 1.0)), float(h.get(f"TZERO{n}", 0.0))
        integer = letter in _INTEGER_FORMS and scale == 1.0 and zero.is_integer()
        lo, hi = h.get(f"TLMIN{n}"), h.get(f"TLMAX{n}")
        field_ = (float(lo), float(hi)) if lo is not None and hi is not None else None
        return Column(name, n, integer, field_, letter, str(h.get(f"TUNIT{n}", "")).strip())

    def frame(self, cx: Column, cy: Column) -> PixelFrame:
        """The column pair as pixels of its column WCS (``TCTYPn``, ``TCRVLn``, ``TCRPXn``, ``TCDLTn``)."""
        h = self.header
        keys = [(c.index, k) for c in (cx, cy) for k in ("TCTYP", "TCRVL", "TCRPX", "TCDLT")]
        if not all(f"{k}{n}" in h for n, k in keys):
            return PixelFrame()
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = [str(h[f"TCTYP{c.index}"]).strip() for c in (cx, cy)]
        wcs.wcs.crval = [float(h[f"TCRVL{c.index}"]) for c in (cx, cy)]
        wcs.wcs.crpix = [float(h[f"TCRPX{c.index}"]) for c in (cx, cy)]
        wcs.wcs.cdelt = [float(h[f"TCDLT{c.index}"]) for c in (cx, cy)]
        wcs.wcs.cunit = [str(h.get(f"TCUNI{c.index}", "deg")).strip() or "deg" for c in (cx, cy)]
        rotation = float(h.get(f"TCROT{cy.index}", 0.0))
        if rotation:
            c, s = math.cos(math.radians(rotation)), math.sin(math.radians(rotation))
            wcs.wcs.pc = [[c, -s * wcs.wcs.cdelt[1] / wcs.wcs.cdelt[0]], [s * wcs.wcs.cdelt[0] / wcs.wcs.cdelt[1], c]]
        wcs.wcs.set()
        return PixelFrame(wcs=wcs if wcs.has_celestial else None)


class ImageTarget:
    """The two axes of an image: physical coordinates of pixel centres (``x``, ``y``, vector ``sky``).

    Axis names come from CIAO's physical WCS (``CTYPE1P``/``CTYPE2P``), else
    ``x`` and ``y``; ``MTYPEn``/``MFORMn`` name vectors (``sky``).
    """

    kind = "image"

    def __init__(self, header: fits.Header, shape: tuple[int, int], label: str) -> None:
        self.header = header
        self.shape = shape
        self.label = label
        self.image_frame = PixelFrame.from_header(header)
        names = [str(header.get(f"CTYPE{k}P", "")).strip().lower() or default for k, default in ((1, "x"), (2, "y"))]
        self.axes = {names[0]: 1, names[1]: 2}
        self.vectors = {k: v for k, v in _vectors(header).items() if set(v) == set(self.axes)}
        self.vectors.setdefault("sky", (names[0], names[1]))
        self.other_vectors = {k: v for k, v in _vectors(header).items() if k not in self.vectors}

    def vector(self, name: str) -> tuple[str, str] | None:
        if name in self.other_vectors:
            raise NotFoundError(
                f"{self.label}: {name} ({','.join(self.other_vectors[name])}) is not an image axis; "
                f"filter on {', '.join(self.vectors)} (the physical axes)"
            )
        return self.vectors.get(name)

    def column(self, name: str) -> Column:
        if name not in self.axes:
            raise NotFoundError(
                f"no axis {name!r} in {self.label} (image axes: {', '.join(self.axes)}, vector "
                f"{', '.join(self.vectors)})"
            )
        return Column(name, self.axes[name], False, None, "E", "")

    @property
    def extent(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The physical box the image covers (pixel edges)."""
        ny, nx = self.shape
        px, py = self.image_frame.to_physical(
            np.array([0.5, nx + 0.5, 0.5, nx + 0.5]), np.array([0.5, 0.5, ny + 0.5, ny + 0.5])
        )
        return (float(px.min()), float(px.max())), (float(py.min()), float(py.max()))

    def frame(self, cx: Column, cy: Column) -> PixelFrame:
        if (cx.index, cy.index) != (1, 2):
            return PixelFrame()
        return self.image_frame


# -- tests -----------------------------------------------------------------------------------------


def _in_range(v: np.ndarray, r: Range, integer: bool) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        if r.op == "range":
            keep = np.ones(v.shape, dtype=bool)
            if r.lo is not None:
                keep &= v >= r.lo
            if r.hi is not None:
                keep &= (v <= r.hi) if integer else (v < r.hi)
            return keep
        return {
            "eq": np.equal,
            "ne": np.not_equal,
            "lt": np.less,
            "le": np.less_equal,
            "gt": np.greater,
            "ge": np.greater_equal,
        }[r.op](v, r.lo)


@dataclass(frozen=True, eq=False)
class RangeTest:
    """Rows whose column value lies in any of the ranges (``negated``: in none; NaN/NULL never pass)."""

    column: Column
    ranges: tuple[Range, ...]
    negated: bool = False

    def negate(self) -> RangeTest:
        return replace(self, negated=not self.negated)

    def __call__(self, values) -> np.ndarray:
        v, valid = values(self.column)
        keep = np.zeros(v.shape, dtype=bool)
        for r in self.ranges:
            keep |= _in_range(v, r, self.column.integer)
        if self.negated:
            keep = ~keep
            if v.dtype.kind == "f":
                keep &= ~np.isnan(v)
        return keep if valid is None else keep & valid


@dataclass(frozen=True, eq=False)
class RegionTest:
    """Points inside a region, in the physical coordinates of a column pair.

    ``negate`` complements the region itself (CIAO's region logic: NaN points
    are inside negated shapes).
    """

    columns: tuple[Column, Column]
    label: str
    region: Region

    def negate(self) -> RegionTest:
        return replace(self, region=~self.region)

    def __call__(self, values) -> np.ndarray:
        (x, vx), (y, vy) = values(self.columns[0]), values(self.columns[1])
        keep = self.region.contains(x, y)
        for valid in (vx, vy):
            if valid is not None:
                keep &= valid
        return keep


@dataclass(frozen=True, eq=False)
class MaskTest:
    """Points on included pixels of a mask (``negated``: on excluded pixels inside it)."""

    columns: tuple[Column, Column]
    label: str
    mask: MaskImage
    negated: bool = False

    def negate(self) -> MaskTest:
        return replace(self, negated=not self.negated)

    @property
    def stored(self) -> MaskImage:
        """The mask as the subspace stores it: inverted for ``exclude``."""
        return self.mask.inverted() if self.negated else self.mask

    def __call__(self, values) -> np.ndarray:
        (x, vx), (y, vy) = values(self.columns[0]), values(self.columns[1])
        keep = self.mask.excludes(x, y) if self.negated else self.mask.contains(x, y)
        keep = keep.reshape(np.shape(x))
        for valid in (vx, vy):
            if valid is not None:
                keep &= valid
        return keep


TESTS = (RangeTest, RegionTest, MaskTest)


# -- plan ------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """A resolved filter: an AND/OR tree of tests (``exclude`` already applied)."""

    expression: object
    exclude: bool = False
    full: bool = False
    null: float | None = None
    target: object = field(default=None, repr=False)

    def evaluate(self, values) -> np.ndarray | None:
        """The boolean selection for ``values`` (None when there is no filter)."""
        return None if self.expression is None else _evaluate(self.expression, values)

    def tests(self) -> list:
        return [] if self.expression is None else list(_tests(self.expression))

    def components(self) -> list[list]:
        """The expression as an OR of ANDs of tests (CIAO's subspace components)."""
        return [] if self.expression is None else _dnf(self.expression)


def _evaluate(node, values) -> np.ndarray:
    if isinstance(node, TESTS):
        return node(values)
    parts = [_evaluate(item, values) for item in node.items]
    out = parts[0]
    for part in parts[1:]:
        out = (out & part) if isinstance(node, AllOf) else (out | part)
    return out


def _tests(node):
    if isinstance(node, TESTS):
        yield node
    else:
        for item in node.items:
            yield from _tests(item)


def _negate(node):
    if isinstance(node, TESTS):
        return node.negate()
    kind = AnyOf if isinstance(node, AllOf) else AllOf
    return kind(tuple(_negate(item) for item in node.items))


def _dnf(node) -> list[list]:
    if isinstance(node, TESTS):
        return [[node]]
    if isinstance(node, AnyOf):
        out = [c for item in node.items for c in _dnf(item)]
    else:
        out = [[]]
        for item in node.items:
            out = [a + b for a in out for b in _dnf(item)]
            if len(out) > MAX_COMPONENTS:
                break
    if len(out) > MAX_COMPONENTS:
        raise ParameterError(f"filter too complex: more than {MAX_COMPONENTS} subspace components")
    return out


class _Resolver:
    def __init__(self, target, text: str, masks: dict[str, MaskImage]) -> None:
        self.target = target
        self.text = text
        self.masks = masks
        self.mask_columns: dict[str, tuple[tuple[str, str], int]] = {}

    def error(self, problem: str, column: int) -> FilterSyntaxError:
        return FilterSyntaxError(problem, self.text, column)

    def resolve(self, node):
        if isinstance(node, (AllOf, AnyOf)):
            return type(node)(tuple(self.resolve(item) for item in node.items))
        try:
            if isinstance(node, RangeFilter):
                return self.range(node)
            if isinstance(node, MaskFilter):
                return self.mask(node)
            if isinstance(node, BoundsFilter):
                return self.bounds(node)
            if isinstance(node, RegionFilter):
                return self.region(node)
            raise ParameterTypeError(f"unknown filter node {node!r}")
        except ParseError:  # the filter's own grammar, or a region's, at its column in the whole filter
            raise
        except (AstromaskError, OSError) as exc:  # only the user's mistakes: anything else is a bug
            raise self.error(str(exc), node.columns.column) from exc

    def pair(self, columns: Columns) -> tuple[tuple[Column, Column], str]:
        if columns.pair:
            names = columns.names
            label = f"({names[0]},{names[1]})"
            for key, value in self.target.vectors.items():
                if value == names:
                    label = key
        else:
            names = self.target.vector(columns.names[0])
            if names is None:
                raise NotFoundError(
                    f"{columns.names[0]} is not a vector column of {self.target.label}; "
                    "masks and regions need two columns: give (col1,col2)"
                )
            label = columns.names[0]
        return (self.target.column(names[0]), self.target.column(names[1])), label

    def range(self, node: RangeFilter) -> RangeTest:
        name = node.columns.names[0]
        if self.target.vector(name) is not None:
            raise NotFoundError(
                f"{name} is a vector ({','.join(self.target.vector(name))}): give ranges per column, "
                f"e.g. {self.target.vector(name)[0]}=lo:hi"
            )
        return RangeTest(self.target.column(name), node.ranges)

    def load_mask(self, file: str) -> MaskImage:
        if file not in self.masks:
            self.masks[file] = read_mask(file)
        return self.masks[file]

    def mask(self, node: MaskFilter) -> MaskTest:
        columns, label = self.pair(node.columns)
        names = (columns[0].name, columns[1].name)
        for name in names:
            used = self.mask_columns.get(name)
            if used is not None and used[0] != names:
                raise self.error(
                    f"column {name!r} is used in two masks, as ({','.join(used[0])}) and ({','.join(names)}) "
                    "(CIAO: 'A single column can only be used with one mask at a time')",
                    node.columns.column,
                )
            self.mask_columns[name] = (names, node.column)
        mask = self.load_mask(node.file)
        self.check_wcs(mask, columns, node.column)
        return MaskTest(columns, label, mask)

    def check_wcs(self, mask: MaskImage, columns: tuple[Column, Column], column: int) -> None:
        frame = self.target.frame(*columns)
        image = self.target.kind == "image"
        difference = wcs_difference((frame.wcs, frame), (mask.wcs, mask.frame), same_pixel_size=image)
        if difference is not None:
            raise self.error(
                f"the WCS of mask {mask.name} differs from that of {self.target.label}: {difference} "
                "(mask and data must have equivalent WCSs: same pixel size and projection)",
                column,
            )

    def bounds(self, node: BoundsFilter) -> RegionTest:
        columns, label = self.pair(node.columns)
        if node.file is not None:
            mask = self.load_mask(node.file)
            region = mask.bounds_region()
            if region is None:
                raise ParameterError(f"bounds(mask({node.file})): the mask includes no pixel")
            return RegionTest(columns, label, region)
        region = combine(node.terms, self.error).to_physical(self.target.frame(*columns))
        extent = region.extent()
        if extent is None or not all(math.isfinite(v) for v in extent):
            raise ParameterError(f"bounds({node.region}): the region is empty or unbounded")
        rectangle = Rectangle(extent[0], extent[2], extent[1], extent[3])
        return RegionTest(columns, label, Region([[Literal(True, rectangle)]]))

    def region(self, node: RegionFilter) -> RegionTest:
        pair, label = self.pair(node.columns)
        region = combine(node.terms, self.error)
        return RegionTest(pair, label, region.to_physical(self.target.frame(*pair)))


def build_plan(
    groups: tuple[FilterGroup, ...],
    target,
    *,
    text: str,
    full: bool = False,
    null: float | None = None,
    masks: dict[str, MaskImage] | None = None,
) -> Plan:
    """Resolve filter groups against a :class:`TableTarget` or :class:`ImageTarget`.

    ``text`` is the filter text the groups' columns refer to (for error
    messages); ``masks`` caches mask files already read.
    """
    resolver = _Resolver(target, text, {} if masks is None else masks)
    exclude = any(group.exclude for group in groups)
    parts = []
    for group in groups:
        expression = resolver.resolve(group.expression)
        parts.append(_negate(expression) if group.exclude else expression)
    expression = None if not parts else parts[0] if len(parts) == 1 else AllOf(tuple(parts))
    return Plan(expression, exclude, full, null, target)
