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
    if isinstance(original, Mask) and to in ("lsst", "ccddata"):  # no lone-mask file (afw has one)
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
        got, _out, err = run(capsys, *argv)
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
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(np.zeros((4, 4), np.float32), name="IMAGE"),
            fits.ImageHDU(np.zeros((3, 4), np.int32), name="MASK"),
        ]
    ).writeto(path)
    code, _, err = run(capsys, "convert", str(path), str(tmp_path / "o.fits"), "--to", "lsst")
    assert code == 1 and "differs" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("argv", [["-h"], ["info", "-h"], ["convert", "-h"]], ids=" ".join)
def test_help(argv):
    result = subprocess.run([sys.executable, "-m", "astromask.cli", *argv], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: astromask" in result.stdout


def test_console_script_entry_point():
    result = subprocess.run([sys.executable, "-m", "astromask.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("astromask ")


# -- exit statuses: the user's mistakes, our bugs, Ctrl-C ------------------------------------------


class _Raises:
    """A stand-in command module whose run() raises ``exc``."""

    def __init__(self, exc):
        self.exc = exc
        self.__name__ = "tests._raises"

    def add_parser(self, sub):
        sub.add_parser("info").add_argument("path")

    def run(self, args):
        raise self.exc


@pytest.mark.parametrize(
    "exc, code, message",
    [
        (
            astromask.errors.ParameterError("--radius must be >= 0, got -1"),
            1,
            "astromask info: error: --radius must be >= 0, got -1",
        ),
        (FileNotFoundError(2, "No such file or directory", "x.fits"), 1, "astromask info: error: [Errno 2]"),
        (
            astromask.errors.NotFoundError("no column 'pi' in EVENTS"),
            1,
            "astromask info: error: no column 'pi' in EVENTS",
        ),
        (
            TypeError("unsupported operand"),
            3,
            "astromask info: internal error (a bug in astromask; please report it): TypeError: unsupported operand; "
            "run with --debug for the traceback",
        ),
        (KeyError("CRPIX1"), 3, "internal error (a bug in astromask; please report it): KeyError: 'CRPIX1'"),
        (ValueError("cannot reshape array of size 8560 into shape (1040,1392)"), 3, "ValueError: cannot reshape"),
        (KeyboardInterrupt(), 130, "astromask info: interrupted"),
    ],
    ids=["parameter", "oserror", "notfound", "typeerror-bug", "keyerror-bug", "valueerror-bug", "ctrl-c"],
)
def test_exit_status_says_whose_mistake_it_is(monkeypatch, capsys, exc, code, message):
    monkeypatch.setitem(astromask.cli.COMMANDS, "info", _Raises(exc))
    got, _out, err = run(capsys, "info", "x.fits")
    assert got == code and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "exc",
    [TypeError("bug"), KeyboardInterrupt(), astromask.errors.ParameterError("bad")],
    ids=["bug", "ctrl-c", "user"],
)
def test_debug_keeps_the_traceback(monkeypatch, exc):
    monkeypatch.setitem(astromask.cli.COMMANDS, "info", _Raises(exc))
    with pytest.raises(type(exc)):
        main(["--debug", "info", "x.fits"])


def test_every_user_error_class_is_an_astromask_error_and_its_builtin():
    from astromask import errors

    builtin = {
        "AstromaskError": Exception,
        "ParameterError": ValueError,
        "LimitError": ValueError,
        "ParameterTypeError": TypeError,
        "NotFoundError": KeyError,
        "UnknownPlaneError": KeyError,
        "OutOfBoundsError": IndexError,
        "FormatError": ValueError,
        "AmbiguousHDUError": ValueError,
        "ParseError": ValueError,
        "FlagExpressionError": ValueError,
        "CalcSyntaxError": ValueError,
        "MissingDependencyError": ImportError,
        "WeightsNotFoundError": FileNotFoundError,
        "OutputError": Exception,
        "LossError": Exception,
        "OutputExistsError": FileExistsError,
    }
    for name in errors.__all__:
        cls = getattr(errors, name)
        if issubclass(cls, Warning):
            continue
        assert issubclass(cls, errors.AstromaskError) and issubclass(cls, builtin[name]), name
    from astromask.filter import FilterSyntaxError
    from astromask.regions import RegionSyntaxError

    assert issubclass(RegionSyntaxError, errors.ParseError) and issubclass(FilterSyntaxError, errors.ParseError)
    assert str(errors.NotFoundError("no column 'pi'")) == "no column 'pi'"  # not quoted as KeyError quotes
    exc = errors.ParseError("unexpected ')'", "circle(1,2,3))", 14, where="region")
    assert str(exc) == "region: unexpected ')' at column 14 in 'circle(1,2,3))'" and exc.column == 14


def test_missing_extra_names_the_extra():
    from astromask import _optional
    from astromask.errors import MissingDependencyError

    assert _optional.has("numpy") and not _optional.has("no_such_module_astromask.sub")
    with pytest.raises(MissingDependencyError, match=r"ds9 files needs regions: pip install 'astromask\[regions\]'"):
        _optional.require("regions.no_such_submodule", needed_for="ds9 files")
    with pytest.raises(ImportError, match=r"pip install no_such_module_astromask$"):
        _optional.require("no_such_module_astromask")


# -- a thin, lazy command line ------------------------------------------------------------------------


def test_version_and_help_import_no_command_and_no_numpy():
    code = (
        "import sys, contextlib, io\n"
        "from astromask.cli import main\n"
        "for argv in (['--version'], ['-h']):\n"
        "    with contextlib.redirect_stdout(io.StringIO()):\n"
        "        assert main(argv) == 0\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('numpy', 'astropy', 'scipy', 'numba')"
        " or m.startswith('astromask.cli.'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_command_imports_only_its_own_module():
    code = "import sys\nfrom astromask.cli import main\nmain(['bounds', '-h'])\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and "usage: astromask bounds" in result.stdout
    code = code.replace(
        "main(['bounds', '-h'])",
        "try:\n    main(['bounds', '-h'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('astromask.cli.')))",
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip().splitlines()[-1] == "['astromask.cli._common', 'astromask.cli.bounds']"


def test_help_table_is_what_each_command_module_says():
    parser = astromask.cli.build_parser(full=True)
    sub = next(a for a in parser._actions if isinstance(a, __import__("argparse")._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    assert helps == astromask.cli.HELP
    assert list(sub.choices) == list(astromask.cli.COMMANDS)  # -h lists them in the same order


def test_root_names_stay_importable_and_lazy():
    code = (
        "import sys, astromask\n"
        "assert 'numpy' not in sys.modules and 'astropy' not in sys.modules\n"
        "from astromask import Mask, MaskedImage, MaskSchema, MaskPlane, Box, PRESETS, get_schema, read, write\n"
        "from astromask import read_mask, read_masked_image, UnknownPlaneError, UnknownPlaneWarning\n"
        "assert set(astromask.__all__) <= set(dir(astromask))\n"
        "print(Mask.__module__, read.__module__)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["astromask.core.mask", "astromask.io"]
