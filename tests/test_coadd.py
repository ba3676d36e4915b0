"""Coadds of masks on one grid (astromask.ops.coadd, `astromask coadd`): each rule against numpy on
random masks with gaps, the counts and the input-count map, grid checks, and a real DECam CCD."""

import doctest

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import astromask
from astromask import Mask, MaskedImage, get_schema
from astromask.errors import ParameterError
from astromask.ops import coadd as coadd_module
from astromask.ops.coadd import coadd_masks
from conftest import shared_path

RUBIN = get_schema("rubin")


def random_masks(n, shape=(30, 40), seed=0):
    rng = np.random.default_rng(seed)
    masks = []
    for _ in range(n):
        mask = Mask(shape, RUBIN)
        for plane in ("BAD", "SAT", "CR"):
            mask.set(plane, rng.random(shape) < 0.3)
        mask.set("NO_DATA", rng.random(shape) < 0.25)
        masks.append(mask)
    return masks


def test_doctests():
    assert doctest.testmod(coadd_module).failed == 0


@pytest.mark.parametrize("rule,min_count", [("union", None), ("intersection", None), ("atleast", 2), ("atleast", 4)])
def test_rules_equal_numpy(rule, min_count):
    masks = random_masks(5)
    covering = np.stack([~m.get("NO_DATA") for m in masks])
    inputs = covering.sum(axis=0)
    result = coadd_masks(iter(masks), rule=rule, min_count=min_count)  # a generator: used once, in order
    np.testing.assert_array_equal(result.inputs, inputs)
    for plane in ("BAD", "SAT", "CR"):
        count = (np.stack([m.get(plane) for m in masks]) & covering).sum(axis=0)
        np.testing.assert_array_equal(result.counts[plane], count)
        expected = {
            "union": count > 0,
            "intersection": (count == inputs) & (inputs > 0),
            "atleast": count >= (min_count or 0),
        }[rule]
        np.testing.assert_array_equal(result.mask.get(plane), expected, err_msg=plane)
    np.testing.assert_array_equal(result.mask.get("NO_DATA"), inputs == 0)
    assert result.n_inputs == 5 and (inputs == 0).any()  # the test has gaps


def test_planes_matched_by_name_across_layouts_and_bad_calls():
    a = Mask((2, 3), RUBIN)
    a.set("SAT", (0, 0))
    b = Mask((2, 3), get_schema("jwst"))  # SATURATED at another bit
    b.set(b.schema.resolve("SAT"), (0, 0))
    result = coadd_masks([a, b])
    assert result.counts["SAT"][0, 0] == 1 and result.mask.get("SAT")[0, 0]
    with pytest.raises(ParameterError, match="one grid"):
        coadd_masks([a, Mask((3, 3), RUBIN)])
    with pytest.raises(ParameterError, match="min_count"):
        coadd_masks([a], rule="atleast")
    with pytest.raises(ParameterError, match="rule"):
        coadd_masks([a], rule="majority")
    with pytest.raises(ParameterError, match="no masks"):
        coadd_masks([])


def grid(ra=10.0):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, 20.0]
    wcs.wcs.crpix = [15.0, 10.0]
    wcs.wcs.cdelt = [-1e-4, 1e-4]
    return wcs


def test_command_writes_the_mask_and_the_counts(tmp_path, cli):
    masks = random_masks(3, seed=1)
    names = []
    for i, mask in enumerate(masks):
        names.append(tmp_path / f"e{i}.fits")
        astromask.write(MaskedImage(np.zeros(mask.shape, np.float32), mask=mask, wcs=grid()), names[-1], format="afw")
    out = tmp_path / "coadd.fits"
    code, stdout, err = cli("coadd", out, *names, "--rule", "atleast", "--min-count", "2")
    assert code == 0, err
    assert "3 masks, rule atleast" in stdout
    expected = coadd_masks(masks, rule="atleast", min_count=2)
    back = astromask.read(out)
    for plane in ("BAD", "SAT", "CR", "NO_DATA"):
        np.testing.assert_array_equal(back.get(plane), expected.mask.get(plane))
    with fits.open(out) as hdul:
        cube, header = hdul["COUNTS"].data, hdul["COUNTS"].header
        assert WCS(hdul["MASK"].header).wcs.crval[0] == pytest.approx(10.0)
        assert hdul[0].header["NINPUTS"] == 3 and hdul[0].header["MINCOUNT"] == 2
    np.testing.assert_array_equal(cube[0], expected.inputs)
    k = next(k for k in range(1, cube.shape[0]) if header[f"PLANE{k}"] == "CR")
    np.testing.assert_array_equal(cube[k], expected.counts["CR"])
    # refusals: one line each, nothing written
    shifted = tmp_path / "shifted.fits"
    astromask.write(MaskedImage(np.zeros((30, 40), np.float32), schema=RUBIN, wcs=grid(10.001)), shifted, format="afw")
    for argv, words in [
        (("coadd", tmp_path / "o1.fits", names[0], shifted), ("shifted.fits", "grid", "reproject")),
        (("coadd", tmp_path / "o2.fits", *names, "--rule", "atleast"), ("--min-count",)),
        (("coadd", out, *names), ("exists",)),
    ]:
        code, _, err = cli(*argv)
        assert code != 0 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert all(word in err for word in words), err
    assert not (tmp_path / "o1.fits").exists() and not (tmp_path / "o2.fits").exists()


def test_a_real_decam_ccd_with_itself(tmp_path, cli):
    path = shared_path("decam") / "c4d_170316_062107_ood_z_ls9.N2.fits"
    out = tmp_path / "twice.fits"
    code, _, err = cli("coadd", out, path, path, "--rule", "intersection")
    assert code == 0, err
    original = astromask.read(path)
    back = astromask.read(out)
    for plane in original.schema.names:
        if plane != "NO_DATA":
            np.testing.assert_array_equal(back.get(plane), original.get(plane) & ~original.get("NO_DATA"))
    with fits.open(out) as hdul:
        assert hdul["COUNTS"].data[0].max() == 2
