"""Significance maps and masks from counts, as gammapy's ``ExcessMapEstimator`` and mask tutorial.

Counts and background are summed in a top-hat disk of the correlation radius
(pixel offsets with ``dx² + dy² <= r²``, zero outside the map as gammapy's
``mode="same"`` convolution); the sums give a significance per pixel:

* known background (Cash): ``sqrt_ts = sign(n - b) · sqrt(2 [n ln(n / b) - (n - b)])``;
* ON/OFF counts with exposure ratio ``alpha``: Li & Ma (1983) eq. 17, signed.

:func:`significance_mask` then masks the pixels above (or below) a level,
optionally grown by hysteresis, with NaN pixels (outside the safe mask)
left usable as the gammapy tutorial recommends, or masked.
"""

from __future__ import annotations

import math

import astropy.units as u
import numpy as np
from astropy.wcs import WCS
from scipy.special import xlogy

from ..core.units import mean_pixel_scale, parse_size
from ..errors import ParameterError, ParameterTypeError
from ..ops.threshold import hysteresis

__all__ = [
    "NAN_POLICIES",
    "cash_significance",
    "li_ma_significance",
    "significance_map",
    "significance_mask",
    "tophat_sum",
]

NAN_POLICIES = ("keep", "mask")
# Relative allowance on the kernel radius: offsets exactly on the circle are inside despite round-off.
RADIUS_TOLERANCE = 1e-9


def li_ma_significance(n_on, n_off, alpha) -> np.ndarray:
    """Li & Ma (1983) eq. 17 significance, with the sign of the excess ``n_on - alpha·n_off``.

    ``S = sqrt(2) · sqrt(n_on ln[(1+α)/α · n_on/(n_on+n_off)] + n_off ln[(1+α) · n_off/(n_on+n_off)])``;
    terms with zero counts are zero (``0 · ln 0 = 0``). Equal to gammapy's
    ``WStatCountsStatistic(...).sqrt_ts`` without a signal model.

    Parameters
    ----------
    n_on, n_off : array_like
        ON and OFF counts (non-negative).
    alpha : array_like
        ON/OFF exposure ratio (positive).

    Returns
    -------
    numpy.ndarray
        Significance (NaN where an input is NaN; 0 where both counts are 0).

    Examples
    --------
    >>> round(float(li_ma_significance(30, 100, 0.1)), 6)
    4.74159
    """
    n_on, n_off, alpha = (np.asarray(a, dtype=float) for a in (n_on, n_off, alpha))
    if np.any(n_on < 0) or np.any(n_off < 0) or np.any(alpha <= 0):
        raise ParameterError("li_ma_significance needs n_on >= 0, n_off >= 0 and alpha > 0")
    total = np.where(n_on + n_off > 0, n_on + n_off, 1.0)
    on = xlogy(n_on, (1 + alpha) / alpha * n_on / total)
    off = xlogy(n_off, (1 + alpha) * n_off / total)
    ts = 2 * np.clip(on + off, 0, None)
    return np.sign(n_on - alpha * n_off) * np.sqrt(ts)


def cash_significance(counts, background) -> np.ndarray:
    """Significance of counts over a known background (Cash statistic), as gammapy's ``sqrt_ts``.

    ``sqrt_ts = sign(n - b) · sqrt(2 [n ln(n / b) - (n - b)])``; ``n = 0`` gives
    ``-sqrt(2b)``. A zero background gives 0 for ``n = 0`` and ``+inf`` for
    ``n > 0`` (gammapy: a large finite value, from its 1e-25 floor on ``b``).

    Parameters
    ----------
    counts : array_like
        Observed counts ``n`` (non-negative).
    background : array_like
        Expected background ``b`` (non-negative).

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> round(float(cash_significance(162, 81)), 6)
    7.910732
    """
    n, b = np.asarray(counts, dtype=float), np.asarray(background, dtype=float)
    if np.any(n < 0) or np.any(b < 0):
        raise ParameterError("cash_significance needs counts >= 0 and background >= 0")
    with np.errstate(divide="ignore", invalid="ignore"):
        ts = 2 * (xlogy(n, n / b) - (n - b))
    ts = np.where((n == 0) & (b == 0), 0.0, ts)
    return np.sign(n - b) * np.sqrt(np.clip(ts, 0, None))


