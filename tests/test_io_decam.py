"""DECam Community Pipeline ooi/ood/oow files, checked against the raw HDUs read with astropy."""

from __future__ import annotations

import os
import shutil
import warnings

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask import Box, Mask, MaskedImage
from astromask.errors import FormatError, LossError
from astromask.io import decam
from astromask.io.fitsfile import open_fits, wcs_cards, write_atomic
from astromask.presets import get_schema
from conftest import shared_path

OOI = "c4d_170316_062107_ooi_z_ls9.N2.fits"
OOD = "c4d_170316_062107_ood_z_ls9.N2.fits"
OOW = "c4d_170316_062107_oow_z_ls9.N2.fits"
OOI_V362 = "c4d_150411_035242_ooi_z_v1-N10.fits"
OOW_V362 = "c4d_150411_035242_oow_z_v1-N10.fits"
KSB = "ksb_staticmask_ood_v1.fits.fz"


def _read(path, **kwargs):
    path = str(path)
    with open_fits(path) as hdul:
        return decam.read(hdul, path, **kwargs)


def _write(obj, target, **options):
    outputs = decam.write(obj, str(target), **options)
    for path, hdul in outputs.items():
        write_atomic(hdul, path)
    return outputs


def _pv(wcs) -> dict[str, float]:
    return {k: v for k, v in wcs_cards(wcs).items() if k.startswith("PV")}


# -- names, roles and encodings -------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, role, expected",
    [
        ("d/c4d_1_ooi_z_v1.fits.fz", "dq", "d/c4d_1_ood_z_v1.fits.fz"),
        ("d/c4d_1_ood_z_v1.fits", "weight", "d/c4d_1_oow_z_v1.fits"),
        ("d/c4d_1_oow_z_v1.fits", "image", "d/c4d_1_ooi_z_v1.fits"),
        ("out.fits", "dq", "out.ood.fits"),
        ("out.fits.gz", "weight", "out.oow.fits.gz"),
        ("out.oow.fits", "image", "out.fits"),
    ],
    ids=["ooi-ood-fz", "ood-oow", "oow-ooi", "plain-ood", "plain-oow-gz", "own-oow-image"],
)
def test_sibling_path(path, role, expected):
    assert decam.sibling_path(path, role) == expected


@pytest.mark.parametrize(
    "header, values, encoding",
    [
        ({"INSTRUME": "DECam", "PLVER": "V4.8.2"}, None, "codes"),
        ({"INSTRUME": "DECam", "PLVER": "V3.5"}, None, "codes"),
        ({"INSTRUME": "DECam", "PLVER": "V3.4.1"}, None, "bits"),
        ({"INSTRUME": "DECam", "PLVER": "DES 2.1"}, None, "bits"),
        ({"INSTRUME": "90prime", "PLVER": "V2.2"}, None, "codes"),
        ({"DQENCODE": "bits", "PLVER": "V4.8.2"}, None, "bits"),
        ({}, [[0, 3, 1]], "codes"),
        ({}, [[0, 2, 4, 8]], "bits"),
        ({}, [[0, 1]], "bits"),
        ({}, [[0, 16, 80]], "bits"),
    ],
    ids=[
        "V4.8.2",
        "V3.5",
        "V3.4.1",
        "DES2.1",
        "90prime",
        "DQENCODE",
        "values-3",
        "values-pow2",
        "values-01",
        "values-big",
    ],
)
def test_dq_encoding_rule(header, values, encoding):
    found, rule = decam.dq_encoding(fits.Header(header), None if values is None else np.array(values))
    assert found == encoding and rule


def test_other_formats_carrying_cp_metadata_are_not_decam(tmp_path):
    """A plain/afw-style file whose primary copied PLVER/PROCTYPE mixes an image with a mask HDU."""
    primary = fits.PrimaryHDU(header=fits.Header({"PLVER": "V4.8.2", "PROCTYPE": "InstCal", "DQENCODE": "codes"}))
    mask_header = fits.Header([("MSKN0000", "BAD"), ("MSKM0000", 1)])
    hdul = fits.HDUList(
        [
            primary,
            fits.ImageHDU(np.ones((2, 2), np.float32), name="IMAGE"),
            fits.ImageHDU(np.zeros((2, 2), np.int32), mask_header, name="MASK"),
        ]
    )
    assert not decam.identify(hdul, str(tmp_path / "x_ooi_z.fits"))
    assert decam.identify(fits.HDUList(hdul[:2]), str(tmp_path / "x.fits"))


