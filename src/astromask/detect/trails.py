"""``TRAIL``: satellite and meteor trails, straight streaks found with a Hough transform.

Steps (all in numpy/scipy):

1. **Normalise**: ``z = (image - sky) / noise`` (:mod:`.background`); masked and
   non-finite pixels become 0.
2. **Remove stars**: groups of pixels above 3 sigma (8-connected) that are
   compact (fit in ``compact`` × ``compact`` pixels) and peak above 10 sigma are
   set to 0 with a 2-pixel margin. A trail is long, so it is never compact; a
   faint trail never peaks at 10 sigma in many pixels.
3. **Bin**: ``z`` clipped to [-3, 3] (a star adds at most as much as a trail
   of 3 sigma) is summed over ``bin`` × ``bin`` blocks and divided by the
   square root of the pixel count (edge blocks hold fewer), which lifts a trail
   of 1 sigma per pixel to several sigma per block. The median of the 9 × 9
   blocks around each block is subtracted: dense regions such as a cluster
   core are not lines (masked blocks first take the value of the nearest
   unmasked one). Blocks above 2 sigma of the binned noise (MAD) are the
   Hough candidates; blocks mostly masked are *unknown*, never candidates.
4. **Hough transform** of the candidates, ``rho = x cos(theta) + y sin(theta)``,
   with one block in rho and an angle step that moves the far end of the
   longest line by one block. Each cell's count is compared with what noise
   gives along a line of its length inside the image (``p × length``, ``p``
   the fraction of candidate blocks): the score is the excess in binomial
   sigma, and must reach ``nsigma``.
5. **Check coverage**: the best cell is followed along its line, in a band 3
   blocks wide, in segments of 8 blocks. A segment is covered when at least a
   quarter of its known blocks are candidates (noise gives 2 %) and at least
   twice the fraction, plus 0.1, of two bands 4-5 blocks to either side (a
   line through a cluster core is no denser than its surroundings). The
   longest run of covered segments, bridging gaps of one segment, must be
   ``min_length`` pixels long. Cells that fail are cleared and the next best is
   tried (30 times).
6. **Refine** at full resolution: a weighted total-least-squares line through
   the pixels above 1 sigma near the coarse line; the **ends** where the mean
   within 1.5 pixels of the line, in 8-pixel bins along it, stays above a third
   of the trail's level (and 3 times its noise; masked stretches are bridged);
   the **width** is where the
   median perpendicular profile (in half-pixel bins) stays above
   ``max(0.5, 3 × its noise)`` sigma (at least ``min_width``).
7. **Mask** the band of that width over the covered extent, take its blocks
   out of the candidates and go back to 4, up to ``max_trails`` times.

Line parameters are reported in the image's 0-based pixel coordinates:
``x cos(theta) + y sin(theta) = rho`` with ``theta`` in degrees in [0, 180),
the endpoints, and the full width of the masked band.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from ..core.presets import made_plane
from ..errors import ParameterError
from ..progress import interruptible
from ._hough import _SEGMENT, _angles, _binned_line, _next_line, _runs, _to_pixels, chord_table
from .background import Background, estimate_background, nanmedian

__all__ = ["PLANE", "Trail", "Trails", "detect_trails", "line_band"]

PLANE = made_plane("TRAIL")

_STAR_PEAK = 10.0  # sigma: compact groups brighter than this are stars (or cosmic rays)
_END_BIN = 8.0  # pixels along the line per bin of the profile that places the ends
_FLATTEN = 9  # blocks: the local median subtracted from the binned image


@dataclass(frozen=True)
class Trail:
    """A straight trail: ``x cos(theta) + y sin(theta) = rho`` from ``(x0, y0)`` to ``(x1, y1)``.

    Attributes
    ----------
    rho : float
        Distance of the line from pixel (0, 0), pixels.
    theta : float
        Angle of the line's normal from the x axis, degrees in [0, 180).
    x0, y0, x1, y1 : float
        Endpoints of the masked stretch (0-based pixel coordinates).
    width : float
        Full width of the masked band, pixels.
    significance : float
        Hough score of the line (excess candidate blocks in binomial sigma).
    """

    rho: float
    theta: float
    x0: float
    y0: float
    x1: float
    y1: float
    width: float
    significance: float

    @property
    def length(self) -> float:
        """Length of the masked stretch, pixels."""
        return float(np.hypot(self.x1 - self.x0, self.y1 - self.y0))


@dataclass(frozen=True)
class Trails:
    """The trail mask and the trails found."""

    mask: np.ndarray
    trails: list[Trail]


def line_band(
    shape: tuple[int, int], rho: float, theta: float, width: float, extent: tuple[float, float] | None = None
) -> np.ndarray:
    """Pixels within ``width / 2`` of the line ``x cos(theta) + y sin(theta) = rho`` (theta in degrees).

    ``extent`` limits the band to positions ``t0 <= t <= t1`` along the line,
    where ``t = -x sin(theta) + y cos(theta)``.

    Examples
    --------
    >>> line_band((5, 6), 2.0, 0.0, 1.0).astype(int)[0]
    array([0, 0, 1, 0, 0, 0])
    """
    _ny, _nx = shape
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    band = np.zeros(shape, dtype=bool)
    ys, xs = _box(shape, rho, c, s, width, extent)
    y, x = np.ogrid[ys, xs]
    inside = np.abs(x * c + y * s - rho) <= width / 2.0
    if extent is not None:
        t = -x * s + y * c
        inside &= (t >= extent[0]) & (t <= extent[1])
    band[ys, xs] = inside
    return band


def _box(shape, rho, c, s, width, extent) -> tuple[slice, slice]:
    """Slices of the bounding box of a band (the whole image when the band has no extent)."""
    ny, nx = shape
    if extent is None:
        return slice(0, ny), slice(0, nx)
    ends = [(rho * c - t * s, rho * s + t * c) for t in extent]
    pad = width / 2.0 + 1.0
    x0 = int(max(0, np.floor(min(e[0] for e in ends) - pad)))
    x1 = int(min(nx, np.ceil(max(e[0] for e in ends) + pad) + 1))
    y0 = int(max(0, np.floor(min(e[1] for e in ends) - pad)))
    y1 = int(min(ny, np.ceil(max(e[1] for e in ends) + pad) + 1))
    return slice(y0, max(y0, y1)), slice(x0, max(x0, x1))


def detect_trails(
    image: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    background: Background | None = None,
    bin: int = 4,
    min_length: float = 150.0,
    nsigma: float = 12.0,
    compact: int = 25,
    min_width: float = 3.0,
    max_trails: int = 10,
) -> Trails:
    """Straight trails (see the module docstring).

    Parameters
    ----------
    image : 2-D numeric array
    mask : 2-D bool array, optional
        Pixels to leave out (saturation, bad columns: a bad column is a perfect line).
    background : Background, optional
        Sky level and noise (estimated when not given).
    bin : int
        Block size of the Hough image, pixels.
    min_length : float
        Shortest trail, pixels.
    nsigma : float
        Smallest Hough score of a trail.
    compact : int
        Size, in pixels, of the box that holds a star.
    min_width : float
        Narrowest masked band, pixels.
    max_trails : int
        Most trails looked for.

    Returns
    -------
    Trails

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> img = rng.normal(0.0, 1.0, (400, 400)) + 3.0 * line_band((400, 400), 150.0, 30.0, 3.0)
    >>> found = detect_trails(img)
    >>> [(round(t.rho), round(t.theta)) for t in found.trails]
    [(150, 30)]
    """
    data = np.asarray(image)
    if data.ndim != 2:
        raise ParameterError(f"image must be 2-D, got shape {data.shape}")
    if isinstance(bin, bool) or not isinstance(bin, (int, np.integer)) or bin < 1:
        raise ParameterError(f"bin must be a positive integer, got {bin!r}")
    excluded = ~np.isfinite(data) if data.dtype.kind == "f" else np.zeros(data.shape, dtype=bool)
    if mask is not None:
        excluded |= np.asarray(mask, dtype=bool)
    background = background or estimate_background(data, mask=excluded)
    z = background.significance(data)
    z[excluded] = 0.0
    stars = _stars(z, compact)
    z[stars] = 0.0
    known = ~(excluded | stars)
    valid = _binned((~excluded).astype(np.float32), bin) >= 0.5  # blocks mostly made of usable pixels
    blocks = _binned(np.clip(z, -3.0, 3.0), bin, normalise=True)
    blocks -= interruptible(ndi.median_filter, _nearest_valid(blocks, valid), size=_FLATTEN, mode="nearest")
    spread = 1.4826 * float(np.median(np.abs(blocks[valid] - np.median(blocks[valid])))) if valid.any() else 0.0
    candidates = (blocks > 2.0 * max(spread, 1e-6)) & valid
    out = np.zeros(data.shape, dtype=bool)
    trails: list[Trail] = []
    thetas = _angles(candidates.shape)
    lengths = chord_table(tuple(candidates.shape))  # depends on the shape alone: made once per shape
    for _ in range(max_trails):
        found = _next_line(candidates, valid, thetas, lengths, bin, min_length, nsigma)
        if found is None:
            break
        rho_b, theta, t_range, score = found
        rho, t_pixels = _to_pixels(rho_b, theta, t_range, bin)
        trail = _refine(z, known, rho, theta, t_pixels, bin, min_width, score)
        band = line_band(data.shape, trail.rho, trail.theta, trail.width, _extent(trail))
        out |= band
        trails.append(trail)
        candidates &= ~_binned(band.astype(np.float32), bin).astype(bool)
        candidates &= ~_binned_line(candidates.shape, rho_b, theta, t_range, 2.0)
    return Trails(out, trails)


# -- stars and binning ----------------------------------------------------------------------------


def _stars(z: np.ndarray, compact: int) -> np.ndarray:
    """Compact groups above 3 sigma peaking above :data:`_STAR_PEAK`, with a 2-pixel margin."""
    labels, count = ndi.label(z > 3.0, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return np.zeros(z.shape, dtype=bool)
    bright = np.zeros(count + 1, dtype=bool)
    bright[labels[z > _STAR_PEAK]] = True
    keep = np.zeros(count + 1, dtype=bool)
    for i, box in enumerate(ndi.find_objects(labels), start=1):
        if bright[i]:
            keep[i] = max(box[0].stop - box[0].start, box[1].stop - box[1].start) <= compact
    stars = keep[labels]
    return ndi.binary_dilation(stars, iterations=2) if stars.any() else stars


def _binned(values: np.ndarray, bin: int, *, normalise: bool = False) -> np.ndarray:
    """Mean over ``bin`` × ``bin`` blocks (partial blocks at the ends averaged over what they hold).

    ``normalise``: the sum over the block divided by the square root of its pixel
    count instead, so that partial blocks at the edges are no noisier than whole ones.
    """
    ny, nx = values.shape
    by, bx = -(-ny // bin), -(-nx // bin)
    padded = np.zeros((by * bin, bx * bin), dtype=np.float32)
    padded[:ny, :nx] = values
    counts = np.zeros_like(padded)
    counts[:ny, :nx] = 1.0
    total = padded.reshape(by, bin, bx, bin).sum(axis=(1, 3))
    count = counts.reshape(by, bin, bx, bin).sum(axis=(1, 3))
    return total / (np.sqrt(count) if normalise else count)


def _nearest_valid(blocks: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Blocks with each invalid one replaced by the nearest valid one (masked regions do not drag medians)."""
    if valid.all() or not valid.any():
        return blocks
    index = ndi.distance_transform_edt(~valid, return_distances=False, return_indices=True)
    return blocks[tuple(index)]


