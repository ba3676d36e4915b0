"""dmimgblob label maps against hand-worked maps, skimage.measure.label and astropy convolution."""

import re

import numpy as np
import pytest
from astropy.convolution import convolve
from astropy.io import fits
from skimage.measure import label as sk_label
from skimage.measure import regionprops

import astromask.cli
from astromask.blobs import BlobProperties, blob_mask, blob_properties, blobs, gaussian_smooth
from astromask.cli import blob as blob_cli
from astromask.threshold import thresh
from conftest import shared_path

# Two diagonal neighbours (0,0)-(1,1), a vertical pair in column 3, a horizontal pair at the bottom.
IMAGE = np.array(
    [
        [5, 0, 0, 5],
        [0, 5, 0, 5],
        [0, 0, 0, 0],
        [5, 5, 0, 9],
    ],
    dtype=float,
)


def test_blobs_hand_worked_eight_connected():
    expected = np.array(
        [
            [1, -1, -1, 2],
            [-1, 1, -1, 2],
            [-1, -1, -1, -1],
            [3, 3, -1, 4],
        ]
    )
    labels = blobs(IMAGE, 5)
    np.testing.assert_array_equal(labels, expected)
    assert labels.dtype == np.int32


def test_blobs_hand_worked_four_connected():
    # the diagonal pair splits; the zeros still form one background group
    expected = np.array(
        [
            [1, -1, -1, 2],
            [-1, 3, -1, 2],
            [-1, -1, -1, -1],
            [4, 4, -1, 5],
        ]
    )
    np.testing.assert_array_equal(blobs(IMAGE, 5, connectivity=4), expected)


def test_blobs_background_groups_and_srconly():
    # a ring of sources cuts the background into an inside and an outside group
    image = np.zeros((5, 5))
    image[1:4, 1:4] = 1.0
    image[2, 2] = 0.0
    expected = np.full((5, 5), -1)
    expected[1:4, 1:4] = 1
    expected[2, 2] = -2
    np.testing.assert_array_equal(blobs(image, 1.0, connectivity=8), expected)
    # with 4-connectivity the background is still 2 groups (the ring has no gap)
    np.testing.assert_array_equal(blobs(image, 1.0, connectivity=4), expected)
    np.testing.assert_array_equal(blobs(image, 1.0, srconly=True), np.where(expected > 0, expected, 0))


def test_threshold_is_inclusive_and_nan_is_zero():
    image = np.array([[0.5, 0.49, np.nan, 0.5]])
    np.testing.assert_array_equal(blobs(image, 0.5), [[1, -1, 0, 2]])
    np.testing.assert_array_equal(blobs(image, 0.5, srconly=True), [[1, 0, 0, 2]])
    # a NaN pixel breaks a group in two
    np.testing.assert_array_equal(blobs(np.array([[1.0, np.nan, 1.0]]), 1.0), [[1, 0, 2]])


