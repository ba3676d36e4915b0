"""Conversions that lose something say so and refuse unless --allow-loss; a forced format must fit;
every output records what made it."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask import Mask, MaskedImage, MaskSchema
from astromask.errors import FormatError, LossError


@pytest.fixture
def afw_like(tmp_path):
    mask = Mask((10, 12), MaskSchema(["BAD", "SAT", "EDGE", "DETECTED"]))
    mask.set("EDGE", np.s_[0, :])
    mask.set("SAT", (5, 5))
    image = MaskedImage(np.ones((10, 12), np.float32), mask=mask)
    path = tmp_path / "in.fits"
    astromask.write(image, path, format="fits")
    return path


def test_convert_refuses_planes_the_format_lacks_and_names_them(cli, afw_like, tmp_path):
    out = tmp_path / "c4d_x_ooi_z.fits"
    code, _, err = cli("convert", afw_like, out, "--to", "decam")
    assert code == 1
    line = err.strip()
    assert "\n" not in line and "EDGE (12 pixels set), DETECTED" in line and "--allow-loss" in line
    assert not list(tmp_path.glob("c4d_*"))  # nothing written: not the image, DQ or weight file


def test_allow_loss_writes_and_says_what_was_lost_in_one_line(cli, afw_like, tmp_path):
    out = tmp_path / "c4d_x_ooi_z.fits"
    code, _, err = cli("convert", afw_like, out, "--to", "decam", "--allow-loss")
    assert code == 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "written as decam without" in lines[0] and "EDGE (12 pixels set)" in lines[0]
    assert "Warning" not in err  # a message, not a raw Python warning
    back = astromask.read(out)
    assert back.mask.counts()["SAT"] == 1 and "EDGE" not in back.mask.schema


def test_the_python_api_refuses_the_same_loss(afw_like, tmp_path):
    image = astromask.read(afw_like)
    with pytest.raises(LossError, match="planes CP DQ masks do not have: EDGE"):
        astromask.write(image, tmp_path / "c4d_y_ooi_z.fits", format="decam")
    astromask.write(image, tmp_path / "c4d_y_ooi_z.fits", format="decam", allow_loss=True)


def test_a_lossless_conversion_needs_nothing(cli, afw_like, tmp_path):
    code, _, err = cli("convert", afw_like, tmp_path / "o.fits", "--to", "lsst")
    assert code == 0 and err == ""


def test_a_forced_format_that_does_not_fit_is_an_error_not_a_misreading(cli, afw_like, tmp_path):
    with pytest.raises(FormatError, match="is not a lsst file .* reads as fits"):
        astromask.read(afw_like, format="lsst")
    code, _, err = cli("convert", afw_like, tmp_path / "o.fits", "--from", "maximask", "--to", "fits")
    assert code == 1 and "is not a maximask file" in err
    code, _, err = cli("info", "--format", "decam", afw_like)
    assert code == 1 and "is not a decam file" in err


def test_outputs_record_the_command_and_its_inputs(cli, afw_like, tmp_path):
    out = tmp_path / "g.fits"
    code, _, err = cli("grow", afw_like, out, "--radius", "1", "--planes", "SAT")
    assert code == 0, err
    history = " ".join(str(h) for h in fits.getheader(out)["HISTORY"]).replace(" ", "")
    assert f"astromask{astromask.__version__}:astromaskgrow{afw_like}{out}--radius1--planesSAT" in history
    assert f"astromaskinput:{afw_like}" in history
    astromask.write(astromask.read(out), tmp_path / "api.fits", format="fits")
    later = [str(h) for h in fits.getheader(tmp_path / "api.fits")["HISTORY"]]
    assert len(later) == len(fits.getheader(out)["HISTORY"])  # the API adds nothing, not the finished command
