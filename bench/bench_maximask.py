"""MaxiMask and MaxiTrack in PyTorch: time and peak memory on a DECam-sized CCD (4094x2046 float32).

Each setting runs in a fresh process (so that its peak RSS is its own) with the same generated
image (seeded). Without the original installed, its figures are the ones measured in
../shared/reference/maximask.md (section 10) on another machine, printed for comparison and
labelled as such.

Run: .venv/bin/python bench/bench_maximask.py [--batch-sizes 1,4,8] [--threads 2] [--device cpu|cuda]
     [--numerics pinned,fast] [--agreement]
     (--agreement: also max |p - p_original| and differing mask values on synth_crop_a)
     [--original DIR [--original-batch-sizes 1,8]]

--original DIR runs both command lines side by side on the same FITS file of the generated image:
DIR/maximask and DIR/maxitrack (the original maximask 1.4.1 and TensorFlow, installed in a separate
environment, e.g. `python3.11 -m venv .venv-tf && .venv-tf/bin/pip install tensorflow-cpu
MaxiMask-1.4.1-py3-none-any.whl`) against `astromask maximask` and `astromask maxitrack`, each in a
fresh process: wall and CPU seconds and peak RSS of the whole command (start-up included), and
whether the two mask files are identical.
--numerics runs every setting on each numeric path (astromask.maximask.numerics): 'pinned' (the
default: AVX2 kernels, the same masks on every x86-64 CPU) and 'fast' (AVX-512 kernels where the CPU
has them), per 400x400 patch and per 4094x2046 frame, and prints their ratio on this machine.
Needs PyTorch and the weights (python -m astromask.maximask).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

SHAPE = (2046, 4094)
# ../shared/reference/maximask.md, section 10: maximask 1.4.1 CLI, TensorFlow 2.15.1, 2 threads,
# x86-64 with AVX-512, 4094x2046 (200 patches)
ORIGINAL = {
    "maximask batch 8": (75.7, 4.9 * 1024),
    "maximask batch 1": (70.0, 1.16 * 1024),
    "maxitrack": (6.6, 1.29 * 1024),
}
# same reference: network only, per patch at batch 1, TF 0.281 s and PyTorch NCHW 0.268 s
REFERENCE_NCHW_PER_PATCH = 0.268


def make_image(shape=SHAPE, seed: int = 0) -> np.ndarray:
    """A DECam-like CCD: sky and noise, stars (some saturated and bleeding), cosmic rays, a hot column."""
    rng = np.random.default_rng(seed)
    image = rng.normal(1000.0, 20.0, shape).astype(np.float32)
    yy, xx = np.mgrid[-15:16, -15:16]
    for _ in range(400):
        y, x = rng.integers(20, shape[0] - 20), rng.integers(20, shape[1] - 20)
        flux, width = rng.lognormal(9, 1.5), rng.uniform(1.2, 2.5)
        image[y - 15 : y + 16, x - 15 : x + 16] += flux * np.exp(-(xx**2 + yy**2) / (2 * width**2))
        if flux > 2e5:  # saturation with a bleed trail
            image[max(y - 40, 0) : y + 40, x] = 65535
    np.minimum(image, 65535, out=image)
    hits = rng.integers(0, image.size, 3000)
    image.flat[hits] += rng.uniform(2000, 20000, hits.size)
    image[:, shape[1] // 3] += 3000  # a hot column
    return image


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args) -> dict:
    import torch

    from astromask.maximask import inference, numerics
    from astromask.maximask.maxitrack import MaxiTrack

    numerics.use(args.numerics)
    torch.set_num_threads(args.threads)
    if args.tool == "patch":
        wall, cpu = per_patch(args.threads)
        return {"wall_s": wall, "cpu_s": cpu, "numerics": numerics.state().describe()}
    image = make_image()
    started = time.perf_counter()
    if args.tool == "maxitrack":
        net = MaxiTrack(device=args.device, batch_size=args.batch_size)
    else:
        net = inference.MaxiMask(device=args.device, batch_size=args.batch_size)
    load = time.perf_counter() - started
    wall, cpu = time.perf_counter(), time.process_time()
    result = net.score(image) if args.tool == "maxitrack" else net.predict(image)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "load_s": load,
        "wall_s": wall,
        "cpu_s": cpu,
        "peak_mb": _peak_mb(),
        "patches": len(inference.patch_coords(*image.shape)),
        "result": float(np.mean(result)),
        "numerics": numerics.state().describe(),
    }


def per_patch(threads: int, repeat: int = 5) -> tuple[float, float]:
    """Best wall and CPU seconds of one patch through the network alone, NCHW, batch 1 (as timed in
    the reference: 0.268 s wall there)."""
    import torch

    from astromask.maximask import numerics
    from astromask.maximask.checkpoint import read_checkpoint
    from astromask.maximask.network import MaxiMaskNet
    from astromask.maximask.weights import checkpoint_prefix

    torch.set_num_threads(threads)
    net = MaxiMaskNet.from_checkpoint(read_checkpoint(checkpoint_prefix()))
    numerics.ensure("cpu")
    x = torch.from_numpy(make_image((400, 400))[None, None] / 1000)
    walls, cpus = [], []
    with torch.inference_mode():
        net(x)
        for _ in range(repeat):
            wall, cpu = time.perf_counter(), time.process_time()
            net(x)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
    return min(walls), min(cpus)


def agreement(device: str) -> str:
    """Max |p - p_original| and differing mask pixels on ../shared/data/maximask/synth_crop_a."""
    from astropy.io import fits

    from astromask.maximask import config, inference

    data = os.environ.get("ASTROMASK_DATA", os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data"))
    folder = os.path.join(data, "maximask")
    if not os.path.isdir(folder):
        return f"no reference data in {folder}"
    image = fits.getdata(os.path.join(folder, "synth_crop_a.fits.fz"))
    reference = fits.getdata(os.path.join(folder, "synth_crop_a.proba.fits.fz"))
    masks = fits.getdata(os.path.join(folder, "synth_crop_a.mask.fits.fz")).astype(bool)
    proba = inference.MaxiMask(device=device).probabilities(image)
    thresholds = config.DEFAULT_THRESHOLDS[:, None, None]
    differ = int(((proba > thresholds) != masks).sum())
    return (
        f"synth_crop_a on {device}: max |p - p_original| = {np.abs(proba - reference).max():.2g}, "
        f"{differ} of {masks.size} mask values differ"
    )


def run_child(tool: str, batch_size: int, threads: int, device: str, path: str = "pinned") -> dict:
    command = [
        sys.executable,
        __file__,
        "--child",
        tool,
        "--batch-sizes",
        str(batch_size),
        "--threads",
        str(threads),
        "--device",
        device,
        "--numerics",
        path,
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_command(command: list[str], cwd: str, threads: int) -> dict:
    """Wall and CPU seconds and peak RSS (MB) of one command, from its own rusage (os.wait4)."""
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(threads),
        TF_NUM_INTEROP_THREADS="1",
        TF_NUM_INTRAOP_THREADS=str(threads),
        TF_CPP_MIN_LOG_LEVEL="2",
    )
    started = time.perf_counter()
    with open(os.path.join(cwd, "log.txt"), "ab") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=log)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed; see {cwd}/log.txt")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024}


def with_partial_batch_bug(image: np.ndarray, batch_size: int) -> float:
    """MaxiTrack's mean score as the original computes it: the last partial batch written at the
    start of the last full one (overwriting its first scores), the last scores left at 0
    (../shared/reference/maximask.md, section 8)."""
    from astromask.maximask.maxitrack import MaxiTrack
    from astromask.maximask.normalise import normalise

    scores = MaxiTrack(device="cpu", batch_size=batch_size).block_scores(normalise(image))
    full, rest = divmod(len(scores), batch_size)
    if full and rest:
        buggy = scores.copy()
        buggy[(full - 1) * batch_size : (full - 1) * batch_size + rest] = scores[full * batch_size :]
        buggy[full * batch_size :] = 0
        scores = buggy
    return float(np.mean(scores))


def side_by_side(original_dir: str, ours: list[int], theirs: list[int], threads: int, workdir: str) -> None:
    """Both command lines on one FITS file of the generated image; masks compared."""
    original_dir = os.path.abspath(original_dir)
    from astropy.io import fits

    image_name = "ccd.fits"
    bin_dir = os.path.dirname(sys.executable)
    runs = [
        (f"original maximask batch {b}", [os.path.join(original_dir, "maximask"), image_name, "--batch_size", str(b)])
        for b in theirs
    ]
    runs += [
        (
            f"astromask maximask batch {b}",
            [os.path.join(bin_dir, "astromask"), "maximask", image_name, "--batch_size", str(b), "--overwrite"],
        )
        for b in ours
    ]
    runs += [
        ("original maxitrack batch 16", [os.path.join(original_dir, "maxitrack"), image_name]),
        ("astromask maxitrack batch 16", [os.path.join(bin_dir, "astromask"), "maxitrack", image_name]),
    ]
    image = make_image()
    rows, masks = [], {}
    for name, command in runs:
        cwd = os.path.join(workdir, name.replace(" ", "_"))
        os.makedirs(cwd, exist_ok=True)
        fits.writeto(os.path.join(cwd, image_name), image, overwrite=True)
        result = run_command(command, cwd, threads)
        rows.append((name, result))
        mask_file = os.path.join(cwd, "ccd.mask.fits")
        if "maximask" in name and os.path.exists(mask_file):
            masks[name] = fits.getdata(mask_file)
        track_file = os.path.join(cwd, "maxitrack.out")
        if os.path.exists(track_file):
            result["score"] = Path(track_file).read_text().split()[-1]
        print(
            f"{name:30s} {result['wall_s']:8.1f} s wall {result['cpu_s']:8.1f} s CPU "
            f"{result['peak_mb']:7.0f} MB {result.get('score', '')}",
            flush=True,
        )
    names = list(masks)
    for other in names[1:]:
        differ = masks[names[0]] != masks[other]
        print(
            f"masks of {names[0]} and {other}: {int(differ.sum())} of {differ.size} values differ "
            f"(per class {differ.reshape(differ.shape[0], -1).sum(axis=1).tolist()})"
        )
    scores = {name.split()[0]: float(r["score"]) for name, r in rows if "score" in r}
    if len(scores) == 2:
        emulated = with_partial_batch_bug(image, 16)
        print(
            f"maxitrack: original {scores['original']:.4f}, astromask {scores['astromask']:.4f}; astromask's "
            f"block scores with the original's partial-batch bug applied: {emulated:.4f}"
        )
    best = {
        tool: min(r["wall_s"] for n, r in rows if n.startswith(f"original {tool}"))
        for tool in ("maximask", "maxitrack")
    }
    for name, r in rows:
        if name.startswith("astromask"):
            tool = name.split()[1]
            print(f"{name}: {best[tool] / r['wall_s']:.2f}x faster than the original's best ({best[tool]:.1f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,4,8", help="MaxiMask batch sizes (comma-separated)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument(
        "--agreement",
        action="store_true",
        help="also compare with the original's outputs on synth_crop_a (../shared/data)",
    )
    parser.add_argument(
        "--original",
        metavar="DIR",
        help="directory holding the original maximask and maxitrack commands: run both side by side",
    )
    parser.add_argument("--original-batch-sizes", default="1,8", help="the original's batch sizes (default 1,8)")
    parser.add_argument("--workdir", default="/tmp/astromask-bench-maximask", help="files of --original runs")
    parser.add_argument(
        "--numerics", default="pinned,fast", help="numeric paths to time (comma-separated; default pinned,fast)"
    )
    parser.add_argument("--child", choices=["maximask", "maxitrack", "patch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.tool, args.batch_size = args.child, int(args.batch_sizes)
        print(json.dumps(child(args)))
        return 0
    if args.original:
        print(
            f"{SHAPE[1]}x{SHAPE[0]} float32, {args.threads} threads, load average {os.getloadavg()[0]:.1f} "
            f"on {os.cpu_count()} cores; whole command lines, each in a fresh process"
        )
        side_by_side(
            args.original,
            [int(b) for b in args.batch_sizes.split(",")],
            [int(b) for b in args.original_batch_sizes.split(",")],
            args.threads,
            args.workdir,
        )
        return 0

    load = os.getloadavg()[0]
    print(
        f"{SHAPE[1]}x{SHAPE[0]} float32, {args.threads} threads, device {args.device}, "
        f"load average {load:.1f} on {os.cpu_count()} cores"
    )
    paths = args.numerics.split(",")
    rows = []
    for path in paths:
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            rows.append(
                (f"maximask batch {batch} {path}", run_child("maximask", batch, args.threads, args.device, path))
            )
        rows.append((f"maxitrack {path}", run_child("maxitrack", 16, args.threads, args.device, path)))
    print(f"{'run':28s} {'wall s':>8s} {'cpu s':>8s} {'peak MB':>8s} {'load s':>7s}  kernels")
    for name, r in rows:
        print(
            f"{name:28s} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['peak_mb']:8.0f} {r['load_s']:7.1f}  "
            f"{r['numerics'].split(': ', 1)[1]}"
        )
    if args.device == "cpu" and len(paths) > 1:
        patches = {path: run_child("patch", 1, args.threads, args.device, path) for path in paths}
        print("\none 400x400 patch, network alone, batch 1 (best of 5):")
        for path, r in patches.items():
            print(f"  {path:8s} {r['wall_s']:.3f} s wall, {r['cpu_s']:.3f} s CPU  ({r['numerics']})")
        frames = {path: next(r for n, r in rows if n.startswith("maximask") and n.endswith(path)) for path in paths}
        base = paths[0]
        for path in paths[1:]:
            print(
                f"{base} / {path}: {patches[base]['wall_s'] / patches[path]['wall_s']:.2f}x per patch, "
                f"{frames[base]['wall_s'] / frames[path]['wall_s']:.2f}x per {SHAPE[1]}x{SHAPE[0]} frame "
                f"(>1: {base} is slower)"
            )
    if args.agreement:
        print(agreement(args.device))
    if args.device == "cpu":
        # CPU seconds are much less sensitive than wall time to other jobs on a shared machine
        wall, cpu = per_patch(args.threads)  # in this process: the pinned path
        factor = cpu / REFERENCE_NCHW_PER_PATCH
        print(
            f"\nnetwork alone, NCHW, one patch (best of 5): {wall:.3f} s wall, {cpu:.3f} s CPU; the reference "
            f"machine: {REFERENCE_NCHW_PER_PATCH} s wall"
        )
        print(
            "estimate of our wall time on the reference machine, CPU s x (reference NCHW wall / our NCHW CPU), "
            "against the original's best there:"
        )
        best_original = min(t for name, (t, _) in ORIGINAL.items() if name.startswith("maximask"))
        for name, r in rows:
            estimate = r["cpu_s"] / factor
            original = ORIGINAL["maxitrack"][0] if name.startswith("maxitrack") else best_original
            print(f"  {name:20s} {estimate:6.1f} s vs {original:5.1f} s: {original / estimate:4.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
