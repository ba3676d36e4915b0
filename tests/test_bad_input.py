"""Bad input files get one line naming the file and the HDU, never a traceback (issue 17)."""

import gzip
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask.errors import FormatError


@pytest.fixture
def two_hdus(tmp_path):
    """A 2-HDU masked image (image + mask) written by astropy: 5 blocks of 2880 bytes."""
    path = tmp_path / "good.fits"
    fits.HDUList(
        [
            fits.PrimaryHDU(np.arange(600, dtype=np.float32).reshape(20, 30)),
            fits.ImageHDU(np.zeros((20, 30), np.int32), name="MASK"),
        ]
    ).writeto(path)
    return path


def _cut(path, size, name="cut.fits"):
    out = path.with_name(name)
    out.write_bytes(path.read_bytes()[:size])
    return out


@pytest.mark.parametrize(
    "size, message",
    [
        (
            2880 + 1000,
            r"truncated: HDU 0 \(PRIMARY\) declares 2400 bytes of data ending at byte 5280, but the file "
            r"has 3880 bytes",
        ),
        (2 * 2880 + 1000, r"HDU 1 starting at byte 5760 has a cut or unreadable header"),
        (
            3 * 2880 + 1000,
            r"truncated: HDU 1 \(MASK\) declares 2400 bytes of data ending at byte 11040, but the file "
            r"has 9640 bytes",
        ),
    ],
    ids=["in-primary-data", "in-extension-header", "in-extension-data"],
)
def test_a_cut_file_is_refused_naming_the_hdu(two_hdus, size, message):
    assert two_hdus.stat().st_size == 4 * 2880
    cut = _cut(two_hdus, size)
    with pytest.raises(FormatError, match=message):
        astromask.read(cut)
    with pytest.raises(FormatError, match=str(cut)):
        astromask.read_mask(cut)


def test_missing_final_padding_is_accepted(two_hdus):
    """Some writers omit the padding after the last HDU: the data are all there."""
    cut = _cut(two_hdus, 3 * 2880 + 2400)
    np.testing.assert_array_equal(astromask.read(cut).image, np.arange(600, dtype=np.float32).reshape(20, 30))


@pytest.mark.parametrize("command", ["info", "convert"])
def test_cut_files_are_one_line_errors_on_the_command_line(cli, two_hdus, tmp_path, command):
    cut = _cut(two_hdus, 2880 + 1000)
    argv = [command, cut] + ([tmp_path / "o.fits", "--to", "fits"] if command == "convert" else [])
    code, _out, err = cli(*argv)
    assert code == 1 and err == (
        f"astromask {command}: error: {cut}: truncated: HDU 0 (PRIMARY) declares 2400 "
        f"bytes of data ending at byte 5280, but the file has 3880 bytes\n"
    )
    assert not (tmp_path / "o.fits").exists()


@pytest.mark.parametrize("suffix, opener", [(".gz", "gzip"), (".bz2", "bz2")])
def test_a_cut_compressed_file_is_refused(two_hdus, suffix, opener):
    """astropy reads a cut gzip stream as a shorter file with one HDU fewer: that would be silent."""
    module = __import__(opener)
    whole = two_hdus.with_name("good.fits" + suffix)
    whole.write_bytes(module.compress(two_hdus.read_bytes()))
    assert len(astromask.read_mask(whole).schema) == 0  # the whole file reads
    cut = _cut(whole, whole.stat().st_size - 20, "cut.fits" + suffix)
    with pytest.raises(
        FormatError,
        match=rf"cut.fits{suffix}: (the (gzip|bzip2) stream is cut or corrupt|"
        r"not a readable FITS file)",
    ):
        astromask.read(cut)