def test_identify_and_describe():
    for name, kind in [(OOI, "image"), (OOD, "mask"), (OOW, "weight")]:
        path = str(shared_path("decam", name))
        with open_fits(path) as hdul:
            assert decam.identify(hdul, path)
            rows = decam.describe(hdul, path)
        assert [r["kind"] for r in rows] == ["header", kind] and rows[1]["name"] == "N2"
        if kind == "mask":
            assert rows[1]["encoding"] == "codes"


# -- the V4.8.2 triplet ---------------------------------------------------------------------------


def test_ood_codes_read_as_cosmic_rays():
    path = shared_path("decam", OOD)
    raw = fits.getdata(path, "N2")
    assert fits.getheader(path, 0)["PLVER"] == "V4.8.2"
    assert sorted(np.unique(raw).tolist()) == [0, 5] and np.count_nonzero(raw == 5) == 177
    mask = _read(path)
    assert isinstance(mask, Mask)
    assert mask.schema == get_schema("decam_cp")
    assert mask.schema.name == "decam_cp/codes: PLVER V4.8.2 >= V3.5"
    counts = mask.counts()
    assert counts["CR"] == 177 and sum(counts.values()) == 177  # code 5 is a cosmic ray, not bad+interpolated
    np.testing.assert_array_equal(mask.get("CR"), raw == 5)


def test_ood_forced_bits_reads_code5_as_bad_and_interp():
    mask = _read(shared_path("decam", OOD), encoding="bits")
    assert mask.schema.interpret(5) == ["BAD", "INTERP"]
    assert mask.counts()["BAD"] == mask.counts()["INTERP"] == 177 and mask.counts()["CR"] == 0


def test_ooi_reads_with_siblings():
    path = shared_path("decam", OOI)
    weight = fits.getdata(shared_path("decam", OOW), "N2").astype(np.float64)
    dq = fits.getdata(shared_path("decam", OOD), "N2")
    # checked, not assumed: the zero-weight pixels are exactly the cosmic-ray pixels
    assert np.count_nonzero(weight == 0) == 177
    np.testing.assert_array_equal(weight == 0, dq == 5)
    mi = _read(path)
    np.testing.assert_array_equal(mi.image, fits.getdata(path, "N2"))
    np.testing.assert_array_equal(mi.mask.get("CR"), dq == 5)
    assert mi.mask.counts()["NO_DATA"] == 0  # the zero weights all have a DQ reason
    good = weight > 0
    np.testing.assert_array_equal(mi.variance[good], 1.0 / weight[good])
    assert np.all(np.isinf(mi.variance[~good])) and not np.isnan(mi.variance).any()
    assert mi.xy0 == (1, 1)  # LTV1/LTV2 = -1
    assert mi.metadata["SATURATE"] == 45845.4416955499 and mi.metadata["PLVER"] == "V4.8.2"
    assert mi.metadata["DQENCODE"] == "codes" and mi.metadata["DQRULE"] == "PLVER V4.8.2 >= V3.5"
    assert "DQNOTE" not in mi.metadata
    assert mi.wcs is not None and len(_pv(mi.wcs)) == 20


def test_hdu_selection_and_missing_hdu():
    path = str(shared_path("decam", OOI))
    assert _read(path, hdu="n2").shape == _read(path, hdu=1).shape == (251, 245)
    with pytest.raises(FormatError, match=r"c4d_170316_062107_ooi_z_ls9\.N2\.fits.*no HDU named S5"):
        _read(path, hdu="S5")
    with pytest.raises(FormatError, match=r"ooi_z_ls9\.N2\.fits\[0\]: HDU holds no 2-D image"):
        _read(path, hdu=0)


