"""HOT, DEAD and BAD_COLUMN from one exposure, stacks, darks and flats."""

import doctest

import numpy as np
import pytest

from astromask import read
from astromask.detect import badpixels
from astromask.detect.badpixels import detect_bad_columns, detect_dead_pixels, detect_hot_pixels
from conftest import shared_path


def sky(shape=(128, 128), seed=0, level=1000.0, noise=20.0):
    return np.random.default_rng(seed).normal(level, noise, shape)


def add_star(image, x, y, peak, fwhm):
    yy, xx = np.mgrid[: image.shape[0], : image.shape[1]]
    sigma = fwhm / 2.3548
    image += peak * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * sigma**2))


def test_hot_pixels_are_sharp_and_stars_are_not():
    image = sky(seed=1)
    hot = [(20, 30), (64, 64), (100, 7)]
    for y, x in hot:
        image[y, x] += 400.0  # 20 sigma
    add_star(image, 90.3, 40.6, 4000.0, 1.5)  # undersampled, bright: its neighbours hold 30 % of the peak
    add_star(image, 40.0, 100.0, 20000.0, 3.0)
    found = detect_hot_pixels(image, gain=1.0)
    assert sorted(map(tuple, np.argwhere(found).tolist())) == hot


def test_dead_pixels_and_shot_noise_of_bright_stars():
    image = sky(seed=2)
    dead = [(10, 10), (70, 90)]
    for y, x in dead:
        image[y, x] -= 200.0  # 10 sigma
    add_star(image, 60.0, 40.0, 50000.0, 4.0)  # shot noise 220 at the peak, 11 times the sky noise
    image[30:50, 50:70] = np.random.default_rng(3).poisson(image[30:50, 50:70])
    found = detect_dead_pixels(image, gain=1.0)
    assert sorted(map(tuple, np.argwhere(found).tolist())) == dead


def test_stack_finds_weak_hot_pixels_and_ignores_cosmic_rays():
    frames = [sky(seed=10 + i) for i in range(5)]
    frames[2][50, 50] += 2000.0  # a cosmic ray in one exposure
    for frame in frames:
        frame[80, 20] += 70.0  # a 3.5-sigma hot pixel in every exposure
    single = detect_hot_pixels(frames[0])
    stacked = detect_hot_pixels(frames)
    assert not single[80, 20]
    assert detect_hot_pixels(frames[2])[50, 50]
    assert np.argwhere(stacked).tolist() == [[80, 20]]


def test_stack_threshold_follows_the_measured_noise_of_the_mean():
    # a fixed pattern shared by the exposures (sigma 15) under independent noise (sigma 20): one exposure's
    # noise is 25, and independent noise would make the mean's 25/sqrt(5) = 11.2; it is sqrt(15² + 20²/5) = 17.5.
    # A threshold of 5 x 11.2 = 56 passes pattern pixels (16 hot and 25 dead here); 5 x 17.5 passes none.
    rng = np.random.default_rng(4)
    pattern = rng.normal(0.0, 15.0, (256, 256))
    frames = [1000.0 + pattern + rng.normal(0.0, 20.0, pattern.shape) for _ in range(5)]
    assert detect_hot_pixels(frames).sum() == 0
    assert detect_dead_pixels(frames).sum() == 0


def test_darks_and_flats():
    image = sky(seed=5)
    darks = np.stack([sky(seed=20 + i, level=10.0, noise=2.0) for i in range(3)])
    darks[:, 33, 44] += 40.0
    flats = np.stack([np.random.default_rng(30 + i).normal(1.0, 0.01, image.shape) for i in range(3)])
    flats[:, 12, 100] = 0.3
    flats[:, :, 77] *= 0.9  # a column 10 % low in the flats: 10 sigma of a column's median
    assert np.argwhere(detect_hot_pixels(image, darks=darks)).tolist() == [[33, 44]]
    assert np.argwhere(detect_dead_pixels(image, flats=flats)).tolist() == [[12, 100]]
    columns = detect_bad_columns(image, flats=flats).columns
    assert [(c.x, c.y0, c.y1) for c in columns] == [(77, 0, 128)]


@pytest.mark.parametrize(
    "rows, sign",
    [
        ((0, 256), 1),
        ((100, 256), 1),
        ((0, 140), -1),
        ((60, 256), -1),
    ],
    ids=["hot-full", "hot-from-100", "dead-to-140", "dead-from-60"],
)
def test_bad_column_extent(rows, sign):
    image = sky((256, 128), seed=6)
    image[rows[0] : rows[1], 50] += sign * 60.0  # 3 sigma per pixel
    found = detect_bad_columns(image)
    assert [(c.x, np.sign(c.offset)) for c in found.columns] == [(50, sign)]
    column = found.columns[0]
    assert abs(column.y0 - rows[0]) <= 3 and abs(column.y1 - rows[1]) <= 3
    np.testing.assert_array_equal(found.mask.any(axis=0), np.arange(128) == 50)


def test_wide_bands_and_aligned_stars_are_not_columns():
    image = sky((256, 128), seed=7)
    image[:, 30:35] += 60.0  # five adjacent columns: an extended structure, not a column
    # a star every 16 rows on column 90: more than half of the column is lit, which moves its median
    # (segment medians flag columns 89 and 91) but not its lower quartile
    for y in range(20, 250, 16):
        add_star(image, 90.0, y, 2000.0, 3.0)
    assert detect_bad_columns(image).columns == []


def test_m13_stack_has_fewer_hot_pixels_than_one_exposure():
    frames = [read(str(shared_path("m13", f"M13_blue_000{i}.fits"))).image for i in range(1, 6)]
    single = detect_hot_pixels(frames[0])
    stacked = detect_hot_pixels(frames)
    # one exposure: 383 single-pixel spikes, mostly transient (the camera's noise has a heavy tail);
    # in all five exposures only 64 are there every time
    assert 300 <= single.sum() <= 450
    assert 40 <= stacked.sum() <= 90


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: detect_bad_columns(np.zeros((32, 32)), segment=4), "segment must be an integer >= 8"),
        (lambda: detect_hot_pixels(np.zeros(5)), "2-D image or a stack"),
        (lambda: detect_hot_pixels([np.zeros((8, 8))] * 2, backgrounds=[]), "0 backgrounds for 2 exposures"),
    ],
)
def test_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_docstring_examples():
    assert doctest.testmod(badpixels).failed == 0
