"""CIAO region masks on a 4096x4096 image: astromask next to astropy `regions`, same shapes, same process.

The CIAO region library cannot run here; astropy `regions` (`to_mask(mode="center")`, then
`to_image`, combined with numpy) is the available peer. Shape parameters are chosen so that
no pixel centre lies on a boundary, where the two boundary rules (CIAO inclusive, `regions`
strict) would differ; the script checks that both masks are identical.

Run: .venv/bin/python bench/bench_regions.py
"""

from __future__ import annotations

import time

import numpy as np
import regions
from astropy import units as u
from regions import PixCoord

from astromask.regions import parse

SHAPE = (4096, 4096)


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def peer_image(region):
    image = region.to_mask(mode="center").to_image(SHAPE)
    return np.zeros(SHAPE, dtype=bool) if image is None else image.astype(bool)


def pix(x, y):
    """CIAO physical = logical (1-based) -> regions 0-based pixel coordinates."""
    return PixCoord(x - 1, y - 1)


def case_circle():
    text = "circle(2048.3,2047.8,1500.25)"

    def peer():
        return peer_image(regions.CirclePixelRegion(pix(2048.3, 2047.8), 1500.25))

    return "one circle, r = 1500", text, peer


def case_combination():
    text = ("ellipse(2048.3,2048.7,1800.5,1200.5,30)-circle(1500.3,1500.6,200.5)-circle(2600.2,2400.4,150.5)"
            "+rotbox(500.5,3600.5,400.3,300.3,20)+polygon(3000.3,200.7,3900.6,300.2,3500.1,1000.4)")

    def peer():
        ell = peer_image(regions.EllipsePixelRegion(pix(2048.3, 2048.7), 3601.0, 2401.0, angle=30 * u.deg))
        c1 = peer_image(regions.CirclePixelRegion(pix(1500.3, 1500.6), 200.5))
        c2 = peer_image(regions.CirclePixelRegion(pix(2600.2, 2400.4), 150.5))
        box = peer_image(regions.RectanglePixelRegion(pix(500.5, 3600.5), 400.3, 300.3, angle=20 * u.deg))
        poly = peer_image(regions.PolygonPixelRegion(PixCoord([2999.3, 3899.6, 3499.1], [199.7, 299.2, 999.4])))
        return (ell & ~c1 & ~c2) | box | poly

    return "ellipse - 2 circles + rotbox + polygon", text, peer


def case_many_circles():
    rng = np.random.default_rng(1)
    xy = rng.uniform(50, 4046, size=(1000, 2)).round(1) + 0.05
    r = rng.uniform(2, 30, size=1000).round(1) + 0.03
    text = "+".join(f"circle({x:.2f},{y:.2f},{s:.2f})" for (x, y), s in zip(xy, r))

    def peer():
        out = np.zeros(SHAPE, dtype=bool)
        for (x, y), s in zip(xy, r):
            m = regions.CirclePixelRegion(pix(x, y), s).to_mask(mode="center")
            large, small = m.get_overlap_slices(SHAPE)
            if large is not None:
                out[large] |= m.data[small].astype(bool)
        return out

    return "1000 circles, r = 2..30", text, peer


def main() -> int:
    rows = []
    for make in (case_circle, case_combination, case_many_circles):
        label, text, peer = make()
        region = parse(text)
        t_ours, ours = best(lambda: region.mask(SHAPE))
        t_peer, theirs = best(peer, repeat=1 if make is case_many_circles else 3)
        differ = int((ours != theirs).sum())
        assert differ == 0, f"{label}: {differ} pixels differ"
        rows.append((label, t_peer, t_ours, int(ours.sum())))
    print(f"{'case (4096 x 4096)':42s} {'regions (s)':>11s} {'astromask (s)':>13s} {'ratio':>7s} {'pixels':>10s}")
    for label, t_peer, t_ours, n in rows:
        print(f"{label:42s} {t_peer:11.3f} {t_ours:13.3f} {t_peer / t_ours:6.1f}x {n:10d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
