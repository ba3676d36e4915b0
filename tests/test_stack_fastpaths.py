"""The stack's fast paths give the plain numpy/scipy answer: block-wise passes, packed votes,
byte order and compression of the outputs."""

import numpy as np
import pytest
from astropy.io import fits
from scipy import ndimage as ndi

import astromask
from astromask import MaskedImage, get_schema
from astromask.stack import StackConfig, mask_image, masking, passes, run_stack

RUBIN = get_schema("rubin")
BAD, CR, EDGE = 1, 8, 16


def noisy_image(shape, seed, *, dtype=np.float32, variance_dtype=np.float32, nan=True):
    rng = np.random.default_rng(seed)
    image = rng.normal(10, 3, shape)
    if nan:
        image[rng.random(shape) < 0.01] = np.nan  # NaN already there: counted, never thresholded
    mi = MaskedImage(
        image.astype(dtype) if np.dtype(dtype).kind == "f" else np.nan_to_num(image).astype(dtype),
        schema=RUBIN,
        variance=rng.uniform(1, 2, shape).astype(variance_dtype),
    )
    mi.mask.array[rng.random(shape) < 0.02] |= BAD
    mi.mask.array[rng.random(shape) < 0.02] |= CR
    mi.mask.array[:, :3] |= EDGE
    return mi


def reference(mi, config, global_):
    """KBMOD's steps written plainly: whole-array numpy, scipy's dilation by the diamond; the pixels
    without data (NaN here; NO_DATA is not among these flag keys) masked, not grown."""
    flagged = (mi.mask.array & (BAD | EDGE)) != 0
    with np.errstate(invalid="ignore"):
        above = mi.image > config.mask_threshold
    y, x = np.mgrid[-config.mask_grow : config.mask_grow + 1, -config.mask_grow : config.mask_grow + 1]
    masked = ndi.binary_dilation(flagged | above | global_, structure=np.abs(y) + np.abs(x) <= config.mask_grow)
    masked |= np.isnan(mi.image)
    science = np.where(masked, np.nan, mi.image)
    variance = np.where(masked, np.nan, mi.variance)
    return flagged, above, masked, science, variance


@pytest.mark.parametrize("block_bytes", [1 << 20, 4096, 1], ids=["one-block", "blocks", "row-by-row"])
def test_block_wise_masking_equals_whole_array_reference(monkeypatch, block_bytes):
    monkeypatch.setattr(masking, "BLOCK_BYTES", block_bytes)
    mi = noisy_image((37, 45), seed=1)
    global_ = np.zeros(mi.shape, bool)
    global_[20, 30] = True
    config = StackConfig(flag_keys=["BAD", "EDGE"], mask_threshold=15.0, mask_grow=2)
    flagged, above, masked, science, variance = reference(mi, config, global_)
    out, stats = mask_image(mi, config, global_)
    np.testing.assert_array_equal(out.image, science)
    np.testing.assert_array_equal(out.variance, variance)
    np.testing.assert_array_equal(out.mask.get("STACK_MASKED"), masked)
    assert stats["n_flagged"] == flagged.sum() and stats["n_threshold"] == above.sum()
    assert stats["n_masked"] == masked.sum() == stats["n_nan"] == np.isnan(science).sum()
    assert stats["n_no_data"] == np.isnan(mi.image).sum() > 0
    unflagged = mi.mask.array == 0
    np.testing.assert_array_equal(out.mask.get("NO_DATA"), (np.isnan(mi.image) & unflagged) | mi.mask.get("NO_DATA"))
    schema = out.mask.schema
    new_planes = sum(1 << schema.bit(name) for name in ("STACK_MASKED", "GLOBAL", "NO_DATA"))
    np.testing.assert_array_equal(out.mask.array & ~np.uint32(new_planes), mi.mask.array & ~np.uint32(new_planes))


