"""JWST-style SCI/ERR/DQ/DQ_DEF files.

The independent reference is stdatamodels itself: ``tests/data/*stdatamodels*`` were
written by stdatamodels 6.0.0 and ``jwst_mask_dynamic_mask.npy`` is its
``dynamic_mask`` of the mask file (``tests/data/make_jwst_golden.py`` made them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

import astromask
from astromask import Box, Mask, MaskedImage, MaskPlane, MaskSchema, get_schema
from astromask.errors import FormatError
from astromask.io import jwst

DATA = Path(__file__).resolve().parent / "data"
SHAPE = (30, 24)
JWST = get_schema("jwst")


def _read(path, **kwargs):
    return astromask.read(path, format="jwst", **kwargs)


def _write(tmp_path, obj, name="jw.fits", **options) -> str:
    path = str(tmp_path / name)
    astromask.write(obj, path, format="jwst", **options)
    return path


def _wcs() -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crpix = [12.0, 15.0]
    wcs.wcs.crval = [53.16, -27.78]
    wcs.wcs.cdelt = [-8.7e-6, 8.7e-6]
    return wcs


def _masked_image(schema: MaskSchema = JWST, xy0=(0, 0)) -> MaskedImage:
    """Seeded pixels; every plane of the schema set on a different random 5% of pixels."""
    rng = np.random.default_rng(31)
    image = rng.normal(1.0, 0.2, SHAPE).astype(np.float32)
    variance = rng.uniform(0.01, 0.04, SHAPE).astype(np.float32)
    mi = MaskedImage(image, schema=schema, variance=variance, unit="MJy/sr", wcs=_wcs(), xy0=xy0)
    for name in schema.names:
        mi.mask.set(name, rng.random(SHAPE) < 0.05)
    mi.metadata["TELESCOP"] = "JWST"
    mi.metadata["INSTRUME"] = "NIRCAM"
    return mi


# -- files written by stdatamodels ---------------------------------------------------------------


def test_read_stdatamodels_image_model():
    path = DATA / "jwst_image_stdatamodels.fits"
    mi = _read(path)
    with fits.open(path) as hdul:
        sci, err, dq = (np.asarray(hdul[n].data) for n in ("SCI", "ERR", "DQ"))
    assert mi.mask.schema == JWST
    np.testing.assert_array_equal(mi.mask.array, dq)
    assert mi.mask.counts()["REFERENCE_PIXEL"] == 10 and mi.mask.counts()["HOT"] == 1
    np.testing.assert_array_equal(mi.image, sci)
    np.testing.assert_array_equal(mi.variance, err.astype(np.float32) ** 2)
    assert mi.unit == u.MJy / u.sr
    assert mi.metadata["TELESCOP"] == "JWST"


def test_read_stdatamodels_mask_with_its_own_dq_def():
    """The file's own bits are named by its DQ_DEF; remapped to the standard bits they are dynamic_mask's."""
    path = DATA / "jwst_mask_dq_def_stdatamodels.fits"
    mask = _read(path)
    assert isinstance(mask, Mask)
    assert mask.schema.names == ["DO_NOT_USE", "DEAD", "HOT", "LOCAL_ONLY", "NO_FLAT_FIELD"]  # GOOD (0) skipped
    assert mask.schema.plane("LOCAL_ONLY").description == "A flag the standard map does not have"
    with fits.open(path) as hdul:
        np.testing.assert_array_equal(mask.array, hdul["DQ"].data)
    expected = np.load(DATA / "jwst_mask_dynamic_mask.npy")
    np.testing.assert_array_equal(mask.remap(JWST, drop=True).array, expected)


def test_dq_def_read_as_stdatamodels_reads_it(tmp_path):
    """Our DQ_DEF has stdatamodels' column formats: BIT int32, VALUE uint32, NAME 40A, DESCRIPTION 80A."""
    path = _write(tmp_path, _masked_image())
    with fits.open(path) as ours, fits.open(DATA / "jwst_mask_dq_def_stdatamodels.fits") as theirs:
        assert [(c.name, c.format, c.bzero) for c in ours["DQ_DEF"].columns] == [
            (c.name, c.format, c.bzero) for c in theirs["DQ_DEF"].columns
        ]
        assert ours["DQ"].data.dtype == np.uint32
        assert [h.name for h in ours] == ["PRIMARY", "SCI", "ERR", "DQ", "DQ_DEF"]


