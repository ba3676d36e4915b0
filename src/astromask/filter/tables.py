"""Filtering event lists (binary tables), streamed in row chunks.

The filtered block is read ``chunk_rows`` rows at a time from the file (the
raw big-endian records at the offsets ``fits.open`` reports), its columns decoded as FITS says
(``TSCALn``/``TZEROn`` applied, integer ``TNULLn`` rows never pass a filter),
and the selected records are written straight to the output. Memory is bounded
by the chunk, not the file. Every other HDU is copied byte for byte; the
filtered block keeps its header, with ``NAXIS2``, the data subspace and (for
variable-length columns) ``THEAP`` updated, and the heap copied unchanged.

Integer columns (``B``, ``I``, ``J``, ``K`` without scaling) take CIAO's
integer ranges, ``lo:hi`` = ``lo <= v <= hi``; real and scaled columns the
half-open ``lo <= v < hi``.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy.table import Table

from ..errors import FormatError
from ..progress import progress
from ..syntax.filter import parse_filter
from .plan import Column, Plan, TableTarget, build_plan

__all__ = ["DEFAULT_CHUNK_ROWS", "TableLayout", "decode_column", "select_rows"]

DEFAULT_CHUNK_ROWS = 1_000_000


@dataclass(frozen=True)
class TableLayout:
    """Where a binary table's records lie in its file, and their raw (big-endian) layout."""

    path: str
    header: fits.Header
    header_offset: int
    data_offset: int
    data_span: int
    nrows: int
    dtype: np.dtype

    @classmethod
    def from_hdul(cls, hdul: fits.HDUList, index: int, path: str) -> TableLayout:
        hdu = hdul[index]
        info = hdul.fileinfo(index)
        dtype = np.dtype(hdu.columns.dtype).newbyteorder(">")
        if dtype.itemsize != int(hdu.header["NAXIS1"]):
            raise FormatError(
                f"table row layout ({dtype.itemsize} bytes) does not match NAXIS1 {hdu.header['NAXIS1']}",
                path=path,
                hdu=index,
            )
        return cls(
            path, hdu.header.copy(), info["hdrLoc"], info["datLoc"], info["datSpan"], int(hdu.header["NAXIS2"]), dtype
        )

    @property
    def row_bytes(self) -> int:
        return self.dtype.itemsize

    @property
    def heap(self) -> tuple[int, int]:
        """``(offset from the data start, size)`` of the variable-length heap (size 0 when none)."""
        size = int(self.header.get("PCOUNT", 0))
        return int(self.header.get("THEAP", self.row_bytes * self.nrows)), size

    def chunks(self, chunk_rows: int) -> Iterator[np.ndarray]:
        """The raw records, ``chunk_rows`` at a time, read from the file (plain or gzip) as needed."""
        if self.nrows == 0:
            return
        compressed = _is_gzip(self.path)
        with gzip.open(self.path, "rb") if compressed else open(self.path, "rb") as f:
            f.seek(self.data_offset)
            for start in range(0, self.nrows, chunk_rows):
                count = min(chunk_rows, self.nrows - start)
                if compressed:
                    records = np.frombuffer(f.read(count * self.row_bytes), dtype=self.dtype)
                else:
                    records = np.fromfile(f, dtype=self.dtype, count=count)
                if len(records) != count:
                    raise FormatError(
                        f"table data ends after {start + len(records)} of {self.nrows} rows", path=self.path
                    )
                yield records


