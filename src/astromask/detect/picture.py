"""A plain PNG of a masked image: the pixels in grey, each plane in its own colour.

The stretch is astropy's zscale interval with an asinh stretch; planes are
painted over it, half transparent, in a fixed colour per detector plane (other
planes get the remaining colours of matplotlib's ``tab10`` cycle), with a legend
giving each plane's pixel count. Matplotlib is needed (the ``plot`` extra); it is
imported only here.
"""

from __future__ import annotations

import os

import numpy as np

from .._optional import require
from ..masked_image import MaskedImage

__all__ = ["PLANE_COLOURS", "save_png"]

#: Colour of each detector plane.
PLANE_COLOURS = {
    "NO_DATA": "#7f7f7f",
    "SAT": "#d62728",
    "BAD_COLUMN": "#ff7f0e",
    "HOT": "#e377c2",
    "DEAD": "#17becf",
    "TRAIL": "#2ca02c",
    "CR": "#1f77b4",
    "EDGE": "#8c564b",
}
_OTHER = ["#9467bd", "#bcbd22", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94"]


def save_png(
    image: MaskedImage, path: str | os.PathLike, *, planes=None, title: str | None = None, max_pixels: int = 1600
) -> None:
    """Write a PNG of ``image`` with its mask planes in colour.

    Parameters
    ----------
    image : MaskedImage
    path : str or path-like
    planes : flag expression, optional
        Planes to paint (default: every plane with a pixel set).
    title : str, optional
    max_pixels : int
        Longest side of the picture, in image pixels: larger images are shown
        binned (a plane is painted where any pixel of a bin has it).
    """
    require("matplotlib", needed_for=f"{path}: writing a PNG")
    # a bare Figure on the Agg canvas: pyplot and its backend (a notebook's, say) are left alone
    from astropy.visualization import AsinhStretch, ImageNormalize, ZScaleInterval
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    step = max(1, int(np.ceil(max(image.shape) / max_pixels)))
    pixels = _binned_mean(np.asarray(image.image, dtype=np.float32), step)
    counts = image.mask.counts()
    names = (
        [n for n in image.mask.schema.names if counts[n]]
        if planes is None
        else image.mask.schema.interpret(image.mask.schema.flags(planes))
    )
    finite = pixels[np.isfinite(pixels)]
    norm = ImageNormalize(finite if finite.size else np.zeros(1), interval=ZScaleInterval(), stretch=AsinhStretch())
    ny, nx = pixels.shape
    figure = Figure(figsize=(8.0, 8.0 * ny / nx + 0.6), dpi=120)
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    axes.imshow(pixels, origin="lower", cmap="gray", norm=norm, interpolation="nearest")
    handles = []
    spare = iter(_OTHER)
    for name in names:
        colour = PLANE_COLOURS.get(name) or next(spare, "#ffffff")
        layer = _binned_any(image.mask.get(name), step)
        axes.imshow(
            np.where(layer, 1.0, np.nan),
            origin="lower",
            cmap=ListedColormap([colour]),
            alpha=0.6,
            vmin=0,
            vmax=1,
            interpolation="nearest",
        )
        handles.append(Patch(color=colour, label=f"{name} ({counts[name]})"))
    if handles:
        axes.legend(handles=handles, loc="upper right", fontsize=7, framealpha=0.7)
    axes.set_xticks([])
    axes.set_yticks([])
    if title:
        axes.set_title(title, fontsize=9)
    figure.tight_layout()
    figure.savefig(os.fspath(path))


def _binned_mean(values: np.ndarray, step: int) -> np.ndarray:
    """Mean of the finite pixels of ``step`` × ``step`` blocks (NaN where none is finite)."""
    if step == 1:
        return values
    ny, nx = (values.shape[0] // step) * step, (values.shape[1] // step) * step
    blocks = values[:ny, :nx].reshape(ny // step, step, nx // step, step)
    finite = np.isfinite(blocks)
    total = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
    count = finite.sum(axis=(1, 3))
    return np.where(count > 0, total / np.maximum(count, 1), np.nan).astype(np.float32)


def _binned_any(values: np.ndarray, step: int) -> np.ndarray:
    if step == 1:
        return values
    ny, nx = (values.shape[0] // step) * step, (values.shape[1] // step) * step
    return values[:ny, :nx].reshape(ny // step, step, nx // step, step).any(axis=(1, 3))
