"""MaxiMask and MaxiTrack in PyTorch: time and peak memory on a DECam-sized CCD (4094x2046 float32).

Each setting runs in a fresh process (so that its peak RSS is its own) with the same generated
image (seeded). TensorFlow is not installed here, so the original's figures are the ones measured
in ../shared/reference/maximask.md (section 10) on another machine, printed for comparison and
labelled as such.

Run: .venv/bin/python bench/bench_maximask.py [--batch-sizes 1,4,8] [--threads 2] [--device cpu]
Needs PyTorch and the weights (python -m astromask.maximask.weights).
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


def per_patch(threads: int, channels_last: bool, repeat: int = 5) -> float:
    """Best wall seconds per patch of the network alone at batch 1 (NCHW: the layout timed in the reference)."""
    import torch

    from astromask.maximask.checkpoint import read_checkpoint
    from astromask.maximask.network import MaxiMaskNet
    from astromask.maximask.weights import checkpoint_prefix

    torch.set_num_threads(threads)
    net = MaxiMaskNet.from_checkpoint(read_checkpoint(checkpoint_prefix()))
    x = torch.from_numpy(make_image((400, 400))[None, None] / 1000)
    if channels_last:
        net, x = net.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    times = []
    with torch.inference_mode():
        net(x)
        for _ in range(repeat):
            started = time.perf_counter()
            net(x)
            times.append(time.perf_counter() - started)
    return min(times)


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
    if args.device == "cpu":
        nchw, nhwc = per_patch(args.threads, False), per_patch(args.threads, True)
        machine = nchw / REFERENCE_NCHW_PER_PATCH
        print(f"\nnetwork alone, one patch (best of 5): NCHW {nchw:.3f} s, channels-last {nhwc:.3f} s; "
              f"the reference machine's NCHW: {REFERENCE_NCHW_PER_PATCH} s, so this machine is {machine:.2f}x slower")
        best_original = min(t for name, (t, _) in ORIGINAL.items() if name.startswith("maximask"))
        print("estimate on the reference machine (our wall time / machine factor) vs the original's best there:")
        for name, r in rows:
            scaled = r["wall_s"] / machine
            original = ORIGINAL["maxitrack"][0] if name == "maxitrack" else best_original
            print(f"  {name:20s} {scaled:6.1f} s vs {original:5.1f} s: {original / scaled:4.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
