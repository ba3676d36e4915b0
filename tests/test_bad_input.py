"""Bad input files get one line naming the file and the HDU, never a traceback (issue 17)."""

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
