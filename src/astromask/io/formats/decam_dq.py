"""DECam Community Pipeline data-quality encodings: integer codes or bit planes (:mod:`astromask.io.formats.decam`).

DQ encodings
    CP versions before V3.5 store **bits** (1 bad, 2 saturated, 4 interpolated,
    16 cosmic ray, 64 bleed trail, 128 transient); V3.5 and later store one
    integer **code** per pixel (1 bad, 2 no value, 3 saturated, 4 bleed, 5
    cosmic ray, 6 low weight, 7 difference detection / transient, 8 long
    streak). The encoding is decided, in this order, from

    1. astromask's own ``DQENCODE`` card (``'codes'`` or ``'bits'``);
    2. ``PLVER`` for DECam: ``>= V3.5`` means codes (legacypipe's
       ``decam_has_dq_codes``); for other CP cameras (90prime, Mosaic3)
       legacypipe always reads codes, and so does astromask;
    3. the values, when there is no ``PLVER``: codes if every value is in
       0..8 and some non-zero value is not a power of two (3, 5, 6, 7), else
       bits;

    or forced with ``encoding='codes'``/``'bits'``. Both land in the
    ``decam_cp`` preset (bits keep their CP positions, so a bit-valued mask is
    read as it is; codes become planes ``BAD``, ``NO_DATA``, ``SAT``,
    ``BLEED``, ``CR``, ``LOW_WEIGHT``, ``TRANSIENT``, ``STREAK``). The result
    names the rule: the mask schema is called ``'decam_cp/codes: <rule>'`` or
    ``'decam_cp/bits: <rule>'``, and a MaskedImage's metadata gets
    ``DQENCODE`` (the encoding) and ``DQRULE`` (the rule) cards. Values are
    kept as the file has them (legacypipe's clean-ups, such as turning BAD
    pixels next to saturated ones into SAT, are not applied).
"""

from __future__ import annotations

import re

import numpy as np
from astropy.io import fits

from ...core.mask import Mask, as_unsigned
from ...core.masked_image import MaskedImage
from ...core.presets import get_schema
from ...core.schema import MaskSchema
from ...errors import FormatError, ParameterError

__all__ = ["CODES", "CODE_PRECEDENCE", "ENCODINGS", "decode_dq", "dq_encoding", "encode_dq", "losses"]

CODES = {1: "BAD", 2: "NO_DATA", 3: "SAT", 4: "BLEED", 5: "CR", 6: "LOW_WEIGHT", 7: "TRANSIENT", 8: "STREAK"}
#: Which code wins when several planes are set in one pixel (first wins).
CODE_PRECEDENCE = ("NO_DATA", "BAD", "SAT", "BLEED", "CR", "STREAK", "TRANSIENT", "LOW_WEIGHT")
ENCODINGS = ("codes", "bits")


# -- DQ encodings ---------------------------------------------------------------------------------


def _version(plver: str) -> tuple[int, ...] | None:
    text = str(plver).strip().upper().replace("DES ", "").lstrip("V")
    m = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", text)
    if not m:
        return None
    return tuple(int(g) if g else 0 for g in m.groups())


def _looks_like_codes(values: np.ndarray) -> bool:
    if values.size == 0 or values.min() < 0 or values.max() > 8:
        return False
    present = np.flatnonzero(np.bincount(values.ravel().astype(np.int64), minlength=9))
    return any(v & (v - 1) for v in present if v)


