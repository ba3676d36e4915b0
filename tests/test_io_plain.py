"""Plain FITS: CFITSIO extended names, BZERO/BSCALE, big-endian, .gz, tile compression,
subimage reads, mask compression choice, atomic writes that never overwrite by default.

References: astropy.io.fits reads the same files independently; the M13 frames are real
uint16-as-int16 data with BZERO=32768 (../shared/data/README.md).
"""

import gzip
import os
import shutil

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask import Box, Mask, MaskedImage, MaskSchema
from astromask.errors import FormatError, OutputExistsError
from astromask.io.fitsfile import mask_compression, parse_fits_name, write_atomic
from conftest import shared_path


@pytest.mark.parametrize(
    "name, path, hdu",
    [
        ("f.fits[1]", "f.fits", 1),
        ("f.fits[SCI]", "f.fits", "SCI"),
        ("f.fits[sci, 2]", "f.fits", ("sci", 2)),
        ("f.fits[PRIMARY]", "f.fits", 0),
        ("f.fits+3", "f.fits", 3),
        ("f.fits.fz[ccd2]", "f.fits.fz", "ccd2"),
        ("f.fits", "f.fits", None),
    ],
    ids=str,
)
def test_parse_extended_names(name, path, hdu):
    parsed = parse_fits_name(name)
    assert (parsed.path, parsed.hdu) == (path, hdu)


def _multi_ext(tmp_path):
    path = tmp_path / "multi.fits"
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    hdus = [
        fits.PrimaryHDU(),
        fits.ImageHDU(a, name="SCI"),
        fits.ImageHDU(a * 2, name="SCI", ver=2),
        fits.ImageHDU(np.array([[1, 0, 0, 4]] * 3, np.int16), name="DQMASK"),
    ]
    hdus[2].header["EXTVER"] = 2
    fits.HDUList(hdus).writeto(path)
    return path, a


def test_read_by_extended_names(tmp_path):
    path, a = _multi_ext(tmp_path)
    np.testing.assert_array_equal(astromask.read(f"{path}[1]", format="fits").image, a)
    np.testing.assert_array_equal(astromask.read(f"{path}[SCI,2]", format="fits").image, a * 2)
    np.testing.assert_array_equal(astromask.read(str(path), format="fits", hdu=("sci", 2)).image, a * 2)
    m = astromask.read(f"{path}[DQMASK]", format="fits")
    assert isinstance(m, Mask) and m.schema.names == ["BIT00", "BIT02"]
    assert m.get("BIT02")[:, 3].all()


def test_missing_hdu_error_lists_hdus(tmp_path):
    path, _ = _multi_ext(tmp_path)
    with pytest.raises(FormatError, match=r"multi.fits: no HDU named NOPE; the file has: 0 \(PRIMARY\), 1 \(SCI\)"):
        astromask.read(f"{path}[NOPE]", format="fits")
    with pytest.raises(FormatError, match="no HDU 9; the file has 4 HDUs"):
        astromask.read(f"{path}[9]", format="fits")
    with pytest.raises(FormatError, match="no such file"):
        astromask.read(str(tmp_path / "absent.fits"))


def test_bzero_uint16_real_frame():
    src = shared_path("m13", "M13_blue_0001.fits")
    mi = astromask.read(str(src), format="fits")
    raw = fits.getdata(src)
    assert mi.image.dtype == np.uint16 and mi.image.dtype.isnative
    np.testing.assert_array_equal(mi.image, raw)
    assert mi.metadata["EXPTIME"] == fits.getheader(src)["EXPTIME"]


def test_bscale_big_endian_gzip_and_tile_compressed(tmp_path):
    data = np.arange(20, dtype=">i2").reshape(4, 5) * 3
    hdu = fits.PrimaryHDU(data)
    hdu.header["BSCALE"] = 0.5
    hdu.header["BZERO"] = 10.0
    plain = tmp_path / "scaled.fits"
    hdu.writeto(plain)
    expected = fits.getdata(plain)  # astropy applies BSCALE/BZERO
    np.testing.assert_allclose(astromask.read(str(plain), format="fits").image, expected)
    gz = tmp_path / "scaled.fits.gz"
    with open(plain, "rb") as f, gzip.open(gz, "wb") as g:
        shutil.copyfileobj(f, g)
    np.testing.assert_allclose(astromask.read(str(gz), format="fits").image, expected)
    fz = tmp_path / "tile.fits.fz"
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.CompImageHDU(np.arange(30, dtype=np.int32).reshape(5, 6), compression_type="RICE_1", name="SCI"),
        ]
    ).writeto(fz)
    np.testing.assert_array_equal(astromask.read(f"{fz}[SCI]", format="fits").image, np.arange(30).reshape(5, 6))


def test_subimage_read_of_tile_compressed_mask():
    src = shared_path("decam", "ksb_staticmask_ood_v1.fits.fz")
    box = Box(100, 164, 2000, 2100)
    m = astromask.read(f"{src}[ccd3]", format="fits", bbox=box)
    with fits.open(src) as h:
        expected = h["ccd3"].section[100:164, 2000:2100]
    assert m.shape == (64, 100)
    np.testing.assert_array_equal(m.array, expected)