# -- refinement -----------------------------------------------------------------------------------


def _refine(z, known, rho, theta, t_range, bin, min_width, score) -> Trail:
    """Full-resolution line, width and endpoints around a coarse line (pixel units)."""
    for half in (2.0 * bin, float(bin)):
        rho, theta = _fit_line(z, rho, theta, t_range, half)
    t_range = _ends(z, known, rho, theta, t_range, _SEGMENT * bin)
    width = _width(z, rho, theta, t_range, min_width, bin)
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    t0, t1 = t_range
    turns = np.floor(theta / 180.0)  # the same line with theta in [0, 180): rho changes sign per half turn
    return Trail(
        rho=float(rho * (-1.0) ** turns),
        theta=float(theta - 180.0 * turns),
        x0=float(rho * c - t0 * s),
        y0=float(rho * s + t0 * c),
        x1=float(rho * c - t1 * s),
        y1=float(rho * s + t1 * c),
        width=float(width),
        significance=float(score),
    )


def _band_pixels(z, rho, theta, t_range, half):
    """Coordinates, distance from the line and value of the pixels of a band around a line."""
    band = line_band(z.shape, rho, theta, 2.0 * half, t_range)
    ys, xs = np.nonzero(band)
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    return xs, ys, xs * c + ys * s - rho, z[ys, xs]


