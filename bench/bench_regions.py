"""CIAO region masks on a 4096x4096 image: astromask next to its peers, same shapes, same process.

1. astropy `regions` (`to_mask(mode="center")`, then `to_image`, combined with numpy). Shape
   parameters are chosen so that no pixel centre lies on a boundary, where the two boundary
   rules (CIAO inclusive, `regions` strict) would differ; the masks are checked identical.
2. The CIAO region library itself (sherpa 4.19's `extern/region-4.19`, GPL-3, built outside
   this repository, see docs/regions.md), called through ctypes when ``CIAO_REGION_LIB``
   names its shared object: its own ``regRegionToMask`` and a C loop calling
   ``regInsideRegion`` at every pixel centre row by row (``CIAO_REGION_DRIVER``, default
   ``libciaomask.so`` next to the library). Integer parameters put many centres exactly on
   boundaries; the masks are checked identical.

Run: .venv/bin/python bench/bench_regions.py [--ciao-only]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import time
from pathlib import Path

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
    text = (
        "ellipse(2048.3,2048.7,1800.5,1200.5,30)-circle(1500.3,1500.6,200.5)-circle(2600.2,2400.4,150.5)"
        "+rotbox(500.5,3600.5,400.3,300.3,20)+polygon(3000.3,200.7,3900.6,300.2,3500.1,1000.4)"
    )

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


def compare_regions() -> None:
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


CIAO_CASES = (
    ("circle r = 500", "circle(2048,2048,500)"),
    ("box 1500 x 900", "box(2048.5,2047,1500,900)"),
    ("rotbox 2000 x 1200, 30 deg", "rotbox(2048,2048,2000,1200,30)"),
    ("polygon, 5 vertices (concave)", "polygon(500,500,3800,900,3000,3600,2048,2048,1200,3000)"),
    ("pie r = 200..1500, 30..150 deg", "pie(2048,2048,200,1500,30,150)"),
    ("annulus r = 800..1500", "annulus(2048,2048,800,1500)"),
    (
        "5 shapes with - and &",
        "circle(2048,2048,1800)-box(2048,2048,800,600,20)"
        "&polygon(100,100,4000,200,3900,3900)-ellipse(1000,3000,300,150,45)"
        "-pie(3000,1000,0,400,10,80)",
    ),
)


def many_circles_text() -> str:
    rng = np.random.default_rng(2)
    xy = rng.integers(40, 4057, size=(1000, 2))
    r = rng.integers(2, 31, size=1000)
    return "+".join(f"circle({x},{y},{s})" for (x, y), s in zip(xy, r))


class CiaoLibrary:
    """The CIAO region library and the row-loop driver, through ctypes."""

    def __init__(self, library: str, driver: str):
        self.lib = ctypes.CDLL(library)
        self.driver = ctypes.CDLL(driver)
        self.libc = ctypes.CDLL(None)
        self.lib.regParse.restype = ctypes.c_void_p
        self.lib.regParse.argtypes = [ctypes.c_char_p]
        self.lib.regFree.argtypes = [ctypes.c_void_p]
        self.lib.regRegionToMask.argtypes = (
            [ctypes.c_void_p]
            + [ctypes.c_double] * 5
            + [
                ctypes.POINTER(ctypes.POINTER(ctypes.c_short)),
                ctypes.POINTER(ctypes.c_long),
                ctypes.POINTER(ctypes.c_long),
            ]
        )
        self.libc.free.argtypes = [ctypes.c_void_p]
        self.driver.ciao_mask.argtypes = [ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_void_p]

    def parse(self, text: str) -> int:
        region = self.lib.regParse(text.encode())
        if not region:
            raise ValueError(f"regParse failed on {text[:60]!r}")
        return region

    def region_to_mask(self, region: int) -> np.ndarray:
        """``regRegionToMask`` over logical centres 1..nx, 1..ny (its x-outer loop)."""
        ny, nx = SHAPE
        buf = ctypes.POINTER(ctypes.c_short)()
        xlen, ylen = ctypes.c_long(), ctypes.c_long()
        status = self.lib.regRegionToMask(
            region, 1.0, float(nx), 1.0, float(ny), 1.0, ctypes.byref(buf), ctypes.byref(xlen), ctypes.byref(ylen)
        )
        if status != 0 or (ylen.value, xlen.value) != SHAPE:
            raise RuntimeError("regRegionToMask failed")
        try:
            return np.ctypeslib.as_array(buf, shape=SHAPE).astype(bool)
        finally:
            self.libc.free(ctypes.cast(buf, ctypes.c_void_p))

    def row_loop(self, region: int) -> np.ndarray:
        """``regInsideRegion`` at every pixel centre, rows outer (the driver)."""
        out = np.empty(SHAPE, dtype=np.uint8)
        self.driver.ciao_mask(region, SHAPE[1], SHAPE[0], out.ctypes.data)
        return out.view(bool)


def compare_ciao() -> None:
    library = os.environ.get("CIAO_REGION_LIB")
    if not library:
        print(
            "\nCIAO library comparison skipped: set CIAO_REGION_LIB=/path/to/libregion.so "
            "(and CIAO_REGION_DRIVER, default libciaomask.so beside it); build steps in docs/regions.md"
        )
        return
    driver = os.environ.get("CIAO_REGION_DRIVER", str(Path(library).with_name("libciaomask.so")))
    ciao = CiaoLibrary(library, driver)
    cases = [(label, text, 3) for label, text in CIAO_CASES]
    cases.append(("1000 circles r = 2..30, OR", many_circles_text(), 1))  # the library takes minutes
    print(
        f"\n{'case (4096 x 4096)':32s} {'regRegionToMask':>15s} {'C row loop':>10s} "
        f"{'astromask':>9s} {'ratio':>6s} {'identical':>9s} {'pixels':>9s}"
    )
    for label, text, repeat in cases:
        region, ours_region = ciao.parse(text), parse(text)
        try:
            # regRegionToMask (slower, x-outer loop) is skipped where one run takes minutes
            t_lib, lib_mask = best(lambda: ciao.region_to_mask(region)) if repeat > 1 else (np.inf, None)
            t_loop, loop_mask = best(lambda: ciao.row_loop(region), repeat)
        finally:
            ciao.lib.regFree(region)
        t_ours, ours = best(lambda: ours_region.mask(SHAPE))
        identical = np.array_equal(ours, loop_mask) and (lib_mask is None or np.array_equal(ours, lib_mask))
        assert identical, f"{label}: {int((ours != loop_mask).sum())} pixels differ"
        ratio = min(t_lib, t_loop) / t_ours
        lib_time = f"{t_lib:15.3f}" if lib_mask is not None else f"{'not run':>15s}"
        print(
            f"{label:32s} {lib_time} {t_loop:10.3f} {t_ours:9.3f} {ratio:5.1f}x "
            f"{'yes' if identical else 'no':>9s} {int(ours.sum()):9d}"
        )
    print(
        "times in s, best of 3 (library on 1000 circles: 1 run of the row loop), masks only (parsing not timed); "
        "ratio = faster library time / astromask"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ciao-only", action="store_true", help="only the CIAO library comparison")
    args = parser.parse_args()
    if not args.ciao_only:
        compare_regions()
    compare_ciao()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
