"""KBMOD's stack masking over files, in two streamed passes (the steps themselves are
:mod:`astromask.stack.masking`).

Then the masked fraction of each image (pixels whose science or variance is
NaN, as KBMOD's ``get_masked_fractions`` counts) is compared with
``max_masked_pixels``: images above it are dropped (not written) and listed.
KBMOD raises an error when no image is less than 90 % masked; so does
:func:`run_stack`, after writing the summary.

Streaming: pass 1 reads each mask alone (:func:`astromask.io.read_mask`, the mask HDUs only) and
adds its repeated flags into a ``uint16`` count array (with ``group_by``, OR'ed within each
group first: :mod:`astromask.stack.groups`); pass 2 reads, masks, writes and frees one image
at a time. Memory is one image plus the count array. The per-pixel steps run block by block
of rows (no image-sized temporaries) and the diamond growth on bit-packed rows
(:mod:`astromask.stack.growth`).

Outputs are what is new (KBMOD masks in memory and searches; it writes no masked copies):
each exposure's mask, ``<name>_mask.fits``, in its own format where that format keeps a
lone mask (afw's mask file, JWST DQ, plain FITS), else as a plain FITS ``MASK`` HDU with
lsst.images' ``MSKN`` cards, losslessly compressed, with the origin and sky WCS; it keeps
the input's planes and adds ``STACK_MASKED`` (KBMOD's 0/1 mask: the pixels a search must
skip, NaN in the masked copies), ``NO_DATA`` where there is no data and, with global
masking, ``GLOBAL`` (the global mask, before growth). ``write_images=True`` writes the whole
masked exposure instead, under the input's name. :func:`iter_masked` gives the masked
exposures to a consumer in memory and writes nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..core.schema import MaskSchema
from ..errors import (
    AstromaskError,
    OutputExistsError,
    ParameterError,
)
from ..inputs import expand_inputs
from ..io import WRITE_FORMATS, output_format, registry, write, write_mask
from ..io.fitsfile import make_image_hdu, parse_fits_name, write_atomic
from ..io.formats.plain import mask_hdu
from ..progress import progress
from .config import StackConfig
from .in_memory import StackResult
from .masking import (
    GLOBAL_PLANE,
    STACK_PLANE,
    UNUSABLE_FRACTION,
    _dropped,
    global_mask,
)
from .passes import count_votes, mask_file
from .per_hdu import hdu_labels, run_per_hdu
from .scheduler import Runner, check_scheduler
from .summary import row, table_of

__all__ = ["GLOBAL_FILE", "SUMMARY_FILE", "output_name", "run_stack"]

log = logging.getLogger("astromask")

SUMMARY_FILE = "stack_summary.ecsv"
GLOBAL_FILE = "global_mask.fits"


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
    write_images: bool = False
    group: str = ""


def output_name(path: str, write_images: bool = False) -> str:
    """The base name of an exposure's output: ``exp1_mask.fits`` for ``exp1.fits.fz``, or the
    input's own name when the whole masked exposure is written.

    >>> output_name("night1/exp1.fits.fz"), output_name("exp1.fits", write_images=True)
    ('exp1_mask.fits', 'exp1.fits')
    """
    base = os.path.basename(parse_fits_name(path).path)
    if write_images:
        return base
    stem = base
    for suffix in (".gz", ".fz", ".bz2"):
        stem = stem[: -len(suffix)] if stem.lower().endswith(suffix) else stem
    for suffix in (".fits", ".fit", ".fts"):
        stem = stem[: -len(suffix)] if stem.lower().endswith(suffix) else stem
    return f"{stem}_mask.fits"


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


class _Write:
    """Pass 2's write of one exposure's output, made by :func:`_mask_job`: its mask alone, or the
    whole masked image (``write_images``)."""

    def __init__(self, job: _Job, out: MaskedImage, written: str, stats: dict) -> None:
        self.job, self.written, self.stats = job, written, stats
        if job.write_images:
            self.obj: MaskedImage | Mask = _for_writing(out, written)  # takes over the pixels of out
            self.options = _write_options(written, self.obj.mask) if job.write_options is None else job.write_options
            self.geometry: dict = {}
        else:  # science and variance are not written, nor kept
            self.obj = out.mask
            self.options = {"compression": "RICE_1", **(job.write_options or {})}
            self.geometry = {"xy0": out.xy0, "wcs": out.wcs, "metadata": out.metadata}

    def __call__(self) -> None:
        job = self.job
        if isinstance(self.obj, MaskedImage):
            write(self.obj, job.output, format=self.written, overwrite=job.overwrite, **self.options)
        else:
            write_mask(
                self.obj, job.output, format=self.written, overwrite=job.overwrite, **self.geometry, **self.options
            )
        del self.obj
        log.info(
            "%s: %d pixels masked (%.2f %%), wrote %s (%s)",
            job.name,
            self.stats["n_masked"],
            100 * self.stats["masked_fraction"],
            job.output,
            self.written,
        )


def _mask_job(job: _Job, global_: np.ndarray | None) -> tuple[dict, _Write | None]:
    """Read one image and mask it: its summary row, and its write (None when it is dropped)."""
    fmt, schema_name, out, stats = mask_file(job.path, job.name, job.config, global_, job.write_images)
    mask = out.mask
    dropped = _dropped(stats, job.config)
    if job.config.group_by is not None:
        stats["group"] = job.group
    written, pending = "", None
    if not dropped:
        written = _output_format(fmt, out, job.to) if job.write_images else output_format(fmt, mask, job.to)
        pending = _Write(job, out, written, stats)
    del out
    return row(job.index, job.name, job.output, written, schema_name, mask, stats, dropped), pending


def _apply_file(job: _Job, global_: np.ndarray | None) -> dict:
    """Pass-2 task (on Dask): read one image, mask it, write its mask or the whole masked image
    (unless dropped), return its summary row."""
    summary, pending = _mask_job(job, global_)
    if pending is not None:
        pending()
    return summary


def _apply_here(jobs: list[_Job], global_: np.ndarray | None) -> list[dict]:
    """Pass 2 in this process: each output is compressed and written in a thread while the next
    image is read and masked (astropy's compression and the kernels release the GIL); at most
    one write waits, so memory is one image and one output."""
    rows = []
    with ThreadPoolExecutor(1, thread_name_prefix="astromask-write") as writer:
        pending = None
        try:
            for job in progress(jobs):
                summary, write_job = _mask_job(job, global_)
                rows.append(summary)
                if pending is not None:
                    pending.result()  # its errors are raised here
                pending = writer.submit(write_job) if write_job is not None else None
                del write_job
            if pending is not None:
                pending.result()
        except BaseException:
            if pending is not None:
                pending.cancel()
            raise
    return rows


def _plan_outputs(names: list[str], outdir: str, overwrite: bool, write_images: bool = False) -> dict[str, str]:
    """Output file of each input, and the summary and global-mask files; refuse collisions and clobbering."""
    outputs: dict[str, str] = {}
    for name in names:
        target = os.path.join(outdir, output_name(name, write_images))
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


def _write_global(
    path: str,
    global_: np.ndarray,
    counts: np.ndarray,
    config: StackConfig,
    overwrite: bool,
    n_groups: int | None = None,
) -> None:
    """The global mask (plane ``GLOBAL``) and the per-pixel counts (``COUNT`` HDU) as one FITS file.

    PLIO_1 and RICE_1 compress these integers losslessly and, unlike GZIP
    (whose tiles carry a time stamp), give the same bytes on every run.
    """
    header = fits.Header()
    what = "groups" if n_groups is not None else "images"
    header["NIMAGES"] = (int(counts.max(initial=0)), f"most {what} with a repeated flag at one pixel")
    if n_groups is not None:
        header["GROUPBY"] = (config.group_by, "COUNT counts groups of exposures, each once")
        header["NGROUPS"] = (n_groups, "groups of exposures")
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
    write_images: bool = False,
) -> StackResult:
    """Mask a stack of image files the KBMOD way, streaming, optionally on Dask.

    Parameters
    ----------
    inputs : sequence of str
        Image files, globs, directories or list files (see
        :func:`~astromask.stack.inputs.expand_inputs`), in any format astromask reads.
    outdir : str
        Directory for the outputs (created if needed): each exposure's mask as
        ``<name>_mask.fits`` (:func:`output_name`; the whole masked exposure under
        its input's base name with ``write_images``), ``global_mask.fits`` (with
        global masking) and ``stack_summary.ecsv``.
    config : StackConfig, optional
        Parameters (default: KBMOD's defaults).
    to : str, optional
        Output format; default the input's where it stores the output whole, else
        plain FITS for masks and afw for masked images (DECam CP masks cannot name
        the new planes; lsst.images and CCDData files hold no lone mask).
    scheduler : str, optional
        ``None`` (this process), ``'synchronous'``, ``'threads'``,
        ``'processes'`` or a Dask scheduler address ``'tcp://host:port'``.
        Results are the same for all.
    overwrite : bool
        Replace existing outputs.
    write_options : mapping, optional
        Options of :func:`astromask.io.write` for the output format, e.g.
        ``{"compression": "GZIP_2"}``. By default masks are losslessly
        compressed (RICE_1, tiles of whole rows); with ``write_images``, images
        and variances are written uncompressed and masks compressed where the
        format compresses them (RICE_1 for lsst.images and plain FITS masks);
        afw, JWST and CCDData images are uncompressed, as those formats write.
    write_images : bool
        Also write the masked science and variance: the whole masked exposure,
        in place of its mask.

    Returns
    -------
    StackResult
        ``table`` columns: ``index``, ``file``, ``output`` (empty when dropped),
        ``format`` (written), ``schema`` (the plane map the file was read
        with), ``ny``, ``nx``, ``flags`` (integer flags used), ``unknown_flags``
        (flag names the file lacks), ``n_flagged``, ``n_threshold``,
        ``n_global``, ``n_no_data``, ``n_masked``, ``n_nan``,
        ``masked_fraction``, ``no_data_fraction``, ``usable_fraction``,
        ``group`` (with ``group_by``), ``dropped``, then ``n_<PLANE>`` for each
        output plane.

    Raises
    ------
    AstromaskError
        When every image is dropped, or (KBMOD's rule, unless ``min_usable`` is
        set) when no image is less than 90 % masked; after writing the summary.
    """
    config = config or StackConfig()
    check_scheduler(scheduler)
    if to is not None and to not in WRITE_FORMATS:
        raise ParameterError(f"to must be one of {WRITE_FORMATS}, got {to!r}")
    if to is not None and not write_images and not registry.get(to).lone_mask:
        lone = ", ".join(name for name, fmt in registry.FORMATS.items() if fmt.lone_mask and fmt.writes)
        raise ParameterError(
            f"to={to!r}: {to} files hold no lone mask, and the stack writes masks; give write_images "
            f"(--write-images) to write whole masked exposures, or one of {lone}"
        )
    names = expand_inputs(inputs)
    outdir = os.path.abspath(os.fspath(outdir))
    made = not os.path.exists(outdir)
    os.makedirs(outdir, exist_ok=True)
    before = _listing(outdir)
    try:
        labels = hdu_labels(names)  # exposures of several CCDs: a stack per CCD
        if labels is None:
            result = _run_stack(names, outdir, config, to, scheduler, overwrite, write_options, write_images)
        else:
            paths = [parse_fits_name(n).path for n in names]
            _plan_outputs(paths, outdir, overwrite, write_images)  # before any work
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
                write_images=write_images,
                output_name=output_name,
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
    if config.min_usable is None and not np.any(fractions < UNUSABLE_FRACTION):  # the outputs are whole
        raise AstromaskError(
            f"no image is less than {UNUSABLE_FRACTION:.0%} masked (lowest "
            f"{fractions.min():.1%}); see {result.paths['summary']}"
        )
    if config.min_usable is not None and np.all(result.table["dropped"]):
        raise AstromaskError(f"every image was dropped (see its usable_fraction column): {result.paths['summary']}")
    return result


def _listing(folder: str) -> dict[str, tuple[int, int]]:
    """``{file: (size, mtime_ns)}`` of a folder's files, to tell what a run wrote."""
    out = {}
    for entry in os.scandir(folder):
        if entry.is_file():
            info = entry.stat()
            out[entry.name] = (info.st_size, info.st_mtime_ns)
    return out


def _run_stack(names, outdir, config, to, scheduler, overwrite, write_options, write_images=False) -> StackResult:
    outputs = _plan_outputs(names, outdir, overwrite, write_images)
    paths = {"summary": os.path.join(outdir, SUMMARY_FILE)}
    counts = global_ = None
    groups: dict[str, str] = {}
    # the global mask file is compressed and written in a thread of its own while pass 2 runs
    with Runner(scheduler) as runner, ThreadPoolExecutor(1) as writer:
        written = None
        if config.global_masking:
            counts, groups = count_votes(runner, names, config)
            global_ = global_mask(counts, config)
            paths["global"] = os.path.join(outdir, GLOBAL_FILE)
            n_groups = len(set(groups.values())) if config.group_by is not None else None
            written = writer.submit(_write_global, paths["global"], global_, counts, config, overwrite, n_groups)
            what = "groups" if n_groups is not None else "images"
            log.info("global mask: %d pixels in >= %d %s", int(global_.sum()), config.mask_num_images, what)
        jobs = [
            _Job(
                i,
                name,
                os.path.abspath(name),
                outputs[name],
                to,
                overwrite,
                config,
                write_options,
                write_images,
                groups.get(name, ""),
            )
            for i, name in enumerate(names)
        ]
        log.info("pass 2: masking %d images", len(jobs))
        if scheduler is None:
            rows = _apply_here(jobs, global_)
        else:
            rows = runner.map(_apply_file, jobs, global_, label="stack-apply")
        if written is not None:
            written.result()  # its errors are raised here
    table = table_of(rows, config, global_)
    table.meta["global_mask_file"] = os.path.basename(paths["global"]) if "global" in paths else None
    if config.group_by is not None and groups:
        table.meta["n_groups"] = len(set(groups.values()))
    _write_table(table, paths["summary"])
    result = StackResult(table, global_, counts, [], paths)
    for dropped in table[table["dropped"]]:
        log.warning(
            "dropped %s: %.1f %% masked (max_masked_pixels %.1f %%), %.1f %% usable",
            dropped["file"],
            100 * dropped["masked_fraction"],
            100 * config.max_masked_pixels,
            100 * dropped["usable_fraction"],
        )
    return result
