"""CIAO region shapes in physical pixel coordinates.

Longer than 500 lines because it holds ten small shape classes side by side, each with the
same four methods, so that one can be read against another and against CIAO's.

Each shape answers four questions:

* ``contains(x, y)``: CIAO's inside test at points (arrays broadcast), every
  boundary included, computed with the same floating-point formulas as the CIAO
  region library so that points exactly on an edge fall the same way;
* ``bbox()``: ``(xmin, xmax, ymin, ymax)``, ``None`` for unbounded shapes (sector, field);
* ``area()``: the analytic area, ``None`` where there is none (sector, field);
* ``chords(x)``: the ``y`` intervals inside the shape on the vertical line at
  ``x``, and ``breaks()``: the ``x`` where those intervals change form. The
  exact area of a combination integrates the chord lengths (see ``area.py``).

Angles are degrees counter-clockwise from +x. Polygons are closed by repeating
the first vertex, as the CIAO library stores them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ..errors import ParameterError

__all__ = [
    "Annulus",
    "Box",
    "Circle",
    "Ellipse",
    "Field",
    "Pie",
    "Point",
    "Polygon",
    "Rectangle",
    "Sector",
    "Shape",
]

Interval = tuple[float, float]
_INF = math.inf


def fmt(value: float) -> str:
    """A number as CIAO prints it in a normalized region (``50``, ``12.5``)."""
    return f"{value:.12g}"


def mod_angle(angle: float) -> float:
    """Angle in ``[0, 360)`` as the CIAO library reduces it (C ``fmod``, then +360 if negative)."""
    a = math.fmod(angle, 360.0)
    return a + 360.0 if a < 0.0 else a


def _rotation(angle: float) -> tuple[float, float]:
    theta = angle * math.pi / 180.0
    return math.cos(theta), math.sin(theta)


def _angle_arcs(a1: float, a2: float) -> list[Interval]:
    """The arc from ``a1`` counter-clockwise to ``a2`` as intervals of ``[0, 360]``."""
    a1, a2 = mod_angle(a1), mod_angle(a2)
    if a1 < a2:
        return [(a1, a2)]
    if a1 > a2:
        return [(a1, 360.0), (0.0, a2)]
    return [(0.0, 360.0)]


def _in_arc(angle: np.ndarray, a1: float, a2: float) -> np.ndarray:
    """CIAO's pie/sector angle test on angles already reduced to ``[0, 360)``."""
    m1, m2 = mod_angle(a1), mod_angle(a2)
    if m1 < m2:
        return (angle >= m1) & (angle <= m2)
    return (angle >= m1) | (angle <= m2)