def _is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def decode_column(records: np.ndarray, column: Column, header: fits.Header) -> tuple[np.ndarray, np.ndarray | None]:
    """Values of a column in raw records: ``(values, valid)``.

    Integer columns give int64 (``TZEROn`` added: unsigned columns), real and
    scaled ones float64 (``TSCALn``/``TZEROn`` applied); ``valid`` is False
    where an integer column holds its ``TNULLn`` (None when it has none).
    """
    n = column.index
    raw = records[records.dtype.names[n - 1]]
    scale, zero = float(header.get(f"TSCAL{n}", 1.0)), float(header.get(f"TZERO{n}", 0.0))
    null = header.get(f"TNULL{n}")
    valid = (raw != null) if null is not None and raw.dtype.kind in "iu" else None
    if column.integer:
        values = raw.astype(np.int64)
        if zero:
            values += int(zero)
    else:
        values = raw.astype(np.float64)
        if scale != 1.0 or zero:
            values *= scale
            values += zero
    return values, valid


def select_rows(table, filters: str, *, header: fits.Header | None = None) -> np.ndarray:
    """The rows of an in-memory table that pass CIAO filters.

    Parameters
    ----------
    table : astropy.io.fits.BinTableHDU, astropy.table.Table or dict of arrays
        Column values are used as the table holds them (astropy applies
        ``TSCALn``/``TZEROn``); integer ``TNULLn`` values never pass.
    filters : str
        ``"sky=mask(m.fits),pi=10:200"`` or ``"[...][...]"``.
    header : astropy.io.fits.Header, optional
        Table header giving ``TLMINn``, ``MTYPEn``/``MFORMn`` or column WCS
        keywords, for tables without one.

    Returns
    -------
    ndarray of bool, one per row

    Examples
    --------
    >>> t = {"x": np.array([1.0, 2.0, 3.0]), "y": np.array([1.0, 2.0, 3.0]), "pi": np.array([5, 10, 20])}
    >>> select_rows(t, "pi=5:10,sky=circle(2,2,1.5)").tolist()
    [True, True, False]
    """
    hdu = _as_hdu(table, header)
    target = TableTarget(hdu.header, "table")
    plan = build_plan(parse_filter(filters), target, text=filters)
    return _select(plan, hdu)


def _as_hdu(table, header: fits.Header | None) -> fits.BinTableHDU:
    if isinstance(table, fits.BinTableHDU):
        hdu = table
    else:
        hdu = fits.table_to_hdu(table if isinstance(table, Table) else Table(dict(table)))
    if header is not None:
        merged = hdu.header.copy()
        for card in header.cards:
            if card.keyword not in merged and not card.keyword.startswith(("TTYPE", "TFORM", "NAXIS", "TFIELDS")):
                merged.append(card)
        hdu = fits.BinTableHDU(hdu.data, header=merged)
    return hdu


def _select(plan: Plan, hdu: fits.BinTableHDU) -> np.ndarray:
    nrows = len(hdu.data) if hdu.data is not None else 0
    if plan.expression is None:
        return np.ones(nrows, dtype=bool)

    def values(column: Column):
        data = np.asarray(hdu.data.field(column.index - 1))
        null = hdu.header.get(f"TNULL{column.index}")
        valid = (data != null) if null is not None and data.dtype.kind in "iu" else None
        return data.astype(np.int64 if column.integer else np.float64), valid

    return np.asarray(plan.evaluate(values), dtype=bool)


def chunk_selection(plan: Plan, records: np.ndarray, header: fits.Header) -> np.ndarray:
    """The rows of one chunk of raw records that pass the plan."""
    if plan.expression is None:
        return np.ones(len(records), dtype=bool)
    decoded: dict[int, tuple] = {}

    def values(column: Column):
        if column.index not in decoded:
            decoded[column.index] = decode_column(records, column, header)
        return decoded[column.index]

    return plan.evaluate(values)


# -- streamed output -------------------------------------------------------------------------------


def write_image_hdu(out, hdu: fits.ImageHDU) -> None:
    """Append an image extension (header, big-endian data, padding) to an open FITS file."""
    data = np.ascontiguousarray(hdu.data, dtype=hdu.data.dtype.newbyteorder(">"))
    out.write(hdu.header.tostring().encode("ascii"))
    out.write(memoryview(data).cast("B"))
    out.write(_pad(data.nbytes))


def _pad(size: int) -> bytes:
    return b"\0" * (-size % 2880)


