"""Significance maps and masks: gammapy's test values, Li & Ma by hand, scipy/skimage/astropy references."""

import astropy.units as u
import numpy as np
import pytest
from astropy.convolution import Tophat2DKernel
from astropy.io import fits
from scipy import ndimage as ndi
from skimage.filters import apply_hysteresis_threshold

import astromask.cli
from astromask.cli import significance as significance_cli
from astromask.io.fitsfile import wcs_cards
from astromask.significance import (
    cash_significance,
    li_ma_significance,
    significance_map,
    significance_mask,
    tophat_sum,
)
from astromask.sky import make_geometry


def gammapy_grid():
    """The grid of gammapy's estimators/map/tests/test_excess.py: 20x20, 0.02 deg, CAR at (0, 0)."""
    return make_geometry((0, 0), npix=20, binsz=0.02)


# --------------------------------------------------------------------------- statistics


def test_li_ma_eq17_reference_value():
    # gammapy.md section 8: n_on 30, n_off 100, alpha 0.1 -> 4.741590 (WStat sqrt_ts and eq. 17 agree)
    assert li_ma_significance(30, 100, 0.1) == pytest.approx(4.741590, abs=1e-6)


def test_li_ma_sign_and_zero_counts():
    # a deficit is negative; n_on = 0 leaves sqrt(2 n_off ln(1 + alpha)) (eq. 17 with 0 ln 0 = 0)
    assert li_ma_significance(5, 100, 0.1) < 0
    assert li_ma_significance(0, 40, 0.5) == pytest.approx(-np.sqrt(2 * 40 * np.log(1.5)))
    # n_off = 0 leaves sqrt(2 n_on ln((1 + alpha) / alpha))
    assert li_ma_significance(7, 0, 0.25) == pytest.approx(np.sqrt(2 * 7 * np.log(5)))
    assert li_ma_significance(0, 0, 0.3) == 0
    with pytest.raises(ValueError, match="alpha > 0"):
        li_ma_significance(1, 1, 0)


def test_cash_reference_values():
    # gammapy.md section 8: n = 162, b = 81 -> 7.910732; n = 0 -> -sqrt(2 b)
    assert cash_significance(162, 81) == pytest.approx(7.910732, abs=1e-6)
    assert cash_significance(0, 8) == pytest.approx(-4.0)
    assert cash_significance(0, 0) == 0
    assert cash_significance(3, 0) == np.inf
    with pytest.raises(ValueError, match="background >= 0"):
        cash_significance(1, -1)


def test_cash_is_li_ma_limit_for_small_alpha():
    # Li & Ma with n_off = b / alpha tends to the known-background statistic as alpha -> 0
    alpha = 1e-7
    assert li_ma_significance(50, 30 / alpha, alpha) == pytest.approx(cash_significance(50, 30), rel=1e-5)


# --------------------------------------------------------------------------- top-hat sums


@pytest.mark.parametrize("radius", [0, 1, 1.5, 3, 5, 5.5, 9], ids=lambda r: f"r{r}")
def test_tophat_sum_is_correlation_with_astropy_tophat(radius):
    rng = np.random.default_rng(2)
    image = rng.poisson(3, size=(37, 41))
    kernel = (Tophat2DKernel(radius).array > 0).astype(int) if radius else np.ones((1, 1), int)
    expected = ndi.correlate(image, kernel, mode="constant", cval=0)
    result = tophat_sum(image, radius)
    assert result.dtype == np.int64
    np.testing.assert_array_equal(result, expected)
    floats = tophat_sum(image * 0.5, radius)
    np.testing.assert_allclose(floats, expected * 0.5, rtol=1e-12)


@pytest.mark.parametrize("radius, area", [(1, 5), (3, 29), (5, 81), (9, 253), (33, 3409)])
def test_tophat_areas_match_gammapy_disks(radius, area):
    # gammapy.md section 2: Tophat2DKernel(r) normalised to its peak -> 5, 29, 81, 253, 3409 pixels
    size = 2 * radius + 1
    image = np.zeros((size, size), dtype=bool)
    image[radius, radius] = True
    assert tophat_sum(np.ones((size, size), bool), radius)[radius, radius] == area
    assert tophat_sum(image, radius).sum() == area


