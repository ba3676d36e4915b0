"""KBMOD's stack masking (``a8e96632 src/kbmod/masking.py::apply_mask_operations``), in two streamed passes.

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

Streaming: pass 1 reads each mask alone (:mod:`astromask.stack.masks`) and
adds its repeated flags into a ``uint16`` count array; pass 2 reads, masks,
writes and frees one image at a time. Memory is one image plus the count array.
The per-pixel steps run block by block of rows (no image-sized temporaries)
and the diamond growth on bit-packed rows (:mod:`astromask.stack.growth`).

Outputs keep the input's mask planes and add ``STACK_MASKED`` (KBMOD's 0/1
mask: the pixels set to NaN by the pipeline) and, with global masking,
``GLOBAL`` (the global mask, before growth).
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.table import MaskedColumn, Table

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..core.presets import made_plane
from ..core.schema import MaskSchema
from ..errors import (
    AstromaskError,
    FormatError,
    OutputExistsError,
    ParameterError,
    UnknownPlaneError,
    UnknownPlaneWarning,
)
from ..inputs import expand_inputs
from ..io import WRITE_FORMATS, output_format, read_mask, write
from ..io import open as open_source
from ..io.fitsfile import make_image_hdu, parse_fits_name, stored_float_order, write_atomic
from ..io.formats.plain import mask_hdu
from .config import DEFAULT_FLAG_KEYS, StackConfig
from .growth import grow_union
from .per_hdu import hdu_labels, run_per_hdu
from .scheduler import Runner, check_scheduler

__all__ = [
    "GLOBAL_FILE",
    "GLOBAL_PLANE",
    "STACK_PLANE",
    "SUMMARY_FILE",
    "StackResult",
    "count_repeated",
    "global_mask",
    "mask_image",
    "mask_stack",
    "resolve_flags",
    "run_stack",
]

log = logging.getLogger("astromask")

STACK_PLANE = made_plane("STACK_MASKED", "stack")
GLOBAL_PLANE = made_plane("GLOBAL", "stack")
SUMMARY_FILE = "stack_summary.ecsv"
GLOBAL_FILE = "global_mask.fits"
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


def _apply_nan(science: np.ndarray, variance: np.ndarray, masked: np.ndarray) -> int:
    """Set ``science`` and ``variance`` to NaN where ``masked``; return the pixels where either is NaN."""
    n_nan = 0
    step = _block_rows(science)
    for start in _row_blocks(science):
        rows = slice(start, start + step)
        np.copyto(science[rows], np.nan, where=masked[rows])
        np.copyto(variance[rows], np.nan, where=masked[rows])
        either = np.isnan(science[rows])
        either |= np.isnan(variance[rows])
        n_nan += int(np.count_nonzero(either))
    return n_nan


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


def _output_mask(mask: Mask, masked: np.ndarray, global_: np.ndarray | None, copy: bool) -> Mask:
    """The input planes plus ``STACK_MASKED`` (and ``GLOBAL``), set afresh: one clearing pass, one OR per plane."""
    planes = {STACK_PLANE: masked} | ({GLOBAL_PLANE: global_} if global_ is not None else {})
    schema = mask.schema.with_planes(*planes)
    array = mask.array.astype(schema.dtype, copy=copy)
    bits = {plane: schema.dtype.type(1 << schema.bit(plane.name)) for plane in planes}
    array &= ~np.bitwise_or.reduce(list(bits.values()))
    for plane, where in planes.items():  # whole-array bit operations (Mask.set indexes pixel by pixel)
        np.bitwise_or(array, bits[plane], out=array, where=where)
    return Mask(array, schema, copy=False)


def mask_image(
    image: MaskedImage,
    config: StackConfig,
    global_: np.ndarray | None = None,
    *,
    copy: bool = True,
    name: str = "",
) -> tuple[MaskedImage, dict]:
    """KBMOD's per-image steps on one image: flags, threshold, union with the global mask, grow, apply.

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

    Returns
    -------
    (MaskedImage, dict)
        A new image with science and variance NaN where masked and the mask
        planes ``STACK_MASKED`` (and ``GLOBAL``) added; and its statistics:
        ``flags`` (the integer used), ``unknown_flags``, ``n_flagged``,
        ``n_threshold``, ``n_global``, ``n_masked`` (set by the pipeline),
        ``n_nan`` (science or variance NaN afterwards) and ``masked_fraction``.

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
    masked = _select(mask.array, flags)  # a new array: the union is built in it
    n_flagged = int(np.count_nonzero(masked))
    n_threshold = 0
    if config.thresholding:
        with np.errstate(invalid="ignore"):
            above = np.asarray(image.image) > config.mask_threshold  # NaN > t is False
        n_threshold = int(np.count_nonzero(above))
        masked |= above
        del above
    if global_ is not None:
        masked |= global_
    if config.mask_grow > 0:
        masked = grow_union(masked, config.mask_grow, config.footprint)
    science, variance = _as_float(image.image, copy), _as_float(image.variance, copy)
    n_nan = _apply_nan(science, variance, masked)
    out = MaskedImage(
        science,
        mask=_output_mask(mask, masked, global_, copy),
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
        "n_global": 0 if global_ is None else int(np.count_nonzero(global_)),
        "n_masked": int(np.count_nonzero(masked)),
        "n_nan": n_nan,
        "masked_fraction": n_nan / image.image.size if image.image.size else 0.0,
    }
    return out, stats