def tophat_sum(image, radius: float) -> np.ndarray:
    """Sum of ``image`` over the disk ``dx² + dy² <= radius²`` around each pixel (zero outside the map).

    The same as ``scipy.ndimage.correlate(image, disk, mode="constant")`` with
    the kernel of ``astropy.convolution.Tophat2DKernel(radius)`` normalised to a
    peak of 1 (``skimage.morphology.disk`` for integer radii), computed from
    row-wise cumulative sums: exact for integer images, ``2r + 1`` operations per
    pixel whatever the disk area.

    Parameters
    ----------
    image : 2-D array_like
        Finite values.
    radius : float
        Disk radius in pixels (non-negative).

    Returns
    -------
    numpy.ndarray
        ``int64`` for integer or boolean images, else ``float64``.

    Examples
    --------
    >>> int(tophat_sum(np.ones((20, 20)), 5)[10, 10])
    81
    """
    data = np.asarray(image)
    if data.ndim != 2:
        raise ParameterError(f"image must be 2-D, got shape {data.shape}")
    if not (isinstance(radius, (int, float, np.number)) and math.isfinite(radius) and radius >= 0):
        raise ParameterError(f"radius must be a finite non-negative number of pixels, got {radius!r}")
    integer = data.dtype.kind in "biu"
    data = data.astype(np.int64 if integer else np.float64)
    if not integer and not np.all(np.isfinite(data)):
        raise ParameterError("image has NaN or infinite values; mask them first")
    reach = math.floor(min(radius * (1 + RADIUS_TOLERANCE), 2.0**62))
    ny, nx = data.shape
    ry, rx = min(reach, ny), min(reach, nx)  # offsets beyond the map add zeros: the same sums, bounded memory
    padded = np.zeros((ny + 2 * ry, nx + 2 * rx + 1), dtype=data.dtype)
    np.cumsum(data, axis=1, out=padded[ry : ry + ny, rx + 1 : rx + 1 + nx])
    padded[ry : ry + ny, rx + 1 + nx :] = padded[ry : ry + ny, rx + nx : rx + nx + 1]
    out = np.zeros((ny, nx), dtype=data.dtype)
    limit = radius * radius * (1 + 2 * RADIUS_TOLERANCE)
    for dy in range(-ry, ry + 1):
        half = min(math.floor(math.sqrt(max(limit - dy * dy, 0.0))), rx)
        rows = padded[ry + dy : ry + dy + ny]
        # columns x - half .. x + half of the image: cumulative sum at x + half minus that at x - half - 1
        out += rows[:, rx + half + 1 : rx + half + 1 + nx] - rows[:, rx - half : rx - half + nx]
    return out


def _radius_pixels(radius, wcs: WCS | None) -> float:
    """Correlation radius in pixels: a number of pixels, or an angle over the mean pixel scale (gammapy)."""
    size = parse_size(radius, "radius")
    if not isinstance(size, u.Quantity):
        return float(size)
    return size.to_value(u.deg) / mean_pixel_scale(wcs, "an angular radius (wcs=...)")


def significance_map(counts, background, radius, *, wcs: WCS | None = None, alpha=None, mask_safe=None) -> np.ndarray:
    """Correlated significance of ``counts`` against ``background``, as gammapy's ``ExcessMapEstimator``.

    Parameters
    ----------
    counts : 2-D array_like
        Counts map.
    background : 2-D array_like
        Without ``alpha``: the expected background (known; Cash significance).
        With ``alpha``: the OFF counts (Li & Ma significance).
    radius : float, str or Quantity
        Correlation radius: pixels (a number or ``"5pix"``) or an angle
        (``"0.4deg"``, converted with the mean pixel scale of ``wcs``).
    wcs : astropy.wcs.WCS, optional
        Celestial WCS, needed for an angular radius.
    alpha : float or 2-D array_like, optional
        ON/OFF exposure ratio. A map is averaged in the disk weighted by the OFF
        counts (``sum(alpha·n_off) / sum(n_off)``, gammapy's ``correlate_off``).
    mask_safe : 2-D array_like of bool, optional
        ``True`` = pixel usable. Other pixels (and those where an input is not
        finite) add nothing to the sums and get NaN.

    Returns
    -------
    numpy.ndarray of float64
        Signed significance (gammapy's ``sqrt_ts``) per pixel.

    Examples
    --------
    >>> counts, background = np.full((20, 20), 2), np.ones((20, 20))
    >>> round(float(significance_map(counts, background, 5)[10, 10]), 6)
    7.910732
    """
    counts = _map(counts, "counts")
    background = _map(background, "background", counts.shape)
    valid = np.isfinite(counts) & np.isfinite(background)
    if mask_safe is not None:
        valid &= _map(mask_safe, "mask_safe", counts.shape).astype(bool)
    if alpha is not None:
        alpha = np.broadcast_to(np.asarray(alpha, dtype=float), counts.shape)
        valid &= np.isfinite(alpha)
        if np.any(alpha[valid] <= 0):
            raise ParameterError("alpha must be positive")
    r = _radius_pixels(radius, wcs)
    n_on = tophat_sum(np.where(valid, counts, 0.0), r)
    b = tophat_sum(np.where(valid, background, 0.0), r)
    if alpha is None:
        significance = cash_significance(n_on, b)
    else:
        significance = li_ma_significance(n_on, b, _kernel_alpha(alpha, background, valid, b, r))
    significance[~valid] = np.nan
    return significance