def test_tophat_sum_errors():
    with pytest.raises(ValueError, match="2-D"):
        tophat_sum(np.ones(5), 1)
    with pytest.raises(ValueError, match="non-negative"):
        tophat_sum(np.ones((3, 3)), -1)
    with pytest.raises(ValueError, match="NaN"):
        tophat_sum(np.array([[1.0, np.nan]]), 1)


# --------------------------------------------------------------------------- gammapy's estimator tests


def test_excess_estimator_simple_dataset():
    # test_significance_map_estimator_map_dataset: counts 2, background 1, 0.1 deg -> sqrt_ts 7.910732
    geom = gammapy_grid()
    counts, background = np.full(geom.shape, 2), np.ones(geom.shape)
    result = significance_map(counts, background, "0.1 deg", wcs=geom.wcs)
    assert result[10, 10] == pytest.approx(7.910732, abs=1e-5)
    assert tophat_sum(counts, 5)[10, 10] == 162  # npred; excess 162 - 81 = 81
    assert significance_map(counts, background, 5)[10, 10] == result[10, 10]  # 5 px = 0.1 deg / 0.02 deg
    assert significance_map(counts, background, 0.1 * u.deg, wcs=geom.wcs)[10, 10] == result[10, 10]


def test_excess_estimator_mask_safe_over_energy_planes():
    # test_significance_map_estimator_map_dataset_mask_safe: 3 energy planes of counts 2 and background 1,
    # mask_safe False on rows < 10 of the first: summed over energy -> npred 416, sqrt_ts 12.676681
    planes_safe = np.ones((3, 20, 20), dtype=bool)
    planes_safe[0, :10, :] = False
    counts = (2.0 * planes_safe).sum(axis=0)
    background = (1.0 * planes_safe).sum(axis=0)
    assert tophat_sum(counts, 5)[10, 10] == 416
    assert significance_map(counts, background, 5)[10, 10] == pytest.approx(12.676681, abs=1e-5)


def test_mask_safe_pixels_add_nothing_and_are_nan():
    counts, background = np.full((20, 20), 2.0), np.ones((20, 20))
    safe = np.ones((20, 20), dtype=bool)
    safe[:10, :] = False
    result = significance_map(counts, background, 5, mask_safe=safe)
    assert np.isnan(result[:10]).all() and np.isfinite(result[10:]).all()
    # at (10, 10) the disk keeps the rows dy = 0..5: 11 + 9 + 9 + 9 + 7 + 1 = 46 pixels
    assert result[10, 10] == pytest.approx(cash_significance(92, 46))


def test_nan_inputs_count_as_unsafe():
    counts, background = np.full((20, 20), 2.0), np.ones((20, 20))
    counts[3, 4] = np.nan
    background[15, 15] = np.inf
    result = significance_map(counts, background, 5)
    safe = np.ones((20, 20), dtype=bool)
    safe[3, 4] = safe[15, 15] = False
    expected = significance_map(np.where(safe, counts, 0), np.where(safe, background, 0), 5, mask_safe=safe)
    np.testing.assert_array_equal(result, expected)
    assert np.isnan(result[3, 4]) and np.isnan(result[15, 15])


def test_on_off_with_correlation():
    # test_excess_map_estimator_map_dataset_on_off_with_correlation: counts 2, counts_off 1,
    # acceptance 1 / 1, radius 0.11 deg (5.5 px, 97 pixels) -> npred 194, sqrt_ts 5.741116
    geom = gammapy_grid()
    counts, off = np.full(geom.shape, 2), np.ones(geom.shape)
    assert tophat_sum(counts, 5.5)[10, 10] == 194
    result = significance_map(counts, off, "0.11deg", wcs=geom.wcs, alpha=1.0)
    assert result[10, 10] == pytest.approx(5.741116, abs=1e-5)