def test_sibling_missing_the_ccd_is_a_format_error(tmp_path):
    for name in (OOI, OOW):
        shutil.copy(shared_path("decam", name), tmp_path / name)
    with fits.open(shared_path("decam", OOD)) as src:
        src[1].header["EXTNAME"] = "S7"
        src.writeto(tmp_path / OOD)
    with pytest.raises(FormatError, match=r"ood_z_ls9\.N2\.fits: no HDU named N2"):
        _read(tmp_path / OOI)


@pytest.mark.parametrize(
    "box", [Box(1, 252, 1, 246), Box(40, 90, 100, 180), Box(251, 252, 1, 2)], ids=["all", "inner", "corner"]
)
def test_bbox_read_equals_slice(box):
    full = _read(shared_path("decam", OOI))
    part = _read(shared_path("decam", OOI), bbox=box)
    ref = full[box]
    assert part.xy0 == (box.x0, box.y0)
    np.testing.assert_array_equal(part.image, ref.image)
    np.testing.assert_array_equal(part.variance, ref.variance)
    np.testing.assert_array_equal(part.mask.array, ref.mask.array)
    pixel = np.array([[3.0, 2.0]])
    np.testing.assert_allclose(part.wcs.wcs_pix2world(pixel, 0), ref.wcs.wcs_pix2world(pixel, 0), atol=1e-10)


def test_oow_alone_is_the_weight_image():
    path = shared_path("decam", OOW)
    mi = _read(path)
    np.testing.assert_array_equal(mi.image, fits.getdata(path, "N2"))
    assert not mi.mask.any_set().any()
    assert "weight" in mi.metadata["DQNOTE"]


# -- the V3.6.2 pair without a DQ file ------------------------------------------------------------


def test_v362_pair_without_dq_file():
    path = shared_path("decam", OOI_V362)
    weight = fits.getdata(shared_path("decam", OOW_V362), "N10").astype(np.float64)
    assert not os.path.exists(decam.sibling_path(str(path), "dq"))
    mi = _read(path)
    assert "no DQ file" in mi.metadata["DQNOTE"]
    assert mi.metadata["DQENCODE"] == "codes" and mi.metadata["DQRULE"] == "PLVER V3.6.2 >= V3.5"
    # no DQ flags at all; the only set plane is NO_DATA where the weight is 0 (checked: column x=29)
    zero = weight == 0
    assert np.count_nonzero(zero) == 150 and np.all(zero[:, 29])
    counts = mi.mask.counts()
    assert counts.pop("NO_DATA") == 150 and not any(counts.values())
    np.testing.assert_array_equal(mi.mask.get("NO_DATA"), zero)
    np.testing.assert_array_equal(mi.variance[~zero], 1.0 / weight[~zero])
    assert np.all(np.isinf(mi.variance[zero]))
    assert str(mi.unit) == "adu"


# -- the 90prime static mask (tile-compressed, 4096x4032 per HDU: read by box only) ----------------


def test_ksb_static_mask_box_read():
    path = shared_path("decam", KSB)
    header = fits.getheader(path, 0)
    assert (header["INSTRUME"], header["PLVER"]) == ("90prime", "V2.2")
    box = Box(100, 220, 0, 250)
    with fits.open(path) as raw:
        expected = raw["ccd2"].section[100:220, 0:250]
    assert set(np.unique(expected).tolist()) <= {0, 1} and expected.any()
    mask = _read(path, hdu="ccd2", bbox=box)
    assert mask.shape == (120, 250)
    assert mask.schema.name.startswith("decam_cp/codes: INSTRUME 90prime")
    np.testing.assert_array_equal(mask.get("BAD"), expected == 1)  # 1 is BAD as a code and as a bit
    assert mask.counts()["BAD"] == int(expected.sum()) and not mask.select("~BAD").any()


# -- writing --------------------------------------------------------------------------------------


def _copy_triplet(tmp_path):
    for name in (OOI, OOD, OOW):
        shutil.copy(shared_path("decam", name), tmp_path / name)
    return tmp_path / OOI