# -- round trips ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        JWST,
        get_schema("rubin"),
        get_schema("decam_cp"),
        MaskSchema([MaskPlane("EDGE", "x" * 120), None, None, MaskPlane("GHOST", "ghost")]),
    ],
    ids=["jwst-32bit", "rubin", "decam-with-gaps", "long-description"],
)
def test_round_trip_keeps_planes_and_bits(tmp_path, schema):
    mi = _masked_image(schema, xy0=(-4, 9))
    back = _read(_write(tmp_path, mi))
    assert back.mask == mi.mask
    assert [(b, p.name) for b, p in back.mask.schema.items()] == [(b, p.name) for b, p in schema.items()]
    assert [p.description for p in back.mask.schema] == [p.description[:80] for p in schema]
    np.testing.assert_array_equal(back.mask.array, mi.mask.array)
    np.testing.assert_array_equal(back.image, mi.image)
    np.testing.assert_allclose(back.variance, mi.variance, rtol=1e-6)
    assert back.unit == u.MJy / u.sr
    assert back.xy0 == (-4, 9)
    assert back.metadata["INSTRUME"] == "NIRCAM"
    np.testing.assert_allclose(back.wcs.pixel_to_world_values(3, 5), mi.wcs.pixel_to_world_values(3, 5))


def test_lone_mask_round_trip(tmp_path):
    mask = _masked_image().mask
    path = _write(tmp_path, mask, compression="GZIP_2")
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "DQ", "DQ_DEF"]
        assert isinstance(hdul["DQ"], fits.CompImageHDU)
    back = _read(path)
    assert isinstance(back, Mask) and back == mask and back.schema == JWST


def test_wider_than_32_bits_is_refused(tmp_path):
    wide = MaskSchema(["BAD"] + [None] * 38 + ["FAR"])
    with pytest.raises(FormatError, match=r"jw\.fits: JWST DQ arrays hold 32 bits.*planes beyond bit 31: FAR"):
        _write(tmp_path, Mask((4, 4), wide))


def test_long_plane_name_is_refused(tmp_path):
    schema = MaskSchema(["A" * 41])
    with pytest.raises(FormatError, match="DQ_DEF names hold 40 characters; too long: AAAA"):
        _write(tmp_path, Mask((4, 4), schema))


def test_negative_variance_gives_nan_err(tmp_path):
    mi = _masked_image()
    mi.variance[0, 0] = -1.0
    back = _read(_write(tmp_path, mi))
    assert np.isnan(back.variance[0, 0])


# -- reading details -------------------------------------------------------------------------------


def _jwst_file(tmp_path, hdus, primary_header=None, name="made.fits") -> str:
    path = str(tmp_path / name)
    fits.HDUList([fits.PrimaryHDU(header=primary_header), *hdus]).writeto(path)
    return path


DQ_DEF_DTYPE = [("BIT", ">i4"), ("VALUE", ">u4"), ("NAME", "S40"), ("DESCRIPTION", "S80")]


def _dq_def_file(tmp_path, rows) -> str:
    """A 2x2 all-clear DQ with a DQ_DEF table of ``rows`` (BIT, VALUE, NAME, DESCRIPTION)."""
    table = np.array(rows, dtype=DQ_DEF_DTYPE)
    dq = fits.ImageHDU(np.zeros((2, 2), np.uint32), name="DQ")
    return _jwst_file(tmp_path, [dq, fits.BinTableHDU(table, name="DQ_DEF")])


def test_variance_from_var_terms_without_err(tmp_path):
    sci = np.ones((4, 5), np.float32)
    path = _jwst_file(
        tmp_path,
        [
            fits.ImageHDU(sci, name="SCI"),
            fits.ImageHDU(np.full((4, 5), 0.25, np.float32), name="VAR_POISSON"),
            fits.ImageHDU(np.full((4, 5), 0.5, np.float32), name="VAR_RNOISE"),
            fits.ImageHDU(np.zeros((4, 5), np.uint32), name="DQ"),
        ],
    )
    np.testing.assert_allclose(_read(path).variance, 0.75)


