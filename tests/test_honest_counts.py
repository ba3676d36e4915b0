"""The summary, -v, the picture's legend and info give the same counts, said before or after growth;
sizes are printed width x height everywhere, and it says so."""

from __future__ import annotations

import json

import numpy as np
import pytest
from astropy.io import fits


@pytest.fixture
def frame(tmp_path):
    rng = np.random.default_rng(8)
    data = rng.normal(1000.0, 10.0, (120, 200)).astype(np.float32)
    for y, x in [(20, 30), (60, 150), (90, 40)]:
        data[y, x] = 3000.0  # hot pixels
    path = tmp_path / "f.fits"
    fits.PrimaryHDU(data).writeto(path)
    return path


def test_detect_summary_matches_the_written_mask_and_verbose_says_before_growth(cli, tmp_path, frame):
    out = tmp_path / "d.fits"
    code, stdout, err = cli("-v", "detect", frame, "-o", out, "--no-cnn", "--no-png", "--detectors", "HOT,EDGE")
    assert code == 0, err
    assert "HOT: 3 pixels (before growth)" in err
    summary = stdout.split("found (pixels after growth) ", 1)[1].split(" -> ", 1)[0]
    said = {name: int(n) for name, n in (part.split() for part in summary.split(", "))}
    code, text, err = cli("info", out, "--json")
    assert code == 0, err
    hdu = next(h for h in json.loads(text)[0]["hdus"] if "planes" in h)
    counted = {p["name"]: p["pixels"] for p in hdu["planes"] if p["pixels"]}
    assert said == counted


def test_sizes_are_width_by_height_and_say_so(cli, frame):
    code, text, err = cli("info", frame)
    assert code == 0, err
    assert "(sizes: width x height" in text.splitlines()[0]
    assert " 200x120 " in text  # 200 columns (NAXIS1), 120 rows (NAXIS2)
    code, text, _ = cli("info", frame, "--json")
    assert json.loads(text)[0]["hdus"][0]["shape"] == [120, 200]  # the JSON keeps numpy's (ny, nx)
