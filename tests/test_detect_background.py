"""Sky level and noise maps, and the sort-based NaN quantiles, against numpy on known data."""

import doctest

import numpy as np
import pytest

from astromask.detect import background as background_module
from astromask.detect.background import Background, estimate_background, nanmedian, nanquantile


def test_flat_sky_level_and_noise_match_numpy():
    rng = np.random.default_rng(1)
    data = rng.normal(250.0, 12.0, (512, 384))
    bg = estimate_background(data)
    # the clipped median and corrected clipped std of Gaussian noise are its mean and std
    assert np.abs(bg.level - data.mean()).max() < 1.0
    assert abs(bg.median_noise / data.std() - 1.0) < 0.03
    assert bg.level.shape == data.shape and bg.level.dtype == np.float32


def test_level_follows_a_gradient():
    rng = np.random.default_rng(2)
    ramp = np.linspace(0.0, 200.0, 640)[None, :] * np.ones((320, 1))
    bg = estimate_background(ramp + rng.normal(1000.0, 5.0, ramp.shape), box=32)
    inner = (slice(32, -32), slice(32, -32))  # bilinear between cell centres: exact for a ramp inside
    assert np.abs(bg.level[inner] - (ramp + 1000.0)[inner]).max() < 2.0


def test_stars_masked_and_nan_pixels_do_not_bias_the_sky():
    rng = np.random.default_rng(3)
    data = rng.normal(100.0, 4.0, (256, 256))
    data[100:140, 100:140] = 1e5
    mask = np.zeros(data.shape, bool)
    mask[100:140, 100:140] = True
    data[0:10, :] = np.nan
    bg = estimate_background(data, mask=mask)
    assert np.abs(bg.level - 100.0).max() < 1.0
    assert np.isfinite(bg.noise).all() and (bg.noise > 0).all()


def test_significance_is_sigma_units():
    bg = Background(np.full((2, 2), 10.0, np.float32), np.full((2, 2), 2.0, np.float32))
    np.testing.assert_allclose(bg.significance(np.array([[10.0, 14.0], [6.0, np.nan]])), [[0, 2], [-2, np.nan]])


@pytest.mark.parametrize("q", [0.0, 0.25, 0.5, 0.9, 1.0], ids=lambda q: f"q={q}")
def test_nanquantile_matches_numpy(q):
    rng = np.random.default_rng(4)
    values = rng.normal(size=(6, 7, 33))
    values[values > 1.2] = np.nan
    values[0, 0, :] = np.nan
    expected = np.full(values.shape[:2], np.nan)
    for index in np.ndindex(values.shape[:2]):
        row = values[index]
        if np.isfinite(row).any():
            expected[index] = np.quantile(row[np.isfinite(row)], q)
    np.testing.assert_allclose(nanquantile(values, q, axis=2), expected, equal_nan=True)
    if q == 0.5:
        np.testing.assert_allclose(nanmedian(values, axis=2), expected, equal_nan=True)


@pytest.mark.parametrize("box, match", [(4, "box must be an integer >= 8"), (8.5, "box must be")])
def test_bad_box(box, match):
    with pytest.raises(ValueError, match=match):
        estimate_background(np.zeros((20, 20)), box=box)


def test_no_usable_pixel():
    with pytest.raises(ValueError, match="no finite, unmasked pixel"):
        estimate_background(np.full((20, 20), np.nan))
    with pytest.raises(ValueError, match="must be 2-D"):
        estimate_background(np.zeros(5))


def test_docstring_examples():
    assert doctest.testmod(background_module).failed == 0