def test_roundtrip_triplet_is_lossless(tmp_path):
    src = _read(shared_path("decam", OOI))
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "c4d_x_ooi_z_v1.fits"
    outputs = _write(src, target)
    assert sorted(os.path.basename(p) for p in outputs) == [
        "c4d_x_ood_z_v1.fits",
        "c4d_x_ooi_z_v1.fits",
        "c4d_x_oow_z_v1.fits",
    ]
    np.testing.assert_array_equal(
        fits.getdata(tmp_path / "out" / "c4d_x_ood_z_v1.fits", "N2"), fits.getdata(shared_path("decam", OOD), "N2")
    )
    np.testing.assert_array_equal(
        fits.getdata(tmp_path / "out" / "c4d_x_oow_z_v1.fits", "N2"), fits.getdata(shared_path("decam", OOW), "N2")
    )
    back = _read(target)
    np.testing.assert_array_equal(back.image, src.image)
    np.testing.assert_array_equal(back.variance, src.variance)
    assert back.mask == src.mask and back.xy0 == src.xy0 == (1, 1)
    np.testing.assert_array_equal(back.wcs.wcs.crval, src.wcs.wcs.crval)
    np.testing.assert_allclose(back.wcs.pixel_scale_matrix, src.wcs.pixel_scale_matrix, rtol=1e-14)
    assert _pv(back.wcs) == _pv(src.wcs)
    assert back.metadata["SATURATE"] == src.metadata["SATURATE"]
    assert back.metadata["DQENCODE"] == "codes" and back.metadata["DQRULE"] == "DQENCODE card"
    assert set(back.metadata.keys()) == set(src.metadata.keys())
    with fits.open(target) as raw:
        assert raw[1].name == "N2" and "SATURATE" in raw[1].header and "PLVER" in raw[0].header


def test_roundtrip_v362_pair_writes_no_data_code(tmp_path):
    src = _read(shared_path("decam", OOI_V362))
    target = tmp_path / "pair.fits"
    outputs = _write(src, target)
    assert sorted(os.path.basename(p) for p in outputs) == ["pair.fits", "pair.ood.fits", "pair.oow.fits"]
    dq = fits.getdata(tmp_path / "pair.ood.fits", "N10")
    np.testing.assert_array_equal(dq == 2, fits.getdata(shared_path("decam", OOW_V362), "N10") == 0)
    back = _read(target)
    assert back.mask == src.mask
    np.testing.assert_array_equal(back.variance, src.variance)
    np.testing.assert_array_equal(
        fits.getdata(tmp_path / "pair.oow.fits", "N10"), fits.getdata(shared_path("decam", OOW_V362), "N10")
    )


def test_bits_mask_roundtrip_keeps_interp(tmp_path):
    mask = decam.decode_dq(np.array([[0, 1, 2, 4], [16, 64, 128, 4 | 16]], np.int32), "bits")
    mi = MaskedImage(np.ones((2, 4), np.float32), mask=mask, metadata=fits.Header({"DETPOS": "S4"}))
    target = tmp_path / "bits_ooi_r.fits"
    _write(mi, target)
    with fits.open(tmp_path / "bits_ood_r.fits") as raw:
        assert raw[0].header["DQENCODE"] == "bits" and raw["S4"].data.tolist() == [[0, 1, 2, 4], [16, 64, 128, 20]]
    assert _read(target).mask == mask


def test_code_precedence_and_interp_warning(tmp_path):
    mask = decam.decode_dq(np.zeros((1, 5), np.int32), "codes")
    mask.set("CR", (0, 0))
    mask.set("BAD", (0, 0))  # BAD beats CR
    mask.set("STREAK", (0, 1))
    mask.set("SAT", (0, 1))  # SAT beats STREAK
    mask.set("NO_DATA", (0, 2))
    mask.set("BAD", (0, 2))  # NO_DATA beats everything
    mask.set("INTERP", (0, 3))
    assert decam.encode_dq(mask, "codes").tolist() == [[1, 3, 2, 0, 0]]
    assert decam.losses(mask, encoding="codes") == [
        "INTERP in 1 pixels (CP DQ codes have no INTERP; encoding='bits' keeps it)",
        "all but one flag in 3 pixels that have several (a CP DQ code holds one)",
    ]
    with pytest.raises(LossError, match="would lose INTERP in 1 pixels.*--allow-loss"):
        astromask.write(mask, tmp_path / "x_ood_z.fits", format="decam", encoding="codes")
    assert not (tmp_path / "x_ood_z.fits").exists()
    astromask.write(mask, tmp_path / "x_ood_z.fits", format="decam", encoding="codes", allow_loss=True)
    assert fits.getdata(tmp_path / "x_ood_z.fits", 1).tolist() == [[1, 3, 2, 0, 0]]


