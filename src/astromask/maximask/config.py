"""MaxiMask's classes and their settings: class selection, priors, thresholds, single mask.

The settings are read from ``classes.flags``, ``classes.priors`` and
``classes.thresh`` with the original's syntax and rules: exactly 14 lines of
``NAME value``, one per class in the fixed order below; only the order matters
(the names are not checked); flags are integers (non-zero selects the class).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = [
    "CLASSES",
    "CLASS_NAMES",
    "DEFAULT_PRIORS",
    "DEFAULT_THRESHOLDS",
    "N_CLASSES",
    "TRAINING_PRIORS",
    "ClassConfig",
    "read_config",
    "read_config_file",
]

#: Abbreviation and header name of each class, in network output order; BG has no bit.
CLASSES = (
    ("CR", "CR: Cosmic Rays"),
    ("HCL", "HCL: Hot Columns/Lines"),
    ("DCL", "DCL: Dead Columns/Lines/Clusters"),
    ("HP", "HP: Hot Pixels"),
    ("DP", "DP: Dead Pixels"),
    ("P", "P: Persistence"),
    ("TRL", "TRL: TRaiLs"),
    ("FR", "FR: residual FRinging"),
    ("NEB", "NEB: NEBulosities"),
    ("SAT", "SAT: SATurated pixels"),
    ("SP", "SP: diffraction SPikes"),
    ("OV", "OV: Overscan"),
    ("BBG", "BBG: Bright BackGround"),
    ("BG", "BG: BackGround"),
)
CLASS_NAMES = tuple(abbr for abbr, _ in CLASSES)
N_CLASSES = len(CLASSES)
BACKGROUND = N_CLASSES - 1

#: Class proportions in MaxiMask's training set (hard-coded in the original).
TRAINING_PRIORS = np.array(
    [0.010, 0.009, 0.036, 0.001, 0.001, 0.010, 0.103, 0.126, 0.171, 0.002, 0.044, 0.118, 0.126, 0.395],
    dtype=np.float32,
)
#: The original's ``config/classes.priors``.
DEFAULT_PRIORS = np.array(
    [0.0005, 0.00001, 0.0001, 0.000001, 0.000001, 0.001, 0.001, 0.001, 0.001, 0.001, 0.005, 0.005, 0.1, 0.9],
    dtype=np.float32,
)
#: The original's ``config/classes.thresh``.
DEFAULT_THRESHOLDS = np.array(
    [0.43, 0.60, 0.74, 0.43, 0.99, 0.65, 0.28, 0.76, 0.56, 0.81, 0.54, 0.55, 0.44, 0.27], dtype=np.float32
)

_FILES = {"flags": "classes.flags", "priors": "classes.priors", "thresh": "classes.thresh"}


@dataclass(frozen=True, eq=False)
class ClassConfig:
    """What MaxiMask computes: which classes, with which priors and thresholds, joined or not.

    Parameters
    ----------
    flags : array of 14 bool
        Selected classes, in :data:`CLASSES` order.
    priors : array of 14 float32, optional
        Expected class proportions; the network's probabilities are moved
        from the training priors to these. ``None``: raw probabilities.
    thresholds : array of 14 float32, optional
        A class is set where its probability is strictly above its
        threshold. ``None``: probabilities are returned.
    single_mask : bool
        Join the thresholded classes into one map of ``sum(2**k)`` (BG counts 0).
    """

    flags: np.ndarray
    priors: np.ndarray | None
    thresholds: np.ndarray | None
    single_mask: bool = False

    def __post_init__(self) -> None:
        flags = np.asarray(self.flags, dtype=bool)
        if flags.shape != (N_CLASSES,):
            raise ParameterError(f"flags must hold {N_CLASSES} values, got shape {flags.shape}")
        if not flags.any():
            raise ParameterError("no class selected (all flags are 0)")
        object.__setattr__(self, "flags", flags)
        for name in ("priors", "thresholds"):
            value = getattr(self, name)
            if value is not None:
                value = np.asarray(value, dtype=np.float32)
                if value.shape != (N_CLASSES,):
                    raise ParameterError(f"{name} must hold {N_CLASSES} values, got shape {value.shape}")
                object.__setattr__(self, name, value)
        if self.priors is not None:
            bad = [CLASS_NAMES[k] for k in self.selected if not 0 < self.priors[k] < 1]
            if bad:
                raise ParameterError(f"priors must be strictly between 0 and 1; not so for {', '.join(bad)}")
        if self.single_mask and self.thresholds is None:
            raise ParameterError("a single mask needs thresholds (cannot join probabilities)")

    @classmethod
    def default(
        cls, *, classes=None, prior_modif: bool = True, proba_thresh: bool = True, single_mask: bool = False
    ) -> ClassConfig:
        """The original's default settings, optionally for some ``classes`` (abbreviations) only."""
        if classes is None:
            flags = np.ones(N_CLASSES, dtype=bool)
        else:
            names = [classes] if isinstance(classes, str) else list(classes)
            unknown = [c for c in names if c not in CLASS_NAMES]
            if unknown:
                raise ParameterError(f"unknown MaxiMask class {unknown[0]!r}; classes are {', '.join(CLASS_NAMES)}")
            flags = np.isin(CLASS_NAMES, names)
        return cls(
            flags,
            DEFAULT_PRIORS if prior_modif else None,
            DEFAULT_THRESHOLDS if proba_thresh else None,
            single_mask,
        )

    @property
    def selected(self) -> np.ndarray:
        """Indices of the selected classes (the order of the output planes)."""
        return np.flatnonzero(self.flags)

    @property
    def names(self) -> list[str]:
        """Abbreviations of the selected classes."""
        return [CLASS_NAMES[k] for k in self.selected]

    def prior_factors(self) -> np.ndarray | None:
        """``f = [pi_tr / (1 - pi_tr)] * [(1 - pi) / pi]`` per selected class (float32), or None."""
        if self.priors is None:
            return None
        train, new = TRAINING_PRIORS[self.flags], self.priors[self.flags]
        return (train / (1 - train)) * ((1 - new) / new)

    def powers(self) -> np.ndarray:
        """``2**k`` of each selected class in a single mask (0 for BG), float32."""
        powers = np.power(2.0, self.selected).astype(np.float32)
        powers[self.selected == BACKGROUND] = 0
        return powers


