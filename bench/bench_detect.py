"""Time per detector on a 4094×2046 exposure, next to astroscrappy alone (the yardstick: L.A.Cosmic).

The image is a generated star field (2046 rows × 4094 columns, sky 1000 e-, gain 1)
with every kind of contaminant injected (:mod:`astromask.detect.inject`). Each
detector runs on it with the sky estimated once (timed on its own row, as the
pipeline shares it); ``astroscrappy.detect_cosmics`` runs with its defaults
and the image's gain and read noise. Best of ``--repeat`` runs; the last column
is each time over astroscrappy's (below 1: faster than L.A.Cosmic).

Run: .venv/bin/python bench/bench_detect.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np

from astromask.detect import (
    detect,
    detect_bad_columns,
    detect_cosmics,
    detect_dead_pixels,
    detect_edge,
    detect_hot_pixels,
    detect_nodata,
    detect_saturation,
    detect_trails,
    estimate_background,
)
from astromask.detect.inject import inject, star_field

SHAPE = (2046, 4094)
LEVEL = 60000.0


def best(fn, repeat):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    import astroscrappy

    image = star_field(SHAPE, seed=1)
    bg0 = estimate_background(image)
    injected = inject(
        image,
        sigma=bg0.median_noise,
        sky=float(np.median(bg0.level)),
        level=LEVEL,
        cosmics=400,
        hot=200,
        dead=200,
        columns=4,
        trails=3,
        saturated=10,
        seed=1,
    ).image
    injected[:, :30] = 0.0  # an unread strip: a constant fill region
    print(f"image {SHAPE[1]}x{SHAPE[0]} float32; {os.cpu_count()} CPUs; {platform.processor() or platform.machine()}")

    t_bg, bg = best(lambda: estimate_background(injected), args.repeat)
    sat = detect_saturation(injected, LEVEL, grow=0, background=bg)
    left_out = sat | detect_bad_columns(injected, mask=sat, backgrounds=[bg]).mask  # as the pipeline does

    def cosmic_rays():
        return detect_cosmics(injected, gain=1.0, readnoise=5.0, satlevel=LEVEL, mask=sat, background=bg)

    rows = [
        ("NO_DATA", lambda: detect_nodata(injected, exclude=injected >= LEVEL)),
        ("SAT", lambda: detect_saturation(injected, LEVEL, grow=0, background=bg)),
        ("BAD_COLUMN", lambda: detect_bad_columns(injected, mask=sat, backgrounds=[bg])),
        ("HOT", lambda: detect_hot_pixels(injected, mask=sat, backgrounds=[bg])),
        ("DEAD", lambda: detect_dead_pixels(injected, mask=sat, backgrounds=[bg])),
        ("TRAIL", lambda: detect_trails(injected, mask=left_out, background=bg)),
        ("EDGE", lambda: detect_edge(SHAPE, 4)),
    ]
    table = [("sky level and noise (shared)", t_bg)]
    for name, fn in rows:
        table.append((name, best(fn, args.repeat)[0]))
    # the yardstick and our CR step alternately, so that a busy spell of the machine hits both alike
    pairs = [
        (
            best(lambda: astroscrappy.detect_cosmics(injected, gain=1.0, readnoise=5.0, satlevel=LEVEL), 1),
            best(cosmic_rays, 1)[0],
        )
        for _ in range(args.repeat)
    ]
    t_lacosmic = min(p[0][0] for p in pairs)
    reference = pairs[0][0][1]
    table.insert(-1, ("CR", min(p[1] for p in pairs)))
    t_total, result = best(lambda: detect(injected, saturate=LEVEL, cnn=False), args.repeat)
    table.append(("all classical detectors (`detect`)", t_total))

    cr = cosmic_rays().mask
    agree = np.count_nonzero(cr & reference[0]) / max(np.count_nonzero(reference[0]), 1)
    print(
        f"CR pixels: ours {np.count_nonzero(cr)}, astroscrappy alone {np.count_nonzero(reference[0])}, "
        f"{agree:.1%} of astroscrappy's found (ours leaves saturated pixels out)"
    )
    print(f"detect(): {result.summary()}")
    print()
    print("| step | time (s) | / astroscrappy |")
    print("|---|---|---|")
    print(f"| astroscrappy.detect_cosmics alone (yardstick) | {t_lacosmic:.2f} | 1.00 |")
    for name, seconds in table:
        print(f"| {name} | {seconds:.2f} | {seconds / t_lacosmic:.2f} |")
    slowest = max((s, n) for n, s in table[1:-1])
    print(f"\nslowest detector: {slowest[1]} ({slowest[0] / t_lacosmic:.2f} x astroscrappy)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
