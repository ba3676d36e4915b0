"""``merge``: CIAO's ``dmmerge`` of filtered event lists, with the union of their masks.

The tables must have the same columns (name, format, scaling, null). Rows are
concatenated in input order, streamed in chunks; the output keeps the first
input's HDUs and headers, with one data-subspace component that is the union
of the inputs' components, descriptor by descriptor:

* a column filtered the same way in every input keeps its descriptor;
* a column left unfiltered in some input is unconstrained in the union and
  is dropped;
* masks are unioned pixel by pixel into one ``MASK`` block (per column pair)
  on a grid covering all of them; regions and other masks on the same pair
  are first rasterized on that input's mask grid (pixel centres);
* regions alone are ORed (``A|B``), one range list per input joined (OR).

Other differences (e.g. two GTI tables) keep the first input's descriptor, with
a warning. As CIAO says, inputs with several subspace components (multiple
GTIs) merge unreliably: they are refused; merge first, then filter.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from ..errors import FormatError, ParameterError
from ..io.fitsfile import open_fits, write_atomic
from ..progress import progress
from ..regions import parse
from ..syntax.filter import parse_virtual_file
from .files import check_output, without_checksums
from .hdus import block_label, crop_header, find_block, is_table_hdu
from .masks import MaskImage, wcs_difference
from .subspace import Descriptor, read_subspace, stored_masks, write_subspace
from .tables import DEFAULT_CHUNK_ROWS, StreamedTableFile, TableLayout, hdu_spans

__all__ = ["MergeSummary", "merge", "union_masks"]

log = logging.getLogger("astromask")

_COLUMN_KEYS = ("TTYPE", "TFORM", "TSCAL", "TZERO", "TNULL")


@dataclass
class MergeSummary:
    """Rows of each input, rows written, and the mask blocks stored."""

    rows: list[int]
    total: int
    masks: list[str] = field(default_factory=list)


@dataclass
class _Input:
    name: str
    label: str
    layout: TableLayout
    component: list[Descriptor]
    masks: dict[str, MaskImage]


def _columns(header: fits.Header) -> list[tuple]:
    return [
        tuple(str(header.get(f"{k}{n}", "")).strip().upper() for k in _COLUMN_KEYS)
        for n in range(1, int(header["TFIELDS"]) + 1)
    ]


def _check_same_columns(first: _Input, other: _Input) -> None:
    a, b = _columns(first.layout.header), _columns(other.layout.header)
    if len(a) != len(b):
        raise FormatError(
            f"{first.label} has {len(a)} columns but {other.label} has {len(b)}; merge needs the same columns",
            path=other.name,
        )
    for n, (ca, cb) in enumerate(zip(a, b), start=1):
        if ca != cb:
            key = next(k for k, va, vb in zip(_COLUMN_KEYS, ca, cb) if va != vb)
            raise FormatError(
                f"column {n} differs: {key}{n} is {ca[_COLUMN_KEYS.index(key)]!r} in {first.label} "
                f"but {cb[_COLUMN_KEYS.index(key)]!r} in {other.label}",
                path=other.name,
            )


def _read_input(name: str, hdul: fits.HDUList) -> _Input:
    vf = parse_virtual_file(name)
    if vf.groups or vf.full or vf.null is not None:
        raise FormatError("merge takes files (and a block), not filters: filter first, then merge", path=name)
    index = find_block(hdul, vf.block, vf.path)
    if not is_table_hdu(hdul[index]):
        raise FormatError(f"block {index + 1} is not a table; merge joins event lists", path=vf.path)
    layout = TableLayout.from_hdul(hdul, index, vf.path)
    if layout.heap[1]:
        raise FormatError("tables with variable-length columns cannot be merged", path=vf.path)
    components = read_subspace(layout.header)
    label = block_label(hdul, index, vf.path)
    if len(components) > 1:
        raise FormatError(
            f"{label} has {len(components)} subspace components; their masks cannot be merged "
            "reliably (CIAO: apply mask filters after merging)",
            path=vf.path,
        )
    return _Input(vf.path, label, layout, components[0] if components else [], stored_masks(hdul))


# -- masks -----------------------------------------------------------------------------------------


def union_masks(a: MaskImage, b: MaskImage) -> MaskImage:
    """The pixelwise union of two masks on one physical pixel grid (extended to cover both).

    The masks must have the same ``LTM`` and ``LTV`` differing by whole
    pixels, and equivalent WCSs when both have one.

    Examples
    --------
    >>> a = MaskImage(np.array([[1, 0]]), fits.Header({"LTV1": 0.0, "LTV2": 0.0}))
    >>> b = MaskImage(np.array([[0, 1]]), fits.Header({"LTV1": -2.0, "LTV2": 0.0}))   # physical x 3..4
    >>> u = union_masks(a, b); u.values.tolist(), u.frame.ltv
    ([[1, 0, 0, 1]], (0.0, 0.0))
    """
    difference = wcs_difference((a.wcs, a.frame), (b.wcs, b.frame), same_pixel_size=True)
    if not np.allclose(a.frame.ltm, b.frame.ltm, rtol=1e-9, atol=1e-12):
        difference = f"LTM {a.frame.ltm} vs {b.frame.ltm}"
    offset = np.subtract(b.frame.ltv, a.frame.ltv)
    if difference is None and not np.allclose(offset, np.round(offset), atol=1e-6):
        difference = f"LTV offset {tuple(offset)} is not a whole number of pixels"
    if difference is not None:
        raise ParameterError(
            f"masks {a.name} and {b.name} are on different pixel grids ({difference}); cannot form their union"
        )
    dx, dy = (round(v) for v in offset)
    (nya, nxa), (nyb, nxb) = a.shape, b.shape
    x_lo, x_hi = min(1, 1 - dx), max(nxa, nxb - dx)
    y_lo, y_hi = min(1, 1 - dy), max(nya, nyb - dy)
    values = np.zeros((y_hi - y_lo + 1, x_hi - x_lo + 1), dtype=np.uint8)
    values[1 - y_lo : 1 - y_lo + nya, 1 - x_lo : 1 - x_lo + nxa] |= a.values
    values[1 - dy - y_lo : 1 - dy - y_lo + nyb, 1 - dx - x_lo : 1 - dx - x_lo + nxb] |= b.values
    return MaskImage(values, crop_header(a.header, x_lo - 1, y_lo - 1), name=f"{a.name}|{b.name}")


def _collapse(group: list[Descriptor], masks: dict[str, MaskImage]) -> MaskImage:
    """One input's descriptors on a column pair as one mask, on its first mask's grid."""
    found = [masks[d.block.upper()] for d in group if d.block and d.block.upper() in masks]
    grid = found[0]
    regions = [parse(d.value) for d in group if d.is_region]
    if len(found) == 1 and not regions:
        return grid
    ny, nx = grid.shape
    lx, ly = np.meshgrid(np.arange(1, nx + 1, dtype=float), np.arange(1, ny + 1, dtype=float))
    px, py = (np.ravel(v) for v in grid.frame.to_physical(lx, ly))
    keep = grid.values.ravel().astype(bool)
    for other in found[1:]:
        keep &= other.contains(px, py)
    for region in regions:
        keep &= region.contains(px, py)
    return MaskImage(keep.reshape(grid.shape).astype(np.uint8), grid.header, name=grid.name)


def _is_mask(d: Descriptor, masks: dict[str, MaskImage]) -> bool:
    return d.block is not None and d.block.upper() in masks


def _merge_name(name: str, groups: list[list[Descriptor]], inputs: list[_Input], stored: list) -> list[Descriptor]:
    """The union of one descriptor name over the inputs (``[]`` when unconstrained)."""
    if any(not g for g in groups):
        return []
    plain = [[(d.value, d.ref) for d in g] for g in groups]
    masked = [any(_is_mask(d, i.masks) for d in g) for g, i in zip(groups, inputs)]
    if all(p == plain[0] for p in plain) and not any(masked):
        return groups[0]
    if all(masked):
        union = _collapse(groups[0], inputs[0].masks)
        for g, i in zip(groups[1:], inputs[1:]):
            union = union_masks(union, _collapse(g, i.masks))
        block = "MASK" if not stored else f"MASK{len(stored) + 1}"
        stored.append((block, union))
        return [Descriptor(name, "TABLE", ":" + block, form=groups[0][0].form)]
    if all(d.is_region for g in groups for d in g):
        regions = []
        for g in groups:
            region = parse(g[0].value)
            for d in g[1:]:
                region = region & parse(d.value)
            regions.append(region)
        union = regions[0]
        for region in regions[1:]:
            union = union | region
        return [Descriptor(name, str(union), form=groups[0][0].form)]
    if all(len(g) == 1 and not g[0].block and not g[0].is_region for g in groups):
        return [Descriptor(name, ",".join(g[0].value for g in groups), form=groups[0][0].form, unit=groups[0][0].unit)]
    if all(not d.is_region and not _is_mask(d, i.masks) for g, i in zip(groups, inputs) for d in g) and all(
        g[0].block for g in groups
    ):
        log.warning(
            "merge: %s refers to different blocks (%s); keeping the first input's",
            name,
            ", ".join(g[0].ref or "" for g in groups),
        )
        return groups[0]
    log.warning("merge: the subspace of %s cannot be merged exactly (masks, regions and ranges mixed); dropped", name)
    return []


def _merged_component(inputs: list[_Input]) -> tuple[list[Descriptor], list[tuple[str, MaskImage]]]:
    names = list(dict.fromkeys(d.name for i in inputs for d in i.component))
    stored: list[tuple[str, MaskImage]] = []
    component: list[Descriptor] = []
    for name in names:
        groups = [[d for d in i.component if d.name == name] for i in inputs]
        component.extend(_merge_name(name, groups, inputs, stored))
    return component, stored


def merge(
    inputs: list[str], output: str, *, overwrite: bool = False, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> MergeSummary:
    """Concatenate event lists with the same columns; store the union of their masks.

    Parameters
    ----------
    inputs : list of str
        Two or more files (``file[block]`` picks the table; default the first
        table).
    output : str
        The merged file: the first input's HDUs, its table holding every row
        (in input order), the merged subspace and the union ``MASK``.
    overwrite : bool
        Replace an existing ``output``.
    chunk_rows : int
        Rows copied at a time.
    """
    if len(inputs) < 2:
        raise ParameterError(f"merge needs at least two inputs, got {len(inputs)}")
    for name in inputs:
        check_output(parse_virtual_file(name).path, output, overwrite)
    hduls = [open_fits(parse_virtual_file(name).path) for name in inputs]
    try:
        items = [_read_input(name, hdul) for name, hdul in zip(inputs, hduls)]
        for other in items[1:]:
            _check_same_columns(items[0], other)
        component, stored = _merged_component(items)
        first = items[0]
        header = without_checksums(first.layout.header)
        header = write_subspace(header, [component] if component else [])
        index = find_block(hduls[0], parse_virtual_file(inputs[0]).block, first.name)
        masks_of_first = set(first.masks)
        pieces = []
        for i, span in enumerate(hdu_spans(hduls[0])):
            name = str(hduls[0][i].header.get("EXTNAME", "")).strip().upper()
            if i == index:
                pieces.append(None)
            elif name not in masks_of_first:
                pieces.append(span)
        chunks = sum(-(-i.layout.nrows // chunk_rows) for i in items)
        records = progress(itertools.chain.from_iterable(i.layout.chunks(chunk_rows) for i in items), total=chunks)
        stream = StreamedTableFile(first.layout, pieces, header, records, [m.to_hdu(n) for n, m in stored])
        write_atomic(stream, output, overwrite=overwrite)
    finally:
        for hdul in hduls:
            hdul.close()
    rows = [i.layout.nrows for i in items]
    log.info("wrote %s: %d rows from %d files", output, sum(rows), len(items))
    return MergeSummary(rows, stream.rows_written, [n for n, _ in stored])