def _dropped(stats: dict, config: StackConfig) -> bool:
    return stats["masked_fraction"] > config.max_masked_pixels


# -- whole stacks in memory -----------------------------------------------------------------------


@dataclass
class StackResult:
    """What a stack run produced.

    Attributes
    ----------
    table : astropy.table.Table
        One row per input image (see :func:`run_stack`).
    global_mask : bool array, dict or None
        The global mask (None when ``repeated_flag_keys`` is empty); for exposures of
        several CCDs, ``{hdu: mask}`` (:mod:`astromask.stack.per_hdu`).
    counts : integer array, dict or None
        Per pixel, the number of images with a repeated flag (per CCD likewise).
    images : list of MaskedImage or None
        The masked images (:func:`mask_stack` only; None for dropped images).
    paths : dict
        Files written by :func:`run_stack`: ``'summary'``, ``'global'``.
    """

    table: Table
    global_mask: np.ndarray | None = None
    counts: np.ndarray | None = None
    images: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)

    @property
    def dropped(self) -> list[str]:
        """Names of the images dropped for being too masked."""
        return [str(name) for name, drop in zip(self.table["file"], self.table["dropped"]) if drop]


def _count_dtype(n_images: int) -> np.dtype:
    return np.dtype(np.uint16 if n_images < 1 << 16 else np.uint32)


def mask_stack(images: Sequence[MaskedImage], config: StackConfig | None = None) -> StackResult:
    """Run the pipeline on images held in memory (see :func:`run_stack` for files).

    Parameters
    ----------
    images : sequence of MaskedImage
        Not modified. With global masking they must share one shape.
    config : StackConfig, optional
        Default: KBMOD's defaults.

    Returns
    -------
    StackResult
        ``images`` holds the masked images, None for the dropped ones.
    """
    config = config or StackConfig()
    names = [f"image {i}" for i in range(len(images))]
    counts = None
    if config.global_masking:
        for name, image in zip(names, images):
            vote = count_repeated(image.mask, config)
            if counts is None:
                counts = np.zeros(vote.shape, dtype=_count_dtype(len(images)))
            _check_shape(counts.shape, vote.shape, names[0], name)
            counts += vote
    global_ = None if counts is None else global_mask(counts, config)
    outputs, rows = [], []
    for index, (name, image) in enumerate(zip(names, images)):
        out, stats = mask_image(image, config, global_)
        dropped = _dropped(stats, config)
        outputs.append(None if dropped else out)
        rows.append(_row(index, name, "", "", image.mask.schema.name, out.mask, stats, dropped))
    return StackResult(_table(rows, config, global_), global_, counts, outputs)


