"""Rasterize a physical :class:`~astromask.regions.region.Region` on an image grid.

A pixel is in the region iff its centre is (no partial pixels). Each component
is evaluated only inside the bounding box of its included shapes, and each
negated shape only inside its own box, all vectorised with numpy; components
with no bounded included shape (``field()``, ``!shape``, ``sector``) cover the image.
"""

from __future__ import annotations

import math

import numpy as np

from .frame import PixelFrame
from .region import Region, component_box

__all__ = ["rasterize"]

Index = tuple[int, int, int, int]  # i0, i1, j0, j1 (0-based, end exclusive)
CHUNK = 1 << 16  # pixels evaluated at once


def _index_box(box, frame: PixelFrame, nx: int, ny: int) -> Index | None:
    """Pixel index ranges whose centres may fall in the physical ``box`` (padded by one pixel)."""
    if box is None:
        return (0, nx, 0, ny)
    x0, x1, y0, y1 = box
    if frame.separable:
        (a, _), (_, d) = frame.ltm
        lx = (a * x0 + frame.ltv[0], a * x1 + frame.ltv[0])
        ly = (d * y0 + frame.ltv[1], d * y1 + frame.ltv[1])
    else:
        lx, ly = frame.to_logical(np.array([x0, x1, x0, x1]), np.array([y0, y0, y1, y1]))
        lx, ly = lx.tolist(), ly.tolist()
    # pixel index k has logical centre k + 1
    i0, i1 = max(0, math.ceil(min(lx)) - 2), min(nx, math.floor(max(lx)) + 1)
    j0, j1 = max(0, math.ceil(min(ly)) - 2), min(ny, math.floor(max(ly)) + 1)
    if i0 >= i1 or j0 >= j1:
        return None
    return (i0, i1, j0, j1)


def _grid(frame: PixelFrame, index: Index):
    i0, i1, j0, j1 = index
    return frame.physical_axes(i1 - i0, j1 - j0, x0=i0 + 1, y0=j0 + 1)


def _overlap(a: Index, b: Index) -> Index | None:
    i0, i1, j0, j1 = max(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), min(a[3], b[3])
    return (i0, i1, j0, j1) if i0 < i1 and j0 < j1 else None


def _component_mask(component, index: Index, frame: PixelFrame, nx: int, ny: int) -> np.ndarray:
    i0, i1, j0, j1 = index
    x, y = _grid(frame, index)
    inside = np.ones((j1 - j0, i1 - i0), dtype=bool)
    for lit in component:
        if lit.include:
            inside &= lit.shape.contains(x, y)
            continue
        own = _index_box(lit.shape.bbox(), frame, nx, ny)
        part = _overlap(own, index) if own is not None else None
        if part is None:
            continue
        sx, sy = _grid(frame, part)
        view = inside[part[2] - j0 : part[3] - j0, part[0] - i0 : part[1] - i0]
        view &= ~lit.shape.contains(sx, sy)
    return inside


def rasterize(region: Region, shape: tuple[int, int], frame: PixelFrame) -> np.ndarray:
    """Boolean ``(ny, nx)`` image: True where the logical pixel centre is inside ``region``."""
    ny, nx = (int(n) for n in shape)
    out = np.zeros((ny, nx), dtype=bool)
    with np.errstate(invalid="ignore"):
        for component in region.components:
            box = component_box(component)
            if box is None:
                continue  # included shapes whose boxes do not overlap: an empty component
            index = _index_box(None if math.isinf(box[0]) else box, frame, nx, ny)
            if index is None:
                continue
            i0, i1, j0, j1 = index
            step = max(1, CHUNK // (i1 - i0))
            for r0 in range(j0, j1, step):  # row blocks keep the temporaries in cache
                rows = (i0, i1, r0, min(r0 + step, j1))
                out[rows[2] : rows[3], i0:i1] |= _component_mask(component, rows, frame, nx, ny)
    return out