class StreamedTableFile:
    """An output file assembled from the input's bytes: write it with :func:`~astromask.io.fitsfile.write_atomic`.

    ``writeto`` copies the byte ``pieces`` of the input (``(start, stop)``
    spans: whole HDUs) verbatim; at the piece that is None it writes the table:
    ``header`` and the records ``selections`` yields, chunk by chunk (then the
    input table's heap, if any); finally it appends the ``extra`` HDUs (the
    stored masks).
    """

    def __init__(
        self,
        layout: TableLayout,
        pieces: list[tuple[int, int] | None],
        header: fits.Header,
        selections: Iterator[np.ndarray],
        extra: list,
    ) -> None:
        self.layout = layout
        self.pieces = pieces
        self.header = header
        self.selections = selections
        self.extra = extra
        self.rows_written = 0

    def writeto(self, path: str, overwrite: bool = True, output_verify: str = "silentfix") -> None:
        if path.endswith(".gz"):
            plain = path + ".part"
            try:
                self._write_plain(plain)
                with open(plain, "rb") as src, gzip.open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 22)
            finally:
                if os.path.exists(plain):
                    os.remove(plain)
            return
        self._write_plain(path)

    def _write_plain(self, path: str) -> None:
        opener = gzip.open if _is_gzip(self.layout.path) else open
        with opener(self.layout.path, "rb") as src, open(path, "w+b") as out:
            for piece in self.pieces:
                if piece is None:
                    self._write_table(src, out)
                else:
                    src.seek(piece[0])
                    _copy(src, out, piece[1] - piece[0])
            for hdu in self.extra:
                write_image_hdu(out, hdu)

    def _write_table(self, src, out) -> None:
        header_at = out.tell()
        header = self._header(0)
        out.write(header)
        rows = 0
        for selected in self.selections:
            out.write(memoryview(np.ascontiguousarray(selected)).cast("B"))
            rows += len(selected)
        heap_offset, heap_size = self.layout.heap
        if heap_size:
            src.seek(self.layout.data_offset + heap_offset)
            _copy(src, out, heap_size)
        out.write(_pad(rows * self.layout.row_bytes + heap_size))
        end = out.tell()
        out.seek(header_at)
        final = self._header(rows)
        if len(final) != len(header):  # pragma: no cover - NAXIS2 is a fixed-width card
            raise RuntimeError("table header changed size")
        out.write(final)
        out.seek(end)
        self.rows_written = rows

    def _header(self, rows: int) -> bytes:
        header = self.header.copy()
        header["NAXIS2"] = rows
        heap_size = self.layout.heap[1]
        if heap_size:
            header["THEAP"] = rows * self.layout.row_bytes
        return header.tostring().encode("ascii")


def _copy(src, out, size: int) -> None:
    while size > 0:
        block = src.read(min(size, 1 << 22))
        if not block:
            raise FormatError("file ends early", path=getattr(src, "name", None))
        out.write(block)
        size -= len(block)


def hdu_spans(hdul: fits.HDUList) -> list[tuple[int, int]]:
    """``(start, stop)`` byte offsets of each HDU (header and padded data) in its file."""
    spans = []
    for i in range(len(hdul)):
        info = hdul.fileinfo(i)
        spans.append((info["hdrLoc"], info["datLoc"] + info["datSpan"]))
    return spans


def selected_records(layout: TableLayout, plan: Plan, chunk_rows: int, counts: dict) -> Iterator[np.ndarray]:
    """The records of ``layout`` passing ``plan``, chunk by chunk; ``counts['in'/'out']`` tallies them."""
    counts.setdefault("in", 0)
    counts.setdefault("out", 0)
    for records in progress(layout.chunks(chunk_rows), total=-(-layout.nrows // chunk_rows)):
        keep = chunk_selection(plan, records, layout.header)
        counts["in"] += len(records)
        selected = records[keep]
        counts["out"] += len(selected)
        yield selected
