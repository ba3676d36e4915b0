"""`astromask region IMAGE REGION OUT`: masks on an image's grid, cropping, exclusion, filtering, errors.

References: hand-worked pixel sets of small shapes, the input's own coordinate systems (the
cropped output must map every pixel to the same physical and sky position), and the real
Chandra image with its CIAO region file.
"""

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from astromask.regions import PixelFrame
from conftest import shared_path


@pytest.fixture
def image(tmp_path):
    """A 40x60 float image with physical offset (LTV) and a TAN sky WCS."""
    data = np.arange(40 * 60, dtype=np.float32).reshape(40, 60)
    h = fits.Header()
    h["BUNIT"] = "count"
    h["CTYPE1"], h["CTYPE2"], h["CRVAL1"], h["CRVAL2"] = "RA---TAN", "DEC--TAN", 150.0, 2.0
    h["CRPIX1"], h["CRPIX2"], h["CDELT1"], h["CDELT2"] = 30.0, 20.0, -1 / 3600, 1 / 3600
    h["LTV1"], h["LTV2"], h["LTM1_1"], h["LTM2_2"] = -100.0, -200.0, 1.0, 1.0
    path = tmp_path / "img.fits"
    fits.PrimaryHDU(data, header=h).writeto(path)
    return path


def test_mask_is_cropped_to_the_selected_pixels(cli, image, tmp_path):
    out = tmp_path / "m.fits"
    code, _, err = cli("region", image, "box(120,215,5,3)", out)  # physical (120, 215) = logical (20, 15)
    assert code == 0, err
    with fits.open(out) as h:
        data, header = h[0].data, h[0].header
    assert data.dtype == np.uint8 and data.shape == (3, 5) and data.all()  # x 118..122, y 214..216
    assert "BUNIT" not in header
    # every coordinate system still maps the output's pixels to the same places
    src = fits.getheader(image)
    f_in, f_out = PixelFrame.from_header(src), PixelFrame.from_header(header)
    assert f_out.to_physical(1.0, 1.0) == pytest.approx(f_in.to_physical(18.0, 14.0))
    assert np.allclose(WCS(header).all_pix2world(1, 1, 1), WCS(src).all_pix2world(18, 14, 1), rtol=0, atol=1e-12)


def test_full_keeps_the_image_size(cli, image, tmp_path):
    out = tmp_path / "full.fits"
    assert cli("region", image, "circle(130,220,5)", out, "--full")[0] == 0
    data = fits.getdata(out)
    assert data.shape == (40, 60)
    j, i = np.mgrid[1:41, 1:61]
    assert np.array_equal(data == 1, np.hypot(i + 100 - 130, j + 200 - 220) <= 5)
    assert fits.getheader(out)["LTV1"] == -100.0


def test_exclude_selects_the_outside(cli, image, tmp_path):
    inside, outside = tmp_path / "in.fits", tmp_path / "out.fits"
    assert cli("region", image, "circle(130,220,5)", inside, "--full")[0] == 0
    assert cli("region", image, "circle(130,220,5)", outside, "--full", "--exclude")[0] == 0
    assert np.array_equal(fits.getdata(outside), 1 - fits.getdata(inside))


def test_apply_writes_the_filtered_image(cli, image, tmp_path):
    out = tmp_path / "f.fits"
    assert cli("region", image, "box(120,215,5,3)", out, "--apply", "--full", "--null", "-1")[0] == 0
    data, src = fits.getdata(out), fits.getdata(image)
    sel = np.zeros(src.shape, bool)
    sel[13:16, 17:22] = True
    assert np.array_equal(data[sel], src[sel]) and (data[~sel] == -1).all()
    assert fits.getheader(out)["BUNIT"] == "count"


