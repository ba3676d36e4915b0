"""Sizes and counts from the user are checked against the data and memory before allocating."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage as ndi

import astromask
from astromask import Mask, MaskSchema, morphology
from astromask._limits import check_memory
from astromask.errors import FlagExpressionError, LimitError
from astromask.footprint import disk, make_footprint
from astromask.significance import tophat_sum


@pytest.fixture
def mask():
    m = Mask((20, 30), MaskSchema(["BAD", "SAT"]))
    m.set("BAD", (3, 4))
    m.set("BAD", (15, 25))
    m.set("SAT", np.s_[8:10, 10:20])
    return m


def test_a_footprint_larger_than_the_image_is_cut_to_it_with_the_same_result(mask):
    assert make_footprint("disk", 25, limit=(20, 30)).shape == (41, 51)  # rows cut to +-20
    for footprint in ("disk", "box", "diamond"):
        grown = morphology.grow(mask, 25, footprint=footprint)
        kernel = make_footprint(footprint, 25)  # 51 x 51, uncut
        for plane in ("BAD", "SAT"):
            expected = ndi.binary_dilation(mask.get(plane), kernel)
            np.testing.assert_array_equal(grown.get(plane), expected, err_msg=f"{footprint} {plane}")
    huge = morphology.grow(mask, 100000)  # a 300 GB footprint, uncut
    assert huge.get("BAD").all() and huge.get("SAT").all()


def test_many_iterations_stop_at_the_fixed_point_with_scipys_result(mask):
    kernel = disk(1.5)
    grown = morphology.grow(mask, 1.5, iterations=100000)
    np.testing.assert_array_equal(grown.get("BAD"), ndi.binary_dilation(mask.get("BAD"), kernel, iterations=60))
    shrunk = morphology.shrink(mask, 1, footprint="box", iterations=100000, outside="set")
    assert not shrunk.get("SAT").any()
    boxes = morphology.grow(mask, 1, footprint="box", iterations=100000)  # composes into one box
    assert boxes.get("SAT").all()


def test_shrinking_by_more_than_the_image_clears_it_when_outside_is_clear():
    full = Mask.from_bool(np.ones((10, 12), bool), "BAD")
    assert not morphology.shrink(full, 1000, outside="clear").get("BAD").any()
    assert morphology.shrink(full, 1000, outside="set").get("BAD").all()


def test_significance_sums_with_a_radius_beyond_the_map():
    counts = np.random.default_rng(0).poisson(2.0, (30, 40))
    np.testing.assert_array_equal(tophat_sum(counts, 1e5), np.full(counts.shape, counts.sum()))
    np.testing.assert_array_equal(tophat_sum(counts, 45), tophat_sum(counts, 45.0))


def test_a_map_that_cannot_fit_says_how_much_it_needs(cli, tmp_path):
    code, _, err = cli(
        "geom", "-o", tmp_path / "g.fits", "--skydir", "10 20", "--binsz", "0.0001deg", "--width", "180deg"
    )
    assert code == 1
    assert "a 1800000 x 1800000 pixel map needs 6.5 TB of memory" in err and "available" in err
    with pytest.raises(LimitError, match="x needs"):
        check_memory(1e30, "x")


def test_flag_values_beyond_the_mask_width_are_refused(cli, mask, tmp_path):
    with pytest.raises(FlagExpressionError, match="uses bit 36"):
        Mask((2, 2), MaskSchema(["BAD"], dtype=np.uint16)).schema.flags(99999999999)
    path = tmp_path / "m.fits"
    astromask.write(mask, path, format="fits")
    code, _, err = cli("info", path, "--flags", "99999999999")
    assert code == 1 and "uses bit 36" in err


def test_grow_by_a_huge_radius_on_the_command_line(cli, mask, tmp_path):
    path = tmp_path / "m.fits"
    astromask.write(mask, path, format="fits")
    code, _, err = cli("grow", path, tmp_path / "g.fits", "--radius", "100000", "--iterations", "100000")
    assert code == 0, err
    assert astromask.read(tmp_path / "g.fits").get("BAD").all()
