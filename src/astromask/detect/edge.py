"""``EDGE``: a border of given width around the image.

L.A.Cosmic's median filters, the 3 × 3 neighbourhoods of the hot- and
dead-pixel tests and a source detection kernel all see less than their full
footprint near the border; ``EDGE`` marks that margin so that it can be
excluded as a whole (Rubin's ``EDGE`` plane means the same).
"""

from __future__ import annotations

import numpy as np

from ..core.presets import made_plane
from ..morphology import boundary

__all__ = ["DEFAULT_WIDTH", "PLANE", "detect_edge"]

PLANE = made_plane("EDGE")
DEFAULT_WIDTH = 4  # pixels: the half-width of astroscrappy's 7x7 separable median, plus one


def detect_edge(shape, width=DEFAULT_WIDTH, *, wcs=None) -> np.ndarray:
    """The border of an image, ``width`` pixels (or an angle, with a WCS) wide.

    A thin wrapper over :func:`astromask.morphology.boundary`: ``width`` may be
    ``(width_x, width_y)``, and angles are converted with the WCS pixel scales.

    Parameters
    ----------
    shape : (ny, nx), array, Mask or MaskedImage
    width : size or (size, size)
    wcs : astropy.wcs.WCS, optional

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> detect_edge((4, 5), 1).astype(int)
    array([[1, 1, 1, 1, 1],
           [1, 0, 0, 0, 1],
           [1, 0, 0, 0, 1],
           [1, 1, 1, 1, 1]])
    """
    return boundary(shape, width, wcs=wcs)
