"""The Hough transform of the trail finder (:mod:`astromask.detect.trails`): accumulation over
(rho, theta) on binned candidates, the next strongest line, its coverage and its runs."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

_SEGMENT = 8  # blocks per coverage segment
_GAP = 1  # segments a covered run may bridge
_COVERED = 0.25  # fraction of candidate blocks that makes a segment covered
_TRIES = 30  # cells tried per trail before giving up
_SIDE = (-5.0, -4.0, 4.0, 5.0)  # blocks: offsets of the side bands a covered segment must outshine


# -- Hough transform ------------------------------------------------------------------------------


def _angles(shape: tuple[int, int]) -> np.ndarray:
    """Angles (radians, [0, pi)) whose step moves the far end of the longest line by half a block."""
    diagonal = float(np.hypot(*shape))
    count = int(np.clip(np.ceil(np.pi * diagonal), 180, 3600))
    return np.arange(count) * (np.pi / count)


@lru_cache(maxsize=8)
def chord_table(shape: tuple[int, int]) -> np.ndarray:
    """:func:`_chord_lengths` of every Hough cell of an image of ``shape`` blocks, computed once per
    shape (a stack of frames of one camera shares it); read-only."""
    table = _chord_lengths(shape, _angles(shape), _rho_bins(shape))
    table.setflags(write=False)
    return table


def _chord_lengths(shape, thetas, rhos) -> np.ndarray:
    """Length inside ``[0, nx] x [0, ny]`` of each line ``(theta, rho)``: a ``(len(thetas), len(rhos))`` array."""
    ny, nx = shape
    c, s = np.cos(thetas)[:, None], np.sin(thetas)[:, None]
    rho = rhos[None, :]
    big = 1e12
    with np.errstate(divide="ignore", invalid="ignore"):
        # the line, parametrised by t along (-s, c) from the foot point (rho c, rho s)
        tx0 = np.where(np.abs(s) > 1e-12, (rho * c - 0.0) / s, -big)
        tx1 = np.where(np.abs(s) > 1e-12, (rho * c - nx) / s, big)
        ty0 = np.where(np.abs(c) > 1e-12, (0.0 - rho * s) / c, -big)
        ty1 = np.where(np.abs(c) > 1e-12, (ny - rho * s) / c, big)
    inside_x = (np.abs(s) > 1e-12) | ((rho * c >= 0) & (rho * c <= nx))
    inside_y = (np.abs(c) > 1e-12) | ((rho * s >= 0) & (rho * s <= ny))
    lo = np.maximum(np.minimum(tx0, tx1), np.minimum(ty0, ty1))
    hi = np.minimum(np.maximum(tx0, tx1), np.maximum(ty0, ty1))
    return np.where(inside_x & inside_y, np.maximum(hi - lo, 0.0), 0.0)


def _rho_bins(shape) -> np.ndarray:
    """Rho bin centres, one block apart, covering every line through an image of ``shape`` blocks."""
    limit = int(np.ceil(np.hypot(*shape))) + 1
    return np.arange(-limit, limit + 1, dtype=np.float64)


def _accumulate(candidates: np.ndarray, thetas: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hough counts ``(len(thetas), len(rhos))`` of the candidate blocks (block centres), and the rho bins."""
    ys, xs = np.nonzero(candidates)
    xs = xs + 0.5
    ys = ys + 0.5
    rhos = _rho_bins(candidates.shape)
    counts = np.zeros((len(thetas), len(rhos)), dtype=np.int32)
    _vote(counts, np.cos(thetas), np.sin(thetas), xs, ys, -int(rhos[0]))
    return counts, rhos


@njit(cache=True, nogil=True)
def _vote(counts, cos, sin, xs, ys, limit):  # pragma: no cover - compiled
    """``counts[i, rint(cos[i] x + sin[i] y) + limit] += 1`` for every candidate: the products and the
    sum in that order, rounded half to even, as numpy's ``rint(outer + outer)`` (no fused multiply-add:
    numba contracts none without fastmath)."""
    for i in range(cos.size):
        c = cos[i]
        s = sin[i]
        for k in range(xs.size):
            counts[i, np.int64(np.rint(c * xs[k] + s * ys[k])) + limit] += 1


def _next_line(candidates, valid, thetas, lengths, bin: int, min_length: float, nsigma: float):
    """``(rho, theta in degrees, (t0, t1), score)`` of the best covered line in block units, or None."""
    p = float(candidates.sum() / max(valid.sum(), 1))
    if not 0.0 < p < 0.5:
        return None
    counts, rhos = _accumulate(candidates, thetas)
    expected = p * lengths
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(lengths * bin >= min_length, (counts - expected) / np.sqrt(expected * (1.0 - p)), 0.0)
    for _ in range(_TRIES):
        i, j = np.unravel_index(int(np.argmax(score)), score.shape)
        if not score[i, j] >= nsigma:
            return None
        theta = float(np.degrees(thetas[i]))
        covered = _coverage(candidates, valid, rhos[j], theta, p)
        if covered is not None and (covered[1] - covered[0]) * bin >= min_length:
            return rhos[j], theta, covered, float(score[i, j])
        score[max(0, i - 2) : i + 3, max(0, j - 2) : j + 3] = 0.0
    return None


