"""Pixel selection by value: CIAO ``dmimgthresh`` cuts, sigma-clipped cuts and hysteresis.

Arrays are ``(row, col) = (y, x)``. The boolean results here are *selections*:
``True`` marks the pixels that pass the test (inside the cut, deviating from
the background, connected to a strong pixel). A NaN pixel never passes any test,
so ``~threshold_mask(...)`` is a mask in the astropy convention (``True`` =
masked) with NaN pixels masked.

:func:`thresh` is ``dmimgthresh`` itself: it returns a new image in which the
pixels outside the cut are replaced by a value.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from astropy.stats import sigma_clipped_stats
from scipy import ndimage as ndi

from ..errors import ParameterError, ParameterTypeError
from ..progress import interruptible

__all__ = [
    "Cut",
    "hysteresis",
    "parse_cut",
    "sigma_clip_mask",
    "thresh",
    "threshold_mask",
]

_NUMBER = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(%?)\s*$")
_CUT_FORMS = "a number ('10'), a percent of the maximum ('10%') or a range 'lo:hi' (':hi', 'lo:', '5:5')"


@dataclass(frozen=True)
class Cut:
    """A ``dmimgthresh`` cut: pixels with ``lo <= v <= hi`` are kept, the others replaced.

    Parameters
    ----------
    lo, hi : float or None
        Bounds; ``None`` is an open end. A single number (``cut=10``) is ``lo``.
    lo_percent, hi_percent : bool
        The bound is a percent of the maximum finite value of the compared image.
    """

    lo: float | None = None
    hi: float | None = None
    lo_percent: bool = False
    hi_percent: bool = False

    def bounds(self, compared: np.ndarray) -> tuple[float, float]:
        """Absolute ``(lo, hi)`` for the image the cut is compared with.

        Percents are of the maximum finite pixel; for an integer image both
        bounds are truncated toward zero, as ``dmimgthresh`` truncates its cut.
        Open ends are ``-inf`` / ``inf``.

        Examples
        --------
        >>> Cut(10.0, None, lo_percent=True).bounds(np.array([[0.0, 50.0]]))
        (5.0, inf)
        >>> parse_cut("2.7:30%").bounds(np.array([[0, 20]]))
        (2, 6)
        """
        peak = _finite_max(compared) if (self.lo_percent or self.hi_percent) else math.nan
        lo = -math.inf if self.lo is None else self.lo * peak / 100 if self.lo_percent else self.lo
        hi = math.inf if self.hi is None else self.hi * peak / 100 if self.hi_percent else self.hi
        if compared.dtype.kind in "iu":
            lo = lo if math.isinf(lo) else math.trunc(lo)
            hi = hi if math.isinf(hi) else math.trunc(hi)
        if lo > hi:
            raise ParameterError(f"cut {self} gives lo {lo} > hi {hi}: nothing would be kept")
        return lo, hi

    def __str__(self) -> str:
        def side(value, percent):
            return "" if value is None else f"{value:g}%" if percent else f"{value:g}"

        if self.hi is None and self.lo is not None:
            return side(self.lo, self.lo_percent)
        return f"{side(self.lo, self.lo_percent)}:{side(self.hi, self.hi_percent)}"


def parse_cut(text: str | float | Cut, *, name: str = "cut") -> Cut:
    """Read a CIAO ``dmimgthresh`` cut.

    Parameters
    ----------
    text : str, float or Cut
        ``"10"`` or ``10`` (keep ``>= 10``), ``"10%"`` (keep ``>=`` 10 % of the
        maximum), ``"lo:hi"`` (keep ``lo <= v <= hi``), ``":hi"``, ``"lo:"``,
        ``":80%"``, ``"5:5"`` (keep exactly 5). Each bound may carry ``%``.
    name : str
        The parameter name used in error messages.

    Returns
    -------
    Cut

    Raises
    ------
    ValueError
        For text that is none of these forms, or a bound that is not finite.

    Examples
    --------
    >>> parse_cut(":80%")
    Cut(lo=None, hi=80.0, lo_percent=False, hi_percent=True)
    >>> parse_cut("5:5")
    Cut(lo=5.0, hi=5.0, lo_percent=False, hi_percent=False)
    """
    if isinstance(text, Cut):
        return text
    if isinstance(text, (int, float, np.integer, np.floating)) and not isinstance(text, bool):
        if not math.isfinite(text):
            raise ParameterError(f"{name} must be finite, got {text!r}")
        return Cut(float(text))
    if not isinstance(text, str):
        raise ParameterTypeError(f"{name} must be a string or a number, got {type(text).__name__}")
    parts = text.split(":")
    if len(parts) > 2 or not any(p.strip() for p in parts):
        raise ParameterError(f"{name} must be {_CUT_FORMS}, got {text!r}")
    bounds = [_parse_bound(p, text, name) for p in parts]
    lo, lo_percent = bounds[0]
    hi, hi_percent = bounds[1] if len(bounds) == 2 else (None, False)
    return Cut(lo, hi, lo_percent, hi_percent)


def _parse_bound(part: str, text: str, name: str) -> tuple[float | None, bool]:
    if not part.strip():
        return None, False
    match = _NUMBER.match(part)
    if match is None:
        raise ParameterError(f"{name} must be {_CUT_FORMS}, got {text!r}")
    return float(match.group(1)), match.group(2) == "%"


def threshold_mask(image: np.ndarray, cut: str | float | Cut, *, against: np.ndarray | None = None) -> np.ndarray:
    """Pixels that a ``dmimgthresh`` cut keeps: ``True`` where ``lo <= v <= hi``.

    Parameters
    ----------
    image : 2-D numeric array
        The image; the cut is compared with it unless ``against`` is given.
    cut : str, float or Cut
        See :func:`parse_cut`.
    against : 2-D numeric array, optional
        The image the cut is compared with instead (CIAO's ``expfile``), same shape.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` = kept (selected). NaN pixels are ``False``; ``~result`` is
        the astropy-style mask of the replaced pixels plus the NaN pixels.

    Examples
    --------
    >>> threshold_mask(np.array([[1.0, 5.0, np.nan, 9.0]]), "2:8").astype(int)
    array([[0, 1, 0, 0]])
    """
    compared = _compared(image, against)
    lo, hi = parse_cut(cut).bounds(compared)
    return (compared >= lo) & (compared <= hi)


def thresh(
    image: np.ndarray,
    cut: str | float | Cut,
    *,
    value: float = 0,
    against: np.ndarray | None = None,
) -> np.ndarray:
    """CIAO ``dmimgthresh``: replace the pixels outside a cut by ``value``.

    Parameters
    ----------
    image : 2-D numeric array
        The image to threshold (not modified).
    cut : str, float or Cut
        See :func:`parse_cut`. Pixels strictly below ``lo`` or strictly above
        ``hi`` of the compared image are replaced.
    value : float
        Replacement value (default 0); NaN is allowed (CIAO's ``INDEF``).
    against : 2-D numeric array, optional
        The image the cut is compared with (CIAO's ``expfile``, e.g. an exposure
        map), of the same shape; default the image itself. ``%`` is of its
        maximum finite pixel, and its integer type truncates the cut.

    Returns
    -------
    numpy.ndarray
        A new image of the input's dtype, or float64 when an integer image
        cannot hold ``value`` (a fraction, NaN or out of range). A pixel whose
        compared value is NaN is never replaced, so NaN pixels stay NaN.

    Examples
    --------
    Keep the exposed footprint, then make it 0/1 (the CIAO recipe):

    >>> exp = np.array([[0.0, 5.0, 100.0, np.nan]])
    >>> step1 = thresh(exp, "10%")
    >>> step1
    array([[  0.,   0., 100.,  nan]])
    >>> thresh(step1, ":10%", value=1)
    array([[ 0.,  0.,  1., nan]])
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise ParameterTypeError(f"value must be a number, got {value!r}")
    image = _numeric_2d(image, "image")
    compared = _compared(image, against)
    replace = ~threshold_mask(compared, cut)
    if compared.dtype.kind == "f":
        replace &= ~np.isnan(compared)
    out = image.astype(_output_dtype(image.dtype, value), copy=True)
    out[replace] = value
    return out


def sigma_clip_mask(
    image: np.ndarray,
    nsigma: float = 3.0,
    *,
    maxiters: int | None = 5,
    above: bool = True,
    below: bool = False,
    box: int | None = None,
) -> np.ndarray:
    """Pixels deviating more than ``nsigma`` standard deviations from the sigma-clipped background.

    The background level (median) and width (standard deviation) come from
    :func:`astropy.stats.sigma_clipped_stats` with ``sigma=nsigma`` over the
    finite pixels. A pixel is selected when ``v - median > nsigma * std``
    (``above``) or ``v - median < -nsigma * std`` (``below``): strict, like
    astropy's clipping.

    Parameters
    ----------
    image : 2-D numeric array
    nsigma : float
        Clipping and selection threshold in standard deviations.
    maxiters : int or None
        Clipping iterations (``None``: until no pixel changes).
    above, below : bool
        Select pixels above and/or below the background.
    box : int, optional
        Use a local background: subtract the median in a ``box`` x ``box``
        window (``scipy.ndimage.median_filter``, edges repeat the nearest pixel,
        NaN pixels counted as the global median) before the statistics.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` = deviating (selected); NaN pixels are ``False``.

    Examples
    --------
    >>> img = np.array([[9.0, 11.0] * 5] * 4); img[1, 3] = 40.0; img[2, 2] = -20.0
    >>> np.argwhere(sigma_clip_mask(img)).tolist()
    [[1, 3]]
    >>> np.argwhere(sigma_clip_mask(img, below=True)).tolist()
    [[1, 3], [2, 2]]
    """
    if not (isinstance(nsigma, (int, float, np.number)) and nsigma > 0):
        raise ParameterError(f"nsigma must be a positive number, got {nsigma!r}")
    data = _numeric_2d(image, "image").astype(np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        raise ParameterError("image has no finite pixel to estimate the background from")
    if box is not None:
        data = data - _local_background(data, finite, box)
    _, median, std = sigma_clipped_stats(data[finite], sigma=nsigma, maxiters=maxiters)
    deviation = data - median
    selected = np.zeros(data.shape, dtype=bool)
    if above:
        selected |= deviation > nsigma * std
    if below:
        selected |= deviation < -nsigma * std
    return selected


def _local_background(data: np.ndarray, finite: np.ndarray, box: int) -> np.ndarray:
    if isinstance(box, bool) or not isinstance(box, (int, np.integer)) or box < 3:
        raise ParameterError(f"box must be an integer >= 3 (pixels), got {box!r}")
    filled = np.where(finite, data, np.median(data[finite]))
    return interruptible(ndi.median_filter, filled, size=int(box), mode="nearest")  # Ctrl-C noticed


def hysteresis(image: np.ndarray, low: float, high: float, *, connectivity: int = 4) -> np.ndarray:
    """Hysteresis threshold, as ``skimage.filters.apply_hysteresis_threshold``.

    Pixels ``> low`` are grouped into connected components; a component is kept
    when it holds a pixel ``> high``. ``low`` is lowered to ``high`` when
    larger (``low = min(low, high)``).

    Parameters
    ----------
    image : 2-D numeric array
    low, high : float
        Thresholds (strict comparisons).
    connectivity : {4, 8}
        4: pixels sharing an edge are connected (skimage's and gammapy's
        default); 8: sharing an edge or a corner.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` = selected. NaN pixels are never selected.

    Examples
    --------
    >>> img = np.array([[0, 3, 3, 0, 3], [0, 0, 6, 0, 3]])
    >>> hysteresis(img, 2, 5).astype(int)
    array([[0, 1, 1, 0, 0],
           [0, 0, 1, 0, 0]])
    """
    data = _numeric_2d(image, "image")
    for label, threshold in (("low", low), ("high", high)):
        if not isinstance(threshold, (int, float, np.number)) or math.isnan(threshold):
            raise ParameterError(f"{label} must be a number, got {threshold!r}")
    low = min(low, high)
    labels, count = ndi.label(data > low, structure=_structure(connectivity))
    keep = np.zeros(count + 1, dtype=bool)
    keep[labels[data > high]] = True
    keep[0] = False
    return keep[labels]


def _structure(connectivity: int) -> np.ndarray:
    """The 3x3 structuring element of 4- or 8-connectivity."""
    if connectivity not in (4, 8) or isinstance(connectivity, bool):
        raise ParameterError(f"connectivity must be 4 or 8, got {connectivity!r}")
    return ndi.generate_binary_structure(2, 1 if connectivity == 4 else 2)


def _compared(image: np.ndarray, against: np.ndarray | None) -> np.ndarray:
    """The image a cut is compared with: ``against`` (same shape as ``image``) or ``image``."""
    image = _numeric_2d(image, "image")
    if against is None:
        return image
    against = _numeric_2d(against, "against")
    if against.shape != image.shape:
        raise ParameterError(f"against has shape {against.shape}, image has shape {image.shape}")
    return against


def _numeric_2d(array: np.ndarray, name: str) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind not in "iuf":
        raise ParameterTypeError(f"{name} must be an integer or float image, got dtype {array.dtype}")
    if array.ndim != 2:
        raise ParameterError(f"{name} must be 2-D, got shape {array.shape}")
    return array


def _finite_max(compared: np.ndarray) -> float:
    finite = compared[np.isfinite(compared)] if compared.dtype.kind == "f" else compared
    if finite.size == 0:
        raise ParameterError("a percent cut needs at least one finite pixel in the compared image")
    return float(finite.max())


def _output_dtype(dtype: np.dtype, value: float) -> np.dtype:
    """The image's dtype, or float64 when an integer image cannot hold ``value`` exactly."""
    value = float(value)
    if dtype.kind == "f":
        return dtype
    info = np.iinfo(dtype)
    if value.is_integer() and info.min <= value <= info.max:
        return dtype
    return np.dtype(np.float64)
