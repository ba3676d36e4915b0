"""``NO_DATA``: pixels that hold no measurement.

A pixel has no data when

* its value is NaN or infinite;
* its weight (inverse variance, e.g. a DECam CP ``oow`` map) is zero,
  negative or not finite, or its variance is not finite (astromask reads a
  zero weight as an infinite variance). A variance of exactly 0 is *not*
  taken as missing data: noise-free simulations have it everywhere;
* it belongs to a **constant fill region**: at least ``min_fill`` pixels,
  connected through shared edges, that hold exactly the same value (0, -999,
  the value a resampler writes outside its input...). Only pixels equal to an
  edge neighbour can belong to one, and a region is grown only through equal
  neighbours, so a noisy sky never forms one: two noisy neighbours are equal
  by chance only now and then (about 1 % of pairs for integer data with a
  noise of 20), and 50 chained equalities practically never happen. Flat,
  exactly equal saturated cores are such regions too: give them in
  ``exclude`` (the pipeline passes pixels at or above the saturation level).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from ..core.presets import made_plane
from ..errors import ParameterError

__all__ = ["PLANE", "detect_nodata", "fill_regions"]

PLANE = made_plane("NO_DATA")


def detect_nodata(
    image: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    variance: np.ndarray | None = None,
    min_fill: int = 50,
    exclude: np.ndarray | None = None,
) -> np.ndarray:
    """Pixels without data (see the module docstring).

    Parameters
    ----------
    image : 2-D numeric array
    weight : 2-D array, optional
        Inverse variance; ``<= 0`` or non-finite means no data.
    variance : 2-D array, optional
        Variance; non-finite means no data.
    min_fill : int or None
        Smallest constant fill region, in pixels (``None`` or 0: look for none).
    exclude : 2-D bool array, optional
        Pixels that never belong to a fill region (saturated cores).

    Returns
    -------
    numpy.ndarray of bool
        ``True`` = no data.

    Examples
    --------
    >>> img = np.arange(100.0).reshape(10, 10); img[:, :6] = -999.0; img[0, 9] = np.nan
    >>> mask = detect_nodata(img)
    >>> int(mask.sum()), bool(mask[0, 9]), bool(mask[5, 7])
    (61, True, False)
    """
    data = np.asarray(image)
    if data.ndim != 2:
        raise ParameterError(f"image must be 2-D, got shape {data.shape}")
    out = ~np.isfinite(data) if data.dtype.kind in "fc" else np.zeros(data.shape, dtype=bool)
    for name, array in (("weight", weight), ("variance", variance)):
        if array is None:
            continue
        array = np.asarray(array)
        if array.shape != data.shape:
            raise ParameterError(f"{name} shape {array.shape} differs from image shape {data.shape}")
        with np.errstate(invalid="ignore"):
            out |= ~np.isfinite(array) | ((array <= 0) if name == "weight" else False)
    if min_fill:
        out |= fill_regions(data, min_size=min_fill, exclude=exclude)
    return out


def fill_regions(image: np.ndarray, *, min_size: int = 50, exclude: np.ndarray | None = None) -> np.ndarray:
    """Regions of at least ``min_size`` edge-connected pixels that hold exactly one value.

    Pixels are linked to their right and lower neighbours when both hold the
    same value (NaN never equals anything); the regions are the connected
    components of those links (:func:`scipy.sparse.csgraph.connected_components`),
    so two touching regions of different values stay apart.

    Parameters
    ----------
    image : 2-D numeric array
    min_size : int
        Smallest region kept, in pixels (>= 2).
    exclude : 2-D bool array, optional
        Pixels that are never part of a region.

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> img = np.array([[0, 0, 0, 5], [0, 7, 7, 5], [1, 7, 7, 5]])
    >>> fill_regions(img, min_size=4).astype(int)
    array([[1, 1, 1, 0],
           [1, 1, 1, 0],
           [0, 1, 1, 0]])
    """
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 2:
        raise ParameterError(f"min_size of a fill region must be an integer >= 2 pixels, got {min_size!r}")
    data = np.asarray(image)
    right = data[:, 1:] == data[:, :-1]
    down = data[1:, :] == data[:-1, :]
    if exclude is not None:
        keep = ~np.asarray(exclude, dtype=bool)
        right &= keep[:, 1:] & keep[:, :-1]
        down &= keep[1:, :] & keep[:-1, :]
    linked = np.zeros(data.shape, dtype=bool)
    linked[:, 1:] |= right
    linked[:, :-1] |= right
    linked[1:, :] |= down
    linked[:-1, :] |= down
    count = int(np.count_nonzero(linked))
    out = np.zeros(data.shape, dtype=bool)
    if count < min_size:
        return out
    index = np.full(data.shape, -1, dtype=np.int64)
    index[linked] = np.arange(count)
    first = np.concatenate([index[:, :-1][right], index[:-1, :][down]])
    second = np.concatenate([index[:, 1:][right], index[1:, :][down]])
    graph = sparse.coo_matrix((np.ones(first.size, dtype=np.int8), (first, second)), shape=(count, count))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    out[linked] = sizes[labels] >= min_size
    return out
