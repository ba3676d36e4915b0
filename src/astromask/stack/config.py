"""Parameters of the stack pipeline, with KBMOD's names, defaults and TOML loading.

The names are those of KBMOD's configuration (``a8e96632
src/kbmod/configuration.py``, the last version with config-driven masking):

====================  ==========================================  =============================
key                   meaning                                     default
====================  ==========================================  =============================
``flag_keys``         planes that mask a pixel in its own image   BAD, EDGE, NO_DATA, SUSPECT,
                                                                  UNMASKEDNAN
``repeated_flag_keys`` planes counted for the global mask         none (global mask off)
``mask_num_images``   a pixel is global when that many images     2
                      (or more) have a repeated flag there
``mask_grow``         growth radius of the combined mask          10
``mask_threshold``    mask ``science > mask_threshold``           None (off; 0 is off too)
``mask_bits_dict``    ``{plane: bit index}`` used *instead of*    None (each file's own planes)
                      each file's own plane map (``"kbmod"``:
                      KBMOD's hard-coded map)
``mask_bit_vector``   integer flags used instead of flag_keys     None
``max_masked_pixels`` drop images whose masked fraction is above  0.5 (KBMOD's code)
``footprint``         shape of the growth (astromask's addition)  ``'diamond'`` (KBMOD's)
``unknown_flags``     a given plane name an image lacks           ``'error'`` (KBMOD skips it)
                      (astromask's addition): error, warn, ignore
``min_usable``        drop images whose usable fraction (neither  None (off)
                      masked nor NO_DATA) is below this
                      (astromask's; KBMOD's "drop bad images")
``group_by``          count the global mask per group, not per    None (per image)
                      image: ``'night'`` or a header key
                      (astromask's)
``night_offset``      hours added to MJD-OBS before taking the    None: the site's local noon
                      date, for ``group_by = 'night'``            (``OBSGEO-L``), else -12
                                                                  (Rubin's ``day_obs``)
====================  ==========================================  =============================
"""

from __future__ import annotations

import difflib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from types import MappingProxyType

from ..core.presets import get_schema
from ..core.schema import MAX_PLANES, MaskPlane, synonyms
from ..errors import ParameterError
from ..morphology.footprint import FOOTPRINTS

__all__ = ["DEFAULT_FLAG_KEYS", "KBMOD_MASK_BITS", "StackConfig", "load_config"]

#: KBMOD's default per-image flags.
DEFAULT_FLAG_KEYS = ("BAD", "EDGE", "NO_DATA", "SUSPECT", "UNMASKEDNAN")

#: KBMOD's hard-coded ``mask_bits_dict`` (bit indices), selected with ``mask_bits_dict = "kbmod"``:
#: the Rubin planes at their afw bits (``tests/test_stack.py`` checks it against KBMOD's table).
KBMOD_MASK_BITS = MappingProxyType({plane.name: bit for bit, plane in get_schema("rubin").items()})


def _names(value, key: str) -> tuple[str, ...]:
    """Plane names from ``"A,B"`` or a list; duplicates are dropped (KBMOD's sum would carry)."""
    if isinstance(value, str):
        items = [v.strip() for v in value.split(",")]
        items = [v for v in items if v]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ParameterError(f"{key} must be a list of plane names or a comma-separated string, got {value!r}")
    for item in items:
        if not isinstance(item, str):
            raise ParameterError(f"{key} must hold plane names, got {item!r}")
        try:
            MaskPlane(item.strip())
        except ValueError:
            raise ParameterError(f"{key}: {item!r} is not a plane name") from None
    return tuple(dict.fromkeys(item.strip().upper() for item in items))


