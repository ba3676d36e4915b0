"""Set algebra on masks, and value stacks over many images.

Set operations (:func:`union`, :func:`intersection`, :func:`xor`,
:func:`difference`, :func:`invert`) take any number of masks of one kind:

* :class:`~astromask.Mask` objects: plane by plane, planes matched by name
  (the result has every plane of every input; see :meth:`Mask.union`);
* boolean arrays: the numpy logical operations (``True`` = masked);
* integer arrays: bit by bit, each bit an unnamed plane (so 0/1 masks behave
  like booleans and bit-plane arrays like :class:`Mask`);
* float arrays: CIAO's rule, a pixel is in the mask where its value is
  non-zero and finite (NaN and Inf count as 0); the result is boolean.

A mix of booleans and integers works bit by bit; floats with anything else
follow the float rule. :class:`Mask` objects cannot be mixed with arrays.

:func:`stack` combines the *values* of many images, one at a time, as CIAO's
``dmimgcalc`` (``sum``, ``mul``) and ``dmimgfilt`` stacks (``min``, ``max``)
do; at most two images are held in memory, so an iterator of files streams.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import numpy as np

from ..core.mask import Mask, included
from ..core.masked_image import MaskedImage
from ..errors import ParameterError, ParameterTypeError

__all__ = ["SET_OPS", "STACK_OPS", "difference", "intersection", "invert", "stack", "to_bool", "union", "xor"]

SET_OPS = ("union", "intersection", "xor", "difference")
STACK_OPS = ("sum", "mul", "min", "max")


def _members(array: np.ndarray) -> np.ndarray:
    """CIAO's reading of a value mask: non-zero and finite (:func:`astromask.core.mask.included`)."""
    return included(array).view(bool)


def to_bool(mask, flags: object = None) -> np.ndarray:
    """Boolean array, ``True`` where a mask of any kind is set.

    Parameters
    ----------
    mask : Mask, MaskedImage, or boolean, integer or float array
        A :class:`Mask` (or a masked image's mask) is set where any bit is
        set, named or reserved; an integer array where it is non-zero; a
        float array where it is non-zero and finite (CIAO's rule).
    flags : flag expression, optional
        For a :class:`Mask` or :class:`MaskedImage`, only these planes
        (see :meth:`MaskSchema.flags`).

    Examples
    --------
    >>> to_bool(np.array([0.0, -2.0, np.nan, np.inf])).tolist()
    [False, True, False, False]
    """
    if isinstance(mask, MaskedImage):
        mask = mask.mask
    if isinstance(mask, Mask):
        return mask.any_set() if flags is None else mask.select(flags)
    if flags is not None:
        raise ParameterError("flags= needs a Mask or MaskedImage; arrays have no named planes")
    array = np.asarray(mask)
    if array.dtype.kind == "b":
        return array
    if array.dtype.kind in "iu":
        return array != 0
    if array.dtype.kind == "f":
        return _members(array)
    raise ParameterTypeError(
        f"mask must be a Mask, MaskedImage or a boolean, integer or float array, got {array.dtype}"
    )


def _prepare(masks: tuple) -> tuple[str, list]:
    """The kind of the inputs (``'mask'``, ``'bool'``, ``'bits'``) and the inputs ready for it."""
    if not masks:
        raise ParameterError("mask algebra needs at least one mask")
    are_masks = [isinstance(m, Mask) for m in masks]
    if any(are_masks) and not all(are_masks):
        kinds = sorted({type(m).__name__ for m in masks})
        raise ParameterTypeError(f"cannot mix Mask objects with arrays, got {', '.join(kinds)}")
    items = list(masks) if all(are_masks) else [np.asarray(m) for m in masks]
    shapes = {m.shape for m in items}
    if len(shapes) > 1:
        raise ParameterError(f"mask shapes differ: {', '.join(str(s) for s in sorted(shapes))}")
    if all(are_masks):
        return "mask", items
    kinds = {a.dtype.kind for a in items}
    if not kinds <= set("biuf"):
        raise ParameterTypeError(f"masks must be boolean, integer or float arrays, got {sorted(kinds)}")
    if "f" in kinds:
        return "bool", [to_bool(a) for a in items]
    if kinds == {"b"}:
        return "bool", items
    dtype = np.result_type(*[a.dtype for a in items])
    return "bits", [a.astype(dtype, copy=False) for a in items]


