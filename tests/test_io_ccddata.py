"""CCDData FITS files, checked against astropy's own CCDData reader and writer."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.nddata import CCDData, FlagCollection, InverseVariance, StdDevUncertainty, VarianceUncertainty
from astropy.wcs import WCS

import astromask
from astromask import Box, Mask, MaskedImage, MaskPlane, MaskSchema, get_schema
from astromask.errors import FormatError
from astromask.io import ccddata
from conftest import shared_path

SHAPE = (40, 60)


def _wcs() -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crpix = [30.5, 20.5]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.cdelt = [-5e-5, 5e-5]
    return wcs


def _masked_image(schema: MaskSchema | None = None, *, unit="adu", xy0=(0, 0)) -> MaskedImage:
    """A seeded image: the schema's first plane set on bright pixels, its last on faint ones."""
    rng = np.random.default_rng(20260808)
    image = rng.normal(100.0, 10.0, SHAPE).astype(np.float32)
    variance = rng.uniform(50.0, 150.0, SHAPE).astype(np.float32)
    mi = MaskedImage(image, schema=schema or get_schema("rubin"), variance=variance, unit=unit, wcs=_wcs(), xy0=xy0)
    names = mi.mask.schema.names
    mi.mask.set(names[0], image > 115)
    mi.mask.set(names[-1], image < 80)
    mi.metadata["OBJECT"] = "NGC 1234"
    mi.metadata["EXPTIME"] = 30.0
    return mi


def _write(tmp_path, obj, name="ccd.fits", **options) -> str:
    path = str(tmp_path / name)
    astromask.write(obj, path, format="ccddata", **options)
    return path


def _read(path, **kwargs):
    return astromask.read(path, format="ccddata", **kwargs)


def _astropy_ccd(mask=True, uncertainty=None, flags=None, unit="electron") -> CCDData:
    rng = np.random.default_rng(7)
    data = rng.normal(0.0, 1.0, SHAPE)
    meta = fits.Header([("OBSERVER", "Hubble"), ("AIRMASS", 1.2)])
    return CCDData(
        data,
        unit=unit,
        mask=(data > 1.5) if mask else None,
        uncertainty=uncertainty,
        flags=flags,
        wcs=_wcs(),
        meta=meta,
    )


# -- astropy reads our files ---------------------------------------------------------------------


def test_astropy_reads_our_masked_image(tmp_path):
    mi = _masked_image()
    path = _write(tmp_path, mi)
    ccd = CCDData.read(path)
    assert ccd.mask.dtype == bool
    np.testing.assert_array_equal(ccd.mask, mi.mask.select())
    assert isinstance(ccd.uncertainty, VarianceUncertainty)
    np.testing.assert_array_equal(ccd.uncertainty.array, mi.variance)
    np.testing.assert_array_equal(ccd.data, mi.image)
    assert ccd.unit == u.adu
    assert ccd.header["OBJECT"] == "NGC 1234"
    np.testing.assert_allclose(ccd.wcs.pixel_to_world_values(3, 4), mi.wcs.pixel_to_world_values(3, 4))


def test_astropy_reads_our_integer_planes_as_flags(tmp_path):
    mi = _masked_image()
    ccd = CCDData.read(_write(tmp_path, mi), hdu_flags="FLAGS")
    np.testing.assert_array_equal(ccd.flags, mi.mask.array)


@pytest.mark.parametrize(
    ("kind", "cls", "expected"),
    [
        ("var", VarianceUncertainty, lambda v: v),
        ("std", StdDevUncertainty, np.sqrt),
        ("ivar", InverseVariance, lambda v: 1.0 / v),
    ],
    ids=["variance", "stddev", "inverse-variance"],
)
def test_uncertainty_kinds_are_what_astropy_expects(tmp_path, kind, cls, expected):
    mi = _masked_image()
    path = _write(tmp_path, mi, uncertainty=kind)
    ccd = CCDData.read(path)
    assert type(ccd.uncertainty) is cls
    np.testing.assert_allclose(ccd.uncertainty.array, expected(mi.variance), rtol=1e-6)
    np.testing.assert_allclose(_read(path).variance, mi.variance, rtol=1e-6)


def test_compressed_mask_and_flags_are_read_by_astropy(tmp_path):
    mi = _masked_image()
    path = _write(tmp_path, mi, compression="GZIP_2")
    with fits.open(path) as hdul:
        assert isinstance(hdul["MASK"], fits.CompImageHDU)
        assert isinstance(hdul["FLAGS"], fits.CompImageHDU)
    np.testing.assert_array_equal(CCDData.read(path).mask, mi.mask.select())
    assert _read(path).mask == mi.mask


