"""Cleaned images: pixels of chosen planes (cosmic rays, bad pixels and columns) replaced by the median
of their unflagged neighbours, as astroscrappy's cleaned array, with ``INTRP`` where a value was
replaced (:func:`clean_image`).

Each flagged pixel takes the median of the pixels in the ``box`` x ``box`` square around it that are
neither flagged for cleaning nor without data (NaN); where none is left (inside a wide trail or a
bleed), the square grows by two pixels at a time up to ``max_box``, and a pixel still without a clean
neighbour keeps its value and gets no ``INTRP``. astroscrappy's default, ``cleantype='meanmask'``, is
a 5x5 mean of the unmasked neighbours; the median is used here because the neighbours of a cosmic
ray often hold its fainter wings, which a mean lets through. The medians are taken in float64 and
written back in the image's type, so the result does not depend on the machine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..core.presets import made_plane
from ..errors import ParameterError

__all__ = ["CLEANED_PLANES", "INTRP_PLANE", "clean_image"]

#: Planes replaced by default: one-exposure defects and detector defects (not SAT, EDGE, TRAIL or
#: NO_DATA, which have no trustworthy neighbours to borrow from, nor astrophysical planes).
CLEANED_PLANES = ("CR", "HOT", "DEAD", "BAD", "BAD_COLUMN")
INTRP_PLANE = made_plane("INTRP", "detect")


def _medians(image: np.ndarray, bad: np.ndarray, ys: np.ndarray, xs: np.ndarray, box: int) -> np.ndarray:
    """Median of the good pixels in the box around each (y, x); NaN where there is none."""
    half = box // 2
    padded = np.pad(np.where(bad, np.nan, image.astype(np.float64)), half, constant_values=np.nan)
    windows = np.empty((ys.size, box * box))
    k = 0
    for dy in range(box):
        for dx in range(box):
            windows[:, k] = padded[ys + dy, xs + dx]
            k += 1
    out = np.full(ys.size, np.nan)
    some = ~np.isnan(windows).all(axis=1)
    if some.any():
        out[some] = np.nanmedian(windows[some], axis=1)
    return out


def clean_image(
    image: MaskedImage,
    planes: Sequence[str] | None = None,
    *,
    box: int = 5,
    max_box: int = 15,
) -> MaskedImage:
    """``image`` with the pixels of ``planes`` replaced by the median of their clean neighbours, and
    ``INTRP`` set where they were (the mask keeps every plane; the variance is kept as it is).

    Parameters
    ----------
    image : MaskedImage
    planes : sequence of str, optional
        The planes to replace (default :data:`CLEANED_PLANES`, those the mask has).
    box, max_box : int
        Odd sizes of the first and the largest neighbourhood.

    Examples
    --------
    >>> from astromask.core.presets import get_schema
    >>> mi = MaskedImage(np.arange(25, dtype=np.float32).reshape(5, 5), schema=get_schema("rubin"))
    >>> mi.image[2, 2] = 1e4; mi.mask.set("CR", (2, 2))
    >>> out = clean_image(mi, box=3)
    >>> float(out.image[2, 2]), bool(out.mask.get("INTRP")[2, 2]), int(out.mask.get("INTRP").sum())
    (12.0, True, 1)
    """
    if not isinstance(image, MaskedImage):
        raise ParameterError(f"clean_image takes a MaskedImage, got {type(image).__name__}")
    for value, name in ((box, "box"), (max_box, "max_box")):
        if not isinstance(value, (int, np.integer)) or value < 3 or value % 2 == 0:
            raise ParameterError(f"{name} must be an odd number of pixels >= 3, got {value!r}")
    if max_box < box:
        raise ParameterError(f"max_box ({max_box}) must not be below box ({box})")
    mask = image.mask
    if planes is None:
        names = [p for p in (mask.schema.resolve(n) for n in CLEANED_PLANES) if p is not None]
    else:
        names = []
        for name in planes:
            own = mask.schema.resolve(name)
            if own is None:
                raise ParameterError(f"no plane {name!r} to clean (planes: {', '.join(mask.schema.names)})")
            names.append(own)
    flagged = mask.select(names) if names else np.zeros(mask.shape, bool)
    data = np.asarray(image.image)
    bad = flagged | ~np.isfinite(data)
    ys, xs = np.nonzero(flagged)
    values = np.full(ys.size, np.nan)
    size = box
    todo = np.arange(ys.size)
    while todo.size and size <= max_box:
        found = _medians(data, bad, ys[todo], xs[todo], size)
        done = ~np.isnan(found)
        values[todo[done]] = found[done]
        todo = todo[~done]
        size += 2
    replaced = ~np.isnan(values)
    cleaned = data.copy() if data.dtype.kind == "f" else data.astype(np.float32)
    cleaned[ys[replaced], xs[replaced]] = values[replaced]
    own = mask.schema.resolve(INTRP_PLANE.name)
    schema = mask.schema if own is not None else mask.schema.with_planes(INTRP_PLANE)
    out_mask = Mask(mask.array, schema) if schema is mask.schema else mask.remap(schema)
    where = np.zeros(mask.shape, bool)
    where[ys[replaced], xs[replaced]] = True
    out_mask.set(own or INTRP_PLANE.name, out_mask.get(own or INTRP_PLANE.name) | where)
    return MaskedImage(
        cleaned,
        mask=out_mask,
        variance=image.variance,
        unit=image.unit,
        wcs=image.wcs,
        xy0=image.xy0,
        metadata=image.metadata,
    )
