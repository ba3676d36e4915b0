"""``astromask detect``: outputs, pictures, options and one-line errors."""

import hashlib
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

import astromask
import astromask.cli
from astromask import Mask, get_schema
from astromask.cli import detect as detect_cli
from conftest import shared_path


@pytest.fixture
def cli(monkeypatch):
    monkeypatch.setitem(astromask.cli.COMMANDS, "detect", detect_cli)

    def run(*args):
        return astromask.cli.main(["detect", *map(str, args)])

    return run


def generated_file(path, seed=0, shape=(120, 150)):
    """A plain FITS image with SATURATE: sky, a saturated blob, a hot pixel and an unread strip."""
    rng = np.random.default_rng(seed)
    image = rng.normal(1000.0, 30.0, shape).astype(np.float32)
    image[50:53, 70:72] = 50000.0
    image[90, 30] += 3000.0
    image[:, :8] = 0.0
    header = fits.Header({"SATURATE": 50000.0, "GAIN": 1.0, "RDNOISE": 30.0})
    fits.PrimaryHDU(image, header=header).writeto(path)
    return path


def digest(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_one_image_to_a_file_and_a_picture(cli, tmp_path, capsys):
    source = generated_file(tmp_path / "in.fits")
    before = digest(source)
    out = tmp_path / "out.fits"
    assert cli(source, "-o", out, "--no-cnn", "--grow", "HOT=1") == 0
    assert digest(source) == before
    result = astromask.read(str(out))
    counts = result.mask.counts()
    assert counts["NO_DATA"] == 120 * 8 and counts["HOT"] == 5 and counts["SAT"] > 6
    assert result.metadata["SATURATE"] == 50000.0
    png = tmp_path / "out.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    line = capsys.readouterr().out
    assert "NO_DATA 960" in line and "-> " + str(out) in line and str(png) in line


def test_several_images_to_a_directory_as_a_stack(cli, tmp_path, capsys):
    sources = [generated_file(tmp_path / f"frame{i}.fits", seed=i) for i in range(3)]
    outdir = tmp_path / "masks"
    assert cli(*sources, "-o", outdir, "--no-png", "--no-cnn", "--stack", "--detectors", "HOT,SAT") == 0
    names = sorted(p.name for p in outdir.iterdir())
    assert names == ["frame0.detect.fits", "frame1.detect.fits", "frame2.detect.fits"]
    # the spike is in every exposure: hot in the stack
    assert all(astromask.read(str(outdir / n)).mask.get("HOT")[90, 30] for n in names)
    assert capsys.readouterr().out.count("->") == 3


def test_format_and_png_name(cli, tmp_path):
    source = generated_file(tmp_path / "in.fits")
    out = tmp_path / "out_afw.fits"
    assert (
        cli(source, "-o", out, "--to", "afw", "--png", tmp_path / "pic.png", "--no-cnn", "--detectors", "NO_DATA") == 0
    )
    with fits.open(out) as hdul:
        assert astromask.io.identify(hdul, str(out)) == "afw"
    assert (tmp_path / "pic.png").exists() and not (tmp_path / "out_afw.png").exists()


def test_m13_frame(cli, tmp_path):
    source = shared_path("m13", "M13_blue_0001.fits")
    out = tmp_path / "m13.fits"
    assert cli(source, "-o", out, "--no-png", "--no-cnn", "--detectors", "NO_DATA,SAT,BAD_COLUMN,HOT,EDGE") == 0
    result = astromask.read(str(out))
    original = astromask.read(str(source))
    np.testing.assert_array_equal(result.image, original.image)  # uint16 pixels kept as they are
    assert result.image.dtype == original.image.dtype
    counts = result.mask.counts()
    assert counts["SAT"] == 0 and counts["NO_DATA"] == 0 and 300 <= counts["HOT"] <= 450


def test_decam_cutout_written_as_plain_fits_by_default(cli, tmp_path):
    source = shared_path("decam", "c4d_170316_062107_ooi_z_ls9.N2.fits")
    out = tmp_path / "n2.fits"
    assert cli(source, "-o", out, "--no-png", "--no-cnn") == 0
    assert not (tmp_path / "n2.ood.fits").exists()  # not the CP triplet, which cannot hold the new planes
    result = astromask.read(str(out))
    assert result.mask.counts()["CR"] >= 177 and "EDGE" in result.mask.schema


def test_cnn_asked_for_but_missing(cli, tmp_path, monkeypatch, capsys):
    module = types.ModuleType("astromask.maximask")
    module.available = lambda: False
    module.predict_mask = lambda image: Mask(image.shape, get_schema("maximask"))
    monkeypatch.setitem(sys.modules, "astromask.maximask", module)
    source = generated_file(tmp_path / "in.fits")
    assert cli(source, "-o", tmp_path / "out.fits", "--cnn") == 1
    err = capsys.readouterr().err
    assert err.startswith("astromask detect: error: the MaxiMask network is not available")
    assert "pip install 'astromask[cnn]'" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--detectors", "CR,FOO"], "unknown detector FOO"),
        (["--grow", "CR"], "PLANE=RADIUS"),
        (["--edge", "wide"], "--edge must be a number of pixels or an angle"),
        (["--png", "a.png", "--no-png"], "give --png FILE or --no-png, not both"),
    ],
    ids=["detector", "grow", "edge", "png"],
)
def test_option_errors(cli, tmp_path, capsys, extra, message):
    source = generated_file(tmp_path / "in.fits")
    assert cli(source, "-o", tmp_path / "out.fits", "--no-cnn", *extra) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_file_errors(cli, tmp_path, capsys):
    source = generated_file(tmp_path / "in.fits")
    out = tmp_path / "out.fits"
    out.write_text("keep me")
    assert cli(source, "-o", out, "--no-cnn") == 1
    assert "output file exists" in capsys.readouterr().err and out.read_text() == "keep me"
    assert cli(source, "-o", source, "--no-cnn", "--overwrite") == 1
    assert "output is the input file" in capsys.readouterr().err
    mask_file = tmp_path / "mask.fits"
    astromask.write(Mask((10, 10), get_schema("rubin")), mask_file, format="fits")
    assert cli(mask_file, "-o", tmp_path / "m.fits", "--no-cnn") == 1
    assert "holds a mask, not an image" in capsys.readouterr().err
    assert cli(source, source, "-o", out, "--no-cnn") == 1
    assert "OUT must be a directory" in capsys.readouterr().err
    assert cli(source, "-o", out, "--weight", tmp_path / "nope.fits", "--no-cnn", "--overwrite") == 1
    assert "nope.fits" in capsys.readouterr().err


def test_usage_error_exit_2(cli, capsys):
    assert cli("x.fits") == 2
    assert "the following arguments are required: -o/--output" in capsys.readouterr().err


def test_jwst_input_written_as_plain_fits_with_every_plane(cli, tmp_path):
    # JWST's 32 DQ bits are all named: the detector planes fit only in another format
    source = Path(__file__).parent / "data" / "jwst_image_stdatamodels.fits"
    out = tmp_path / "j.fits"
    assert cli(source, "-o", out, "--no-png", "--no-cnn", "--detectors", "SAT,HOT,EDGE") == 0
    with fits.open(out) as hdul:
        assert astromask.io.identify(hdul, str(out)) == "fits"
    names = astromask.read(str(out)).mask.schema.names
    assert {"DO_NOT_USE", "SATURATED", "HOT", "EDGE"} <= set(names) and "SAT" not in names
