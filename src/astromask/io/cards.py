"""Mask plane tables in FITS headers, in the three conventions files use.

* lsst.images: ``MSKNnnnn`` = name, ``MSKMnnnn`` = bit value, ``MSKDnnnn`` =
  description; ``nnnn`` is 0-based within the HDU (1-based in 30.0.6 files).
* afw legacy: ``MP_<NAME> = <bit index>`` (``HIERARCH MP_<NAME>`` for long names).
* astromask generic masks with no table: ``BITnn`` planes for the bits in use.
"""

from __future__ import annotations

import math
import re

import numpy as np
from astropy.io import fits

from ..core.schema import MaskPlane, MaskSchema
from ..errors import FormatError, ParameterError

__all__ = [
    "card_int",
    "generic_schema",
    "has_mp_cards",
    "has_msk_cards",
    "mp_cards",
    "msk_cards",
    "schema_from_mp_cards",
    "schema_from_msk_cards",
]

_MSKN = re.compile(r"^MSKN(\d{4})$")


def has_msk_cards(header: fits.Header) -> bool:
    return any(_MSKN.match(k) for k in header)


def msk_cards(schema: MaskSchema, *, start: int = 0) -> fits.Header:
    """``MSKN/MSKM/MSKD`` cards for a schema whose bits are packed (no reserved gaps).

    ``start`` is the number of the first card (0 for current lsst.images, 1 for 30.0.6).
    """
    hdr = fits.Header()
    for bit, plane in schema.items():
        n = bit + start
        hdr[f"MSKN{n:04d}"] = (plane.name, f"Name for mask plane {n}.")
        hdr[f"MSKM{n:04d}"] = (1 << bit, f"Bitmask for plane n={n}; always 1<<n." if start == 0 else "")
        hdr[f"MSKD{n:04d}"] = plane.description
    return hdr


def card_int(header: fits.Header, key: str, *, low: int = 0, high: int | None = None) -> int:
    """The integer value of card ``key``, refused (naming the card) when it is not a whole number in
    ``low..high``: a string, a float with a fraction, ``1E999``, a bool."""
    value = header[key]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise FormatError(f"card {key} = {value!r} is not an integer")
    if isinstance(value, (float, np.floating)) and (not math.isfinite(value) or value != int(value)):
        raise FormatError(f"card {key} = {value!r} is not an integer")
    number = int(value)
    if number < low or (high is not None and number > high):
        raise FormatError(f"card {key} = {value!r} is outside {low}..{high if high is not None else ''}")
    return number


def schema_from_msk_cards(
    header: fits.Header, *, one_based: bool = False, dtype=None, name: str | None = None
) -> MaskSchema:
    """Schema from ``MSKN``/``MSKM``/``MSKD`` cards; gaps become reserved bits.

    The bit of a plane is taken from its ``MSKM`` value when present (it must
    be a power of two), else from its card number (``1 << n``, or
    ``1 << (n - 1)`` for 1-based 30.0.6 files).
    """
    bits: dict[str, int] = {}
    descriptions: dict[str, str] = {}
    for key in header:
        m = _MSKN.match(key)
        if not m:
            continue
        n = int(m.group(1))
        plane = str(header[key]).strip()
        value = header.get(f"MSKM{n:04d}")
        if value is not None:
            value = card_int(header, f"MSKM{n:04d}", low=1, high=2**63)
            if value <= 0 or value & (value - 1):
                raise ParameterError(f"MSKM{n:04d}={value} for plane {plane!r} is not a single bit")
            bit = value.bit_length() - 1
        else:
            bit = n - 1 if one_based else n
        bits[plane] = bit
        descriptions[plane] = str(header.get(f"MSKD{n:04d}", "")).strip()
    if not bits:
        raise ParameterError("header has no MSKN cards describing a mask schema")
    return MaskSchema.from_bits(bits, descriptions, dtype=dtype, name=name)


def has_mp_cards(header: fits.Header) -> bool:
    return any(k.upper().startswith("MP_") for k in header)


def mp_cards(schema: MaskSchema) -> fits.Header:
    """afw ``MP_<NAME> = bit`` cards (astropy writes ``HIERARCH`` for names over 5 characters)."""
    hdr = fits.Header()
    for bit, plane in schema.items():
        key = f"MP_{plane.name}"
        hdr[key if len(key) <= 8 else f"HIERARCH {key}"] = bit
    return hdr


def schema_from_mp_cards(header: fits.Header, *, descriptions=None, name: str | None = None) -> MaskSchema:
    """Schema from afw ``MP_<NAME> = bit`` cards (any keyword starting ``MP_``, HIERARCH included)."""
    bits = {}
    for key in header:
        if key.upper().startswith("MP_"):
            bits[key[3:]] = card_int(header, key, high=63)
    if not bits:
        raise ParameterError("header has no MP_* cards describing mask planes")
    return MaskSchema.from_bits(bits, descriptions or {}, name=name)


def generic_schema(array: np.ndarray, *, name: str = "bits") -> MaskSchema:
    """One ``BITnn`` plane for each bit that is set somewhere in an unsigned mask array."""
    used = int(np.bitwise_or.reduce(array, axis=None)) if array.size else 0
    nbits = max(used.bit_length(), 1)
    planes = [
        MaskPlane(f"BIT{b:02d}", f"Bit {b} (value {1 << b}); the file names no planes.") if used >> b & 1 else None
        for b in range(nbits)
    ]
    return MaskSchema(planes, name=name)