def _coverage(candidates, valid, rho: float, theta: float, p: float) -> tuple[float, float] | None:
    """Along-line range ``(t0, t1)`` (block units) of the longest covered run of the line, or None.

    Fractions count valid blocks only (masked blocks are unknown, neither hits nor
    misses); a segment whose side bands are mostly masked is compared with the
    image-wide candidate fraction ``p``.
    """
    ny, nx = candidates.shape
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    length = float(np.hypot(ny, nx))
    t = np.arange(-length, length, 0.5)
    x, y = rho * c - t * s, rho * s + t * c
    inside = (x >= 0) & (x < nx) & (y >= 0) & (y < ny)
    if inside.sum() < 2 * _SEGMENT:
        return None
    t, x, y = t[inside], x[inside], y[inside]
    per_segment = 2 * _SEGMENT  # samples are half a block apart
    nseg = -(-len(t) // per_segment)  # the last segment may be partial
    pad = nseg * per_segment - len(t)

    def per_seg(values):
        values = np.concatenate([values, np.zeros((pad,) + values.shape[1:], dtype=values.dtype)])
        return values.reshape(nseg, per_segment, *values.shape[1:]).sum(axis=1)

    across = (-1.0, 0.0, 1.0)  # a band three blocks wide
    hit = _hits(candidates, x, y, c, s, across).any(axis=0)
    on_line = per_seg(hit.astype(float))
    on_valid = per_seg(_hits(valid, x, y, c, s, across).any(axis=0).astype(float))
    side = per_seg(_hits(candidates, x, y, c, s, _SIDE).sum(axis=0).astype(float))
    side_valid = per_seg(_hits(valid, x, y, c, s, _SIDE).sum(axis=0).astype(float))
    fraction = on_line / np.maximum(on_valid, 1.0)
    known = side_valid >= 0.25 * len(_SIDE) * per_segment
    side = np.where(known, side / np.maximum(side_valid, 1.0), p)
    fraction = np.where(on_valid >= 0.25 * per_segment, fraction, 0.0)
    run = _longest_run((fraction >= _COVERED) & (fraction >= 2.0 * side + 0.1), _GAP)
    if run is None:
        return None
    first, last = run
    hits = np.flatnonzero(hit[first * per_segment : (last + 1) * per_segment]) + first * per_segment
    return float(t[hits[0]]) - 1.0, float(t[hits[-1]]) + 1.0  # the first to the last candidate block, and one more


def _hits(candidates, x, y, c, s, offsets) -> np.ndarray:
    """``(len(offsets), len(x))``: is the block at each point, moved by each offset along the normal, a candidate."""
    ny, nx = candidates.shape
    found = np.zeros((len(offsets), len(x)), dtype=bool)
    for k, offset in enumerate(offsets):
        xo, yo = np.floor(x + offset * c).astype(int), np.floor(y + offset * s).astype(int)
        ok = (xo >= 0) & (xo < nx) & (yo >= 0) & (yo < ny)
        found[k, ok] = candidates[yo[ok], xo[ok]]
    return found


def _runs(present: np.ndarray, gap: int) -> tuple[np.ndarray, np.ndarray]:
    """First and last indices of the runs of True, bridging up to ``gap`` False in a row."""
    idx = np.flatnonzero(present)
    if idx.size == 0:
        return idx, idx
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    return idx[np.concatenate([[0], breaks + 1])], idx[np.concatenate([breaks, [len(idx) - 1]])]


def _longest_run(covered: np.ndarray, gap: int) -> tuple[int, int] | None:
    """``(first, last)`` index of the longest run of True, bridging up to ``gap`` False in a row."""
    starts, ends = _runs(covered, gap)
    if starts.size == 0:
        return None
    best = int(np.argmax(ends - starts))
    return int(starts[best]), int(ends[best])


def _binned_line(shape, rho, theta, t_range, width) -> np.ndarray:
    """Blocks within ``width / 2`` blocks of a coarse line over its range (block units)."""
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    y, x = np.ogrid[: shape[0], : shape[1]]
    xc, yc = x + 0.5, y + 0.5
    t = -xc * s + yc * c
    return (np.abs(xc * c + yc * s - rho) <= width / 2.0 + 0.5) & (t >= t_range[0] - 1) & (t <= t_range[1] + 1)


def _to_pixels(rho, theta, t_range, bin):
    """A line and range in block units (block j spans [j, j+1)) in pixel units (pixel i centred on i)."""
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    # pixel x = block x * bin - 0.5, so rho and t scale by bin and shift by half a pixel along each axis
    return rho * bin - 0.5 * (c + s), (t_range[0] * bin - 0.5 * (c - s), t_range[1] * bin - 0.5 * (c - s))
