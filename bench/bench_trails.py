"""The trail finder alone (astromask.detect.trails.detect_trails) on generated frames: a 1700x1700 and a
4094x2046 float32 noise frame with one faint trail (3 sigma, 3 pixels wide), best of --repeat calls after
a first one (which compiles and makes the per-shape Hough tables).

Run: .venv/bin/python bench/bench_trails.py [--repeat 3]

Targets of issue 21: <= 0.040 s per 1700x1700 frame and <= 0.15 s per 4094x2046 frame.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from astromask.detect.trails import detect_trails, line_band


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(2)
    for shape, rho, target in (((1700, 1700), 600.0, 0.040), ((2046, 4094), 900.0, 0.15)):
        image = rng.normal(0.0, 1.0, shape).astype(np.float32) + 3.0 * line_band(shape, rho, 30.0, 3.0)
        found = detect_trails(image)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            detect_trails(image)
            times.append(time.perf_counter() - start)
        trails = [(round(t.rho), round(t.theta)) for t in found.trails]
        print(f"{shape[1]}x{shape[0]}: {min(times):.3f} s per frame (target {target} s), trails {trails}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
