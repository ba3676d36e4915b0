"""Known contaminants put into images, to measure what the detectors find (tests and ``bench/evaluate_detect.py``).

:func:`star_field` makes a sky with stars; :func:`inject` adds contaminants
of every class at known places and returns the image with, per plane, the
pixels that are contaminated (``truth``) and the pixels too faintly touched to
count either way (``ignore``); :func:`score` gives precision and recall.

Every amplitude is in units of the sky noise ``sigma`` of the image it goes
into. What is injected, and what counts as truth:

``CR``
    Cosmic rays of three shapes, as seen on CCDs: *spots* (20 %, 1-4 pixels),
    straight *tracks* (65 %, 2-15 pixels at any angle) and curved *worms*
    (15 %, a random walk of 5-20 pixels). The charge per pixel of path is
    log-normal (median 40 sigma, spread a factor 3) and is spread by charge
    diffusion (a Gaussian of 0.4 pixel). Truth: a deposit of at least 2 sigma;
    ignored: 0.25-2 sigma.
``HOT``
    Single pixels raised by 8-500 sigma (log-uniform). Truth: the pixel.
``DEAD``
    Single pixels lowered by 8-30 sigma (not below 0). Truth: the pixel.
``BAD_COLUMN``
    Columns offset by 1.5-6 sigma up (hot) or down (dead), over the full height
    or from a random row to an end. Truth: the offset stretch.
``TRAIL``
    Straight trails with a Gaussian profile (sigma 1-2 pixels) and a peak of
    1.5-40 sigma, across the whole image or, for one in three, a segment
    (a meteor or a short exposure) at least half the image long. Truth: a signal
    of at least 1 sigma; ignored: 0.25-1 sigma.
``SAT``
    Stars whose unsaturated peak is 3-50 times the saturation level: every
    pixel is clipped at the level and the charge above it runs up and down its
    column, filling pixels to the level (the charge is conserved, so bright
    stars bleed far). Truth: the pixels at the level and the partly filled ends
    of the bleeds; ignored: the star's unsaturated pixels next to those.

Contaminants are placed at least 6 pixels from each other and from the edges
(trails and columns excepted; nothing else lands within 12 columns of a bad
column or on a trail), so that each truth pixel belongs to one class.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage as ndi

__all__ = ["Injection", "Score", "inject", "score", "star_field"]

_MARGIN = 6


@dataclass
class Injection:
    """An image with known contaminants.

    Attributes
    ----------
    image : numpy.ndarray of float32
    truth : dict of str to bool array
        Contaminated pixels, per plane name.
    ignore : dict of str to bool array
        Pixels touched too faintly to count as found or as false, per plane.
    trails : list of (rho, theta, sigma, peak)
        The injected lines (``x cos(theta) + y sin(theta) = rho``, theta in degrees).
    level : float
        The saturation level used.
    """

    image: np.ndarray
    truth: dict[str, np.ndarray] = field(default_factory=dict)
    ignore: dict[str, np.ndarray] = field(default_factory=dict)
    trails: list[tuple[float, float, float, float]] = field(default_factory=list)
    level: float = np.inf


@dataclass(frozen=True)
class Score:
    """Pixel counts and rates of one class."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def recall(self) -> float:
        """Found truth pixels over truth pixels (NaN when there is no truth)."""
        total = self.true_positives + self.false_negatives
        return self.true_positives / total if total else float("nan")

    @property
    def precision(self) -> float:
        """Found truth pixels over flagged pixels (NaN when nothing is flagged)."""
        total = self.true_positives + self.false_positives
        return self.true_positives / total if total else float("nan")


def score(found: np.ndarray, truth: np.ndarray, ignore: np.ndarray | None = None) -> Score:
    """Compare a detection with the truth, pixel by pixel; ``ignore`` pixels count neither way.

    >>> s = score(np.array([1, 1, 0, 1], bool), np.array([1, 0, 1, 0], bool), np.array([0, 0, 0, 1], bool))
    >>> s.true_positives, s.false_positives, s.false_negatives, s.recall
    (1, 1, 1, 0.5)
    """
    found, truth = np.asarray(found, dtype=bool), np.asarray(truth, dtype=bool)
    counted = np.ones(found.shape, dtype=bool) if ignore is None else ~(np.asarray(ignore, dtype=bool) & ~truth)
    return Score(
        int(np.count_nonzero(found & truth)),
        int(np.count_nonzero(found & ~truth & counted)),
        int(np.count_nonzero(~found & truth)),
    )


