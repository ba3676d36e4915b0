"""``SAT``: saturated pixels and the bleed trails that run from them along columns.

Saturation level, in this order:

1. the level given (``level=``, ``--saturate``);
2. the header: per-amplifier ``SATURATA``/``SATURATB`` over the columns of
   ``DATASECA``/``DATASECB`` when both are there (DECam); otherwise the lowest
   of ``SATURATE``, ``SATURATA``, ``SATURATB`` (DECam CP cutouts keep the
   per-amplifier levels but not the sections, and ``SATURATE`` is then the
   higher of the two: taking the lower one flags the few near-saturated pixels
   of the other amplifier rather than missing saturated ones);
3. the image itself: a saturated detector or a clipping pipeline writes one
   exact value over and over. Among the 0.1 % brightest pixels, the value
   repeated most often is taken as the level when it is repeated at least
   ``min_repeats`` times (default 8) and lies above the sky by more than 50 times the
   sky noise. Otherwise there is no level and no pixel is flagged.

Bleed trails: charge from a full well spills up and down its column. Starting
from each saturated pixel, the trail is followed along the column (upwards and
downwards) for as long as every pixel stays above the sky by more than
``max(bleed_nsigma × noise, bleed_fraction × (level - sky))``. Only columns
holding a saturated pixel are followed, so a bright unsaturated star is never
flagged. The result is then grown by ``grow`` pixels (a disk: the pixels next
to a full well are affected by the spill and by non-linearity).
"""

from __future__ import annotations

import re

import numpy as np
from scipy import ndimage as ndi

from ..core.presets import made_plane
from ..errors import ParameterError
from ..morphology import grow as grow_mask
from .background import Background, estimate_background

__all__ = ["PLANE", "detect_saturation", "image_saturation_level", "saturation_level"]

PLANE = made_plane("SAT")

_VERTICAL = np.array([[0, 1, 0], [0, 1, 0], [0, 1, 0]], dtype=bool)  # links a pixel to the ones above and below
_SECTION = re.compile(r"^\s*\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]\s*$")


def saturation_level(header, shape: tuple[int, int] | None = None) -> float | np.ndarray | None:
    """The saturation level a header gives (see the module docstring), or None.

    Parameters
    ----------
    header : astropy.io.fits.Header or mapping
    shape : (ny, nx), optional
        Image shape; with it, per-amplifier levels over ``DATASECA``/``DATASECB``
        give a per-pixel level map.

    Returns
    -------
    float, 2-D numpy.ndarray or None

    Examples
    --------
    >>> saturation_level({"SATURATE": 46390.0, "SATURATA": 46390.0, "SATURATB": 39973.0})
    39973.0
    """
    if header is None:
        return None
    values = {key: _number(header.get(key)) for key in ("SATURATE", "SATURATA", "SATURATB")}
    per_amp = values["SATURATA"] is not None and values["SATURATB"] is not None
    if per_amp and shape is not None and "DATASECA" in header and "DATASECB" in header:
        level = np.full(shape, np.inf)
        for amp in "AB":
            ys, xs = _section(str(header[f"DATASEC{amp}"]), shape)
            level[ys, xs] = values[f"SATURAT{amp}"]
        if np.isfinite(level).all():
            return level
    known = [v for v in values.values() if v is not None]
    return min(known) if known else None


def image_saturation_level(
    image: np.ndarray, *, background: Background | None = None, min_repeats: int = 8
) -> float | None:
    """The saturation level guessed from repeated values at the top of the image, or None.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> img = rng.normal(100.0, 5.0, (100, 100)); img[40:44, 50:53] = 60000.0
    >>> image_saturation_level(img)
    60000.0
    """
    data = np.asarray(image)
    finite = data[np.isfinite(data)] if data.dtype.kind == "f" else data.ravel()
    if finite.size == 0:
        return None
    top = finite[finite >= np.quantile(finite, 0.999)]
    values, counts = np.unique(top, return_counts=True)
    best = int(np.argmax(counts))
    if counts[best] < min_repeats:
        return None
    if background is None:  # a rough sky from every 7th pixel is enough for a 50-sigma test
        sample = finite[::7] if finite.size > 7000 else finite
        sky = float(np.median(sample))
        noise = 1.4826 * float(np.median(np.abs(sample - sky)))
    else:
        sky, noise = float(np.median(background.level)), background.median_noise
    value = float(values[best])
    return value if value > sky + 50.0 * noise else None


