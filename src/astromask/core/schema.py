"""Named mask planes and the schema that gives each one a bit.

A :class:`MaskSchema` is an ordered list of :class:`MaskPlane` entries; the
position of a plane in that list is its bit index (value ``1 << index``).
``None`` entries reserve a bit without naming it, so files whose planes leave
gaps (afw ``MP_*`` cards, lsst.images placeholders, DECam CP bits) keep their
exact bit layout.

Flag expressions (:meth:`MaskSchema.flags`) are resolved through the schema:
plane names (``"BAD,SAT"``), astropy bit-flag strings (``"~(CR+SAT)"``, see
:func:`astropy.nddata.bitmask.interpret_bit_flags`), integers, or sequences of
names and integers.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from astropy.nddata import bitmask

from ..errors import FlagExpressionError, ParameterError, ParameterTypeError, UnknownPlaneError, UnknownPlaneWarning
from ..syntax.flags import flag_error, is_integer_text, scan_flag_list

__all__ = ["MAX_PLANES", "SYNONYMS", "MaskPlane", "MaskSchema", "UnknownPlaneError", "UnknownPlaneWarning", "synonyms"]

log = logging.getLogger("astromask")

#: Names that the traditions give one flag. A name a schema lacks is taken as the one of its
#: synonyms the schema has (``grow --planes SAT`` on an lsst.images file means ``SATURATED``),
#: and masks combined from files of different traditions keep one plane for each flag.
SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("SAT", "SATURATED"),  # afw, decam_cp, detect / lsst.images, JWST
    ("CR", "COSMIC_RAY"),  # afw, decam_cp, MaxiMask / lsst.images
    ("INTRP", "INTERP", "INTERPOLATED"),  # afw / decam_cp / lsst.images
    ("TRAIL", "STREAK"),  # astromask detect / decam_cp
)
_SYNONYM_OF = {name: group for group in SYNONYMS for name in group}
_SHOWN: set[tuple[str | None, str, str]] = set()


def synonyms(name: str) -> tuple[str, ...]:
    """The other names of flag ``name`` (:data:`SYNONYMS`), in the table's order.

    >>> synonyms("sat")
    ('SATURATED',)
    """
    key = name.upper()
    return tuple(other for other in _SYNONYM_OF.get(key, ()) if other != key)


MAX_PLANES = 64
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
UNKNOWN_POLICIES = ("error", "warn", "ignore")


def _is_bit_number(value: object) -> bool:
    """Whether ``value`` is an integer and not a bool (``True`` is not bit 1)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class MaskPlane:
    """One named bit plane of a mask.

    Parameters
    ----------
    name : str
        Plane name, e.g. ``"BAD"``. Letters, digits, ``_`` and ``-``; it must
        not start with a digit (so that flag strings stay unambiguous).
    description : str
        What a set bit means, in words.
    """

    name: str
    description: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME_RE.match(self.name):
            raise ParameterError(f"mask plane name must be an identifier-like string, got {self.name!r}")


def _dtype_for(nbits: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.uint32, np.uint64):
        if nbits <= 8 * np.dtype(dt).itemsize:
            return np.dtype(dt)
    raise ParameterError(f"a mask schema holds at most {MAX_PLANES} planes, got {nbits}")


class _CaseInsensitiveMap(dict[str, int]):
    """Name → bit value lookup for :func:`astropy.nddata.bitmask.interpret_bit_flags`."""

    def __getitem__(self, key: str) -> int:
        return int(dict.__getitem__(self, key.upper()))


