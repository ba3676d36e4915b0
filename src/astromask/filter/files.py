"""``filter_file``: CIAO's ``dmcopy "in.fits[filters]" out.fits`` for masks, regions and ranges."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from ..errors import AstromaskError, FormatError, OutputExistsError, ParameterError
from ..io.fitsfile import image_shape, is_image_hdu, open_fits, read_pixels, write_atomic
from ..syntax.filter import parse_virtual_file
from .hdus import block_label, find_block, is_table_hdu
from .images import apply_to_image, crop_to_image
from .masks import MaskImage
from .plan import ImageTarget, TableTarget, build_plan
from .subspace import record_filter
from .tables import DEFAULT_CHUNK_ROWS, StreamedTableFile, TableLayout, hdu_spans, selected_records

__all__ = ["FilterSummary", "filter_file"]

log = logging.getLogger("astromask")

_STALE = ("CHECKSUM", "DATASUM")


@dataclass
class FilterSummary:
    """What :func:`filter_file` did.

    ``kind`` is ``'table'`` or ``'image'``; ``rows`` is ``(in, out)`` for a
    table; ``pixels`` is ``(selected, total)`` and ``box`` the output's
    ``(i0, i1, j0, j1)`` in the input array for an image; ``masks`` names the
    stored mask blocks.
    """

    kind: str
    block: str
    rows: tuple[int, int] | None = None
    pixels: tuple[int, int] | None = None
    box: tuple[int, int, int, int] | None = None
    masks: list[str] = field(default_factory=list)


def check_output(path: str, output: str, overwrite: bool) -> None:
    """Refuse to write over the input ``path`` or, without ``overwrite``, over an existing ``output``."""
    if os.path.exists(output):
        if os.path.exists(path) and os.path.samefile(path, output):
            raise AstromaskError(f"{output}: output is the input file; write to another name")
        if not overwrite:
            raise OutputExistsError(output)


def filter_file(
    spec: str, output: str, *, overwrite: bool = False, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> FilterSummary:
    """Filter a table or an image with CIAO filters and write the result with its data subspace.

    Parameters
    ----------
    spec : str
        A virtual file name, ``"evt.fits[EVENTS][sky=mask(m.fits),pi=10:200]"``
        (see :mod:`astromask.filter.syntax`).
    output : str
        The FITS file to write (``.gz`` compresses); written atomically.
    overwrite : bool
        Replace an existing ``output``.
    chunk_rows : int
        Table rows read and filtered at a time (bounds the memory used).

    Returns
    -------
    FilterSummary

    Notes
    -----
    Every HDU of the input is kept. The filtered block keeps its header; its
    data subspace gains the filter (:mod:`astromask.filter.subspace`), and each
    mask used is stored as a byte ``MASK`` extension (``MASK2``, ...), inverted
    when excluded. Images are cropped to the selected pixels unless ``[opt
    full]``, and masks stored with them are cropped alike.
    """
    vf = parse_virtual_file(spec)
    check_output(vf.path, output, overwrite)
    if chunk_rows < 1:
        raise ParameterError(f"chunk_rows must be positive, got {chunk_rows}")
    with open_fits(vf.path) as hdul:
        index = find_block(hdul, vf.block, vf.path)
        hdu = hdul[index]
        label = block_label(hdul, index, vf.path)
        taken = {str(h.header.get("EXTNAME", "")).strip().upper() for h in hdul}
        if is_table_hdu(hdu):
            return _filter_table(vf, hdul, index, label, taken, output, overwrite, chunk_rows)
        if is_image_hdu(hdu):
            return _filter_image(vf, hdul, index, label, taken, output, overwrite)
        raise FormatError(f"block {index + 1} holds neither a table nor an image", path=vf.path)


def without_checksums(header: fits.Header) -> fits.Header:
    """A copy of a header without ``CHECKSUM``/``DATASUM`` (no longer true once the data change)."""
    header = header.copy()
    for key in _STALE:
        header.remove(key, ignore_missing=True, remove_all=True)
    return header


def _filter_table(vf, hdul, index, label, taken, output, overwrite, chunk_rows) -> FilterSummary:
    target = TableTarget(hdul[index].header, label)
    plan = build_plan(vf.groups, target, text=vf.text)
    header, stored = record_filter(without_checksums(hdul[index].header), plan, taken)
    layout = TableLayout.from_hdul(hdul, index, vf.path)
    pieces = [None if i == index else span for i, span in enumerate(hdu_spans(hdul))]
    counts: dict = {}
    extra = [mask.to_hdu(name) for name, mask in stored]
    stream = StreamedTableFile(layout, pieces, header, selected_records(layout, plan, chunk_rows, counts), extra)
    write_atomic(stream, output, overwrite=overwrite)
    log.info("wrote %s: %d of %d rows of %s", output, counts["out"], counts["in"], label)
    return FilterSummary("table", label, rows=(counts["in"], counts["out"]), masks=[n for n, _ in stored])


def _image_hdu(data: np.ndarray, header: fits.Header, primary: bool):
    header = without_checksums(header)
    for key in ("BZERO", "BSCALE") + (("BLANK",) if data.dtype.kind == "f" else ()):
        header.remove(key, ignore_missing=True, remove_all=True)
    unsigned = data.dtype.kind == "u" and data.dtype.itemsize > 1
    if primary:
        return fits.PrimaryHDU(data, header=header, uint=unsigned)
    return fits.ImageHDU(data, header=header, uint=unsigned)


def _integers_with_blank(data: np.ndarray, header: fits.Header) -> np.ndarray:
    """An unscaled integer image with ``BLANK`` (astropy reads it as floats with NaN) as its integers again."""
    bitpix = int(header.get("BITPIX", 0))
    unscaled = header.get("BSCALE", 1) == 1 and header.get("BZERO", 0) == 0
    if bitpix > 0 and "BLANK" in header and unscaled and data.dtype.kind == "f":
        dtype = {8: np.uint8, 16: np.int16, 32: np.int32, 64: np.int64}[bitpix]
        return np.where(np.isnan(data), header["BLANK"], data).astype(dtype)
    return data


def _filter_image(vf, hdul, index, label, taken, output, overwrite) -> FilterSummary:
    hdu = hdul[index]
    shape = image_shape(hdu)
    if len(shape) != 2:
        raise FormatError(
            f"{label} is a {len(shape)}-D image; masks and filters work on 2-D images only "
            "(CIAO: masks should not filter two axes of a 3-D or higher image)",
            path=vf.path,
        )
    data = _integers_with_blank(read_pixels(hdu), hdu.header)
    target = ImageTarget(hdu.header, shape, label)
    plan = build_plan(vf.groups, target, text=vf.text, full=vf.full, null=vf.null)
    result = apply_to_image(data, hdu.header, plan)
    header, stored = record_filter(result.header, plan, taken)
    frame = target.image_frame
    out = []
    for i, other in enumerate(hdul):
        name = str(other.header.get("EXTNAME", "")).strip().upper()
        if i == index:
            out.append(_image_hdu(result.data, header, primary=i == 0))
        elif i and name.startswith("MASK") and is_image_hdu(other):  # a mask stored by an earlier filter
            out.append(crop_to_image(MaskImage(other.data, other.header, name=name), frame, result.box).to_hdu(name))
        else:
            out.append(other)
    out.extend(crop_to_image(mask, frame, result.box).to_hdu(name) for name, mask in stored)
    write_atomic(fits.HDUList(out), output, overwrite=overwrite)
    selected = int(result.selected.sum())
    log.info("wrote %s: %d of %d pixels of %s selected", output, selected, data.size, label)
    return FilterSummary(
        "image", label, pixels=(selected, int(data.size)), box=result.box, masks=[n for n, _ in stored]
    )