def star_field(
    shape=(512, 512),
    *,
    sky: float = 1000.0,
    readnoise: float = 5.0,
    fwhm: float = 3.0,
    stars: float = 2e-3,
    seed: int = 0,
) -> np.ndarray:
    """A sky with stars and Poisson plus read noise, in electrons (gain 1), float32.

    Star fluxes follow ``N(>F) ∝ F^-1.5`` from 20 times the sky noise per pixel
    upwards (capped so that no star saturates at 60000); ``stars`` is the number
    of stars per pixel; the PSF is a Gaussian of the given FWHM.

    >>> img = star_field((64, 64), seed=1)
    >>> img.shape, img.dtype, 950 < float(np.median(img)) < 1050
    ((64, 64), dtype('float32'), True)
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    noise = np.sqrt(sky + readnoise**2)
    sigma = fwhm / 2.3548
    model = np.full(shape, sky, dtype=np.float64)
    count = rng.poisson(stars * ny * nx)
    low = 20.0 * noise * 2.0 * np.pi * sigma**2
    fluxes = low * rng.uniform(0.0, 1.0, count) ** (-1.0 / 1.5)
    fluxes = np.minimum(fluxes, 0.8 * 60000.0 * 2.0 * np.pi * sigma**2)
    for x, y, flux in zip(rng.uniform(0, nx, count), rng.uniform(0, ny, count), fluxes):
        _add_gaussian(model, x, y, flux, sigma)
    image = rng.poisson(model).astype(np.float64) + rng.normal(0.0, readnoise, shape)
    return image.astype(np.float32)


def inject(
    image: np.ndarray,
    *,
    sigma: float,
    sky: float,
    level: float = 60000.0,
    cosmics: int = 30,
    hot: int = 20,
    dead: int = 20,
    columns: int = 2,
    trails: int = 1,
    saturated: int = 2,
    fwhm: float = 3.0,
    seed: int = 0,
) -> Injection:
    """Add contaminants of every class to a copy of ``image`` (see the module docstring).

    Parameters
    ----------
    image : 2-D array
    sigma, sky : float
        The image's sky noise and level.
    level : float
        Saturation level of the injected saturated stars.
    cosmics, hot, dead, columns, trails, saturated : int
        How many of each (``columns`` of each sign).
    fwhm : float
        PSF FWHM of the saturated stars, pixels.
    seed : int

    Returns
    -------
    Injection

    Examples
    --------
    >>> inj = inject(np.full((256, 256), 100.0, np.float32), sigma=10.0, sky=100.0, level=5000.0, seed=1)
    >>> sorted(inj.truth), int(inj.truth["HOT"].sum())
    (['BAD_COLUMN', 'CR', 'DEAD', 'HOT', 'SAT', 'TRAIL'], 20)
    """
    rng = np.random.default_rng(seed)
    out = Injection(np.array(image, dtype=np.float64), level=float(level))
    shape = out.image.shape
    taken = np.zeros(shape, dtype=bool)
    _inject_saturated(out, rng, saturated, level, fwhm, sigma, taken)
    _inject_columns(out, rng, columns, sigma, taken)
    _inject_trails(out, rng, trails, sigma)
    taken |= ndi.binary_dilation(out.truth["TRAIL"] | out.ignore["TRAIL"], iterations=3)
    _inject_cosmics(out, rng, cosmics, sigma, taken)
    _inject_pixels(out, rng, hot, dead, sigma, taken)
    out.image = out.image.astype(np.float32)
    for name in ("SAT", "BAD_COLUMN", "TRAIL", "CR", "HOT", "DEAD"):
        out.truth.setdefault(name, np.zeros(shape, dtype=bool))
        out.ignore.setdefault(name, np.zeros(shape, dtype=bool))
    return out


# -- placing ------------------------------------------------------------------------------------


def _place(rng, taken: np.ndarray, size: int = 1) -> tuple[int, int] | None:
    """A free position ``(y, x)`` at least :data:`_MARGIN` pixels from taken pixels and edges, or None."""
    ny, nx = taken.shape
    reach = _MARGIN + size
    for _ in range(200):
        y, x = int(rng.integers(reach, ny - reach)), int(rng.integers(reach, nx - reach))
        if not taken[y - reach : y + reach + 1, x - reach : x + reach + 1].any():
            return y, x
    return None


def _add_gaussian(model: np.ndarray, x: float, y: float, flux: float, sigma: float) -> None:
    half = int(np.ceil(5 * sigma))
    ny, nx = model.shape
    y0, y1 = max(0, int(y) - half), min(ny, int(y) + half + 1)
    x0, x1 = max(0, int(x) - half), min(nx, int(x) + half + 1)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1]
    model[y0:y1, x0:x1] += flux / (2 * np.pi * sigma**2) * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


# -- classes ------------------------------------------------------------------------------------


def _inject_saturated(
    out: Injection, rng, count: int, level: float, fwhm: float, sigma_noise: float, taken: np.ndarray
) -> None:
    shape = out.image.shape
    truth = np.zeros(shape, dtype=bool)
    ignore = np.zeros(shape, dtype=bool)
    psf = fwhm / 2.3548
    for _ in range(count):
        where = _place(rng, taken, size=8)
        if where is None:
            break
        y, x = where
        star = np.zeros(shape)
        peak = level * 10 ** rng.uniform(np.log10(3.0), np.log10(50.0))
        _add_gaussian(star, x + rng.uniform(-0.5, 0.5), y + rng.uniform(-0.5, 0.5), peak * 2 * np.pi * psf**2, psf)
        out.image, full = _bleed(out.image + star, level)
        touched = star > sigma_noise
        ignore |= touched & ~full
        truth |= full
        taken |= ndi.binary_dilation(full | touched, iterations=2)
    out.truth["SAT"], out.ignore["SAT"] = truth, ignore


def _bleed(image: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Clip at ``level`` and run each column's excess charge up and down from its saturated pixels."""
    out = image.copy()
    full = np.zeros(image.shape, dtype=bool)
    ny = image.shape[0]
    for x in np.flatnonzero((image >= level).any(axis=0)):
        column = out[:, x]
        rows = np.flatnonzero(column >= level)
        excess = float(np.sum(column[rows] - level))
        column[rows] = level
        full[rows, x] = True
        top, bottom = rows.max() + 1, rows.min() - 1
        share = [excess / 2.0, excess / 2.0]
        for k, (start, step) in enumerate(((top, 1), (bottom, -1))):
            y = start
            while share[k] > 0 and 0 <= y < ny:
                room = max(level - column[y], 0.0)
                added = min(room, share[k])
                column[y] += added
                share[k] -= added
                full[y, x] = True
                y += step
    return out, full