def test_no_unit_writes_no_bunit_like_astropy(tmp_path):
    mi = _masked_image(unit=None)
    path = _write(tmp_path, mi)
    with fits.open(path) as hdul:
        assert "BUNIT" not in hdul[0].header
    with pytest.raises(ValueError, match="unit for CCDData must be specified"):
        CCDData.read(path)
    assert CCDData.read(path, unit="adu").unit == u.adu
    assert _read(path).unit is None


# -- we read astropy's files --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("uncertainty", "variance"),
    [
        (VarianceUncertainty(np.full(SHAPE, 4.0)), 4.0),
        (StdDevUncertainty(np.full(SHAPE, 2.0)), 4.0),
        (InverseVariance(np.full(SHAPE, 0.25)), 4.0),
    ],
    ids=["variance", "stddev", "inverse-variance"],
)
def test_read_astropy_written_ccddata(tmp_path, uncertainty, variance):
    ccd = _astropy_ccd(uncertainty=uncertainty)
    path = str(tmp_path / "astropy.fits")
    ccd.write(path)
    mi = _read(path)
    assert isinstance(mi, MaskedImage)
    assert mi.mask.schema.names == ["BAD"]
    np.testing.assert_array_equal(mi.mask.get("BAD"), ccd.mask)
    np.testing.assert_array_equal(mi.image, ccd.data)
    np.testing.assert_allclose(mi.variance, variance)
    assert mi.unit == u.electron
    assert mi.metadata["OBSERVER"] == "Hubble"
    assert "BUNIT" not in mi.metadata and "CTYPE1" not in mi.metadata
    np.testing.assert_allclose(mi.wcs.pixel_to_world_values(5, 6), ccd.wcs.pixel_to_world_values(5, 6))


def test_zero_inverse_variance_is_infinite_variance(tmp_path):
    ivar = np.full(SHAPE, 0.5)
    ivar[0, :3] = 0.0
    path = str(tmp_path / "ivar.fits")
    _astropy_ccd(uncertainty=InverseVariance(ivar)).write(path)
    variance = _read(path).variance
    assert np.isinf(variance[0, :3]).all()
    np.testing.assert_allclose(variance[1], 2.0)


def test_read_astropy_file_without_mask_or_uncertainty_variance(tmp_path):
    path = str(tmp_path / "bare.fits")
    _astropy_ccd(mask=False, uncertainty=StdDevUncertainty(np.ones(SHAPE))).write(path)
    mi = _read(path)
    assert mi.mask.schema.names == ["BAD"]
    assert not mi.mask.any_set().any()


def test_read_astropy_integer_flags_as_bit_planes(tmp_path):
    """astropy 8 ``hdu_flags``: an integer flags array becomes BITnn planes; MASK-only pixels go to BAD."""
    flags = np.zeros(SHAPE, dtype=np.int16)
    flags[2, 3] = 1
    flags[4, 5] = 4 | 1
    ccd = _astropy_ccd(flags=flags)
    path = str(tmp_path / "flags.fits")
    ccd.write(path, hdu_flags="FLAGS")
    mask = _read(path).mask
    assert mask.schema.names == ["BIT00", "BAD", "BIT02"]  # BAD takes the lowest free bit
    assert mask.schema.bit("BIT02") == 2
    assert mask.counts()["BIT00"] == 2 and mask.counts()["BIT02"] == 1
    np.testing.assert_array_equal(mask.select(), ccd.mask | (flags != 0))
    np.testing.assert_array_equal(mask.get("BAD"), ccd.mask & (flags == 0))


def test_read_astropy_flag_collection_as_named_planes(tmp_path):
    collection = FlagCollection(shape=SHAPE)
    hot = np.zeros(SHAPE, dtype=bool)
    hot[1, 1] = True
    cold = np.zeros(SHAPE, dtype=np.uint8)
    cold[2, :4] = 1
    collection["hot"] = hot
    collection["cold"] = cold
    path = str(tmp_path / "collection.fits")
    _astropy_ccd(mask=False, flags=collection).write(path, hdu_flags="FLAGS")
    mask = _read(path).mask
    assert mask.schema.names == ["HOT", "COLD"]
    assert mask.counts() == {"HOT": 1, "COLD": 4}


