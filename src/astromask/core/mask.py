"""A 2-D integer bit-plane mask that carries its schema.

Polarity: an integer plane bit of ``0`` means good; boolean masks use ``True``
for masked (the astropy NDData convention). Arrays are ``(row, col) = (y, x)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ParameterError, ParameterTypeError
from .schema import MaskPlane, MaskSchema

__all__ = ["Mask", "as_unsigned", "included"]


def as_unsigned(array: np.ndarray) -> np.ndarray:
    """View a signed integer array as the unsigned type of the same width (native byte order).

    afw and lsst.images store masks as ``int32``; bit 31 then reads as
    ``-2147483648``. Viewing as ``uint32`` keeps every bit.
    """
    array = np.asarray(array)
    if array.dtype.kind == "b":
        return array.astype(np.uint8)
    if array.dtype.kind not in "iu":
        raise ParameterTypeError(f"mask array must be of integer type, got {array.dtype}")
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    if array.dtype.kind == "i":
        array = array.view(np.dtype(f"u{array.dtype.itemsize}"))
    return array


class Mask:
    """Integer bit-plane mask with a :class:`~astromask.core.schema.MaskSchema`.

    Parameters
    ----------
    array : 2-D integer array, or a shape tuple
        Mask values. Signed arrays are viewed as unsigned (bit 31 of an
        ``int32`` mask is kept). A tuple makes an all-clear mask of that shape.
    schema : MaskSchema
        The meaning of each bit.
    copy : bool
        Copy ``array`` (default) or keep a view of it.

    Examples
    --------
    >>> from astromask.core.presets import get_schema
    >>> m = Mask((3, 4), get_schema("rubin"))
    >>> m.set("SAT", np.eye(3, 4, dtype=bool)); m.set("CR", (0, 1))
    >>> m.counts()["SAT"], int(m.select("SAT,CR").sum()), int(m.array[0, 1])
    (3, 4, 8)
    """

    __array_priority__ = 20

    def __init__(self, array: np.ndarray | tuple[int, int], schema: MaskSchema, *, copy: bool = True) -> None:
        if not isinstance(schema, MaskSchema):
            raise ParameterTypeError(f"schema must be a MaskSchema, got {type(schema).__name__}")
        if isinstance(array, tuple):
            array = np.zeros(array, dtype=schema.dtype)
        else:
            array = as_unsigned(array)
            if array.ndim != 2:
                raise ParameterError(f"mask array must be 2-D, got shape {array.shape}")
            if array.dtype.itemsize > schema.dtype.itemsize and array.size:  # else no bit can be beyond
                extra = int(np.bitwise_or.reduce(array, axis=None))
                if extra >> (8 * schema.dtype.itemsize):
                    raise ParameterError(f"mask values use bits beyond the schema dtype {schema.dtype}")
            if array.dtype != schema.dtype:
                array = array.astype(schema.dtype)
            elif copy:
                array = array.copy()
        self.array: np.ndarray = array
        self.schema = schema

    # -- basics ---------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    def copy(self) -> Mask:
        """A deep copy."""
        return Mask(self.array, self.schema, copy=True)

    def __getitem__(self, key: Any) -> Mask:
        """Local (0-based) 2-D slicing; returns a view that shares pixels."""
        sub = self.array[key]
        if sub.ndim != 2:
            raise ParameterError("mask slicing must keep both dimensions (use slices, not integers)")
        return Mask(sub, self.schema, copy=False)

    def __repr__(self) -> str:
        return f"<Mask shape={self.shape} planes={self.schema.names}>"

    def __eq__(self, other: object) -> bool:
        """Masks are equal when every named plane has the same pixels (bit positions may differ)."""
        if not isinstance(other, Mask):
            return NotImplemented
        if self.shape != other.shape or set(self.schema.names) != set(other.schema.names):
            return False
        return all(np.array_equal(self.get(n), other.get(n)) for n in self.schema.names)

    __hash__ = None  # type: ignore[assignment]

    def _value(self, bits: int) -> np.ndarray:
        return np.asarray(bits, dtype=self.schema.dtype)

    # -- planes ---------------------------------------------------------------------------------

    def get(self, name: str) -> np.ndarray:
        """Boolean array: where plane ``name`` is set."""
        return np.asarray((self.array & self._value(1 << self.schema.bit(name))) != 0)

    def set(self, name: str, where: Any = True) -> None:
        """Set plane ``name`` where ``where`` is true (a boolean array, an index, or ``True`` for all)."""
        bit = self._value(1 << self.schema.bit(name))
        self._assign(where, lambda region: region | bit)

    def clear(self, name: str, where: Any = True) -> None:
        """Clear plane ``name`` where ``where`` is true (default: everywhere)."""
        keep = self._value(~(1 << self.schema.bit(name)) & ((1 << 8 * self.schema.dtype.itemsize) - 1))
        self._assign(where, lambda region: region & keep)

    def _assign(self, where: Any, op: Callable[[np.ndarray], np.ndarray]) -> None:
        if where is True:
            self.array[...] = op(self.array)
            return
        if isinstance(where, np.ndarray) and where.dtype == bool and where.shape != self.shape:
            raise ParameterError(f"boolean selection has shape {where.shape}, mask has {self.shape}")
        self.array[where] = op(self.array[where])

    def select(self, flags: object = None, *, unknown: str = "error") -> np.ndarray:
        """Boolean array, ``True`` where any plane of ``flags`` is set.

        ``flags`` is any flag expression of :meth:`MaskSchema.flags`; ``None``
        means every plane.
        """
        bits = self.schema.flags(flags, unknown=unknown)
        return np.asarray((self.array & self._value(bits)) != 0)

    def counts(self) -> dict[str, int]:
        """Number of pixels set, per plane, in schema order."""
        flagged = self.array[self.array != 0]  # masks are mostly clear: count over the set pixels only
        return {p.name: int(np.count_nonzero(flagged & self._value(1 << i))) for i, p in self.schema.items()}

    def any_set(self) -> np.ndarray:
        """Boolean array, ``True`` where any bit (named or reserved) is set."""
        return np.asarray(self.array != 0)

    # -- conversion -----------------------------------------------------------------------------

    def to_bool(self, flags: object = None) -> np.ndarray:
        """Boolean mask (``True`` = masked) for ``flags`` (default: any plane). Same as :meth:`select`."""
        return self.select(flags)

    @classmethod
    def from_bool(cls, mask: np.ndarray, plane: str | MaskPlane = "BAD", schema: MaskSchema | None = None) -> Mask:
        """A mask whose plane ``plane`` is set where ``mask`` is true.

        ``schema`` defaults to a one-plane schema; a plane missing from a
        given schema is appended to it.
        """
        mask = np.asarray(mask)
        if mask.ndim != 2:
            raise ParameterError(f"boolean mask must be 2-D, got shape {mask.shape}")
        plane = plane if isinstance(plane, MaskPlane) else MaskPlane(plane)
        if schema is None:
            schema = MaskSchema([plane])
        elif plane.name not in schema:
            schema = schema.with_planes(plane)
        out = cls(mask.shape, schema)
        out.set(plane.name, mask.astype(bool))
        return out

    def remap(self, schema: MaskSchema, *, drop: bool = False) -> Mask:
        """The same planes, re-encoded in ``schema`` (planes are matched by name).

        Planes of this mask that ``schema`` lacks raise ``ValueError`` unless
        ``drop=True`` (then they are dropped); bits that no plane names are
        dropped.
        """
        missing = [n for n in self.schema.names if n not in schema]
        if missing and not drop:
            raise ParameterError(f"target schema lacks planes {missing}; known planes: {', '.join(schema.names)}")
        out = np.zeros(self.shape, dtype=schema.dtype)
        for src, dst in self.schema.bit_map(schema):
            out |= (((self.array >> self._value(src)) & self._value(1)).astype(schema.dtype)) << np.asarray(
                dst, dtype=schema.dtype
            )
        return Mask(out, schema, copy=False)

    # -- algebra (planes matched by name) ---------------------------------------------------------

    def _aligned(self, other: Mask) -> tuple[MaskSchema, np.ndarray, np.ndarray]:
        if not isinstance(other, Mask):
            raise ParameterTypeError(f"mask algebra needs two Mask objects, got {type(other).__name__}")
        if other.shape != self.shape:
            raise ParameterError(f"mask shapes differ: {self.shape} and {other.shape}")
        theirs = self.schema.aligned(other.schema)  # SATURATED beside SAT is one plane (schema.SYNONYMS)
        if theirs is not other.schema:
            other = Mask(other.array, theirs, copy=False)
        schema = self.schema if other.schema == self.schema else self.schema.merged(other.schema)
        a = self.array if schema == self.schema else self.remap(schema).array
        b = other.array if schema == other.schema else other.remap(schema).array
        return schema, a, b

    def union(self, other: Mask) -> Mask:
        """Plane-by-plane OR; planes are matched by name, the result has both schemas' planes."""
        schema, a, b = self._aligned(other)
        return Mask(a | b, schema, copy=False)

    def intersection(self, other: Mask) -> Mask:
        """Plane-by-plane AND (a plane only one side has is clear in the result)."""
        schema, a, b = self._aligned(other)
        return Mask(a & b, schema, copy=False)

    def xor(self, other: Mask) -> Mask:
        """Plane-by-plane exclusive OR."""
        schema, a, b = self._aligned(other)
        return Mask(a ^ b, schema, copy=False)

    def difference(self, other: Mask) -> Mask:
        """Plane-by-plane ``self AND NOT other``."""
        schema, a, b = self._aligned(other)
        return Mask(a & ~b, schema, copy=False)

    def invert(self, planes: object = None) -> Mask:
        """Flip the named planes (default: every named plane); reserved bits stay clear."""
        bits = self._value(self.schema.flags(planes))
        return Mask(self.array ^ bits, self.schema, copy=False)

    __or__ = union
    __and__ = intersection
    __xor__ = xor
    __sub__ = difference

    def __invert__(self) -> Mask:
        return self.invert()


def included(data: np.ndarray, *, blank: int | None = None) -> np.ndarray:
    """CIAO's mask rule as 0/1 bytes: 1 where the value is non-zero and not NaN, Inf or ``blank``.

    The one place this rule is written: CIAO masks *include* where non-zero, astromask's planes
    *exclude* where set, and every reader of a CIAO-style 0/1 image goes through here.

    Examples
    --------
    >>> included(np.array([[0.0, -2.5, np.nan, np.inf, 3.0]]))
    array([[0, 1, 0, 0, 1]], dtype=uint8)
    >>> included(np.array([[0, 7, -32768]], dtype=np.int16), blank=-32768)
    array([[0, 1, 0]], dtype=uint8)
    """
    data = np.asarray(data)
    if data.dtype.kind in "fc":
        with np.errstate(invalid="ignore"):
            keep = (data != 0) & np.isfinite(data)
    elif data.dtype.kind in "iub":
        keep = data != 0
        if blank is not None and data.dtype.kind != "b":
            keep &= data != blank
    else:
        raise ParameterTypeError(f"a mask must be numeric, got dtype {data.dtype}")
    return np.asarray(keep, dtype=np.uint8)
