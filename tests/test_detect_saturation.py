"""SAT: levels from headers and images, saturated cores, bleed trails followed along columns."""

import doctest

import numpy as np
import pytest
from astropy.io import fits
from scipy import ndimage as ndi

from astromask.detect import saturation
from astromask.detect.background import Background
from astromask.detect.inject import inject, score, star_field
from astromask.detect.saturation import detect_saturation, image_saturation_level, saturation_level
from conftest import shared_path


def flat_background(shape, level=100.0, noise=5.0):
    return Background(np.full(shape, level, np.float32), np.full(shape, noise, np.float32))


def test_decam_header_takes_the_lower_amplifier_level():
    header = fits.getheader(shared_path("decam", "c4d_150411_035242_ooi_z_v1-N10.fits"), 1)
    # SATURATE is amplifier A's level (46390); amplifier B saturates at 39973
    assert header["SATURATE"] == header["SATURATA"] == 46390.0
    assert saturation_level(header) == 39973.0


def test_per_amplifier_sections_give_a_level_map():
    header = {"SATURATA": 100.0, "SATURATB": 80.0, "DATASECA": "[1:3,1:2]", "DATASECB": "[4:6,1:2]"}
    level = saturation_level(header, (2, 6))
    np.testing.assert_array_equal(level, [[100, 100, 100, 80, 80, 80]] * 2)
    image = np.array([[90.0, 99.0, 100.0, 79.0, 80.0, 90.0]] * 2)
    found = detect_saturation(image, header=header, bleed=False, grow=0)
    np.testing.assert_array_equal(found[0], [0, 0, 1, 0, 1, 1])


@pytest.mark.parametrize(
    "header, expected",
    [
        ({"SATURATE": 65535}, 65535.0),
        ({"SATURATE": "n/a"}, None),
        ({}, None),
        (None, None),
    ],
    ids=["SATURATE", "not-a-number", "no-card", "no-header"],
)
def test_header_levels(header, expected):
    assert saturation_level(header) == expected


def test_level_from_repeated_values():
    rng = np.random.default_rng(0)
    image = rng.normal(1000.0, 20.0, (200, 200))
    assert image_saturation_level(image) is None  # noise never repeats a value
    image[50:53, 60:63] = 50000.0
    image[120, 10] = 70000.0  # a cosmic ray above the plateau does not move the level
    assert image_saturation_level(image) == 50000.0
    faint = rng.normal(1000.0, 20.0, (200, 200))
    faint[:3, :3] = 1010.0  # repeated, but not far above the sky: not saturation
    assert image_saturation_level(faint) is None


def test_bleed_followed_along_its_column_only():
    # hand-worked: sky 100, noise 5, level 1000; bleed threshold max(5*5, 0.1*900) = 90 above the sky
    image = np.full((15, 7), 100.0)
    image[6:8, 3] = 1000.0  # saturated core
    image[2:6, 3] = [150.0, 195.0, 400.0, 900.0]  # bleed up to row 3 (row 2 is only 50 above the sky)
    image[8:11, 3] = [800.0, 300.0, 191.0]  # bleed down to row 10
    image[3:12, 5] = 900.0  # a bright unsaturated column: no saturated pixel, not a bleed
    found = detect_saturation(image, 1000.0, grow=0, background=flat_background(image.shape))
    expected = np.zeros(image.shape, bool)
    expected[3:11, 3] = True
    np.testing.assert_array_equal(found, expected)
    no_bleed = detect_saturation(image, 1000.0, bleed=False, grow=0, background=flat_background(image.shape))
    assert np.argwhere(no_bleed).tolist() == [[6, 3], [7, 3]]


def test_grow_is_a_disk_dilation():
    image = np.full((20, 20), 100.0)
    image[8:12, 9] = 5000.0
    bg = flat_background(image.shape)
    bare = detect_saturation(image, 4000.0, grow=0, background=bg)
    grown = detect_saturation(image, 4000.0, grow=1, background=bg)
    np.testing.assert_array_equal(grown, ndi.binary_dilation(bare, structure=ndi.generate_binary_structure(2, 1)))


def test_nothing_without_a_level():
    image = np.random.default_rng(1).normal(100.0, 5.0, (50, 50))
    assert not detect_saturation(image).any()


def test_injected_saturated_stars_with_bleeds():
    image = star_field((512, 512), seed=11)
    injected = inject(
        image,
        sigma=31.6,
        sky=1000.0,
        level=60000.0,
        cosmics=0,
        hot=0,
        dead=0,
        columns=0,
        trails=0,
        saturated=4,
        seed=11,
    )
    found = detect_saturation(injected.image, 60000.0, grow=0)
    result = score(found, injected.truth["SAT"], injected.ignore["SAT"])
    # measured on seeds 11-15: recall 0.995-0.998, precision 1.000
    assert result.recall >= 0.99
    assert result.precision >= 0.99


def test_errors():
    with pytest.raises(ValueError, match="must be 2-D"):
        detect_saturation(np.zeros(4), 1.0)
    with pytest.raises(ValueError, match="cannot read the section"):
        saturation_level({"SATURATA": 1.0, "SATURATB": 2.0, "DATASECA": "1:2", "DATASECB": "[1:2,1:2]"}, (2, 2))


def test_docstring_examples():
    assert doctest.testmod(saturation).failed == 0
