"""Mask, region and range filters on images (`ahelp dmmasks` on the real Chandra image).

Data: ../shared/data/ciao/acisf08478_000N001_r0043_regevt3_srcimg.fits (316x313 int16 counts with
physical LTM/LTV and a sky WCS, 19 subspace descriptors) and its CIAO region file. References:
numpy on the same arrays (the mask rule: 0 and NaN exclude, any other value includes), the
input's own coordinate systems (a cropped pixel keeps its physical and sky position), pixel sets
from astromask.regions (the CIAO region library reproduced pixel for pixel, tests/test_regions_*),
and the analytic area of the region file's ellipses.
"""

import math

import numpy as np
import pytest
from astropy.io import fits

from astromask.filter import FilterSyntaxError, describe_subspace, filter_file, filter_image, read_subspace
from astromask.io.fitsfile import read_wcs
from astromask.regions import PixelFrame, region_mask
from conftest import shared_path


def image_path():
    return str(shared_path("ciao", "acisf08478_000N001_r0043_regevt3_srcimg.fits"))


def region_path():
    return str(shared_path("ciao", "acisf08478_000N001_r0043_reg3.fits"))


@pytest.fixture(scope="module")
def chandra():
    with fits.open(image_path()) as hdul:
        return hdul[0].data.astype(np.int16), hdul[0].header.copy()


def mask_like(path, values, header, **changes):
    header = header.copy()
    for key, value in changes.items():
        header[key] = value
    fits.PrimaryHDU(np.asarray(values), header=header).writeto(path)
    return str(path)


@pytest.fixture
def pattern(chandra):
    """A float mask on the image's grid: a block of -2.5 with NaN and Inf holes, and a lone 1."""
    data, _ = chandra
    values = np.zeros(data.shape, dtype=np.float32)
    values[100:180, 120:230] = -2.5
    values[120:130, 150:160] = np.nan
    values[140, 200] = np.inf
    values[250, 40] = 1.0
    return values