def _recarded(raw: bytes, key: str, value: str, start: int = 0) -> bytes:
    """``raw`` with the first card ``key`` at or after byte ``start`` rewritten in place, as a broken
    writer would."""
    raw = bytearray(raw)
    at = raw.find(key.ljust(8).encode() + b"= ", start)
    raw[at : at + 80] = (key.ljust(8) + "= " + value.rjust(20)).ljust(80).encode()
    return bytes(raw)


def _patched(tmp_path, name, key, value):
    """A small file with one structural card of HDU 1 rewritten in place."""
    path = tmp_path / name
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((10, 10), np.int16), name="MASK")]).writeto(path)
    path.write_bytes(_recarded(path.read_bytes(), key, value, start=2880))
    return path


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("GCOUNT", "-1", "card GCOUNT = -1 must be >= 1"),
        ("BITPIX", "7", "card BITPIX = 7 is not one of"),
        ("PCOUNT", "99999999999", "an image extension needs PCOUNT = 0 and GCOUNT = 1"),
        ("NAXIS1", "99999999999999999999", "truncated: HDU 1 (MASK) declares 1999999999999999999980 bytes"),
        ("NAXIS1", "-5", "card NAXIS1 = -5 must be >= 0"),
    ],
)
def test_impossible_structural_cards_are_refused_naming_hdu_and_card(cli, tmp_path, key, value, message):
    path = _patched(tmp_path, "bad.fits", key, value)
    for argv in (["info", path], ["convert", path, tmp_path / "o.fits", "--to", "fits"]):
        code, _, err = cli(*argv)
        assert code == 1, err
        assert message in err and "bad.fits" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.fits").exists()


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("NAXIS", "99999999999999999999", "HDU 0 (PRIMARY): card NAXIS = 99999999999999999999 is outside 0..999"),
        ("NAXIS", "1000", "HDU 0 (PRIMARY): card NAXIS = 1000 is outside 0..999"),
        ("NAXIS", "'two'", "HDU 0 (PRIMARY): card NAXIS = 'two' is not an integer"),
        ("NAXIS2", "99999999999999999999", "truncated: HDU 0 (PRIMARY) declares"),
        ("BITPIX", "12", "HDU 0 (PRIMARY): card BITPIX = 12 is not one of"),
    ],
)
@pytest.mark.parametrize("suffix", [".fits", ".fits.gz"])
def test_primary_structural_cards_are_checked_before_astropy_reads_them(tmp_path, key, value, message, suffix):
    """A primary header with NAXIS = 10**20 sent astropy into a loop over that many axes: the raw
    header walk refuses it first, in a fresh process with a time limit, so a hang fails the test."""
    path = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.zeros((10, 10), np.int16)).writeto(path)
    raw = _recarded(path.read_bytes(), key, value)
    target = tmp_path / f"bad{suffix}"
    target.write_bytes(gzip.compress(raw) if suffix.endswith(".gz") else raw)
    run = subprocess.run(
        [sys.executable, "-m", "astromask", "info", str(target)], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 1, run.stderr
    assert message in run.stderr and target.name in run.stderr and len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("value", "message"), [("'abc'", "'abc' is not an integer"), ("1E300", "is outside 0..63")])
def test_plane_cards_of_the_wrong_type_or_range_name_the_card(cli, tmp_path, value, message):
    header = fits.Header()
    header["MP_BAD"] = 0
    header["MP_SAT"] = 1
    hdus = [
        fits.PrimaryHDU(),
        fits.ImageHDU(np.ones((4, 4), np.float32), name="IMAGE"),
        fits.ImageHDU(np.zeros((4, 4), np.int32), header=header, name="MASK"),
        fits.ImageHDU(np.ones((4, 4), np.float32), name="VARIANCE"),
    ]
    path = tmp_path / "afw.fits"
    fits.HDUList(hdus).writeto(path)
    with fits.open(path, mode="update") as hdul:
        hdul[2].header["MP_SAT"] = 1e300 if value == "1E300" else "abc"
    code, _, err = cli("info", path)
    assert code == 1 and "MP_SAT" in err and message in err