def test_on_off_mask_fit_row_and_column():
    # ..._on_off_with_correlation_mask_fit: row and column 10 masked, two energy planes summed
    # (counts 2 + 2, off 1 + 1) -> NaN at (10, 10); at (9, 9) npred 304 and sqrt_ts 7.186745
    counts, off = np.full((20, 20), 4), np.full((20, 20), 2)
    safe = np.ones((20, 20), dtype=bool)
    safe[10, :] = safe[:, 10] = False
    result = significance_map(counts, off, 5.5, alpha=1, mask_safe=safe)
    assert np.isnan(result[10, 10])
    assert tophat_sum(counts * safe, 5.5)[9, 9] == 304
    assert result[9, 9] == pytest.approx(7.186745, abs=1e-5)


def test_alpha_map_is_weighted_by_off_counts():
    rng = np.random.default_rng(5)
    counts, off = rng.poisson(6, (15, 15)), rng.poisson(20, (15, 15))
    alpha = rng.uniform(0.1, 0.4, (15, 15))
    result = significance_map(counts, off, 1, alpha=alpha)
    # pixel (7, 7) with radius 1: itself and its four neighbours
    disk = (np.array([7, 6, 8, 7, 7]), np.array([7, 7, 7, 6, 8]))
    n_on, n_off = counts[disk].sum(), off[disk].sum()
    expected = li_ma_significance(n_on, n_off, (alpha[disk] * off[disk]).sum() / n_off)
    assert result[7, 7] == pytest.approx(expected, rel=1e-12)
    constant = significance_map(counts, off, 1, alpha=np.full((15, 15), 0.2))
    np.testing.assert_array_equal(constant, significance_map(counts, off, 1, alpha=0.2))


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(radius="0.1deg"), ValueError, "celestial WCS"),
        (dict(radius=5, alpha=-1.0), ValueError, "alpha must be positive"),
        (dict(radius=5, mask_safe=np.ones((3, 3))), ValueError, "mask_safe must be shape"),
        (dict(radius="5 m"), ValueError, "radius"),
    ],
    ids=["angle-without-wcs", "alpha", "mask-shape", "unit"],
)
def test_significance_map_errors(kwargs, error, message):
    radius = kwargs.pop("radius")
    with pytest.raises(error, match=message):
        significance_map(np.ones((20, 20)), np.ones((20, 20)), radius, **kwargs)


# --------------------------------------------------------------------------- masks


