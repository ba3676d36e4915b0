"""Outputs that cannot be written are refused before any work, in the user's terms."""

from __future__ import annotations

import os

import numpy as np
import pytest
from astropy.io import fits

from astromask.errors import OutputError
from astromask.io.fitsfile import check_writable


@pytest.fixture
def image(tmp_path):
    path = tmp_path / "in.fits"
    fits.PrimaryHDU(np.ones((30, 40), np.float32)).writeto(path)
    return path


@pytest.fixture
def no_detector(monkeypatch):
    """Fail the test if detection starts: every refusal must come before the work."""
    import astromask.cli.detect as command

    def boom(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(command, "detect", boom)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("{dir}", "is a directory; give a file name"),
        ("{dir}/", "is a directory; give a file name"),
        ("{tmp}/missing/x.fits", "the directory {tmp}/missing does not exist"),
        ("{file}/x.fits", "{file} is not a directory"),
    ],
)
def test_detect_refuses_an_output_it_cannot_write_before_detecting(cli, tmp_path, image, no_detector, output, expected):
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("")
    names = {"dir": str(tmp_path / "adir"), "tmp": str(tmp_path), "file": str(tmp_path / "afile")}
    code, _, err = cli("detect", image, "-o", output.format(**names), "--no-cnn", "--no-png")
    assert code == 1
    line = err.strip()
    assert expected.format(**names) in line and "\n" not in line
    assert ".astromask-" not in line and "Errno" not in line


def test_a_read_only_place_is_named_not_a_temporary_file(monkeypatch, tmp_path):
    real = os.access
    monkeypatch.setattr(
        os, "access", lambda path, mode: False if os.fspath(path) == str(tmp_path) else real(path, mode)
    )
    with pytest.raises(OutputError, match="cannot write in .* read-only file system") as info:
        check_writable(tmp_path / "x.fits")
    assert ".astromask-" not in str(info.value)


@pytest.mark.parametrize("command", ["convert", "grow", "invert"])
def test_mask_commands_refuse_a_directory_for_a_file_even_with_overwrite(cli, tmp_path, image, command):
    (tmp_path / "out").mkdir()
    extra = {"convert": ["--to", "fits"], "grow": ["--radius", "1"], "invert": []}[command]
    code, _, err = cli(command, image, tmp_path / "out", *extra, "--overwrite")
    assert code == 1 and "is a directory; give a file name" in err


def test_stack_outdir_that_is_a_file_is_refused_before_reading(cli, tmp_path, image):
    (tmp_path / "afile").write_text("")
    code, _, err = cli("stack", tmp_path / "missing.fits", "--outdir", tmp_path / "afile")
    assert code == 1 and "is a file, not a directory" in err  # before the missing input is even looked at


def test_stack_makes_nested_output_directories(cli, tmp_path, image):
    code, _, err = cli("stack", image, "--outdir", tmp_path / "a" / "b", "--mask-grow", "0")
    assert code == 0, err
    assert (tmp_path / "a" / "b" / "stack_summary.ecsv").exists()


def test_show_and_report_refuse_before_drawing(cli, tmp_path, image):
    code, _, err = cli("show", image, "-o", tmp_path / "missing" / "x.png")
    assert code == 1 and "missing does not exist" in err
    (tmp_path / "afile").write_text("")
    code, _, err = cli("report", image, "-o", tmp_path / "afile")
    assert code == 1 and "is a file, not a directory" in err
