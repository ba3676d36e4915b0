"""Subimage reads and per-plane counts: astromask next to plain astropy, same data, same process.

Run: .venv/bin/python bench/bench_io.py  (uses ../shared/data when present, else generated data)
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

import astromask
from astromask import Box, Mask, get_schema

SHARED = Path(os.environ.get("ASTROMASK_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))


def best(fn, repeat=5):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def static_mask_file(tmp: str) -> tuple[str, str]:
    src = SHARED / "decam" / "ksb_staticmask_ood_v1.fits.fz"
    if src.exists():
        return str(src), "ccd2"
    path = os.path.join(tmp, "big_mask.fits.fz")
    rng = np.random.default_rng(0)
    data = (rng.random((4096, 4032)) < 0.02).astype(np.int32)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, name="ccd2", compression_type="GZIP_2")]).writeto(path)
    return path, "ccd2"


def main() -> int:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path, ext = static_mask_file(tmp)
        box = Box(2000, 2256, 1000, 1256)

        def astropy_full():
            with fits.open(path) as h:
                return np.array(h[ext].data[box.y0 : box.y1, box.x0 : box.x1])

        def ours():
            return astromask.read(f"{path}[{ext}]", format="fits", bbox=box)

        np.testing.assert_array_equal(ours().array, astropy_full())
        t_peer, t_ours = best(astropy_full), best(ours)
        rows.append(("256x256 box of a 4096x4032 tile-compressed mask", "astropy .data then slice", t_peer, t_ours))

    rng = np.random.default_rng(1)
    values = (rng.integers(0, 2**16, size=(4096, 4096)) * (rng.random((4096, 4096)) < 0.05)).astype(np.uint32)
    m = Mask(values, get_schema("rubin"))

    def peer_counts():  # astropy.nddata.bitmask, one call per plane
        from astropy.nddata import bitmask

        return {
            p.name: int(bitmask.bitfield_to_boolean_mask(values, ignore_flags=~(1 << i), good_mask_value=False).sum())
            for i, p in m.schema.items()
        }

    assert peer_counts() == m.counts()
    rows.append(
        (
            "per-plane counts, 16 planes of 4096x4096",
            "astropy bitfield_to_boolean_mask per plane",
            best(peer_counts, 2),
            best(m.counts, 2),
        )
    )

    print(f"{'task':<52} {'peer':<45} {'peer s':>8} {'ours s':>8} {'ratio':>7}")
    for task, peer, tp, to in rows:
        print(f"{task:<52} {peer:<45} {tp:8.3f} {to:8.3f} {tp / to:7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
