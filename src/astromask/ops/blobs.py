"""Connected groups of pixels above a threshold, as CIAO ``dmimgblob`` labels them.

A label map is an ``int32`` image: ``1..N`` for the groups of contiguous
pixels ``>= threshold`` (sources), ``-1..-M`` for the groups below it
(background, unless ``srconly``), ``0`` for NaN pixels. Labels are numbered in
raster order of each group's first pixel (row by row, then column: ``(y, x)``
C order). Arrays are ``(row, col) = (y, x)``; positions returned are ``(x, y)``,
0-based.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..errors import ParameterError, ParameterTypeError
from .threshold import _numeric_2d, _structure

__all__ = ["BlobProperties", "blob_mask", "blob_properties", "blobs", "gaussian_smooth"]

_ITEM = re.compile(r"^\s*([-+]?\d+)\s*(?::\s*([-+]?\d+)\s*)?$")
_SELECT_FORMS = "'sources', 'background', a label '5', a range '2:7' or a list '1,3,5:9'"


def gaussian_smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing that ignores NaN pixels (normalised convolution).

    Each output pixel is the Gaussian-weighted mean of the *finite* pixels
    around it: ``G * (image with NaN as 0) / G * (finite pixels)``, with
    :func:`scipy.ndimage.gaussian_filter` (kernel truncated at 4 sigma). Pixels
    beyond the edge count as missing, so edges are not darkened. This is
    astropy's ``convolve(..., nan_treatment="interpolate", boundary="fill",
    fill_value=nan, preserve_nan=True)`` computed separably.

    Parameters
    ----------
    image : 2-D numeric array
    sigma : float
        Standard deviation in pixels (> 0).

    Returns
    -------
    numpy.ndarray of float64
        NaN where the input is not finite.

    Examples
    --------
    >>> img = np.array([[1.0, np.nan, 1.0], [1.0, 1.0, 1.0]])
    >>> gaussian_smooth(img, 1.0)
    array([[ 1., nan,  1.],
           [ 1.,  1.,  1.]])
    """
    if not (isinstance(sigma, (int, float, np.number)) and sigma > 0):
        raise ParameterError(f"smoothing sigma must be a positive number of pixels, got {sigma!r}")
    data = _numeric_2d(image, "image").astype(np.float64)
    valid = np.isfinite(data)
    weighted = ndi.gaussian_filter(np.where(valid, data, 0.0), sigma, mode="constant", cval=0.0)
    weights = ndi.gaussian_filter(valid.astype(np.float64), sigma, mode="constant", cval=0.0)
    smoothed = np.full(data.shape, np.nan)
    np.divide(weighted, weights, out=smoothed, where=valid)
    return smoothed


def blobs(
    image: np.ndarray,
    threshold: float,
    *,
    smooth: float | None = None,
    connectivity: int = 8,
    srconly: bool = False,
) -> np.ndarray:
    """CIAO ``dmimgblob``: label the connected groups of pixels ``>= threshold``.

    Parameters
    ----------
    image : 2-D numeric array
    threshold : float
        Pixels ``>= threshold`` form sources, pixels ``< threshold`` background.
    smooth : float, optional
        Smooth with :func:`gaussian_smooth` (sigma in pixels) before thresholding,
        as CIAO users run ``aconvolve`` before ``dmimgblob``.
    connectivity : {8, 4}
        8 (default): pixels sharing an edge or a corner belong to one group;
        4: sharing an edge only. CIAO does not state its choice.
    srconly : bool
        Label only the sources; background pixels are 0.

    Returns
    -------
    numpy.ndarray of int32
        Sources ``1..N``, background groups ``-1..-M`` (``0`` with ``srconly``),
        NaN pixels ``0``, numbered in raster order of each group's first pixel.

    Examples
    --------
    >>> img = np.array([[5, 0, 0, 5],
    ...                 [0, 5, 0, 5],
    ...                 [0, 0, 0, 0],
    ...                 [5, 5, 0, 0]])
    >>> blobs(img, 1)
    array([[ 1, -1, -1,  2],
           [-1,  1, -1,  2],
           [-1, -1, -1, -1],
           [ 3,  3, -1, -1]], dtype=int32)
    >>> blobs(img, 1, connectivity=4, srconly=True)
    array([[1, 0, 0, 2],
           [0, 3, 0, 2],
           [0, 0, 0, 0],
           [4, 4, 0, 0]], dtype=int32)
    """
    if not isinstance(threshold, (int, float, np.number)) or np.isnan(threshold):
        raise ParameterError(f"threshold must be a number, got {threshold!r}")
    data = _numeric_2d(image, "image")
    if smooth is not None:
        data = gaussian_smooth(data, smooth)
    structure = _structure(connectivity)
    labels, _ = ndi.label(data >= threshold, structure=structure, output=np.int32)
    if not srconly:
        background, _ = ndi.label(data < threshold, structure=structure, output=np.int32)
        labels -= background
    return labels


