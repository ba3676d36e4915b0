"""Catalog (sky circle) masks: astromask next to gammapy's ``WcsGeom.region_mask``, same circles, same grid.

Run: .venv/bin/python bench/bench_catalog.py [--peer-max N]

gammapy 2.1 does not import with regions 0.12, so the peer runs in its own
environment, in a subprocess: ``.venv-gammapy`` at the repository root (made with
``python3.11 -m venv .venv-gammapy && .venv-gammapy/bin/pip install gammapy==2.1
regions==0.11``) or the Python named by ``$ASTROMASK_GAMMAPY_PYTHON``. Without it,
the gammapy column shows the figures of ``../shared/reference/gammapy.md``
section 9, labelled as such.

Grid: 2000×2000, TAN, galactic, 0.01°/px, centred on (0°, 0°); N random circles,
centres uniform over the map, radii 5-30 px (seed 0). gammapy's union chain
recurses once per region, so the recursion limit is raised for N >= 1000; 10^4
circles take it about 8 minutes (reference figure: 456 s) and are not run here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord

from astromask.sky import make_geometry, sky_circles_mask

ROOT = Path(__file__).resolve().parents[1]
PEER_PYTHON = Path(os.environ.get("ASTROMASK_GAMMAPY_PYTHON", ROOT / ".venv-gammapy" / "bin" / "python"))
REFERENCE_SECONDS = {1: 0.051, 100: 4.97, 1000: 47.9, 10_000: 456.0}  # gammapy.md section 9

PEER_SCRIPT = textwrap.dedent(
    """
    import json, sys, time
    import numpy as np
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from regions import CircleSkyRegion
    from gammapy.maps import WcsGeom

    sys.setrecursionlimit(50_000)
    data = np.load(sys.argv[1])
    geom = WcsGeom.create(skydir=(0, 0), npix=2000, binsz=0.01, frame="galactic", proj="TAN")
    regions = [CircleSkyRegion(SkyCoord(l, b, unit="deg", frame="galactic"), r * u.deg)
               for l, b, r in zip(data["l"], data["b"], data["r"])]
    t0 = time.perf_counter()
    mask = geom.region_mask(regions).data
    seconds = time.perf_counter() - t0
    np.savez(sys.argv[2], mask=mask, seconds=seconds, header=json.dumps(dict(geom.wcs.to_header()), default=str))
    """
)


def circles(geom, n: int, seed: int = 0) -> tuple[SkyCoord, np.ndarray]:
    """N circle centres uniform over the map and radii of 5-30 pixels (in degrees)."""
    rng = np.random.default_rng(seed)
    ny, nx = geom.shape
    x, y = rng.uniform(-0.5, nx - 0.5, n), rng.uniform(-0.5, ny - 0.5, n)
    scale = abs(geom.wcs.wcs.cdelt[0])
    return geom.wcs.pixel_to_world(x, y), rng.uniform(5, 30, n) * scale


def best(fn, repeat: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def run_peer(centers: SkyCoord, radii: np.ndarray) -> tuple[float, np.ndarray, dict]:
    """gammapy's region_mask in its own environment: seconds, mask and the WCS header it used."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npz")
        np.savez(src, l=centers.l.deg, b=centers.b.deg, r=radii)
        subprocess.run([str(PEER_PYTHON), "-c", PEER_SCRIPT, src, out], check=True)
        with np.load(out) as result:
            return float(result["seconds"]), result["mask"].astype(bool), json.loads(str(result["header"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer-max", type=int, default=1000, help="largest N run with gammapy (default 1000)")
    args = parser.parse_args()

    geom = make_geometry((0, 0), npix=2000, binsz=0.01, frame="galactic", proj="TAN")
    warm_centers, warm_radii = circles(geom, 10, seed=1)
    sky_circles_mask(geom.shape, geom.wcs, warm_centers, warm_radii * u.deg)  # load the compiled loop
    peer_available = PEER_PYTHON.exists()
    if not peer_available:
        print(f"gammapy environment not found at {PEER_PYTHON}: peer figures are from the reference, not measured here")

    print(f"{'N':>7} {'gammapy s':>12} {'astromask s':>12} {'ratio':>8} {'masked':>7} {'differing px':>13}")
    for n in (100, 1000, 10_000):
        centers, radii = circles(geom, n)
        ours_s, ours = best(lambda: sky_circles_mask(geom.shape, geom.wcs, centers, radii * u.deg))
        if peer_available and n <= args.peer_max:
            peer_s, peer, header = run_peer(centers, radii)
            ours_header = geom.wcs.to_header()
            same_grid = all(header[k] == ours_header[k] for k in ("CTYPE1", "CRPIX1", "CRPIX2", "CDELT1", "CDELT2"))
            assert same_grid and peer.shape == ours.shape, "gammapy and astromask grids differ"
            peer_text, differing = f"{peer_s:12.3f}", f"{int((peer != ours).sum()):13d}"
        else:
            peer_s, peer_text, differing = REFERENCE_SECONDS[n], f"{REFERENCE_SECONDS[n]:11.1f}*", f"{'-':>13}"
        print(f"{n:>7} {peer_text} {ours_s:12.4f} {peer_s / ours_s:7.0f}x {ours.mean():7.3f} {differing}")
    print("* from ../shared/reference/gammapy.md section 9, not measured here")

    big = make_geometry((0, 0), npix=8192, binsz=0.005, frame="galactic", proj="TAN")
    centers, radii = circles(big, 100_000)
    seconds, mask = best(lambda: sky_circles_mask(big.shape, big.wcs, centers.icrs, radii * u.deg), repeat=2)
    print(
        f"10^5 ICRS sources, radii 5-30 px, on an 8192x8192 galactic TAN map: {seconds:.2f} s "
        f"(masked fraction {mask.mean():.3f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
