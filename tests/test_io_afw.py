"""Rubin/afw legacy MaskedImage files, checked against the raw HDUs read with astropy."""

from __future__ import annotations

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits

import astromask
from astromask import Box, Mask, MaskedImage, MaskPlane, MaskSchema
from astromask.errors import FormatError
from astromask.io import afw, decam
from astromask.io.fitsfile import open_fits, read_wcs, wcs_cards, write_atomic
from astromask.presets import get_schema
from conftest import shared_path

LEGACY = ("lsst_images", "legacy_afw_style_maskedimage.fits")
IMDIFF = ("lsst_images", "legacy_afw_style_decam_imdiff_planes.fits")
DECAM_OOI = ("decam", "c4d_170316_062107_ooi_z_ls9.N2.fits")


def _read(path, **kwargs):
    with open_fits(str(path)) as hdul:
        return afw.read(hdul, str(path), **kwargs)


def _roundtrip(obj, tmp_path, name="out.fits", **options):
    target = str(tmp_path / name)
    for path, hdul in afw.write(obj, target, **options).items():
        write_atomic(hdul, path)
    return _read(target), target


def _pv(wcs) -> dict[str, float]:
    """TPV distortion coefficients, as the WCS writes them."""
    return {k: v for k, v in wcs_cards(wcs).items() if k.startswith("PV")}


def _mp_bits(header: fits.Header) -> dict[str, int]:
    """The file's own MP_<NAME> = bit cards, read independently of astromask."""
    return {key[3:]: int(header[key]) for key in header if key.startswith("MP_")}


# -- reading the reference files ------------------------------------------------------------------


def test_identify_and_describe():
    path = str(shared_path(*LEGACY))
    with open_fits(path) as hdul:
        assert afw.identify(hdul, path)
        assert [r["kind"] for r in afw.describe(hdul, path)] == ["header", "image", "mask", "variance"]


def test_legacy_maskedimage_planes_and_origin():
    path = shared_path(*LEGACY)
    raw = fits.getdata(path, 2)
    bits = _mp_bits(fits.getheader(path, 2))
    mi = _read(path)
    assert len(mi.mask.schema) == 12
    assert {p.name: i for i, p in mi.mask.schema.items()} == bits
    assert mi.mask.schema.name == "afw MP_ cards"
    assert mi.xy0 == (200, 100)  # LTV1/LTV2 = -200/-100
    assert mi.bbox == Box(100, 140, 200, 250)
    np.testing.assert_array_equal(mi.image, fits.getdata(path, 1))
    np.testing.assert_array_equal(mi.variance, fits.getdata(path, 3))
    np.testing.assert_array_equal(mi.mask.array, raw.astype(np.uint32))
    assert mi.wcs is None  # the A linear WCS is the origin, not a sky WCS


def test_imdiff_planes_follow_the_files_cards_not_kbmods_map():
    path = shared_path(*IMDIFF)
    raw = fits.getdata(path, 2).astype(np.int64)
    bits = _mp_bits(fits.getheader(path, 2))
    assert len(bits) == 16
    mask = _read(path).mask
    for name, bit in bits.items():
        np.testing.assert_array_equal(mask.get(name), (raw & (1 << bit)) != 0, err_msg=name)
        assert mask.get(name).any(), name  # every plane has pixels set in this file
    # KBMOD's hard-coded map puts UNMASKEDNAN at bit 15; this file says 10 (15 is SENSOR_EDGE)
    assert mask.schema.bit("UNMASKEDNAN") == bits["UNMASKEDNAN"] == 10
    assert mask.schema.bit("SENSOR_EDGE") == 15
    assert get_schema("rubin").bit("UNMASKEDNAN") == 15
    np.testing.assert_array_equal(mask.select("UNMASKEDNAN"), (raw & 1024) != 0)


def test_plane_map_renames_and_drops():
    path = shared_path(*IMDIFF)
    raw = fits.getdata(path, 2).astype(np.int64)
    mask = _read(
        path, plane_map={"SAT": "SATURATED", "INTRP": "INTERPOLATED", "DETECTED_NEGATIVE": None, "ABSENT_PLANE": "X"}
    ).mask
    assert "SAT" not in mask.schema and mask.schema.bit("SATURATED") == 1
    np.testing.assert_array_equal(mask.get("INTERPOLATED"), (raw & 4) != 0)
    assert "DETECTED_NEGATIVE" not in mask.schema and "X" not in mask.schema


