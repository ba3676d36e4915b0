"""From a panel to display layers: a stretched grey image and one boolean layer per mask plane.

No plotting library is needed here; :mod:`.figure` (matplotlib) and the HTML
report draw these layers.

* **Stretch**: ``zscale`` (IRAF/ds9 :class:`~astropy.visualization.ZScaleInterval`,
  linear) or ``asinh`` (:class:`~astropy.visualization.AsinhStretch` between the
  0.05 and 99.95 percentiles), computed on the full-resolution image.
* **Large images** are shown in blocks of ``factor × factor`` pixels: the
  image is the mean of each block's finite pixels, a plane is set in a block
  when *any* of its pixels is set (max-pooling), so an isolated masked pixel
  stays visible at any size.
* **Colours** come from a fixed qualitative palette, one per plane, in the
  order the planes are first drawn.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..core.mask import Mask
from ..core.schema import UnknownPlaneError
from ..errors import ParameterError
from .panels import Panel

__all__ = [
    "PALETTE",
    "STRETCHES",
    "Layers",
    "make_layers",
    "normalizer",
    "overlay_rgba",
    "plane_colours",
    "pool_any",
    "pool_factor",
    "pool_mean",
    "select_planes",
    "stretch_image",
]

log = logging.getLogger("astromask")

#: Distinct colours (Sasha Trubetskoy's 20, without black, white and grey), in the order planes get them.
PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#ffe119", "#f032e6", "#42d4f4", "#f58231", "#911eb4", "#bfef45",
    "#469990", "#fabed4", "#9a6324", "#dcbeff", "#800000", "#aaffc3", "#808000", "#ffd8b1", "#000075",
)  # fmt: skip
STRETCHES = ("zscale", "asinh")


def normalizer(image: np.ndarray, stretch: str = "zscale"):
    """An :class:`~astropy.visualization.ImageNormalize` for ``image``'s finite pixels.

    Parameters
    ----------
    image : 2-D array
    stretch : {'zscale', 'asinh'}
        ``zscale``: linear between the ZScale limits (as ds9's *zscale*);
        ``asinh``: :class:`~astropy.visualization.AsinhStretch` between the 0.05
        and 99.95 percentiles, which shows faint and bright parts together.

    Returns
    -------
    astropy.visualization.ImageNormalize
        Maps values to [0, 1] (clipped).
    """
    from astropy.visualization import (
        AsinhStretch,
        ImageNormalize,
        LinearStretch,
        PercentileInterval,
        ZScaleInterval,
    )

    if stretch not in STRETCHES:
        raise ParameterError(f"stretch must be one of {STRETCHES}, got {stretch!r}")
    values = np.asarray(image, dtype=float)
    values = values[np.isfinite(values)]
    if stretch == "zscale":
        interval, curve = ZScaleInterval(), LinearStretch()
    else:
        interval, curve = PercentileInterval(99.9), AsinhStretch(a=0.1)
    vmin, vmax = interval.get_limits(values) if values.size else (0.0, 1.0)
    if not vmax > vmin:  # a flat image: put its value mid-grey
        vmin, vmax = vmin - 1.0, vmin + 1.0
    return ImageNormalize(vmin=vmin, vmax=vmax, stretch=curve, clip=True)


def stretch_image(image: np.ndarray, stretch: str = "zscale", *, norm=None) -> np.ndarray:
    """Values in [0, 1] for display; non-finite pixels stay NaN.

    ``norm`` (from :func:`normalizer`) defaults to one computed on ``image``.

    Examples
    --------
    >>> from astropy.visualization import ImageNormalize
    >>> stretch_image(np.array([[0.0, 1.0], [4.0, np.nan]]), norm=ImageNormalize(vmin=0, vmax=2, clip=True))
    array([[0. , 0.5],
           [1. , nan]])
    """
    image = np.asarray(image, dtype=float)
    norm = normalizer(image, stretch) if norm is None else norm
    finite = np.isfinite(image)
    out = np.full(image.shape, np.nan)
    out[finite] = np.asarray(norm(image[finite]), dtype=float)
    return out


def pool_factor(shape: tuple[int, int], max_size: int | None) -> int:
    """Smallest block size that brings the longer side of ``shape`` to at most ``max_size`` pixels.

    >>> pool_factor((1040, 1392), 500), pool_factor((100, 80), 500), pool_factor((100, 80), None)
    (3, 1, 1)
    """
    if max_size is None:
        return 1
    if max_size < 1:
        raise ParameterError(f"max_size must be at least 1 pixel, got {max_size}")
    return max(1, math.ceil(max(shape) / max_size))


def _blocks(array: np.ndarray, factor: int, fill) -> np.ndarray:
    """``array`` padded with ``fill`` to whole blocks, shaped ``(ny, factor, nx, factor)``."""
    ny, nx = (-(-n // factor) for n in array.shape)
    padded = np.full((ny * factor, nx * factor), fill, dtype=array.dtype)
    padded[: array.shape[0], : array.shape[1]] = array
    return padded.reshape(ny, factor, nx, factor)


def pool_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of the finite pixels of each ``factor × factor`` block (NaN where a block has none).

    The last row and column of blocks may be partial.

    >>> pool_mean(np.arange(6.0).reshape(2, 3), 2)
    array([[2. , 3.5]])
    """
    image = np.asarray(image, dtype=float)
    if factor == 1:
        return image
    blocks = _blocks(image, factor, np.nan)
    finite = np.isfinite(blocks)
    total = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
    count = finite.sum(axis=(1, 3))
    return np.divide(total, count, out=np.full(total.shape, np.nan), where=count > 0)


def pool_any(mask: np.ndarray, factor: int) -> np.ndarray:
    """``True`` for each ``factor × factor`` block holding any ``True`` pixel (max-pooling).

    >>> pool_any(np.eye(3, dtype=bool), 2).astype(int)
    array([[1, 0],
           [0, 1]])
    """
    mask = np.asarray(mask, dtype=bool)
    if factor == 1:
        return mask
    return _blocks(mask, factor, False).any(axis=(1, 3))


def select_planes(masks: Sequence[Mask | None], planes=None) -> list[list[str]]:
    """The plane names to draw for each mask.

    Parameters
    ----------
    masks : list of Mask or None
    planes : flag expression, optional
        ``None``: every plane with at least one pixel set. Otherwise any
        expression of :meth:`MaskSchema.flags <astromask.MaskSchema.flags>`
        (``'CR,SAT'``, ``'~(BBG)'``, a list of names); those planes are drawn
        (and listed) even when empty. A name must be a plane of at least one
        mask; masks lacking it draw the others.

    Returns
    -------
    list of list of str
        Names in schema order, one list per mask (empty for ``None``).
    """
    if planes is None:
        return [[] if m is None else [n for n, c in m.counts().items() if c] for m in masks]
    chosen, errors = [], []
    for m in masks:
        if m is None:
            chosen.append([])
            continue
        try:
            bits = m.schema.flags(planes)
        except UnknownPlaneError as exc:
            errors.append(exc)
            bits = m.schema.flags(planes, unknown="ignore")
        chosen.append(m.schema.interpret(bits))
    with_masks = [m for m in masks if m is not None]
    if with_masks and len(errors) == len(with_masks):
        raise errors[0]
    return chosen


def _rgb(colour) -> tuple[float, float, float]:
    if isinstance(colour, str):
        text = colour.lstrip("#")
        if len(text) != 6:
            raise ParameterError(f"colour must be '#rrggbb' or an (r, g, b) tuple in [0, 1], got {colour!r}")
        return tuple(int(text[i : i + 2], 16) / 255 for i in (0, 2, 4))
    rgb = tuple(float(c) for c in colour)[:3]
    if len(rgb) != 3 or not all(0 <= c <= 1 for c in rgb):
        raise ParameterError(f"colour must be '#rrggbb' or an (r, g, b) tuple in [0, 1], got {colour!r}")
    return rgb


def plane_colours(names: Sequence[str], colors: Mapping[str, object] | None = None) -> dict[str, tuple]:
    """An RGB colour (floats in [0, 1]) per plane name: ``colors`` where given, else the next palette entry.

    More planes than the palette holds reuse its colours (and log a warning).

    >>> plane_colours(["CR", "SAT"], {"SAT": "#000000"})
    {'CR': (0.9019607843137255, 0.09803921568627451, 0.29411764705882354), 'SAT': (0.0, 0.0, 0.0)}
    """
    given = {k.upper(): v for k, v in (colors or {}).items()}
    unique = list(dict.fromkeys(names))
    free = [n for n in unique if n.upper() not in given]
    if len(free) > len(PALETTE):
        log.warning("%d planes to draw but %d palette colours: colours repeat", len(free), len(PALETTE))
    out = {}
    for name in unique:
        colour = given[name.upper()] if name.upper() in given else PALETTE[free.index(name) % len(PALETTE)]
        out[name] = _rgb(colour)
    return out


def block_note(factor: int, *, image: bool = True) -> str:
    """What a picture in ``factor × factor`` blocks shows, for titles (``''`` when ``factor`` is 1).

    >>> block_note(3)
    'shown in 3×3 blocks (image: mean, mask: any pixel set)'
    """
    if factor == 1:
        return ""
    how = "image: mean, mask: any pixel set" if image else "a block is set where any pixel is"
    return f"shown in {factor}×{factor} blocks ({how})"


@dataclass
class Layers:
    """What a panel looks like at display size.

    Attributes
    ----------
    grey : 2-D float array or None
        Stretched image in [0, 1] (NaN where not finite), block-averaged.
    planes : dict of str to 2-D bool array
        Each drawn plane, max-pooled, in schema order.
    counts : dict of str to int
        Full-resolution pixel count of each drawn plane.
    factor : int
        Block size (1: full resolution).
    shape : (int, int)
        Full-resolution shape.
    """

    grey: np.ndarray | None
    planes: dict[str, np.ndarray]
    counts: dict[str, int]
    factor: int
    shape: tuple[int, int]

    @property
    def note(self) -> str:
        """How the panel is shown when in blocks (``''`` at full resolution)."""
        return block_note(self.factor, image=self.grey is not None)

    @property
    def display_shape(self) -> tuple[int, int]:
        return tuple(-(-n // self.factor) for n in self.shape)

    def fraction(self, name: str) -> float:
        """Fraction of the full-resolution pixels where plane ``name`` is set."""
        return self.counts[name] / (self.shape[0] * self.shape[1])


def make_layers(
    panel: Panel,
    planes: Sequence[str],
    *,
    stretch: str = "zscale",
    max_size: int | None = None,
    factor: int | None = None,
) -> Layers:
    """Display layers of ``panel``: its stretched image and the named planes, in blocks.

    Parameters
    ----------
    panel : Panel
    planes : list of str
        Planes of ``panel.mask`` to draw (see :func:`select_planes`).
    stretch : {'zscale', 'asinh'}
    max_size : int, optional
        Longest side in display pixels; larger panels are shown in blocks
        (see :func:`pool_factor`).
    factor : int, optional
        The block size itself (instead of ``max_size``).

    Returns
    -------
    Layers
    """
    if factor is None:
        factor = pool_factor(panel.shape, max_size)
    elif max_size is not None or factor < 1:
        raise ParameterError(f"give max_size or a block factor >= 1, not both (got {max_size}, {factor})")
    grey = None
    if panel.image is not None:
        norm = normalizer(panel.image, stretch)
        grey = stretch_image(pool_mean(panel.image, factor), norm=norm)
    counts = panel.mask.counts() if planes else {}
    layers = {name: pool_any(panel.mask.get(name), factor) for name in planes}
    return Layers(grey, layers, {name: counts[name] for name in planes}, factor, panel.shape)


def overlay_rgba(layers: Layers, colours: Mapping[str, tuple], *, alpha: float = 0.6) -> np.ndarray:
    """One RGBA image (floats in [0, 1]) of every plane of ``layers`` in its colour.

    Where planes overlap, the plane with fewer pixels is on top (so small
    features are not hidden under large areas). Pixels with no plane are
    transparent.
    """
    if not 0 <= alpha <= 1:
        raise ParameterError(f"alpha must be in [0, 1], got {alpha}")
    rgba = np.zeros((*layers.display_shape, 4))
    for name in sorted(layers.planes, key=lambda n: -layers.counts[n]):
        rgba[layers.planes[name]] = (*colours[name], alpha)
    return rgba