def _check_shape(expected: tuple, shape: tuple, first: str, name: str) -> None:
    if shape != expected:
        raise FormatError(
            f"mask shape {shape} differs from {expected} of {first}; a global mask needs one pixel grid "
            "(run without repeated_flag_keys to mask images of different shapes)",
            path=name,
        )


# -- summary table --------------------------------------------------------------------------------


def _row(index, name, output, fmt, schema_name, mask: Mask, stats: dict, dropped: bool) -> dict:
    return {
        "index": index,
        "file": name,
        "output": "" if dropped else output,
        "format": fmt,
        "schema": schema_name or "",
        "ny": mask.shape[0],
        "nx": mask.shape[1],
        **stats,
        "dropped": dropped,
        "planes": mask.counts(),
    }


def _table(rows: list[dict], config: StackConfig, global_: np.ndarray | None) -> Table:
    """One row per image; ``n_<PLANE>`` columns per plane of any output mask (masked where a file lacks it)."""
    rows = sorted(rows, key=lambda r: r["index"])
    planes = list(dict.fromkeys(name for row in rows for name in row["planes"]))
    scalar = [k for k in rows[0] if k != "planes"] if rows else []
    table = Table()
    for key in scalar:
        table[key] = [row[key] for row in rows]
    for plane in planes:
        values = [row["planes"].get(plane, 0) for row in rows]
        missing = [plane not in row["planes"] for row in rows]
        table[f"n_{plane}"] = MaskedColumn(values, mask=missing, dtype=np.int64) if any(missing) else values
    meta = {key: value for key, value in config.as_dict().items() if value is not None}
    meta["n_images"] = len(rows)
    meta["n_dropped"] = int(sum(bool(r["dropped"]) for r in rows))
    meta["global_pixels"] = None if global_ is None else int(np.count_nonzero(global_))
    table.meta.update(meta)
    return table


# -- the two passes over files --------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """One image of pass 2: where to read it, where to write it, and how."""

    index: int
    name: str
    path: str
    output: str
    to: str | None
    overwrite: bool
    config: StackConfig
    write_options: Mapping | None = None


@dataclass(frozen=True)
class _Votes:
    """Pass-1 partial result: repeated-flag counts of some images, and the first image's name.

    One image's vote is kept as packed bits (``packed``, an eighth of a
    boolean array, for the transfers between Dask workers); sums as counts.
    """

    first: str
    shape: tuple[int, int]
    counts: np.ndarray
    packed: bool = False

    @classmethod
    def of_image(cls, name: str, vote: np.ndarray) -> _Votes:
        return cls(name, vote.shape, np.packbits(vote, axis=None), packed=True)

    def add_to(self, total: np.ndarray) -> None:
        """``total += `` these counts."""
        if self.packed:
            total += np.unpackbits(self.counts, count=total.size).reshape(self.shape).view(bool)
        else:
            total += self.counts


def _vote(name: str, config: StackConfig) -> _Votes:
    """Pass-1 task: read one mask and return where it has a repeated flag."""
    mask = read_mask(name)
    log.info("%s: %s planes, repeated flags counted", name, mask.schema.name or "")
    return _Votes.of_image(name, count_repeated(mask, config, name=name))


class _Combine:
    """Pass-1 reduction: sum partial counts into a new array (inputs are left as they are)."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = dtype

    def __call__(self, parts: Sequence[_Votes]) -> _Votes:
        total = np.zeros(parts[0].shape, dtype=self.dtype)
        for part in parts:
            _check_shape(total.shape, part.shape, parts[0].first, part.first)
            part.add_to(total)
        return _Votes(parts[0].first, total.shape, total)


class _VoteTask:
    """Picklable ``name -> _Votes`` for the schedulers."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config

    def __call__(self, name: str) -> _Votes:
        return _vote(name, self.config)


def _output_format(input_format: str, image: MaskedImage, to: str | None) -> str:
    """``to``, else the input's format where it keeps every plane, else afw (KBMOD's own input
    layout), else lsst.images (more than afw's 32 bits); see :func:`astromask.io.output_format`."""
    return output_format(input_format, image, to, fallback=("afw", "lsst"))