def _reduce(masks: tuple, mask_op: Callable, array_op: Callable):
    kind, items = _prepare(masks)
    op = mask_op if kind == "mask" else array_op
    if len(items) == 1:
        return items[0].copy()
    return functools.reduce(op, items)


def union(*masks):
    """Pixels (or planes) set in any input.

    Parameters
    ----------
    *masks : Mask, or boolean, integer or float arrays
        One or more masks of the same shape (see the module docstring for
        how each kind is read).

    Returns
    -------
    Mask or ndarray
        A new mask; inputs are not modified.

    Examples
    --------
    >>> a = np.array([[True, False, False]]); b = np.array([[False, False, True]])
    >>> union(a, b).astype(int).tolist()
    [[1, 0, 1]]
    >>> union(np.array([1, 0, 4]), np.array([2, 0, 4])).tolist()
    [3, 0, 4]
    """
    return _reduce(masks, Mask.union, np.bitwise_or)


def intersection(*masks):
    """Pixels (or planes) set in every input.

    A plane only some :class:`Mask` inputs have is clear in the result.

    Examples
    --------
    >>> intersection(np.array([1.0, 2.0, np.nan]), np.array([3.0, 0.0, 1.0])).tolist()
    [True, False, False]
    """
    return _reduce(masks, Mask.intersection, np.bitwise_and)


def xor(*masks):
    """Pixels (or planes) set in an odd number of inputs (pairwise exclusive OR).

    Examples
    --------
    >>> a, b, c = np.array([1, 1, 0]), np.array([1, 0, 0]), np.array([1, 0, 1])
    >>> xor(a, b, c).tolist()
    [1, 1, 1]
    """
    return _reduce(masks, Mask.xor, np.bitwise_xor)


def difference(first, *others):
    """Pixels (or planes) set in ``first`` and in none of ``others``.

    Examples
    --------
    >>> difference(np.array([True, True, True]), np.array([True, False, False]),
    ...            np.array([False, True, False])).tolist()
    [False, False, True]
    """
    if not others:
        raise ParameterError("difference needs a mask and at least one mask to take away")
    kind, items = _prepare((first, *others))
    if kind == "mask":
        return items[0].difference(functools.reduce(Mask.union, items[1:]))
    return items[0] & ~functools.reduce(np.bitwise_or, items[1:])


def invert(mask, planes: object = None):
    """The complement of a mask.

    Parameters
    ----------
    mask : Mask, or boolean, integer or float array
    planes : flag expression or int, optional
        For a :class:`Mask`, the planes to flip (any flag expression of
        :meth:`MaskSchema.flags`; default every named plane). For an integer
        array, the bits to flip (an int). Not allowed for boolean and float
        arrays.

    Returns
    -------
    Mask or ndarray
        A :class:`Mask`; for boolean and float input a boolean array; for
        integer input without ``planes`` an array of the same type holding 1
        where the input is 0 and 0 elsewhere (CIAO's ``imgout=(1-img1)`` on a
        0/1 mask), with ``planes`` the input with those bits flipped.

    Examples
    --------
    >>> invert(np.array([0, 1, 5], dtype=np.int16)).tolist()
    [1, 0, 0]
    >>> invert(np.array([0, 1, 5]), planes=0b110).tolist()
    [6, 7, 3]
    """
    if isinstance(mask, Mask):
        return mask.invert(planes)
    array = np.asarray(mask)
    kind = array.dtype.kind
    if kind in "iu":
        if planes is None:
            return (array == 0).astype(array.dtype)
        if not isinstance(planes, (int, np.integer)) or planes < 0:
            raise ParameterTypeError(f"planes of an integer array must be a non-negative int of bits, got {planes!r}")
        if int(planes) >> (8 * array.dtype.itemsize):
            raise ParameterError(f"planes {planes:#x} has bits beyond the array type {array.dtype}")
        return array ^ np.asarray(planes).astype(array.dtype)
    if kind not in "bf":
        raise ParameterTypeError(f"mask must be a Mask or a boolean, integer or float array, got {array.dtype}")
    if planes is not None:
        raise ParameterError(f"planes= needs a Mask or an integer array, got a {array.dtype} array")
    return ~array if kind == "b" else ~_members(array)