@pytest.mark.parametrize("shape", [(2, 3), (3, 5), (16, 20)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_global_mask_of_packed_votes(tmp_path, shape):
    """One image's vote travels as packed bits (sizes not a multiple of 8), sums as counts."""
    names, votes = [], []
    yy, xx = np.indices(shape)
    for i in range(3):
        mi = MaskedImage(np.zeros(shape, np.float32), schema=RUBIN)
        mi.mask.set("CR", (7 * yy + 3 * xx + i) % 4 == 0)  # a quarter of the pixels, a different quarter each
        votes.append((mi.mask.array & CR) != 0)
        names.append(str(tmp_path / f"in{i}.fits"))
        astromask.write(mi, names[-1], format="afw")
    config = StackConfig(flag_keys=[], repeated_flag_keys=["CR"], mask_num_images=2, mask_grow=0)
    one = run_stack(names[:1], tmp_path / "one", config.replace(mask_num_images=1))
    np.testing.assert_array_equal(one.counts, votes[0])
    np.testing.assert_array_equal(one.global_mask, votes[0])
    three = run_stack(names, tmp_path / "three", config)
    np.testing.assert_array_equal(three.counts, np.sum(votes, axis=0))
    np.testing.assert_array_equal(three.global_mask, np.sum(votes, axis=0) >= 2)
    assert three.counts.dtype == np.uint16


def test_outputs_hold_the_masked_values_whatever_the_input_types(tmp_path):
    """Pass 2 hands the writer big-endian pixels; the files read back as the in-memory result."""
    mi = noisy_image((30, 40), seed=3, dtype=np.int16, variance_dtype=np.float64)
    astromask.write(mi, tmp_path / "in.fits", format="afw")
    config = StackConfig(flag_keys=["BAD"], mask_grow=1)
    expected, _ = mask_image(mi, config)
    result = run_stack([tmp_path / "in.fits"], tmp_path / "out", config, write_images=True)
    back = astromask.read(result.table["output"][0])
    assert back.image.dtype == np.float32 and back.variance.dtype == np.float64
    np.testing.assert_array_equal(back.image, expected.image)
    np.testing.assert_array_equal(back.variance, expected.variance)
    assert back.mask == expected.mask
    masks = run_stack([tmp_path / "in.fits"], tmp_path / "masks", config)  # the default: the mask alone
    assert astromask.read(masks.table["output"][0]) == expected.mask


def test_pass_two_reads_floats_as_stored(tmp_path):
    """Science and variance stay big-endian from reading to writing; the mask is made native."""
    mi = noisy_image((30, 40), seed=4)
    astromask.write(mi, tmp_path / "in.fits", format="afw")
    fmt, stored = passes._read_image(str(tmp_path / "in.fits"))
    assert fmt == "afw"
    assert stored.image.dtype == np.dtype(">f4") and stored.variance.dtype == np.dtype(">f4")
    assert stored.mask.array.dtype.isnative
    np.testing.assert_array_equal(stored.image, mi.image)
    assert astromask.read(tmp_path / "in.fits").image.dtype.isnative  # only inside the block
    config = StackConfig(flag_keys=["BAD", "EDGE"], mask_threshold=15.0, mask_grow=2)
    global_ = np.zeros(mi.shape, bool)
    global_[5, 7] = True
    expected, expected_stats = mask_image(mi, config, global_)
    out, stats = mask_image(stored, config, global_, copy=False)
    assert stats == expected_stats  # threshold and NaN counts on big-endian floats
    np.testing.assert_array_equal(out.image, expected.image)
    np.testing.assert_array_equal(out.variance, expected.variance)


@pytest.mark.parametrize(
    ("fmt", "options", "compressed"),
    [
        ("lsst", None, {"MASK": "RICE_1"}),
        ("fits", None, {"MASK": "RICE_1"}),
        ("afw", None, {}),
        ("afw", {"compression": "GZIP_1"}, {"IMAGE": "GZIP_1", "MASK": "GZIP_1", "VARIANCE": "GZIP_1"}),
    ],
    ids=["lsst", "plain", "afw", "afw-gzip-asked"],
)
def test_output_compression(tmp_path, fmt, options, compressed):
    mi = noisy_image((30, 40), seed=4)
    astromask.write(mi, tmp_path / "in.fits", format="afw")
    config = StackConfig(mask_grow=1)
    result = run_stack(
        [tmp_path / "in.fits"], tmp_path / "out", config, to=fmt, write_options=options, write_images=True
    )
    output = result.table["output"][0]
    with fits.open(output) as hdul:
        found = {hdu.name: hdu.compression_type for hdu in hdul if isinstance(hdu, fits.CompImageHDU)}
        planes = {hdu.name for hdu in hdul if hdu.name in ("IMAGE", "MASK", "VARIANCE")}
    assert found == compressed and planes == {"IMAGE", "MASK", "VARIANCE"}
    expected, _ = mask_image(mi, config)
    back = astromask.read(output)
    np.testing.assert_array_equal(back.image, expected.image)  # lossless
    assert back.mask.get("STACK_MASKED").sum() == expected.mask.get("STACK_MASKED").sum() > 0


@pytest.mark.parametrize(("fmt", "expected"), [("afw", "afw"), ("fits", "fits"), ("lsst", "fits"), ("jwst", "jwst")])
def test_mask_outputs_are_compressed_in_their_own_format(tmp_path, fmt, expected):
    """The default outputs: each exposure's mask alone, RICE_1 in tiles of whole rows, in its own format where
    that holds a lone mask (lsst.images files do not: plain FITS with lsst.images' MSKN cards), with the origin
    and WCS of the exposure."""
    from astropy.wcs import WCS

    mi = noisy_image((300, 40), seed=5)
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [20.0, 150.0]
    wcs.wcs.cdelt = [-1e-4, 1e-4]
    metadata = fits.Header({"EXPTIME": 30.0, "FILTER": "g"})
    mi = MaskedImage(mi.image, mask=mi.mask, variance=mi.variance, wcs=wcs, xy0=(100, 200), metadata=metadata)
    astromask.write(mi, tmp_path / "in.fits", format=fmt)
    config = StackConfig(mask_grow=1)
    result = run_stack([tmp_path / "in.fits"], tmp_path / "out", config)
    output = result.table["output"][0]
    assert output.endswith("in_mask.fits") and result.table["format"][0] == expected
    with fits.open(output) as hdul:
        compressed = [hdu for hdu in hdul if isinstance(hdu, fits.CompImageHDU)]
        assert len(compressed) == 1 and compressed[0].compression_type == "RICE_1"
        assert not [hdu for hdu in hdul if hdu.name in ("IMAGE", "SCI", "VARIANCE")]
    with fits.open(output, disable_image_compression=True) as hdul:
        assert [hdu.header["ZTILE2"] for hdu in hdul if "ZTILE2" in hdu.header] == [300]  # whole rows, not one
    with astromask.io.open(output) as source:
        assert source.format == expected
    back = astromask.read(output)
    expected_mask = mask_image(astromask.read(tmp_path / "in.fits"), config)[0].mask
    assert back == expected_mask
    header = fits.getheader(output, 1)  # the mask HDU: the exposure's sky WCS and pixel origin
    assert WCS(header).wcs.crval[0] == pytest.approx(150.0)
    assert (header["CRVAL1A"], header["CRVAL2A"]) == (100, 200)
    with fits.open(output) as hdul:
        cards = {key: value for hdu in hdul for key, value in hdu.header.items()}
    assert cards["EXPTIME"] == 30.0 and cards["FILTER"] == "g"  # and its header cards


@pytest.mark.parametrize("order", ["<", ">"], ids=["native", "big-endian"])
@pytest.mark.parametrize("threshold", [None, 0.5, -0.25, 1e30, 0.1, 0.7])  # 0.1, 0.7: not float32 numbers
@pytest.mark.parametrize("flag_keys", [["BAD", "EDGE"], ["BAD", "NO_DATA"]])
def test_compiled_passes_equal_the_numpy_passes(monkeypatch, order, threshold, flag_keys):
    """Floats as bit patterns (NaN, +-inf, -0, negative and zero variance, the threshold's float32 order) give
    the bits and counts of the numpy passes, in either byte order, with and without a global mask."""
    rng = np.random.default_rng(7)
    shape = (61, 47)
    # float32(0.1) is just above 0.1 and float32(0.7) just below 0.7: a float64 threshold between
    # float32 numbers must be compared as numpy compares, science > threshold in float64
    specials = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 0.5, -0.25, 1e-45, -1e-45, 3e38, 0.1, 0.7], np.float32)
    science = rng.normal(0, 1, shape).astype(np.float32)
    variance = rng.uniform(0.5, 2, shape).astype(np.float32)
    for array in (science, variance):
        where = rng.random(shape) < 0.08
        array[where] = rng.choice(specials, where.sum())
    mi = MaskedImage(science.astype(order + "f4"), schema=RUBIN, variance=variance.astype(order + "f4"))
    mi.mask.array[rng.random(shape) < 0.05] |= BAD
    mi.mask.array[rng.random(shape) < 0.05] |= 1 << RUBIN.bit("NO_DATA")
    global_ = rng.random(shape) < 0.01
    config = StackConfig(flag_keys=flag_keys, mask_threshold=threshold, mask_grow=1)
    assert masking._compiled(mi)
    for g in (None, global_):
        compiled, compiled_stats = mask_image(mi, config, g)
        with monkeypatch.context() as patch:
            patch.setattr(masking, "_compiled", lambda image: False)
            plain, plain_stats = mask_image(mi, config, g)
        assert compiled.mask == plain.mask
        np.testing.assert_array_equal(compiled.image, plain.image)
        np.testing.assert_array_equal(compiled.variance, plain.variance)
        assert compiled_stats.pop("_planes") == plain.mask.counts()
        assert compiled_stats == plain_stats
        assert compiled_stats["n_no_data"] > 0 and (threshold is None or compiled_stats["n_threshold"] > 0)