@pytest.mark.parametrize("connectivity, sk_connectivity", [(4, 1), (8, 2)], ids=["4", "8"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blobs_match_skimage_labels(seed, connectivity, sk_connectivity):
    rng = np.random.default_rng(seed)
    image = rng.random((60, 70))
    image[rng.random(image.shape) < 0.02] = np.nan
    labels = blobs(image, 0.6, connectivity=connectivity)
    sources = sk_label(image >= 0.6, connectivity=sk_connectivity)
    background = sk_label(image < 0.6, connectivity=sk_connectivity)
    # skimage numbers components in raster order of their first pixel too
    np.testing.assert_array_equal(labels, sources - background)
    first = [np.flatnonzero(labels.ravel() == k)[0] for k in range(1, labels.max() + 1)]
    assert first == sorted(first)


def test_integer_images():
    image = IMAGE.astype(np.int16)
    np.testing.assert_array_equal(blobs(image, 5), blobs(IMAGE, 5))
    np.testing.assert_array_equal(blobs(image, 4.5), blobs(IMAGE, 5))


def test_gaussian_smooth_matches_astropy_interpolating_convolution():
    rng = np.random.default_rng(5)
    image = rng.normal(10.0, 3.0, (30, 40))
    image[rng.random(image.shape) < 0.05] = np.nan
    sigma = 1.5
    radius = int(4 * sigma + 0.5)  # scipy's truncate=4 kernel
    x = np.arange(-radius, radius + 1)
    g = np.exp(-0.5 * (x / sigma) ** 2)
    kernel = np.outer(g, g) / np.outer(g, g).sum()
    expected = convolve(
        image, kernel, boundary="fill", fill_value=np.nan, nan_treatment="interpolate", preserve_nan=True
    )
    got = gaussian_smooth(image, sigma)
    np.testing.assert_allclose(got, expected, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(image))


def test_smoothing_joins_close_peaks():
    image = np.zeros((9, 15))
    image[4, 5] = image[4, 9] = 10.0  # two single-pixel peaks 4 px apart
    assert blobs(image, 1.0, srconly=True).max() == 2
    smoothed = blobs(image, 0.1, smooth=2.0, srconly=True)
    assert smoothed.max() == 1 and smoothed[4, 7] == 1


def test_blob_mask_selections():
    labels = blobs(IMAGE, 5)
    np.testing.assert_array_equal(blob_mask(labels, 2), labels == 2)
    np.testing.assert_array_equal(blob_mask(labels, "sources"), IMAGE >= 5)
    np.testing.assert_array_equal(blob_mask(labels, "background"), IMAGE < 5)
    np.testing.assert_array_equal(blob_mask(labels, "1,3:4"), np.isin(labels, [1, 3, 4]))
    np.testing.assert_array_equal(blob_mask(labels, [1, 4]), np.isin(labels, [1, 4]))
    np.testing.assert_array_equal(blob_mask(labels, "-1"), labels == -1)


def test_ciao_recipe_select_one_group_with_thresh():
    """seed 002: dmimgblob ... srconly=yes, then dmimgthresh map cut=5:5 value=0 keeps group 5."""
    rng = np.random.default_rng(11)
    labels = blobs(rng.random((40, 40)), 0.7, srconly=True)
    assert labels.max() >= 5
    np.testing.assert_array_equal(thresh(labels, "5:5", value=0) != 0, blob_mask(labels, "5:5"))


@pytest.mark.parametrize("select", ["", "1.5", "a:b", "1:2:3", "1,,2"])
def test_blob_mask_rejects_bad_text(select):
    with pytest.raises(ValueError, match=r"^select must be .*" + re.escape(repr(select))):
        blob_mask(np.zeros((2, 2), dtype=np.int32), select)


def test_blob_mask_rejects_non_integer_inputs():
    with pytest.raises(ValueError, match="select must be"):
        blob_mask(np.zeros((2, 2), dtype=np.int32), [1.5])
    with pytest.raises(TypeError, match="labels must be an integer array, got dtype float64"):
        blob_mask(np.zeros((2, 2)), 1)


def test_blob_properties_match_skimage_regionprops():
    rng = np.random.default_rng(3)
    image = rng.random((30, 35))
    labels = blobs(image, 0.75)
    props = blob_properties(labels, image)
    reference = regionprops(np.where(labels > 0, labels, 0), intensity_image=image)
    assert [p.label for p in props] == [r.label for r in reference]
    for ours, theirs in zip(props, reference):
        assert ours.area == theirs.area
        y, x = theirs.centroid
        assert ours.centroid == pytest.approx((x, y), rel=1e-12)
        y0, x0, y1, x1 = theirs.bbox  # skimage: exclusive stop
        assert ours.bbox == (x0, y0, x1 - 1, y1 - 1)
        assert ours.peak == theirs.intensity_max
        assert ours.flux == pytest.approx(theirs.intensity_mean * theirs.area, rel=1e-12)
        px, py = ours.peak_xy
        assert image[py, px] == ours.peak and labels[py, px] == ours.label


def test_blob_properties_hand_worked_and_without_image():
    labels = np.array([[0, 0, 0, 0], [0, 2, 2, 0], [0, 2, 2, -1], [7, 0, 0, 0]])
    props = blob_properties(labels)
    assert props == [
        BlobProperties(label=2, area=4, centroid=(1.5, 1.5), bbox=(1, 1, 2, 2)),
        BlobProperties(label=7, area=1, centroid=(0.0, 3.0), bbox=(0, 3, 0, 3)),
    ]
    assert blob_properties(np.zeros((3, 3), dtype=np.int32)) == []
    with pytest.raises(ValueError, match=r"image has shape \(2, 2\), labels have shape \(4, 4\)"):
        blob_properties(labels, np.zeros((2, 2)))


def test_blobs_errors():
    with pytest.raises(ValueError, match="connectivity must be 4 or 8, got 6"):
        blobs(IMAGE, 1, connectivity=6)
    with pytest.raises(ValueError, match="threshold must be a number, got nan"):
        blobs(IMAGE, np.nan)
    with pytest.raises(ValueError, match="smoothing sigma must be a positive number of pixels, got 0"):
        blobs(IMAGE, 1, smooth=0)
    with pytest.raises(TypeError, match="image must be an integer or float image"):
        blobs(IMAGE > 1, 1)


# -- command line -------------------------------------------------------------------------------


def cli(monkeypatch, capsys, *argv):
    monkeypatch.setitem(astromask.cli.COMMANDS, "blob", blob_cli)
    code = astromask.cli.main(["blob", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def write_image(path, data):
    header = fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "BUNIT": "count", "OBJECT": "test"})
    fits.PrimaryHDU(data, header=header).writeto(path)
    return str(path)


def test_cli_label_map_round_trip(tmp_path, monkeypatch, capsys):
    src = write_image(tmp_path / "in.fits", IMAGE.astype(np.float32))
    out = tmp_path / "map.fits"
    code, _, err = cli(monkeypatch, capsys, src, out, "--threshold", "5", "--connectivity", "4")
    assert code == 0, err
    with fits.open(out) as hdul:
        assert hdul[0].data.dtype.kind == "i" and hdul[0].data.dtype.itemsize == 4
        assert hdul[0].header["OBJECT"] == "test" and "BUNIT" not in hdul[0].header
        expected = sk_label(IMAGE >= 5, connectivity=1) - sk_label(IMAGE < 5, connectivity=1)
        np.testing.assert_array_equal(hdul[0].data, expected)


def test_cli_srconly_smooth_and_select(tmp_path, monkeypatch, capsys):
    image = np.zeros((9, 30))
    image[4, 5] = image[4, 9] = 10.0
    image[0, 29] = 10.0
    src = write_image(tmp_path / "in.fits", image)
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "a.fits", "--threshold", "1", "--srconly")
    assert code == 0, err
    np.testing.assert_array_equal(fits.getdata(tmp_path / "a.fits"), sk_label(image >= 1, connectivity=2))
    code, _, err = cli(
        monkeypatch, capsys, src, tmp_path / "b.fits", "--threshold", "0.1", "--smooth", "2", "--select", "1"
    )
    assert code == 0, err
    mask = fits.getdata(tmp_path / "b.fits")
    assert mask.dtype == np.uint8
    # the joined peaks reach row 0 at column 5, before the corner source: label 1 in raster order
    assert mask[4, 5] == mask[4, 7] == mask[4, 9] == 1 and mask[0, 29] == 0 and mask.sum() > 3


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--threshold", "1", "--select", "x"], "select must be"),
        (["--threshold", "nan"], "threshold must be a number"),
        (["--threshold", "1", "--smooth", "-1"], "smoothing sigma must be a positive number"),
    ],
    ids=["bad-select", "nan-threshold", "negative-smooth"],
)
def test_cli_errors_are_one_line_with_exit_1(tmp_path, monkeypatch, capsys, extra, message):
    src = write_image(tmp_path / "in.fits", IMAGE)
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "out.fits", *extra)
    assert code == 1
    assert err.startswith("astromask blob: error: ") and err.count("\n") == 1 and message in err
    assert not (tmp_path / "out.fits").exists()


