"""Per-object mask bits: astromask.sky.lookup_planes against a plain astropy WCS + numpy gather,
10**6 objects against a 60-CCD exposure (4096x2048 masks with their own TAN WCS, DECam-like).

Run: .venv/bin/python bench/bench_lookup.py [--objects 1000000] [--ccds 60] [--radius 2arcsec]

The peer projects every object through every CCD's WCS (world_to_pixel) and gathers the mask value
at the nearest pixel; astromask bounds each CCD's footprint on the sphere first and projects only
the objects inside it. Both give the same bits (checked). The radius run has no peer here (the
plain gather has no radius); its time is shown alone. Then the exposure's HEALPix footprint
(astromask.sky.healpix, --nside) is made, CCD by CCD, and the objects looked up in it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from astromask import Mask, get_schema
from astromask.sky.lookup import lookup_planes

SCALE = 0.263 / 3600  # degrees per pixel
SHAPE = (4096, 2048)


def exposure(n_ccds: int, seed: int = 1) -> list[tuple[Mask, WCS]]:
    """CCDs in rows of ten around (150, 2) deg, gaps of 200 pixels, sparse random planes."""
    rng = np.random.default_rng(seed)
    schema = get_schema("rubin")
    ccds = []
    for k in range(n_ccds):
        row, column = divmod(k, 10)
        wcs = WCS(naxis=2)
        wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        wcs.wcs.crval = [150.0, 2.0]
        wcs.wcs.cdelt = [-SCALE, SCALE]
        wcs.wcs.crpix = [(4.5 - column) * (SHAPE[1] + 200), (2.5 - row) * (SHAPE[0] + 200)]
        array = np.zeros(SHAPE, np.uint32)
        flat = array.reshape(-1)
        for bit in (0, 1, 3, 4):  # BAD, SAT, CR, EDGE
            flat[rng.integers(0, flat.size, 20000)] |= np.uint32(1 << bit)
        array[:, :20] |= 16
        ccds.append((Mask(array, schema, copy=False), wcs))
    return ccds


def peer(positions: SkyCoord, ccds) -> np.ndarray:
    bits = np.zeros(len(positions), np.uint64)
    for mask, wcs in ccds:
        x, y = wcs.world_to_pixel(positions)
        ix, iy = np.floor(x + 0.5), np.floor(y + 0.5)
        on = np.isfinite(ix) & (ix >= 0) & (ix < SHAPE[1]) & (iy >= 0) & (iy < SHAPE[0])
        bits[on] |= mask.array[iy[on].astype(np.int64), ix[on].astype(np.int64)]
    return bits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=1_000_000)
    parser.add_argument("--ccds", type=int, default=60)
    parser.add_argument("--radius", default="2arcsec")
    parser.add_argument("--nside", type=int, default=2**15, help="HEALPix map resolution (2**15: 6.4 arcsec)")
    args = parser.parse_args()
    ccds = exposure(args.ccds)
    rng = np.random.default_rng(2)
    half = 1.3
    positions = SkyCoord(
        150 + rng.uniform(-half, half, args.objects), 2 + rng.uniform(-half, half, args.objects), unit="deg"
    )
    lookup_planes(positions[:1000], ccds[:1])  # imports
    t = time.perf_counter()
    theirs = peer(positions, ccds)
    peer_s = time.perf_counter() - t
    t = time.perf_counter()
    ours = lookup_planes(positions, ccds)
    ours_s = time.perf_counter() - t
    t = time.perf_counter()
    near = lookup_planes(positions, ccds, radius=args.radius)
    radius_s = time.perf_counter() - t
    same = np.array_equal(ours.bits.view(np.uint64), theirs)  # the rubin bits are the union's here
    from astromask.sky.healpix import healpix_map, lookup_healpix

    t = time.perf_counter()
    footprint = healpix_map(iter(ccds), args.nside)
    map_s = time.perf_counter() - t
    t = time.perf_counter()
    from_map = lookup_healpix(positions, footprint)
    map_lookup_s = time.perf_counter() - t
    agree = float(np.mean(from_map.covered == ours.covered))
    print(f"{args.objects} objects, {args.ccds} CCDs {SHAPE[0]}x{SHAPE[1]}: {int(ours.covered.sum())} on a CCD")
    print(f"{'task':<48} {'s':>7}")
    print(f"{'astropy world_to_pixel per CCD + numpy gather':<48} {peer_s:7.2f}")
    print(f"{'astromask lookup_planes':<48} {ours_s:7.2f}   ratio {peer_s / ours_s:.1f}x   same bits: {same}")
    print(
        f"{'astromask lookup_planes, radius ' + args.radius:<48} {radius_s:7.2f}   "
        f"({int(np.count_nonzero(near.bits))} flagged)"
    )
    print(f"{'HEALPix footprint of the exposure, nside ' + str(args.nside):<48} {map_s:7.2f}")
    print(
        f"{'lookup in the HEALPix map':<48} {map_lookup_s:7.2f}   "
        f"(covered agrees with the pixel lookup for {100 * agree:.2f} % of objects)"
    )
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
