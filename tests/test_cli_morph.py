"""`astromask grow|shrink|open|close|boundary` on plane masks, plain 0/1 images and real files."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy import ndimage as ndi

import astromask
from astromask import MaskedImage, get_schema
from astromask.cli import main
from astromask.footprint import diamond, disk
from conftest import shared_path


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def afw_file(tmp_path):
    rng = np.random.default_rng(3)
    mi = MaskedImage(rng.normal(size=(60, 70)).astype(np.float32), schema=get_schema("rubin"))
    mi.mask.set("CR", rng.random((60, 70)) < 0.01)
    mi.mask.set("SAT", rng.random((60, 70)) < 0.01)
    path = tmp_path / "in.fits"
    astromask.write(mi, path, format="afw")
    return path, mi


def test_grow_one_plane_keeps_format_and_other_planes(capsys, tmp_path, afw_file):
    path, mi = afw_file
    out = tmp_path / "out.fits"
    code, _, err = run(capsys, "grow", path, out, "--radius", "2", "--footprint", "diamond", "--planes", "CR")
    assert code == 0, err
    result = astromask.read(out)
    with fits.open(out) as h:
        assert any("MP_CR" in hdu.header for hdu in h)  # written back as afw
    np.testing.assert_array_equal(result.mask.get("CR"), ndi.binary_dilation(mi.mask.get("CR"), diamond(2)))
    np.testing.assert_array_equal(result.mask.get("SAT"), mi.mask.get("SAT"))
    np.testing.assert_array_equal(result.image, mi.image)


def test_shrink_open_close_with_iterations(capsys, tmp_path, afw_file):
    path, mi = afw_file
    for command, reference in [
        ("shrink", lambda m: ndi.binary_erosion(m, np.ones((3, 3)), iterations=2)),
        (
            "close",
            lambda m: ndi.binary_erosion(
                ndi.binary_dilation(m, np.ones((3, 3)), iterations=2), np.ones((3, 3)), iterations=2, border_value=1
            ),
        ),
    ]:
        out = tmp_path / f"{command}.fits"
        outside = ["--outside", "clear"] if command == "shrink" else []
        code, _, err = run(
            capsys, command, path, out, "--footprint", "box", "--width", "3", "--iterations", "2", *outside
        )
        assert code == 0, err
        np.testing.assert_array_equal(astromask.read(out).mask.get("SAT"), reference(mi.mask.get("SAT")))


def test_plain_image_is_one_boolean_plane_with_angular_radius(capsys, tmp_path):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [10, 20]
    w.wcs.crpix = [20, 20]
    w.wcs.cdelt = [-2 / 3600, 4 / 3600]
    data = np.zeros((40, 50), np.int16)
    data[20, 25] = 7  # CIAO style: any non-zero value is set
    src = tmp_path / "ciao.fits"
    fits.PrimaryHDU(data, header=w.to_header()).writeto(src)
    out = tmp_path / "grown.fits"
    code, _, err = run(capsys, "grow", src, out, "--radius", "10arcsec")
    assert code == 0, err
    with fits.open(out) as h:
        result = h[0].data
        assert h[0].header["CTYPE1"] == "RA---TAN"
    assert result.dtype == np.dtype(">i2")
    np.testing.assert_array_equal(result[18:23, 20:31], disk("10arcsec", wcs=w).astype(np.int16))
    assert result.sum() == disk("10arcsec", wcs=w).sum()
    np.testing.assert_array_equal(fits.getdata(src), data)  # the input is untouched


def test_boundary_command(capsys, tmp_path):
    src = tmp_path / "img.fits"
    fits.PrimaryHDU(np.zeros((20, 30), np.float32)).writeto(src)
    out = tmp_path / "edge.fits"
    code, _, err = run(capsys, "boundary", src, out, "--width", "3,2")
    assert code == 0, err
    edge = fits.getdata(out)
    assert edge.dtype == np.uint8
    assert edge[2:-2, 3:-3].sum() == 0 and edge.sum() == 20 * 30 - 16 * 24


def test_errors_are_one_line(capsys, tmp_path, afw_file):
    path, _ = afw_file
    out = tmp_path / "o.fits"
    out.write_bytes(b"")
    code, _, err = run(capsys, "grow", path, out, "--radius", "1")
    assert code == 1 and "exists" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "grow", path, path, "--radius", "1", "--overwrite")
    assert code == 1 and "input" in err
    code, _, err = run(capsys, "grow", path, tmp_path / "x.fits", "--radius", "10arcsec")
    assert code == 1 and "WCS" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "grow", path, tmp_path / "x.fits", "--radius", "1", "--planes", "NOPE")
    assert code == 1 and "NOPE" in err
    code, _, err = run(capsys, "grow", path, tmp_path / "x.fits")
    assert code == 2 and "--radius" in err
    code, _, err = run(capsys, "grow", tmp_path / "missing.fits", tmp_path / "x.fits", "--radius", "1")
    assert code == 1 and "missing.fits" in err


def test_grow_real_decam_dq_planes(capsys, tmp_path):
    src = shared_path("decam", "c4d_170316_062107_ooi_z_ls9.N2.fits")
    out = tmp_path / "grown.fits"
    code, _, err = run(capsys, "grow", src, out, "--radius", "1", "--to", "lsst")
    assert code == 0, err
    before = astromask.read(src).mask
    after = astromask.read(out).mask
    for name, count in before.counts().items():
        assert after.counts()[name] >= count
        np.testing.assert_array_equal(after.get(name), ndi.binary_dilation(before.get(name), disk(1)))
