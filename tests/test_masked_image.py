"""MaskedImage: construction rules, absolute/local slicing as lsst.images defines it
(lsst-images.md §2 and §6), apply() with KBMOD semantics (kbmod.md §3 step 6) and NDData interop."""

import numpy as np
import pytest
from astropy import units as u
from astropy.nddata import CCDData, InverseVariance, NDData, StdDevUncertainty, VarianceUncertainty
from astropy.wcs import WCS

from astromask import Box, Mask, MaskedImage, MaskSchema, get_schema


def make(shape=(200, 251), xy0=(8, 5), unit="nJy"):
    rng = np.random.default_rng(0)
    image = rng.normal(size=shape).astype(np.float32)
    return MaskedImage(image, schema=get_schema("rubin"), xy0=xy0, unit=unit)


def sky_wcs(shape):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crpix = [shape[1] / 2, shape[0] / 2]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.cdelt = [-0.2 / 3600, 0.2 / 3600]
    return w


def test_defaults_and_bbox():
    mi = make()
    # lsst-images.md §6: bbox [5:205, 8:259] from yx0=(5, 8)
    assert mi.bbox == Box(5, 205, 8, 259)
    np.testing.assert_array_equal(mi.variance, 1.0)
    assert mi.unit == u.nJy and mi.variance_unit == u.nJy**2
    assert mi.mask.shape == mi.shape


def test_construction_errors():
    img = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="exactly one of mask= and schema="):
        MaskedImage(img)
    with pytest.raises(ValueError, match="exactly one of mask= and schema="):
        MaskedImage(img, mask=Mask((3, 4), MaskSchema(["A"])), schema=MaskSchema(["A"]))
    with pytest.raises(ValueError, match=r"mask shape \(4, 3\) differs"):
        MaskedImage(img, mask=Mask((4, 3), MaskSchema(["A"])))
    with pytest.raises(ValueError, match="variance shape"):
        MaskedImage(img, schema=MaskSchema(["A"]), variance=np.ones((2, 2)))


def test_local_and_absolute_slicing_agree():
    mi = make()
    # lsst-images.md §6: Box.factory[11:20, 25:30] equals local (6:15, 17:22)
    box = Box.factory[11:20, 25:30]
    a = mi[box]
    b = mi.local[6:15, 17:22]
    c = mi.absolute[11:20, 25:30]
    for sub in (a, b, c):
        assert sub.xy0 == (25, 11) and sub.shape == (9, 5)
        np.testing.assert_array_equal(sub.image, mi.image[6:15, 17:22])


def test_absolute_negative_coordinates_are_ordinary():
    # lsst-images.md §6 test_image: bbox [-2:1, 10:14]
    mi = MaskedImage(np.arange(12.0).reshape(3, 4), schema=MaskSchema(["A"]), xy0=(10, -2))
    sub = mi.absolute[-2:0, 11:13]
    assert sub.xy0 == (11, -2)
    np.testing.assert_array_equal(sub.image, mi.local[0:2, 1:3].image)
    with pytest.raises(IndexError, match=r"absolute y range \[None:3\] is outside the image \(y -2..0\)"):
        mi.absolute[:3, 1:3]
    # local negative indices count from the end
    np.testing.assert_array_equal(mi.local[-1:, -2:].image, [[10.0, 11.0]])


def test_slicing_errors():
    mi = make()
    with pytest.raises(ValueError, match="no step"):
        mi.local[0:10:2, 0:5]
    with pytest.raises(ValueError, match="would drop the y axis"):
        mi.local[3, 0:5]
    with pytest.raises(IndexError, match="local y range"):
        mi.local[0:500, :]
    with pytest.raises(IndexError, match="outside the image bbox"):
        mi[Box(0, 10, 0, 10)]
    with pytest.raises(ValueError, match="upper bound"):
        Box.factory[3:, 0:2]


def test_subimages_share_pixels_and_metadata():
    mi = make()
    mi.metadata["OBSERVER"] = "me"
    sub = mi.local[0:10, 20:30]
    sub.image[...] = 7
    sub.mask.set("CR", (0, 0))
    assert (mi.image[0:10, 20:30] == 7).all() and mi.mask.get("CR")[0, 20]
    assert sub.metadata is mi.metadata
    # assignment through local slicing (lsst-images.md §6: local[0:10,20:30] assignment)
    other = make(shape=(10, 10), xy0=(0, 0))
    mi.local[0:10, 20:30] = other
    np.testing.assert_array_equal(mi.image[0:10, 20:30], other.image)