def _write_options(fmt: str, mask: Mask) -> dict:
    """The stack's output compression where it differs from the format's default.

    Masks are compressed losslessly with RICE_1 (a tenth of GZIP_2's time, and
    the same bytes on every run), images and variances not at all: noisy
    floats gain little from lossless compression and cost seconds per
    exposure. Other formats keep their defaults (afw, JWST, CCDData: none).
    RICE_1 takes integers of up to 32 bits (lsst.images packs its masks into
    ``int32`` HDUs).
    """
    if fmt == "lsst":
        return {"image_compression": None, "variance_compression": None, "mask_compression": "RICE_1"}
    if fmt == "fits" and mask.array.dtype.itemsize <= 4:
        return {"compression": "RICE_1"}
    return {}


def _for_writing(image: MaskedImage, fmt: str) -> MaskedImage:
    """A masked image that pass 2 owns, as it is written: without the stack planes for formats that
    cannot store them, science and variance in FITS byte order.

    The pixels are byte-swapped in place, once: given native arrays, astropy
    swaps them, writes them and swaps them back.
    """
    mask = image.mask
    if fmt == "decam":
        keep = MaskSchema(
            [p for p in mask.schema if p.name not in (STACK_PLANE.name, GLOBAL_PLANE.name)], name=mask.schema.name
        )
        mask = mask.remap(keep, drop=True)
    return MaskedImage(
        _big_endian(image.image),
        mask=mask,
        variance=_big_endian(image.variance),
        unit=image.unit,
        wcs=image.wcs,
        xy0=image.xy0,
        metadata=image.metadata,
    )


def _big_endian(array: np.ndarray) -> np.ndarray:
    """``array`` as big-endian, swapped in place where it is not (the caller gives it up)."""
    big = array.dtype.newbyteorder(">")
    if array.dtype == big:
        return array
    array.byteswap(inplace=True)
    return array.view(big)


def _read_image(name: str) -> tuple[str, MaskedImage | Mask]:
    """:func:`astromask.io.read`, and the format it found; science and variance as stored.

    Floating-point pixels keep the file's byte order (big-endian): pass 2
    only compares them, sets some to NaN and writes them back, all of which
    work on either order, so they are never swapped. The file's HDUs are
    freed on return.
    """
    with open_source(name) as source, stored_float_order():
        return source.format, source.read()


def _apply_file(job: _Job, global_: np.ndarray | None) -> dict:
    """Pass-2 task: read one image, mask it, write it (unless dropped), return its summary row."""
    fmt, image = _read_image(job.path)
    if not isinstance(image, MaskedImage):
        raise FormatError("holds a mask, not an image; stack inputs are images", path=job.name)
    schema_name = image.mask.schema.name
    out, stats = mask_image(image, job.config, global_, copy=False, name=job.name)
    del image
    mask = out.mask
    dropped = _dropped(stats, job.config)
    written = ""
    if not dropped:
        written = _output_format(fmt, out, job.to)
        stored = _for_writing(out, written)  # takes over the pixels of out
        del out
        options = _write_options(written, stored.mask) if job.write_options is None else job.write_options
        write(stored, job.output, format=written, overwrite=job.overwrite, **options)
        del stored
        log.info(
            "%s: %d pixels masked (%.2f %%), wrote %s (%s)",
            job.name,
            stats["n_masked"],
            100 * stats["masked_fraction"],
            job.output,
            written,
        )
    return _row(job.index, job.name, job.output, written, schema_name, mask, stats, dropped)


def _plan_outputs(names: list[str], outdir: str, overwrite: bool) -> dict[str, str]:
    """Output file of each input, and the summary and global-mask files; refuse collisions and clobbering."""
    outputs: dict[str, str] = {}
    for name in names:
        target = os.path.join(outdir, os.path.basename(parse_fits_name(name).path))
        if target in outputs.values():
            other = next(k for k, v in outputs.items() if v == target)
            raise AstromaskError(f"{name} and {other} would both be written to {target}; rename one of them")
        outputs[name] = target
    sources = [parse_fits_name(n).path for n in names]
    summary = os.path.join(outdir, SUMMARY_FILE)
    for target in [*outputs.values(), summary, os.path.join(outdir, GLOBAL_FILE)]:
        if not os.path.exists(target):
            continue
        for source in sources:
            if os.path.samefile(source, target):
                raise AstromaskError(f"{target}: output is the input file {source}; choose another --outdir")
        if not overwrite and not os.path.exists(summary):  # the summary is written last
            raise AstromaskError(
                f"{outdir}: holds the outputs of an unfinished stack run (no {SUMMARY_FILE}: it was "
                "interrupted or failed); rerun with --overwrite to redo it, or choose another --outdir"
            )
        if not overwrite:
            raise OutputExistsError(target)
    return outputs


