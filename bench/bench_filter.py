"""Mask filtering of 10^8 events through an 8192x8192 mask: astromask next to a bare numpy gather.

Two measurements, same events, same mask (half of its pixels set, seed 1; events uniform
over the mask, float64 x and y, seed 2):

1. **kernel**, in memory, chunk by chunk (10^7 events a chunk): astromask's
   ``MaskImage.contains`` (physical -> logical through LTM/LTV, the +/-0.5 pixel rule,
   bounds and NaN checks, compiled with numba) against numpy's bare gather
   ``mask[iy, ix]`` with the integer indices already computed (the limit), and against
   numpy computing those indices too.
2. **streamed file**: a FITS event list of the same events is written to a temporary
   directory outside the repository (default /tmp/filter_bench, deleted afterwards);
   ``filter_file("evt.fits[sky=mask(m.fits)]", out)`` reads it in chunks of
   ``DEFAULT_CHUNK_ROWS`` rows and writes the selected rows; the peer reads the same
   chunks and gathers with numpy, without output and then writing the kept records. Peak memory traced by
   ``tracemalloc`` (numpy reports its buffers to it) shows the streaming: it stays at the
   mask plus a few chunks, far below the file size.

Both give identical selections (checked). Run:
    .venv/bin/python bench/bench_filter.py [--events 100000000] [--dir /tmp/filter_bench] [--skip-file]
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
import tracemalloc

import numpy as np
from astropy.io import fits

from astromask.filter import filter_file
from astromask.filter.masks import MaskImage
from astromask.filter.tables import DEFAULT_CHUNK_ROWS

SIZE = 8192
CHUNK = 10_000_000


def make_mask() -> np.ndarray:
    return (np.random.default_rng(1).random((SIZE, SIZE)) < 0.5).astype(np.uint8)


def event_chunks(n: int):
    rng = np.random.default_rng(2)
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        yield rng.uniform(0.5, SIZE + 0.5, count), rng.uniform(0.5, SIZE + 0.5, count)


def bench_kernel(values: np.ndarray, n: int) -> dict:
    mask = MaskImage(values, fits.Header({"LTM1_1": 1.0, "LTM2_2": 1.0, "LTV1": 0.0, "LTV2": 0.0}))
    mask.contains(np.array([1.0]), np.array([1.0]))  # compile outside the timing
    t_gather = t_index = t_ours = 0.0
    for x, y in event_chunks(n):
        t0 = time.perf_counter()
        ix, iy = (x - 0.5).astype(np.intp), (y - 0.5).astype(np.intp)
        t1 = time.perf_counter()
        peer = values[iy, ix] != 0
        t2 = time.perf_counter()
        ours = mask.contains(x, y)
        t3 = time.perf_counter()
        assert np.array_equal(ours, peer)
        t_index += t1 - t0
        t_gather += t2 - t1
        t_ours += t3 - t2
    return {"gather": t_gather, "index+gather": t_index + t_gather, "astromask": t_ours}


def write_events(path: str, n: int) -> None:
    """A FITS event list of n rows (X, Y float64), written chunk by chunk."""
    header = fits.BinTableHDU.from_columns(
        [fits.Column("X", "D", unit="pixel"), fits.Column("Y", "D", unit="pixel")]
    ).header
    header["NAXIS2"] = n
    for k in (1, 2):
        header[f"TLMIN{k}"], header[f"TLMAX{k}"] = 0.5, SIZE + 0.5
    with open(path, "wb") as f:
        f.write(fits.PrimaryHDU().header.tostring().encode())
        f.write(header.tostring().encode())
        for x, y in event_chunks(n):
            records = np.empty(len(x), dtype=[("X", ">f8"), ("Y", ">f8")])
            records["X"], records["Y"] = x, y
            f.write(records.tobytes())
        f.write(b"\0" * (-(16 * n) % 2880))


def peer_file(path: str, values: np.ndarray, n: int, out: str | None = None) -> int:
    """Read the file in the same chunks and gather with numpy (writing the kept records to ``out``)."""
    kept = 0
    with fits.open(path) as hdul:
        offset = hdul.fileinfo(1)["datLoc"]
    dtype = [("X", ">f8"), ("Y", ">f8")]
    with open(path, "rb") as f, open(out, "wb") if out else open(os.devnull, "wb") as sink:
        f.seek(offset)
        for start in range(0, n, DEFAULT_CHUNK_ROWS):
            records = np.fromfile(f, dtype=dtype, count=min(DEFAULT_CHUNK_ROWS, n - start))
            x, y = records["X"].astype(np.float64), records["Y"].astype(np.float64)
            keep = values[(y - 0.5).astype(np.intp), (x - 0.5).astype(np.intp)] != 0
            kept += int(np.count_nonzero(keep))
            if out:
                sink.write(records[keep].tobytes())
    return kept


def bench_file(values: np.ndarray, n: int, directory: str) -> dict:
    os.makedirs(directory, exist_ok=True)
    try:
        evt, mask_path, out = (os.path.join(directory, name) for name in ("evt.fits", "m.fits", "out.fits"))
        fits.PrimaryHDU(values).writeto(mask_path, overwrite=True)
        t0 = time.perf_counter()
        write_events(evt, n)
        t_write = time.perf_counter() - t0
        peer_file(evt, values, min(n, DEFAULT_CHUNK_ROWS))  # warm the page cache path
        t0 = time.perf_counter()
        kept = peer_file(evt, values, n)
        t_peer = time.perf_counter() - t0
        t0 = time.perf_counter()
        peer_file(evt, values, n, out=os.path.join(directory, "peer.bin"))
        t_peer_write = time.perf_counter() - t0
        os.remove(os.path.join(directory, "peer.bin"))
        tracemalloc.start()
        t0 = time.perf_counter()
        summary = filter_file(f"{evt}[sky=mask({mask_path})]", out, overwrite=True)
        t_ours = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert summary.rows == (n, kept), (summary.rows, kept)
        return {
            "write": t_write,
            "peer": t_peer,
            "peer_write": t_peer_write,
            "astromask": t_ours,
            "peak": peak,
            "file": os.path.getsize(evt),
            "kept": kept,
        }
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--dir", default="/tmp/filter_bench")
    parser.add_argument("--skip-file", action="store_true", help="kernel only (no temporary file)")
    args = parser.parse_args()
    values = make_mask()
    k = bench_kernel(values, args.events)
    print(f"{args.events:.0e} events, {SIZE}x{SIZE} mask, in-memory chunks of {CHUNK:.0e}")
    print(f"  numpy gather mask[iy, ix] (indices given)   {k['gather']:7.2f} s")
    print(f"  numpy indices + gather                      {k['index+gather']:7.2f} s")
    print(
        f"  astromask MaskImage.contains                {k['astromask']:7.2f} s   "
        f"ratio to gather {k['astromask'] / k['gather']:.2f}x, to indices+gather "
        f"{k['astromask'] / k['index+gather']:.2f}x"
    )
    if args.skip_file:
        return
    f = bench_file(values, args.events, args.dir)
    print(
        f"streamed file of {f['file'] / 1e9:.2f} GB (written in {f['write']:.1f} s), chunks of "
        f"{DEFAULT_CHUNK_ROWS:.0e} rows, {f['kept']} rows kept"
    )
    print(f"  numpy: read chunks + gather (no output)     {f['peer']:7.2f} s")
    print(f"  numpy: read + gather + write kept rows      {f['peer_write']:7.2f} s")
    print(
        f"  astromask filter_file (writes the output)   {f['astromask']:7.2f} s   "
        f"ratio {f['astromask'] / f['peer']:.2f}x to gather, {f['astromask'] / f['peer_write']:.2f}x to "
        f"gather + write; peak traced memory {f['peak'] / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
