"""``HOT`` and ``DEAD`` pixels and ``BAD_COLUMN``s, from the images themselves, darks and flats.

Every test works on the significance ``z = (image - sky) / noise`` (sky and
noise from :mod:`.background`); the noise of a pixel includes the Poisson noise
of what lies above the sky (``(median of its neighbours - sky) / gain``, the gain
given or the effective ``sky / noise²``), so that the shot noise of a bright star
is not taken for a defect.

Hot pixels
    A pixel exceeds the median of its 8 neighbours by more than ``nsigma``, and
    it is *sharp*: its brightest neighbour rises above the sky by less than
    ``contrast`` (0.25) times its own excess plus 3 sigma. A star spreads its light
    over its neighbours (the nearest neighbour of a star's peak holds at least 30 %
    of it even for a 1.5-pixel FWHM); a hot pixel does not.

    In **one exposure** a hot pixel and a cosmic ray that hit a single pixel
    look the same; single-pixel spikes are called ``HOT`` and the pipeline keeps
    them out of ``CR``. With **several exposures** of the same detector (an
    image stack such as the five M13 frames), the tests run on the mean of the
    exposures' significance images, with the threshold scaled to the noise of
    that mean as measured on it (so that fixed-pattern noise shared by the
    exposures counts: it makes the mean of the five M13 frames 1.5 times
    noisier than independent noise would), and the pixel
    must also lie above the sky by more than 1 sigma in *every* exposure: a
    cosmic ray, present in one exposure only, never passes, and weaker hot
    pixels than in one exposure are found. Stars stay still in an undithered
    stack and are told apart by sharpness, as in one exposure.

    With **darks**, hot pixels are also the pixels of the median dark that exceed
    the median of the 5 × 5 pixels around them by ``nsigma`` times the dark's
    sigma-clipped noise.

Dead pixels
    A pixel lies below the median of its 8 neighbours by more than ``nsigma``
    (in the mean of several exposures, and below the sky in each, as above).
    With **flats**, dead pixels are also those whose median flat is below
    ``flat_low`` (0.5) times the median of the 9 × 9 pixels around it.

Bad columns
    The significance image (the mean over exposures; a normalised median flat
    adds its own detections) is cut into segments of ``segment`` rows. In each
    segment the level of every column, its lower quartile (stars lying along a
    column by chance lift its upper half, not its lower quartile; a bad column
    shifts every quantile), is compared with the median level of the 11 columns
    centred on it; a column segment is bad when the difference exceeds
    ``nsigma`` times the robust scatter of the differences of its segment. Runs of more than
    ``max_width`` adjacent bad columns are not columns (trails, galaxies) and are
    dropped. The extent of each bad column is then refined row by row: the
    column's excess over its neighbours, median-smoothed over enough rows to know
    it to a quarter of the segment's offset (at least 15), must keep the sign of
    that offset and at least half its size; gaps shorter than half the smoothing
    length are closed, and stretches shorter than 16 rows are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..core.presets import made_plane
from ..errors import ParameterError
from ..progress import interruptible
from .background import Background, estimate_background, nanmedian, nanquantile

__all__ = [
    "BAD_COLUMN",
    "DEAD",
    "HOT",
    "BadColumn",
    "BadColumns",
    "detect_bad_columns",
    "detect_dead_pixels",
    "detect_hot_pixels",
]

HOT = made_plane("HOT")
DEAD = made_plane("DEAD")
BAD_COLUMN = made_plane("BAD_COLUMN")

_NEIGHBOURS = [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)]
_COLUMN_WINDOW = 11  # columns in the reference median of a bad-column test
_SMOOTH_ROWS = 15  # rows in the median smoothing that refines a bad column's extent
_MIN_ROWS = 16  # shortest bad column segment kept
_COLUMN_QUANTILE = 0.25  # the level of a column segment: stars lift its upper half only


@dataclass(frozen=True)
class BadColumn:
    """One bad column segment: column ``x``, rows ``y0 <= y < y1``, mean offset in sigma (signed)."""

    x: int
    y0: int
    y1: int
    offset: float


@dataclass(frozen=True)
class BadColumns:
    """The bad-column mask and the segments it holds."""

    mask: np.ndarray
    columns: list[BadColumn]


def detect_hot_pixels(
    frames,
    *,
    darks=None,
    nsigma: float = 5.0,
    contrast: float = 0.25,
    gain: float | None = None,
    mask: np.ndarray | None = None,
    backgrounds: Sequence[Background] | None = None,
) -> np.ndarray:
    """Hot pixels of one exposure or of a stack of exposures (see the module docstring).

    Parameters
    ----------
    frames : 2-D array, 3-D array or sequence of 2-D arrays
        One exposure, or several exposures of the same detector.
    darks : 2-D array, 3-D array or sequence of 2-D arrays, optional
        Dark frames.
    nsigma : float
        Significance threshold (for one exposure).
    contrast : float
        Largest brightest-neighbour to excess ratio of a hot pixel.
    gain : float, optional
        e-/ADU, for the Poisson noise above the sky.
    mask : 2-D bool array, optional
        Pixels to leave out (they are neither tested nor used as neighbours).
    backgrounds : sequence of Background, optional
        One per exposure (estimated when not given).

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(100.0, 5.0, (64, 64)); img[10, 20] += 200.0
    >>> np.argwhere(detect_hot_pixels(img)).tolist()
    [[10, 20]]
    """
    stack = _stack(frames, "frames")
    z, neighbours, candidates = _candidates(stack, mask, backgrounds, gain, sign=1, nsigma=nsigma)
    if candidates.size:
        excess = z - nanmedian(neighbours, axis=1)
        brightest = np.max(np.where(np.isfinite(neighbours), neighbours, -np.inf), axis=1)
        sharp = brightest < contrast * z + 3.0
        candidates = candidates[(excess > nsigma) & sharp]
    out = _to_mask(candidates, stack.shape[1:])
    if darks is not None:
        out |= _hot_in_darks(_stack(darks, "darks"), nsigma, mask)
    return out


def detect_dead_pixels(
    frames,
    *,
    flats=None,
    nsigma: float = 5.0,
    flat_low: float = 0.5,
    gain: float | None = None,
    mask: np.ndarray | None = None,
    backgrounds: Sequence[Background] | None = None,
) -> np.ndarray:
    """Dead (cold) pixels of one exposure or a stack, and from flats (see the module docstring).

    Parameters are those of :func:`detect_hot_pixels`, with ``flats`` (flat
    fields) instead of darks and ``flat_low``: the largest ratio of a dead
    pixel's flat to the local median flat.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(100.0, 5.0, (64, 64)); img[30, 40] = 20.0
    >>> np.argwhere(detect_dead_pixels(img)).tolist()
    [[30, 40]]
    """
    stack = _stack(frames, "frames")
    z, neighbours, candidates = _candidates(stack, mask, backgrounds, gain, sign=-1, nsigma=nsigma)
    if candidates.size:
        candidates = candidates[nanmedian(neighbours, axis=1) - z > nsigma]
    out = _to_mask(candidates, stack.shape[1:])
    if flats is not None:
        out |= _dead_in_flats(_stack(flats, "flats"), flat_low, mask)
    return out


def detect_bad_columns(
    frames,
    *,
    flats=None,
    nsigma: float = 5.0,
    segment: int = 64,
    max_width: int = 2,
    mask: np.ndarray | None = None,
    backgrounds: Sequence[Background] | None = None,
) -> BadColumns:
    """Bad columns (whole or partial) of one exposure or a stack, and from flats (see the module docstring).

    Parameters
    ----------
    frames : 2-D array, 3-D array or sequence of 2-D arrays
    flats : 2-D array, 3-D array or sequence of 2-D arrays, optional
    nsigma : float
        Threshold on a column segment's difference from its neighbours, in
        units of the robust scatter of those differences.
    segment : int
        Rows per segment (>= 8).
    max_width : int
        Widest run of adjacent bad columns kept.
    mask : 2-D bool array, optional
        Pixels to leave out.
    backgrounds : sequence of Background, optional

    Returns
    -------
    BadColumns

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(100.0, 5.0, (256, 128)); img[100:, 40] += 20.0
    >>> found = detect_bad_columns(img)
    >>> [(c.x, c.y0, c.y1) for c in found.columns]
    [(40, 100, 256)]
    """
    if isinstance(segment, bool) or not isinstance(segment, (int, np.integer)) or segment < 8:
        raise ParameterError(f"segment must be an integer >= 8 rows, got {segment!r}")
    stack = _stack(frames, "frames")
    backgrounds = _backgrounds(stack, mask, backgrounds)
    z = np.mean([bg.significance(frame) for frame, bg in zip(stack, backgrounds)], axis=0)
    found = _columns_of(z, mask, nsigma, segment, max_width)
    if flats is not None:
        flat = _normalised_flat(_stack(flats, "flats"), mask)
        found += _columns_of(_flat_significance(flat, mask), mask, nsigma, segment, max_width)
    out = np.zeros(stack.shape[1:], dtype=bool)
    for column in found:
        out[column.y0 : column.y1, column.x] = True
    return BadColumns(out, sorted(found, key=lambda c: (c.x, c.y0)))


# -- pixels ---------------------------------------------------------------------------------------


def _stack(frames, name: str) -> np.ndarray:
    """A ``(n, ny, nx)`` float32 stack of one or more 2-D images."""
    array = np.asarray(frames, dtype=np.float32) if not isinstance(frames, np.ndarray) else frames.astype(np.float32)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[0] == 0:
        raise ParameterError(f"{name} must be a 2-D image or a stack of 2-D images, got shape {array.shape}")
    return array


def _backgrounds(stack, mask, backgrounds) -> list[Background]:
    if backgrounds is None:
        return [estimate_background(frame, mask=mask) for frame in stack]
    backgrounds = list(backgrounds)
    if len(backgrounds) != len(stack):
        raise ParameterError(f"got {len(backgrounds)} backgrounds for {len(stack)} exposures")
    return backgrounds


def _candidates(stack, mask, backgrounds, gain, *, sign: int, nsigma: float):
    """Significance ``(k,)`` at the candidates, their 8 neighbours' ``(k, 8)`` and their flat indices ``(k,)``.

    The significance is that of the mean of the exposures, in units of its own
    noise (measured: 1 for one exposure), with the Poisson noise of the
    neighbours' median above the sky added. Candidates deviate in direction
    ``sign`` by more than ``nsigma`` in the mean, and by more than 1 in every
    exposure when there are several.
    """
    backgrounds = _backgrounds(stack, mask, backgrounds)
    ny, nx = stack.shape[1:]
    excluded = np.zeros((ny, nx), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    everywhere = ~excluded
    total = np.zeros((ny, nx), dtype=np.float32)
    for frame, bg in zip(stack, backgrounds):
        z = bg.significance(frame)
        if len(stack) > 1:
            with np.errstate(invalid="ignore"):
                everywhere &= (sign * z) > 1.0
        total += z
    mean = total / len(stack)
    mean[excluded | ~np.isfinite(mean)] = np.nan
    scale = _robust_std(mean) if len(stack) > 1 else 1.0
    mean /= scale
    with np.errstate(invalid="ignore"):
        candidates = np.flatnonzero(everywhere & ((sign * mean) > nsigma))
    if candidates.size == 0:
        return np.empty(0), np.empty((0, 8)), candidates
    ys, xs = np.divmod(candidates, nx)
    padded = np.pad(mean, 1, mode="constant", constant_values=np.nan)
    neighbours = np.stack([padded[ys + 1 + dy, xs + 1 + dx] for dy, dx in _NEIGHBOURS], axis=1)
    local = _local_noise_factor(neighbours * scale, backgrounds[0], ys, xs, gain, len(stack))
    return mean[ys, xs] / local, neighbours / local[:, None], candidates


def _robust_std(values: np.ndarray) -> float:
    """MAD-based standard deviation of the finite values (sampled: every 4th)."""
    finite = values[np.isfinite(values)][::4]
    if finite.size == 0:
        return 1.0
    spread = 1.4826 * float(np.median(np.abs(finite - np.median(finite))))
    return spread if spread > 0 else 1.0


def _local_noise_factor(neighbours, bg, ys, xs, gain, n) -> np.ndarray:
    """``sqrt(1 + source variance / sky variance)`` of a mean of ``n`` exposures, at the candidates.

    The source is the neighbours' median above the sky (``neighbours`` in units
    of one exposure's sky noise); its Poisson variance, with the gain given or
    the effective ``sky / noise²``, is divided by ``n`` for the mean.
    """
    noise = bg.noise[ys, xs].astype(np.float64)
    sky = float(np.median(bg.level))
    gain = gain if gain is not None else (sky / bg.median_noise**2 if sky > 0 else None)
    if gain is None:
        return np.ones(len(ys))
    above = np.maximum(np.nan_to_num(nanmedian(neighbours, axis=1)), 0.0) * noise
    return np.sqrt(1.0 + above / gain / noise**2 / n)


def _to_mask(indices: np.ndarray, shape) -> np.ndarray:
    out = np.zeros(shape, dtype=bool)
    out.flat[indices] = True
    return out


def _hot_in_darks(darks: np.ndarray, nsigma: float, mask) -> np.ndarray:
    from astropy.stats import sigma_clipped_stats

    master = np.median(darks, axis=0)
    residual = master - ndi.median_filter(master, size=5, mode="nearest")
    _, median, std = sigma_clipped_stats(residual, mask=mask, sigma=3.0, maxiters=5)
    return residual - median > nsigma * max(std, np.finfo(np.float32).tiny)


def _normalised_flat(flats: np.ndarray, mask) -> np.ndarray:
    good = np.ones(flats.shape[1:], dtype=bool) if mask is None else ~np.asarray(mask, dtype=bool)
    scaled = [flat / np.median(flat[good & np.isfinite(flat)]) for flat in flats]
    return np.median(scaled, axis=0)


def _dead_in_flats(flats: np.ndarray, flat_low: float, mask) -> np.ndarray:
    flat = _normalised_flat(flats, mask)
    local = interruptible(ndi.median_filter, flat, size=9, mode="nearest")
    with np.errstate(invalid="ignore", divide="ignore"):
        return flat < flat_low * local


def _flat_significance(flat: np.ndarray, mask) -> np.ndarray:
    from astropy.stats import sigma_clipped_stats

    _, median, std = sigma_clipped_stats(flat, mask=mask, sigma=3.0, maxiters=5)
    return (flat - median) / max(std, np.finfo(np.float32).tiny)


# -- columns --------------------------------------------------------------------------------------


def _columns_of(z: np.ndarray, mask, nsigma: float, segment: int, max_width: int) -> list[BadColumn]:
    """Bad column segments of a significance image (see the module docstring)."""
    z = np.array(z, dtype=np.float32)
    if mask is not None:
        z[np.asarray(mask, dtype=bool)] = np.nan
    ny, nx = z.shape
    if nx < _COLUMN_WINDOW:
        return []
    segment = min(segment, ny)
    nseg = -(-ny // segment)
    padded = np.full((nseg * segment, nx), np.nan, dtype=np.float32)
    padded[:ny] = z
    level = nanquantile(padded.reshape(nseg, segment, nx), _COLUMN_QUANTILE, axis=1)  # (nseg, nx)
    difference = level - _running_median(level, _COLUMN_WINDOW)
    if np.isfinite(difference).sum() < 10:
        return []
    centre = nanmedian(difference, axis=1)[:, None]
    scatter = 1.4826 * nanmedian(np.abs(difference - centre), axis=1)[:, None]  # per segment: the last may be short
    with np.errstate(invalid="ignore"):
        flagged = np.abs(difference) > nsigma * np.maximum(np.nan_to_num(scatter, nan=np.inf), 1e-6)
    flagged &= ~_wide_runs(flagged, max_width)
    found = []
    for x in np.flatnonzero(flagged.any(axis=0)):
        found += _refine(z, x, np.flatnonzero(flagged[:, x]), difference[:, x], segment)
    return found


def _running_median(values: np.ndarray, width: int) -> np.ndarray:
    """Median over ``width`` columns centred on each column (NaN ignored; edges shrink the window)."""
    half = width // 2
    padded = np.pad(values, ((0, 0), (half, half)), mode="constant", constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, width, axis=1)
    return nanmedian(windows, axis=-1)


def _wide_runs(flagged: np.ndarray, max_width: int) -> np.ndarray:
    """Flags belonging to a horizontal run of more than ``max_width`` adjacent flagged columns."""
    labels, count = ndi.label(flagged, structure=[[0, 0, 0], [1, 1, 1], [0, 0, 0]])
    if count == 0:
        return np.zeros_like(flagged)
    widths = ndi.sum(np.ones_like(labels), labels, index=np.arange(1, count + 1))
    wide = np.concatenate([[False], widths > max_width])
    return wide[labels]


def _refine(z: np.ndarray, x: int, segments: np.ndarray, difference: np.ndarray, segment: int) -> list[BadColumn]:
    """Row extents of column ``x`` around its flagged segments, from its row-by-row excess over its neighbours."""
    ny, nx = z.shape
    half = _COLUMN_WINDOW // 2
    lo, hi = max(0, x - half), min(nx, x + half + 1)
    neighbours = np.delete(z[:, lo:hi], x - lo, axis=1)
    excess = z[:, x] - nanmedian(neighbours, axis=1)
    excess = np.where(np.isfinite(excess), excess, 0.0)
    found = []
    for sign in (1, -1):
        chosen = segments[np.sign(difference[segments]) == sign]
        if chosen.size == 0:
            continue
        size = float(np.median(np.abs(difference[chosen])))
        width = _smoothing_rows(size, segment)
        smooth = interruptible(ndi.median_filter, excess, size=width, mode="reflect")
        rows, _ = ndi.label(_close_gaps(sign * smooth >= 0.5 * size, width // 2))
        seeds = np.zeros(ny, dtype=bool)
        for s in chosen:
            seeds[s * segment : min((s + 1) * segment, ny)] = True
        for label in np.unique(rows[seeds & (rows > 0)]):
            ys = np.flatnonzero(rows == label)
            if len(ys) < _MIN_ROWS:
                continue
            found.append(BadColumn(int(x), int(ys[0]), int(ys[-1]) + 1, float(np.mean(excess[ys]))))
    return found


def _close_gaps(rows: np.ndarray, gap: int) -> np.ndarray:
    """Fill runs of clear rows shorter than ``gap`` between set rows (the ends repeat outwards)."""
    pad = gap + 1
    padded = np.pad(rows, pad, mode="edge")
    closed = ndi.binary_closing(padded, structure=np.ones(gap | 1, dtype=bool))
    return closed[pad:-pad]


def _smoothing_rows(size: float, segment: int) -> int:
    """Odd number of rows over which the median excess is known to a quarter of ``size``.

    The median of ``w`` unit-noise values scatters by about ``1.25 / sqrt(w)``
    (neighbour median included: 1.3); ``w = (5.2 / size)²``, at least
    :data:`_SMOOTH_ROWS` and at most four segments.
    """
    rows = int(np.ceil((5.2 / max(size, 1e-3)) ** 2))
    return int(np.clip(rows, _SMOOTH_ROWS, 4 * segment)) | 1
