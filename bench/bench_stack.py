"""The stack pipeline on many full-size exposures: throughput against just reading the files, peak
memory against the size of one exposure, and a 2-worker Dask LocalCluster against a 1-worker one.

Run: .venv/bin/python bench/bench_stack.py [--images 100] [--shape 4096 2048] [--dir /tmp/astromask-bench-stack]

The exposures are generated as afw legacy files (KBMOD's input layout: float32 image and variance,
int32 mask with MP_* cards) in a temporary directory outside the repository, which is deleted at
the end. Every file read is in the page cache (the files were just written), for the baseline as
for the pipeline. Disk needed: about 2 x images x 12 bytes x pixels (inputs and one output set).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
import tracemalloc

import numpy as np

import astromask
from astromask import MaskedImage, get_schema
from astromask.morphology import grow
from astromask.stack import StackConfig, mask_image, run_stack

CONFIG = StackConfig(repeated_flag_keys=["CR", "BAD"], mask_num_images=3, mask_grow=10)  # KBMOD defaults otherwise


def generate(directory: str, n: int, shape: tuple[int, int]) -> list[str]:
    """``n`` exposures: noise, bad columns and edges in all, cosmic rays and a satellite trail per exposure."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(2026)
    base = rng.normal(100.0, 5.0, shape).astype(np.float32)
    hot = rng.integers(0, shape[0] * shape[1], 500)  # static defects: global in every stack
    names = []
    for i in range(n):
        mi = MaskedImage(np.roll(base, i * 7, axis=1), schema=get_schema("rubin"),
                         variance=np.full(shape, 25.0, np.float32))
        mi.mask.set("EDGE", np.s_[:, :20])
        mi.mask.set("EDGE", np.s_[:, -20:])
        mi.mask.set("BAD", np.s_[:, 700 + i % 3 : 702 + i % 3])
        flat = mi.mask.array.reshape(-1)
        flat[hot] |= 8  # CR-like static hot pixels
        flat[rng.integers(0, flat.size, 4000)] |= 8  # cosmic rays
        names.append(os.path.join(directory, f"exp{i:03d}.fits"))
        astromask.write(mi, names[-1], format="afw")
    return names


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def read_all(names: list[str]) -> None:
    for name in names:
        astromask.read(name)


def stages(name: str, directory: str) -> dict[str, float]:
    """Best of three seconds for each step of pass 2 on one exposure."""
    def best(fn):
        return min(timed(fn)[0] for _ in range(3))

    image = astromask.read(name)
    masked, _ = mask_image(image, CONFIG)
    flagged = image.mask.select(list(CONFIG.flag_keys))
    return {
        "read": best(lambda: astromask.read(name)),
        "mask (all steps)": best(lambda: mask_image(image, CONFIG)),
        "of which grow": best(lambda: grow(flagged, CONFIG.mask_grow, footprint="diamond")),
        "write": best(lambda: astromask.write(masked, os.path.join(directory, "stage.fits"), format="afw",
                                              overwrite=True)),
    }


def run_on_cluster(names, outdir, workers: int) -> float:
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=":0") as cluster:  # ":0": no fixed port for its HTTP server
        run_stack(names[:1], outdir + "-warm", CONFIG.replace(repeated_flag_keys=[]),
                  scheduler=cluster.scheduler_address)  # workers import and load kernels
        shutil.rmtree(outdir + "-warm")
        elapsed, _ = timed(lambda: run_stack(names, outdir, CONFIG, scheduler=cluster.scheduler_address))
    shutil.rmtree(outdir)
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--shape", type=int, nargs=2, default=(4096, 2048), metavar=("NY", "NX"))
    parser.add_argument("--dir", default="/tmp/astromask-bench-stack")
    parser.add_argument("--memory-images", type=int, default=8, help="images in the traced-memory run")
    args = parser.parse_args()
    shape = tuple(args.shape)
    image_bytes = shape[0] * shape[1] * 12  # float32 image + float32 variance + 32-bit mask
    if os.path.exists(args.dir):
        raise SystemExit(f"{args.dir} exists; remove it or pass --dir")
    try:
        elapsed, names = timed(lambda: generate(os.path.join(args.dir, "in"), args.images, shape))
        print(f"generated {len(names)} exposures {shape[0]}x{shape[1]} "
              f"({len(names) * image_bytes / 2**30:.1f} GiB) in {elapsed:.0f} s")
        read_all(names[:2])  # imports
        steps = stages(names[0], args.dir)
        t_read, _ = timed(lambda: read_all(names))
        out = os.path.join(args.dir, "out")
        run_stack(names[:1], out + "-warm", CONFIG.replace(repeated_flag_keys=[]))  # kernels
        shutil.rmtree(out + "-warm")
        t_local, result = timed(lambda: run_stack(names, out, CONFIG))
        n_global = int(result.global_mask.sum())
        shutil.rmtree(out)

        tracemalloc.start()
        run_stack(names[: args.memory_images], out, CONFIG)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        shutil.rmtree(out)

        t_one = run_on_cluster(names, out, 1)
        t_two = run_on_cluster(names, out, 2)
    finally:
        shutil.rmtree(args.dir, ignore_errors=True)

    n = len(names)
    print(f"global mask: {n_global} pixels")
    print("one exposure, seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in steps.items()))
    print(f"{'task':<58} {'seconds':>8} {'per image':>10}")
    for task, seconds in [("read every file (astromask.read), the baseline", t_read),
                          ("stack pipeline, this process (2 passes, write all)", t_local),
                          ("stack pipeline, LocalCluster 1 worker", t_one),
                          ("stack pipeline, LocalCluster 2 workers", t_two)]:
        print(f"{task:<58} {seconds:8.1f} {seconds / n:10.3f}")
    print(f"throughput vs reading (read time / pipeline time): {t_read / t_local:.2f} (this process), "
          f"{t_read / t_two:.2f} (2 workers)   target >= 0.6")
    print(f"peak traced memory over {args.memory_images} images: {peak / 2**20:.0f} MiB = "
          f"{peak / image_bytes:.2f} images   target <= 3")
    print(f"2 workers vs 1 worker: {t_one / t_two:.2f}x faster   target >= 1.6")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