def blob_mask(labels: np.ndarray, select: int | str | Iterable[int]) -> np.ndarray:
    """The pixels of chosen labels of a label map.

    Parameters
    ----------
    labels : 2-D integer array
        A label map, e.g. from :func:`blobs`.
    select : int, str or iterable of int
        A label, labels, or text: ``"sources"`` (every label > 0),
        ``"background"`` (every label < 0), ``"5"``, ``"2:7"`` (inclusive, as
        ``dmimgthresh cut=2:7``), ``"1,3,5:9"``.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` = pixel of a chosen label.

    Examples
    --------
    >>> labels = np.array([[1, -1, 2], [3, 0, 5]])
    >>> blob_mask(labels, "2:3,5").astype(int)
    array([[0, 0, 1],
           [1, 0, 1]])
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ParameterTypeError(f"labels must be an integer array, got dtype {labels.dtype}")
    if isinstance(select, str):
        return _select_text(labels, select)
    if isinstance(select, (int, np.integer)) and not isinstance(select, bool):
        return labels == select
    chosen = np.asarray(list(select))
    if chosen.dtype.kind not in "iu":
        raise ParameterError(f"select must be {_SELECT_FORMS} or integers, got {select!r}")
    return np.isin(labels, chosen)


def _select_text(labels: np.ndarray, text: str) -> np.ndarray:
    word = text.strip().lower()
    if word == "sources":
        return labels > 0
    if word == "background":
        return labels < 0
    selected = np.zeros(labels.shape, dtype=bool)
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise ParameterError(f"select must be {_SELECT_FORMS}, got {text!r}")
        lo = int(match.group(1))
        hi = lo if match.group(2) is None else int(match.group(2))
        selected |= (labels >= lo) & (labels <= hi)
    return selected


@dataclass(frozen=True)
class BlobProperties:
    """Measurements of one labelled group (0-based ``(x, y)`` pixel positions).

    Attributes
    ----------
    label : int
    area : int
        Number of pixels.
    centroid : tuple of float
        Mean ``(x, y)`` of the pixels (unweighted).
    bbox : tuple of int
        ``(x_min, y_min, x_max, y_max)``, inclusive.
    peak : float or None
        Largest image value in the group (``None`` without an image).
    peak_xy : tuple of int or None
        ``(x, y)`` of the first pixel (raster order) holding the peak.
    flux : float or None
        Sum of the image values in the group.
    """

    label: int
    area: int
    centroid: tuple[float, float]
    bbox: tuple[int, int, int, int]
    peak: float | None = None
    peak_xy: tuple[int, int] | None = None
    flux: float | None = None


def blob_properties(labels: np.ndarray, image: np.ndarray | None = None) -> list[BlobProperties]:
    """Area, centroid, bounding box and (with an image) peak and flux of each label > 0.

    Parameters
    ----------
    labels : 2-D integer array
        A label map; labels ``<= 0`` (background, NaN) are ignored.
    image : 2-D numeric array, optional
        Values for ``peak`` and ``flux``, same shape as ``labels``.

    Returns
    -------
    list of BlobProperties
        One per label present, in increasing label order.

    Examples
    --------
    >>> labels = np.array([[0, 1, 1], [0, 1, 0], [2, 0, 0]])
    >>> props = blob_properties(labels, np.arange(9.0).reshape(3, 3))
    >>> props[0].area, props[0].centroid, props[0].bbox, props[0].peak, props[0].peak_xy
    (3, (1.3333333333333333, 0.3333333333333333), (1, 0, 2, 1), 4.0, (1, 1))
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or labels.ndim != 2:
        raise ParameterTypeError(f"labels must be a 2-D integer array, got {labels.dtype} of shape {labels.shape}")
    if image is not None:
        image = _numeric_2d(image, "image")
        if image.shape != labels.shape:
            raise ParameterError(f"image has shape {image.shape}, labels have shape {labels.shape}")
    positive = np.where(labels > 0, labels, 0)
    present = np.flatnonzero(np.bincount(positive.ravel())[1:]) + 1
    if present.size == 0:
        return []
    areas = np.bincount(positive.ravel())[present]
    centres = ndi.center_of_mass(positive > 0, positive, present)
    slices = ndi.find_objects(positive)
    if image is not None:
        peaks = ndi.maximum(image, positive, present)
        peak_positions = ndi.maximum_position(image, positive, present)
        fluxes = ndi.sum_labels(image, positive, present)
    result = []
    for i, label in enumerate(present):
        rows, cols = slices[label - 1]
        extra = {}
        if image is not None:
            y, x = peak_positions[i]
            extra = {"peak": float(peaks[i]), "peak_xy": (int(x), int(y)), "flux": float(fluxes[i])}
        result.append(
            BlobProperties(
                label=int(label),
                area=int(areas[i]),
                centroid=(float(centres[i][1]), float(centres[i][0])),
                bbox=(cols.start, rows.start, cols.stop - 1, rows.stop - 1),
                **extra,
            )
        )
    return result