def dq_encoding(primary: fits.Header, values: np.ndarray | None = None) -> tuple[str, str]:
    """``(encoding, rule)``: how a CP DQ mask stores its flags, and why we think so.

    >>> dq_encoding(fits.Header({"INSTRUME": "DECam", "PLVER": "V4.8.2"}))
    ('codes', 'PLVER V4.8.2 >= V3.5')
    >>> dq_encoding(fits.Header(), np.array([[0, 5], [1, 0]]))
    ('codes', 'values: all in 0..8, some not a power of two (no PLVER)')
    """
    card = str(primary.get("DQENCODE", "")).strip().lower()
    if card in ENCODINGS:
        return card, "DQENCODE card"
    plver = str(primary.get("PLVER", "")).strip()
    if plver:
        instrument = str(primary.get("INSTRUME", "")).strip()
        if instrument and instrument.upper() != "DECAM":
            return "codes", f"INSTRUME {instrument}: non-DECam CP masks hold codes (as legacypipe reads them)"
        version = _version(plver)
        if version is not None:
            codes = version >= (3, 5, 0)
            return ("codes" if codes else "bits"), f"PLVER {plver} {'>=' if codes else '<'} V3.5"
    if values is None:
        return "bits", "no PLVER and no values to look at"
    if _looks_like_codes(np.asarray(values)):
        return "codes", "values: all in 0..8, some not a power of two (no PLVER)"
    return "bits", "values: powers of two or above 8 (no PLVER)"


def _schema(encoding: str, rule: str, dtype=None) -> MaskSchema:
    preset = get_schema("decam_cp")
    return MaskSchema(preset.planes, dtype=dtype or preset.dtype, name=f"decam_cp/{encoding}: {rule}")


def decode_dq(dq: np.ndarray, encoding: str, *, rule: str = "", path: str = "", hdu=None) -> Mask:
    """A ``decam_cp`` :class:`~astromask.Mask` from a CP DQ array in ``encoding`` ``{'codes', 'bits'}``.

    >>> m = decode_dq(np.array([[0, 5, 3]]), "codes")
    >>> m.counts()["CR"], m.counts()["SAT"], m.counts()["INTERP"]
    (1, 1, 0)
    >>> decode_dq(np.array([[0, 20]]), "bits").schema.interpret(20)
    ['INTERP', 'CR']
    """
    dq = np.asarray(dq)
    if dq.dtype.kind not in "iu":
        raise FormatError(f"DQ mask holds {dq.dtype} data, not integers", path=path or None, hdu=hdu)
    if encoding == "codes":
        bad = dq[(dq < 0) | (dq > 8)] if dq.size else dq[:0]
        if bad.size:
            raise FormatError(
                f"DQ value {int(bad.flat[0])} is not a CP code (0-8); read it with encoding='bits' "
                "if this mask holds bits",
                path=path or None,
                hdu=hdu,
            )
        schema = _schema("codes", rule)
        lut = np.zeros(9, dtype=schema.dtype)
        for code, plane in CODES.items():
            lut[code] = 1 << schema.bit(plane)
        return Mask(lut[dq.astype(np.intp)], schema, copy=False)
    if encoding == "bits":
        array = as_unsigned(dq)
        used = int(np.bitwise_or.reduce(array, axis=None)) if array.size else 0
        schema = _schema("bits", rule, np.uint16 if used < 1 << 16 else np.uint32 if used < 1 << 32 else np.uint64)
        return Mask(array, schema)
    raise ParameterError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")


def _encoding_of(schema: MaskSchema) -> str | None:
    name = schema.name or ""
    for encoding in ENCODINGS:
        if name.startswith(f"decam_cp/{encoding}"):
            return encoding
    return None


def _to_decam_cp(mask: Mask) -> Mask:
    """The mask in ``decam_cp`` planes (synonyms renamed, other planes dropped: :func:`losses` says which)."""
    preset = get_schema("decam_cp")
    if all(p == q for p, q in zip(mask.schema.planes, preset.planes)) and mask.schema.nbits <= preset.nbits:
        return mask
    renamed = Mask(mask.array, preset.aligned(mask.schema), copy=False)  # SATURATED -> SAT (schema.SYNONYMS)
    return renamed.remap(preset, drop=True)


