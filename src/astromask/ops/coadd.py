"""Coadds of masks on one pixel grid: per-plane counts, a rule per plane (union, intersection, at
least N), the number of inputs covering each pixel, and ``NO_DATA`` where none does
(:func:`coadd_masks`).

An input covers a pixel unless its ``NO_DATA`` plane (or a synonym of it) is set there. Planes are
matched by name over all inputs (bits in the order the names are met). With ``rule``:

* ``'union'``: a plane is set where at least one covering input has it;
* ``'intersection'``: where every covering input has it (and at least one covers the pixel);
* ``'atleast'`` with ``min_count = N``: where at least N inputs have it, as the stack's global
  mask counts repeated flags (``>=``, as KBMOD).

``NO_DATA`` of the coadd is where no input covers the pixel (a gap), whatever the rule. The inputs
are used one at a time: memory is one input mask, the counts (``uint16``, one array per plane) and
the input-count map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..core.mask import Mask
from ..core.presets import made_plane
from ..core.schema import MaskPlane, MaskSchema
from ..errors import ParameterError

__all__ = ["RULES", "CoaddResult", "coadd_masks"]

RULES = ("union", "intersection", "atleast")
_NO_DATA = made_plane("NO_DATA", "coadd")
_MAX_INPUTS = np.iinfo(np.uint16).max


@dataclass
class CoaddResult:
    """What :func:`coadd_masks` made.

    Attributes
    ----------
    mask : Mask
        Each plane by the rule, and ``NO_DATA`` where no input covers a pixel.
    counts : dict of str to uint16 array
        Per plane, the number of covering inputs that have it at each pixel.
    inputs : uint16 array
        The number of inputs covering each pixel.
    n_inputs : int
        The inputs combined.
    """

    mask: Mask
    counts: dict[str, np.ndarray]
    inputs: np.ndarray
    n_inputs: int


def coadd_masks(masks: Iterable[Mask], *, rule: str = "union", min_count: int | None = None) -> CoaddResult:
    """Combine masks of one shape (one pixel grid), plane by plane, with ``rule``.

    Examples
    --------
    >>> from astromask.core.presets import get_schema
    >>> a, b, c = (Mask((1, 4), get_schema("rubin")) for _ in range(3))
    >>> a.set("CR", (0, 0)); b.set("CR", (0, 0)); b.set("CR", (0, 1)); c.set("NO_DATA", (0, 0))
    >>> result = coadd_masks([a, b, c], rule="intersection")
    >>> result.inputs.tolist(), result.counts["CR"].tolist(), result.mask.get("CR").astype(int).tolist()
    ([[2, 3, 3, 3]], [[2, 1, 0, 0]], [[1, 0, 0, 0]])
    >>> coadd_masks([a, b, c], rule="atleast", min_count=2).mask.get("CR").astype(int).tolist()
    [[1, 0, 0, 0]]
    """
    if rule not in RULES:
        raise ParameterError(f"rule must be one of {', '.join(RULES)}, got {rule!r}")
    if (rule == "atleast") != (min_count is not None):
        raise ParameterError("min_count goes with rule 'atleast' (and only with it)")
    if min_count is not None and (not isinstance(min_count, (int, np.integer)) or min_count < 1):
        raise ParameterError(f"min_count must be a whole number >= 1, got {min_count!r}")
    planes: dict[str, MaskPlane] = {}
    counts: dict[str, np.ndarray] = {}
    inputs: np.ndarray | None = None
    n = 0
    for n, mask in enumerate(masks, start=1):
        if not isinstance(mask, Mask):
            raise ParameterError(f"input {n} is a {type(mask).__name__}, not a Mask")
        if inputs is None:
            inputs = np.zeros(mask.shape, np.uint16)
        elif mask.shape != inputs.shape:
            raise ParameterError(f"input {n} has shape {mask.shape}, the first {inputs.shape}: one grid is needed")
        if n > _MAX_INPUTS:
            raise ParameterError(f"more than {_MAX_INPUTS} inputs")
        own_no_data = mask.schema.resolve(_NO_DATA.name)
        covering = ~mask.get(own_no_data) if own_no_data is not None else np.ones(mask.shape, bool)
        inputs += covering
        for plane in mask.schema:
            if plane.name == own_no_data:
                continue
            if plane.name not in planes:
                planes[plane.name] = plane
                counts[plane.name] = np.zeros(mask.shape, np.uint16)
            counts[plane.name] += mask.get(plane.name) & covering
    if inputs is None:
        raise ParameterError("no masks to combine")
    gaps = inputs == 0
    if len(planes) >= 64:
        raise ParameterError(f"the inputs hold {len(planes)} distinct planes; a coadd mask keeps 63 and NO_DATA")
    schema = MaskSchema([*planes.values(), MaskPlane(_NO_DATA.name, _NO_DATA.description)], name="coadd")
    out = Mask(inputs.shape, schema)
    for name, count in counts.items():
        if rule == "union":
            selected = count > 0
        elif rule == "intersection":
            selected = (count == inputs) & ~gaps
        else:
            selected = count >= min_count
        out.set(name, selected)
    out.set(_NO_DATA.name, gaps)
    return CoaddResult(out, counts, inputs, n)
