"""Pass 1 of the stack reads masks alone: the same Mask as a whole read, without the image pixels."""

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask import MaskedImage, MaskPlane, MaskSchema, get_schema
from astromask.io.formats import afw, ccddata, decam, jwst, plain
from astromask.io.formats.lsst import reader as lsst
from astromask.stack import read_stack_mask
from conftest import shared_path

SHAPE = (12, 17)
MODULES = (afw, ccddata, decam, jwst, lsst, plain)


@pytest.fixture
def pixels_read(monkeypatch):
    """``(file base name, EXTNAME)`` of every HDU whose pixels any format reader reads."""
    seen = set()
    for module in MODULES:
        original = module.read_pixels

        def spy(hdu, *args, _original=original):
            seen.add((hdu.fileinfo()["file"].name.rsplit("/", 1)[-1], hdu.name))
            return _original(hdu, *args)

        monkeypatch.setattr(module, "read_pixels", spy)
    return seen


def masked_image(schema, *, seed=0, weight_holes=False):
    """Noise, and planes set on scattered pixels (a different pattern per plane)."""
    rng = np.random.default_rng(seed)
    variance = rng.uniform(1, 2, SHAPE)
    if weight_holes:
        variance[3, 4:9] = np.inf  # weight 0: NO_DATA where the DQ mask gives no reason
    mi = MaskedImage(rng.normal(size=SHAPE).astype(np.float32), schema=schema, variance=variance)
    for k, name in enumerate(schema.names):
        mi.mask.set(name, rng.random(SHAPE) < 0.05 + 0.01 * k)
    return mi


def assert_same_mask(name):
    whole = astromask.io.fitsfile.mask_of(astromask.read(name))  # the whole file read
    alone = read_stack_mask(str(name))
    assert read_stack_mask is astromask.read_mask
    assert alone.schema == whole.schema and alone.schema.name == whole.schema.name
    assert alone.array.dtype == whole.array.dtype
    np.testing.assert_array_equal(alone.array, whole.array)


SPARSE = MaskSchema([MaskPlane("BAD"), None, MaskPlane("CR"), MaskPlane("EDGE")], name="sparse")
WIDE = MaskSchema([MaskPlane(f"P{k}") for k in range(40)], name="forty planes")


@pytest.mark.parametrize(
    ("fmt", "schema", "expected"),
    [
        ("afw", get_schema("rubin"), {"MASK"}),
        ("lsst", SPARSE, {"MASK"}),  # a reserved bit: memory bits differ from the packed disk bits
        ("lsst", WIDE, {"MASK"}),  # two MASK HDUs (EXTVER 1 and 2)
        ("jwst", get_schema("jwst"), {"DQ"}),
        ("ccddata", MaskSchema([MaskPlane("BAD"), MaskPlane("SAT")]), {"FLAGS", "MASK"}),
        ("fits", get_schema("rubin"), {"MASK"}),
    ],
    ids=["afw", "lsst-reserved-bit", "lsst-40-planes", "jwst", "ccddata", "plain"],
)
def test_mask_alone_equals_whole_read(tmp_path, pixels_read, fmt, schema, expected):
    name = tmp_path / "exp.fits"
    astromask.write(masked_image(schema), name, format=fmt)
    read_stack_mask(str(name))
    assert pixels_read and {extname for _, extname in pixels_read} <= expected
    assert_same_mask(name)


def test_decam_mask_comes_from_dq_and_weight_files_only(tmp_path, pixels_read):
    name = tmp_path / "c4d_x_ooi_z.fits"
    mi = masked_image(get_schema("decam_cp"), weight_holes=True)
    mi.mask.clear("NO_DATA")
    astromask.write(mi, name, format="decam")
    mask = read_stack_mask(str(name))
    assert {file for file, _ in pixels_read} == {"c4d_x_ood_z.fits", "c4d_x_oow_z.fits"}
    no_reason = np.isinf(mi.variance) & ~mi.mask.any_set()
    assert no_reason.any() and np.array_equal(mask.get("NO_DATA"), no_reason)
    assert_same_mask(name)


def test_decam_ccd_selector_and_missing_siblings(tmp_path):
    name = tmp_path / "c4d_y_ooi_z.fits"
    astromask.write(masked_image(get_schema("decam_cp"), weight_holes=True), name, format="decam", extname="N2")
    assert_same_mask(f"{name}[N2]")
    (tmp_path / "c4d_y_oow_z.fits").unlink()
    (tmp_path / "c4d_y_ood_z.fits").unlink()
    assert_same_mask(name)  # all clear, as the whole read says


@pytest.mark.parametrize("case", ["image-only", "mask-file", "selector"])
def test_other_files_are_read_whole(tmp_path, case):
    name = tmp_path / "exp.fits"
    if case == "image-only":
        fits.writeto(name, np.ones(SHAPE, np.float32))
    elif case == "mask-file":
        astromask.write(masked_image(get_schema("rubin")).mask, name, format="fits")
    else:
        astromask.write(masked_image(get_schema("rubin")), name, format="afw")
    assert_same_mask(f"{name}[1]" if case == "selector" else name)


@pytest.mark.parametrize(
    "parts",
    [
        ("lsst_images", "lsst_images_maskedimage_gzip2.fits"),
        ("lsst_images", "lsst_images_maskedimage_40planes.fits"),
        ("lsst_images", "legacy_afw_style_decam_imdiff_planes.fits"),
        ("decam", "c4d_170316_062107_ooi_z_ls9.N2.fits"),
        ("m13", "M13_blue_0001.fits"),
    ],
    ids=lambda parts: parts[-1],
)
def test_real_files(parts):
    assert_same_mask(shared_path(*parts))