def _write_encoding(obj: MaskedImage | Mask, encoding: str | None) -> str:
    """The DQ encoding :func:`write` uses: the one given, else the one read, else bits."""
    if encoding is not None:
        return encoding
    schema = obj.schema if isinstance(obj, Mask) else obj.mask.schema
    found = _encoding_of(schema)
    if found is None and isinstance(obj, MaskedImage) and isinstance(obj.metadata, (fits.Header, dict)):
        found = str(obj.metadata.get("DQENCODE", "")).strip().lower() or None
    return found if found in ENCODINGS else "bits"


def losses(obj: MaskedImage | Mask, *, encoding: str | None = None, **options) -> list[str]:
    """What writing ``obj`` as a CP file would lose, one phrase each (empty: nothing).

    Planes the CP DQ vocabulary lacks (synonyms such as ``SATURATED`` are kept as ``SAT``); in
    the integer codes of CP >= V3.5, ``INTERP``, bits no plane names, and every flag but the
    first (:data:`CODE_PRECEDENCE`) of a pixel that has several.

    >>> m = Mask((2, 2), MaskSchema(["BAD", "EDGE"])); m.set("EDGE", (0, 0))
    >>> losses(m)
    ['planes CP DQ masks do not have: EDGE (1 pixels set)']
    """
    mask = obj if isinstance(obj, Mask) else obj.mask
    preset = get_schema("decam_cp")
    renamed = Mask(mask.array, preset.aligned(mask.schema), copy=False)
    counts = renamed.counts()
    dropped = [name for name in renamed.schema.names if name not in preset]
    out = []
    if dropped:
        listed = ", ".join(f"{name} ({counts[name]} pixels set)" if counts[name] else name for name in dropped)
        out.append(f"planes CP DQ masks do not have: {listed}")
    if _write_encoding(obj, encoding) == "codes":
        cp = _to_decam_cp(mask)
        n_interp = int(np.count_nonzero(cp.get("INTERP")))
        if n_interp:
            out.append(f"INTERP in {n_interp} pixels (CP DQ codes have no INTERP; encoding='bits' keeps it)")
        width = (1 << 8 * mask.array.dtype.itemsize) - 1
        unnamed = int(np.count_nonzero(mask.array & np.asarray(width & ~mask.schema.all_bits, mask.array.dtype)))
        if unnamed:
            out.append(f"bits no plane names in {unnamed} pixels (CP DQ codes cannot hold them)")
        coded = [cp.get(plane) for plane in CODE_PRECEDENCE]
        several = int(np.count_nonzero(np.sum(coded, axis=0) > 1)) if coded else 0
        if several:
            out.append(f"all but one flag in {several} pixels that have several (a CP DQ code holds one)")
    return out


def encode_dq(mask: Mask, encoding: str) -> np.ndarray:
    """The ``int32`` CP DQ array of a mask, in ``encoding`` ``{'codes', 'bits'}``.

    In code mode one code per pixel, by :data:`CODE_PRECEDENCE`; ``INTERP``
    has no code and is dropped (:func:`losses` lists what is lost).

    >>> m = decode_dq(np.array([[0, 1, 16 | 64]]), "bits")
    >>> encode_dq(m, "codes").tolist(), encode_dq(m, "bits").tolist()
    ([[0, 1, 4]], [[0, 1, 80]])
    """
    mask = _to_decam_cp(mask)
    if encoding == "bits":
        if mask.array.size and int(np.bitwise_or.reduce(mask.array, axis=None)) >> 32:
            raise ParameterError("DQ mask values use bits above 31; CP masks are 32-bit")
        return mask.array.astype(np.uint32).view(np.int32)
    if encoding != "codes":
        raise ParameterError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    out = np.zeros(mask.shape, dtype=np.int32)
    code_of = {plane: code for code, plane in CODES.items()}
    for plane in reversed(CODE_PRECEDENCE):  # the first of the precedence list is written last and wins
        out[mask.get(plane)] = code_of[plane]
    return out
