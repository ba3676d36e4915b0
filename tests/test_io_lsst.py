"""lsst.images FITS archives: reading the reference files lsst.images wrote, writing the same layout.

The reference files in ``../shared/data/lsst_images`` were written by lsst-images
30.2026.4300 (see ``../shared/reference/lsst-images.md``); expected values
below come from that document and from the raw HDUs of the files themselves.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import astromask
from astromask import Box, Mask, MaskedImage, MaskPlane, MaskSchema
from astromask.errors import FormatError
from astromask.io import fitsfile, lsst
from conftest import shared_path

GZIP2 = ("lsst_images", "lsst_images_maskedimage_gzip2.fits")
NOCOMPRESS = ("lsst_images", "lsst_images_maskedimage_nocompress.fits")
PLANES40 = ("lsst_images", "lsst_images_maskedimage_40planes.fits")
LEGACY_AFW = ("lsst_images", "legacy_afw_style_maskedimage.fits")
REFERENCE = {"gzip2": GZIP2, "nocompress": NOCOMPRESS, "40planes": PLANES40}
THREE_PLANES = {"gzip2": GZIP2, "nocompress": NOCOMPRESS}


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------


def raw_hdus(path) -> fits.HDUList:
    """The file as stored: compressed HDUs stay binary tables."""
    return fits.open(path, disable_image_compression=True)


def raw_pixels(path, name: str, ver: int = 1) -> np.ndarray:
    with fits.open(path) as hdul:
        return np.array(hdul[(name, ver)].data)


def json_tree(path) -> dict:
    with fits.open(path) as hdul:
        return json.loads(hdul["JSON"].data[0]["JSON"].tobytes())


def json_hdu(tree: dict) -> fits.BinTableHDU:
    cell = np.empty(1, dtype=object)
    cell[0] = np.frombuffer(json.dumps(tree).encode(), dtype=np.uint8)
    return fits.BinTableHDU.from_columns([fits.Column(name="JSON", format="PB()", array=cell)], name="JSON")


def rewrite(source, target, *, primary=None, mask=None, tree=None, drop=()) -> str:
    """Copy an archive, editing the primary header, the MASK headers and the JSON tree (bytes stay raw)."""
    with raw_hdus(source) as hdul:
        out = []
        for hdu in hdul:
            name = hdu.header.get("EXTNAME", "")
            if name in drop:
                continue
            if hdu is hdul[0] and primary:
                primary(hdu.header)
            if name == "MASK" and mask:
                mask(hdu.header)
            if name == "JSON" and tree:
                hdu = json_hdu(tree(json.loads(hdu.data[0]["JSON"].tobytes())))
            out.append(hdu)
        fits.HDUList(out).writeto(target)
    return str(target)


def synthetic(
    planes=("BAD", "SAT", None, "CR"), *, shape=(30, 41), xy0=(0, 0), unit=None, wcs=None, seed=1
) -> MaskedImage:
    """A masked image with random pixels and ~10% of the pixels set in each plane."""
    rng = np.random.default_rng(seed)
    schema = MaskSchema([None if p is None else MaskPlane(p, f"plane {p}") for p in planes])
    mask = Mask(shape, schema)
    for name in schema.names:
        mask.set(name, rng.random(shape) < 0.1)
    return MaskedImage(
        rng.normal(100.0, 5.0, shape).astype(np.float32),
        mask=mask,
        variance=rng.uniform(1.0, 2.0, shape).astype(np.float32),
        unit=unit,
        wcs=wcs,
        xy0=xy0,
    )


def tan_wcs() -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [10.0, 12.0]
    wcs.wcs.cdelt = [-5e-5, 5e-5]
    return wcs


def assert_same(a: MaskedImage, b: MaskedImage) -> None:
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.variance, b.variance)
    assert a.image.dtype == b.image.dtype
    assert a.mask.schema == b.mask.schema
    np.testing.assert_array_equal(a.mask.array, b.mask.array)
    assert a.xy0 == b.xy0
    assert a.unit == b.unit


def write(mi, path, **options) -> str:
    astromask.write(mi, path, format="lsst", **options)
    return str(path)


# ------------------------------------------------------------------------------------------------
# identification
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("parts", REFERENCE.values(), ids=REFERENCE.keys())
def test_identify_reference_files(parts):
    path = str(shared_path(*parts))
    with fitsfile.open_fits(path) as hdul:
        assert lsst.identify(hdul, path)
        assert astromask.io.identify(hdul, path) == "lsst"


def test_identify_rejects_legacy_afw():
    path = str(shared_path(*LEGACY_AFW))
    with fitsfile.open_fits(path) as hdul:
        assert not lsst.identify(hdul, path)


# ------------------------------------------------------------------------------------------------
# reading the reference files
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("parts", THREE_PLANES.values(), ids=THREE_PLANES.keys())
def test_reference_three_planes(parts):
    path = shared_path(*parts)
    mi = astromask.read(path)
    schema = mi.mask.schema
    assert schema.names == ["BAD", "SATURATED", "COSMIC_RAY"]
    assert schema.planes[2] is None  # the placeholder of the JSON tree keeps bit 2
    assert [schema.bit(n) for n in schema.names] == [0, 1, 3]
    assert schema.dtype == np.uint8
    assert schema.plane("COSMIC_RAY").description == "Cosmic ray."
    assert mi.xy0 == (200, 100)
    assert mi.shape == (40, 50)
    assert str(mi.unit) == "nJy"
    assert np.all(mi.variance == 4.0)
    np.testing.assert_array_equal(mi.image, raw_pixels(path, "IMAGE"))
    disk = raw_pixels(path, "MASK")  # packed on disk: COSMIC_RAY is MSKM0002 = 4
    for name, disk_bit in (("BAD", 1), ("SATURATED", 2), ("COSMIC_RAY", 4)):
        np.testing.assert_array_equal(mi.mask.get(name), (disk & disk_bit) != 0)
    assert int(mi.mask.array.max()) <= 0b1011  # nothing lands in the reserved bit
    assert len(mi.metadata) == 0


def test_reference_gzip2_equals_nocompress():
    a = astromask.read(shared_path(*GZIP2))
    b = astromask.read(shared_path(*NOCOMPRESS))
    assert_same(a, b)


def test_reference_40_planes():
    path = shared_path(*PLANES40)
    mi = astromask.read(path)
    names = [f"P{n}" for n in range(40)]
    assert mi.mask.schema.names == names
    assert [mi.mask.schema.bit(n) for n in names] == list(range(40))
    assert mi.xy0 == (0, 0) and mi.unit is None
    disks = {1: raw_pixels(path, "MASK", 1), 2: raw_pixels(path, "MASK", 2)}
    for n in range(40):
        expected = (disks[n // 31 + 1] >> (n % 31)) & 1
        np.testing.assert_array_equal(mi.mask.get(f"P{n}"), expected == 1, err_msg=f"P{n}")
    assert sum(mi.mask.counts().values()) > 0  # the file sets some planes


def test_describe_kinds():
    path = str(shared_path(*PLANES40))
    with fitsfile.open_fits(path) as hdul:
        kinds = [row["kind"] for row in lsst.describe(hdul, path)]
        assert [row["index"] for row in lsst.describe(hdul, path)] == list(range(7))
    assert kinds == ["header", "image", "mask", "mask", "variance", "table", "table"]


def test_mask_at_uses_the_hdu_own_cards():
    path = str(shared_path(*PLANES40))
    with fitsfile.open_fits(path) as hdul:
        second = lsst.mask_at(hdul, path, 3)
    assert second.schema.names == [f"P{n}" for n in range(31, 40)]
    assert second.schema.bit("P31") == 0 and second.schema.bit("P39") == 8
    np.testing.assert_array_equal(second.array, raw_pixels(path, "MASK", 2))


def test_mask_at_reports_placeholder_free_disk_bits():
    path = str(shared_path(*GZIP2))
    with fitsfile.open_fits(path) as hdul:
        mask = lsst.mask_at(hdul, path, 2)
    assert mask.schema.bit("COSMIC_RAY") == 2  # the disk bit, not memory bit 3


def test_read_hdu_selects_one_mask_hdu():
    path = shared_path(*PLANES40)
    mask = astromask.read(path, hdu=("MASK", 2))
    assert isinstance(mask, Mask)
    assert mask.schema.names[0] == "P31"
    assert isinstance(astromask.read(path, hdu="IMAGE"), MaskedImage)
    with pytest.raises(FormatError, match=r"INDEX.*not a plane"):
        astromask.read(path, hdu="INDEX")


# ------------------------------------------------------------------------------------------------
# subimages
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("parts", THREE_PLANES.values(), ids=THREE_PLANES.keys())
def test_bbox_read_equals_slicing(parts):
    path = shared_path(*parts)
    full = astromask.read(path)
    box = Box.factory[110:115, 220:225]
    sub = astromask.read(path, bbox=box)
    expected = full.absolute[110:115, 220:225]
    assert sub.xy0 == (220, 110)
    np.testing.assert_array_equal(sub.image, expected.image)
    np.testing.assert_array_equal(sub.variance, expected.variance)
    assert sub.mask == expected.mask
    # and it is the local block [10:15, 20:25] of the arrays
    np.testing.assert_array_equal(sub.image, full.image[10:15, 20:25])


def test_bbox_read_40_planes_and_whole_image():
    path = shared_path(*PLANES40)
    full = astromask.read(path)
    sub = astromask.read(path, bbox=Box.factory[1:4, 2:9])
    np.testing.assert_array_equal(sub.mask.array, full.mask.array[1:4, 2:9])
    assert_same(astromask.read(path, bbox=full.bbox), full)


def test_bbox_outside_is_refused():
    path = shared_path(*GZIP2)
    with pytest.raises(FormatError, match=r"outside the image bbox"):
        astromask.read(path, bbox=Box.factory[90:105, 220:225])


def test_bbox_read_shifts_the_wcs(tmp_path):
    mi = synthetic(xy0=(5, 8), wcs=tan_wcs())
    path = write(mi, tmp_path / "w.fits")
    sub = astromask.read(path, bbox=Box.factory[9:20, 8:12])
    np.testing.assert_allclose(sub.wcs.wcs.crpix, [10.0 - 3, 12.0 - 1])
    world_full = mi.wcs.pixel_to_world_values(3.0, 1.0)
    np.testing.assert_allclose(sub.wcs.pixel_to_world_values(0.0, 0.0), world_full)


# ------------------------------------------------------------------------------------------------
# round trips
# ------------------------------------------------------------------------------------------------

COMPRESSIONS = {"gzip2": {}, "gzip1": {"compression": "GZIP_1"}, "none": {"compression": None}}


@pytest.mark.parametrize("options", COMPRESSIONS.values(), ids=COMPRESSIONS.keys())
@pytest.mark.parametrize("parts", REFERENCE.values(), ids=REFERENCE.keys())
def test_reference_round_trip(tmp_path, parts, options):
    first = astromask.read(shared_path(*parts))
    second = astromask.read(write(first, tmp_path / "rt.fits", **options))
    assert_same(first, second)


def test_round_trip_metadata_wcs_origin_units(tmp_path):
    mi = synthetic(xy0=(-3, 7), unit="electron", wcs=tan_wcs(), planes=[f"Q{i}" for i in range(12)])
    mi.metadata["OBSID"] = "x123"
    mi.metadata["EXPTIME"] = (30.0, "seconds")
    mi.metadata["HIERARCH LONG KEY NAME"] = 5
    mi.metadata["LONGSTR"] = "a" * 100
    mi.metadata["COMMENT"] = "a comment"
    mi.metadata["DATE"] = "2020-01-01"  # a container card: regenerated, not carried
    back = astromask.read(write(mi, tmp_path / "m.fits"))
    assert_same(mi, back)
    assert back.metadata["OBSID"] == "x123"
    assert back.metadata["EXPTIME"] == 30.0 and back.metadata.comments["EXPTIME"] == "seconds"
    assert back.metadata["LONG KEY NAME"] == 5
    assert back.metadata["LONGSTR"] == "a" * 100
    assert list(back.metadata["COMMENT"]) == ["a comment"]
    assert "DATE" not in back.metadata and "FMTVER" not in back.metadata
    np.testing.assert_allclose(back.wcs.wcs.crpix, mi.wcs.wcs.crpix)
    np.testing.assert_allclose(back.wcs.pixel_to_world_values(4, 6), mi.wcs.pixel_to_world_values(4, 6))


@pytest.mark.parametrize("nplanes", [0, 1, 31, 32, 62, 64])
def test_round_trip_plane_counts(tmp_path, nplanes):
    mi = synthetic(planes=[f"P{i}" for i in range(nplanes)], seed=nplanes)
    back = astromask.read(write(mi, tmp_path / "n.fits"))
    assert_same(mi, back)
    with fits.open(tmp_path / "n.fits") as hdul:
        assert sum(h.name == "MASK" for h in hdul) == max(1, -(-nplanes // 31))


def test_round_trip_placeholders_across_hdus(tmp_path):
    planes = [None, "A", None, None, *[f"P{i}" for i in range(40)], None, "Z"]
    mi = synthetic(planes=planes)
    path = write(mi, tmp_path / "p.fits")
    back = astromask.read(path)
    assert_same(mi, back)
    # disk: the 42 named planes packed, 31 then 11
    with raw_hdus(path) as hdul:
        assert hdul[("MASK", 1)].header["MSKN0000"] == "A"
        assert hdul[("MASK", 2)].header["MSKN0000"] == "P30"
        assert hdul[("MASK", 2)].header["MSKN0010"] == "Z"
    np.testing.assert_array_equal((raw_pixels(path, "MASK", 2) >> 10) & 1, mi.mask.get("Z"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.int32, np.uint16])
def test_round_trip_pixel_types(tmp_path, dtype):
    mi = synthetic()
    mi.image = (mi.image * 10).astype(dtype)
    back = astromask.read(write(mi, tmp_path / "t.fits"))
    assert back.image.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(back.image, mi.image)
    assert json_tree(tmp_path / "t.fits")["image"]["data"]["datatype"] == np.dtype(dtype).name


# ------------------------------------------------------------------------------------------------
# the written layout
# ------------------------------------------------------------------------------------------------


def test_rewrite_matches_reference_card_for_card(tmp_path):
    """Writing what we read from the gzip2 file gives the same cards, JSON bytes and byte layout."""
    reference = shared_path(*GZIP2)
    ours = write(astromask.read(reference), tmp_path / "same.fits")
    with raw_hdus(reference) as a, raw_hdus(ours) as b:
        assert len(a) == len(b)
        for i in range(len(a)):
            cards_a = [(c.keyword, c.value, c.comment) for c in a[i].header.cards if c.keyword != "DATE"]
            cards_b = [(c.keyword, c.value, c.comment) for c in b[i].header.cards if c.keyword != "DATE"]
            assert cards_a == cards_b, f"HDU {i}"
            assert [a.fileinfo(i)[k] for k in ("hdrLoc", "datLoc", "datSpan")] == [
                b.fileinfo(i)[k] for k in ("hdrLoc", "datLoc", "datSpan")
            ]
        assert a["JSON"].data[0]["JSON"].tobytes() == b["JSON"].data[0]["JSON"].tobytes()
        np.testing.assert_array_equal(a["INDEX"].data, b["INDEX"].data)


def test_written_cards(tmp_path):
    mi = synthetic(planes=["BAD", "SATURATED", None, "COSMIC_RAY"], xy0=(200, 100), unit="nJy")
    path = write(mi, tmp_path / "c.fits")
    with raw_hdus(path) as hdul:
        primary = hdul[0].header
        assert primary["FMTVER"] == 1
        assert primary["DATAMODL"] == "https://images.lsst.io/schemas/masked_image-1.0.0"
        assert [h.header["EXTNAME"] for h in hdul[1:]] == ["IMAGE", "MASK", "VARIANCE", "JSON", "INDEX"]
        for name in ("IMAGE", "MASK", "VARIANCE"):
            hdr = hdul[name].header
            assert hdr["ZCMPTYPE"] == "GZIP_2"
            assert (hdr["ZTILE1"], hdr["ZTILE2"]) == (41, 1)  # row tiles
            assert hdr["CTYPE1A"] == "LINEAR" and hdr["CRPIX1A"] == 1.0
            assert (hdr["CRVAL1A"], hdr["CRVAL2A"]) == (200.0, 100.0)
            assert "LTV1" not in hdr
        assert hdul["IMAGE"].header["ZNAME1"] == "NOISEBIT" and hdul["IMAGE"].header["ZVAL1"] == 0.0
        assert hdul["IMAGE"].header["BUNIT"] == "nJy"
        assert hdul["VARIANCE"].header["BUNIT"] == "nJy2"
        assert hdul["MASK"].header["ZBITPIX"] == 32
        mask = hdul["MASK"].header
        assert [mask[f"MSKN000{n}"] for n in range(3)] == ["BAD", "SATURATED", "COSMIC_RAY"]
        assert [mask[f"MSKM000{n}"] for n in range(3)] == [1, 2, 4]  # placeholder dropped on disk
        assert mask["MSKD0002"] == "plane COSMIC_RAY"
        for hdu in hdul:
            assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$", hdu.header["DATE"])
    disk = raw_pixels(path, "MASK")
    assert disk.dtype.kind == "i" and disk.dtype.itemsize == 4
    np.testing.assert_array_equal((disk & 4) != 0, mi.mask.get("COSMIC_RAY"))


def test_addresses_point_at_json_and_index(tmp_path):
    path = write(synthetic(planes=[f"P{i}" for i in range(40)]), tmp_path / "a.fits")
    data = (tmp_path / "a.fits").read_bytes()
    with fits.open(path) as hdul:
        primary = hdul[0].header
    for addr, size, name in (("INDXADDR", "INDXSIZE", "INDEX"), ("JSONADDR", "JSONSIZE", "JSON")):
        start, length = primary[addr], primary[size]
        hdu = fits.BinTableHDU.fromstring(data[start : start + length])
        assert hdu.header["EXTNAME"] == name
        assert length % 2880 == 0
    assert primary["INDXADDR"] + primary["INDXSIZE"] == len(data)  # INDEX is last
    assert primary["JSONADDR"] + primary["JSONSIZE"] == primary["INDXADDR"]  # right after JSON


def test_index_rows_match_the_file(tmp_path):
    path = write(synthetic(planes=[f"P{i}" for i in range(40)]), tmp_path / "i.fits", image_compression=None)
    with raw_hdus(path) as hdul:
        index = hdul["INDEX"].data
        assert len(index) == len(hdul) - 1
        for i, row in enumerate(index):
            info = hdul.fileinfo(i)
            hdr = hdul[i].header
            assert row["EXTNAME"] == ("" if i == 0 else hdr["EXTNAME"])
            assert row["EXTVER"] == hdr.get("EXTVER", 1)
            assert row["XTENSION"] == ("IMAGE" if i == 0 else hdr["XTENSION"])
            assert bool(row["ZIMAGE"]) == bool(hdr.get("ZIMAGE", False))
            assert (row["HDRADDR"], row["DATADDR"], row["DATSIZE"]) == (
                info["hdrLoc"],
                info["datLoc"],
                info["datSpan"],
            )
        names = [(r["EXTNAME"], r["EXTVER"], r["XTENSION"]) for r in index]
    assert names == [
        ("", 1, "IMAGE"),
        ("IMAGE", 1, "IMAGE"),  # uncompressed
        ("MASK", 1, "BINTABLE"),
        ("MASK", 2, "BINTABLE"),
        ("VARIANCE", 1, "BINTABLE"),
        ("JSON", 1, "BINTABLE"),
    ]
    with fits.open(path) as hdul:
        assert hdul.index_of("INDEX") == len(hdul) - 1


def test_40_planes_write_two_mask_hdus(tmp_path):
    mi = astromask.read(shared_path(*PLANES40))
    path = write(mi, tmp_path / "40.fits")
    with raw_hdus(path) as hdul:
        assert [(h.name, h.ver) for h in hdul][1:5] == [("IMAGE", 1), ("MASK", 1), ("MASK", 2), ("VARIANCE", 1)]
        for n in range(40):
            hdr = hdul[("MASK", n // 31 + 1)].header
            assert hdr[f"MSKN{n % 31:04d}"] == f"P{n}"
            assert hdr[f"MSKM{n % 31:04d}"] == 1 << (n % 31)
            assert hdr["ZCMPTYPE"] == "GZIP_2"


def test_json_tree_shape(tmp_path):
    mi = synthetic(planes=[*[f"P{i}" for i in range(31)], None, "LAST"], xy0=(200, 100), unit="nJy")
    tree = json_tree(write(mi, tmp_path / "j.fits"))
    assert (tree["schema_version"], tree["min_read_version"]) == ("1.0.0", 1)
    assert tree["schema_url"] == "https://images.lsst.io/schemas/masked_image-1.0.0"
    image, mask, variance = tree["image"], tree["mask"], tree["variance"]
    assert image["data"] == {
        "value": {"source": "fits:IMAGE", "shape": [30, 41], "datatype": "float32", "byteorder": "big"},
        "unit": "nJy",
    }
    assert variance["data"]["unit"] == "nJy**2" and variance["data"]["value"]["source"] == "fits:VARIANCE"
    assert [ref["source"] for ref in mask["data"]] == ["fits:MASK", "fits:MASK,2"]
    assert mask["data"][1]["datatype"] == "int32"
    assert mask["planes"][31] is None and mask["planes"][32] == {"name": "LAST", "description": "plane LAST"}
    assert mask["dtype"] == "uint64"
    for node, schema in ((image, "image"), (mask, "mask"), (variance, "image")):
        assert node["yx0"] == [100, 200]
        assert node["schema_url"] == f"https://images.lsst.io/schemas/{schema}-1.0.0"


def test_no_unit_writes_bare_references(tmp_path):
    tree = json_tree(write(synthetic(), tmp_path / "u.fits"))
    assert tree["image"]["data"]["source"] == "fits:IMAGE"
    with fits.open(tmp_path / "u.fits") as hdul:
        assert "BUNIT" not in hdul["IMAGE"].header


def test_returned_hdulist_writes_the_measured_layout(tmp_path):
    (hdul,) = lsst.write(synthetic(), str(tmp_path / "x.fits"), compression_seed=3).values()
    hdul.writeto(tmp_path / "x.fits")
    with fits.open(tmp_path / "x.fits") as back:
        assert back[0].header["INDXADDR"] == back.fileinfo(len(back) - 1)["hdrLoc"]
        assert back[0].header["JSONADDR"] == back.fileinfo(len(back) - 2)["hdrLoc"]


# ------------------------------------------------------------------------------------------------
# compression options
# ------------------------------------------------------------------------------------------------


def test_lossy_rice_round_trip(tmp_path):
    mi = synthetic(unit="nJy")
    mi.variance = mi.image / 25.0  # a variance as smooth as real ones: noise 0.2 on 4
    options = {"image_compression": "RICE_1", "variance_compression": "RICE_1", "compression_seed": 50}
    path = write(mi, tmp_path / "r.fits", **options)
    back = astromask.read(path)
    np.testing.assert_allclose(back.image, mi.image, rtol=0.01)
    np.testing.assert_allclose(back.variance, mi.variance, rtol=0.01)
    assert not np.array_equal(back.image, mi.image)  # it really is lossy
    np.testing.assert_array_equal(back.mask.array, mi.mask.array)
    with raw_hdus(path) as hdul:
        for name, seed in (("IMAGE", 50), ("VARIANCE", 51)):  # the writer seed counts up per use
            hdr = hdul[name].header
            assert hdr["ZCMPTYPE"] == "RICE_1"
            assert hdr["ZQUANTIZ"] == "SUBTRACTIVE_DITHER_2"
            assert hdr["ZDITHER0"] == seed
            assert hdr["ZVAL3"] == 16.0  # NOISEBIT
        assert hdul["MASK"].header["ZCMPTYPE"] == "GZIP_2"


@pytest.mark.parametrize(
    ("options", "seeds"),
    [
        ({"compression_seed": 10000}, (10000, 1)),  # wraps from 10000 to 1
        ({"dither_seed": 7}, (7, 7)),  # a plane seed of 1..10000 is used as given
        ({"dither_seed": 7, "compression_seed": 3}, (7, 7)),
        ({"dither_seed": 0, "compression_seed": 3}, (3, 4)),  # 0 is replaced by the writer seed
        ({"image_compression": {"algorithm": "RICE_1", "seed": 9}, "compression_seed": 20}, (9, 20)),
    ],
    ids=["wrap", "plane-seed", "plane-seed-wins", "zero-replaced", "dict-seed"],
)
def test_dither_seeds(tmp_path, options, seeds):
    options = {"image_compression": "RICE_1", "variance_compression": "RICE_1", **options}
    path = write(synthetic(), tmp_path / "s.fits", **options)
    with raw_hdus(path) as hdul:
        assert (hdul["IMAGE"].header["ZDITHER0"], hdul["VARIANCE"].header["ZDITHER0"]) == seeds


def test_quantize_level_option(tmp_path):
    path = write(synthetic(), tmp_path / "q.fits", compression="RICE_1", quantize_level=4.0, compression_seed=1)
    with raw_hdus(path) as hdul:
        assert hdul["IMAGE"].header["ZVAL3"] == 4.0
        assert hdul["MASK"].header["ZCMPTYPE"] == "RICE_1"  # lossless on integers
        assert "ZQUANTIZ" not in hdul["MASK"].header


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"image_compression": "RICE_1"}, r"needs a dither seed.*compression_seed"),
        ({"image_compression": "HCOMPRESS_1"}, r"image_compression must be one of"),
        ({"compression": "PLIO_1"}, r"^compression must be one of"),
        ({"mask_compression": {"algorithm": "RICE_1", "quantize_level": 16.0}}, r"masks are always written losslessly"),
        ({"image_compression": {"algorithm": "RICE_1", "quantize_level": 0}}, r"needs quantize_level != 0"),
        ({"image_compression": {"algorithm": "GZIP_2", "level": 3}}, r"takes keys"),
        ({"compression_seed": 10001}, r"compression_seed must be"),
        ({"dither_seed": -2}, r"dither_seed must be"),
    ],
    ids=[
        "no-seed",
        "unknown-algorithm",
        "plio",
        "lossy-mask",
        "rice-float-lossless",
        "bad-key",
        "seed-range",
        "bad-seed",
    ],
)
def test_bad_options(tmp_path, options, match):
    with pytest.raises(ValueError, match=match):
        write(synthetic(), tmp_path / "bad.fits", **options)
    assert not (tmp_path / "bad.fits").exists()


def test_bare_mask_is_refused(tmp_path):
    mask = synthetic().mask
    with pytest.raises(ValueError, match=r"format='fits'"):
        write(mask, tmp_path / "m.fits")


# ------------------------------------------------------------------------------------------------
# versions and damaged files
# ------------------------------------------------------------------------------------------------


def to_30_0_6(source, target) -> str:
    """A 30.0.6-style file: no FMTVER/DATAMODL/DATE, 1-based MSKN cards, ``start`` in the JSON tree."""

    def primary(header):
        for key in ("FMTVER", "DATAMODL", "DATE"):
            del header[key]

    def mask(header):
        old = [(int(k[4:]), header[k], header[f"MSKD{k[4:]}"]) for k in list(header) if k.startswith("MSKN")]
        for n, _, _ in old:
            for prefix in ("MSKN", "MSKM", "MSKD"):
                del header[f"{prefix}{n:04d}"]
        for n, name, description in old:
            header[f"MSKN{n + 1:04d}"] = name
            header[f"MSKM{n + 1:04d}"] = 1 << n
            header[f"MSKD{n + 1:04d}"] = description

    def tree(t):
        t.pop("schema_version")
        for key in ("image", "mask", "variance"):
            t[key]["start"] = t[key].pop("yx0")
            t[key].pop("schema_version")
        return t

    return rewrite(source, target, primary=primary, mask=mask, tree=tree)


def test_reads_30_0_6_files(tmp_path):
    path = to_30_0_6(shared_path(*GZIP2), tmp_path / "old.fits")
    with raw_hdus(path) as hdul:
        assert "FMTVER" not in hdul[0].header and hdul["MASK"].header["MSKN0001"] == "BAD"
    with fitsfile.open_fits(path) as hdul:
        assert lsst.identify(hdul, path)
        assert astromask.io.identify(hdul, path) == "lsst"
    assert_same(astromask.read(path), astromask.read(shared_path(*GZIP2)))
    with fitsfile.open_fits(path) as hdul:
        assert lsst.mask_at(hdul, path, 2).schema.bit("COSMIC_RAY") == 2


def test_reads_30_0_6_cards_without_mskm(tmp_path):
    def strip_mskm(header):
        for key in [k for k in header if k.startswith("MSKM")]:
            del header[key]

    old = to_30_0_6(shared_path(*GZIP2), tmp_path / "old.fits")
    path = rewrite(old, tmp_path / "old2.fits", mask=strip_mskm)
    with fitsfile.open_fits(path) as hdul:
        assert lsst.mask_at(hdul, path, 2).schema.names == ["BAD", "SATURATED", "COSMIC_RAY"]
        assert lsst.mask_at(hdul, path, 2).schema.bit("COSMIC_RAY") == 2  # 1-based card 3 → bit 2


def test_newer_format_version_is_refused(tmp_path):
    def bump(header):
        header["FMTVER"] = 2

    path = rewrite(shared_path(*GZIP2), tmp_path / "v2.fits", primary=bump)
    with pytest.raises(FormatError, match=r"v2\.fits.*FMTVER=2 is newer"):
        astromask.read(path)
    with pytest.raises(FormatError, match=r"v2\.fits.*FMTVER=2"):
        astromask.read(path, hdu=("MASK", 1))


def test_newer_data_model_is_refused(tmp_path):
    def bump(tree):
        tree["min_read_version"] = 2
        return tree

    path = rewrite(shared_path(*GZIP2), tmp_path / "dm.fits", tree=bump)
    with pytest.raises(FormatError, match=r"dm\.fits\[JSON\].*reader of version 2"):
        astromask.read(path)


def test_origin_disagreement_is_refused(tmp_path):
    def move(tree):
        tree["image"]["yx0"] = [0, 0]
        return tree

    path = rewrite(shared_path(*GZIP2), tmp_path / "o.fits", tree=move)
    with pytest.raises(FormatError, match=r"o\.fits\[1 \(IMAGE\)\].*\(200, 100\).*\(0, 0\)"):
        astromask.read(path)


def test_json_metadata_is_read(tmp_path):
    def add(tree):
        tree["metadata"] = {"OBSID": "x123", "EXPTIME": 30.0, "FILTERS": ["g", "r"]}
        return tree

    path = rewrite(shared_path(*GZIP2), tmp_path / "md.fits", tree=add)
    metadata = astromask.read(path).metadata
    assert metadata["OBSID"] == "x123" and metadata["EXPTIME"] == 30.0
    assert json.loads(metadata["FILTERS"]) == ["g", "r"]


def test_missing_json_falls_back_to_cards(tmp_path):
    path = rewrite(shared_path(*PLANES40), tmp_path / "nojson.fits", drop=("JSON",))
    mi = astromask.read(path)
    assert mi.mask == astromask.read(shared_path(*PLANES40)).mask


def test_placeholders_are_reconstructed_from_json_not_cards():
    """Without the JSON tree the placeholder is gone; with it, COSMIC_RAY is bit 3."""
    mi = astromask.read(shared_path(*GZIP2))
    assert mi.mask.schema.bit("COSMIC_RAY") == 3
    assert int(mi.mask.array[0, 0]) == 8  # disk value 4 at [0, 0] (COSMIC_RAY) → memory value 8
    assert raw_pixels(shared_path(*GZIP2), "MASK")[0, 0] == 4


def test_bare_mask_tree_reads_as_mask(tmp_path):
    """An lsst.images Mask archive (its tree is the mask node itself) reads as a Mask."""
    source = write(synthetic(xy0=(8, 5)), tmp_path / "mi.fits")
    path = rewrite(source, tmp_path / "mask.fits", tree=lambda t: t["mask"], drop=("IMAGE", "VARIANCE"))
    mask = astromask.read(path)
    assert isinstance(mask, Mask)
    assert mask == astromask.read(source).mask
    sub = astromask.read(path, bbox=Box.factory[6:9, 10:12])
    np.testing.assert_array_equal(sub.array, mask.array[1:4, 2:4])


def test_bare_image_tree_reads_with_empty_mask(tmp_path):
    source = write(synthetic(xy0=(8, 5), unit="nJy"), tmp_path / "mi.fits")
    path = rewrite(source, tmp_path / "image.fits", tree=lambda t: t["image"], drop=("MASK", "VARIANCE"))
    mi = astromask.read(path)
    assert mi.mask.schema.names == [] and np.all(mi.variance == 1.0)
    assert mi.xy0 == (8, 5) and str(mi.unit) == "nJy"
    np.testing.assert_array_equal(mi.image, astromask.read(source).image)


def test_mask_shape_mismatch_is_refused(tmp_path):
    def shrink(header):
        header["ZNAXIS1"] = 10

    path = rewrite(shared_path(*GZIP2), tmp_path / "s.fits", mask=shrink)
    with pytest.raises(FormatError, match=r"s\.fits\[2 \(MASK\)\].*differs"):
        astromask.read(path)
