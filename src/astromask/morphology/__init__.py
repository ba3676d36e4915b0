"""Grow, shrink, open, close and boundaries of mask planes (:mod:`.operations`), by box, diamond
or disk footprints in pixels or angles (:mod:`.footprint`); the compiled kernels are
:mod:`._kernels` and :mod:`._packed`."""

from .footprint import FOOTPRINTS, box, diamond, disk, make_footprint, parse_size
from .operations import OUTSIDE, boundary, close, grow, open, shrink

__all__ = [
    "FOOTPRINTS",
    "OUTSIDE",
    "boundary",
    "box",
    "close",
    "diamond",
    "disk",
    "grow",
    "make_footprint",
    "open",
    "parse_size",
    "shrink",
]