def test_hdu_selects_the_mask_alone():
    path = str(shared_path(*LEGACY))
    with open_fits(path) as hdul:
        mask = afw.read(hdul, path, hdu="MASK")
        assert isinstance(mask, Mask) and len(mask.schema) == 12
        np.testing.assert_array_equal(afw.mask_at(hdul, path, 2).array, mask.array)
        with pytest.raises(FormatError, match=r"legacy_afw_style_maskedimage\.fits.*no HDU named SCI"):
            afw.read(hdul, path, hdu="SCI")
        with pytest.raises(FormatError, match=r"\[3\].*read whole"):
            afw.read(hdul, path, hdu=3)
        with pytest.raises(FormatError, match=r"\[1\].*no integer mask"):
            afw.mask_at(hdul, path, 1)


@pytest.mark.parametrize(
    "box", [Box(100, 140, 200, 250), Box(110, 125, 230, 249), Box(139, 140, 200, 201)], ids=["all", "inner", "corner"]
)
def test_bbox_read_equals_slice(box):
    path = shared_path(*LEGACY)
    full = _read(path)
    part = _read(path, bbox=box)
    ref = full[box]
    assert part.xy0 == ref.xy0 == (box.x0, box.y0)
    np.testing.assert_array_equal(part.image, ref.image)
    np.testing.assert_array_equal(part.variance, ref.variance)
    np.testing.assert_array_equal(part.mask.array, ref.mask.array)


def test_bbox_outside_is_an_error():
    with pytest.raises(FormatError, match="outside the image bbox"):
        _read(shared_path(*LEGACY), bbox=Box(0, 10, 0, 10))


# -- identification edge cases and positional layout ---------------------------------------------


def _positional_file(tmp_path, *, mp=True):
    """IMAGE/MASK/VARIANCE by position only: no EXTTYPE, no EXTNAME."""
    mask_header = fits.Header([("MP_BAD", 0), ("HIERARCH MP_DETECTED", 5)]) if mp else fits.Header()
    mask = np.zeros((3, 4), np.int32)
    mask[1, 2] = 1 | 32
    hdul = fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(np.ones((3, 4), np.float32)),
            fits.ImageHDU(mask, header=mask_header),
            fits.ImageHDU(np.full((3, 4), 2, np.float32)),
        ]
    )
    path = str(tmp_path / "positional.fits")
    hdul.writeto(path)
    return path


def test_positional_layout_read(tmp_path):
    path = _positional_file(tmp_path)
    with open_fits(path) as hdul:
        assert afw.identify(hdul, path)  # integer HDU with MP_ cards beside images
        mi = afw.read(hdul, path)
    assert mi.mask.schema.names == ["BAD", "DETECTED"]
    assert mi.mask.get("DETECTED")[1, 2] and mi.mask.counts() == {"BAD": 1, "DETECTED": 1}
    assert np.all(mi.variance == 2)


def test_no_mp_cards_gives_rubin_preset(tmp_path):
    path = _positional_file(tmp_path, mp=False)
    with open_fits(path) as hdul:
        assert not afw.identify(hdul, path)
        mi = afw.read(hdul, path)
    assert mi.mask.schema == get_schema("rubin") and mi.mask.schema.name == "rubin"
    assert mi.mask.schema.interpret(int(mi.mask.array[1, 2])) == ["BAD", "DETECTED"]


def test_lsst_images_files_are_not_afw():
    path = str(shared_path("lsst_images", "lsst_images_maskedimage_nocompress.fits"))
    with open_fits(path) as hdul:
        assert not afw.identify(hdul, path)


def test_missing_plane_hdu_is_a_format_error(tmp_path):
    path = str(tmp_path / "nomask.fits")
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(np.ones((2, 2), np.float32), name="IMAGE"),
            fits.ImageHDU(np.ones((2, 2), np.float32), name="VARIANCE"),
        ]
    ).writeto(path)
    with open_fits(path) as hdul, pytest.raises(FormatError, match=r"nomask\.fits\[MASK\]: afw file has no MASK HDU"):
        afw.read(hdul, path)