class MaskSchema:
    """Ordered mask planes: plane ``i`` is bit ``i`` (value ``1 << i``).

    Parameters
    ----------
    planes : sequence of MaskPlane, (name, description) tuples, str or None
        One entry per bit, lowest first. ``None`` reserves a bit.
    dtype : numpy dtype, optional
        Unsigned integer type of mask arrays. Default: the smallest of
        ``uint8``/``uint16``/``uint32``/``uint64`` that holds every bit.
    name : str, optional
        A label for the schema (preset name, or where it was read from).

    Examples
    --------
    >>> s = MaskSchema([MaskPlane("BAD", "Bad pixel"), None, MaskPlane("CR", "Cosmic ray")])
    >>> s.bit("CR"), s.bitmask("BAD", "CR"), s.dtype
    (2, 5, dtype('uint8'))
    >>> s.flags("~CR") == 0b001
    True
    """

    def __init__(
        self,
        planes: Iterable[MaskPlane | tuple[str, str] | str | None],
        *,
        dtype: np.typing.DTypeLike | None = None,
        name: str | None = None,
    ) -> None:
        normalized: list[MaskPlane | None] = []
        for p in planes:
            if p is None or isinstance(p, MaskPlane):
                normalized.append(p)
            elif isinstance(p, str):
                normalized.append(MaskPlane(p))
            else:
                normalized.append(MaskPlane(*p))
        while normalized and normalized[-1] is None:
            normalized.pop()
        if len(normalized) > MAX_PLANES:
            raise ParameterError(f"a mask schema holds at most {MAX_PLANES} planes, got {len(normalized)}")
        seen: set[str] = set()
        for p in normalized:
            if p is None:
                continue
            key = p.name.upper()
            if key in seen:
                raise ParameterError(f"mask plane {p.name!r} appears twice in the schema")
            seen.add(key)
        fitted = _dtype_for(max(len(normalized), 1))
        if dtype is None:
            dtype = fitted
        dtype = np.dtype(dtype)
        if dtype.kind != "u":
            raise ParameterError(f"mask schema dtype must be an unsigned integer type, got {dtype}")
        if 8 * dtype.itemsize < len(normalized):
            raise ParameterError(f"dtype {dtype} holds {8 * dtype.itemsize} bits, the schema needs {len(normalized)}")
        self._planes = tuple(normalized)
        self._index = {p.name.upper(): i for i, p in enumerate(normalized) if p is not None}
        self.dtype = dtype
        self.name = name

    # -- construction -------------------------------------------------------------------------

    @classmethod
    def from_bits(
        cls,
        bits: Mapping[str, int],
        descriptions: Mapping[str, str] | None = None,
        *,
        dtype: np.typing.DTypeLike | None = None,
        name: str | None = None,
    ) -> MaskSchema:
        """Build a schema from ``{name: bit index}`` (afw ``MP_*`` cards, KBMOD's ``mask_bits_dict``).

        >>> MaskSchema.from_bits({"BAD": 0, "CR": 3}).names
        ['BAD', 'CR']
        """
        descriptions = descriptions or {}
        if not bits:
            return cls([], dtype=dtype, name=name)
        for plane, bit in bits.items():
            if not _is_bit_number(bit) or not 0 <= int(bit) < MAX_PLANES:
                raise FlagExpressionError(
                    f"bit index of plane {plane!r} must be an integer in 0..{MAX_PLANES - 1}, got {bit!r}"
                )
        by_bit: dict[int, str] = {}
        for plane, bit in bits.items():
            if int(bit) in by_bit:
                raise ParameterError(f"planes {by_bit[int(bit)]!r} and {plane!r} share bit {int(bit)}")
            by_bit[int(bit)] = plane
        planes: list[MaskPlane | None] = [None] * (max(by_bit) + 1)
        for bit, plane in by_bit.items():
            planes[bit] = MaskPlane(plane, descriptions.get(plane, ""))
        return cls(planes, dtype=dtype, name=name)

    def renamed(self, plane_map: Mapping[str, str | None]) -> MaskSchema:
        """The same bits with planes renamed by ``plane_map`` (``None`` drops a plane; its bit is kept unnamed).

        Names are matched without regard to case; names the schema lacks are
        ignored, so one map can serve many files.

        >>> MaskSchema(["BAD", "SAT"]).renamed({"sat": "SATURATED", "BAD": None}).planes
        (None, MaskPlane(name='SATURATED', description=''))
        """
        lookup = {k.upper(): v for k, v in plane_map.items()}
        planes: list[MaskPlane | None] = []
        for p in self.planes:
            if p is None or p.name.upper() not in lookup:
                planes.append(p)
            elif (name := lookup[p.name.upper()]) is None:
                planes.append(None)
            else:
                planes.append(MaskPlane(name, p.description))
        return MaskSchema(planes, dtype=self.dtype, name=self.name)

    # -- inspection -----------------------------------------------------------------------------

    @property
    def planes(self) -> tuple[MaskPlane | None, ...]:
        """One entry per bit (``None`` for a reserved bit)."""
        return self._planes

    @property
    def names(self) -> list[str]:
        """Names of the defined planes, lowest bit first."""
        return [p.name for p in self._planes if p is not None]

    @property
    def nbits(self) -> int:
        """Number of bit positions used (highest defined bit + 1)."""
        return len(self._planes)

    @property
    def all_bits(self) -> int:
        """Bit mask with every defined plane set."""
        return sum(1 << i for i, p in enumerate(self._planes) if p is not None)

    def __iter__(self) -> Iterator[MaskPlane]:
        return (p for p in self._planes if p is not None)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.upper() in self._index

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MaskSchema):
            return NotImplemented
        return self._planes == other._planes and self.dtype == other.dtype

    def __hash__(self) -> int:
        return hash((self._planes, self.dtype.str))

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"<MaskSchema{label} {self.names} dtype={self.dtype}>"

    def items(self) -> Iterator[tuple[int, MaskPlane]]:
        """``(bit index, plane)`` for every defined plane."""
        return ((i, p) for i, p in enumerate(self._planes) if p is not None)

    def plane(self, name: str) -> MaskPlane:
        """The plane called ``name`` (case-insensitive)."""
        return self._planes[self.bit(name)]  # type: ignore[return-value]

    def bit(self, name: str) -> int:
        """Bit index of plane ``name`` (case-insensitive, or a synonym of it: :meth:`resolve`);
        unknown names raise :class:`UnknownPlaneError`."""
        resolved = self.resolve(name) if isinstance(name, str) else None
        if resolved is None:
            raise UnknownPlaneError(self._unknown_message([name]))
        return self._index[resolved.upper()]

    def resolve(self, name: str) -> str | None:
        """This schema's name for plane ``name``: itself (case-insensitive), else the one of its
        :data:`SYNONYMS` the schema has, else ``None``. A synonym used is logged once (``-v``).

        >>> MaskSchema(["BAD", "SATURATED"]).resolve("sat")
        'SATURATED'
        """
        key = name.upper()
        if key in self._index:
            return self._planes[self._index[key]].name  # type: ignore[union-attr]
        for other in synonyms(key):
            if other in self._index:
                found = self._planes[self._index[other]].name  # type: ignore[union-attr]
                if (self.name, key, found) not in _SHOWN:
                    _SHOWN.add((self.name, key, found))
                    label = f" of {self.name}" if self.name else ""
                    log.info("plane %s: taken as %s%s (synonyms)", name, found, label)
                return found
        return None

    def bitmask(self, *names: str) -> int:
        """OR of the bit values of ``names`` (each name counted once)."""
        value = 0
        for n in names:
            value |= 1 << self.bit(n)
        return value

    def interpret(self, value: int) -> list[str]:
        """Names of the planes set in an integer mask value."""
        value = int(value)
        return [p.name for i, p in self.items() if value >> i & 1]

    def describe(self) -> list[dict[str, object]]:
        """Rows ``{'name', 'bit', 'value', 'description'}`` for docs, headers and ``astromask info``."""
        return [{"name": p.name, "bit": i, "value": 1 << i, "description": p.description} for i, p in self.items()]

    # -- derivation -----------------------------------------------------------------------------

    def with_planes(self, *planes: MaskPlane | tuple[str, str] | str) -> MaskSchema:
        """A schema with ``planes`` appended at the lowest free bits (existing names are kept as they are)."""
        slots = list(self._planes)
        for p in planes:
            p = p if isinstance(p, MaskPlane) else MaskPlane(p) if isinstance(p, str) else MaskPlane(*p)
            if p.name in self:
                continue
            free = next((i for i, s in enumerate(slots) if s is None), len(slots))
            if free == len(slots):
                slots.append(p)
            else:
                slots[free] = p
        dtype = self.dtype if 8 * self.dtype.itemsize >= len(slots) else None
        return MaskSchema(slots, dtype=dtype, name=self.name)

    def merged(self, other: MaskSchema) -> MaskSchema:
        """This schema plus ``other``'s planes that it lacks (matched by name or :data:`SYNONYMS`)."""
        return self.with_planes(*(p for p in other if self.resolve(p.name) is None))

    def aligned(self, other: MaskSchema) -> MaskSchema:
        """``other`` with each plane that is a synonym of one of this schema's renamed to this
        schema's name (``SATURATED`` → ``SAT`` beside an afw schema)."""
        renames = {p.name: found for p in other if p.name not in self and (found := self.resolve(p.name))}
        return other.renamed(renames) if renames else other

    def bit_map(self, target: MaskSchema) -> list[tuple[int, int]]:
        """``(source bit, target bit)`` for each plane of this schema that ``target`` also has."""
        return [(i, target.bit(p.name)) for i, p in self.items() if p.name in target]

    # -- flag expressions -------------------------------------------------------------------------

    def _unknown_message(self, unknown: Sequence[object]) -> str:
        which = ", ".join(repr(u) for u in unknown)
        label = f" {self.name!r}" if self.name else ""
        return f"unknown mask plane {which} for schema{label}; known planes: {', '.join(self.names) or '(none)'}"

    def flags(self, expr: object, *, unknown: str = "error") -> int:
        """Resolve a flag expression to an integer bit mask of this schema.

        Parameters
        ----------
        expr : str, int, sequence of str/int, or None
            ``None`` or ``"*"`` means every defined plane. Strings are plane
            names or integers separated by ``,``, ``+`` or ``|``, optionally
            wrapped as ``"~(...)"`` to mean every plane *except* those.
        unknown : {'error', 'warn', 'ignore'}
            What to do with names the schema lacks: raise
            :class:`UnknownPlaneError` listing the known names, warn
            (:class:`UnknownPlaneWarning`) and drop them, or drop them silently.

        Returns
        -------
        int
            A non-negative bit mask.

        Examples
        --------
        >>> from astromask.core.presets import get_schema
        >>> rubin = get_schema("rubin")
        >>> rubin.flags("BAD,SAT"), rubin.flags(["CR", 1]), rubin.flags("~(BAD+SAT)") & 3
        (3, 9, 0)
        """
        if unknown not in UNKNOWN_POLICIES:
            raise ParameterError(f"unknown must be one of {UNKNOWN_POLICIES}, got {unknown!r}")
        if expr is None or (isinstance(expr, str) and expr.strip() == "*"):
            return self.all_bits
        if isinstance(expr, (bool, np.bool_)):
            raise ParameterTypeError(f"flag expression must be a string, integer or sequence, got {expr!r}")
        if isinstance(expr, (int, np.integer)):
            value = int(expr)
            width = 8 * self.dtype.itemsize
            if value < 0:
                value &= (1 << width) - 1
            return self._within_width(value, expr)
        if isinstance(expr, str):
            return self._within_width(self._flags_from_string(expr, unknown), expr)
        if isinstance(expr, Iterable):
            value = 0
            for item in expr:
                if isinstance(item, str) and not is_integer_text(item.strip()):
                    names = self._known_names([item.strip()], unknown)
                    value |= self.bitmask(*names)
                elif isinstance(item, str) or _is_bit_number(item):
                    value |= self.flags(int(item))
                else:
                    raise FlagExpressionError(
                        f"flag list item {item!r} is neither a plane name nor an integer "
                        "(floats and booleans are not flags)"
                    )
            return value
        raise ParameterTypeError(f"flag expression must be a string, integer or sequence, got {expr!r}")

    def _within_width(self, value: int, expr: object) -> int:
        """``value``, refused when it has bits beyond the mask's width (they could never be set)."""
        width = 8 * self.dtype.itemsize
        if value >> width:
            raise FlagExpressionError(
                f"flag value {expr!r} uses bit {value.bit_length() - 1}, beyond the {width} bits of this mask"
            )
        return value

    def _known_names(self, names: Sequence[str], unknown: str) -> list[str]:
        resolved = {n: self.resolve(n) for n in names}
        missing = [n for n, r in resolved.items() if r is None]
        if missing:
            if unknown == "error":
                raise UnknownPlaneError(self._unknown_message(missing))
            if unknown == "warn":
                warnings.warn(self._unknown_message(missing), UnknownPlaneWarning, stacklevel=4)
        return [r for r in resolved.values() if r is not None]

    def _flags_from_string(self, expr: str, unknown: str) -> int:
        text = expr.strip()
        if text.upper() in ("", "NONE", "INDEF"):
            return 0
        scanned, sep = scan_flag_list(expr)
        for item, column in scanned if len(scanned) > 1 else ():  # one integer alone is a whole bit mask
            if is_integer_text(item) and (int(item) <= 0 or int(item) & (int(item) - 1)):
                raise flag_error(
                    expr,
                    f"{item} is not a bit flag",
                    column,
                    "integers in a list are powers of two, as in astropy.nddata",
                )
        width = 8 * self.dtype.itemsize
        for item, column in scanned:
            if is_integer_text(item) and int(item) > 0 and int(item) >> width:
                raise flag_error(
                    expr, f"{item} uses bit {int(item).bit_length() - 1}", column, f"this mask has {width} bits"
                )
        items = [item for item, _ in scanned]
        negated = text.startswith("~")
        body = sep.join(items)
        names = [t for t in items if t and not is_integer_text(t)]
        if names:
            known = self._known_names(names, unknown)
            ints = [t for t in items if t and is_integer_text(t)]
            if not known and not ints:
                return self.all_bits if negated else 0
            # astropy maps names only when the first item is a name; integers are given as names too.
            lookup = _CaseInsensitiveMap({p.name.upper(): 1 << i for i, p in self.items()})
            for t in ints:
                lookup[t] = int(t)
            inner = sep.join(known + ints)
            text = f"~({inner})" if negated else inner
            try:
                with warnings.catch_warnings():  # a flag named twice counts once (OR): nothing to warn of
                    warnings.filterwarnings("ignore", message="Duplicate bit flags")
                    value = bitmask.interpret_bit_flags(text, flag_name_map=lookup)
            except ValueError as exc:
                raise ParameterError(f"invalid flag expression {expr!r}: {exc}") from None
        else:
            text = f"~({body})" if negated else body
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", message="Duplicate bit flags")
                    value = bitmask.interpret_bit_flags(text)
            except ValueError as exc:
                raise ParameterError(f"invalid flag expression {expr!r}: {exc}") from None
        if value is None:
            return 0
        value = int(value)
        if value < 0:  # "~(...)": every defined plane except those listed
            value = self.all_bits & value
        return value
