"""ds9 and CRTF region files through the `regions` package, with exclusions honoured.

References: hand-worked pixel counts under the `regions` boundary rule (a centre exactly on
an outer edge is outside), masks built directly with `regions` shapes, and the image WCS.
"""

import numpy as np
import pytest
from astropy.io import fits

pytest.importorskip("regions")

from astromask.regions import Ds9Region, load_region, parse, read_ds9, region_mask

SHAPE = (100, 100)


def ds9(text):
    return Ds9Region("# Region file format: DS9 version 4.1\n" + text).mask(SHAPE)


def on_circle(r):
    """Integer offsets (dx, dy) with dx^2 + dy^2 == r^2: centres exactly on a circle of radius r."""
    d = np.arange(-r, r + 1)
    return int(((d[:, None] ** 2 + d[None, :] ** 2) == r * r).sum())


def test_circle_and_box_exclude_centres_on_the_edge():
    # ds9 image (50,50) is the centre of pixel [49, 49]; CIAO counts 1257 and 651
    assert ds9("image\ncircle(50,50,20)").sum() == 1257 - on_circle(20) == 1245
    assert ds9("image\nbox(50,50,30,20,0)").sum() == 29 * 19 == 551


def test_exclusions_are_subtracted():
    got = ds9("image\ncircle(50,50,20)\n-circle(50,50,5)")
    assert got.sum() == 1245 - (81 - on_circle(5))  # the excluded disc, strict: 81 - 12 centres
    assert not got[49, 49] and got[49, 49 + 5]  # (55, 50) on the excluded edge stays in
    # an exclusion removes pixels from every include shape (ds9/funtools rule), whatever the order
    both = ds9("image\n-circle(30,50,5)\ncircle(30,50,10)\ncircle(35,50,10)")
    x, y = np.meshgrid(np.arange(1, 101.0), np.arange(1, 101.0))
    expected = ((np.hypot(x - 30, y - 50) < 10) | (np.hypot(x - 35, y - 50) < 10)) & ~(np.hypot(x - 30, y - 50) < 5)
    assert np.array_equal(both, expected)


def test_only_exclusions_leave_the_rest_of_the_image():
    got = ds9("image\n-box(10,10,4,4,0)")
    assert got.sum() == 100 * 100 - 3 * 3


def test_physical_coordinates_go_through_ltm_ltv():
    header = fits.Header()
    header["LTV1"], header["LTV2"] = -1000.0, -2000.0  # physical = logical + (1000, 2000)
    shifted = Ds9Region("physical\ncircle(1050,2050,20)\n-circle(1050,2050,5)").mask(SHAPE, header=header)
    assert np.array_equal(shifted, ds9("image\ncircle(50,50,20)\n-circle(50,50,5)"))
    # ds9's default system is physical
    default = Ds9Region("# Region file format: DS9 version 4.1\ncircle(1050,2050,20)").mask(SHAPE, header=header)
    assert np.array_equal(default, ds9("image\ncircle(50,50,20)"))
    blocked = fits.Header()
    blocked["LTM1_1"], blocked["LTM2_2"], blocked["LTV1"], blocked["LTV2"] = 0.5, 0.5, 0.0, 0.0
    half = Ds9Region("physical;circle(100,100,40)").mask(SHAPE, header=blocked)
    assert np.array_equal(half, ds9("image\ncircle(50,50,20)"))
    skewed = fits.Header()
    skewed["LTM1_1"], skewed["LTM2_2"] = 0.5, 1.0
    with pytest.raises(ValueError, match="scales both axes equally"):
        Ds9Region("physical;circle(100,100,40)").mask(SHAPE, header=skewed)


def _sky_header():
    h = fits.Header()
    h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = 2, 100, 100
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRVAL1"], h["CRVAL2"], h["CRPIX1"], h["CRPIX2"] = 150.0, 2.0, 50.0, 50.0
    h["CDELT1"], h["CDELT2"] = -1 / 3600, 1 / 3600
    h["RADESYS"] = "ICRS"
    return h


def test_sky_regions_use_the_image_wcs(tmp_path):
    path = tmp_path / "sky.reg"
    path.write_text(
        "# Region file format: DS9 version 4.1\nglobal color=green\nicrs\n"
        'circle(10:00:00.000,+2:00:00.00,10.5")\n-circle(150,2,3.5") # text={hole}\n'
    )
    got = region_mask(_sky_header(), str(path))
    expected = ds9("image\ncircle(50,50,10.5)\n-circle(50,50,3.5)")
    assert np.array_equal(got, expected)
    with pytest.raises(ValueError, match="sky regions need an image with a sky WCS"):
        read_ds9(str(path)).mask(SHAPE)


def test_crtf_pixel_and_sky_regions(tmp_path):
    path = tmp_path / "r.crtf"
    path.write_text("#CRTF\ncircle [[49pix, 49pix], 20pix]\n-circle [[150deg, 2deg], 5.5arcsec]\n")
    got = load_region(str(path)).mask(SHAPE, header=_sky_header())
    # CRTF pixels are 0-based: [49, 49] is the centre of pixel (50, 50) in ds9 terms
    assert np.array_equal(got, ds9("image\ncircle(50,50,20)\n-circle(50,50,5.5)"))


def test_crtf_without_coord_takes_the_image_frame():
    got = Ds9Region("#CRTF\ncircle [[150deg, 2deg], 10.5arcsec]\n", "crtf").mask(SHAPE, header=_sky_header())
    assert np.array_equal(got, ds9("image\ncircle(50,50,10.5)"))


def test_semicolons_points_and_labels():
    got = ds9("image; circle(10,10,2.5); point(50,60) # point=x\ntext(70,70) # text={label}")
    assert got.sum() == 21 + 1  # 21 centres within 2.5 of (10,10), one pixel for the point
    assert got[59, 49]


def test_unsupported_coordinate_system():
    with pytest.raises(ValueError, match="'linear' is not supported"):
        ds9("linear\ncircle(1,1,1)")


def test_ds9_agrees_with_ciao_away_from_edges():
    text = "circle(40.3,50.2,17.7)"
    assert np.array_equal(ds9(f"image\n{text}"), parse(text).mask(SHAPE))