def _polar_angle(dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    angle = np.fmod(np.arctan2(dy, dx) * 180.0 / math.pi, 360.0)
    return np.where(angle < 0.0, angle + 360.0, angle)


def _distance(dx, dy):
    return np.sqrt(dx * dx + dy * dy)


def _wedge_chords(xc: float, yc: float, a1: float, a2: float, x: float) -> list[Interval]:
    """``y`` intervals of the infinite wedge (arc ``a1`` → ``a2`` about ``(xc, yc)``) at ``x``."""
    dx = x - xc
    out: list[Interval] = []
    for lo, hi in _angle_arcs(a1, a2):
        if dx > 0:  # the line sees angles (-90, 90), y increasing with the angle
            for base in (0.0, 360.0):
                t1, t2 = max(lo - base, -90.0), min(hi - base, 90.0)
                if t1 < t2:
                    out.append((_ray_y(yc, dx, t1), _ray_y(yc, dx, t2)))
        elif dx < 0:  # angles (90, 270), y decreasing with the angle
            t1, t2 = max(lo, 90.0), min(hi, 270.0)
            if t1 < t2:
                out.append((_ray_y(yc, dx, t2), _ray_y(yc, dx, t1)))
        else:
            if lo <= 90.0 <= hi:
                out.append((yc, _INF))
            if lo <= 270.0 <= hi:
                out.append((-_INF, yc))
    return union(out)


def _ray_y(yc: float, dx: float, angle: float) -> float:
    """``y`` where the ray at ``angle`` from the centre meets the vertical line ``dx`` away."""
    if angle in (90.0, -270.0):  # straight up: the line is met at +infinity from either side
        return _INF
    if angle in (-90.0, 270.0):
        return -_INF
    return yc + dx * math.tan(math.radians(angle))


def union(intervals: list[Interval]) -> list[Interval]:
    """Sorted, disjoint union of closed intervals."""
    out: list[Interval] = []
    for lo, hi in sorted(i for i in intervals if i[0] < i[1]):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Intersection of two sorted disjoint interval lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def complement(a: list[Interval]) -> list[Interval]:
    """Complement of a sorted disjoint interval list in the real line."""
    out, start = [], -_INF
    for lo, hi in a:
        if lo > start:
            out.append((start, lo))
        start = hi
    if start < _INF:
        out.append((start, _INF))
    return out


class Shape:
    """A region shape in physical coordinates (see the module docstring)."""

    name: ClassVar[str]

    def contains(self, x, y) -> np.ndarray:
        raise NotImplementedError

    def bbox(self) -> tuple[float, float, float, float] | None:
        return None

    def area(self) -> float | None:
        return None

    def chords(self, x: float) -> list[Interval]:
        raise NotImplementedError

    def breaks(self) -> list[float]:
        return []

    def params(self) -> tuple[float, ...]:
        raise NotImplementedError

    def __str__(self) -> str:
        return f"{self.name}({','.join(fmt(v) for v in self.params())})"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ParameterError(message)


@dataclass(frozen=True)
class Circle(Shape):
    """``circle(x, y, r)``: inside iff ``sqrt(dx² + dy²) <= r``."""

    x: float
    y: float
    r: float
    name: ClassVar[str] = "Circle"

    def __post_init__(self):
        _require(self.r >= 0, f"circle radius must be >= 0, got {fmt(self.r)}")

    def contains(self, x, y):
        return _distance(x - self.x, y - self.y) <= self.r

    def bbox(self):
        return (self.x - self.r, self.x + self.r, self.y - self.r, self.y + self.r)

    def area(self):
        return math.pi * self.r * self.r

    def chords(self, x):
        dx = x - self.x
        if abs(dx) >= self.r:
            return []
        h = math.sqrt(self.r * self.r - dx * dx)
        return [(self.y - h, self.y + h)]

    def breaks(self):
        return [self.x - self.r, self.x + self.r]

    def params(self):
        return (self.x, self.y, self.r)


@dataclass(frozen=True)
class Annulus(Shape):
    """``annulus(x, y, r_in, r_out)``: inside iff ``r_in <= d <= r_out``."""

    x: float
    y: float
    r_in: float
    r_out: float
    name: ClassVar[str] = "Annulus"

    def __post_init__(self):
        _require(self.r_in >= 0 and self.r_out >= 0, "annulus radii must be >= 0")
        _require(self.r_in <= self.r_out, f"annulus inner radius {fmt(self.r_in)} > outer radius {fmt(self.r_out)}")

    def contains(self, x, y):
        d = _distance(x - self.x, y - self.y)
        return (d <= self.r_out) & (d >= self.r_in)

    def bbox(self):
        return (self.x - self.r_out, self.x + self.r_out, self.y - self.r_out, self.y + self.r_out)

    def area(self):
        return math.pi * (self.r_out * self.r_out - self.r_in * self.r_in)

    def chords(self, x):
        outer = Circle(self.x, self.y, self.r_out).chords(x)
        inner = Circle(self.x, self.y, self.r_in).chords(x)
        return intersect(outer, complement(inner))

    def breaks(self):
        return [self.x - self.r_out, self.x - self.r_in, self.x + self.r_in, self.x + self.r_out]

    def params(self):
        return (self.x, self.y, self.r_in, self.r_out)


def _corner_bounds(xc, yc, half_w, half_h, angle):
    """Bounds of the rotated rectangle ``2 half_w x 2 half_h`` (CIAO's box and ellipse extent)."""
    c, s = _rotation(angle)
    xs, ys = [], []
    for u, v in ((-half_w, -half_h), (half_w, -half_h), (half_w, half_h), (-half_w, half_h)):
        xs.append(xc + c * u - s * v)
        ys.append(yc + s * u + c * v)
    return xs, ys


@dataclass(frozen=True)
class Ellipse(Shape):
    """``ellipse(x, y, a, b, angle)``: semi-axes ``a`` (along ``angle``) and ``b``."""

    x: float
    y: float
    a: float
    b: float
    angle: float = 0.0
    name: ClassVar[str] = "Ellipse"

    def __post_init__(self):
        _require(self.a >= 0 and self.b >= 0, "ellipse radii must be >= 0")

    def contains(self, x, y):
        xm, ym = x - self.x, y - self.y
        with np.errstate(divide="ignore", invalid="ignore"):
            if self.angle == 0:
                xr, yr = xm / self.a, ym / self.b
            else:
                c, s = _rotation(self.angle)
                xr = (c * xm + s * ym) / self.a
                yr = (-s * xm + c * ym) / self.b
            return (xr * xr + yr * yr) <= 1.0

    def bbox(self):
        xs, ys = _corner_bounds(self.x, self.y, self.a, self.b, self.angle)
        return (min(xs), max(xs), min(ys), max(ys))

    def area(self):
        return math.pi * self.a * self.b

    def chords(self, x):
        if self.a == 0 or self.b == 0:
            return []
        c, s = _rotation(self.angle)
        dx = x - self.x
        qa = (s / self.a) ** 2 + (c / self.b) ** 2
        qb = 2 * dx * c * s * (1 / self.a**2 - 1 / self.b**2)
        qc = dx * dx * ((c / self.a) ** 2 + (s / self.b) ** 2) - 1
        disc = qb * qb - 4 * qa * qc
        if disc <= 0:
            return []
        root = math.sqrt(disc)
        return [(self.y + (-qb - root) / (2 * qa), self.y + (-qb + root) / (2 * qa))]

    def breaks(self):
        c, s = _rotation(self.angle)
        half = math.hypot(self.a * c, self.b * s)
        return [self.x - half, self.x + half]

    def params(self):
        return (self.x, self.y, self.a, self.b, self.angle)


class _PolygonLike(Shape):
    """Shapes whose exact area and chords come from their vertices."""

    def vertices(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        raise NotImplementedError

    def chords(self, x):
        return _polygon_chords(*self.vertices(), x)

    def breaks(self):
        return list(self.vertices()[0])


def _polygon_chords(xs, ys, x) -> list[Interval]:
    """``y`` intervals with non-zero winding number on the vertical line ``x``."""
    crossings = []
    for x1, y1, x2, y2 in zip(xs[:-1], ys[:-1], xs[1:], ys[1:]):
        if (x1 <= x < x2) or (x2 <= x < x1):
            crossings.append((y1 + (x - x1) * (y2 - y1) / (x2 - x1), 1 if x2 > x1 else -1))
    crossings.sort()
    out, winding = [], 0
    for (y, step), nxt in zip(crossings, crossings[1:] + [(None, 0)]):
        winding += step
        if winding and nxt[0] is not None:
            out.append((y, nxt[0]))
    return union(out)


@dataclass(frozen=True)
class Box(_PolygonLike):
    """``box(x, y, width, height[, angle])``: full side lengths; prints as ``RotBox`` when rotated."""

    x: float
    y: float
    width: float
    height: float
    angle: float = 0.0

    def __post_init__(self):
        _require(self.width >= 0 and self.height >= 0, "box lengths must be >= 0")

    @property
    def name(self) -> str:  # type: ignore[override]
        return "RotBox" if self.angle != 0.0 else "Box"

    def contains(self, x, y):
        dx, dy = self.width / 2.0, self.height / 2.0
        if self.angle != 0.0:
            c, s = _rotation(self.angle)
            xm, ym = x - self.x, y - self.y
            return (np.abs(c * xm + s * ym) <= dx) & (np.abs(-s * xm + c * ym) <= dy)
        return (x >= self.x - dx) & (x <= self.x + dx) & (y >= self.y - dy) & (y <= self.y + dy)

    def vertices(self):
        xs, ys = _corner_bounds(self.x, self.y, self.width / 2.0, self.height / 2.0, self.angle)
        return tuple(xs + xs[:1]), tuple(ys + ys[:1])

    def bbox(self):
        xs, ys = self.vertices()
        return (min(xs), max(xs), min(ys), max(ys))

    def area(self):
        return self.width * self.height

    def params(self):
        base = (self.x, self.y, self.width, self.height)
        return base + (self.angle,) if self.angle != 0.0 else base


@dataclass(frozen=True)
class Rectangle(_PolygonLike):
    """``rectangle(xmin, ymin, xmax, ymax)``: corners are not reordered (reversed = empty)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    name: ClassVar[str] = "Rectangle"

    def contains(self, x, y):
        return (x >= self.xmin) & (x <= self.xmax) & (y >= self.ymin) & (y <= self.ymax)

    def vertices(self):
        if self.xmax < self.xmin or self.ymax < self.ymin:
            return (), ()
        xs = (self.xmin, self.xmax, self.xmax, self.xmin, self.xmin)
        return xs, (self.ymin, self.ymin, self.ymax, self.ymax, self.ymin)

    def bbox(self):
        return (self.xmin, self.xmax, self.ymin, self.ymax)

    def area(self):
        return max(0.0, self.xmax - self.xmin) * max(0.0, self.ymax - self.ymin)

    def params(self):
        return (self.xmin, self.ymin, self.xmax, self.ymax)


@dataclass(frozen=True)
class Polygon(_PolygonLike):
    """``polygon(x1, y1, x2, y2, ...)``: non-zero winding; points on edges and vertices are inside."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    name: ClassVar[str] = "Polygon"

    def __post_init__(self):
        _require(len(self.xs) == len(self.ys), "polygon needs as many x as y values")
        xs, ys = tuple(map(float, self.xs)), tuple(map(float, self.ys))
        if xs and (xs[0], ys[0]) != (xs[-1], ys[-1]):
            xs, ys = xs + xs[:1], ys + ys[:1]
        _require(len(xs) - 1 >= 3, f"polygon needs at least 3 vertices, got {max(len(xs) - 1, 0)}")
        object.__setattr__(self, "xs", xs)
        object.__setattr__(self, "ys", ys)

    def vertices(self):
        return self.xs, self.ys

    def contains(self, x, y):
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        if x.ndim == 2 and y.ndim == 2 and x.shape[0] == 1 and y.shape[1] == 1:
            return self._contains_grid(x, y)
        return self._contains_rows(*np.broadcast_arrays(x, y))

    def _contains_grid(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Grid case (x a row, y a column): each edge is tested only on the rows it spans."""
        out = np.zeros((y.shape[0], x.shape[1]), dtype=bool)
        winding = np.zeros(out.shape, dtype=np.int32)
        col = y[:, 0]
        for x1, y1, x2, y2 in self._edges():
            rows = np.nonzero((col >= min(y1, y2)) & (col <= max(y1, y2)))[0]
            if rows.size == 0:
                continue
            sl = slice(rows[0], rows[-1] + 1)
            self._edge_step(x1, y1, x2, y2, x, y[sl], out[sl], winding[sl])
        return out | (winding != 0)

    def _contains_rows(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        out = np.zeros(x.shape, dtype=bool)
        winding = np.zeros(x.shape, dtype=np.int32)
        for x1, y1, x2, y2 in self._edges():
            self._edge_step(x1, y1, x2, y2, x, y, out, winding)
        return out | (winding != 0)

    def _edges(self):
        return zip(self.xs[:-1], self.ys[:-1], self.xs[1:], self.ys[1:])

    @staticmethod
    def _edge_step(x1, y1, x2, y2, x, y, on_edge, winding) -> None:
        """One edge of CIAO's winding-number test: on-edge points, then the crossing count."""
        is_left = (x2 - x1) * (y - y1) - (x - x1) * (y2 - y1)
        on_edge |= (is_left == 0) & (x >= min(x1, x2)) & (x <= max(x1, x2)) & (y >= min(y1, y2)) & (y <= max(y1, y2))
        if y1 <= y2:
            winding += (y1 <= y) & (y2 > y) & (is_left > 0)
        if y1 >= y2:
            winding -= (y1 > y) & (y2 <= y) & (is_left < 0)

    def bbox(self):
        return (min(self.xs), max(self.xs), min(self.ys), max(self.ys))

    def area(self):
        """Shoelace area (for self-intersecting polygons see :func:`astromask.regions.area`)."""
        xs, ys = np.array(self.xs), np.array(self.ys)
        return abs(float(np.sum(xs[:-1] * ys[1:] - xs[1:] * ys[:-1]))) / 2.0

    def is_simple(self) -> bool:
        """True when no two non-adjacent edges touch (the shoelace area is then exact)."""
        edges = list(self._edges())
        n = len(edges)
        for i in range(n):
            for j in range(i + 2, n):
                if i == 0 and j == n - 1:
                    continue
                if _segments_touch(*edges[i], *edges[j]):
                    return False
        return True

    def params(self):
        return tuple(v for pair in zip(self.xs, self.ys) for v in pair)


def _segments_touch(x1, y1, x2, y2, x3, y3, x4, y4) -> bool:
    def orient(ax, ay, bx, by, cx, cy):
        v = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        return (v > 0) - (v < 0)

    def on_segment(ax, ay, bx, by, cx, cy):
        return min(ax, bx) <= cx <= max(ax, bx) and min(ay, by) <= cy <= max(ay, by)

    o1, o2 = orient(x1, y1, x2, y2, x3, y3), orient(x1, y1, x2, y2, x4, y4)
    o3, o4 = orient(x3, y3, x4, y4, x1, y1), orient(x3, y3, x4, y4, x2, y2)
    if o1 != o2 and o3 != o4:
        return True
    return any(
        o == 0 and on_segment(*seg, px, py)
        for o, seg, (px, py) in (
            (o1, (x1, y1, x2, y2), (x3, y3)),
            (o2, (x1, y1, x2, y2), (x4, y4)),
            (o3, (x3, y3, x4, y4), (x1, y1)),
            (o4, (x3, y3, x4, y4), (x2, y2)),
        )
    )


@dataclass(frozen=True)
class Pie(Shape):
    """``pie(x, y, r_in, r_out, a1, a2)``: annulus cut to the arc ``a1`` → ``a2`` (CCW).

    ``a1 == a2`` (mod 360) is the whole annulus; with ``r_in == 0`` the centre is inside.
    """

    x: float
    y: float
    r_in: float
    r_out: float
    a1: float
    a2: float
    name: ClassVar[str] = "Pie"

    def __post_init__(self):
        _require(self.r_in >= 0 and self.r_out >= 0, "pie radii must be >= 0")
        _require(self.r_in <= self.r_out, f"pie inner radius {fmt(self.r_in)} > outer radius {fmt(self.r_out)}")

    def contains(self, x, y):
        dx, dy = x - self.x, y - self.y
        d = _distance(dx, dy)
        inside = _in_arc(_polar_angle(dx, dy), self.a1, self.a2) & (d <= self.r_out) & (d >= self.r_in)
        if self.r_in == 0.0:
            inside |= (x == self.x) & (y == self.y)
        return inside

    def _arc_angles(self) -> list[float]:
        """The arc's end angles and the axis directions it passes through."""
        angles = [self.a1, self.a2]
        for lo, hi in _angle_arcs(self.a1, self.a2):
            angles += [a for a in (0.0, 90.0, 180.0, 270.0, 360.0) if lo <= a <= hi]
        return angles

    def bbox(self):
        xs, ys = [], []
        for a in self._arc_angles():
            c, s = _rotation(a)
            for r in (self.r_in, self.r_out):
                xs.append(self.x + r * c)
                ys.append(self.y + r * s)
        return (min(xs), max(xs), min(ys), max(ys))

    def area(self):
        m1, m2 = mod_angle(self.a1), mod_angle(self.a2)
        theta = m2 - m1 if m1 < m2 else 360.0 - (m1 - m2)
        return math.pi * (theta / 360.0) * (self.r_out * self.r_out - self.r_in * self.r_in)

    def chords(self, x):
        ring = Annulus(self.x, self.y, self.r_in, self.r_out).chords(x)
        return intersect(ring, _wedge_chords(self.x, self.y, self.a1, self.a2, x))

    def breaks(self):
        out = Annulus(self.x, self.y, self.r_in, self.r_out).breaks() + [self.x]
        for a in (self.a1, self.a2):
            c, _ = _rotation(a)
            out += [self.x + self.r_in * c, self.x + self.r_out * c]
        return out

    def params(self):
        return (self.x, self.y, self.r_in, self.r_out, self.a1, self.a2)


@dataclass(frozen=True)
class Sector(Shape):
    """``sector(x, y, a1, a2)``: the unbounded wedge from ``a1`` to ``a2`` (CCW).

    As in CIAO 4.19 the centre itself is inside only when the arc holds angle 0.
    """

    x: float
    y: float
    a1: float
    a2: float
    name: ClassVar[str] = "Sector"

    def contains(self, x, y):
        return _in_arc(_polar_angle(x - self.x, y - self.y), self.a1, self.a2)

    def chords(self, x):
        return _wedge_chords(self.x, self.y, self.a1, self.a2, x)

    def breaks(self):
        return [self.x]

    def params(self):
        return (self.x, self.y, self.a1, self.a2)


@dataclass(frozen=True)
class Point(Shape):
    """``point(x, y)``: exact equality of both coordinates."""

    x: float
    y: float
    name: ClassVar[str] = "Point"

    def contains(self, x, y):
        return (x == self.x) & (y == self.y)

    def bbox(self):
        return (self.x, self.x, self.y, self.y)

    def area(self):
        return 0.0

    def chords(self, x):
        return []

    def params(self):
        return (self.x, self.y)


@dataclass(frozen=True)
class Field(Shape):
    """``field()``: the whole plane."""

    name: ClassVar[str] = "Field"

    def contains(self, x, y):
        x, y = np.broadcast_arrays(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        return np.ones(x.shape, dtype=bool)

    def chords(self, x):
        return [(-_INF, _INF)]

    def params(self):
        return ()
