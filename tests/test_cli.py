"""The `astromask` command: info and convert on every reference file, exit codes, one-line errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask import Mask, MaskedImage, get_schema
from astromask.cli import main

from conftest import SHARED_DATA

REFERENCE_FILES = [
    "lsst_images/lsst_images_maskedimage_gzip2.fits",
    "lsst_images/lsst_images_maskedimage_nocompress.fits",
    "lsst_images/lsst_images_maskedimage_40planes.fits",
    "lsst_images/legacy_afw_style_maskedimage.fits",
    "lsst_images/legacy_afw_style_decam_imdiff_planes.fits",
    "decam/c4d_170316_062107_ooi_z_ls9.N2.fits",
    "decam/c4d_170316_062107_ood_z_ls9.N2.fits",
    "decam/c4d_150411_035242_ooi_z_v1-N10.fits",
]
EXPECTED_FORMAT = {"lsst_images/lsst": "lsst", "lsst_images/legacy": "afw", "decam/": "decam"}


def ref(name):
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    return str(path)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", REFERENCE_FILES)
def test_info_json_on_reference_files(capsys, name):
    path = ref(name)
    code, out, err = run(capsys, "info", "--json", path)
    assert code == 0, err
    info = json.loads(out)[0]
    expected = next(v for k, v in EXPECTED_FORMAT.items() if name.startswith(k))
    assert info["format"] == expected
    masks = [h for h in info["hdus"] if h["kind"] == "mask"]
    if "ooi" not in name:
        assert masks, "every reference file here holds a mask"
    with fits.open(path) as h:
        assert len(info["hdus"]) == len(h)
        for entry in info["hdus"]:
            if "shape" in entry and entry["dtype"] != "table":
                assert tuple(entry["shape"]) == h[entry["index"]].shape
    for m in masks:  # pixel counts agree with the raw bits of that HDU
        with fits.open(path) as h:
            raw = np.asarray(h[m["index"]].data).astype(np.int64) & 0xFFFFFFFF
        for p in m["planes"]:
            if info["format"] != "decam":  # DECam CP codes are not bits
                assert p["pixels"] == int(np.count_nonzero(raw & p["value"])), p


@pytest.mark.parametrize("name", REFERENCE_FILES)
@pytest.mark.parametrize("to", ["lsst", "afw", "ccddata", "jwst", "fits"])
def test_convert_every_reference_file_to_every_format(tmp_path, capsys, name, to):
    path = ref(name)
    original = astromask.read(path)
    out = tmp_path / f"out_{to}.fits"
    mask = original.mask if isinstance(original, MaskedImage) else original
    if isinstance(original, Mask) and to in ("lsst", "afw", "ccddata"):
        code, _, err = run(capsys, "convert", path, str(out), "--to", to)
        assert code == 1 and "mask" in err.lower() and len(err.strip().splitlines()) == 1
        return
    if mask.schema.nbits > 32 and to in ("afw", "jwst"):  # afw and JWST DQ masks are 32-bit
        code, _, err = run(capsys, "convert", path, str(out), "--to", to)
        assert code == 1 and "32" in err and len(err.strip().splitlines()) == 1
        assert not out.exists()
        return
    code, _, err = run(capsys, "convert", path, str(out), "--to", to)
    assert code == 0, err
    back = astromask.read(str(out))
    mask_a = original.mask if isinstance(original, MaskedImage) else original
    mask_b = back.mask if isinstance(back, MaskedImage) else back
    if to == "ccddata" or to == "jwst":
        # planes are matched by name; CCDData also keeps the integer planes
        assert set(mask_a.schema.names) <= set(mask_b.schema.names) or to == "jwst"
    for plane in mask_a.schema.names:
        if plane in mask_b.schema:
            np.testing.assert_array_equal(mask_a.get(plane), mask_b.get(plane), err_msg=plane)
    if isinstance(original, MaskedImage):
        np.testing.assert_array_equal(back.image, original.image)
        assert back.xy0 == original.xy0
        assert back.unit == original.unit
        if original.wcs is not None:  # the sky WCS survives: same sky position for the same pixels
            x, y = np.array([0, 17, original.shape[1] - 1]), np.array([0, 29, original.shape[0] - 1])
            sep = original.wcs.pixel_to_world(x, y).separation(back.wcs.pixel_to_world(x, y))
            assert sep.arcsec.max() < 1e-6
        for key in ("SATURATE", "EXPTIME", "MJD-OBS", "FILTER", "GAINA"):  # header values that matter
            if key in original.metadata:
                assert back.metadata[key] == original.metadata[key], key


def test_info_text(capsys):
    path = ref("lsst_images/legacy_afw_style_maskedimage.fits")
    code, out, _ = run(capsys, "info", path, "--flags", "BAD,SAT")
    assert code == 0
    assert "format afw" in out and "origin (x0, y0) = (200, 100)" in out
    assert "HIERARCH" not in out and " DETECTED_NEGATIVE " in out
    assert "selected by 'BAD,SAT'" in out


def test_errors_are_one_line_with_exit_codes(tmp_path, capsys):
    path = ref("lsst_images/legacy_afw_style_maskedimage.fits")
    cases = [
        (["info", str(tmp_path / "absent.fits")], 1, "absent.fits: no such file"),
        (["info", path + "[NOPE]"], 1, "no HDU named NOPE"),
        (["info", path, "--flags", "BAD,GHOST"], 1, "unknown mask plane 'GHOST'"),
        (["info"], 2, "required"),
        (["convert", path, str(tmp_path / "x.fits")], 2, "--to"),
        (["convert", path, str(tmp_path / "x.fits"), "--to", "nope"], 2, "invalid choice"),
        (["frobnicate"], 2, "invalid choice"),
    ]
    for argv, code, message in cases:
        got, out, err = run(capsys, *argv)
        assert got == code, (argv, err)
        assert message in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err


def test_unknown_flag_can_be_downgraded(capsys):
    path = ref("lsst_images/legacy_afw_style_maskedimage.fits")
    code, out, err = run(capsys, "info", path, "--flags", "BAD,GHOST", "--unknown-flags", "warn")
    assert code == 0 and "GHOST" in err and "selected by" in out


def test_convert_refuses_existing_output_and_input_as_output(tmp_path, capsys):
    src = tmp_path / "in.fits"
    mi = MaskedImage(np.zeros((4, 4), np.float32), schema=get_schema("rubin"))
    astromask.write(mi, src, format="fits")
    out = tmp_path / "out.fits"
    out.write_bytes(b"keep")
    code, _, err = run(capsys, "convert", str(src), str(out), "--to", "lsst")
    assert code == 1 and "exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"keep"
    code, _, err = run(capsys, "convert", str(src), str(out), "--to", "lsst", "--overwrite")
    assert code == 0, err
    before = src.read_bytes()
    code, _, err = run(capsys, "convert", str(src), str(src), "--to", "fits", "--overwrite")
    assert code == 1 and "is the input" in err and src.read_bytes() == before


def test_wrong_shapes_are_reported(tmp_path, capsys):
    path = tmp_path / "bad.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 4), np.float32), name="IMAGE"),
                  fits.ImageHDU(np.zeros((3, 4), np.int32), name="MASK")]).writeto(path)
    code, _, err = run(capsys, "convert", str(path), str(tmp_path / "o.fits"), "--to", "lsst")
    assert code == 1 and "differs" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["-h"], ["info", "-h"], ["convert", "-h"]], ids=" ".join)
def test_help(argv):
    result = subprocess.run([sys.executable, "-m", "astromask.cli", *argv], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: astromask" in result.stdout


def test_console_script_entry_point():
    result = subprocess.run([sys.executable, "-m", "astromask.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("astromask ")