def read_config_file(path: str | os.PathLike, kind: type = float) -> np.ndarray:
    """Values of a ``classes.*`` file: 14 lines of ``NAME value``, only the order counts.

    Parameters
    ----------
    path : str or path
    kind : {float, bool}
        float for priors and thresholds (float32 result); bool for flags
        (integers, non-zero selects).

    Raises
    ------
    FileNotFoundError, ValueError
        Naming the file (and line) that breaks the rules.
    """
    path = os.fspath(path)
    with open(path) as f:
        lines = f.readlines()
    if len(lines) != N_CLASSES:
        raise ParameterError(f"{path}: must have one line per class ({N_CLASSES} lines), has {len(lines)}")
    values = []
    for number, line in enumerate(lines, start=1):
        fields = line.split()
        if len(fields) < 2:
            raise ParameterError(f"{path}: line {number} is not 'NAME value': {line.strip()!r}")
        try:
            values.append(float(fields[1]) if kind is float else int(fields[1]))
        except ValueError:
            expected = "a number" if kind is float else "an integer flag"
            raise ParameterError(f"{path}: line {number}: {fields[1]!r} is not {expected}") from None
    return np.array(values, dtype=np.float32 if kind is float else bool)


def read_config(
    config_dir: str | os.PathLike | None = None,
    *,
    prior_modif: bool = True,
    proba_thresh: bool = True,
    single_mask: bool = False,
) -> ClassConfig:
    """Settings from ``classes.flags`` (always read), ``classes.priors`` (if ``prior_modif``) and
    ``classes.thresh`` (if ``proba_thresh``) in ``config_dir``; the defaults when ``config_dir`` is None.

    Examples
    --------
    >>> read_config().names[:3]
    ['CR', 'HCL', 'DCL']
    """
    if config_dir is None:
        return ClassConfig.default(prior_modif=prior_modif, proba_thresh=proba_thresh, single_mask=single_mask)
    paths = {key: os.path.join(config_dir, name) for key, name in _FILES.items()}
    flags = read_config_file(paths["flags"], bool)
    if not flags.any():
        raise ParameterError(f"{paths['flags']}: no output class requested (all flags are 0)")
    priors = read_config_file(paths["priors"]) if prior_modif else None
    thresholds = read_config_file(paths["thresh"]) if proba_thresh else None
    return ClassConfig(flags, priors, thresholds, single_mask)