def _kernel_alpha(alpha: np.ndarray, n_off: np.ndarray, valid: np.ndarray, off_sum: np.ndarray, r: float):
    """alpha in each disk: OFF-count weighted mean (gammapy), or the plain mean where the disk has no OFF counts."""
    if np.all(alpha == alpha.flat[0]):
        return alpha
    weighted = tophat_sum(np.where(valid, alpha * n_off, 0.0), r)
    plain = tophat_sum(np.where(valid, alpha, 0.0), r) / np.maximum(tophat_sum(valid, r), 1)
    return np.where(off_sum > 0, weighted / np.where(off_sum > 0, off_sum, 1.0), np.where(plain > 0, plain, 1.0))


def _map(array, name: str, shape: tuple[int, int] | None = None) -> np.ndarray:
    data = np.asarray(array)
    if data.ndim != 2 or (shape is not None and data.shape != shape):
        expected = "2-D" if shape is None else f"shape {shape}"
        raise ParameterError(f"{name} must be {expected}, got shape {data.shape}")
    if data.dtype.kind not in "biuf":
        raise ParameterTypeError(f"{name} must be numeric, got dtype {data.dtype}")
    return data.astype(bool) if data.dtype == bool else data.astype(np.float64)


def significance_mask(
    significance,
    *,
    above: float | None = None,
    below: float | None = None,
    low: float | None = None,
    nan: str = "keep",
    connectivity: int = 4,
) -> np.ndarray:
    """Mask the pixels whose significance is above (or below) a level.

    Parameters
    ----------
    significance : 2-D array_like
        A significance map, e.g. from :func:`significance_map` (NaN = unknown).
    above : float, optional
        Mask pixels with ``significance > above``.
    below : float, optional
        Mask pixels with ``significance < below`` (e.g. deficits).
    low : float, optional
        Hysteresis with ``above`` as the high level: also mask pixels ``> low``
        connected to a pixel ``> above`` (``skimage.filters.apply_hysteresis_threshold``).
    nan : {'keep', 'mask'}
        NaN pixels stay usable (``'keep'``, what the gammapy tutorial does after
        ``sqrt_ts < 5``) or are masked (``'mask'``).
    connectivity : {4, 8}
        Neighbours that connect pixels in the hysteresis.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` = masked. ``~mask`` is gammapy's exclusion-mask polarity.

    Examples
    --------
    >>> s = np.array([[6.0, 4.0, 1.0], [np.nan, 2.0, 4.0]])
    >>> significance_mask(s, above=5).astype(int)
    array([[1, 0, 0],
           [0, 0, 0]])
    >>> significance_mask(s, above=5, low=3, nan="mask").astype(int)
    array([[1, 1, 0],
           [1, 0, 0]])
    """
    data = _map(significance, "significance")
    if above is None and below is None:
        raise ParameterError("give a level: above and/or below")
    if nan not in NAN_POLICIES:
        raise ParameterError(f"nan must be one of {NAN_POLICIES}, got {nan!r}")
    masked = np.zeros(data.shape, dtype=bool)
    if low is not None:
        if above is None:
            raise ParameterError("hysteresis (low) needs the high level 'above'")
        masked |= hysteresis(data, low, above, connectivity=connectivity)
    elif above is not None:
        masked |= data > above
    if below is not None:
        masked |= data < below
    if nan == "mask":
        masked |= np.isnan(data)
    return masked