def test_foreign_planes_are_aliased_or_dropped_with_warning():
    mask = Mask((1, 3), get_schema("rubin"))
    mask.set("INTRP", (0, 0))
    mask.set("DETECTED", (0, 1))
    mask.set("CR", (0, 2))
    assert decam.encode_dq(mask, "bits").tolist() == [[4, 0, 16]]  # INTRP is INTERP, CR is CR
    lost = decam.losses(mask, encoding="bits")[0]
    assert lost.startswith("planes CP DQ masks do not have: EDGE, DETECTED (1 pixels set), DETECTED_NEGATIVE")
    assert "INTRP" not in lost and "CR" not in lost.replace("CROSSTALK", "")


def test_bare_mask_writes_only_the_dq_file(tmp_path):
    mask = _read(shared_path("decam", OOD))
    outputs = _write(mask, tmp_path / "c4d_y_ooi_z.fits")
    assert [os.path.basename(p) for p in outputs] == ["c4d_y_ood_z.fits"]
    raw = fits.getdata(tmp_path / "c4d_y_ood_z.fits", 1)
    np.testing.assert_array_equal(raw, fits.getdata(shared_path("decam", OOD), "N2"))
    assert _read(tmp_path / "c4d_y_ood_z.fits") == mask


def test_weight_is_zero_where_variance_is_not_usable():
    mi = MaskedImage(
        np.ones((1, 4), np.float32),
        mask=decam.decode_dq(np.array([[0, 0, 0, 2]]), "codes"),
        variance=np.array([[4.0, np.inf, np.nan, 4.0]]),
    )
    outputs = decam.write(mi, "w_ooi_z.fits")
    assert outputs["w_oow_z.fits"][1].data.tolist() == [[0.25, 0.0, 0.0, 0.0]]


def test_write_to_a_dq_name_is_refused():
    mi = MaskedImage(np.ones((2, 2), np.float32), schema=get_schema("decam_cp"))
    with pytest.raises(ValueError, match="_ood_.*image"):
        decam.write(mi, "x_ood_z.fits")


def test_codes_out_of_range_name_the_file(tmp_path):
    path = tmp_path / "bad_ood_z.fits"
    fits.HDUList(
        [
            fits.PrimaryHDU(header=fits.Header({"INSTRUME": "DECam", "PLVER": "V4.1"})),
            fits.ImageHDU(np.array([[0, 9]], np.int32), name="S1"),
        ]
    ).writeto(path)
    with pytest.raises(FormatError, match=r"bad_ood_z\.fits\[1\]: DQ value 9 is not a CP code"):
        _read(path)
    assert _read(path, encoding="bits").schema.interpret(9) == ["BAD"]


def test_triplet_copy_reads_like_the_original(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        copy = _read(_copy_triplet(tmp_path))
    assert copy.mask == _read(shared_path("decam", OOI)).mask


def test_unnamed_bits_cannot_become_codes():
    mask = decam.decode_dq(np.array([[0, 8, 1]], np.int32), "bits")  # CP bit 8 (value 8) is unused
    assert mask.schema.interpret(8) == [] and int(mask.array[0, 1]) == 8
    assert decam.encode_dq(mask, "bits").tolist() == [[0, 8, 1]]  # kept in bit mode
    assert decam.encode_dq(mask, "codes").tolist() == [[0, 0, 1]]
    assert decam.losses(mask, encoding="codes") == ["bits no plane names in 1 pixels (CP DQ codes cannot hold them)"]
    assert decam.losses(mask, encoding="bits") == []