def test_mask_levels_are_strict():
    s = np.array([[5.0, 5.1, -3.0], [-3.1, 0.0, np.nan]])
    np.testing.assert_array_equal(significance_mask(s, above=5), [[0, 1, 0], [0, 0, 0]])
    np.testing.assert_array_equal(significance_mask(s, below=-3), [[0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(significance_mask(s, above=5, below=-3), [[0, 1, 0], [1, 0, 0]])


def test_nan_policy_follows_the_tutorial():
    # The tutorial's exclusion mask is sqrt_ts < 5, then NaN pixels are set True (usable):
    # without that fix the NaN pixels would be excluded (gammapy.md: 4276 excluded, 1600 NaN -> 2676).
    rng = np.random.default_rng(4)
    s = rng.normal(3, 3, (60, 60))
    s[:20, :20] = np.nan
    naive_excluded = ~(s < 5)
    tutorial_usable = s < 5
    tutorial_usable[np.isnan(s)] = True
    np.testing.assert_array_equal(significance_mask(s, above=5), ~tutorial_usable)
    np.testing.assert_array_equal(significance_mask(s, above=5, nan="mask"), naive_excluded)
    assert naive_excluded.sum() - significance_mask(s, above=5).sum() == 400


@pytest.mark.parametrize("connectivity", [4, 8])
def test_hysteresis_matches_skimage(connectivity):
    rng = np.random.default_rng(6)
    s = ndi.gaussian_filter(rng.normal(0, 1, (80, 80)), 2) * 12
    s[70:, 70:] = np.nan
    expected = apply_hysteresis_threshold(np.nan_to_num(s, nan=-np.inf), 3, 5)
    if connectivity == 8:
        labels, _ = ndi.label(s > 3, structure=np.ones((3, 3)))
        expected = np.isin(labels, np.unique(labels[s > 5]))
    result = significance_mask(s, above=5, low=3, connectivity=connectivity)
    np.testing.assert_array_equal(result, expected)
    assert (s > 5).sum() < result.sum() < (s > 3).sum()


@pytest.mark.parametrize(
    "kwargs, message",
    [(dict(), "give a level"), (dict(above=5, nan="drop"), "nan must be one of"), (dict(below=1, low=0), "needs")],
    ids=["no-level", "nan-policy", "low-without-above"],
)
def test_significance_mask_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        significance_mask(np.zeros((3, 3)), **kwargs)


# --------------------------------------------------------------------------- command


def _write(path, data, geom):
    fits.PrimaryHDU(np.asarray(data), header=wcs_cards(geom.wcs)).writeto(path)
    return path


def cli(monkeypatch, capsys, *argv):
    monkeypatch.setitem(astromask.cli.COMMANDS, "significance", significance_cli)
    code = astromask.cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_significance_command_masks_full_disks(tmp_path, monkeypatch, capsys):
    # counts 2, background 1: a full 81-pixel disk gives 7.9107; a clipped one at most 80 pixels,
    # sqrt(2 (160 ln 2 - 80)) = 7.86. Above 7.9: exactly the pixels 5 or more from every edge.
    geom = gammapy_grid()
    counts = _write(tmp_path / "counts.fits", np.full(geom.shape, 2, np.int32), geom)
    background = _write(tmp_path / "bkg.fits", np.ones(geom.shape, np.float32), geom)
    out = tmp_path / "mask.fits"
    code, _, err = cli(
        monkeypatch, capsys, "significance", counts, background, out, "--radius", "0.1deg", "--above", "7.9"
    )
    assert code == 0, err
    expected = np.zeros(geom.shape, np.uint8)
    expected[5:15, 5:15] = 1
    with fits.open(out) as hdul:
        np.testing.assert_array_equal(hdul[0].data, expected)
        assert hdul[0].header["CTYPE1"] == "RA---CAR"
    inverted = tmp_path / "usable.fits"
    assert (
        cli(
            monkeypatch,
            capsys,
            "significance",
            counts,
            background,
            inverted,
            "--radius",
            "5",
            "--above",
            "7.9",
            "--invert",
        )[0]
        == 0
    )
    np.testing.assert_array_equal(fits.getdata(inverted), 1 - expected)


def test_significance_command_on_off_nan_and_hysteresis(tmp_path, monkeypatch, capsys):
    geom = gammapy_grid()
    rng = np.random.default_rng(8)
    counts = rng.poisson(3, geom.shape).astype(np.float32)
    counts[8:12, 8:12] += 6
    counts[0, :] = np.nan
    off = rng.poisson(12, geom.shape).astype(np.float32)
    paths = _write(tmp_path / "on.fits", counts, geom), _write(tmp_path / "off.fits", off, geom)
    out = tmp_path / "mask.fits"
    code, _, err = cli(
        monkeypatch,
        capsys,
        "significance",
        *paths,
        out,
        "--radius",
        "2pix",
        "--alpha",
        "0.25",
        "--above",
        "4",
        "--hysteresis",
        "2",
        "--nan",
        "mask",
    )
    assert code == 0, err
    significance = significance_map(counts, off, 2, alpha=0.25)
    expected = significance_mask(significance, above=4, low=2, nan="mask")
    np.testing.assert_array_equal(fits.getdata(out), expected.astype(np.uint8))
    assert fits.getdata(out)[0].all() and fits.getdata(out)[10, 10]


def test_significance_command_errors(tmp_path, monkeypatch, capsys):
    geom = gammapy_grid()
    counts = _write(tmp_path / "counts.fits", np.ones(geom.shape), geom)
    small = _write(tmp_path / "small.fits", np.ones((5, 5)), geom)
    out = tmp_path / "o.fits"
    code, _, err = cli(monkeypatch, capsys, "significance", counts, small, out, "--radius", "1", "--above", "5")
    assert code == 1 and "shape" in err
    code, _, err = cli(monkeypatch, capsys, "significance", counts, counts, out, "--radius", "1")
    assert code == 1 and "--above" in err
    code, _, err = cli(monkeypatch, capsys, "significance", counts, counts, out, "--above", "5")
    assert code == 2 and "--radius" in err
    assert not out.exists()
