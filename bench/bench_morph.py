"""Growing every plane of a 4096² uint32 mask: astromask vs scipy.ndimage and OpenCV, in one process.

    .venv/bin/python bench/bench_morph.py            # full run (scipy on all 16 planes: a few minutes)
    .venv/bin/python bench/bench_morph.py --quick    # scipy on 2 planes, time scaled to 16 (labelled)
    .venv/bin/python bench/bench_morph.py --boolean  # a 0/1 mask and diamonds: the packed-row kernel

The mask has 16 planes, each set on a random 0.01 % of the pixels. For each
footprint the script checks that astromask's result equals scipy's plane by
plane, and prints the best of ``--repeat`` runs, the ratios, and astromask's
peak extra memory (tracemalloc) as a multiple of the mask size. OpenCV
(``cv2.dilate`` with the same exact kernel) is timed two ways: the dilation
calls alone, and the whole job (extract each set plane as uint8, dilate, OR
it back), which is what a user of OpenCV has to run.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc

import numpy as np
from scipy import ndimage as ndi

from astromask.footprint import make_footprint
from astromask.morphology import grow

N = 4096
NPLANES = 16


def make_mask(seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    mask = np.zeros((N, N), np.uint32)
    for bit in range(NPLANES):
        idx = rng.choice(N * N, size=N * N // 10000, replace=False)
        mask.ravel()[idx] |= np.uint32(1 << bit)
    return mask


def best(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def scipy_per_plane(mask, fp, planes):
    out = np.zeros_like(mask)
    for bit in planes:
        plane = (mask >> np.uint32(bit)) & np.uint32(1)
        out |= ndi.binary_dilation(plane.astype(bool), fp).astype(np.uint32) << np.uint32(bit)
    return out


def cv2_per_plane(mask, fp, planes, timings):
    import cv2

    kernel = fp.astype(np.uint8)
    out = np.zeros_like(mask)
    dilate = 0.0
    for bit in planes:
        plane = ((mask >> np.uint32(bit)) & np.uint32(1)).astype(np.uint8)
        if not plane.any():
            continue
        t0 = time.perf_counter()
        grown = cv2.dilate(plane, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        dilate += time.perf_counter() - t0
        out |= grown.astype(np.uint32) << np.uint32(bit)
    timings.append(dilate)
    return out


def peak_memory(fn) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak


def boolean_diamonds(repeat: int) -> int:
    """A 4096 x 2048 boolean mask grown by diamonds: morphology.grow (the packed-row kernel up to
    PACKED_MAX_RADIUS), morphology's diagonal or run kernel on the same mask, and scipy."""
    from astromask.morphology import _packed
    from astromask.morphology import operations as morphology

    rng = np.random.default_rng(1)
    masked = rng.random((4096, 2048)) < 0.002
    print(
        f"# boolean mask 4096x2048, {int(masked.sum())} pixels set; packed kernel up to r = {_packed.PACKED_MAX_RADIUS}"
    )
    print("| diamond r | grow() (s) | kernel taken | diagonal/run kernel (s) | ratio | scipy (s) | identical |")
    print("|---|---|---|---|---|---|---|")
    grow(masked[:64, :64], 2, footprint="diamond")
    for r in (1, 3, 10, 30, 48):
        ours, result = best(lambda: grow(masked, r, footprint="diamond"), repeat)
        offsets = morphology._Offsets.from_array(make_footprint("diamond", r))
        as_bytes = masked.view(np.uint8)
        general = (
            (lambda: morphology._dilate_diamond(as_bytes, r))
            if 2 * (2 * r + 1) > 24
            else (lambda: morphology._dilate_runs(as_bytes, offsets))
        )
        other, other_result = best(general, repeat)
        y, x = np.mgrid[-r : r + 1, -r : r + 1]
        t_scipy, expected = best(lambda: ndi.binary_dilation(masked, structure=np.abs(y) + np.abs(x) <= r), 1)
        same = np.array_equal(result, expected) and np.array_equal(other_result.view(bool), expected)
        kernel = "packed rows" if r <= _packed.PACKED_MAX_RADIUS else "diagonal"
        verdict = "yes" if same else "NO"
        print(f"| {r} | {ours:.4f} | {kernel} | {other:.4f} | {other / ours:.2f}× | {t_scipy:.3f} | {verdict} |")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="run scipy on 2 planes and scale the time to 16")
    parser.add_argument("--boolean", action="store_true", help="a 0/1 mask grown by diamonds (packed-row kernel)")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.boolean:
        return boolean_diamonds(args.repeat)
    try:
        import cv2

        cv2.setNumThreads(1)  # OpenCV on one plane at a time, as in the reference measurements
        have_cv2 = True
    except ImportError:
        have_cv2 = False
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
        f"numpy {np.__version__}" + (f", OpenCV {cv2.__version__}" if have_cv2 else "")
    )
    mask = make_mask()
    print(f"# mask {N}x{N} uint32, {NPLANES} planes, {int(np.count_nonzero(mask))} pixels set")
    grow(mask[:64, :64], 1)  # compile the kernels
    grow(mask[:64, :64], 1, footprint="box")
    grow(mask[:64, :64], 8, footprint="diamond")
    planes = range(2) if args.quick else range(NPLANES)
    scale = NPLANES / len(planes)
    print(
        "| footprint | astromask (s) | scipy per plane (s) | speed-up | cv2.dilate calls (s) | cv2 whole job (s) "
        "| vs cv2 calls | identical | peak extra memory |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    cases = [
        ("disk", 2),
        ("disk", 8),
        ("disk", 32),
        ("box", 2),
        ("box", 8),
        ("box", 32),
        ("diamond", 2),
        ("diamond", 8),
        ("diamond", 32),
    ]
    for kind, r in cases:
        fp = make_footprint(kind, r)
        ours, result = best(lambda: grow(mask, r, footprint=kind), args.repeat)
        t_scipy, ref = best(lambda: scipy_per_plane(mask, fp, planes), 1)
        t_scipy *= scale
        selected = np.uint32(sum(1 << b for b in planes))
        identical = bool(np.array_equal(result & selected, ref))
        cv_calls = cv_job = float("nan")
        if have_cv2:
            calls: list[float] = []
            cv_job, cv_result = best(lambda: cv2_per_plane(mask, fp, range(NPLANES), calls), 1)
            cv_calls = calls[-1]
            identical = identical and bool(np.array_equal(result, cv_result))
        extra = peak_memory(lambda: grow(mask, r, footprint=kind)) / mask.nbytes
        label = f"{kind} r={r} ({fp.shape[0]}x{fp.shape[1]})"
        scipy_note = f"{t_scipy:.2f}" + (" (2 planes ×8)" if args.quick else "")
        print(
            f"| {label} | {ours:.3f} | {scipy_note} | {t_scipy / ours:.0f}× | {cv_calls:.3f} | {cv_job:.3f} "
            f"| {cv_calls / ours:.2f}× | {'yes' if identical else 'NO'} | {extra:.2f}× mask |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