def _integer(value, key: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ParameterError(f"{key} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _fraction(value, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ParameterError(f"{key} must be a fraction in 0..1, got {value!r}")
    return float(value)


def _group_by(value) -> str | None:
    """``None``, ``'night'`` or a FITS header keyword (upper case)."""
    if value is None:
        return None
    text = value.strip() if isinstance(value, str) else None
    if not text:
        raise ParameterError(f"group_by must be 'night' or a header keyword such as FILTER, got {value!r}")
    if text.lower() == "night":
        return "night"
    if (len(text) > 8 and not text.upper().startswith("HIERARCH ")) or not all(c.isalnum() or c in "-_ " for c in text):
        raise ParameterError(f"group_by: {value!r} is not a FITS header keyword (up to 8 of A-Z 0-9 - _)")
    return text.upper()


def _bits_dict(value) -> Mapping[str, int] | None:
    if value is None:
        return None
    if isinstance(value, str):
        if value.strip().lower() == "kbmod":
            return dict(KBMOD_MASK_BITS)
        raise ParameterError(f"mask_bits_dict must be a table {{plane = bit index}} or 'kbmod', got {value!r}")
    if not isinstance(value, Mapping):
        raise ParameterError(f"mask_bits_dict must be a table {{plane = bit index}} or 'kbmod', got {value!r}")
    out = {}
    for name, bit in value.items():
        _names([name], "mask_bits_dict")
        if isinstance(bit, bool) or not isinstance(bit, int) or not 0 <= bit < MAX_PLANES:
            raise ParameterError(
                f"mask_bits_dict: bit index of {name!r} must be an integer in 0..{MAX_PLANES - 1}, got {bit!r}"
            )
        out[name.strip().upper()] = int(bit)
    return out


@dataclass(frozen=True)
class StackConfig:
    """Parameters of :func:`astromask.stack.run_stack`, under KBMOD's names (see the module docstring).

    Every value is checked on construction; errors name the parameter.

    Examples
    --------
    >>> cfg = StackConfig(flag_keys="BAD,EDGE,BAD", mask_grow=1)
    >>> cfg.flag_keys, cfg.global_masking
    (('BAD', 'EDGE'), False)
    >>> StackConfig(mask_num_images=0)
    Traceback (most recent call last):
    ...
    ValueError: mask_num_images must be an integer >= 1, got 0
    """

    flag_keys: tuple[str, ...] = DEFAULT_FLAG_KEYS
    repeated_flag_keys: tuple[str, ...] = ()
    mask_num_images: int = 2
    mask_grow: int = 10
    mask_threshold: float | None = None
    mask_bits_dict: Mapping[str, int] | None = field(default=None, hash=False)
    mask_bit_vector: int | None = None
    max_masked_pixels: float = 0.5
    footprint: str = "diamond"
    unknown_flags: str = "error"
    min_usable: float | None = None
    group_by: str | None = None
    night_offset: float | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalise the values in place once
        set_(self, "flag_keys", _names(self.flag_keys, "flag_keys"))
        set_(self, "repeated_flag_keys", _names(self.repeated_flag_keys, "repeated_flag_keys"))
        set_(self, "mask_num_images", _integer(self.mask_num_images, "mask_num_images", 1))
        set_(self, "mask_grow", _integer(self.mask_grow, "mask_grow", 0))
        if self.mask_bit_vector is not None:
            set_(self, "mask_bit_vector", _integer(self.mask_bit_vector, "mask_bit_vector", 0))
        set_(self, "mask_threshold", self._threshold(self.mask_threshold))
        set_(self, "mask_bits_dict", _bits_dict(self.mask_bits_dict))
        set_(self, "max_masked_pixels", _fraction(self.max_masked_pixels, "max_masked_pixels"))
        if self.min_usable is not None:
            set_(self, "min_usable", _fraction(self.min_usable, "min_usable"))
        set_(self, "group_by", _group_by(self.group_by))
        if self.night_offset is not None:
            offset = self.night_offset
            if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not -24 <= offset <= 24:
                raise ParameterError(f"night_offset must be a number of hours in -24..24, got {offset!r}")
            set_(self, "night_offset", float(offset))
        if self.unknown_flags not in ("error", "warn", "ignore"):
            raise ParameterError(f"unknown_flags must be one of error, warn, ignore, got {self.unknown_flags!r}")
        if self.footprint not in FOOTPRINTS:
            raise ParameterError(f"footprint must be one of {FOOTPRINTS}, got {self.footprint!r}")

    @staticmethod
    def _threshold(value) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ParameterError(f"mask_threshold must be a finite number or unset, got {value!r}")
        return float(value)

    @property
    def global_masking(self) -> bool:
        """True when ``repeated_flag_keys`` is not empty (KBMOD's switch for the global mask)."""
        return bool(self.repeated_flag_keys)

    @property
    def flags_no_data(self) -> bool:
        """True when the per-image flags name ``NO_DATA`` (or a synonym): the pixels without data are
        then grown with the other flags, as KBMOD grows its ``NO_DATA`` plane."""
        if self.mask_bit_vector:
            return False
        return any(key == "NO_DATA" or "NO_DATA" in synonyms(key) for key in self.flag_keys)

    @property
    def thresholding(self) -> bool:
        """True when ``mask_threshold`` is set and not 0 (KBMOD tests its truth value)."""
        return bool(self.mask_threshold)

    def replace(self, **changes) -> StackConfig:
        """A copy with ``changes`` applied (and checked)."""
        return replace(self, **changes)

    def as_dict(self) -> dict:
        """Plain values, for table metadata and TOML round trips (unset values are ``None``)."""
        out = asdict(self)
        out["flag_keys"] = list(self.flag_keys)
        out["repeated_flag_keys"] = list(self.repeated_flag_keys)
        out["mask_bits_dict"] = None if self.mask_bits_dict is None else dict(self.mask_bits_dict)
        return out

    @classmethod
    def from_mapping(cls, values: Mapping, *, source: str = "configuration") -> StackConfig:
        """A configuration from ``{key: value}``; unknown keys are an error naming ``source``.

        >>> StackConfig.from_mapping({"mask_grow": 2}).mask_grow
        2
        >>> StackConfig.from_mapping({"mask_treshold": 2}, source="kbmod.toml")
        Traceback (most recent call last):
        ...
        ValueError: kbmod.toml: unknown key 'mask_treshold' (did you mean 'mask_threshold'?)
        """
        known = [f.name for f in fields(cls)]
        for key in values:
            if key not in known:
                close = difflib.get_close_matches(str(key), known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f"; known keys: {', '.join(known)}"
                raise ParameterError(f"{source}: unknown key {key!r}{hint}")
        try:
            return cls(**dict(values))
        except ValueError as exc:
            raise ParameterError(f"{source}: {exc}") from None


def load_config(path: str | os.PathLike, **overrides) -> StackConfig:
    """Read a TOML file of KBMOD parameter names (top level), then apply ``overrides``.

    Parameters
    ----------
    path : str or path-like
        TOML file, e.g. ``flag_keys = ["BAD", "EDGE"]``, ``mask_grow = 1``,
        ``[mask_bits_dict]`` ``BAD = 0``. ``mask_threshold`` is left out to
        leave it unset (TOML has no null).
    **overrides
        Values that replace the file's (the command line's options).

    Returns
    -------
    StackConfig
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as stream:
            values = tomllib.load(stream)
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"{path}: not valid TOML: {exc}") from None
    config = StackConfig.from_mapping(values, source=path)
    return config.replace(**overrides) if overrides else config
