"""Cleaned images (astromask.detect.clean, `detect --clean`): the replaced values against a plain loop
over every pixel, against the truth of injected cosmic rays, and through the command."""

import doctest

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask import MaskedImage, get_schema
from astromask.detect import clean as clean_module
from astromask.detect.clean import clean_image
from astromask.errors import ParameterError

RUBIN = get_schema("rubin")


def test_doctests():
    assert doctest.testmod(clean_module).failed == 0


def reference(image, flagged, box, max_box):
    """Per flagged pixel, the median of the good pixels in growing boxes: a plain loop."""
    out = image.astype(np.float64).copy()
    replaced = np.zeros(image.shape, bool)
    bad = flagged | ~np.isfinite(image)
    for y, x in zip(*np.nonzero(flagged)):
        for size in range(box, max_box + 1, 2):
            h = size // 2
            window = image[max(0, y - h) : y + h + 1, max(0, x - h) : x + h + 1]
            good = ~bad[max(0, y - h) : y + h + 1, max(0, x - h) : x + h + 1]
            if good.any():
                out[y, x] = np.median(window[good].astype(np.float64))
                replaced[y, x] = True
                break
    return out.astype(image.dtype), replaced


@pytest.mark.parametrize("box,max_box", [(3, 3), (5, 9)])
def test_values_equal_a_plain_loop(box, max_box):
    rng = np.random.default_rng(1)
    image = rng.normal(100, 10, (40, 50)).astype(np.float32)
    image[rng.random(image.shape) < 0.02] = np.nan
    mi = MaskedImage(image, schema=RUBIN)
    mi.mask.set("CR", rng.random(image.shape) < 0.1)
    mi.mask.set("BAD", np.s_[10:30, 20:27])  # a block wider than the first box: it has to grow
    mi.mask.set("SAT", rng.random(image.shape) < 0.05)  # not cleaned by default, but a good neighbour
    out = clean_image(mi, box=box, max_box=max_box)
    expected, replaced = reference(image, mi.mask.select(["CR", "BAD"]), box, max_box)
    np.testing.assert_array_equal(out.mask.get("INTRP"), replaced)
    np.testing.assert_array_equal(out.image[replaced], expected[replaced])
    np.testing.assert_array_equal(out.image[~replaced], image[~replaced])  # NaN stays NaN where kept
    assert replaced.sum() < mi.mask.select(["CR", "BAD"]).sum() or max_box > 3
    np.testing.assert_array_equal(out.mask.get("CR"), mi.mask.get("CR"))  # the planes stay


def test_injected_cosmic_rays_come_back_near_the_truth():
    rng = np.random.default_rng(2)
    yy, xx = np.mgrid[:120, :120]
    truth = (500 + 0.5 * xx + 0.3 * yy).astype(np.float32)
    noisy = truth + rng.normal(0, 5, truth.shape).astype(np.float32)
    hits = rng.random(truth.shape) < 0.01
    image = noisy.copy()
    image[hits] += rng.uniform(200, 2000, hits.sum()).astype(np.float32)
    mi = MaskedImage(image, schema=RUBIN)
    mi.mask.set("CR", hits)
    out = clean_image(mi, ["CR"])
    assert np.abs(out.image[hits] - truth[hits]).max() < 20  # 4 sigma of the noise
    np.testing.assert_array_equal(out.image[~hits], image[~hits])
    with pytest.raises(ParameterError, match="no plane"):
        clean_image(mi, ["NOPE"])
    with pytest.raises(ParameterError, match="odd"):
        clean_image(mi, box=4)


def test_detect_clean_through_the_command(tmp_path, cli):
    rng = np.random.default_rng(3)
    image = rng.normal(1000, 10, (200, 200)).astype(np.float32)
    for y, x in rng.integers(10, 190, (25, 2)):
        image[y, x] += 3000
    fits.PrimaryHDU(image, header=fits.Header({"GAIN": 1.0, "RDNOISE": 10.0})).writeto(tmp_path / "img.fits")
    out = tmp_path / "clean.fits"
    code, _, err = cli(
        "detect", tmp_path / "img.fits", "-o", out, "--clean", "--no-png", "--detectors", "CR", "--no-cnn"
    )
    assert code == 0, err
    back = astromask.read(out)
    replaced = back.mask.get("INTRP")
    assert replaced.sum() >= 25 and not (replaced & ~back.mask.get("CR")).any()
    assert np.abs(back.image[replaced] - 1000).max() < 50
    np.testing.assert_array_equal(back.image[~replaced], image[~replaced])
    code, _, err = cli("detect", tmp_path / "img.fits", "-o", tmp_path / "x.fits", "--clean", "NOPE", "--no-png")
    assert code != 0 and "NOPE" in err and len(err.strip().splitlines()) == 1
