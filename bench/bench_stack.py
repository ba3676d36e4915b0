"""The stack pipeline on many full-size exposures: throughput against just reading the files, peak
memory against the size of one exposure, and a 2-worker Dask LocalCluster against a 1-worker one.

Three pipelines are timed against their physical floors, in the same run and page-cache state:

* the default outputs (each exposure's mask, the global mask, the summary) against reading every
  file whole (astromask.read): target >= 0.6;
* ``write_images=True`` (whole masked exposures) against a plain copy of the same files (read and
  written with no masking, the floor on this disk: the faster of shutil.copyfile and a read and
  write through one reused buffer): target >= 0.8;
* ``iter_masked`` with a consumer that does nothing, against reading.

``bench/bench_stack_scaling.py`` makes the curve over 1 -> N Dask workers.

Run: .venv/bin/python bench/bench_stack.py [--images 100] [--shape 4096 2048] [--dir /tmp/astromask-bench-stack]

The exposures are generated as afw legacy files (KBMOD's input layout: float32 image and variance,
int32 mask with MP_* cards) in a directory outside the repository, which is deleted at the end.
Disk needed: about 2 x images x 12 bytes x pixels (inputs and one output set); --outdir puts the
outputs elsewhere.

Fairness: the baseline reads every file whole (all HDUs), as a user would, with astromask.read.
Every timed run starts from the same page-cache state, measured twice:

* cold: the inputs are dropped from the page cache first (posix_fadvise DONTNEED, which touches
  only these files), so reads come from the disk;
* warm: every input is read once just before the timed run.

Outputs of the previous run are deleted and synced to disk (untimed) before the next run, so that
one run's write-back does not slow the next. Load averages are printed with the results: on a
shared machine the wall-clock times depend on what else runs. CPU seconds of this process are
shown for the runs in this process.
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
from astromask.io import write_mask
from astromask.stack import StackConfig, iter_masked, mask_image, read_stack_mask, run_stack
from astromask.stack.growth import grow_union

CONFIG = StackConfig(repeated_flag_keys=["CR", "BAD"], mask_num_images=3, mask_grow=10)  # KBMOD defaults otherwise


def generate(directory: str, n: int, shape: tuple[int, int]) -> list[str]:
    """``n`` exposures: noise, bad columns and edges in all, cosmic rays and a satellite trail per exposure."""
    os.makedirs(directory, exist_ok=True)
    rng = np.random.default_rng(2026)
    base = rng.normal(100.0, 5.0, shape).astype(np.float32)
    hot = rng.integers(0, shape[0] * shape[1], 500)  # static defects: global in every stack
    names = []
    for i in range(n):
        mi = MaskedImage(
            np.roll(base, i * 7, axis=1), schema=get_schema("rubin"), variance=np.full(shape, 25.0, np.float32)
        )
        mi.mask.set("EDGE", np.s_[:, :20])
        mi.mask.set("EDGE", np.s_[:, -20:])
        mi.mask.set("BAD", np.s_[:, 700 + i % 3 : 702 + i % 3])
        flat = mi.mask.array.reshape(-1)
        flat[hot] |= 8  # CR-like static hot pixels
        flat[rng.integers(0, flat.size, 4000)] |= 8  # cosmic rays
        names.append(os.path.join(directory, f"exp{i:03d}.fits"))
        astromask.write(mi, names[-1], format="afw")
    return names


class Timing:
    """Wall-clock and CPU seconds of a block, and the 1-minute load average at its end."""

    def __enter__(self) -> Timing:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.load = os.getloadavg()[0]


def evict(names: list[str]) -> None:
    """Drop these files from the page cache (after writing back anything dirty)."""
    os.sync()
    for name in names:
        fd = os.open(name, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def read_all(names: list[str]) -> None:
    for name in names:
        astromask.read(name)


def prepare(names: list[str], cache: str) -> None:
    """Put the inputs in the page-cache state ``cache`` ('cold' or 'warm') for the next timed run."""
    evict(names)
    if cache == "warm":
        read_all(names)


def remove(directory: str) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    os.sync()


def stages(name: str, directory: str) -> dict[str, float]:
    """Best of three CPU seconds for each step on one exposure (warm page cache, writes to new files)."""

    def best(fn):
        times = []
        for _ in range(3):
            with Timing() as t:
                fn()
            times.append(t.cpu)
        return min(times)

    image = astromask.read(name)
    masked, _ = mask_image(image, CONFIG)
    only_mask, _ = mask_image(image, CONFIG, apply=False)
    flagged = image.mask.select(list(CONFIG.flag_keys))
    fresh = iter([astromask.read(name) for _ in range(3)])  # pass 2 masks the image it read, in place
    count, count_masks = iter(range(3)), iter(range(3))
    result = {
        "read": best(lambda: astromask.read(name)),
        "read mask only (pass 1)": best(lambda: read_stack_mask(name)),
        "mask (all steps)": best(lambda: mask_image(next(fresh), CONFIG, copy=False)),
        "of which grow": best(lambda: grow_union(flagged, CONFIG.mask_grow, CONFIG.footprint)),
        "mask, no NaN (default outputs)": best(lambda: mask_image(image, CONFIG, apply=False)),
        "write the mask (default outputs)": best(
            lambda: write_mask(
                only_mask.mask, os.path.join(directory, f"stage{next(count_masks)}_mask.fits"), format="afw"
            )
        ),
        "write the whole image": best(
            lambda: astromask.write(masked, os.path.join(directory, f"stage{next(count)}.fits"), format="afw")
        ),
    }
    for k in range(3):
        os.remove(os.path.join(directory, f"stage{k}.fits"))
        os.remove(os.path.join(directory, f"stage{k}_mask.fits"))
    return result


def run_local(names: list[str], outdir: str, cache: str, write_images: bool = False) -> Timing:
    prepare(names, cache)
    with Timing() as timing:
        timing.result = run_stack(names, outdir, CONFIG, write_images=write_images)
    remove(outdir)
    return timing


def copy_all(names: list[str], outdir: str, cache: str, how: str) -> Timing:
    """The floor of a pipeline that writes whole exposures: the same bytes read and written, unmasked;
    ``how`` is 'copyfile' (shutil.copyfile: sendfile in the kernel) or 'buffer' (read into one reused
    buffer and written from it, so that no fresh memory is touched in this process)."""
    prepare(names, cache)
    os.makedirs(outdir, exist_ok=True)
    buffer = bytearray(max(os.path.getsize(name) for name in names)) if how == "buffer" else None
    with Timing() as timing:
        for name in names:
            target = os.path.join(outdir, os.path.basename(name))
            if buffer is None:
                shutil.copyfile(name, target)
                continue
            with open(name, "rb", buffering=0) as source, open(target, "wb", buffering=0) as sink:
                size = source.readinto(buffer)
                sink.write(memoryview(buffer)[:size])
    remove(outdir)
    return timing


def iterate(names: list[str], cache: str) -> Timing:
    prepare(names, cache)
    with Timing() as timing:
        for exposure in iter_masked(names, CONFIG):
            del exposure  # a search would work here
    return timing


def run_on_cluster(names: list[str], outdir: str, workers: int, cache: str) -> Timing:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
    ) as cluster:  # ":0": no fixed port for its HTTP server
        run_stack(
            names[:1], outdir + "-warm", CONFIG.replace(repeated_flag_keys=[]), scheduler=cluster.scheduler_address
        )  # workers import and load kernels
        remove(outdir + "-warm")
        prepare(names, cache)
        with Timing() as timing:
            run_stack(names, outdir, CONFIG, scheduler=cluster.scheduler_address)
    remove(outdir)
    return timing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--shape", type=int, nargs=2, default=(4096, 2048), metavar=("NY", "NX"))
    parser.add_argument("--dir", default="/tmp/astromask-bench-stack")
    parser.add_argument(
        "--outdir",
        help="where the outputs go (default: inside --dir); a tmpfs such as "
        "/dev/shm/stack-out leaves the disk's write-back out of the timings",
    )
    parser.add_argument("--memory-images", type=int, default=8, help="images in the traced-memory run")
    parser.add_argument("--no-cluster", action="store_true", help="skip the LocalCluster runs")
    args = parser.parse_args()
    shape = tuple(args.shape)
    image_bytes = shape[0] * shape[1] * 12  # float32 image + float32 variance + 32-bit mask
    out = args.outdir or os.path.join(args.dir, "out")
    for directory in (args.dir, out):
        if os.path.exists(directory):
            raise SystemExit(f"{directory} exists; remove it or pass --dir/--outdir")
    try:
        with Timing() as t:
            names = generate(os.path.join(args.dir, "in"), args.images, shape)
        print(
            f"generated {len(names)} exposures {shape[0]}x{shape[1]} "
            f"({len(names) * image_bytes / 2**30:.1f} GiB) in {t.wall:.0f} s; {os.cpu_count()} CPUs"
        )
        read_all(names[:2])  # imports
        steps = stages(names[0], args.dir)
        run_stack(names[:1], out + "-warm", CONFIG.replace(repeated_flag_keys=[]))  # kernels
        remove(out + "-warm")
        timings = {}
        for cache in ("cold", "warm"):
            prepare(names, cache)
            with Timing() as timings["read", cache]:
                read_all(names)
            timings["local", cache] = run_local(names, out, cache)
            timings["iterate", cache] = iterate(names, cache)
            timings["copy", cache] = copy_all(names, out, cache, "copyfile")
            timings["buffer copy", cache] = copy_all(names, out, cache, "buffer")
            timings["images", cache] = run_local(names, out, cache, write_images=True)
        n_global = int(timings["local", "warm"].result.global_mask.sum())

        tracemalloc.start()
        run_stack(names[: args.memory_images], out, CONFIG)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        remove(out)

        if not args.no_cluster:
            for cache in ("cold", "warm"):
                for workers in (1, 2):
                    timings[f"{workers} worker", cache] = run_on_cluster(names, out, workers, cache)
    finally:
        remove(args.dir)
        remove(out)

    n = len(names)
    print(f"global mask: {n_global} pixels")
    print("one exposure, CPU seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in steps.items()))
    labels = {
        "read": "read every file (astromask.read), the baseline",
        "local": "stack, default outputs (masks), this process",
        "iterate": "iter_masked, nothing written, this process",
        "copy": "copy every file (shutil.copyfile)",
        "buffer copy": "copy every file (read, write; one buffer)",
        "images": "stack --write-images, this process",
        "1 worker": "stack pipeline, LocalCluster 1 worker",
        "2 worker": "stack pipeline, LocalCluster 2 workers",
    }
    print(f"{'task':<52} {'cache':>5} {'wall s':>7} {'per image':>9} {'CPU s':>6} {'load':>5}")
    for (task, cache), t in timings.items():
        cpu = f"{t.cpu:6.1f}" if "worker" not in task else f"{'':>6}"
        print(f"{labels[task]:<52} {cache:>5} {t.wall:7.1f} {t.wall / n:9.3f} {cpu} {t.load:5.1f}")
    for cache in ("cold", "warm"):
        read, local, it = timings["read", cache], timings["local", cache], timings["iterate", cache]
        images = timings["images", cache]
        copy = min(timings["copy", cache].wall, timings["buffer copy", cache].wall)  # the faster: the floor
        print(
            f"default outputs vs reading ({cache}): read time / pipeline time {read.wall / local.wall:.2f} wall, "
            f"{read.cpu / local.cpu:.2f} CPU   target >= 0.6"
        )
        print(f"iter_masked vs reading ({cache}): {read.wall / it.wall:.2f} wall, {read.cpu / it.cpu:.2f} CPU")
        print(
            f"--write-images vs copying ({cache}): faster copy time / pipeline time {copy / images.wall:.2f} wall"
            "   target >= 0.8"
        )
    print(
        f"peak traced memory over {args.memory_images} images: {peak / 2**20:.0f} MiB = "
        f"{peak / image_bytes:.2f} images   target <= 3"
    )
    for cache in ("cold", "warm") if not args.no_cluster else ():
        one, two = timings["1 worker", cache], timings["2 worker", cache]
        print(f"2 workers vs 1 worker ({cache}): {one.wall / two.wall:.2f}x faster   target >= 1.6")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