def test_image_in_first_extension_after_empty_primary(tmp_path):
    """As astropy's reader: an empty primary means the first image extension, headers merged."""
    path = str(tmp_path / "ext.fits")
    data = np.arange(12.0).reshape(3, 4)
    fits.HDUList(
        [
            fits.PrimaryHDU(header=fits.Header([("TELESCOP", "T80")])),
            fits.ImageHDU(data, header=fits.Header([("BUNIT", "adu")]), name="SCI"),
            fits.ImageHDU((data > 5).astype(np.uint8), name="MASK"),
        ]
    ).writeto(path)
    ours, theirs = _read(path), CCDData.read(path)
    np.testing.assert_array_equal(ours.image, theirs.data)
    np.testing.assert_array_equal(ours.mask.get("BAD"), theirs.mask)
    assert ours.metadata["TELESCOP"] == "T80"
    assert ours.unit == theirs.unit == u.adu


# -- our own round trip ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        get_schema("rubin"),
        get_schema("jwst"),
        MaskSchema([MaskPlane("BAD", "bad"), None, MaskPlane("SAT", "saturated"), MaskPlane("CR", "cosmic")]),
        MaskSchema([MaskPlane(f"P{i}", f"plane {i}") for i in range(3)] + [None] * 58 + ["SAT", "CR"]),
    ],
    ids=["rubin", "jwst-32bit", "reserved-gap", "64bit"],
)
def test_round_trip_keeps_every_plane(tmp_path, schema):
    mi = _masked_image(schema, xy0=(100, -20))
    back = _read(_write(tmp_path, mi))
    assert back.mask.schema == schema
    assert [p.description for p in back.mask.schema] == [p.description for p in schema]
    np.testing.assert_array_equal(back.mask.array, mi.mask.array)
    np.testing.assert_array_equal(back.image, mi.image)
    np.testing.assert_array_equal(back.variance, mi.variance)
    assert back.xy0 == (100, -20)
    assert back.unit == u.adu
    assert back.metadata["OBJECT"] == "NGC 1234"
    assert "FLAGS" not in back.metadata and "MSKN0000" not in back.metadata
    np.testing.assert_allclose(back.wcs.pixel_to_world_values(7, 9), mi.wcs.pixel_to_world_values(7, 9))


def test_single_bad_plane_needs_no_flags_hdu(tmp_path):
    path = str(tmp_path / "astropy.fits")
    _astropy_ccd().write(path)
    mi = _read(path)
    again = _write(tmp_path, mi, name="again.fits")
    with fits.open(again) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "MASK", "UNCERT"]
    assert _read(again).mask == mi.mask


def test_dict_metadata_is_written(tmp_path):
    mi = _masked_image()
    mi.metadata = {"OBJECT": "M13", "LONGKEYWORD": 3, "SKIPPED": [1, 2]}
    back = _read(_write(tmp_path, mi))
    assert back.metadata["OBJECT"] == "M13"
    assert back.metadata["LONGKEYWORD"] == 3
    assert "SKIPPED" not in back.metadata


# -- boxes, HDUs, identification ---------------------------------------------------------------------


def test_bbox_read_equals_slice_of_full_read(tmp_path):
    mi = _masked_image(xy0=(10, 20))
    path = _write(tmp_path, mi)
    box = Box(25, 40, 12, 30)
    part, full = _read(path, bbox=box), _read(path)[box]
    assert part.xy0 == (12, 25) and part.shape == (15, 18)
    assert part.mask == full.mask
    np.testing.assert_array_equal(part.image, full.image)
    np.testing.assert_array_equal(part.variance, full.variance)
    np.testing.assert_allclose(part.wcs.pixel_to_world_values(2, 3), full.wcs.pixel_to_world_values(2, 3))


def test_bbox_of_astropy_flags_has_planes_of_full_read(tmp_path):
    flags = np.zeros(SHAPE, dtype=np.int32)
    flags[30, 50] = 8
    path = str(tmp_path / "flags.fits")
    _astropy_ccd(flags=flags).write(path, hdu_flags="FLAGS")
    part = _read(path, bbox=Box(0, 5, 0, 5))
    assert "BIT03" in part.mask.schema.names
    assert not part.mask.get("BIT03").any()


def test_bbox_outside_image_is_refused(tmp_path):
    path = _write(tmp_path, _masked_image())
    with pytest.raises(FormatError, match=r"ccd\.fits\[0\].*outside the image bbox"):
        _read(path, bbox=Box(30, 50, 0, 10))