def test_extver_picks_matching_dq(tmp_path):
    """HST-like SCI,1/SCI,2 with DQ,1/DQ,2; another telescope's DQ bits are BITnn planes."""
    hdus = []
    for ver in (1, 2):
        dq = np.zeros((3, 3), np.int16)
        dq[0, 0] = 1 << (ver + 3)
        sci = fits.ImageHDU(np.full((3, 3), ver, np.float32), name="SCI", ver=ver)
        hdus += [sci, fits.ImageHDU(dq, name="DQ", ver=ver)]
    path = _jwst_file(tmp_path, hdus, fits.Header([("TELESCOP", "HST")]))
    mi = _read(path, hdu=("SCI", 2))
    assert mi.image[0, 0] == 2
    assert mi.mask.schema.names == ["BIT05"]
    assert mi.mask.get("BIT05")[0, 0]


def test_dq_only_file_and_hdu_selection(tmp_path):
    mi = _masked_image()
    path = _write(tmp_path, mi)
    mask = _read(path, hdu="DQ", bbox=Box(2, 12, 3, 20))
    assert isinstance(mask, Mask)
    assert mask == mi.mask[2:12, 3:20]


def test_bbox_read_equals_slice_of_full_read(tmp_path):
    mi = _masked_image(xy0=(100, 200))
    path = _write(tmp_path, mi)
    box = Box(205, 222, 101, 119)
    part, full = _read(path, bbox=box), _read(path)[box]
    assert part.xy0 == (101, 205)
    assert part.mask == full.mask
    np.testing.assert_array_equal(part.image, full.image)
    np.testing.assert_array_equal(part.variance, full.variance)
    np.testing.assert_allclose(part.wcs.pixel_to_world_values(1, 2), full.wcs.pixel_to_world_values(1, 2))


@pytest.mark.parametrize("name", ["jwst_image_stdatamodels.fits", "jwst_mask_dq_def_stdatamodels.fits"])
def test_format_is_found_by_content(tmp_path, name):
    path = str(DATA / name)
    with fits.open(path) as hdul:
        assert astromask.io.identify(hdul, path) == "jwst"
    ours = _write(tmp_path, _masked_image(get_schema("rubin")))
    with fits.open(ours) as hdul:
        assert astromask.io.identify(hdul, ours) == "jwst"


def test_identify_describe_mask_at(tmp_path):
    path = str(DATA / "jwst_image_stdatamodels.fits")
    with fits.open(path) as hdul:
        assert jwst.identify(hdul, path)
        assert [r["kind"] for r in jwst.describe(hdul, path)] == [
            "header", "image", "mask", "variance", "variance", "variance", "table"
        ]  # fmt: skip
        assert jwst.mask_at(hdul, path, 2).counts()["SATURATED"] == 1
        with pytest.raises(FormatError, match=r"\[1\]: is not a DQ HDU"):
            jwst.mask_at(hdul, path, 1)
    plain = _jwst_file(tmp_path, [fits.ImageHDU(np.zeros((2, 2), np.uint8), name="MASK")])
    with fits.open(plain) as hdul:
        assert not jwst.identify(hdul, plain)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(0, 3, "TWO_BITS", "")], r"VALUE 3 is not a single bit"),
        ([(1, 1, "MISMATCH", "")], r"BIT 1 but VALUE 1"),
        ([(0, 1, "SAME", ""), (1, 2, "same", "")], r"names plane 'same' twice"),
    ],
    ids=["not-a-bit", "bit-value-mismatch", "duplicate-name"],
)
def test_bad_dq_def_is_refused(tmp_path, rows, message):
    path = _dq_def_file(tmp_path, rows)
    with pytest.raises(FormatError, match=r"made\.fits\[2\]: DQ_DEF.*" + message):
        _read(path)


def test_dq_def_names_are_made_plane_names(tmp_path):
    rows = [(0, 1, "BAD PIXEL", "spaces"), (2, 4, "3D", "leading digit"), (5, 32, "", "no name")]
    path = _dq_def_file(tmp_path, rows)
    assert _read(path).schema.names == ["BAD_PIXEL", "_3D", "BIT05"]


def test_float_dq_is_refused(tmp_path):
    path = _jwst_file(tmp_path, [fits.ImageHDU(np.zeros((2, 2), np.float32), name="DQ")])
    with pytest.raises(FormatError, match=r"\[1\]: DQ holds floating-point data"):
        _read(path)


def test_no_sci_or_dq_is_refused(tmp_path):
    table = np.zeros(0, dtype=DQ_DEF_DTYPE)
    path = _jwst_file(tmp_path, [fits.BinTableHDU(table, name="DQ_DEF")])
    with pytest.raises(FormatError, match="holds neither a SCI nor a DQ HDU"):
        _read(path)
