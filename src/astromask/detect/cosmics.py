"""``CR``: cosmic rays with L.A.Cosmic (van Dokkum 2001) through :func:`astroscrappy.detect_cosmics`.

Units. astroscrappy works in electrons: it multiplies the image by ``gain``
(e-/ADU), and its ``satlevel`` is in electrons. Here every level is in the
image's own units (``satlevel`` in ADU for an ADU image) and is converted.
The gain and read noise come from the arguments, else from the header:
``GAIN``/``EGAIN`` or the mean of ``GAINA``/``GAINB``; ``RDNOISE``/``READNOIS``
or the mean of ``RDNOISEA``/``RDNOISEB`` (electrons). An image whose ``BUNIT``
says electrons has a gain of 1.

Noise model (``noise=``), the one thing L.A.Cosmic's threshold depends on:

``'model'``
    astroscrappy's own: ``variance = image × gain + readnoise²`` (electrons).
    Right for raw counts with the sky still in, wrong for sky-subtracted
    images or images with a pedestal.
``'measured'``
    The sky variance measured on the image (:mod:`.background`) plus the
    Poisson variance of what lies above the sky, ``max(image - sky, 0) / gain``;
    without a known gain, the effective gain ``sky / noise²`` when it is
    positive, else the source term is left out.
``'variance'``
    The variance given (a MaskedImage's variance plane, a weight map inverted).
``'auto'`` (default)
    ``'variance'`` when one is given; else ``'model'`` when the gain and read
    noise are known and the model predicts the measured sky noise within 20 %;
    else ``'measured'``.

Pixels given in ``mask`` (no data, saturated, bad columns...) are left out of
the detection (astroscrappy's ``inmask``); NaN pixels are filled with the sky
and left out too. The image is mirrored 8 pixels beyond its edges before the
detection: astroscrappy's median filters otherwise take the cores of stars
near the edge for cosmic rays (about 15 stars in a 1024 × 1024 field); stars
centred within 2 pixels of the edge can still be taken for them (the ``EDGE``
plane covers that margin).

Without a gain, the source term of ``'measured'`` needs the sky level; on a
sky-subtracted image it is left out and the cores of bright stars may be
flagged: give the gain (or a variance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.presets import made_plane
from ..errors import ParameterError
from ..progress import interruptible
from .background import Background, estimate_background

__all__ = ["NOISE_MODELS", "PLANE", "CosmicRays", "detect_cosmics", "gain_and_readnoise"]

PLANE = made_plane("CR")
NOISE_MODELS = ("auto", "model", "measured", "variance")
_ELECTRONS = ("electron", "electrons", "e-", "e")
_PAD = 8  # pixels mirrored beyond the edges (astroscrappy's largest filter is 7 x 7)


@dataclass(frozen=True)
class CosmicRays:
    """The cosmic-ray mask and how it was found.

    Attributes
    ----------
    mask : numpy.ndarray of bool
    noise : str
        The noise model used (one of ``'model'``, ``'measured'``, ``'variance'``).
    gain, readnoise : float or None
        The values used (None where unknown and not needed).
    """

    mask: np.ndarray
    noise: str
    gain: float | None
    readnoise: float | None


def gain_and_readnoise(header) -> tuple[float | None, float | None]:
    """Gain (e-/ADU) and read noise (e-) from a header; None where absent.

    Examples
    --------
    >>> gain_and_readnoise({"GAINA": 3.9, "GAINB": 4.1, "RDNOISEA": 6.0, "RDNOISEB": 6.2})
    (4.0, 6.1)
    >>> gain_and_readnoise({"BUNIT": "electron", "RDNOISE": 5.0})
    (1.0, 5.0)
    """
    if header is None:
        return None, None
    unit = str(header.get("BUNIT", "")).strip().lower()
    gain = 1.0 if unit in _ELECTRONS else _first(header, ("GAIN", "EGAIN"), ("GAINA", "GAINB"))
    readnoise = _first(header, ("RDNOISE", "READNOIS"), ("RDNOISEA", "RDNOISEB"))
    return gain, readnoise


def detect_cosmics(
    image: np.ndarray,
    *,
    gain: float | None = None,
    readnoise: float | None = None,
    satlevel: float | None = None,
    variance: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    header=None,
    noise: str = "auto",
    sigclip: float = 4.5,
    sigfrac: float = 0.3,
    objlim: float = 5.0,
    niter: int = 4,
    sepmed: bool = True,
    fsmode: str = "median",
    psfmodel: str = "gauss",
    psffwhm: float = 2.5,
    psfsize: int = 7,
    background: Background | None = None,
) -> CosmicRays:
    """Cosmic rays with L.A.Cosmic (see the module docstring for units and noise models).

    Parameters
    ----------
    image : 2-D numeric array
        The exposure, in ADU or electrons.
    gain, readnoise : float, optional
        e-/ADU and electrons; default from ``header``.
    satlevel : float, optional
        Saturation level in image units (astroscrappy masks stars at or above it).
    variance : 2-D array, optional
        Per-pixel variance in image units squared (non-finite: no data).
    mask : 2-D bool array, optional
        Pixels to leave out.
    header : astropy.io.fits.Header or mapping, optional
    noise : {'auto', 'model', 'measured', 'variance'}
    sigclip, sigfrac, objlim, niter, sepmed, fsmode, psfmodel, psffwhm, psfsize
        Passed to :func:`astroscrappy.detect_cosmics` unchanged (same meaning and defaults).
    background : Background, optional
        Sky level and noise (estimated when needed and not given).

    Returns
    -------
    CosmicRays

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> img = rng.normal(1000.0, 30.0, (64, 64)); img[20, 30:33] += 3000.0
    >>> found = detect_cosmics(img)
    >>> found.noise, np.argwhere(found.mask).tolist()
    ('measured', [[20, 30], [20, 31], [20, 32]])
    """
    import astroscrappy

    if noise not in NOISE_MODELS:
        raise ParameterError(f"noise must be one of {NOISE_MODELS}, got {noise!r}")
    data = np.asarray(image, dtype=np.float32)
    if data.ndim != 2:
        raise ParameterError(f"image must be 2-D, got shape {data.shape}")
    header_gain, header_readnoise = gain_and_readnoise(header)
    gain = header_gain if gain is None else _positive(gain, "gain")
    readnoise = header_readnoise if readnoise is None else _non_negative(readnoise, "readnoise")
    bad = ~np.isfinite(data)
    if mask is not None:
        bad |= np.asarray(mask, dtype=bool)
    if background is None and (noise != "variance" or bad.any()):
        background = estimate_background(data, mask=bad)
    if bad.any():
        data = np.where(np.isfinite(data), data, background.level)
    model, invar = _noise_model(data, noise, gain, readnoise, variance, background)
    scale = gain if gain is not None else 1.0
    level = np.inf if satlevel is None else float(np.min(satlevel)) * scale
    crmask, _ = interruptible(  # Ctrl-C is noticed while L.A.Cosmic runs
        astroscrappy.detect_cosmics,
        _padded(data),
        inmask=_padded(bad),
        invar=None if invar is None else _padded(invar),
        sigclip=sigclip,
        sigfrac=sigfrac,
        objlim=objlim,
        gain=scale,
        readnoise=readnoise if readnoise is not None else 0.0,
        satlevel=level,
        niter=niter,
        sepmed=sepmed,
        fsmode=fsmode,
        psfmodel=psfmodel,
        psffwhm=psffwhm,
        psfsize=psfsize,
        verbose=False,
    )
    crmask = np.asarray(crmask, dtype=bool)[_PAD:-_PAD, _PAD:-_PAD]
    return CosmicRays(crmask & ~bad, model, gain, readnoise)


def _padded(array: np.ndarray) -> np.ndarray:
    """The array mirrored :data:`_PAD` pixels beyond each edge, so that the median filters see no cut."""
    mode = "reflect" if min(array.shape) > _PAD else "symmetric"
    return np.ascontiguousarray(np.pad(array, _PAD, mode=mode))


def _noise_model(data, noise, gain, readnoise, variance, background) -> tuple[str, np.ndarray | None]:
    """(model name, ``invar`` for astroscrappy in image units squared, None for astroscrappy's own)."""
    if noise == "variance" or (noise == "auto" and variance is not None):
        if variance is None:
            raise ParameterError("noise='variance' needs a variance (or weight) array")
        var = np.asarray(variance, dtype=np.float32)
        if var.shape != data.shape:
            raise ParameterError(f"variance shape {var.shape} differs from image shape {data.shape}")
        huge = np.float32(1e30)
        return "variance", np.where(np.isfinite(var) & (var > 0), var, huge).astype(np.float32)
    if noise == "model" or (noise == "auto" and _model_fits(gain, readnoise, background)):
        if gain is None or readnoise is None:
            raise ParameterError("noise='model' needs the gain and read noise (arguments or GAIN/RDNOISE cards)")
        return "model", None
    return "measured", _measured_variance(data, gain, background)


def _model_fits(gain, readnoise, background) -> bool:
    """Does astroscrappy's model predict the measured sky noise within 20 %?"""
    if gain is None or readnoise is None:
        return False
    sky = float(np.median(background.level))
    if sky <= 0:
        return False
    predicted = np.sqrt(sky * gain + readnoise**2) / gain
    return abs(predicted / background.median_noise - 1.0) <= 0.2


def _measured_variance(data, gain, background) -> np.ndarray:
    noise2 = background.noise.astype(np.float32) ** 2
    if gain is None:
        sky = float(np.median(background.level))
        gain = sky / background.median_noise**2 if sky > 0 else None
    if gain is None:
        return noise2
    return noise2 + np.maximum(data - background.level, 0.0) / np.float32(gain)


def _first(header, single: tuple[str, ...], pair: tuple[str, str]) -> float | None:
    for key in single:
        value = _number(header.get(key))
        if value is not None:
            return value
    values = [_number(header.get(key)) for key in pair]
    if all(v is not None for v in values):
        return float(np.mean(values))
    return None


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) and number > 0 else None


def _positive(value, name: str) -> float:
    number = _number(value)
    if number is None:
        raise ParameterError(f"{name} must be a positive number, got {value!r}")
    return number


def _non_negative(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not np.isfinite(number) or number < 0:
        raise ParameterError(f"{name} must be a non-negative number, got {value!r}")
    return number