# -- writing --------------------------------------------------------------------------------------


def test_roundtrip_reference_file_is_lossless(tmp_path):
    path = shared_path(*LEGACY)
    mi = _read(path)
    back, target = _roundtrip(mi, tmp_path)
    assert back.xy0 == mi.xy0
    assert back.mask.schema == mi.mask.schema
    np.testing.assert_array_equal(back.mask.array, mi.mask.array)
    np.testing.assert_array_equal(back.image, mi.image)
    np.testing.assert_array_equal(back.variance, mi.variance)
    with fits.open(target) as raw:
        assert [h.header.get("EXTTYPE") for h in raw[1:]] == ["IMAGE", "MASK", "VARIANCE"]
        assert raw[0].header["INHERIT"] is True
        for h in raw[1:]:
            assert (h.header["LTV1"], h.header["LTV2"]) == (-200, -100)
            assert (h.header["CRVAL1A"], h.header["CRVAL2A"]) == (200.0, 100.0)
        assert raw["MASK"].data.dtype == np.dtype(">i4")
        assert _mp_bits(raw["MASK"].header) == _mp_bits(fits.getheader(path, 2))


def test_roundtrip_compressed(tmp_path):
    mi = _read(shared_path(*IMDIFF))
    back, target = _roundtrip(mi, tmp_path, compression="GZIP_2")
    with fits.open(target) as raw:
        assert all(isinstance(h, fits.CompImageHDU) for h in raw[1:])
    assert back.mask == mi.mask
    np.testing.assert_array_equal(back.image, mi.image)


def test_roundtrip_decam_wcs_units_and_metadata(tmp_path):
    path = str(shared_path(*DECAM_OOI))
    with open_fits(path) as hdul:
        mi = decam.read(hdul, path)
    mi.unit = u.electron
    back, _ = _roundtrip(mi, tmp_path)
    assert back.xy0 == mi.xy0 == (1, 1)
    assert back.mask == mi.mask
    np.testing.assert_array_equal(back.variance, mi.variance)  # inf where the weight is 0
    np.testing.assert_allclose(back.wcs.wcs.crval, mi.wcs.wcs.crval, rtol=0, atol=1e-12)
    np.testing.assert_allclose(back.wcs.pixel_scale_matrix, mi.wcs.pixel_scale_matrix, rtol=1e-12)
    assert _pv(back.wcs) == _pv(mi.wcs) == _pv(read_wcs(fits.getheader(path, 1)))
    assert len(_pv(mi.wcs)) == 20  # the CP's TPV distortion terms
    pixels = np.array([[0, 0], [244, 250], [100, 30]], float)
    np.testing.assert_allclose(back.wcs.wcs_pix2world(pixels, 0), mi.wcs.wcs_pix2world(pixels, 0), atol=1e-10)
    assert back.unit == mi.unit
    assert back.metadata["SATURATE"] == mi.metadata["SATURATE"] == 45845.4416955499
    assert back.metadata["PLVER"] == "V4.8.2"
    assert set(back.metadata.keys()) == set(mi.metadata.keys())


def test_bit31_roundtrips_as_int32_min(tmp_path):
    planes = [MaskPlane("BAD")] + [None] * 30 + [MaskPlane("TOP", "bit 31")]
    schema = MaskSchema(planes)
    mi = MaskedImage(np.zeros((2, 3), np.float32), schema=schema)
    mi.mask.set("TOP", (0, 1))
    mi.mask.set("BAD", (0, 1))
    mi.mask.set("TOP", (1, 2))
    back, target = _roundtrip(mi, tmp_path)
    raw = fits.getdata(target, "MASK")
    assert raw.dtype.kind == "i" and raw[1, 2] == -2147483648 and raw[0, 1] == -2147483647
    assert back.mask.schema.bit("TOP") == 31
    assert back.mask.get("TOP").tolist() == [[False, True, False], [False, False, True]]
    assert back.mask == mi.mask