def _write_global(path: str, global_: np.ndarray, counts: np.ndarray, config: StackConfig, overwrite: bool) -> None:
    """The global mask (plane ``GLOBAL``) and the per-pixel counts (``COUNT`` HDU) as one FITS file.

    PLIO_1 and RICE_1 compress these integers losslessly and, unlike GZIP
    (whose tiles carry a time stamp), give the same bytes on every run.
    """
    header = fits.Header()
    header["NIMAGES"] = (int(counts.max(initial=0)), "most images with a repeated flag at one pixel")
    header["MASKNUM"] = (config.mask_num_images, "mask_num_images: GLOBAL where COUNT >= this")
    header["REPFLAGS"] = (",".join(config.repeated_flag_keys), "repeated_flag_keys")
    mask = Mask.from_bool(global_, GLOBAL_PLANE)
    count_hdu = make_image_hdu(counts, fits.Header(), name="COUNT", compression="RICE_1")
    hdul = fits.HDUList([fits.PrimaryHDU(header=header), mask_hdu(mask, compression="PLIO_1"), count_hdu])
    write_atomic(hdul, path, overwrite=overwrite)


def _write_table(table: Table, path: str) -> None:
    """Write the ECSV summary atomically (a temporary file renamed over ``path``)."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        table.write(temporary, format="ascii.ecsv", overwrite=True)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def run_stack(
    inputs: Sequence[str | os.PathLike],
    outdir: str | os.PathLike,
    config: StackConfig | None = None,
    *,
    to: str | None = None,
    scheduler: str | None = None,
    overwrite: bool = False,
    write_options: Mapping | None = None,
) -> StackResult:
    """Mask a stack of image files the KBMOD way, streaming, optionally on Dask.

    Parameters
    ----------
    inputs : sequence of str
        Image files, globs, directories or list files (see
        :func:`~astromask.stack.inputs.expand_inputs`), in any format astromask reads.
    outdir : str
        Directory for the outputs (created if needed): each masked image under
        its input's base name, ``global_mask.fits`` (with global masking) and
        ``stack_summary.ecsv``.
    config : StackConfig, optional
        Parameters (default: KBMOD's defaults).
    to : str, optional
        Output format; default the input's (DECam CP images are written as
        afw legacy files, which keep the new planes).
    scheduler : str, optional
        ``None`` (this process), ``'synchronous'``, ``'threads'``,
        ``'processes'`` or a Dask scheduler address ``'tcp://host:port'``.
        Results are the same for all.
    overwrite : bool
        Replace existing outputs.
    write_options : mapping, optional
        Options of :func:`astromask.io.write` for the output format, e.g.
        ``{"compression": "GZIP_2"}``. By default images and variances are
        written uncompressed and masks losslessly compressed where the format
        compresses them (RICE_1 for lsst.images and plain FITS masks); afw,
        JWST and CCDData outputs are uncompressed, as those formats write.

    Returns
    -------
    StackResult
        ``table`` columns: ``index``, ``file``, ``output`` (empty when dropped),
        ``format`` (written), ``schema`` (the plane map the file was read
        with), ``ny``, ``nx``, ``flags`` (integer flags used), ``unknown_flags``
        (flag names the file lacks), ``n_flagged``, ``n_threshold``,
        ``n_global``, ``n_masked``, ``n_nan``, ``masked_fraction``,
        ``dropped``, then ``n_<PLANE>`` for each output plane.

    Raises
    ------
    AstromaskError
        When no image is less than 90 % masked (after writing the summary).
    """
    config = config or StackConfig()
    check_scheduler(scheduler)
    if to is not None and to not in WRITE_FORMATS:
        raise ParameterError(f"to must be one of {WRITE_FORMATS}, got {to!r}")
    names = expand_inputs(inputs)
    outdir = os.path.abspath(os.fspath(outdir))
    made = not os.path.exists(outdir)
    os.makedirs(outdir, exist_ok=True)
    before = _listing(outdir)
    try:
        labels = hdu_labels(names)  # exposures of several CCDs: a stack per CCD
        if labels is None:
            result = _run_stack(names, outdir, config, to, scheduler, overwrite, write_options)
        else:
            _plan_outputs([parse_fits_name(n).path for n in names], outdir, overwrite)  # before any work
            result = run_per_hdu(
                names,
                labels,
                outdir,
                _run_stack,
                config=config,
                to=to,
                scheduler=scheduler,
                overwrite=overwrite,
                write_options=write_options,
                summary_file=SUMMARY_FILE,
                global_file=GLOBAL_FILE,
            )
    except BaseException:  # Ctrl-C or an error: the outputs of this run are not a whole set; none is left
        for name, stamp in _listing(outdir).items():
            if before.get(name) != stamp:
                os.remove(os.path.join(outdir, name))
        if made and not os.listdir(outdir):
            os.rmdir(outdir)
        raise
    fractions = np.asarray(result.table["masked_fraction"], dtype=float)
    if not np.any(fractions < UNUSABLE_FRACTION):  # the outputs are whole: the summary says why
        raise AstromaskError(
            f"no image is less than {UNUSABLE_FRACTION:.0%} masked (lowest "
            f"{fractions.min():.1%}); see {result.paths['summary']}"
        )
    return result


def _listing(folder: str) -> dict[str, tuple[int, int]]:
    """``{file: (size, mtime_ns)}`` of a folder's files, to tell what a run wrote."""
    out = {}
    for entry in os.scandir(folder):
        if entry.is_file():
            info = entry.stat()
            out[entry.name] = (info.st_size, info.st_mtime_ns)
    return out