def _inject_columns(out: Injection, rng, count: int, sigma: float, taken: np.ndarray) -> None:
    ny, nx = out.image.shape
    truth = np.zeros((ny, nx), dtype=bool)
    for sign in (1, -1):
        for _ in range(count):
            free = np.flatnonzero(~taken[:, _MARGIN : nx - _MARGIN].any(axis=0)) + _MARGIN
            free = free[(free > 8) & (free < nx - 8)]
            if free.size == 0:
                return
            x = int(rng.choice(free))
            if rng.uniform() < 0.5:
                y0, y1 = 0, ny
            else:
                start = int(rng.integers(ny // 4, 3 * ny // 4))
                y0, y1 = (start, ny) if rng.uniform() < 0.5 else (0, start)
            out.image[y0:y1, x] = np.maximum(out.image[y0:y1, x] + sign * rng.uniform(1.5, 6.0) * sigma, 0.0)
            truth[y0:y1, x] = True
            taken[:, max(0, x - 12) : x + 13] = True
    out.truth["BAD_COLUMN"] = truth


def _inject_trails(out: Injection, rng, count: int, sigma: float) -> None:
    ny, nx = out.image.shape
    signal = np.zeros((ny, nx))
    y, x = np.mgrid[:ny, :nx]
    for _ in range(count):
        theta = rng.uniform(0.0, 180.0)
        c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
        cx, cy = rng.uniform(0.3, 0.7) * nx, rng.uniform(0.3, 0.7) * ny
        rho = cx * c + cy * s
        width = rng.uniform(1.0, 2.0)
        peak = 10 ** rng.uniform(np.log10(1.5), np.log10(40.0)) * sigma
        profile = peak * np.exp(-0.5 * ((x * c + y * s - rho) / width) ** 2)
        if rng.uniform() < 1.0 / 3.0:  # a segment of at least half the image
            t = -x * s + y * c
            t_centre = -cx * s + cy * c
            half = 0.25 * np.hypot(nx, ny) * rng.uniform(1.0, 1.5)
            profile *= np.abs(t - t_centre) <= half
        signal += profile
        out.trails.append((float(rho), float(theta), float(width), float(peak / sigma)))
    out.image += signal
    out.truth["TRAIL"] = signal >= sigma
    out.ignore["TRAIL"] = (signal >= 0.25 * sigma) & (signal < sigma)


def _inject_cosmics(out: Injection, rng, count: int, sigma: float, taken: np.ndarray) -> None:
    shape = out.image.shape
    deposit = np.zeros(shape)
    for _ in range(count):
        where = _place(rng, taken, size=10)
        if where is None:
            break
        y, x = where
        path = _cosmic_path(rng)
        per_pixel = 40.0 * sigma * np.exp(rng.normal(0.0, np.log(3.0)))
        hit = np.zeros(shape)
        step = 0.25
        for py, px in path:
            iy, ix = round(y + py), round(x + px)
            if 0 <= iy < shape[0] and 0 <= ix < shape[1]:
                hit[iy, ix] += per_pixel * step
        hit = ndi.gaussian_filter(hit, 0.4)
        deposit += hit
        taken |= ndi.binary_dilation(hit >= 0.25 * sigma, iterations=2)
    out.image += deposit
    out.truth["CR"] = deposit >= 2.0 * sigma
    out.ignore["CR"] = (deposit >= 0.25 * sigma) & (deposit < 2.0 * sigma)


def _cosmic_path(rng) -> np.ndarray:
    """Points ``(dy, dx)`` a quarter pixel apart along a spot, a track or a worm."""
    kind = rng.choice(["spot", "track", "worm"], p=[0.2, 0.65, 0.15])
    if kind == "spot":
        length = rng.uniform(0.0, 1.5)
    elif kind == "track":
        length = rng.uniform(2.0, 15.0)
    else:
        length = rng.uniform(5.0, 20.0)
    n = max(1, int(length / 0.25))
    angle = rng.uniform(0.0, 2 * np.pi)
    turns = rng.normal(0.0, 0.25, n) if kind == "worm" else np.zeros(n)
    angles = angle + np.cumsum(turns)
    steps = 0.25 * np.stack([np.sin(angles), np.cos(angles)], axis=1)
    return np.cumsum(steps, axis=0) - steps[0]


def _inject_pixels(out: Injection, rng, hot: int, dead: int, sigma: float, taken: np.ndarray) -> None:
    shape = out.image.shape
    for name, count in (("HOT", hot), ("DEAD", dead)):
        truth = np.zeros(shape, dtype=bool)
        for _ in range(count):
            where = _place(rng, taken)
            if where is None:
                break
            y, x = where
            if name == "HOT":
                out.image[y, x] += 10 ** rng.uniform(np.log10(8.0), np.log10(500.0)) * sigma
            else:
                out.image[y, x] = max(out.image[y, x] - rng.uniform(8.0, 30.0) * sigma, 0.0)
            truth[y, x] = True
            taken[y, x] = True
        out.truth[name] = truth
