"""A CIAO region: an OR of components, each an AND of (possibly negated) shapes.

:func:`parse` turns a region string into a :class:`Region` following the CIAO
region library's grouping rules, left to right and without parentheses:
``|``, ``+`` or juxtaposition start a new component, ``&``/``*`` extend it,
``-shape`` ANDs the negated shape, ``!`` negates the next shape only. So
``a | b & !c`` is ``a ∪ (b ∩ ¬c)``, ``a - b + c`` is ``(a ∩ ¬b) ∪ c`` and ``a-!b``
is ``a ∩ b``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..errors import AstromaskError, ParameterError
from ..syntax.region import Arg, RegionFile, ShapeSpec, parse_terms
from . import shapes as S
from .frame import PixelFrame

__all__ = ["Literal", "Region", "parse"]

MAX_COMPONENTS = 100_000

_CLASSES = {
    "circle": S.Circle,
    "annulus": S.Annulus,
    "ellipse": S.Ellipse,
    "box": S.Box,
    "rotbox": S.Box,
    "rectangle": S.Rectangle,
    "pie": S.Pie,
    "sector": S.Sector,
    "point": S.Point,
    "field": S.Field,
}


@dataclass(frozen=True)
class Literal:
    """One shape of a component; ``include=False`` is a negated (``!``/``-``) shape."""

    include: bool
    shape: S.Shape | ShapeSpec

    def __str__(self) -> str:
        return ("" if self.include else "!") + _shape_text(self.shape)

    def negated(self) -> Literal:
        return Literal(not self.include, self.shape)


def _shape_text(shape) -> str:
    if isinstance(shape, ShapeSpec):
        args = ",".join(_arg_text(a, r) for a, r in zip(shape.args, shape.roles))
        rotated = shape.kind in ("box", "rotbox") and shape.roles == "xyssa"
        return f"{'RotBox' if rotated else shape.kind.capitalize()}({args})"
    return str(shape)


def _arg_text(arg: Arg, role: str) -> str:
    """An argument in degrees (``d``) when it is a world value, else as written."""
    if arg.unit == "sexagesimal":
        return S.fmt(arg.value * (15.0 if role == "x" else 1.0)) + "d"
    if arg.unit in ("'", '"'):
        return S.fmt(arg.value * (1 / 60.0 if arg.unit == "'" else 1 / 3600.0)) + "d"
    return S.fmt(arg.value) + arg.unit


class Region:
    """A CIAO region in disjunctive normal form.

    Parameters
    ----------
    components : sequence of sequences of Literal
        The region is the OR of the components; a component is the AND of its literals.

    Notes
    -----
    Shapes written in world units (``d``, sexagesimal, ``"``, ``'``) or logical
    sizes (``i``) stay as parsed until :meth:`to_physical` converts them with an
    image's :class:`~astromask.regions.frame.PixelFrame`; :meth:`mask` does this
    itself.

    Examples
    --------
    >>> r = parse("circle(50,50,10)-circle(50,50,5)")
    >>> str(r)
    'Circle(50,50,10)&!Circle(50,50,5)'
    >>> bool(r.contains(50, 58)), bool(r.contains(50, 52))
    (True, False)
    """

    def __init__(self, components) -> None:
        self.components: tuple[tuple[Literal, ...], ...] = tuple(tuple(c) for c in components)

    # -- algebra (used for region(file) terms; also public) -------------------------------------

    def __or__(self, other: Region) -> Region:
        return Region(self.components + other.components)

    def __and__(self, other: Region) -> Region:
        if len(self.components) * len(other.components) > MAX_COMPONENTS:
            raise ParameterError(f"region too complex: more than {MAX_COMPONENTS} components after AND")
        return Region(a + b for a in self.components for b in other.components)

    def __invert__(self) -> Region:
        if not self.components:
            return Region([[Literal(True, S.Field())]])
        out = Region([[lit.negated()] for lit in self.components[0]])
        for component in self.components[1:]:
            out = out & Region([[lit.negated()] for lit in component])
        return out

    def __sub__(self, other: Region) -> Region:
        return self & ~other

    def __eq__(self, other) -> bool:
        return isinstance(other, Region) and self.components == other.components

    def __hash__(self) -> int:
        return hash(self.components)

    def __str__(self) -> str:
        return "|".join("&".join(str(lit) for lit in comp) for comp in self.components)

    def __repr__(self) -> str:
        return f"Region({str(self)!r})"

    def literals(self) -> Iterator[Literal]:
        for component in self.components:
            yield from component

    @property
    def needs_frame(self) -> bool:
        """True when some shape is in world units or logical sizes (see :meth:`to_physical`)."""
        return any(isinstance(lit.shape, ShapeSpec) for lit in self.literals())

    # -- coordinates -----------------------------------------------------------------------------

    def to_physical(self, frame: PixelFrame | None = None) -> Region:
        """The same region with every shape in physical pixel coordinates.

        Positions in world coordinates go through the frame's sky WCS; world
        sizes are divided by the size of a physical pixel in degrees, logical
        sizes multiplied by the size of a logical pixel in physical pixels, as
        the CIAO library does. Angles are kept (measured from physical +x).
        """
        if not self.needs_frame:
            return self
        frame = frame or PixelFrame()
        return Region(
            tuple(Literal(lit.include, resolve(lit.shape, frame)) for lit in comp) for comp in self.components
        )

    def _physical(self) -> Region:
        if self.needs_frame:
            raise ParameterError(
                f"region {self} uses world coordinates or logical sizes: call to_physical(frame) "
                "or mask(..., header=...) first"
            )
        return self

    # -- evaluation ------------------------------------------------------------------------------

    def contains(self, x, y) -> np.ndarray:
        """CIAO's ``regInsideRegion`` at physical points ``(x, y)`` (arrays broadcast).

        NaN coordinates are outside included shapes but inside negated shapes
        and ``field()``; infinite coordinates are outside.
        """
        region = self._physical()
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        out = np.zeros(x.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            for component in region.components:
                inside = np.ones(x.shape, dtype=bool)
                for lit in component:
                    hit = lit.shape.contains(x, y)
                    inside &= hit if lit.include else ~hit
                out |= inside
        return out & ~(np.isinf(x) | np.isinf(y))

    def extent(self, field=None) -> tuple[float, float, float, float] | None:
        """``(xmin, xmax, ymin, ymax)`` of the region within ``field`` (CIAO's ``regExtent``).

        A component's extent is the intersection of its included shapes' bounding
        boxes (negated and unbounded shapes count as the field); the region's is
        the union over components. ``None`` when empty.
        """
        boxes = [b for b in (component_box(c, field) for c in self._physical().components) if b is not None]
        if not boxes:
            return None
        return (min(b[0] for b in boxes), max(b[1] for b in boxes), min(b[2] for b in boxes), max(b[3] for b in boxes))

    def area(self, field=None, *, bin: float = 1.0, method: str = "exact") -> float:
        """Area of the region in square physical pixels; see :func:`astromask.regions.area.region_area`."""
        from .area import region_area

        return region_area(self._physical(), field, bin=bin, method=method)

    def mask(self, shape: tuple[int, int], *, header=None, wcs=None, frame: PixelFrame | None = None) -> np.ndarray:
        """Boolean image, True where the pixel centre is inside the region.

        Parameters
        ----------
        shape : (ny, nx)
            Image shape; pixel ``[j, i]`` has logical centre ``(i + 1, j + 1)``.
        header : astropy.io.fits.Header, optional
            Image header for the physical (``LTM``/``LTV``) and sky (WCS) systems.
        wcs : astropy.wcs.WCS, optional
            Sky WCS of the image pixels (overrides the header's).
        frame : PixelFrame, optional
            The coordinate systems directly (instead of ``header``/``wcs``).

        Examples
        --------
        >>> m = parse("box(3,3,2,2)").mask((4, 5))
        >>> m.astype(int)
        array([[0, 0, 0, 0, 0],
               [0, 1, 1, 1, 0],
               [0, 1, 1, 1, 0],
               [0, 1, 1, 1, 0]])
        """
        from .raster import rasterize

        frame = frame or PixelFrame.from_header(header, wcs=wcs)
        return rasterize(self.to_physical(frame), shape, frame)


def component_box(component, field=None) -> tuple[float, float, float, float] | None:
    """Intersection of the included bounded shapes' boxes with ``field`` (None when empty)."""
    (fx0, fx1), (fy0, fy1) = field if field is not None else ((-math.inf, math.inf), (-math.inf, math.inf))
    box = [fx0, fx1, fy0, fy1]
    for lit in component:
        b = lit.shape.bbox() if lit.include else None
        if b is not None:
            box = [max(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), min(box[3], b[3])]
    if box[0] > box[1] or box[2] > box[3]:
        return None
    return tuple(box)


def resolve(spec, frame: PixelFrame) -> S.Shape:
    """A physical :class:`~astromask.regions.shapes.Shape` from a parsed shape."""
    if isinstance(spec, S.Shape):
        return spec
    values = []
    positions = [(a, r) for a, r in zip(spec.args, spec.roles) if r in "xy"]
    world = any(a.unit in ("d", "sexagesimal") for a, _ in positions)
    if world:
        lon = [a.value * (15.0 if a.unit == "sexagesimal" else 1.0) for a, r in positions if r == "x"]
        lat = [a.value for a, r in positions if r == "y"]
        px, py = frame.world_to_physical(lon, lat)
        converted = iter(v for pair in zip(np.atleast_1d(px), np.atleast_1d(py)) for v in pair)
    for arg, role in zip(spec.args, spec.roles):
        if role in "xy":
            values.append(float(next(converted)) if world else arg.value)
        elif role == "s":
            values.append(_size(arg, frame))
        else:
            values.append(_angle(arg))
    return build_shape(spec.kind, values)


def needs_frame(spec: ShapeSpec) -> bool:
    """True when a parsed shape has world positions, or world or logical sizes."""
    return any(
        (role in "xy" and arg.unit) or (role == "s" and arg.unit not in ("", "p"))
        for arg, role in zip(spec.args, spec.roles)
    )


def _size(arg: Arg, frame: PixelFrame) -> float:
    if arg.unit in ("", "p"):
        return arg.value
    if arg.unit == "i":
        return arg.value * frame.physical_per_logical
    degrees = {"d": 1.0, "'": 1 / 60.0, '"': 1 / 3600.0}[arg.unit] * arg.value
    return degrees / frame.degrees_per_physical()


def _angle(arg: Arg) -> float:
    return {"": 1.0, "d": 1.0, "'": 1 / 60.0, '"': 1 / 3600.0}[arg.unit] * arg.value


def build_shape(kind: str, values: list[float]) -> S.Shape:
    """The physical shape of a kind from its argument values in CIAO order."""
    if kind == "polygon":
        return S.Polygon(tuple(values[0::2]), tuple(values[1::2]))
    return _CLASSES[kind](*values)


def _term_region(negated: bool, term, column_error) -> Region:
    if isinstance(term, RegionFile):
        from .files import read_region_file

        try:
            term = read_region_file(term.path)
        except (OSError, AstromaskError) as exc:
            raise column_error(f"cannot read region file {term.path!r} ({exc})", term.column) from exc
    if isinstance(term, Region):
        return ~term if negated else term
    try:
        shape = term if needs_frame(term) else resolve(term, PixelFrame())
    except ValueError as exc:
        raise column_error(str(exc), term.column) from exc
    return Region([[Literal(not negated, shape)]])


def combine(terms, column_error, start: Region | None = None) -> Region:
    """Left-to-right CIAO grouping of ``[(op, negated, term)]``, each term a parsed shape or a
    ``region(file)`` (read here); ``column_error(problem, column)`` makes the error of a term.

    With ``start`` (the lines read so far of a region file) the terms continue its
    last component.
    """
    done: list = list(start.components[:-1]) if start is not None else []
    current = Region(start.components[-1:]) if start is not None else None
    for op, negated, term in terms:
        region = _term_region(negated, term, column_error)
        if current is None:
            current = region
        elif op == "|":
            done.extend(current.components)
            current = region
        elif op == "&":
            current = current & region
        else:
            current = current & ~region
    if len(done) + len(current.components) > MAX_COMPONENTS:
        raise ParameterError(f"region too complex: more than {MAX_COMPONENTS} components")
    return Region(done + list(current.components))


def parse(text: str, *, where: str = "region") -> Region:
    """Parse a CIAO region string.

    Parameters
    ----------
    text : str
        E.g. ``"circle(4096.5,4096.5,20)-box(4100,4100,5,5,30)"``; ``region(file)``
        reads a CIAO ASCII or FITS region file.
    where : str
        Prefix of error messages.

    Raises
    ------
    RegionSyntaxError
        With the column of the problem, e.g.
        ``region: unexpected ')' at column 14 in 'circle(1,2,3))'``.

    Examples
    --------
    >>> str(parse("cir(1,2,3) + !box(0,0,4,4) & point(1,1)"))
    'Circle(1,2,3)|!Box(0,0,4,4)&Point(1,1)'
    """
    from ..syntax.region import RegionSyntaxError

    def column_error(problem: str, column: int) -> RegionSyntaxError:
        return RegionSyntaxError(problem, text, column, where=where)

    return combine(parse_terms(text, where=where), column_error)
