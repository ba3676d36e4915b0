"""MaxiMask and MaxiTrack in PyTorch: time and peak memory on a DECam-sized CCD (4094x2046 float32).

Each setting runs in a fresh process (so that its peak RSS is its own) with the same generated
image (seeded). TensorFlow is not installed here, so the original's figures are the ones measured
in ../shared/reference/maximask.md (section 10) on another machine, printed for comparison and
labelled as such.

Run: .venv/bin/python bench/bench_maximask.py [--batch-sizes 1,4,8] [--threads 2] [--device cpu|cuda]
     [--agreement]  (--agreement: also max |p - p_original| and differing mask values on synth_crop_a)
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

import numpy as np

SHAPE = (2046, 4094)
# ../shared/reference/maximask.md, section 10: maximask 1.4.1 CLI, TensorFlow 2.15.1, 2 threads,
# x86-64 with AVX-512, 4094x2046 (200 patches)
ORIGINAL = {"maximask batch 8": (75.7, 4.9 * 1024), "maximask batch 1": (70.0, 1.16 * 1024),
            "maxitrack": (6.6, 1.29 * 1024)}
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

    from astromask.maximask import inference
    from astromask.maximask.maxitrack import MaxiTrack

    torch.set_num_threads(args.threads)
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
    return {"load_s": load, "wall_s": wall, "cpu_s": cpu, "peak_mb": _peak_mb(),
            "patches": len(inference.patch_coords(*image.shape)), "result": float(np.mean(result))}


def per_patch(threads: int, repeat: int = 5) -> tuple[float, float]:
    """Best wall and CPU seconds of one patch through the network alone, NCHW, batch 1 (as timed in
    the reference: 0.268 s wall there)."""
    import torch

    from astromask.maximask.checkpoint import read_checkpoint
    from astromask.maximask.network import MaxiMaskNet
    from astromask.maximask.weights import checkpoint_prefix

    torch.set_num_threads(threads)
    net = MaxiMaskNet.from_checkpoint(read_checkpoint(checkpoint_prefix()))
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
    return f"synth_crop_a on {device}: max |p - p_original| = {np.abs(proba - reference).max():.2g}, " \
           f"{differ} of {masks.size} mask values differ"


def run_child(tool: str, batch_size: int, threads: int, device: str) -> dict:
    command = [sys.executable, __file__, "--child", tool, "--batch-sizes", str(batch_size),
               "--threads", str(threads), "--device", device]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default="1,4,8", help="MaxiMask batch sizes (comma-separated)")
    parser.add_argument("--threads", type=int, default=2, help="PyTorch threads (default 2)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--agreement", action="store_true",
                        help="also compare with the original's outputs on synth_crop_a (../shared/data)")
    parser.add_argument("--child", choices=["maximask", "maxitrack"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.tool, args.batch_size = args.child, int(args.batch_sizes)
        print(json.dumps(child(args)))
        return 0

    load = os.getloadavg()[0]
    print(f"{SHAPE[1]}x{SHAPE[0]} float32, {args.threads} threads, device {args.device}, "
          f"load average {load:.1f} on {os.cpu_count()} cores")
    rows = []
    for batch in (int(b) for b in args.batch_sizes.split(",")):
        rows.append((f"maximask batch {batch}", run_child("maximask", batch, args.threads, args.device)))
    rows.append(("maxitrack", run_child("maxitrack", 16, args.threads, args.device)))
    print(f"{'run':20s} {'wall s':>8s} {'cpu s':>8s} {'peak MB':>8s} {'load s':>7s}")
    for name, r in rows:
        print(f"{name:20s} {r['wall_s']:8.1f} {r['cpu_s']:8.1f} {r['peak_mb']:8.0f} {r['load_s']:7.1f}")
    if args.agreement:
        print(agreement(args.device))
    if args.device == "cpu":
        # CPU seconds are much less sensitive than wall time to other jobs on a shared machine
        wall, cpu = per_patch(args.threads)
        factor = cpu / REFERENCE_NCHW_PER_PATCH
        print(f"\nnetwork alone, NCHW, one patch (best of 5): {wall:.3f} s wall, {cpu:.3f} s CPU; the reference "
              f"machine: {REFERENCE_NCHW_PER_PATCH} s wall")
        print("estimate of our wall time on the reference machine, CPU s x (reference NCHW wall / our NCHW CPU), "
              "against the original's best there:")
        best_original = min(t for name, (t, _) in ORIGINAL.items() if name.startswith("maximask"))
        for name, r in rows:
            estimate = r["cpu_s"] / factor
            original = ORIGINAL["maxitrack"][0] if name == "maxitrack" else best_original
            print(f"  {name:20s} {estimate:6.1f} s vs {original:5.1f} s: {original / estimate:4.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