def test_copy_is_deep():
    mi = make()
    mi.wcs = sky_wcs(mi.shape)
    mi.metadata["KEY"] = 1
    cp = mi.copy()
    cp.image[0, 0] = 99
    cp.mask.set("BAD", (0, 0))
    cp.metadata["KEY"] = 2
    cp.wcs.wcs.crval = [0, 0]
    assert mi.image[0, 0] != 99 and not mi.mask.get("BAD")[0, 0]
    assert mi.metadata["KEY"] == 1 and mi.wcs.wcs.crval[0] == 150.0


def test_wcs_follows_subimage():
    mi = make()
    mi.wcs = sky_wcs(mi.shape)
    sub = mi.local[30:60, 40:90]
    world_parent = mi.wcs.pixel_to_world(40 + 3, 30 + 7)
    world_sub = sub.wcs.pixel_to_world(3, 7)
    assert world_parent.separation(world_sub).arcsec < 1e-8


def test_apply_sets_nan_kbmod_semantics():
    """kbmod.md §5: apply_mask(1) with mask (10,11)=1, (10,12)=2, (10,13)=3 → NaN at x=11 and 13 only."""
    mi = MaskedImage(np.ones((20, 20), np.float32), schema=get_schema("rubin"))
    mi.mask.array[10, 11] = 1
    mi.mask.array[10, 12] = 2
    mi.mask.array[10, 13] = 3
    out = mi.apply(1)
    assert np.argwhere(np.isnan(out.image)).tolist() == [[10, 11], [10, 13]]
    assert np.argwhere(np.isnan(out.variance)).tolist() == [[10, 11], [10, 13]]
    assert not np.isnan(mi.image).any()  # the input is untouched
    np.testing.assert_array_equal(out.mask.array, mi.mask.array)  # the mask is kept


def test_apply_converts_integer_images():
    mi = MaskedImage(np.ones((2, 2), np.uint16), schema=MaskSchema(["A"]))
    mi.mask.set("A", (0, 0))
    out = mi.apply("A")
    assert out.image.dtype == np.float32 and np.isnan(out.image[0, 0])


def test_ccddata_round_trip():
    mi = make(shape=(20, 30), xy0=(0, 0))
    mi.wcs = sky_wcs(mi.shape)
    mi.variance = np.full(mi.shape, 4.0, np.float32)
    mi.mask.set("SAT", (1, 2))
    mi.mask.set("CR", (3, 4))
    ccd = mi.to_ccddata("SAT")
    assert isinstance(ccd, CCDData) and ccd.unit == u.nJy
    assert ccd.mask.sum() == 1 and ccd.mask[1, 2]
    np.testing.assert_allclose(ccd.uncertainty.array, 4.0)
    back = MaskedImage.from_nddata(ccd, schema=get_schema("rubin"))
    assert back.mask == mi.mask
    np.testing.assert_array_equal(back.variance, mi.variance)
    assert back.unit == u.nJy and back.wcs.wcs.crval[0] == 150.0


@pytest.mark.parametrize(
    "unc, expected",
    [
        (StdDevUncertainty(np.full((2, 2), 3.0)), 9.0),
        (VarianceUncertainty(np.full((2, 2), 3.0)), 3.0),
        (InverseVariance(np.full((2, 2), 4.0)), 0.25),
    ],
    ids=["std", "var", "ivar"],
)
def test_from_nddata_uncertainty_to_variance(unc, expected):
    nd = NDData(np.zeros((2, 2), np.float32), uncertainty=unc, mask=np.array([[True, False], [False, False]]))
    mi = MaskedImage.from_nddata(nd)
    np.testing.assert_allclose(mi.variance, expected)
    assert mi.mask.schema.names == ["BAD"] and mi.mask.get("BAD").tolist() == [[True, False], [False, False]]


def test_subimage_wcs_keeps_sip_distortion():
    w = sky_wcs((200, 251))
    w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    from astropy.wcs import Sip

    a = np.zeros((3, 3))
    a[2, 0] = 1e-4
    b = np.zeros((3, 3))
    b[0, 2] = 1e-4
    w.sip = Sip(a, b, None, None, w.wcs.crpix)
    mi = make()
    mi.wcs = w
    sub = mi.local[30:60, 40:90]
    assert mi.wcs.pixel_to_world(40 + 3, 30 + 7).separation(sub.wcs.pixel_to_world(3, 7)).arcsec < 1e-6
