"""Growing the stack's boolean mask: :func:`astromask.morphology.grow`, which takes KBMOD's diamond on
bit-packed rows (:mod:`astromask.morphology._packed`) for small radii and its radius-independent kernels for the
rest. Kept for the names older code imports."""

from __future__ import annotations

import numpy as np

from ..morphology import grow
from ..morphology._packed import PACKED_MAX_RADIUS, grow_diamond

__all__ = ["PACKED_MAX_RADIUS", "grow_diamond", "grow_union"]


def grow_union(masked: np.ndarray, radius: int, footprint: str = "diamond") -> np.ndarray:
    """The stack's growth step: ``masked`` grown by ``radius`` with ``footprint`` (a new array)."""
    return grow(np.asarray(masked, dtype=bool), radius, footprint=footprint)