def _fit_line(z, rho, theta, t_range, half) -> tuple[float, float]:
    """Weighted total least squares through the pixels above 1 sigma of a band; the input line if too few."""
    xs, ys, _, values = _band_pixels(z, rho, theta, t_range, half)
    use = values > 1.0
    if use.sum() < 10:
        return rho, theta
    w = np.minimum(values[use], 10.0)
    x, y = xs[use].astype(np.float64), ys[use].astype(np.float64)
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.cov(np.vstack([x - xm, y - ym]), aweights=w)
    _, vectors = np.linalg.eigh(cov)
    nxv, nyv = vectors[:, 0]  # the normal: the direction of least spread
    angle = np.degrees(np.arctan2(nyv, nxv))
    angle = theta + ((angle - theta + 90.0) % 180.0) - 90.0  # the normal direction nearest the input's
    if abs(angle - theta) > 5.0:  # the fit ran away: keep the coarse line
        return rho, theta
    new_rho = xm * np.cos(np.radians(angle)) + ym * np.sin(np.radians(angle))
    return float(new_rho), float(angle)


def _ends(z, known, rho, theta, t_range, reach) -> tuple[float, float]:
    """Where the trail starts and ends along the refined line, within ``reach`` pixels of the coarse range.

    The mean ``z`` of the known pixels within 1.5 pixels of the line is taken in
    bins of :data:`_END_BIN` pixels along it; a bin holds the trail when its mean
    exceeds a third of the trail's median level and 3 times its own noise. Bins
    mostly unknown (masked pixels, removed stars) are bridged. The ends are the
    outermost bins holding the trail in the run (bridging gaps of 2 bins) that
    holds the middle of the coarse range.
    """
    lo, hi = t_range[0] - reach, t_range[1] + reach
    xs, ys, _, values = _band_pixels(z, rho, theta, (lo, hi), 1.5)
    if values.size == 0:
        return t_range
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    index = ((-xs * s + ys * c - lo) // _END_BIN).astype(int)
    usable = known[ys, xs].astype(float)
    count = np.bincount(index, weights=usable)
    mean = np.bincount(index, weights=values * usable) / np.maximum(count, 1.0)
    unknown = count < 0.25 * np.bincount(index)
    centres = lo + (np.arange(len(count)) + 0.5) * _END_BIN
    core = (centres >= t_range[0]) & (centres <= t_range[1]) & ~unknown
    if not core.any():
        return t_range
    level = float(np.median(mean[core]))
    present = ~unknown & (mean > max(level / 3.0, 0.0)) & (mean > 3.0 / np.sqrt(np.maximum(count, 1.0)))
    middle = int(np.argmin(np.abs(centres - 0.5 * (t_range[0] + t_range[1]))))
    run = _run_around(present | unknown, middle, gap=2)
    if run is None:
        return t_range
    inside = np.flatnonzero(present[run[0] : run[1] + 1]) + run[0]
    if inside.size == 0:
        return t_range
    return float(lo + inside[0] * _END_BIN), float(lo + (inside[-1] + 1) * _END_BIN)


def _run_around(present: np.ndarray, middle: int, gap: int) -> tuple[int, int] | None:
    """``(first, last)`` of the run of True (bridging ``gap`` False in a row) nearest to index ``middle``."""
    starts, ends = _runs(present, gap)
    if starts.size == 0:
        return None
    distance = np.where((starts <= middle) & (ends >= middle), 0, np.minimum(abs(starts - middle), abs(ends - middle)))
    best = int(np.argmin(distance))
    return int(starts[best]), int(ends[best])


def _width(z, rho, theta, t_range, min_width, bin) -> float:
    """Full width where the median perpendicular profile stays above ``max(0.5, 3 x noise)`` sigma."""
    reach = 4.0 * bin
    _, _, d, values = _band_pixels(z, rho, theta, t_range, reach)
    edges = np.arange(-reach, reach + 0.5, 0.5)
    index = np.digitize(d, edges) - 1
    valid = (index >= 0) & (index < len(edges) - 1)
    order = np.argsort(index[valid], kind="stable")
    sorted_index, sorted_values = index[valid][order], values[valid][order]
    bounds = np.searchsorted(sorted_index, np.arange(len(edges)))
    groups = [sorted_values[a:b] for a, b in itertools.pairwise(bounds)]
    size = max((len(g) for g in groups), default=0)
    if size == 0:
        return float(min_width)
    table = np.full((len(groups), size), np.nan)
    for k, g in enumerate(groups):
        table[k, : len(g)] = g
    profile = nanmedian(table, axis=1)
    counts = np.array([len(g) for g in groups])
    noise = 1.25 / np.sqrt(np.maximum(counts, 1))
    above = profile > np.maximum(0.5, 3.0 * noise)
    centres = 0.5 * (edges[:-1] + edges[1:])
    centre = int(np.argmin(np.abs(centres)))
    if not above[centre]:
        return float(min_width)
    lo = centre
    while lo > 0 and above[lo - 1]:
        lo -= 1
    hi = centre
    while hi < len(above) - 1 and above[hi + 1]:
        hi += 1
    half = max(abs(centres[lo]), abs(centres[hi])) + 0.25  # to the outer side of the last profile bin
    return float(max(min_width, 2.0 * half))


def _extent(trail: Trail) -> tuple[float, float]:
    c, s = np.cos(np.radians(trail.theta)), np.sin(np.radians(trail.theta))
    t0 = -trail.x0 * s + trail.y0 * c
    t1 = -trail.x1 * s + trail.y1 * c
    return (min(t0, t1), max(t0, t1))
