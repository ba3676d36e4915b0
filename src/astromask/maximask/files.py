"""MaxiMask's and MaxiTrack's handling of files: inputs, HDUs, output names and headers.

The rules are the original's (``maximask==1.4.1``), with its bugs fixed:

* an input is a FITS file (``.fits``, ``.fits.fz``, ``.fits.gz``), one HDU of
  it (``f.fits[n]``), a directory (its files whose names contain ``fits`` and
  not ``mask``) or a ``.list`` file (one such name per line);
* an HDU is processed when it holds a 2-D image or a ``(C, H, W)`` cube whose
  ``H`` and ``W`` exceed 400 pixels (the original tested ``C`` and ``H`` of
  cubes), of a type other than unscaled 8-bit integers; other HDUs are copied;
* the output ``<name>.mask.fits`` (``<name>.mask<n>.fits`` for one HDU) lies
  beside the input with the same HDUs; a processed HDU holds the MaxiMask
  output, the original's header cards and the input's ``EXTNAME`` and sky WCS
  (which the original dropped); a copied HDU keeps its header (the original
  kept its data only, and put a table HDU's predecessor in its place).
"""

from __future__ import annotations

import logging
import os
import random
import time

import numpy as np
from astropy.io import fits

from ..errors import AstromaskError, OutputExistsError, ParameterError
from ..inputs import expand_inputs
from ..io.fitsfile import (
    find_hdu,
    open_fits,
    parse_fits_name,
    read_wcs,
    wcs_cards,
    write_atomic,
)
from .config import CLASSES, ClassConfig
from .inference import MIN_SIZE, MaxiMask
from .maxitrack import MaxiTrack

__all__ = ["input_files", "maximask_cards", "maximask_file", "maxitrack_file", "output_name", "processable"]

log = logging.getLogger("astromask")

_IMAGE_HDUS = (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)


def _candidate(name: str) -> bool:
    """The original's filter (names with ``fits`` and without ``mask``), on the file name only."""
    base = os.path.basename(name)
    return "fits" in base and "mask" not in base


def input_files(im_path: str) -> list[str]:
    """The images named by ``im_path``: a FITS file, ``file.fits[n]``, a directory or a ``.list`` file.

    A directory gives its files whose names contain ``fits`` and not ``mask`` (the original's rule);
    a ``.list`` file gives its entries (relative to it, or to the working directory as the
    original read them), each of which must exist: the original dropped a missing one in silence.
    Both go through :func:`astromask.inputs.expand_inputs`, the expander every command uses.

    Raises
    ------
    FileNotFoundError
        ``im_path`` does not exist.
    ParameterError
        It is neither a FITS file, a directory nor a ``.list`` file.
    FormatError
        A list entry does not exist.
    """
    if os.path.isdir(im_path):
        return expand_inputs([im_path], keep=_candidate, lists=False)
    if os.path.isfile(im_path):
        ext = os.path.splitext(im_path)[1]
        if ext == ".list":
            return expand_inputs([im_path], keep=_candidate)
        if ext == ".fits" or (ext in (".fz", ".gz") and ".fits" in im_path):
            return [im_path]
        raise ParameterError(f"{im_path}: not a FITS file (.fits, .fits.fz, .fits.gz), a directory or a .list file")
    if "[" in im_path and _candidate(im_path):
        return [im_path]
    raise FileNotFoundError(f"{im_path}: no such file or directory")


def output_name(path: str, hdu_index: int | None = None, outdir: str | None = None) -> str:
    """``x.fits[.fz|.gz]`` -> ``x.mask.fits``, or ``x.mask<n>.fits`` for HDU ``n`` alone (beside the input,
    or in ``outdir``).

    >>> output_name("data/img.fits.fz"), output_name("img.fits", 2), output_name("data/img.fits", outdir="out")
    ('data/img.mask.fits', 'img.mask2.fits', 'out/img.mask.fits')
    """
    directory, base = os.path.split(path)
    directory = directory if outdir is None else outdir
    base = base.removesuffix(".fz").removesuffix(".gz")
    stem = base.removesuffix(".fits")
    tag = ".mask" if hdu_index is None else f".mask{hdu_index}"
    return os.path.join(directory, f"{stem}{tag}.fits")


