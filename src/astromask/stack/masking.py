"""KBMOD's masking of images in memory (``a8e96632 src/kbmod/masking.py::apply_mask_operations``):
the flags, the global mask and one image (:func:`mask_image`); :mod:`astromask.stack.in_memory`
runs a whole stack held in memory and :mod:`astromask.stack.pipeline` streams the same steps
over files.

Per stack, in KBMOD's order:

1. **Global mask** (only when ``repeated_flag_keys`` is set): a pixel is global
   when at least ``mask_num_images`` raw masks have *any* repeated flag there
   (``>=``, as KBMOD's code and tests; its manual says "surpasses").
2. **Per-image flags**: a pixel is flagged when its mask has any of
   ``flag_keys`` (or of the integer ``mask_bit_vector``). Names are resolved
   through **each file's own plane map** (or a synonym: ``SAT`` finds ``SATURATED``);
   a given name a file lacks is an error naming the file and its planes, unless
   ``unknown_flags`` says to skip it (KBMOD HEAD skips unknown flags silently); the
   default ``flag_keys`` are skipped where absent. Skipped names go in the summary.
   ``mask_bits_dict`` replaces every file's map only when it is given.
3. **Threshold** (only when ``mask_threshold`` is set and not 0): ``science >
   mask_threshold``, strictly; NaN pixels are never masked by it.
4. **Union** with the global mask.
5. **Grow** the union by ``mask_grow`` (a diamond, ``|dx| + |dy| <= r``, by
   default; ``footprint='box'`` or ``'disk'`` on request), clipped at the edges.
6. **Apply**: science and variance become NaN where the grown mask is set.

Then the masked fraction of each image (pixels whose science or variance is
NaN, as KBMOD's ``get_masked_fractions`` counts) is compared with
``max_masked_pixels``: images above it are dropped (not written) and listed.
KBMOD raises an error when no image is less than 90 % masked; so does
:func:`run_stack`, after writing the summary.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence

import numpy as np

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..core.presets import made_plane
from ..core.schema import MaskSchema
from ..errors import (
    FormatError,
    ParameterError,
    UnknownPlaneError,
    UnknownPlaneWarning,
)
from .config import DEFAULT_FLAG_KEYS, StackConfig
from .growth import grow_union

__all__ = [
    "GLOBAL_PLANE",
    "NO_DATA_PLANE",
    "STACK_PLANE",
    "count_repeated",
    "global_mask",
    "mask_image",
    "no_data",
    "resolve_flags",
]

log = logging.getLogger("astromask")

STACK_PLANE = made_plane("STACK_MASKED", "stack")
GLOBAL_PLANE = made_plane("GLOBAL", "stack")
NO_DATA_PLANE = made_plane("NO_DATA", "stack")
#: Masked fraction that every image reaching it makes KBMOD stop ("no image has < 90 % masked").
UNUSABLE_FRACTION = 0.9


# -- flags ----------------------------------------------------------------------------------------


def resolve_flags(schema: MaskSchema, keys: Sequence[str], bits_dict=None) -> tuple[int, tuple[str, ...]]:
    """The integer flags that plane names ``keys`` stand for, and the names that are not known.

    Names are resolved through ``schema`` (a file's own planes), or through
    ``bits_dict`` (``{name: bit index}``) when it is given. Flags are OR'ed,
    so a repeated name counts once (KBMOD sums them, and a repeated name
    carries into the next bit).

    Examples
    --------
    >>> from astromask import get_schema
    >>> resolve_flags(get_schema("rubin"), ["BAD", "EDGE", "BAD", "SPIKE"])
    (17, ('SPIKE',))
    >>> resolve_flags(get_schema("rubin"), ["CR"], {"CR": 5})
    (32, ())
    """
    value = 0
    unknown = []
    for key in dict.fromkeys(k.upper() for k in keys):
        if bits_dict is not None:
            if key in bits_dict:
                value |= 1 << int(bits_dict[key])
                continue
        elif schema.resolve(key) is not None:  # the file's own name, or a synonym (SAT, SATURATED)
            value |= 1 << schema.bit(key)
            continue
        unknown.append(key)
    return value, tuple(unknown)


#: Bytes of one block of rows in the per-pixel passes: small work arrays, reused, stay in the cache
#: (whole-image temporaries of 32 MiB cost as much in page faults as the arithmetic itself).
BLOCK_BYTES = 1 << 20


def _row_blocks(array: np.ndarray) -> range:
    """Starts of blocks of :func:`_block_rows` rows covering a 2-D array."""
    return range(0, array.shape[0], _block_rows(array))


def _block_rows(array: np.ndarray) -> int:
    return max(1, BLOCK_BYTES // max(1, array.shape[1] * array.itemsize))


def _select(array: np.ndarray, flags: int) -> np.ndarray:
    """``(array & flags) != 0`` with ``flags`` cut to the array's width (a new array), block by block."""
    flags &= (1 << 8 * array.dtype.itemsize) - 1
    if not flags:
        return np.zeros(array.shape, dtype=bool)
    value = array.dtype.type(flags)
    out = np.empty(array.shape, dtype=bool)
    step = _block_rows(array)
    work = np.empty((step, array.shape[1]), dtype=array.dtype)
    for start in _row_blocks(array):
        rows = slice(start, start + step)
        block = work[: out[rows].shape[0]]
        np.bitwise_and(array[rows], value, out=block)
        np.not_equal(block, 0, out=out[rows])
    return out


def _apply_nan(science: np.ndarray, variance: np.ndarray, masked: np.ndarray) -> None:
    """Set ``science`` and ``variance`` to NaN where ``masked``, block by block."""
    step = _block_rows(science)
    for start in _row_blocks(science):
        rows = slice(start, start + step)
        np.copyto(science[rows], np.nan, where=masked[rows])
        np.copyto(variance[rows], np.nan, where=masked[rows])


def no_data(science: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """Boolean array: pixels without data, where science or variance is NaN or infinite or the
    variance is not positive (zero weight: KBMOD's search skips a pixel whose variance is 0).

    Reprojected exposures hold NaN (or zero weight) where no input pixel landed, often 90 % of them.

    >>> no_data(np.array([[1.0, np.nan, 2.0]]), np.array([[1.0, 1.0, 0.0]])).astype(int)
    array([[0, 1, 1]])
    """
    out = np.empty(science.shape, dtype=bool)
    if science.dtype.kind != "f" and variance.dtype.kind != "f":
        np.less_equal(variance, 0, out=out)
        return out
    step = _block_rows(science)
    good = np.empty((step, science.shape[1]), dtype=bool)
    for start in _row_blocks(science):
        rows = slice(start, start + step)
        block = good[: out[rows].shape[0]]
        with np.errstate(invalid="ignore"):
            np.greater(variance[rows], 0, out=block)  # False for NaN
            block &= np.isfinite(variance[rows])
            block &= np.isfinite(science[rows])
        np.logical_not(block, out=out[rows])
    return out


def _check_known(mask: Mask, unknown: tuple[str, ...], option: str, config: StackConfig, name: str) -> None:
    """Refuse (or warn of) plane names given by the user that the image lacks, as ``config.unknown_flags`` says."""
    if not unknown or config.unknown_flags == "ignore":
        return
    where = f"{name}: " if name else ""
    known = ", ".join(mask.schema.names) if config.mask_bits_dict is None else ", ".join(config.mask_bits_dict)
    message = (
        f"{where}{option} {', '.join(unknown)}: no such plane in this image (its planes: {known}); "
        "synonyms such as SAT/SATURATED are matched (docs/schemas.md); give --unknown-flags warn to skip them"
    )
    if config.unknown_flags == "error":
        raise UnknownPlaneError(message)
    warnings.warn(message, UnknownPlaneWarning, stacklevel=3)


def _image_flags(mask: Mask, config: StackConfig, name: str = "") -> tuple[int, tuple[str, ...]]:
    if config.mask_bit_vector:  # KBMOD: a truthy bit vector replaces flag_keys
        return config.mask_bit_vector, ()
    flags, unknown = resolve_flags(mask.schema, config.flag_keys, config.mask_bits_dict)
    if config.flag_keys != DEFAULT_FLAG_KEYS:  # the defaults name planes many files lack: skipped, as in KBMOD
        _check_known(mask, unknown, "flag_keys (--flag-keys)", config, name)
    return flags, unknown


def count_repeated(mask: Mask, config: StackConfig, *, name: str = "") -> np.ndarray:
    """Boolean array: where ``mask`` has any of ``config.repeated_flag_keys`` (one image's vote).

    A name the mask lacks (none of its planes, nor a synonym) is refused, or warned of, as
    ``config.unknown_flags`` says; ``name`` is the file, for the message.
    """
    flags, unknown = resolve_flags(mask.schema, config.repeated_flag_keys, config.mask_bits_dict)
    _check_known(mask, unknown, "repeated_flag_keys (--repeated-flag-keys)", config, name)
    return _select(mask.array, flags)


def global_mask(counts: np.ndarray, config: StackConfig) -> np.ndarray:
    """Boolean global mask: ``counts >= mask_num_images`` (KBMOD's ``make_global_mask``)."""
    return np.asarray(counts) >= config.mask_num_images


# -- one image ------------------------------------------------------------------------------------


def _as_float(array: np.ndarray, copy: bool) -> np.ndarray:
    """Floats that can hold NaN (``float32``, or ``float64`` for 32/64-bit integers); a copy if ``copy``."""
    if array.dtype.kind == "f":
        return array.copy() if copy else array
    return array.astype(np.float64 if array.dtype.itemsize >= 4 else np.float32)


def _compiled(image: MaskedImage) -> bool:
    """Whether the compiled passes (:mod:`astromask.stack._kernels`) take these pixels: ``float32``
    science and variance of one byte order, C-ordered, as every stack input format stores them."""
    science, variance, mask = image.image, image.variance, image.mask.array
    return (
        science.dtype.kind == "f"
        and science.dtype.itemsize == 4
        and variance.dtype == science.dtype
        and science.ndim == 2
        and all(a.flags.c_contiguous for a in (science, variance, mask))
    )


def _flag_compiled(image: MaskedImage, flags: int, config: StackConfig, global_: np.ndarray | None):
    """:func:`mask_image`'s first steps in one compiled pass: ``masked``, ``empty`` and three counts."""
    from ._kernels import flag_pixels, float_key

    array = image.mask.array
    masked = np.empty(image.shape, dtype=bool)
    empty = np.empty(image.shape, dtype=bool)
    key = float_key(config.mask_threshold) if config.thresholding else 0
    counts = flag_pixels(
        array,
        array.dtype.type(flags & ((1 << 8 * array.dtype.itemsize) - 1)),
        image.image.view(np.uint32),
        image.variance.view(np.uint32),
        not image.image.dtype.isnative,
        np.uint32(key),
        config.thresholding,
        masked if global_ is None else global_,
        global_ is not None,
        config.flags_no_data,
        masked,
        empty,
    )
    return masked, empty, *(int(n) for n in counts)


def _output_mask(
    mask: Mask,
    masked: np.ndarray,
    global_: np.ndarray | None,
    empty: np.ndarray | None,
    copy: bool,
    compiled: bool = False,
) -> tuple[Mask, dict | None]:
    """The input planes plus ``STACK_MASKED`` (and ``GLOBAL``), set afresh, and the pixels without data
    that no input plane explains added to the file's own ``NO_DATA`` plane (or a synonym; else a new
    one): one clearing pass, one OR per plane.

    A pixel without data that the file flags already (a DECam CP cosmic ray has weight 0) keeps its
    own flags alone, as the CP reader's rule; formats of one flag per pixel can then still hold it.

    ``compiled``: in one pass (:func:`astromask.stack._kernels.set_planes`), which also sets
    ``masked`` where ``empty`` and returns the pixel count of every plane (else ``None``).
    """
    planes = {STACK_PLANE: masked} | ({GLOBAL_PLANE: global_} if global_ is not None else {})
    schema = mask.schema.with_planes(*planes)
    own = schema.resolve(NO_DATA_PLANE.name)
    if empty is not None and own is None:
        schema = schema.with_planes(NO_DATA_PLANE)
        own = NO_DATA_PLANE.name
    array = mask.array.astype(schema.dtype, copy=copy)
    bits = {plane.name: schema.dtype.type(1 << schema.bit(plane.name)) for plane in planes}
    clear = np.bitwise_or.reduce(list(bits.values()))
    if compiled:
        from ._kernels import set_planes

        counts = np.zeros(8 * schema.dtype.itemsize, dtype=np.int64)
        zero = schema.dtype.type(0)
        set_planes(
            array,
            ~clear,
            bits[STACK_PLANE.name],
            masked,
            bits.get(GLOBAL_PLANE.name, zero),
            masked if global_ is None else global_,
            global_ is not None,
            schema.dtype.type(1 << schema.bit(own)) if own is not None else zero,
            masked if empty is None else empty,
            empty is not None,
            counts,
        )
        return Mask(array, schema, copy=False), {p.name: int(counts[i]) for i, p in schema.items()}
    array &= ~clear
    if empty is not None:  # where the file marked nothing
        unexplained = array == 0
        unexplained &= empty
        np.bitwise_or(array, schema.dtype.type(1 << schema.bit(own)), out=array, where=unexplained)
    for plane, where in planes.items():  # whole-array bit operations (Mask.set indexes pixel by pixel)
        np.bitwise_or(array, bits[plane.name], out=array, where=where)
    return Mask(array, schema, copy=False), None


def mask_image(
    image: MaskedImage,
    config: StackConfig,
    global_: np.ndarray | None = None,
    *,
    copy: bool = True,
    name: str = "",
    apply: bool = True,
) -> tuple[MaskedImage, dict]:
    """KBMOD's per-image steps on one image: flags, threshold, union with the global mask, grow, apply.

    Pixels without data (:func:`no_data`: science or variance NaN or infinite, variance <= 0) are
    set in the image's ``NO_DATA`` plane (added when it has none) where no plane flags them
    already; they are flagged with the others when ``flag_keys`` names ``NO_DATA`` (the default),
    and always masked.

    Parameters
    ----------
    image : MaskedImage
        The image; not modified unless ``copy=False``.
    config : StackConfig
    global_ : bool array, optional
        The stack's global mask (same shape), or None.
    copy : bool
        ``False`` reuses the image's arrays where their types allow (for
        images read only to be masked).
    name : str
        The image's file, for messages.
    apply : bool
        Set science and variance to NaN where masked. ``False`` leaves them as
        they are (not copied) and computes the mask and statistics alone, for
        outputs that are masks.

    Returns
    -------
    (MaskedImage, dict)
        A new image with science and variance NaN where masked and the mask
        planes ``STACK_MASKED`` (and ``GLOBAL``, ``NO_DATA``) added; and its statistics:
        ``flags`` (the integer used), ``unknown_flags``, ``n_flagged``,
        ``n_threshold``, ``n_global``, ``n_no_data`` (pixels without data),
        ``n_masked`` (``STACK_MASKED``: the grown union and the pixels without
        data), ``n_nan`` (science or variance NaN afterwards, KBMOD's masked
        pixels: the same), ``masked_fraction`` (KBMOD's), ``no_data_fraction``
        and ``usable_fraction`` (neither masked nor without data).

    Examples
    --------
    >>> from astromask import MaskedImage, get_schema
    >>> mi = MaskedImage(np.zeros((5, 5), np.float32), schema=get_schema("rubin"))
    >>> mi.mask.set("BAD", (2, 2))
    >>> out, stats = mask_image(mi, StackConfig(mask_grow=1))
    >>> np.isnan(out.image).astype(int)[1:4, 1:4], stats["n_masked"]
    (array([[0, 1, 0],
           [1, 1, 1],
           [0, 1, 0]]), 5)
    """
    mask = image.mask
    if global_ is not None and global_.shape != image.shape:
        raise ParameterError(f"image shape {image.shape} differs from the global mask's {global_.shape}")
    flags, unknown = _image_flags(mask, config, name)
    compiled = _compiled(image)
    if compiled:
        masked, empty, n_flagged, n_threshold, n_no_data = _flag_compiled(image, flags, config, global_)
    else:
        masked, empty, n_flagged, n_threshold, n_no_data = _flag_numpy(image, flags, config, global_)
    if config.mask_grow > 0:
        masked = grow_union(masked, config.mask_grow, config.footprint)
    if n_no_data and not compiled:
        masked |= empty
    out_mask, planes = _output_mask(mask, masked, global_, empty if n_no_data else None, copy, compiled)
    if apply:
        science, variance = _as_float(image.image, copy), _as_float(image.variance, copy)
        _apply_nan(science, variance, masked)
    else:
        science, variance = image.image, image.variance
    n_masked = planes[STACK_PLANE.name] if planes else int(np.count_nonzero(masked))
    size = image.image.size
    out = MaskedImage(
        science,
        mask=out_mask,
        variance=variance,
        unit=image.unit,
        wcs=image.wcs,
        xy0=image.xy0,
        metadata=image.metadata,
    )
    stats = {
        "flags": int(flags),
        "unknown_flags": ",".join(unknown),
        "n_flagged": n_flagged,
        "n_threshold": n_threshold,
        "n_global": 0 if global_ is None else planes[GLOBAL_PLANE.name] if planes else int(np.count_nonzero(global_)),
        "n_no_data": n_no_data,
        "n_masked": n_masked,
        "n_nan": n_masked,
        "masked_fraction": n_masked / size if size else 0.0,
        "no_data_fraction": n_no_data / size if size else 0.0,
        "usable_fraction": 1 - n_masked / size if size else 0.0,
    }
    if planes:
        stats["_planes"] = planes  # for the summary row (summary.row); not a column
    return out, stats


def _flag_numpy(image: MaskedImage, flags: int, config: StackConfig, global_: np.ndarray | None):
    """:func:`_flag_compiled` for other pixel types, in numpy passes block by block."""
    mask = image.mask
    masked = _select(mask.array, flags)  # a new array: the union is built in it
    n_flagged = int(np.count_nonzero(masked))
    n_threshold = 0
    if config.thresholding:
        with np.errstate(invalid="ignore"):
            above = np.asarray(image.image) > config.mask_threshold  # NaN > t is False
        n_threshold = int(np.count_nonzero(above))
        masked |= above
        del above
    empty = no_data(image.image, image.variance)
    n_no_data = int(np.count_nonzero(empty))
    if config.flags_no_data and n_no_data:
        masked |= empty
    if global_ is not None:
        masked |= global_
    return masked, empty, n_flagged, n_threshold, n_no_data


def _dropped(stats: dict, config: StackConfig) -> bool:
    """KBMOD's rule (``masked_fraction > max_masked_pixels``), or usable below ``min_usable``."""
    if stats["masked_fraction"] > config.max_masked_pixels:
        return True
    return config.min_usable is not None and stats["usable_fraction"] < config.min_usable


# -- shared by the passes --------------------------------------------------------------------------


def _count_dtype(n_images: int) -> np.dtype:
    return np.dtype(np.uint16 if n_images < 1 << 16 else np.uint32)


def _check_shape(expected: tuple, shape: tuple, first: str, name: str) -> None:
    if shape != expected:
        raise FormatError(
            f"mask shape {shape} differs from {expected} of {first}; a global mask needs one pixel grid "
            "(run without repeated_flag_keys to mask images of different shapes)",
            path=name,
        )