def test_a_lone_mask_is_written_as_afw_mask_file_and_a_mask_only_file_reads(tmp_path):
    mask = Mask.from_bool(np.eye(3, dtype=bool), "CR", get_schema("rubin"))
    written = str(tmp_path / "lone.fits")
    astromask.write(mask, written, format="afw")
    with fits.open(written) as hdul:  # afw's Mask.writeFits layout: the first HDU with data, MP_ cards
        assert [h.name for h in hdul] == ["PRIMARY", "MASK"] and hdul[1].header["MP_CR"] == 3
        assert hdul[1].data.dtype == np.dtype(">i4")
    with open_fits(written) as hdul:
        assert afw.identify(hdul, written)
    assert astromask.read(written) == mask
    target = str(tmp_path / "mask_only.fits")
    header = fits.Header([("EXTTYPE", "MASK"), ("MP_BAD", 0), ("MP_CR", 3)])
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(mask.array.astype(np.int32), header, name="MASK")]).writeto(target)
    with open_fits(target) as hdul:
        assert afw.identify(hdul, target)
        back = afw.read(hdul, target)
    assert isinstance(back, Mask) and back.schema.names == ["BAD", "CR"]
    np.testing.assert_array_equal(back.get("CR"), np.eye(3, dtype=bool))


def test_more_than_32_bits_refused():
    schema = MaskSchema([f"P{i}" for i in range(33)])
    mi = MaskedImage(np.zeros((2, 2), np.float32), schema=schema)
    with pytest.raises(ValueError, match="afw masks hold 32 bits.*uses 33"):
        afw.write(mi, "never.fits")


def test_archive_tables_ignored_and_image_cards_merged(tmp_path):
    path = str(tmp_path / "with_archive.fits")
    with fits.open(shared_path(*LEGACY)) as src:
        hdus = [h.copy() for h in src]
    hdus[0].header.update({"AR_HDU": 5, "PSF_ID": 3, "EXPTIME": 30.0, "OBSID": "visit-1"})
    hdus[1].header["EXPTIME"] = (31.5, "the image HDU's own value")
    hdus[1].header["DETNAME"] = "R22_S11"
    table = fits.BinTableHDU.from_columns([fits.Column("id", "K", array=np.arange(3))], name="ARCHIVE_INDEX")
    fits.HDUList(hdus + [table]).writeto(path)
    with open_fits(path) as hdul:
        assert [r["kind"] for r in afw.describe(hdul, path)][-1] == "table"
        mi = afw.read(hdul, path)
    assert "AR_HDU" not in mi.metadata and "PSF_ID" not in mi.metadata and "INHERIT" not in mi.metadata
    assert mi.metadata["EXPTIME"] == 31.5 and mi.metadata["DETNAME"] == "R22_S11"
    assert mi.metadata["OBSID"] == "visit-1" and "EXTTYPE" not in mi.metadata and "LTV1" not in mi.metadata
    back, _ = _roundtrip(mi, tmp_path)
    assert list(back.metadata.items()) == list(mi.metadata.items())


@pytest.mark.parametrize(
    "parts, plane",
    [
        (("lsst_images", "legacy_afw_style_maskedimage.fits"), "SAT"),
        (("lsst_images", "lsst_images_maskedimage_gzip2.fits"), "SATURATED"),
        (("decam", "c4d_170316_062107_ood_z_ls9.N2.fits"), "SAT"),
    ],
    ids=["afw", "lsst", "decam"],
)
def test_read_renames_planes_in_every_format(parts, plane):
    # docs/formats.md: `plane_map=` renames when wanted, through astromask.read
    import astromask

    path = shared_path(*parts)
    plain = astromask.read(path)
    plain = getattr(plain, "mask", plain)
    renamed = astromask.read(path, plane_map={plane.lower(): "RENAMED", "NOT_IN_FILE": "X"})
    renamed = getattr(renamed, "mask", renamed)
    assert plane not in renamed.schema and "X" not in renamed.schema
    assert renamed.schema.bit("RENAMED") == plain.schema.bit(plane)
    np.testing.assert_array_equal(renamed.get("RENAMED"), plain.get(plane))
    np.testing.assert_array_equal(renamed.array, plain.array)
    dropped = astromask.read(path, plane_map={plane: None})
    dropped = getattr(dropped, "mask", dropped)
    assert plane not in dropped.schema and dropped.schema.planes[plain.schema.bit(plane)] is None