def test_cli_usage_and_overwrite(tmp_path, monkeypatch, capsys):
    src = write_image(tmp_path / "in.fits", IMAGE)
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "o.fits")
    assert code == 2 and "--threshold" in err
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "o.fits", "--threshold", "1", "--connectivity", "6")
    assert code == 2 and "invalid choice" in err
    out = tmp_path / "exists.fits"
    out.write_bytes(b"keep")
    code, _, err = cli(monkeypatch, capsys, src, out, "--threshold", "1")
    assert code == 1 and "output file exists" in err and out.read_bytes() == b"keep"
    code, _, err = cli(monkeypatch, capsys, tmp_path / "missing.fits", tmp_path / "o.fits", "--threshold", "1")
    assert code == 1 and "missing.fits" in err


def test_cli_on_a_real_chandra_image(tmp_path, monkeypatch, capsys):
    src = shared_path("ciao", "acisf08478_000N001_r0043_regevt3_srcimg.fits")
    image = fits.getdata(src).astype(np.float64)
    threshold = 1.0  # a small counts image: every pixel with an event is a source pixel
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "map.fits", "--threshold", "1")
    assert code == 0, err
    expected = sk_label(image >= threshold, connectivity=2) - sk_label(image < threshold, connectivity=2)
    np.testing.assert_array_equal(fits.getdata(tmp_path / "map.fits"), expected)
    assert expected.max() >= 1
