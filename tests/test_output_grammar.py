"""One output grammar: -o/--output OUT for a file everywhere (OUT as a positional still works), -o DIR for many."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

import astromask


@pytest.fixture
def mask_file(tmp_path):
    mask = astromask.Mask((20, 30), astromask.MaskSchema(["BAD", "SAT"]))
    mask.set("BAD", np.s_[5:8, 10:14])
    path = tmp_path / "m.fits"
    astromask.write(mask, path, format="fits")
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["convert", "{IN}", "--to", "fits"],
        ["grow", "{IN}", "--radius", "1"],
        ["invert", "{IN}"],
        ["thresh", "{IN}", "--cut", "1:"],
        ["blob", "{IN}", "--threshold", "0.5"],
        ["boundary", "{IN}", "--width", "2"],
        ["region", "{IN}", "circle(10,10,4)"],
        ["combine", "--op", "union", "{IN}", "{IN}"],
        ["calc", "img1>0", "{IN}"],
    ],
    ids=lambda argv: argv[0],
)
def test_dash_o_writes_what_the_positional_out_writes(cli, tmp_path, mask_file, argv):
    args = [a.replace("{IN}", str(mask_file)) for a in argv]
    code, _, err = cli(*args, "-o", tmp_path / "a.fits")
    assert code == 0, err
    positional = list(args)
    if argv[0] == "combine":
        positional.insert(3, str(tmp_path / "b.fits"))
    elif argv[0] == "calc":
        positional.insert(1, str(tmp_path / "b.fits"))
    else:
        positional.append(str(tmp_path / "b.fits"))
    code, _, err = cli(*positional)
    assert code == 0, err
    with fits.open(tmp_path / "a.fits") as a, fits.open(tmp_path / "b.fits") as b:
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert (x.data is None and y.data is None) or np.array_equal(x.data, y.data)


def test_out_given_twice_or_not_at_all_is_a_usage_error(cli, tmp_path, mask_file):
    code, _, err = cli("grow", mask_file, tmp_path / "a.fits", "-o", tmp_path / "b.fits", "--radius", "1")
    assert code == 2 and "unrecognized arguments" in err
    code, _, err = cli("grow", mask_file, "-o", tmp_path / "a.fits", "-o", tmp_path / "b.fits", "--radius", "1")
    assert code == 2 and "-o given 2 times" in err
    code, _, err = cli("grow", mask_file, "--radius", "1")
    assert code == 2 and "required: OUT" in err
    assert not list(tmp_path.glob("[ab].fits"))


def test_dash_o_may_stand_anywhere(cli, tmp_path, mask_file):
    for k, argv in enumerate(
        [
            ["-o", tmp_path / "0.fits", "grow", mask_file, "--radius", "1"],  # (a global option here: refused)
            ["grow", "-o", tmp_path / "1.fits", mask_file, "--radius", "1"],
            ["grow", mask_file, "--radius", "1", f"--output={tmp_path / '2.fits'}"],
            ["combine", "--op", "union", mask_file, "-o", tmp_path / "3.fits", mask_file],
        ]
    ):
        code, _, err = cli(*argv)
        assert code == (2 if k == 0 else 0), err
    assert sorted(p.name for p in tmp_path.glob("[0-9].fits")) == ["1.fits", "2.fits", "3.fits"]


def test_dash_o_after_an_option_of_several_values(cli, tmp_path):
    code, _, err = cli(
        "geom", "--skydir", "10 20", "--binsz", "1deg", "--width", "10deg", "8deg", "-o", tmp_path / "g.fits"
    )
    assert code == 0, err
    assert fits.getdata(tmp_path / "g.fits").shape == (8, 10)


def test_many_outputs_take_dash_o_dir(cli, tmp_path, mask_file):
    image = tmp_path / "i.fits"
    fits.PrimaryHDU(np.ones((20, 30), np.float32)).writeto(image)
    code, _, err = cli("stack", image, "-o", tmp_path / "s", "--mask-grow", "0")
    assert code == 0, err
    assert (tmp_path / "s" / "stack_summary.ecsv").exists()


def test_maximask_takes_dash_o_dir_and_keeps_the_original_spellings():
    from astromask.cli import build_parser
    from astromask.maximask.files import output_name

    parser = build_parser("maximask")
    new = parser.parse_args(["maximask", "img.fits", "-o", "out", "--batch-size", "2", "--proba-thresh", "no"])
    old = parser.parse_args(["maximask", "img.fits", "--outdir", "out", "--batch_size", "2", "--proba_thresh", "no"])
    assert vars(new) == vars(old) and new.outdir == "out" and new.batch_size == 2
    assert output_name("data/img.fits.fz", outdir="out") == "out/img.mask.fits"
