"""Reprojection of masks and masked images (astromask.sky.reproject, `astromask reproject`): exact
pixel permutations, covered fractions against supersampling, nearest pixels against astropy's WCS,
NO_DATA outside the footprint, and the real DECam CCD."""

import doctest

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import astromask
from astromask import Mask, MaskedImage, get_schema
from astromask.errors import ParameterError

pytest.importorskip("reproject")

from astromask.sky import reproject as reproject_module
from astromask.sky.reproject import reproject_masked
from conftest import shared_path

RUBIN = get_schema("rubin")


def tan(crpix, cd, ra=150.0, dec=2.0):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = crpix
    wcs.wcs.cd = np.asarray(cd, float)
    return wcs


def random_mask(shape, seed, fraction=0.1):
    rng = np.random.default_rng(seed)
    mask = Mask(shape, RUBIN)
    mask.set("BAD", rng.random(shape) < fraction)
    mask.set("CR", rng.random(shape) < fraction)
    return mask


def source_under(wcs_in, wcs_out, shape_out, sub=1):
    """Per target pixel (and sub x sub points inside it), the source pixel under it: astropy alone."""
    offsets = (np.arange(sub) + 0.5) / sub - 0.5
    yy, xx = np.mgrid[: shape_out[0], : shape_out[1]]
    points = []
    for dy in offsets:
        for dx in offsets:
            sx, sy = wcs_in.world_to_pixel(wcs_out.pixel_to_world(xx + dx, yy + dy))
            points.append((np.floor(sy + 0.5).astype(int), np.floor(sx + 0.5).astype(int)))
    return points


def test_doctests():
    assert doctest.testmod(reproject_module).failed == 0


def test_a_quarter_turn_moves_every_pixel_whole():
    s = 1 / 3600
    wcs_in = tan([20.5, 15.5], [[-s, 0], [0, s]])
    wcs_out = tan([15.5, 20.5], [[0, s], [s, 0]])  # the same pixels, axes swapped and turned
    mask = random_mask((30, 40), 1)
    out = reproject_masked(mask, wcs_in, wcs_out, (40, 30))
    ((iy, ix),) = source_under(wcs_in, wcs_out, (40, 30))
    for plane in ("BAD", "CR"):
        np.testing.assert_array_equal(out.get(plane), mask.get(plane)[iy, ix])
    assert not out.get("NO_DATA").any()


@pytest.mark.parametrize("threshold", [0.0, 0.5])
def test_covered_fractions_agree_with_supersampling(threshold):
    s = 1 / 3600
    c, n = np.cos(np.radians(30)), np.sin(np.radians(30))
    wcs_in = tan([25.5, 25.5], [[-s, 0], [0, s]])
    wcs_out = tan([9.5, 9.5], np.array([[-c, n], [n, c]]) * 1.7 * s)
    mask = random_mask((50, 50), 2, fraction=0.3)
    out = reproject_masked(mask, wcs_in, wcs_out, (18, 18), thresholds={"BAD": threshold})
    points = source_under(wcs_in, wcs_out, (18, 18), sub=10)
    fraction = np.mean([mask.get("BAD")[iy, ix] for iy, ix in points], axis=0)  # inside the source here
    if threshold == 0:
        assert out.get("BAD")[fraction > 0].all()
    assert out.get("BAD")[fraction > threshold + 0.1].all()
    assert not out.get("BAD")[fraction < threshold - 0.1].any()
    assert 0.1 < out.get("BAD").mean() < 0.99  # something to decide either way


def test_nearest_method_and_no_data_outside_the_source():
    s = 1 / 3600
    wcs_in = tan([10.5, 10.5], [[-s, 0], [0, s]])
    wcs_out = tan([20.3, 18.7], [[-0.8 * s, 0.1 * s], [0.1 * s, 0.8 * s]])  # larger, sheared, off-centre
    mask = random_mask((20, 20), 3)
    image = MaskedImage(np.full((20, 20), 7.0, np.float32), mask=mask, variance=np.full((20, 20), 4.0, np.float32))
    out = reproject_masked(image, wcs_in, wcs_out, (40, 40), method="nearest")
    ((iy, ix),) = source_under(wcs_in, wcs_out, (40, 40))
    inside = (iy >= 0) & (iy < 20) & (ix >= 0) & (ix < 20)
    np.testing.assert_array_equal(out.mask.get("NO_DATA"), ~inside)
    np.testing.assert_array_equal(out.mask.get("CR")[inside], mask.get("CR")[iy[inside], ix[inside]])
    assert np.allclose(out.image[inside], 7.0) and np.isnan(out.image[~inside]).all()
    assert np.allclose(out.variance[inside], 4.0)
    exact = reproject_masked(image, wcs_in, wcs_out, (40, 40))
    assert exact.mask.get("NO_DATA").sum() <= out.mask.get("NO_DATA").sum()  # partial overlaps count
    inner = ~exact.mask.get("NO_DATA")
    assert np.allclose(exact.image[inner], 7.0) and np.allclose(exact.variance[inner], 4.0)
    with pytest.raises(ParameterError, match="no plane"):
        reproject_masked(mask, wcs_in, wcs_out, (40, 40), thresholds={"NOPE": 0.5})
    with pytest.raises(ParameterError, match="fraction"):
        reproject_masked(mask, wcs_in, wcs_out, (40, 40), thresholds={"BAD": 1.5})
    with pytest.raises(ParameterError, match="sky WCS"):
        reproject_masked(mask, WCS(naxis=2), wcs_out, (40, 40))