def test_apply_on_an_integer_image_keeps_its_type(cli, tmp_path):
    path = tmp_path / "int.fits"
    fits.PrimaryHDU(np.full((10, 10), 7, dtype=np.int16)).writeto(path)
    out = tmp_path / "f.fits"
    assert cli("region", path, "circle(5,5,1)", out, "--apply", "--full")[0] == 0
    data = fits.getdata(out)
    assert data.dtype.kind == "i" and (data == 7).sum() == 5 and (data == 0).sum() == 95
    code, _, err = cli("region", path, "circle(5,5,1)", tmp_path / "g.fits", "--apply", "--null", "0.5")
    assert code == 1 and "--null 0.5 is not an integer" in err


def test_region_files_of_every_kind(cli, image, tmp_path):
    ciao = tmp_path / "a.reg"
    ciao.write_text("circle(130,220,5)\n-circle(130,220,2)\n")
    ds9 = tmp_path / "b.reg"
    ds9.write_text("# Region file format: DS9 version 4.1\nphysical\ncircle(130,220,5.01)\n-circle(130,220,2.01)\n")
    results = []
    for i, spec in enumerate([ciao, f"region({ciao})", ds9]):
        out = tmp_path / f"o{i}.fits"
        code, _, err = cli("region", image, spec, out, "--full")
        assert code == 0, err
        results.append(fits.getdata(out))
    assert np.array_equal(results[0], results[1]) and np.array_equal(results[0], results[2])
    assert results[0].sum() == 81 - 13  # 81 centres within 5 (boundary in), minus 13 within 2


def test_errors_are_one_line_with_exit_status_1(cli, image, tmp_path):
    out = tmp_path / "m.fits"
    code, _, err = cli("region", image, "circle(1,2,3))", out)
    assert code == 1
    assert (
        err == "astromask region: error: region: unexpected ')', expected an operator (+ | & * -) or a shape "
        "at column 14 in 'circle(1,2,3))'\n"
    )
    code, _, err = cli("region", image, "circle(1,1,1)", out)
    assert code == 1 and "selects no pixel" in err and "--full" in err and not out.exists()
    code, _, err = cli("region", image, "missing.reg", out)
    assert code == 1 and "missing.reg: no such region file" in err
    assert cli("region", image, "circle(130,220,5)", out)[0] == 0
    code, _, err = cli("region", image, "circle(130,220,5)", out)
    assert code == 1 and "output file exists" in err
    code, _, err = cli("region", image, "circle(130,220,5)", image, "--overwrite")
    assert code == 1 and "output is the input file" in err
    code, _, err = cli("region", image, 'circle(150d,2d,3")', out, "--overwrite")
    assert code == 0, err  # the image has a sky WCS
    assert cli("region", image)[0] == 2


def test_full_with_no_selection_writes_zeros(cli, image, tmp_path):
    out = tmp_path / "z.fits"
    assert cli("region", image, "circle(1,1,1)", out, "--full")[0] == 0
    assert fits.getdata(out).sum() == 0


def test_chandra_source_region(cli, tmp_path):
    image = shared_path("ciao", "acisf08478_000N001_r0043_regevt3_srcimg.fits")
    regfile = shared_path("ciao", "acisf08478_000N001_r0043_reg3.fits")
    before = image.read_bytes()
    out = tmp_path / "src.fits"
    code, _, err = cli("-v", "region", image, regfile, out)
    assert code == 0 and "1516 of 98908 pixels selected" in err
    mask, header = fits.getdata(out), fits.getheader(out)
    counts = fits.getdata(image)
    # the cut-out keeps the source: its counts inside equal what CIAO's roi recorded (ROI_CNTS)
    filtered = tmp_path / "filtered.fits"
    assert cli("region", image, regfile, filtered, "--apply")[0] == 0
    roi = fits.getheader(regfile, "SRCREG")["ROI_CNTS"]
    assert fits.getdata(filtered).sum() == roi < counts.sum()
    assert mask.sum() == 1516 and header["LTV1"] < fits.getheader(image)["LTV1"]
    assert image.read_bytes() == before
