"""Batches: a bad input is named; --keep-going goes on and the exit status says some failed."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits


@pytest.fixture
def inputs(tmp_path):
    names = []
    for k in range(3):
        path = tmp_path / f"im{k}.fits"
        data = np.random.default_rng(k).normal(100.0, 5.0, (40, 50)).astype(np.float32)
        fits.PrimaryHDU(data).writeto(path)
        names.append(path)
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"\xff\xfe\x00")
    names.insert(1, bad)
    return names


def test_detect_stops_at_a_bad_image_naming_it(cli, tmp_path, inputs):
    code, _, err = cli("detect", *inputs, "-o", tmp_path / "out", "--no-cnn", "--no-png", "--detectors", "HOT")
    assert code == 1
    assert err.count("error:") == 1 and "bad.fits: not a readable FITS file" in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["im0.detect.fits"]  # stopped there


def test_detect_keep_going_does_the_others_and_fails_at_the_end(cli, tmp_path, inputs):
    argv = ["detect", *inputs, "-o", tmp_path / "out", "--no-cnn", "--no-png", "--detectors", "HOT", "--keep-going"]
    code, _, err = cli(*argv)
    assert code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"im{k}.detect.fits" for k in range(3)]
    assert "bad.fits: not a readable FITS file" in err and "1 of 4 inputs failed: " in err
    assert err.strip().splitlines()[-1].endswith("bad.fits")


def test_info_prints_the_good_files_and_names_the_bad(cli, inputs):
    code, out, err = cli("info", *inputs)
    assert code == 1
    assert out.count("format fits") == 3
    assert "bad.fits: not a readable FITS file" in err and "1 of 4 inputs failed" in err


def test_one_bad_info_file_alone_is_one_error(cli, inputs):
    code, out, err = cli("info", inputs[1])
    assert code == 1 and out == ""
    assert "bad.fits" in err
