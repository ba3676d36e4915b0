"""A CIAO mask-filtered image read back by astromask: the MASK extension means "included", not CCDData's "masked"."""

import numpy as np
from astropy.io import fits

import astromask
from astromask.filter import filter_file
from astromask.io import identify
from astromask.io.fitsfile import open_fits


def test_filtered_image_reads_as_plain_with_the_outside_flagged(tmp_path):
    image = np.arange(20 * 30, dtype=np.float32).reshape(20, 30)
    src = tmp_path / "img.fits"
    fits.PrimaryHDU(image).writeto(src)
    mask = np.zeros((20, 30), np.int16)
    mask[5:10, 8:20] = 1
    mask[7, 12] = 0  # a hole
    mfile = tmp_path / "m.fits"
    fits.PrimaryHDU(mask).writeto(mfile)
    out = tmp_path / "out.fits"
    filter_file(f"{src}[sky=mask({mfile})][opt full]", out)
    with open_fits(str(out)) as hdul:
        assert identify(hdul, str(out)) == "fits"
    mi = astromask.read(out)
    assert mi.mask.schema.names == ["FILTERED"]
    np.testing.assert_array_equal(mi.mask.get("FILTERED"), mask == 0)


def test_a_nan_in_a_filter_record_is_outside_as_in_ciao(tmp_path):
    """One polarity rule: a recorded CIAO mask of floats includes where non-zero and finite."""
    from astromask.algebra import to_bool
    from astromask.filter import included

    values = np.array([[0.0, 1.0, np.nan], [np.inf, -2.0, 0.5]], np.float32)
    expected = np.array([[0, 1, 0], [0, 1, 1]], np.uint8)
    np.testing.assert_array_equal(included(values), expected)
    np.testing.assert_array_equal(to_bool(values), expected.astype(bool))
    out = tmp_path / "rec.fits"
    image = fits.PrimaryHDU(np.ones((2, 3), np.float32))
    image.header["DSREF1"] = ":MASK"
    fits.HDUList([image, fits.ImageHDU(values, name="MASK")]).writeto(out)
    mi = astromask.read(out)
    np.testing.assert_array_equal(mi.mask.get("FILTERED"), expected == 0)  # NaN and Inf: outside
