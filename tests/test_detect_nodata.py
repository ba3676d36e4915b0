"""NO_DATA: non-finite values, zero weight, constant fill regions (checked against per-value skimage labelling)."""

import doctest

import numpy as np
import pytest
from skimage.measure import label

from astromask.detect import nodata
from astromask.detect.nodata import detect_nodata, fill_regions


def brute_force_fill(image, min_size):
    """Reference: for each value, 4-connected components of the pixels holding it, kept when large enough."""
    out = np.zeros(image.shape, bool)
    for value in np.unique(image[np.isfinite(image)] if image.dtype.kind == "f" else image):
        labels = label(image == value, connectivity=1)
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        out |= sizes[labels] >= min_size
    return out


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed={s}")
def test_fill_regions_match_per_value_labelling(seed):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 4, (60, 70))  # few values: plenty of equal neighbours of different values touching
    image[5:20, 5:30] = 9
    image[30:33, 40:69] = -999
    image[20:22, 30:45] = 9  # touches the first region of 9
    for min_size in (2, 5, 30):
        np.testing.assert_array_equal(fill_regions(image, min_size=min_size), brute_force_fill(image, min_size))


def test_noisy_integer_sky_has_no_fill_region():
    rng = np.random.default_rng(5)
    sky = np.round(rng.normal(500.0, 2.0, (400, 400))).astype(np.int32)  # 14 % of neighbouring pairs are equal
    assert brute_force_fill(sky, 50).sum() == 0
    assert fill_regions(sky, min_size=50).sum() == 0


def test_nan_never_forms_a_region_but_is_no_data():
    image = np.ones((10, 10))
    image[2:8, 2:8] = np.nan
    assert not fill_regions(image, min_size=200).any()
    found = detect_nodata(image, min_fill=None)
    assert found.sum() == 36


def test_weight_and_variance():
    image = np.random.default_rng(6).normal(size=(4, 5))
    weight = np.ones((4, 5))
    weight[0, 0], weight[1, 1], weight[2, 2] = 0.0, -1.0, np.nan
    variance = np.ones((4, 5))
    variance[3, 3], variance[3, 4] = np.inf, 0.0  # 0 is a noise-free simulation, not missing data
    found = detect_nodata(image, weight=weight, variance=variance)
    assert sorted(map(tuple, np.argwhere(found).tolist())) == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_saturated_plateau_excluded_from_fill():
    image = np.random.default_rng(7).normal(100.0, 5.0, (50, 50))
    image[10:20, 10:20] = 65535.0
    assert detect_nodata(image).sum() == 100
    assert detect_nodata(image, exclude=image >= 65535.0).sum() == 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"weight": np.ones((3, 3))}, "weight shape"),
        ({"min_fill": 1}, "min_size of a fill region"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        detect_nodata(np.zeros((4, 4)), **kwargs)


def test_docstring_examples():
    assert doctest.testmod(nodata).failed == 0
