"""MaxiMask and MaxiTrack (Paillassa et al. 2020) in PyTorch, with the original trained weights.

MaxiMask is a convolutional network that finds, per pixel, cosmic rays, hot
and dead columns/lines/pixels, persistence, trails, fringing, nebulosities,
saturation, diffraction spikes, overscan and bright background; MaxiTrack
gives the probability that an exposure suffers from tracking errors.

The trained weights of ``maximask==1.4.1`` are read from its TensorFlow
checkpoint without TensorFlow (:mod:`~astromask.maximask.checkpoint`); the
networks run in PyTorch (extra ``astromask[cnn]``). Inference reproduces the
original's normalisation, tiling, priors and thresholds; see
``docs/maximask.md``.

Examples
--------
>>> from astromask import maximask
>>> if maximask.available():  # doctest: +SKIP
...     mask = maximask.predict_mask(image)          # a Mask with planes CR, HCL, ... BBG
...     proba = maximask.predict_probabilities(image)  # (14, H, W) float32
...     score = maximask.maxitrack_score(image)      # probability of tracking errors
"""

from __future__ import annotations

import functools
import os

import numpy as np

from .. import _optional
from ..errors import MissingDependencyError, WeightsNotFoundError
from . import numerics
from .config import CLASS_NAMES, ClassConfig, read_config
from .weights import fetch, find_net_dir, weights_available

__all__ = [
    "CLASS_NAMES",
    "ClassConfig",
    "MissingDependencyError",
    "WeightsNotFoundError",
    "available",
    "fetch",
    "find_net_dir",
    "load_maximask",
    "load_maxitrack",
    "maxitrack_score",
    "numerics",
    "predict_mask",
    "predict_probabilities",
    "read_config",
]


# the same kernels on every x86-64 CPU: before any PyTorch operation (see numerics)
numerics.pin()


def torch_available() -> bool:
    """Whether PyTorch can be imported."""
    return _optional.has("torch")


def require_torch() -> None:
    """Raise :class:`MissingDependencyError` with the install command when PyTorch is missing."""
    if not torch_available():
        raise MissingDependencyError("MaxiMask and MaxiTrack need PyTorch: pip install 'astromask[cnn]'")


def available() -> bool:
    """Whether MaxiMask can run here: PyTorch installed and the weights found (nothing is downloaded)."""
    return torch_available() and weights_available("maximask")


@functools.lru_cache(maxsize=4)
def load_maximask(net_dir: str | None = None, device: str | None = None, batch_size: int | None = None):
    """A :class:`~astromask.maximask.inference.MaxiMask` (cached: the weights are read once per setting)."""
    require_torch()
    from .inference import MaxiMask

    return MaxiMask(net_dir, device=device, batch_size=batch_size)


@functools.lru_cache(maxsize=4)
def load_maxitrack(net_dir: str | None = None, device: str | None = None, batch_size: int = 16):
    """A :class:`~astromask.maximask.maxitrack.MaxiTrack` (cached)."""
    require_torch()
    from .maxitrack import MaxiTrack

    return MaxiTrack(net_dir, device=device, batch_size=batch_size)


def _config(classes, config_dir, config: ClassConfig | None) -> ClassConfig:
    if config is not None:
        return config
    if config_dir is not None:
        cfg = read_config(config_dir)
        if classes is None:
            return cfg
        return ClassConfig(cfg.flags & ClassConfig.default(classes=classes).flags, cfg.priors, cfg.thresholds)
    return ClassConfig.default(classes=classes)


def predict_mask(
    image: np.ndarray,
    *,
    classes=None,
    config_dir: str | os.PathLike | None = None,
    config: ClassConfig | None = None,
    net_dir: str | None = None,
    device: str | None = None,
    batch_size: int | None = None,
):
    """MaxiMask's classes of a 2-D image as a :class:`~astromask.Mask` (schema ``maximask``).

    Parameters
    ----------
    image : numpy.ndarray
        2-D image of raw pixel values, larger than 400x400.
    classes : str or list of str, optional
        Abbreviations of the classes to compute (``'CR'``, ``'SAT'``, ...);
        default all.
    config_dir : str or path, optional
        Directory with ``classes.flags``/``classes.priors``/``classes.thresh``
        in the original's syntax; default: the original's settings.
    config : ClassConfig, optional
        Settings given directly (overrides ``classes`` and ``config_dir``).
    net_dir : str, optional
        Model directory in the original layout; default: found in the cache.
    device : {'cpu', 'cuda'}, optional
        Default: CUDA when available.
    batch_size : int, optional
        Patches per network call (default 4 on CPUs, 16 on GPUs).

    Returns
    -------
    Mask
        One plane per computed class (BG aside), at the preset bits
        (``CR`` = 1 ... ``BBG`` = 4096).
    """
    mm = load_maximask(None if net_dir is None else os.fspath(net_dir), device, batch_size)
    return mm.mask(image, _config(classes, config_dir, config))


def predict_probabilities(
    image: np.ndarray,
    *,
    classes=None,
    priors: bool = True,
    net_dir: str | None = None,
    device: str | None = None,
    batch_size: int | None = None,
) -> np.ndarray:
    """MaxiMask's class probabilities ``(n_classes, H, W)`` float32, moved to the default priors unless
    ``priors=False``; a cube ``(C, H, W)`` gives ``(C, n_classes, H, W)``."""
    mm = load_maximask(None if net_dir is None else os.fspath(net_dir), device, batch_size)
    return mm.probabilities(image, classes=classes, priors=priors)


def maxitrack_score(
    image: np.ndarray,
    *,
    prior: float = 0.05,
    net_dir: str | None = None,
    device: str | None = None,
    batch_size: int = 16,
):
    """MaxiTrack's probability that the image suffers from tracking errors (one per plane of a cube)."""
    mt = load_maxitrack(None if net_dir is None else os.fspath(net_dir), device, batch_size)
    return mt.score(image, prior)