def detect_saturation(
    image: np.ndarray,
    level: float | np.ndarray | None = None,
    *,
    header=None,
    bleed: bool = True,
    bleed_nsigma: float = 5.0,
    bleed_fraction: float = 0.1,
    grow: int = 1,
    background: Background | None = None,
) -> np.ndarray:
    """Saturated pixels and their bleed trails (see the module docstring).

    Parameters
    ----------
    image : 2-D numeric array
    level : float or 2-D array, optional
        Saturation level (image units); default from ``header``, else from the image.
    header : astropy.io.fits.Header or mapping, optional
    bleed : bool
        Follow bleed trails along the columns.
    bleed_nsigma, bleed_fraction : float
        A bleed pixel lies above the sky by more than
        ``max(bleed_nsigma * noise, bleed_fraction * (level - sky))``.
    grow : int
        Radius in pixels of the disk the result is grown by (0: not grown).
    background : Background, optional
        Sky level and noise (estimated when not given).

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> img = np.full((12, 5), 100.0); img[5, 2] = 1000.0; img[2:9, 2] = np.maximum(img[2:9, 2], 600.0)
    >>> detect_saturation(img, 1000.0, grow=0, background=Background(np.full(img.shape, 100.0, np.float32),
    ...                   np.full(img.shape, 5.0, np.float32)))[:, 2].astype(int)
    array([0, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0])
    """
    data = np.asarray(image)
    if data.ndim != 2:
        raise ParameterError(f"image must be 2-D, got shape {data.shape}")
    if level is None:
        level = saturation_level(header, data.shape)
    if level is None:
        background = background or estimate_background(data)
        level = image_saturation_level(data, background=background)
    if level is None:
        return np.zeros(data.shape, dtype=bool)
    level = np.asarray(level, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        core = data >= level
    if bleed and core.any():
        background = background or estimate_background(data)
        core |= _bleed_trails(data, core, level, background, bleed_nsigma, bleed_fraction)
    if grow and core.any():
        core = grow_mask(core, grow)
    return core


def _bleed_trails(data, core, level, background, nsigma, fraction) -> np.ndarray:
    """Vertical runs of bright pixels that touch a saturated pixel, in columns holding one."""
    columns = np.flatnonzero(core.any(axis=0))
    sub = data[:, columns].astype(np.float64)
    sky = background.level[:, columns]
    noise = background.noise[:, columns]
    lvl = level[:, columns] if level.ndim == 2 else level
    with np.errstate(invalid="ignore"):
        bright = (sub - sky) > np.maximum(nsigma * noise, fraction * (lvl - sky))
    bright |= core[:, columns]
    labels, _ = ndi.label(bright, structure=_VERTICAL)
    hit = np.unique(labels[core[:, columns]])
    trail = np.isin(labels, hit[hit > 0])
    out = np.zeros(data.shape, dtype=bool)
    out[:, columns] = trail
    return out


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _section(text: str, shape: tuple[int, int]) -> tuple[slice, slice]:
    """Array slices of a 1-based inclusive FITS section ``[x1:x2,y1:y2]``."""
    match = _SECTION.match(text)
    if not match:
        raise ParameterError(f"cannot read the section {text!r}; expected '[x1:x2,y1:y2]'")
    x1, x2, y1, y2 = (int(g) for g in match.groups())
    xs = slice(min(x1, x2) - 1, min(max(x1, x2), shape[1]))
    ys = slice(min(y1, y2) - 1, min(max(y1, y2), shape[0]))
    return ys, xs