def test_masked_image_round_trip_with_origin_and_wcs(tmp_path):
    from astropy.wcs import WCS

    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crpix = [5, 5]
    w.wcs.crval = [10.0, -5.0]
    w.wcs.cdelt = [-1e-4, 1e-4]
    mi = MaskedImage(
        np.random.default_rng(3).normal(size=(8, 9)).astype(np.float32),
        schema=astromask.get_schema("rubin"),
        xy0=(-4, 7),
        wcs=w,
        unit="adu",
    )
    mi.mask.set("CR", (1, 2))
    mi.mask.set("UNMASKEDNAN", (7, 8))
    mi.metadata["OBJECT"] = "field 3"
    out = tmp_path / "mi.fits"
    astromask.write(mi, out, format="fits")
    back = astromask.read(str(out), format="fits")
    assert back.mask == mi.mask and back.xy0 == (-4, 7) and back.metadata["OBJECT"] == "field 3"
    np.testing.assert_array_equal(back.image, mi.image)
    np.testing.assert_allclose(back.wcs.wcs.crval, [10.0, -5.0])
    assert str(back.unit) == "adu"
    with fits.open(out) as h:  # masks are written losslessly compressed by default
        assert isinstance(h["MASK"], fits.CompImageHDU) and h["MASK"].compression_type == "GZIP_2"


@pytest.mark.parametrize(
    "dtype, values, requested, expected",
    [
        (np.uint8, [0, 255], "PLIO_1", "PLIO_1"),
        (np.int32, [0, 2**12 - 1], "PLIO_1", "PLIO_1"),
        (np.int32, [0, 2**12], "PLIO_1", "GZIP_2"),  # astropy's PLIO encoder overruns its buffer above
        (np.int32, [0, 2**24], "PLIO_1", "GZIP_2"),
        (np.uint16, [0, 1], "PLIO_1", "GZIP_2"),
        (np.int32, [-1, 0], "PLIO_1", "GZIP_2"),
        (np.uint32, [0, 1], "GZIP_2", "GZIP_2"),
        (np.uint8, [0, 1], None, None),
    ],
    ids=str,
)
def test_mask_compression_choice(dtype, values, requested, expected):
    assert mask_compression(np.array(values, dtype=dtype), requested) == expected


def test_plio_asked_for_dense_16_bit_mask_does_not_abort(tmp_path):
    """astropy 8's PLIO_1 encoder aborts the process (a heap overrun) on random values of 2**14 and more,
    within the 2**24 the standard allows (afw masks are int32, so PLIO_1 applies to them); such masks fall
    back to GZIP_2. Run in a child process: an abort
    would take the test run with it."""
    import subprocess
    import sys

    script = (
        "import numpy as np, astromask; from astromask import Mask, MaskSchema\n"
        "a = np.random.default_rng(1).integers(0, 2**16, (64, 2048)).astype(np.uint16)\n"
        "m = Mask(a, MaskSchema([f'P{i}' for i in range(16)]))\n"
        f"astromask.write(m, {str(tmp_path / 'dense.fits')!r}, format='afw', compression='PLIO_1')\n"
        f"assert astromask.read({str(tmp_path / 'dense.fits')!r}) == m\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_plio_mask_round_trip(tmp_path):
    m = Mask((6, 7), MaskSchema(["A", "B", "C"]))
    m.set("C", np.s_[2:4, 1:6])
    m.set("A", (0, 0))
    out = tmp_path / "m.fits"
    astromask.write(m, out, format="fits", compression="PLIO_1")
    with fits.open(out) as h:
        assert h["MASK"].compression_type == "PLIO_1"
    back = astromask.read(str(out), format="fits")
    assert back == m and back.schema.names == ["A", "B", "C"]


def test_never_overwrite_without_permission(tmp_path):
    out = tmp_path / "m.fits"
    out.write_bytes(b"precious")
    m = Mask((2, 2), MaskSchema(["A"]))
    with pytest.raises(OutputExistsError, match="output file exists"):
        astromask.write(m, out, format="fits")
    assert out.read_bytes() == b"precious"
    astromask.write(m, out, format="fits", overwrite=True)
    assert astromask.read(str(out), format="fits") == m


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "broken.fits"

    class Boom(fits.HDUList):
        def writeto(self, *args, **kwargs):
            with open(args[0], "wb") as f:
                f.write(b"partial")
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(Boom([fits.PrimaryHDU()]), str(out))
    assert os.listdir(tmp_path) == []


def test_wrong_shape_companion_is_an_error(tmp_path):
    path = tmp_path / "bad.fits"
    fits.HDUList(
        [fits.PrimaryHDU(np.zeros((4, 4), np.float32)), fits.ImageHDU(np.zeros((3, 4), np.int16), name="MASK")]
    ).writeto(path)
    with pytest.raises(FormatError, match=r"bad.fits\[1\]: shape \(3, 4\) differs from the image's \(4, 4\)"):
        astromask.read(str(path), format="fits")


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        out = tmp_path / "m.fits"
        astromask.write(Mask((2, 2), MaskSchema(["A"])), out, format="fits")
        assert (out.stat().st_mode & 0o777) == 0o644
    finally:
        os.umask(old)