def _run_stack(names, outdir, config, to, scheduler, overwrite, write_options) -> StackResult:
    outputs = _plan_outputs(names, outdir, overwrite)
    paths = {"summary": os.path.join(outdir, SUMMARY_FILE)}
    counts = global_ = None
    # the global mask file is compressed and written in a thread of its own while pass 2 runs
    with Runner(scheduler) as runner, ThreadPoolExecutor(1) as writer:
        written = None
        if config.global_masking:
            log.info("pass 1: counting %s in %d images", ",".join(config.repeated_flag_keys), len(names))
            dtype = _count_dtype(len(names))
            votes = runner.reduce(
                _VoteTask(config), [os.path.abspath(n) for n in names], _Combine(dtype), label="stack-count"
            )
            counts = _Combine(dtype)([votes]).counts if votes.packed else votes.counts.astype(dtype, copy=False)
            global_ = global_mask(counts, config)
            paths["global"] = os.path.join(outdir, GLOBAL_FILE)
            written = writer.submit(_write_global, paths["global"], global_, counts, config, overwrite)
            log.info("global mask: %d pixels in >= %d images", int(global_.sum()), config.mask_num_images)
        jobs = [
            _Job(i, name, os.path.abspath(name), outputs[name], to, overwrite, config, write_options)
            for i, name in enumerate(names)
        ]
        log.info("pass 2: masking %d images", len(jobs))
        rows = runner.map(_apply_file, jobs, global_, label="stack-apply")
        if written is not None:
            written.result()  # its errors are raised here
    table = _table(rows, config, global_)
    table.meta["global_mask_file"] = os.path.basename(paths["global"]) if "global" in paths else None
    _write_table(table, paths["summary"])
    result = StackResult(table, global_, counts, [], paths)
    for row in table[table["dropped"]]:
        log.warning(
            "dropped %s: %.1f %% masked > max_masked_pixels %.1f %%",
            row["file"],
            100 * row["masked_fraction"],
            100 * config.max_masked_pixels,
        )
    return result
