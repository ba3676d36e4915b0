"""MaxiMask's image normalisation: a SExtractor-like background and noise map, then ``(im - bg) / sigma``.

This is the original's ``utils.image_norm`` (``maximask==1.4.1``) step by
step, in the same floating-point types. The original ran under NumPy 1.x,
whose results NumPy 2 does not reproduce in two ways:

* arithmetic between NumPy float32 scalars and Python numbers was done in
  float64 (NumPy 2 keeps float32), which moves clipping limits by an ulp;
* float32 sums (in ``mean`` and ``std``) were pairwise sums over chunks of
  8192 values added in turn (NumPy 2 sums the whole array pairwise), which
  changes the last bits of the background levels.

The scalar arithmetic below is therefore written out in float64 (Python
floats), comparisons with the image are done in float32, and float32 means
and standard deviations use NumPy 1.x's summation (compiled with numba). The
normalised image is then bit for bit the original's under either NumPy.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.interpolate import RectBivariateSpline
from scipy.signal import medfilt

__all__ = ["CLIP_HIGH", "CLIP_LOW", "MESH", "background", "mesh_starts", "normalise"]

#: Side of the background meshes, in pixels.
MESH = 200
#: Pixel values are clipped to ``[CLIP_LOW, CLIP_HIGH]`` before anything else (NaN becomes 0).
CLIP_HIGH = 80000.0
CLIP_LOW = -500.0
_K_SIGMA = 3.0
_GRID_ROUNDS = 5
# NumPy 1.x reduced float32 arrays in chunks of its buffer size
_NUMPY1_CHUNK = 8192
_PAIRWISE_BLOCK = 128


@njit(cache=True)
def _pairwise_sum(a, start, n):  # pragma: no cover - compiled
    """NumPy's float32 pairwise summation of ``a[start:start + n]`` (``FLOAT_pairwise_sum``)."""
    if n < 8:
        total = np.float32(0)
        for i in range(n):
            total += a[start + i]
        return total
    if n <= _PAIRWISE_BLOCK:
        r = a[start : start + 8].copy()
        i = 8
        while i < n - n % 8:
            for j in range(8):
                r[j] += a[start + i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(i, n):
            total += a[start + k]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise_sum(a, start, half) + _pairwise_sum(a, start + half, n - half)


@njit(cache=True)
def _numpy1_sum(a):  # pragma: no cover - compiled
    """``np.sum`` of a 1-D float32 array as NumPy 1.x computed it: pairwise sums of 8192-value chunks, in turn."""
    total = np.float32(0)
    for start in range(0, a.size, _NUMPY1_CHUNK):
        total += _pairwise_sum(a, start, min(_NUMPY1_CHUNK, a.size - start))
    return total


def _mean32(values: np.ndarray) -> np.float32:
    """NumPy 1.x ``np.mean`` of a 1-D float32 array."""
    return np.float32(_numpy1_sum(values)) / np.float32(values.size)


def _std32(values: np.ndarray) -> np.float32:
    """NumPy 1.x ``np.std`` of a 1-D float32 array."""
    deviations = values - _mean32(values)
    deviations *= deviations
    return np.sqrt(np.float32(_numpy1_sum(deviations)) / np.float32(values.size))


def mesh_starts(n: int) -> np.ndarray:
    """First pixel of each full mesh along an axis of ``n`` pixels; the meshes are centred.

    >>> mesh_starts(1100).tolist()
    [50, 250, 450, 650, 850]
    """
    return (n % MESH) // 2 + MESH * np.arange(n // MESH)


def _mesh_level(mesh: np.ndarray) -> tuple[float, float]:
    """Background level and noise of one mesh: iterated 3-sigma clipping about the median."""
    if not mesh.any():
        return 0.0, 1.0
    values = mesh.ravel()
    keep = np.ones(values.shape, dtype=bool)
    median, std0 = np.median(values), _std32(values)
    std = std0
    while True:
        # NumPy 1.x semantics: the limits in float64, rounded to float32 for the comparison
        low = np.float32(float(median) - _K_SIGMA * float(std))
        high = np.float32(float(median) + _K_SIGMA * float(std))
        new = keep & (values >= low) & (values <= high)
        if np.array_equal(new, keep):
            break
        keep = new
        kept = values[keep]
        median, std = np.median(kept), _std32(kept)
    mean = float(_mean32(values[keep]))
    if 0.8 * float(std0) < float(std) < 1.2 * float(std0):
        return mean, float(std)
    return 2.5 * float(median) - 1.5 * mean, float(std)


def _outlier_nodes(grid: np.ndarray) -> np.ndarray:
    """Grid nodes rejected by up to five rounds of 3-sigma clipping about the median."""
    keep = np.ones(grid.shape, dtype=bool)
    for _ in range(_GRID_ROUNDS):
        median, std = np.median(grid[keep]), np.std(grid[keep])
        out = keep & ((grid > median + 3 * std) | (grid < median - 3 * std))
        if not out.any():
            break
        keep &= ~out
    return ~keep


def _fill_outliers(grid: np.ndarray, outliers: np.ndarray) -> None:
    """Replace outlier nodes, in place and in row-major order, by the mean of their defined 3x3 neighbours.

    Passes repeat over all outlier nodes (filled ones included, as in the
    original) until none is undefined.
    """
    grid[outliers] = np.nan
    nodes = list(zip(*np.nonzero(outliers)))
    while np.isnan(grid).any():
        filled = False
        for y, x in nodes:
            window = grid[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2]
            defined = window[~np.isnan(window)]
            if defined.size:
                grid[y, x] = np.sum(defined) / defined.size
                filled = True
        if not filled:  # every node an outlier: cannot happen after median clipping, but never loop forever
            grid[np.isnan(grid)] = 0.0
            break


def _smooth_map(grid: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Clean, pad, median-filter and spline-interpolate a mesh grid to a full float32 map.

    As in the original, ``medfilt`` pads the (edge-padded) grid with zeros, so
    its four corner nodes become 0 and the maps fall towards 0 near the image
    corners.
    """
    grid = grid.copy()
    outliers = _outlier_nodes(grid)
    if outliers.any():
        _fill_outliers(grid, outliers)
    padded = medfilt(np.pad(grid, 1, "edge"), 3)
    nodes = [np.arange(-MESH / 2, (nb + 1) * MESH + 1, MESH) + (n % MESH) // 2 for n, nb in zip(shape, grid.shape)]
    spline = RectBivariateSpline(nodes[0], nodes[1], padded)
    return spline(np.arange(shape[0]), np.arange(shape[1])).astype(np.float32)


def background(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Background and noise maps of a 2-D float32 image (MaxiMask's ``background_est``).

    Parameters
    ----------
    image : numpy.ndarray
        2-D float32 image, already clipped, at least 400 pixels on each side.

    Returns
    -------
    level, sigma : numpy.ndarray
        float32 maps of the image's shape.
    """
    rows, cols = mesh_starts(image.shape[0]), mesh_starts(image.shape[1])
    level = np.zeros((rows.size, cols.size))
    sigma = np.zeros((rows.size, cols.size))
    for i, y in enumerate(rows):
        for j, x in enumerate(cols):
            level[i, j], sigma[i, j] = _mesh_level(image[y : y + MESH, x : x + MESH])
    return _smooth_map(level, image.shape), _smooth_map(sigma, image.shape)


def normalise(image: np.ndarray) -> np.ndarray:
    """The image as MaxiMask and MaxiTrack see it: clipped, background-subtracted, divided by the noise.

    NaN becomes 0 and values are clipped to ``[-500, 80000]``; the background
    and noise maps come from :func:`background`. A cube ``(C, H, W)`` is
    normalised plane by plane. As in the original, a zero noise (a constant
    region) is not guarded against and gives infinite or NaN values.

    Parameters
    ----------
    image : numpy.ndarray
        2-D image or 3-D cube, any real dtype; not modified.

    Returns
    -------
    numpy.ndarray
        float32 array of the same shape.

    Examples
    --------
    >>> image = np.random.default_rng(0).normal(1000.0, 20.0, (800, 800)).astype(np.float32)
    >>> centre = normalise(image)[200:-200, 200:-200]
    >>> bool(abs(centre.mean()) < 0.02), bool(abs(centre.std() - 1) < 0.02)
    (True, True)
    """
    im = np.array(image, dtype=np.float32)
    im[np.isnan(im)] = 0
    np.clip(im, CLIP_LOW, CLIP_HIGH, out=im)
    for plane in im.reshape((-1,) + im.shape[-2:]):
        level, sigma = background(plane)
        with np.errstate(divide="ignore", invalid="ignore"):
            plane -= level
            plane /= sigma
    return im
