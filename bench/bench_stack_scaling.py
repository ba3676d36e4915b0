"""The stack pipeline on a Dask LocalCluster of 1 -> N worker processes: wall time, speed-up and
efficiency per worker count, with the outputs checked byte for byte against the run in this process.

Run: .venv/bin/python bench/bench_stack_scaling.py [--images 32] [--workers 1 2 4 8 16] [--cache warm]

The exposures are those of bench/bench_stack.py (afw legacy files, 4096x2048 by default), made in
--dir and deleted at the end; outputs go to --outdir (a tmpfs such as /dev/shm leaves the disk's
write-back out). Each worker count gets a fresh cluster whose workers import and compile first
(untimed), then one timed run from the chosen page-cache state. Worker counts above the number of
CPUs are skipped. The curve shows where the work stops scaling: on a machine with few cores, or
when the disk (cold) or the memory bandwidth (warm) is the limit, not the CPUs.
"""

from __future__ import annotations

import argparse
import hashlib
import os

from distributed import LocalCluster

from astromask.stack import run_stack
from bench_stack import CONFIG, Timing, generate, prepare, remove


def digest(directory: str) -> dict[str, str]:
    """SHA-256 of every output file, by name."""
    out = {}
    for name in sorted(os.listdir(directory)):
        with open(os.path.join(directory, name), "rb") as f:
            out[name] = hashlib.sha256(f.read()).hexdigest()
    return out


def timed(names: list[str], outdir: str, cache: str, workers: int | None, write_images: bool) -> tuple[Timing, dict]:
    if workers is None:
        prepare(names, cache)
        with Timing() as timing:
            run_stack(names, outdir, CONFIG, write_images=write_images)
    else:
        with LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0"
        ) as cluster:
            address = cluster.scheduler_address
            run_stack(names[:workers], outdir + "-warm", CONFIG.replace(repeated_flag_keys=[]), scheduler=address)
            remove(outdir + "-warm")
            prepare(names, cache)
            with Timing() as timing:
                run_stack(names, outdir, CONFIG, scheduler=address, write_images=write_images)
    sums = digest(outdir)
    remove(outdir)
    return timing, sums


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--shape", type=int, nargs=2, default=(4096, 2048), metavar=("NY", "NX"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--cache", choices=("warm", "cold"), default="warm")
    parser.add_argument("--write-images", action="store_true", help="time --write-images instead of the masks")
    parser.add_argument("--dir", default="/tmp/astromask-bench-scaling")
    parser.add_argument("--outdir", default=None, help="default: inside --dir")
    args = parser.parse_args()
    out = args.outdir or os.path.join(args.dir, "out")
    for directory in (args.dir, out):
        if os.path.exists(directory):
            raise SystemExit(f"{directory} exists; remove it or pass --dir/--outdir")
    cpus = os.cpu_count() or 1
    counts = [w for w in args.workers if w <= cpus]
    rows = []
    try:
        names = generate(os.path.join(args.dir, "in"), args.images, tuple(args.shape))
        run_stack(names[:1], out + "-warm", CONFIG.replace(repeated_flag_keys=[]))  # imports and kernels
        remove(out + "-warm")
        local, reference = timed(names, out, args.cache, None, args.write_images)
        for workers in counts:
            timing, sums = timed(names, out, args.cache, workers, args.write_images)
            rows.append((workers, timing, sums == reference))
    finally:
        remove(args.dir)
        remove(out)
    what = "--write-images" if args.write_images else "default outputs (masks)"
    print(f"{len(names)} exposures {args.shape[0]}x{args.shape[1]}, {what}, {args.cache} cache, {cpus} CPUs")
    print(f"this process, no Dask: {local.wall:.1f} s ({local.wall / len(names):.3f} s per exposure)")
    print(f"{'workers':>7} {'wall s':>7} {'per image':>9} {'speed-up':>8} {'efficiency':>10} {'load':>5} identical")
    one = rows[0][1].wall if rows and rows[0][0] == 1 else None
    for workers, timing, same in rows:
        speedup = one / timing.wall if one else float("nan")
        print(
            f"{workers:>7} {timing.wall:7.1f} {timing.wall / len(names):9.3f} {speedup:8.2f} "
            f"{speedup / workers:10.2f} {timing.load:5.1f} {'yes' if same else 'NO'}"
        )
    return 0 if all(same for *_, same in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