def test_hdu_picks_mask_hdus(tmp_path):
    mi = _masked_image()
    path = _write(tmp_path, mi)
    flags = _read(path, hdu="FLAGS")
    assert isinstance(flags, Mask) and flags == mi.mask
    boolean = _read(path, hdu="MASK", bbox=Box(0, 10, 0, 10))
    assert boolean.schema.names == ["BAD"]
    np.testing.assert_array_equal(boolean.get("BAD"), mi.mask.select()[:10, :10])


def test_mask_at_and_describe(tmp_path):
    mi = _masked_image()
    path = _write(tmp_path, mi, uncertainty="ivar")
    with fits.open(path) as hdul:
        assert ccddata.describe(hdul, path) == [
            {"index": 0, "kind": "image"},
            {"index": 1, "kind": "mask"},
            {"index": 2, "kind": "weight"},
            {"index": 3, "kind": "mask"},
        ]
        assert ccddata.mask_at(hdul, path, 3) == mi.mask
        np.testing.assert_array_equal(ccddata.mask_at(hdul, path, 1).get("BAD"), mi.mask.select())
        with pytest.raises(FormatError, match=r"\[2\]: is not a MASK or FLAGS HDU"):
            ccddata.mask_at(hdul, path, 2)


def _identify(path) -> bool:
    with fits.open(path) as hdul:
        return ccddata.identify(hdul, str(path))


def test_format_is_found_by_content(tmp_path):
    """The dispatcher (every format's identify, most specific first) picks ccddata for both writers."""
    ours = _write(tmp_path, _masked_image())
    theirs = str(tmp_path / "astropy.fits")
    _astropy_ccd().write(theirs)
    for path in (ours, theirs):
        with fits.open(path) as hdul:
            assert astromask.io.identify(hdul, path) == "ccddata"
    assert astromask.read(ours).mask == _masked_image().mask


def test_identify_ours_and_astropys(tmp_path):
    assert _identify(_write(tmp_path, _masked_image()))
    path = tmp_path / "astropy.fits"
    _astropy_ccd(mask=False, uncertainty=StdDevUncertainty(np.ones(SHAPE))).write(path)
    assert _identify(path)


@pytest.mark.parametrize(
    "mask_hdu",
    [
        fits.ImageHDU(np.zeros((4, 4), np.int32), fits.Header([("MP_BAD", 0)]), name="MASK"),
        fits.ImageHDU(np.zeros((4, 4), np.uint8), fits.Header([("MSKN0000", "BAD")]), name="MASK"),
        fits.ImageHDU(np.zeros((4, 4), np.int32), name="MASK"),
        fits.ImageHDU(np.zeros((4, 4), np.uint8), name="DQ"),
    ],
    ids=["afw-mp-cards", "lsst-mskn-cards", "int32-mask", "no-mask-no-uncert"],
)
def test_identify_rejects_other_formats(tmp_path, mask_hdu):
    path = tmp_path / "other.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((4, 4), np.float32)), mask_hdu]).writeto(path)
    assert not _identify(path)


@pytest.mark.parametrize(
    "name",
    [
        "lsst_images/lsst_images_maskedimage_gzip2.fits",
        "lsst_images/legacy_afw_style_maskedimage.fits",
        "decam/c4d_170316_062107_ood_z_ls9.N2.fits",
        "maximask/synth_crop_a.mask.fits.fz",
    ],
    ids=["lsst-images", "afw-legacy", "decam-ood", "maximask"],
)
def test_identify_rejects_real_files_of_other_formats(name):
    assert not _identify(shared_path(*name.split("/")))


# -- errors -------------------------------------------------------------------------------------------


def test_lone_mask_is_refused(tmp_path):
    with pytest.raises(FormatError, match="holds an image; write a lone Mask"):
        _write(tmp_path, Mask((3, 3), get_schema("rubin")))


def test_unknown_uncertainty_kind_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"uncertainty must be one of \('std', 'var', 'ivar'\), got 'sigma'"):
        _write(tmp_path, _masked_image(), uncertainty="sigma")


def test_companion_of_wrong_shape_is_refused(tmp_path):
    path = tmp_path / "bad.fits"
    fits.HDUList(
        [fits.PrimaryHDU(np.zeros((4, 4), np.float32)), fits.ImageHDU(np.zeros((3, 4), np.uint8), name="MASK")]
    ).writeto(path)
    with pytest.raises(FormatError, match=r"bad\.fits\[1\]: shape \(3, 4\) differs from the image shape \(4, 4\)"):
        _read(path)