def crop_of(selected):
    rows, cols = np.flatnonzero(selected.any(axis=1)), np.flatnonzero(selected.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def test_example_1_image_mask_filter_crops_and_zeros(tmp_path, chandra, pattern):
    data, header = chandra
    m = mask_like(tmp_path / "m.fits", pattern, header)
    summary = filter_file(f"{image_path()}[sky=mask({m})]", str(tmp_path / "out.fits"))
    keep = np.isfinite(pattern) & (pattern != 0)
    rows, cols = crop_of(keep)
    assert (rows, cols) == (slice(100, 251), slice(40, 230))
    expected = np.where(keep, data, 0)[rows, cols]
    with fits.open(tmp_path / "out.fits") as out:
        assert out[0].header["BITPIX"] == 16 and np.array_equal(out[0].data, expected)
        assert [h.name for h in out] == ["PRIMARY", "GTI", "MASK"]
        assert np.array_equal(out["MASK"].data, keep[rows, cols].astype(np.uint8))
        assert out["MASK"].data.dtype == np.uint8
        # every output pixel keeps its physical and sky position
        before, after = PixelFrame.from_header(header), PixelFrame.from_header(out[0].header)
        assert after.to_physical(1.0, 1.0) == pytest.approx(before.to_physical(cols.start + 1.0, rows.start + 1.0))
        sky_before = read_wcs(header).pixel_to_world_values(cols.start, rows.start)
        assert np.allclose(read_wcs(out[0].header).pixel_to_world_values(0, 0), sky_before, rtol=0, atol=1e-12)
        assert np.allclose(read_wcs(out["MASK"].header).pixel_to_world_values(0, 0), sky_before, rtol=0, atol=1e-12)
    assert summary.box == (40, 230, 100, 251) and summary.pixels == (int(keep.sum()), data.size)


def test_example_2_exclude_on_an_image_and_the_inverted_stored_mask(tmp_path, chandra, pattern):
    data, header = chandra
    m = mask_like(tmp_path / "m.fits", pattern, header)
    filter_file(f"{image_path()}[exclude sky=mask({m})][opt full]", str(tmp_path / "out.fits"))
    keep = np.isfinite(pattern) & (pattern != 0)
    with fits.open(tmp_path / "out.fits") as out:
        assert np.array_equal(out[0].data, np.where(keep, 0, data))
        assert np.array_equal(out["MASK"].data, (~keep).astype(np.uint8))


def test_opt_null_and_blank(tmp_path, chandra, pattern):
    data, header = chandra
    m = mask_like(tmp_path / "m.fits", pattern, header)
    keep = np.isfinite(pattern) & (pattern != 0)
    filter_file(f"{image_path()}[sky=mask({m})][opt full,null=-1]", str(tmp_path / "null.fits"))
    assert np.array_equal(fits.getdata(tmp_path / "null.fits"), np.where(keep, data, -1))
    blank = mask_like(tmp_path / "blank_in.fits", data, header, BLANK=-999)
    filter_file(f"{blank}[sky=mask({m})][opt full]", str(tmp_path / "blank.fits"))
    with fits.open(tmp_path / "blank.fits", do_not_scale_image_data=True) as out:
        assert out[0].header["BLANK"] == -999 and np.array_equal(out[0].data, np.where(keep, data, -999))
    with pytest.raises(ValueError, match="null=0.5 is not an integer, but the image is int16"):
        filter_file(f"{image_path()}[sky=mask({m})][opt null=0.5]", str(tmp_path / "bad.fits"))
    as_float = mask_like(tmp_path / "float.fits", data.astype(np.float32), header)
    filter_file(f"{as_float}[sky=mask({m})][opt full,null=nan]", str(tmp_path / "nan.fits"))
    assert np.array_equal(np.isnan(fits.getdata(tmp_path / "nan.fits")), ~keep)


def test_an_equivalent_mask_on_a_shifted_grid_and_outside_excluded(tmp_path, chandra, pattern):
    """A mask cut from the full one (CRPIX, LTV shifted) selects the same pixels; beyond it, nothing."""
    data, header = chandra
    sub = pattern[90:200, 100:240]  # rows 90..199, columns 100..239
    cards = {
        "CRPIX1": header["CRPIX1"] - 100,
        "CRPIX2": header["CRPIX2"] - 90,
        "LTV1": header["LTV1"] - 100,
        "LTV2": header["LTV2"] - 90,
        "CRPIX1P": header["CRPIX1P"] - 100,
        "CRPIX2P": header["CRPIX2P"] - 90,
    }
    m = mask_like(tmp_path / "sub.fits", sub, header, **cards)
    filter_file(f"{image_path()}[sky=mask({m})][opt full]", str(tmp_path / "in.fits"))
    filter_file(f"{image_path()}[exclude sky=mask({m})][opt full]", str(tmp_path / "ex.fits"))
    keep = np.zeros(data.shape, bool)
    keep[90:200, 100:240] = np.isfinite(sub) & (sub != 0)
    outside = np.ones(data.shape, bool)
    outside[90:200, 100:240] = False
    assert np.array_equal(fits.getdata(tmp_path / "in.fits") != 0, keep & (data != 0))
    assert np.array_equal(fits.getdata(tmp_path / "in.fits"), np.where(keep, data, 0))
    assert np.array_equal(fits.getdata(tmp_path / "ex.fits"), np.where(~keep & ~outside, data, 0))


@pytest.mark.parametrize(
    "change, keyword",
    [
        ({"CRVAL1": 149.9}, "CRVAL1"),
        ({"CDELT1": -2.7e-4, "CDELT2": 2.7e-4}, "CDELT1 \\(pixel size\\)"),
        ({"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN"}, "CTYPE1 'RA---TAN' vs 'RA---SIN'"),
        ({"LTM1_1": 0.5, "LTM2_2": 0.5}, "LTM1_1 \\(pixel size\\)"),
        ({"CRPIX1": 1111.16}, "CRPIX1"),
    ],
)
def test_wcs_mismatch_names_the_keyword_and_writes_nothing(tmp_path, chandra, pattern, change, keyword):
    _, header = chandra
    m = mask_like(tmp_path / "m.fits", pattern, header, **change)
    with pytest.raises(FilterSyntaxError, match=f"WCS of mask .* differs .*: {keyword}"):
        filter_file(f"{image_path()}[sky=mask({m})]", str(tmp_path / "out.fits"))
    assert not (tmp_path / "out.fits").exists()


def test_no_wcs_on_the_mask_means_no_check(tmp_path, chandra, pattern):
    _, header = chandra
    bare = fits.Header({k: header[k] for k in ("LTM1_1", "LTM2_2", "LTV1", "LTV2")})
    m = mask_like(tmp_path / "m.fits", pattern, bare)
    filter_file(f"{image_path()}[sky=mask({m})]", str(tmp_path / "out.fits"))
    assert fits.getdata(tmp_path / "out.fits").shape == (151, 190)


def test_example_5_bounds_crops_to_the_mask_bounding_box(tmp_path, chandra, pattern):
    data, header = chandra
    m = mask_like(tmp_path / "m.fits", pattern, header)
    filter_file(f"{image_path()}[sky=bounds(mask({m}))]", str(tmp_path / "out.fits"))
    rows, cols = crop_of(np.isfinite(pattern) & (pattern != 0))
    assert np.array_equal(fits.getdata(tmp_path / "out.fits"), data[rows, cols])


def test_crop_chain_crops_the_stored_mask_with_the_image(tmp_path, chandra, pattern):
    """dmcopy "img[sky=mask(m)]" a; dmcopy "a[sky=region(r)]" b: b and its MASK share the region's box."""
    _data, header = chandra
    m = mask_like(tmp_path / "m.fits", pattern, header)
    filter_file(f"{image_path()}[sky=mask({m})]", str(tmp_path / "a.fits"))
    filter_file(f"{tmp_path / 'a.fits'}[sky=region({region_path()}[BKGREG])]", str(tmp_path / "b.fits"))
    with fits.open(tmp_path / "a.fits") as a, fits.open(tmp_path / "b.fits") as b:
        inside = region_mask(a[0].header, f"region({region_path()}[BKGREG])")
        rows, cols = crop_of(inside)
        assert np.array_equal(b[0].data, np.where(inside, a[0].data, 0)[rows, cols])
        assert b["MASK"].data.shape == b[0].data.shape
        assert np.array_equal(b["MASK"].data, a["MASK"].data[rows, cols])
        descriptors = [str(d) for d in read_subspace(b[0].header)[0]]
        assert descriptors[:19] == [str(d) for d in read_subspace(header)[0]]  # CIAO's own records kept
        assert descriptors[19] == "sky TABLE :MASK" and descriptors[20].startswith("sky Ellipse(")
        area = describe_subspace(b, 0)[0]["areas"][0]
        assert area["region_area"] == int((b["MASK"].data.astype(bool) & inside[rows, cols]).sum())


def test_region_filter_matches_the_region_library_and_records_its_area(tmp_path, chandra):
    data, header = chandra
    filter_file(f"{image_path()}[sky=region({region_path()}[BKGREG])]", str(tmp_path / "out.fits"))
    inside = region_mask(header, f"region({region_path()}[BKGREG])")
    rows, cols = crop_of(inside)
    with fits.open(tmp_path / "out.fits") as out:
        assert np.array_equal(out[0].data, np.where(inside, data, 0)[rows, cols])
        assert [h.name for h in out] == ["PRIMARY", "GTI"]
        (area,) = describe_subspace(out, 0)[0]["areas"]
    a, b, c, d = 126.48929596, 95.55929184, 25.29785919, 19.11185837  # the file's R columns
    assert area["region_area"] == pytest.approx(math.pi * (a * b - c * d), rel=1e-6)
    # the field: the image's own x and y range descriptors (DSVAL11, DSVAL12)
    assert area["field_area"] == pytest.approx((3302.2099609375 - 2986.84008789062) * (4674.9599609375 - 4362.66015625))


def test_physical_axis_ranges_on_an_image(tmp_path, chandra):
    """x=3000:3100 keeps the columns whose physical centres x = i + 1 - LTV1 lie in [3000, 3100)."""
    data, header = chandra
    centres = np.arange(1, data.shape[1] + 1) - header["LTV1"]
    keep = (centres >= 3000) & (centres < 3100)
    filter_file(f"{image_path()}[x=3000:3100]", str(tmp_path / "out.fits"))
    assert np.array_equal(fits.getdata(tmp_path / "out.fits"), data[:, keep])
    assert keep.sum() == 100


def test_filter_image_in_memory():
    data = np.arange(30.0).reshape(5, 6)
    header = fits.Header({"LTV1": -10.0, "LTV2": -20.0})  # physical = logical + (10, 20)
    result = filter_image(data, header, "[sky=box(13,22,2.2,2.2)][opt null=-1]")
    assert result.box == (1, 4, 0, 3)
    assert result.data.tolist() == [[1.0, 2.0, 3.0], [7.0, 8.0, 9.0], [13.0, 14.0, 15.0]]
    assert result.header["LTV1"] == -11.0 and result.header["LTV2"] == -20.0
    with pytest.raises(ValueError, match="selects no pixel"):
        filter_image(data, header, "sky=circle(0,0,1)")


def test_three_dimensional_images_are_refused(tmp_path):
    fits.PrimaryHDU(np.zeros((2, 3, 4), np.float32)).writeto(tmp_path / "cube.fits")
    with pytest.raises(ValueError, match="3-D image; masks and filters work on 2-D images only"):
        filter_file(f"{tmp_path / 'cube.fits'}[sky=circle(1,1,1)]", str(tmp_path / "out.fits"))


@pytest.mark.parametrize(
    "filters, expected",
    [
        ("(x,y)=mask({m})", lambda m, m2, circle, xs: m),  # example 4
        ("sky=mask({m}),sky=circle(3100,4500,40)", lambda m, m2, circle, xs: m & circle),  # example 6
        ("sky=mask({m}),x=3100:3200", lambda m, m2, circle, xs: m & (xs >= 3100) & (xs < 3200)),  # example 7
        ("sky=mask({m})||sky=mask({m2})", lambda m, m2, circle, xs: m | m2),  # example 8
        ("sky=mask({m}),sky=mask({m2})", lambda m, m2, circle, xs: m & m2),
    ],
    ids=["4", "6", "7", "8-or", "8-and"],
)
def test_examples_4_to_8_on_the_image(tmp_path, chandra, pattern, filters, expected):
    data, header = chandra
    second = np.zeros(data.shape, np.int32)
    second[150:300, 200:300] = 3
    m = mask_like(tmp_path / "m.fits", pattern, header)
    m2 = mask_like(tmp_path / "m2.fits", second, header)
    keep_m = np.isfinite(pattern) & (pattern != 0)
    circle = region_mask(header, "circle(3100,4500,40)")
    xs = np.broadcast_to(np.arange(1, data.shape[1] + 1) - header["LTV1"], data.shape)  # physical x of centres
    keep = expected(keep_m, second != 0, circle, xs)
    assert 0 < keep.sum() < keep.size
    filter_file(f"{image_path()}[{filters.format(m=m, m2=m2)}][opt full]", str(tmp_path / "out.fits"))
    assert np.array_equal(fits.getdata(tmp_path / "out.fits"), np.where(keep, data, 0))


@pytest.mark.parametrize(
    "filters, reason",
    [
        ("[sky=mask({m})&region({r})]", "cannot be logically combined"),
        ("[sky=mask({m})][exclude sky=circle(3100,4500,40)]", "include and exclude"),
        ("[sky=mask({m}),(y,x)=mask({m})]", "one mask at a time"),
        ("[(time,pi)=mask({m})]", "no axis 'time'"),
    ],
    ids=["10", "11", "12", "9-no-such-axis"],
)
def test_examples_9_to_12_refused_on_the_image(tmp_path, chandra, pattern, filters, reason):
    _, header = chandra
    m = mask_like(tmp_path / "m.fits", pattern, header)
    with pytest.raises(FilterSyntaxError, match=reason):
        filter_file(image_path() + filters.format(m=m, r=region_path()), str(tmp_path / "out.fits"))
    assert not (tmp_path / "out.fits").exists()
