"""``make demo``: an end-to-end run on real data when ``../shared/data`` is there, else on generated data.

The main job is ``astromask detect``: the classical contaminant detectors on a
generated star field with known contaminants (and the precision and recall
they reach on it), then on the real M13 frames (hot pixels and bad columns
from the five exposures together) and the real DECam cutout when
``../shared/data`` is there. Each result is written as a masked image with a
PNG beside it.

Then the formats: read a DECam Community Pipeline exposure (image + DQ codes +
weight) or generate a DECam-like frame; add planes from flags and thresholds
(saturation from ``SATURATE``, non-finite pixels, zero weight); write it in
every format astromask writes; read each back and check that no plane, pixel
or origin was lost; print ``astromask info`` for the results and apply the mask.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from .. import MaskedImage, get_schema, read, write
from ..cli import main as cli_main
from ..io import WRITE_FORMATS

# the project's reference data sit beside the checkout; $ASTROMASK_DATA points elsewhere
SHARED = Path(os.environ.get("ASTROMASK_DATA", Path.cwd().parent / "shared" / "data"))
DECAM_IMAGE = SHARED / "decam" / "c4d_170316_062107_ooi_z_ls9.N2.fits"
M13_FRAMES = [SHARED / "m13" / f"M13_blue_000{i}.fits" for i in range(1, 6)]


def generated_frame(seed: int = 42) -> MaskedImage:
    """A 300x400 DECam-like frame: sky, stars, one saturated star with a bleed, bad column, cosmic rays."""
    rng = np.random.default_rng(seed)
    ny, nx = 300, 400
    image = rng.normal(3000.0, 30.0, size=(ny, nx)).astype(np.float32)
    yy, xx = np.mgrid[:ny, :nx]
    for _ in range(40):
        x, y, flux = rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(1e3, 3e4)
        image += (flux * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.5**2))).astype(np.float32)
    image[140:160, 200:203] = 46000.0  # saturated core and bleed
    image[:, 57] = 0.0  # dead column
    cr = rng.integers(0, [ny, nx], size=(25, 2))
    image[cr[:, 0], cr[:, 1]] += 5000.0
    image[0:3, :] = np.nan  # unread rows
    mi = MaskedImage(image, schema=get_schema("decam_cp"), xy0=(0, 0), unit="adu")
    mi.metadata["SATURATE"] = 45000.0
    mi.variance = np.full(image.shape, 30.0**2, np.float32)
    mi.mask.set("BAD", image == 0.0)
    mi.mask.set("CR", (cr[:, 0], cr[:, 1]))
    return mi


def load_input() -> tuple[MaskedImage, str]:
    if DECAM_IMAGE.exists():
        return read(str(DECAM_IMAGE)), f"real DECam CP exposure {DECAM_IMAGE.name} (image + DQ codes + weight)"
    return generated_frame(), "a generated DECam-like frame (../shared/data is absent)"


def add_flag_planes(mi: MaskedImage) -> MaskedImage:
    """Mark saturation (image >= SATURATE) and non-finite pixels as their own planes."""
    schema = mi.mask.schema
    for plane in ("SAT", "NO_DATA"):
        if plane not in schema:
            schema = schema.with_planes((plane, "added by the demo"))
    out = mi.copy()
    if schema != mi.mask.schema:
        out.mask = out.mask.remap(schema)
    level = float(mi.metadata.get("SATURATE", np.inf))
    with np.errstate(invalid="ignore"):
        out.mask.set("SAT", mi.image >= level)
    out.mask.set("NO_DATA", ~np.isfinite(mi.image))
    return out


def detection_job(name: str, source: MaskedImage, outdir: Path, command: str, **options):
    """Run ``astromask detect`` on ``source``; write ``detect_<name>.fits`` and ``.png``; print a summary."""
    from ..detect import detect
    from ..detect.picture import save_png

    start = time.perf_counter()
    result = detect(source, cnn=False, **options)
    seconds = time.perf_counter() - start
    out = outdir / f"detect_{name}.fits"
    write(result.image, out, format="fits", overwrite=True)
    save_png(result.image, out.with_suffix(".png"), title=command)
    trails = "".join(f"; trail at theta={t.theta:.1f} deg, {t.length:.0f} px long" for t in result.trails)
    print(f"  $ {command}\n    {result.summary()}{trails} ({seconds:.1f} s) -> {out}, {out.with_suffix('.png').name}")
    return result


def detection_jobs(outdir: Path) -> None:
    """``astromask detect`` on a generated field with known contaminants, then on the real data when present."""
    from ..detect.background import estimate_background
    from ..testing.inject import inject, score, star_field

    print("astromask detect: saturation and bleeds, cosmic rays, hot/dead pixels, bad columns, trails, no data")
    field = star_field((512, 768), seed=7)
    bg = estimate_background(field)
    injected = inject(field, sigma=bg.median_noise, sky=float(np.median(bg.level)), seed=7)
    source = MaskedImage(injected.image, schema=get_schema("rubin"), metadata={"SATURATE": injected.level})
    write(source, outdir / "generated_input.fits", format="fits", overwrite=True)
    result = detection_job(
        "generated", source, outdir, "astromask detect generated_input.fits --grow SAT=0", grow="SAT=0"
    )
    rates = []
    for plane, truth in injected.truth.items():
        s = score(result.found.get(plane), truth, injected.ignore[plane])
        rates.append(f"{plane} {s.recall:.2f}/{s.precision:.2f}")
    print(f"    recall/precision against the injected truth: {', '.join(rates)}")
    if all(path.exists() for path in M13_FRAMES):
        frames = [read(str(path)) for path in M13_FRAMES]
        detection_job(
            "m13",
            frames[0],
            outdir,
            "astromask detect M13_blue_000[1-5].fits --stack  (frame 1 shown)",
            frames=[f.image for f in frames[1:]],
        )
    if DECAM_IMAGE.exists():
        detection_job("decam", read(str(DECAM_IMAGE)), outdir, f"astromask detect {DECAM_IMAGE.name}")
    print()


def run(outdir: Path) -> int:
    outdir.mkdir(parents=True, exist_ok=True)
    detection_jobs(outdir)
    mi, what = load_input()
    print(f"astromask demo on {what}: {mi.shape[1]}x{mi.shape[0]} pixels, origin {mi.xy0}")
    mi = add_flag_planes(mi)
    counts = {k: v for k, v in mi.mask.counts().items() if v}
    print(f"planes set: {counts}")
    written = []
    for fmt in WRITE_FORMATS:
        path = outdir / f"demo_{fmt}.fits"
        write(mi, path, format=fmt, overwrite=True)
        back = read(str(path))
        same_planes = back.mask.remap(mi.mask.schema, drop=True) == mi.mask
        same_pixels = np.array_equal(back.image, mi.image, equal_nan=True)
        status = "lossless" if same_planes and same_pixels and back.xy0 == mi.xy0 else "CHANGED"
        print(f"  wrote {path} ({fmt}): read back {status}")
        written.append(str(path))
    masked = mi.apply()
    frac = np.isnan(masked.image).mean()
    print(f"apply(): {frac:.2%} of pixels set to NaN in image and variance")
    print()
    return cli_main(["info", written[0], written[1]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m astromask._dev.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-output", help="output directory (default: demo-output)")
    args = parser.parse_args(argv)
    return run(Path(os.fspath(args.out)))


if __name__ == "__main__":
    sys.exit(main())
