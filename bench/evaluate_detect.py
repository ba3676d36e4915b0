"""Precision and recall per class of the detectors (and of MaxiMask when installed) on injected contaminants.

Contaminants of every class are injected (:mod:`astromask.detect.inject`) into

* the five real M13 frames of ``../shared/data/m13`` (1392×1040, skipped when absent), and
* generated star fields (1024×1024, seeds 0-2),

and every detector runs on the result (saturation level given; ``SAT`` not grown; no ``EDGE``).
On the real frames, what a detector (or MaxiMask) already flags on the frame before injection
is left out of the counts: those are the frame's own defects and cosmic rays, which have no truth.
MaxiMask's classes are compared through the planes of the same meaning (HCL and DCL → BAD_COLUMN,
HP → HOT, DP → DEAD, TRL → TRAIL, SAT, CR). The table printed is the one in ``docs/detection.md``.

A second table compares the classical detectors with MaxiMask's stored output for
``../shared/data/maximask/synth_crop_a.fits.fz`` (a reference, not a truth: the fraction of
MaxiMask's pixels that we flag, and of ours that MaxiMask flags).

Run: .venv/bin/python bench/evaluate_detect.py [--no-cnn] [--frames N]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from astromask import read
from astromask.detect import detect, estimate_background
from astromask.detect.inject import inject, score, star_field
from astromask.detect.pipeline import CNN_PLANES, network

SHARED = Path(os.environ.get("ASTROMASK_DATA", Path(__file__).resolve().parents[1].parent / "shared" / "data"))
CLASSES = ("SAT", "BAD_COLUMN", "HOT", "DEAD", "TRAIL", "CR")
COUNTS = {"cosmics": 120, "hot": 60, "dead": 60, "columns": 3, "trails": 2, "saturated": 5}


def classical(image, level):
    found = detect(image, saturate=level, grow="SAT=0", edge_width=0, cnn=False).found
    return {name: found.get(name) for name in CLASSES}


def maximask(image, module):
    mask = module.predict_mask(np.asarray(image, dtype=np.float32))
    out = {name: np.zeros(mask.shape, dtype=bool) for name in CLASSES}
    for plane, target in CNN_PLANES.items():
        if plane in mask.schema:
            out[target] |= mask.get(plane)
    return out


class Tally:
    """Summed pixel counts per (method, data set, class), and cosmic rays hit per data set."""

    def __init__(self):
        self.pixels: dict = {}
        self.rays: dict = {}

    def add(self, method, data, injected, found, before):
        for name in CLASSES:
            ignore = injected.ignore[name] | (before[name] if before is not None else False)
            s = score(found[name], injected.truth[name], ignore)
            key = (method, data, name)
            old = self.pixels.get(key, (0, 0, 0))
            self.pixels[key] = (old[0] + s.true_positives, old[1] + s.false_positives, old[2] + s.false_negatives)
        labels, count = ndi.label(injected.truth["CR"], structure=np.ones((3, 3)))
        hit = int(ndi.maximum(found["CR"], labels, np.arange(1, count + 1)).sum()) if count else 0
        old = self.rays.get((method, data), (0, 0))
        self.rays[(method, data)] = (old[0] + hit, old[1] + count)

    def table(self, methods, datasets) -> str:
        head = "| class | data | truth pixels | " + " | ".join(f"{m} recall | {m} precision" for m in methods) + " |"
        lines = [head, "|" + "---|" * (3 + 2 * len(methods))]
        for name in CLASSES:
            for data in datasets:
                cells = []
                truth = None
                for method in methods:
                    tp, fp, fn = self.pixels[(method, data, name)]
                    truth = tp + fn
                    cells += [f"{tp / max(tp + fn, 1):.3f}", f"{tp / (tp + fp):.3f}" if tp + fp else "-"]
                lines.append(f"| {name} | {data} | {truth} | " + " | ".join(cells) + " |")
        for data in datasets:
            cells = []
            for method in methods:
                hit, count = self.rays[(method, data)]
                cells += [f"{hit / max(count, 1):.3f}", ""]
            lines.append(
                f"| CR (rays hit) | {data} | {self.rays[(methods[0], data)][1]} rays | " + " | ".join(cells) + " |"
            )
        return "\n".join(lines)


def frames(count):
    m13 = sorted((SHARED / "m13").glob("M13_blue_000*.fits"))[:count]
    for i, path in enumerate(m13):
        yield "M13 (real)", read(str(path)).image.astype(np.float32), 65535.0, True, 100 + i
    for seed in range(3):
        yield "generated", star_field((1024, 1024), seed=seed), 60000.0, False, seed


def reference_table() -> str | None:
    image_path = SHARED / "maximask" / "synth_crop_a.fits.fz"
    mask_path = SHARED / "maximask" / "synth_crop_a.mask.fits.fz"
    if not (image_path.exists() and mask_path.exists()):
        return None
    image = read(str(image_path)).image
    reference = read(str(mask_path))
    found = detect(image, grow="SAT=0", edge_width=0, cnn=False)
    lines = [
        "| plane | MaxiMask classes | MaxiMask pixels | ours | of MaxiMask's, we flag | of ours, MaxiMask flags |",
        "|---|---|---|---|---|---|",
    ]
    for name in CLASSES:
        classes = [c for c, target in CNN_PLANES.items() if target == name]
        theirs = np.zeros(image.shape, dtype=bool)
        for c in classes:
            theirs |= reference.get(c)
        ours = found.found.get(name)
        both = np.count_nonzero(theirs & ours)
        lines.append(
            f"| {name} | {'+'.join(classes)} | {np.count_nonzero(theirs)} | {np.count_nonzero(ours)} | "
            f"{both / max(np.count_nonzero(theirs), 1):.3f} | {both / max(np.count_nonzero(ours), 1):.3f} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-cnn", action="store_true", help="leave MaxiMask out even when installed")
    parser.add_argument("--frames", type=int, default=5, help="M13 frames to use (default 5)")
    args = parser.parse_args(argv)
    module = None if args.no_cnn else network(None)
    methods = ["classical"] + (["MaxiMask"] if module is not None else [])
    tally = Tally()
    datasets = []
    start = time.perf_counter()
    for data, image, level, real, seed in frames(args.frames):
        if data not in datasets:
            datasets.append(data)
        bg = estimate_background(image)
        injected = inject(
            image, sigma=bg.median_noise, sky=float(np.median(bg.level)), level=level, seed=seed, **COUNTS
        )
        tally.add(
            "classical", data, injected, classical(injected.image, level), classical(image, level) if real else None
        )
        if module is not None:
            tally.add(
                "MaxiMask", data, injected, maximask(injected.image, module), maximask(image, module) if real else None
            )
        print(f"{data} seed {seed}: done ({time.perf_counter() - start:.0f} s)", flush=True)
    print()
    print(tally.table(methods, datasets))
    reference = reference_table()
    if reference:
        print()
        print(reference)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