def _accumulator_dtype(op: str, dtype: np.dtype) -> np.dtype:
    """Sums and products of integers are kept in 64 bits so that they do not wrap."""
    if op in ("sum", "mul") and dtype.kind in "biu":
        return np.dtype(np.uint64) if dtype == np.uint64 else np.dtype(np.int64)
    return np.dtype(np.uint8) if dtype.kind == "b" else dtype


_COMBINE = {"sum": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}
_COMBINE_SKIPPING_NAN = {"min": np.fmin, "max": np.fmax}
_IDENTITY = {"sum": 0, "mul": 1}


def stack(op: str, arrays: Iterable[np.ndarray], *, skip_nan: bool | None = None) -> np.ndarray:
    """Combine the values of many same-shape images pixel by pixel.

    Parameters
    ----------
    op : {'sum', 'mul', 'min', 'max'}
        ``sum`` and ``mul`` are CIAO ``dmimgcalc``'s ``img1+img2+...`` and
        ``img1*img2*...``; ``min`` and ``max`` are ``dmimgfilt`` stacks
        (``mask="point(0,0)"``), the intersection and union of masks with
        values >= 0.
    arrays : iterable of 2-D arrays
        Read one at a time (pass a generator to stream files).
    skip_nan : bool, optional
        Leave NaN pixels out of the combination (a pixel NaN in every input
        stays NaN). Default: ``True`` for ``min``/``max`` (as ``dmimgfilt``
        skips NULL/NaN values), ``False`` for ``sum``/``mul`` (IEEE: a NaN in
        any input gives NaN, as in ``dmimgcalc`` expressions).

    Returns
    -------
    ndarray
        Integer inputs are summed and multiplied in ``int64`` (``uint64`` for
        ``uint64`` input) so that results do not wrap; booleans count as 0/1;
        otherwise numpy's type promotion of the inputs.

    Examples
    --------
    >>> a = np.array([[1.0, np.nan, 0.0]]); b = np.array([[2.0, 5.0, np.nan]])
    >>> stack("max", [a, b]).tolist(), stack("sum", [a, b]).tolist()
    ([[2.0, 5.0, 0.0]], [[3.0, nan, nan]])
    >>> stack("sum", [a, b], skip_nan=True).tolist()
    [[3.0, 5.0, 0.0]]
    """
    if op not in STACK_OPS:
        raise ParameterError(f"stack op must be one of {STACK_OPS}, got {op!r}")
    skip = op in ("min", "max") if skip_nan is None else bool(skip_nan)
    combine = _COMBINE_SKIPPING_NAN[op] if skip and op in _COMBINE_SKIPPING_NAN else _COMBINE[op]
    acc: np.ndarray | None = None
    for count, array in enumerate(arrays):
        array = np.asarray(array)
        if array.dtype.kind not in "biuf":
            raise ParameterTypeError(f"stack inputs must be numeric arrays, got {array.dtype} (input {count + 1})")
        if acc is None:
            acc = array.astype(_accumulator_dtype(op, array.dtype), copy=True)
        else:
            if array.shape != acc.shape:
                raise ParameterError(f"input {count + 1} has shape {array.shape}, the first has {acc.shape}")
            dtype = _accumulator_dtype(op, np.result_type(acc.dtype, array.dtype))
            if dtype != acc.dtype:
                acc = acc.astype(dtype)
            if skip and op in _IDENTITY and acc.dtype.kind == "f":
                _combine_skipping_nan(combine, acc, array, _IDENTITY[op])
            else:
                combine(acc, array, out=acc, casting="unsafe")
    if acc is None:
        raise ParameterError("stack needs at least one image")
    return acc


def _combine_skipping_nan(combine: np.ufunc, acc: np.ndarray, array: np.ndarray, identity: float) -> None:
    """``acc = acc op array`` where NaN in either side stands for "no value" (in place)."""
    acc_nan = np.isnan(acc)
    new_nan = np.isnan(array)
    np.copyto(acc, identity, where=acc_nan & ~new_nan)
    combine(acc, array, out=acc, where=~new_nan, casting="unsafe")
