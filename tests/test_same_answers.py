"""Same answers on every machine: key commands give byte-identical outputs whatever the thread count
and the CPU's vector width.

Each command runs in fresh processes (the settings below are read once, when a library starts):

* threads: 1 against 2 (``OMP_NUM_THREADS``, ``NUMBA_NUM_THREADS``, ``MKL_NUM_THREADS``,
  ``OPENBLAS_NUM_THREADS``);
* vector width: the libraries free (AVX-512 kernels on a CPU that has them) against NumPy's SIMD
  dispatch capped at AVX2 (``NPY_DISABLE_CPU_FEATURES``) and OpenBLAS at its Haswell kernels: what
  an AVX2-only CPU runs. On an AVX2-only machine both runs are the same and the check is trivially
  true; on an AVX-512 machine (the project's own) it is the real comparison.

PyTorch's kernels are pinned by astromask itself (``astromask.maximask.numerics``); the MaxiMask run
checks that the pin holds with one thread and with two.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from conftest import shared_path

pytestmark = pytest.mark.slow

THREADS = ("OMP_NUM_THREADS", "NUMBA_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# NumPy 2's dispatch targets above AVX2 (x86-64-v3), and OpenBLAS's AVX2 kernels
AVX2_ONLY = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR", "OPENBLAS_CORETYPE": "Haswell"}
ASTROMASK = [sys.executable, "-m", "astromask"]


def _environment(threads: int, avx2_only: bool = False) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in THREADS and k not in AVX2_ONLY}
    env.update(dict.fromkeys(THREADS, str(threads)))
    if avx2_only:
        env.update(AVX2_ONLY)
    return env


def _digests(folder: Path) -> dict[str, str]:
    """SHA-256 of the data of every HDU of every FITS file under ``folder`` (headers hold dates)."""
    digests = {}
    for path in sorted(folder.rglob("*.fits")):
        h = hashlib.sha256()
        with fits.open(path) as hdul:
            for hdu in hdul:
                if hdu.data is not None:
                    h.update(np.ascontiguousarray(hdu.data).tobytes())
        digests[str(path.relative_to(folder))] = h.hexdigest()
    return digests


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A generated frame with every contaminant (trails included), and a catalogue for the DECam grid."""
    from astromask.detect.inject import inject, star_field

    folder = tmp_path_factory.mktemp("inputs")
    field = star_field((400, 600), seed=3)
    injected = inject(field, sigma=32.0, sky=1000.0, trails=2, seed=3)
    header = fits.Header({"SATURATE": injected.level})
    fits.writeto(folder / "injected.fits", injected.image, header)
    image = shared_path("decam", "c4d_170316_062107_ooi_z_ls9.N2.fits")
    from astropy.wcs import WCS

    wcs = WCS(fits.getheader(image, "N2"))
    rng = np.random.default_rng(5)
    ra, dec = wcs.pixel_to_world_values(rng.uniform(0, 251, 40), rng.uniform(0, 245, 40))
    Table({"RA": ra, "DEC": dec}).write(folder / "sources.ecsv")
    return folder


def _run_commands(inputs: Path, out: Path, env: dict[str, str]) -> dict[str, str]:
    data = shared_path("m13").parent
    counts = data / "ciao" / "acisf08478_000N001_r0043_regevt3_srcimg.fits"
    decam_image = data / "decam" / "c4d_170316_062107_ooi_z_ls9.N2.fits"
    commands = [
        ["detect", "--no-cnn", data / "m13" / "M13_blue_0003.fits", "-o", out / "detect_m13.fits"],
        ["detect", "--no-cnn", inputs / "injected.fits", "-o", out / "detect_injected.fits"],
        ["grow", data / "decam" / "c4d_170316_062107_ood_z_ls9.N2.fits", out / "grow.fits", "--radius", "3"],
        [
            "significance",
            counts,
            counts,
            out / "significance.fits",
            "--radius",
            "3",
            "--above",
            "0.5",
            "--alpha",
            "0.3",
        ],
        ["catalog", decam_image, inputs / "sources.ecsv", out / "catalog.fits", "--radius", "4arcsec"],
        [
            "stack",
            *sorted((data / "m13").glob("M13_blue_*.fits")),
            "--outdir",
            out / "stack",
            "--repeated-flag-keys",
            "CR,SAT",
        ],
    ]
    out.mkdir()
    for command in commands:
        done = subprocess.run(ASTROMASK + [str(a) for a in command], env=env, capture_output=True, text=True)
        assert done.returncode == 0, f"{command[0]}: {done.stderr}"
    digests = _digests(out)
    assert len(digests) >= 11, sorted(digests)  # every output was written
    return digests


def test_key_commands_do_not_depend_on_threads_or_vector_width(inputs, tmp_path):
    one = _run_commands(inputs, tmp_path / "one", _environment(1))
    two = _run_commands(inputs, tmp_path / "two", _environment(2))
    avx2 = _run_commands(inputs, tmp_path / "avx2", _environment(2, avx2_only=True))
    assert one == two
    assert two == avx2


def test_maximask_does_not_depend_on_threads(tmp_path):
    pytest.importorskip("torch")
    from astromask.maximask import numerics, weights

    if not numerics.has_avx2():
        pytest.skip("this CPU has no AVX2: the pinned kernels cannot run")
    try:
        weights.find_net_dir("maximask")
    except weights.WeightsNotFoundError as exc:
        pytest.skip(str(exc))
    source = shared_path("maximask", "synth_crop_a.fits.fz")
    outputs = {}
    for threads in (1, 2):
        folder = tmp_path / str(threads)
        folder.mkdir()
        (folder / source.name).symlink_to(source)
        command = ASTROMASK + ["maximask", str(folder / source.name), "--device", "cpu", "-v"]
        done = subprocess.run(command, env=_environment(threads), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "numeric path pinned: convolutions brg_conv_fwd:avx2, element-wise kernels AVX2" in done.stderr
        outputs[threads] = _digests(folder)
    assert outputs[1] == outputs[2] and len(outputs[1]) == 1
