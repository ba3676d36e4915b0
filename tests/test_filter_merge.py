"""`merge`: dmmerge of mask-filtered event lists, the union of their masks (seed: "Merging").

References: the seed ("The output will be the union of the masks from the files in the input
stack"; multiple subspaces merge unreliably), the union of sets (a row kept in either input is in
the merged file; a mask pixel set in either mask is set in the union, at the same physical place),
and ranges / regions ORed as CIAO's `,` and `|` do.
"""

import numpy as np
import pytest
from astropy.io import fits

from astromask.filter import filter_file, merge, read_subspace
from astromask.filter.masks import MaskImage
from astromask.filter.merge import union_masks
from astromask.regions import PixelFrame
from conftest import shared_path

GRID = {"LTM1_1": 1.0, "LTM2_2": 1.0, "LTV1": 8.0, "LTV2": 8.0}


def events_path():
    return str(shared_path("ciao", "events", "test.ev"))


def write_mask(path, values, cards):
    fits.PrimaryHDU(np.asarray(values), header=fits.Header(cards)).writeto(path)
    return str(path)


def column(path, name):
    with fits.open(path) as hdul:
        return np.asarray(hdul[1].data[name])


@pytest.fixture
def halves(tmp_path):
    """a.fits filtered by a 15x15 mask on physical -7..7; b.fits by an 8x8 mask on physical 5..12."""
    big = np.zeros((15, 15), np.uint8)
    big[2:6, 2:9] = 1
    small = np.ones((8, 8), np.int16)
    small[0, 0] = 0
    ma = write_mask(tmp_path / "ma.fits", big, GRID)
    mb = write_mask(tmp_path / "mb.fits", small, dict(GRID, LTV1=-4.0, LTV2=-4.0))
    filter_file(f"{events_path()}[sky=mask({ma}),pi=0:3]", str(tmp_path / "a.fits"))
    filter_file(f"{events_path()}[sky=mask({mb}),pi=5:7]", str(tmp_path / "b.fits"))
    return big, small


def test_rows_are_concatenated_and_masks_unioned(tmp_path, halves):
    big, small = halves
    summary = merge([str(tmp_path / "a.fits"), str(tmp_path / "b.fits")], str(tmp_path / "ab.fits"))
    time_a, time_b = column(tmp_path / "a.fits", "TIME"), column(tmp_path / "b.fits", "TIME")
    assert summary.rows == [len(time_a), len(time_b)] and summary.total == len(time_a) + len(time_b) > 0
    assert np.array_equal(column(tmp_path / "ab.fits", "TIME"), np.concatenate([time_a, time_b]))
    with fits.open(tmp_path / "ab.fits") as out:
        assert [h.name for h in out] == ["PRIMARY", "EVENTS", "MASK"]
        union = out["MASK"].data
        frame = PixelFrame.from_header(out["MASK"].header)
        assert union.shape == (20, 20) and frame.to_physical(1.0, 1.0) == (-7.0, -7.0)  # physical -7..12
        expected = np.zeros((20, 20), np.uint8)
        expected[:15, :15] = big
        expected[12:, 12:] |= small.astype(np.uint8)
        assert np.array_equal(union, expected)
        assert [[str(d) for d in c] for c in read_subspace(out[1].header)] == [["sky TABLE :MASK", "pi 0:3,5:7"]]


def test_an_unfiltered_input_leaves_the_union_unconstrained(tmp_path, halves):
    merge([str(tmp_path / "a.fits"), events_path()], str(tmp_path / "out.fits"))
    with fits.open(tmp_path / "out.fits") as out:
        assert read_subspace(out[1].header) == [] and [h.name for h in out] == ["PRIMARY", "EVENTS"]
        assert len(out[1].data) == len(column(tmp_path / "a.fits", "TIME")) + 296


def test_regions_are_ored(tmp_path):
    filter_file(f"{events_path()}[sky=circle(0,0,3)]", str(tmp_path / "a.fits"))
    filter_file(f"{events_path()}[sky=circle(4,4,2)-box(4,4,1,1)]", str(tmp_path / "b.fits"))
    merge([str(tmp_path / "a.fits"), str(tmp_path / "b.fits")], str(tmp_path / "out.fits"))
    with fits.open(tmp_path / "out.fits") as out:
        assert [str(d) for d in read_subspace(out[1].header)[0]] == ["sky Circle(0,0,3)|Circle(4,4,2)&!Box(4,4,1,1)"]


def test_different_columns_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"column 1 differs: TSCAL1 is '' in .*test.ev\[EVENTS\] but '10.0'"):
        merge([events_path(), str(shared_path("ciao", "events", "test2.ev"))], str(tmp_path / "out.fits"))
    assert not (tmp_path / "out.fits").exists()


def test_several_subspace_components_are_refused(tmp_path):
    filter_file(f"{events_path()}[sky=circle(0,0,3)||pi=1]", str(tmp_path / "two.fits"))
    with pytest.raises(ValueError, match="2 subspace components; .* apply mask filters after merging"):
        merge([str(tmp_path / "two.fits"), events_path()], str(tmp_path / "out.fits"))


def test_masks_on_different_grids_cannot_be_unioned():
    a = MaskImage(np.ones((2, 2)), fits.Header({"LTM1_1": 1.0, "LTM2_2": 1.0}))
    b = MaskImage(np.ones((2, 2)), fits.Header({"LTM1_1": 0.5, "LTM2_2": 0.5}))
    with pytest.raises(ValueError, match="different pixel grids"):
        union_masks(a, b)
    c = MaskImage(np.ones((2, 2)), fits.Header({"LTV1": 0.5}))
    with pytest.raises(ValueError, match="not a whole number of pixels"):
        union_masks(a, c)


def test_merge_needs_two_inputs_and_no_filters(tmp_path):
    with pytest.raises(ValueError, match="at least two inputs"):
        merge([events_path()], str(tmp_path / "out.fits"))
    with pytest.raises(ValueError, match="filter first, then merge"):
        merge([events_path() + "[pi=1]", events_path()], str(tmp_path / "out.fits"))