def _pixel_type_ok(header: fits.Header) -> bool:
    """Float, 16/32/64-bit integer or rescaled data; unscaled 8-bit integers are refused, as in the original."""
    if header.get("BITPIX") != 8:
        return True
    bscale, bzero = float(header.get("BSCALE", 1)), float(header.get("BZERO", 0))
    return bscale != 1 or bzero != int(bzero)


def processable(hdu) -> bool:
    """Whether MaxiMask/MaxiTrack process an HDU: an image or cube larger than 400x400 of a supported type."""
    if not isinstance(hdu, _IMAGE_HDUS):
        return False
    header = hdu.header
    naxis = int(header.get("NAXIS", 0))
    if naxis not in (2, 3):
        return False
    width, height = int(header["NAXIS1"]), int(header["NAXIS2"])
    return width > MIN_SIZE and height > MIN_SIZE and _pixel_type_ok(header)


def maximask_cards(config: ClassConfig) -> fits.Header:
    """The header cards MaxiMask writes: dates, what was applied and, per selected class, its settings."""
    h = fits.Header()
    h["MM_UTC"] = (time.asctime(time.gmtime()), "MaxiMask UTC processing date")
    h["MM_LOC"] = (time.asctime(time.localtime()), "MaxiMask LOC processing date")
    h["PRIORS"] = ("Yes" if config.priors is not None else "No", "Whether prior modification was applied or not")
    h["THRESH"] = ("Yes" if config.thresholds is not None else "No", "Whether thresholding was applied or not")
    h["SMASK"] = ("Yes" if config.single_mask else "No", "Whether binary power mask was applied or not")
    powers = config.powers()
    for dim, k in enumerate(config.selected):
        abbr, name = CLASSES[k]
        h[abbr] = name
        h[f"{abbr}_DIM"] = f"{dim}"
        if config.priors is not None:
            h[f"{abbr}_PR"] = (f"{config.priors[k]:.2f}", f"{abbr} prior")
        if config.thresholds is not None:
            h[f"{abbr}_TH"] = (f"{config.thresholds[k]:.2f}", f"{abbr} threshold")
        if config.single_mask:
            h[f"{abbr}_SM"] = (f"{powers[dim]}", f"{abbr} binary power value")
    return h


def _processed_hdu(hdu, data: np.ndarray, config: ClassConfig, primary: bool):
    header = fits.Header()
    for key in ("EXTNAME", "EXTVER"):
        if key in hdu.header and not primary:
            header[key] = hdu.header[key]
    header.extend(wcs_cards(read_wcs(hdu.header)))
    header.extend(maximask_cards(config))
    return fits.PrimaryHDU(data, header=header) if primary else fits.ImageHDU(data, header=header)


def _copied_hdu(hdu, primary: bool):
    if isinstance(hdu, _IMAGE_HDUS):
        header = hdu.header.copy()
        # the data are read scaled: the output gets its own scaling (and checksums would be stale)
        for key in (
            "XTENSION",
            "SIMPLE",
            "EXTEND",
            "PCOUNT",
            "GCOUNT",
            "BZERO",
            "BSCALE",
            "BLANK",
            "CHECKSUM",
            "DATASUM",
        ):
            header.remove(key, ignore_missing=True)
        cls = fits.PrimaryHDU if primary else fits.ImageHDU
        return cls(hdu.data, header=header)
    if primary:  # a table cannot come first: keep the HDU count with an empty primary
        return fits.PrimaryHDU()
    return hdu.copy()


def _selection(name: str) -> tuple[str, int | None]:
    parsed = parse_fits_name(name)
    if parsed.hdu is None:
        return parsed.path, None
    with open_fits(parsed.path) as hdul:
        return parsed.path, find_hdu(hdul, parsed.hdu, parsed.path)


