"""The picture ``detect`` writes beside its FITS file: the image in grey, each plane in its colour.

It is ``astromask show``'s picture (:func:`astromask.visual.show_figure`), so the two agree:
the same colours for the same planes, sky axes when the image has a celestial WCS, a
legend of pixel counts, and large images drawn in blocks where a plane is painted when any
pixel of the block has it (a single flagged pixel stays visible), NO_DATA included.
Matplotlib is needed (the ``plot`` extra).
"""

from __future__ import annotations

import os

from .._optional import require
from ..core.masked_image import MaskedImage

__all__ = ["save_png"]


def save_png(image: MaskedImage, path: str | os.PathLike, *, planes=None, title: str | None = None) -> None:
    """Write a PNG of ``image`` with its mask planes in colour (as ``astromask show`` draws it).

    Parameters
    ----------
    image : MaskedImage
    path : str or path-like
    planes : flag expression, optional
        Planes to paint (default: every plane with a pixel set).
    title : str, optional
    """
    require("matplotlib", needed_for=f"{path}: writing a PNG")
    from ..visual import show_figure

    figure = show_figure(image, planes=planes, titles=[title] if title else None)
    figure.savefig(os.fspath(path), format="png")