def test_command_on_the_real_decam_ccd(tmp_path, cli):
    path = shared_path("decam") / "c4d_170316_062107_ooi_z_ls9.N2.fits"
    original = astromask.read(path)
    wcs = original.wcs.celestial
    # the same sky, turned by 20 degrees about the CCD's centre, 1.5x coarser, a plain TAN grid
    c, s = np.cos(np.radians(20)), np.sin(np.radians(20))
    centre = wcs.pixel_to_world(122, 125)
    cd = 1.5 * wcs.pixel_scale_matrix @ np.array([[c, -s], [s, c]])
    target = tan([90.5, 90.5], cd, ra=centre.ra.deg, dec=centre.dec.deg)
    fits.PrimaryHDU(np.zeros((180, 180), np.float32), header=target.to_header()).writeto(tmp_path / "ref.fits")
    out = tmp_path / "warped.fits"
    code, stdout, err = cli("reproject", path, out, "--wcs", tmp_path / "ref.fits", "--threshold", "CR=0.25")
    assert code == 0, err
    assert "(exact)" in stdout and "NO_DATA" in stdout and str(out) in stdout
    back = astromask.read(out)
    assert back.shape == (180, 180) and back.mask.get("NO_DATA").any() and back.mask.get("CR").any()
    # a coarser grid: fewer CR pixels than the source's, each over one of them
    assert back.mask.get("CR").sum() < original.mask.get("CR").sum()
    y, x = np.nonzero(back.mask.get("CR"))
    sx, sy = wcs.world_to_pixel(target.pixel_to_world(x, y))
    near = [
        original.mask.get("CR")[max(0, j - 2) : j + 3, max(0, i - 2) : i + 3].any()
        for i, j in zip(np.round(sx).astype(int), np.round(sy).astype(int))
    ]
    assert all(near)
    # refusals: one line each
    fits.PrimaryHDU(np.zeros((5, 5), np.float32)).writeto(tmp_path / "nowcs.fits")
    for argv, word in [
        (("reproject", path, tmp_path / "a.fits", "--wcs", tmp_path / "nowcs.fits"), "sky WCS"),
        (
            ("reproject", path, tmp_path / "b.fits", "--wcs", tmp_path / "ref.fits", "--threshold", "CR"),
            "PLANE=FRACTION",
        ),
        (("reproject", path, tmp_path / "c.fits", "--wcs", tmp_path / "ref.fits", "--threshold", "XX=0.5"), "no plane"),
    ]:
        code, _, err = cli(*argv)
        assert code != 0 and word in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("fmt", ["lsst", "jwst", "afw", "ccddata"])
def test_command_keeps_each_format_and_its_planes(tmp_path, cli, fmt):
    """lsst.images, JWST, afw and CCDData files in, the same format out, the planes resampled (the
    shared lsst.images reference files carry no sky WCS, and there is no JWST file among them)."""
    s = 1 / 3600
    wcs_in = tan([20.5, 15.5], [[-s, 0], [0, s]])
    wcs_out = tan([15.5, 20.5], [[0, s], [s, 0]])  # a quarter turn: every pixel moves whole
    mask = random_mask((30, 40), 7)
    image = MaskedImage(np.arange(1200, dtype=np.float32).reshape(30, 40), mask=mask, wcs=wcs_in)
    astromask.write(image, tmp_path / "in.fits", format=fmt)
    fits.PrimaryHDU(np.zeros((40, 30), np.float32), header=wcs_out.to_header()).writeto(tmp_path / "ref.fits")
    code, _, err = cli("reproject", tmp_path / "in.fits", tmp_path / "out.fits", "--wcs", tmp_path / "ref.fits")
    assert code == 0, err
    with astromask.io.open(tmp_path / "out.fits") as source:
        assert source.format == fmt
    back = astromask.read(tmp_path / "out.fits")
    ((iy, ix),) = source_under(wcs_in, wcs_out, (40, 30))
    original = astromask.read(tmp_path / "in.fits")
    for plane in ("BAD", "CR"):
        name = original.mask.schema.resolve(plane)
        np.testing.assert_array_equal(back.mask.get(name), original.mask.get(name)[iy, ix])
    np.testing.assert_allclose(back.image, original.image[iy, ix], rtol=1e-6)


def test_detections_take_a_majority_and_defects_any_overlap_by_default():
    s = 1 / 3600
    wcs_in = tan([5.5, 5.5], [[-s, 0], [0, s]])
    shifted = tan([6.2, 5.5], [[-s, 0], [0, s]])  # 0.7 pixel along x: 0.3 / 0.7 overlaps
    mask = Mask((10, 10), RUBIN)
    mask.set("BAD", (4, 4))
    mask.set("DETECTED", (4, 4))
    out = reproject_masked(mask, wcs_in, shifted, (10, 10))
    assert out.get("BAD")[4].nonzero()[0].tolist() == [4, 5]  # any overlap: both
    assert out.get("DETECTED")[4].nonzero()[0].tolist() == [5]  # the 0.7 side alone
    both = reproject_masked(mask, wcs_in, shifted, (10, 10), thresholds={"DETECTED": 0.0})
    assert both.get("DETECTED")[4].nonzero()[0].tolist() == [4, 5]