def _refuse(name: str, hdul, indices: list[int]) -> None:
    """Raise :class:`~astromask.AstromaskError` naming ``name`` and its image sizes: nothing to process.

    The network works on 400x400 patches cut every 200 pixels; a smaller image
    is refused rather than padded, since padding would feed it pixels that are
    not in the image (and its 200-pixel background meshes would be mostly padding).
    """
    sizes = [
        f"{hdul[i].header['NAXIS1']}x{hdul[i].header['NAXIS2']}"
        for i in indices
        if isinstance(hdul[i], _IMAGE_HDUS) and int(hdul[i].header.get("NAXIS", 0)) >= 2
    ]
    seen = f"; its images are {', '.join(sizes)} (width x height)" if sizes else "; it has no 2-D image HDU"
    raise AstromaskError(
        f"{name}: no HDU that MaxiMask can process: it needs 2-D images or (C, H, W) cubes "
        f"larger than {MIN_SIZE}x{MIN_SIZE} pixels, of a numeric type{seen}"
    )


def _open_processable(name: str):
    """The path and HDU selector of ``name``, its open file, the HDUs it selects and those MaxiMask can
    process (refused when none)."""
    path, only = _selection(name)
    hdul = open_fits(path)
    try:
        indices = [only] if only is not None else list(range(len(hdul)))
        tasks = [i for i in indices if processable(hdul[i])]
        if not tasks:
            _refuse(name, hdul, indices)
    except BaseException:
        hdul.close()
        raise
    return path, only, hdul, indices, tasks


def check_processable(name: str) -> None:
    """Raise :class:`~astromask.AstromaskError` naming ``name`` when none of its HDUs can be processed.

    Headers only are read: the command lines check every input before any work.
    """
    _open_processable(name)[2].close()


def maximask_file(
    mm: MaxiMask, name: str, config: ClassConfig, *, overwrite: bool = False, outdir: str | None = None
) -> str:
    """Run MaxiMask on a file (or one HDU of it) and write ``<name>.mask.fits`` (beside it, or in ``outdir``).

    Returns
    -------
    str
        The output path.

    Raises
    ------
    AstromaskError
        When no HDU can be processed (nothing is written).
    """
    path, only, hdul, indices, tasks = _open_processable(name)
    output = output_name(path, only, outdir)
    with hdul:
        if os.path.exists(output) and not overwrite:
            raise OutputExistsError(output)
        out = fits.HDUList()
        for position, i in enumerate(indices):
            hdu = hdul[i]
            primary = position == 0
            if i in tasks:
                log.info("%s HDU %d: process", path, i)
                started = time.perf_counter()
                data = mm.predict(hdu.data, config)
                log.info("%s HDU %d: %.2f s", path, i, time.perf_counter() - started)
                out.append(_processed_hdu(hdu, data, config, primary))
            else:
                log.info("%s HDU %d: copy", path, i)
                out.append(_copied_hdu(hdu, primary))
        write_atomic(out, output, overwrite=overwrite)
    log.info("wrote %s", output)
    return output


def maxitrack_file(
    mt: MaxiTrack, name: str, *, prior: float, frac: float = 1.0, rng: random.Random | None = None
) -> list[str]:
    """MaxiTrack's ``maxitrack.out`` lines for a file: ``"<name> <score>"`` over its 2-D HDUs, and
    ``"<name> HDU <i> Channel <c> <score>"`` per plane of each cube.

    Parameters
    ----------
    frac : float
        Fraction ``0 < frac <= 1`` of the processable HDUs to use, drawn at
        random (at least one).
    rng : random.Random, optional
        Source of that draw (unseeded by default, as in the original).

    Raises
    ------
    AstromaskError
        When no HDU can be processed.
    """
    if not 0 < frac <= 1:
        raise ParameterError(f"frac must be in (0, 1], got {frac}")
    _, _, hdul, _, tasks = _open_processable(name)
    with hdul:
        if frac != 1:
            tasks = (rng or random.Random()).sample(tasks, max(1, int(frac * len(tasks))))
        lines, flat = [], []
        for i in tasks:
            scores = np.atleast_1d(mt.score(hdul[i].data, prior))
            if scores.size > 1:
                lines += [f"{name} HDU {i} Channel {c} {s:.4f}" for c, s in enumerate(scores)]
            else:
                flat.append(scores)
    if flat:
        lines.append(f"{name} {np.mean(flat):.4f}")
    return lines
