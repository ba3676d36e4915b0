"""Defaults that are right on real data or say why a step was not done."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits

from astromask import MaskedImage, get_schema
from astromask.detect import detect
from conftest import shared_path


def test_dead_pixels_are_found_in_one_exposure_whose_sky_stands_above_the_noise():
    rng = np.random.default_rng(2)
    image = rng.normal(1000.0, 30.0, (200, 200)).astype(np.float32)
    image[50, 60] = 12.0  # dead: no response
    image[120, 30] = 700.0  # 10 sigma low: cold
    found = detect(MaskedImage(image, schema=get_schema("rubin")), detectors=["DEAD"], cnn=False).found
    assert np.argwhere(found.get("DEAD")).tolist() == [[50, 60], [120, 30]]
    faint = rng.normal(40.0, 30.0, (200, 200)).astype(np.float32)  # sky within 10 sigma of zero
    faint[50, 60] = -200.0
    found = detect(MaskedImage(faint, schema=get_schema("rubin")), detectors=["DEAD"], cnn=False).found
    assert not found.get("DEAD").any()


def test_dead_is_not_guessed_from_one_faint_exposure_and_says_why(caplog):
    path = shared_path("m13", "M13_blue_0001.fits")
    with fits.open(path) as hdul:
        image, header = hdul[0].data.astype(np.float32), hdul[0].header
    with caplog.at_level(logging.WARNING, logger="astromask"):
        mi = MaskedImage(image, schema=get_schema("rubin"), metadata=header)
        result = detect(mi, detectors=["DEAD", "CR"], cnn=False)
    assert result.found.counts()["DEAD"] == 0  # was 11001: the noise's low tail of a 5-s frame
    assert any("DEAD not tested: one exposure whose sky (13 ADU" in r.getMessage() for r in caplog.records)
    step = next(s for s in result.steps if s.name == "DEAD")
    assert "--stack" in step.info["skipped"]


def test_a_counts_image_gets_no_no_data_or_saturation_guesses(cli, tmp_path):
    path = shared_path("ciao", "acisf08478_000N001_r0043_regevt3_srcimg.fits")
    code, out, err = cli("detect", path, "-o", tmp_path / "d.fits", "--no-cnn", "--no-png")
    assert code == 0, err
    assert "NO_DATA" not in out and "SAT" not in out  # were 97953 of 98908 pixels, and every 3-count pixel
    assert "NO_DATA not tested: a counts image" in err and "needs a SATURATE level (--saturate)" in err
    code, out, err = cli("detect", path, "-o", tmp_path / "e.fits", "--no-cnn", "--no-png", "--saturate", "3")
    assert code == 0, err
    assert "SAT " in out  # asked for: done


@pytest.mark.parametrize("kind", ["float", "bright"])
def test_ordinary_images_are_not_counts_images(kind):
    rng = np.random.default_rng(1)
    image = rng.normal(100.0, 5.0, (64, 64)) if kind == "float" else np.round(rng.normal(500.0, 20.0, (64, 64)))
    image[:, :8] = 0.0  # a strip without data
    result = detect(MaskedImage(image.astype(np.float32), schema=get_schema("rubin")), detectors=["NO_DATA"], cnn=False)
    assert result.found.get("NO_DATA")[:, :8].all()
