"""The image calculator: precedence and functions against hand-written numpy, errors, safety, the calc command."""

import builtins
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import astromask.cli
from astromask.calc import FUNCTIONS, Expression, cast_like, evaluate, parse
from astromask.cli import calc as calc_cmd

RNG = np.random.default_rng(7)
A = RNG.normal(size=(4, 5))
B = RNG.uniform(0.5, 2.0, size=(4, 5))
M = (RNG.random((4, 5)) < 0.5).astype(np.uint8)

# expression -> the same computation written directly with numpy
CASES = {
    "imgout=(1-img1)": lambda: 1.0 - A,
    "img1*img2*img3": lambda: A * B * M,
    "imgout=((img1-img1)+1)": lambda: np.ones_like(A),
    "img1 + img2 * 3": lambda: A + B * 3,
    "(img1 + img2) * 3": lambda: (A + B) * 3,
    "img1 - img2 - 1": lambda: (A - B) - 1,
    "img1 / img2 / 2": lambda: (A / B) / 2,
    "-img2 ^ 2": lambda: -(B**2),
    "img2 ** 2 ** 0.5": lambda: B ** (2**0.5),
    "2 ^ -img2": lambda: 2.0 ** (-B),
    "1e-3 * img1 + .5E1 + 2.": lambda: 1e-3 * A + 5.0 + 2.0,
    "img > 0": lambda: A > 0,
    "img1 >= 0 && img2 < 1 || img3 == 1": lambda: ((A >= 0) & (B < 1)) | (M == 1),
    "img1 > 0 & img2 > 1 | !img3": lambda: ((A > 0) & (B > 1)) | (M == 0),
    "~(img1 != 0)": lambda: A == 0,
    "img1 > 0 ? img2 : -img2": lambda: np.where(A > 0, B, -B),
    "(img1 > 0) + (img2 > 1)": lambda: (A > 0).astype(float) + (B > 1),
    "fabs(img1) + abs(-img2)": lambda: np.abs(A) + B,
    "sqrt(img2) + exp(img1) - log(img2) + log10(img2)": lambda: np.sqrt(B) + np.exp(A) - np.log(B) + np.log10(B),
    "sin(img1) * cos(img1) / tan(img2)": lambda: np.sin(A) * np.cos(A) / np.tan(B),
    "asin(img1/10) + acos(img1/10) + atan(img1)": lambda: np.arcsin(A / 10) + np.arccos(A / 10) + np.arctan(A),
    "sinh(img1) + cosh(img1) + tanh(img1)": lambda: np.sinh(A) + np.cosh(A) + np.tanh(A),
    "ceil(img1) + floor(img1)": lambda: np.ceil(A) + np.floor(A),
    "atan2(img1, img2) + pow(img2, 3)": lambda: np.arctan2(A, B) + B**3,
    "max(img1, img2, 0.5) - min(img1, 0)": lambda: np.maximum(np.maximum(A, B), 0.5) - np.minimum(A, 0),
    "pi * img2 + e": lambda: np.pi * B + np.e,
}


@pytest.mark.parametrize("expression", list(CASES), ids=list(CASES))
def test_expressions_match_numpy(expression):
    got = evaluate(expression, A, B, M)
    want = CASES[expression]()
    assert got.shape == (4, 5)
    assert got.dtype == (bool if want.dtype == bool else np.float64)
    assert np.allclose(got, want, rtol=1e-14, atol=0) if want.dtype != bool else np.array_equal(got, want)


@pytest.mark.parametrize(
    "expression, value",
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("-2 ^ 2", -4.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("2 ** -1", 0.5),
        ("10 - 4 - 3", 3.0),
        ("8 / 4 / 2", 1.0),
        ("!0", True),
        ("!!3", True),
        ("1 < 2 && 3 > 4", False),
        ("0 || 0.5", True),
        ("1 ? 2 : 3 ? 4 : 5", 2.0),
        ("0 ? 2 : 0 ? 4 : 5", 5.0),
        ("1/0", np.inf),
        ("max(0/0, 1)", 1.0),
        ("3 == 3.0", True),
        ("imgout = 1", 1.0),
    ],
)
def test_hand_worked_values(expression, value):
    assert evaluate(expression).item() == value


def test_nan_and_integer_inputs():
    ints = np.array([[3, -2, 200]], dtype=np.int16)
    assert evaluate("img1 / 2", ints).tolist() == [[1.5, -1.0, 100.0]]  # no integer division
    assert evaluate("img1 * 1000", np.array([255], np.uint8)).tolist() == [255000.0]  # no wrap-around
    out = evaluate("img1 + 1", np.array([np.nan, 1.0]))
    assert np.isnan(out[0]) and out[1] == 2.0
    assert evaluate("isnan(img1) || isinf(img1) || !isfinite(img1)", np.array([np.nan, np.inf, 1.0])).tolist() == [
        True,
        True,
        False,
    ]
    assert evaluate("img1 && 1", np.array([np.nan, 0.0])).tolist() == [True, False]  # C: NaN is true


def test_named_images_and_constants_only_results_take_the_image_shape():
    assert evaluate("a * b", a=A, b=B).tolist() == (A * B).tolist()
    assert evaluate("2", A).shape == A.shape and evaluate("2").shape == ()
    result = evaluate("img1", A)
    assert result is not A and np.array_equal(result, A)
    result[0, 0] = 99.0
    assert A[0, 0] != 99.0


def test_parse_gives_a_reusable_expression():
    expr = parse("imgout=(img1*img3 + sqrt(img2))")
    assert isinstance(expr, Expression)
    assert expr.names == ("img1", "img3", "img2") and expr.image_count() == 3
    assert parse("img + pi").image_count() == 1 and parse("pi").names == ()
    assert np.allclose(expr.evaluate(A, B, M), A * M + np.sqrt(B))
    assert np.allclose(evaluate(expr, B, B, B), B * B + np.sqrt(B))


@pytest.mark.parametrize(
    "expression, message",
    [
        ("imgout=(1-img1))", "unexpected ')' at column 16"),
        ("1 +", "unexpected end of expression at column 4"),
        ("(1 + 2", "unexpected end of expression (expected ')') at column 7"),
        ("1 2", "unexpected '2' at column 3"),
        ("img1 $ 2", "unexpected character '$' at column 6"),
        ("img1.real", "unexpected character '.' at column 5"),
        ("__import__('os')", 'unexpected character "\'" at column 12'),
        ("__import__(1)", "unknown function '__import__' at column 1; known: abs, acos,"),
        ("foo(img1)", "unknown function 'foo' at column 1"),
        ("sqrt(1, 2)", "sqrt() takes 1 argument, got 2 at column 1"),
        ("atan2(1)", "atan2() takes 2 arguments, got 1 at column 1"),
        ("max(1)", "max() takes two or more arguments, got 1 at column 1"),
        ("sqrt + 1", "function 'sqrt' needs arguments in parentheses at column 1"),
        ("1 < img1 < 3", "unexpected '<' (comparisons do not chain; join them with &&) at column 10"),
        ("1 ? 2", "unexpected end of expression (expected ':') at column 6"),
        ("", "empty expression"),
        ("imgout=", "empty expression"),
        ("a = 1", "unexpected '=' at column 3"),
        ("img1 ^^ 2", "unexpected '^' at column 7"),
    ],
)
def test_syntax_errors_point_at_the_column(expression, message):
    with pytest.raises(ValueError, match="^" + re.escape(f"calc: {message}")):
        parse(expression)


def test_unknown_names_list_the_available_images():
    with pytest.raises(ValueError, match=r"^calc: unknown name 'img3' at column 8; images available: img1, img2, img$"):
        evaluate("img1 + img3", A, B)
    with pytest.raises(ValueError, match="unknown name 'x' at column 1; images available: none"):
        evaluate("x + 1")
    with pytest.raises(ValueError, match=r"images must have the same shape, got \(2, 2\), \(4, 5\)"):
        evaluate("img1 + img2", A, np.zeros((2, 2)))
    with pytest.raises(ValueError, match="clashes with a function"):
        evaluate("img1", A, sqrt=A)
    with pytest.raises(TypeError, match="must be numeric"):
        evaluate("img1", np.array(["a"]))


def test_user_text_never_reaches_python_eval(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("eval/exec/compile called")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, forbidden)
    assert evaluate("img1 * 2 + max(img1, 1)", np.array([1.0, 3.0])).tolist() == [3.0, 9.0]
    for attack in ("__import__('os').system('true')", "img1.__class__", "().__class__", "lambda: 1", "[1]"):
        with pytest.raises(ValueError, match="^calc: "):
            evaluate(attack, A)


def test_every_function_is_listed_in_the_command_help_and_the_docs():
    parser = astromask.cli._Parser(prog="astromask")
    calc_cmd.add_parser(parser.add_subparsers(dest="command"))
    help_words = set(re.findall(r"\w+", parser._subparsers._group_actions[0].choices["calc"].description))
    docs_words = set(re.findall(r"\w+", (Path(__file__).resolve().parents[1] / "docs" / "algebra.md").read_text()))
    assert set(FUNCTIONS) <= help_words and set(FUNCTIONS) <= docs_words


@pytest.mark.parametrize(
    "result, inputs, dtype",
    [
        (np.array([0.0, 1.0]), [np.uint8], np.uint8),
        (np.array([0.0, -1.0]), [np.uint8], np.float64),  # -1 does not fit uint8
        (np.array([0.5, 1.0]), [np.int16], np.float64),
        (np.array([np.nan, 1.0]), [np.int32], np.float64),
        (np.array([1.0, 70000.0]), [np.uint8, np.int32], np.int32),
        (np.array([True, False]), [np.float64], np.uint8),
        (np.array([0.5, 1.5]), [np.float32], np.float32),
        (np.array([0.5, 1.5]), [np.float32, np.int32], np.float64),
        (np.array([7, 9], dtype=np.int64), [np.uint8], np.uint8),
    ],
)
def test_cast_like(result, inputs, dtype):
    out = cast_like(result, *[np.zeros(1, d) for d in inputs])
    assert out.dtype == dtype
    assert np.array_equal(out, result, equal_nan=True)
    assert cast_like(result, *[np.dtype(d) for d in inputs]).dtype == dtype


# -- the calc command ------------------------------------------------------------------------------


@pytest.fixture
def images(tmp_path):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["GLON-CAR", "GLAT-CAR"]
    wcs.wcs.cdelt = [-0.01, 0.01]
    header = wcs.to_header()
    header["OBJECT"] = "field"
    masks = [(RNG.random((6, 7)) < 0.5).astype(np.uint8) for _ in range(4)]
    paths = []
    for k, m in enumerate(masks, start=1):
        path = tmp_path / f"m{k}.fits"
        fits.PrimaryHDU(m, header=header).writeto(path)
        paths.append(path)
    flux = RNG.normal(size=(6, 7)).astype(np.float32)
    fits.ImageHDU(flux, name="SCI").writeto(tmp_path / "flux.fits")
    return masks, paths, flux


def test_cli_calc_ciao_recipes(cli, tmp_path, images):
    masks, paths, _ = images
    cases = {
        "imgout=(1-img1)": (1 - masks[0], paths[:1]),
        "imgout=((img1-img1)+1)": (np.ones_like(masks[0]), paths[:1]),
        "imgout=(img1*img2*img3*img4)": (masks[0] * masks[1] * masks[2] * masks[3], paths),
        "imgout=(img1+img2+img3+img4)": (sum(m.astype(int) for m in masks), paths),
        "imgout=fabs(img1)+fabs(img2)": (masks[0] + masks[1], paths[:2]),
    }
    for k, (expression, (want, inputs)) in enumerate(cases.items()):
        out = tmp_path / f"out{k}.fits"
        code, _, err = cli("calc", out, expression, *inputs)
        assert code == 0, err
        with fits.open(out) as hdul:
            assert len(hdul) == 1 and hdul[0].data.dtype == np.uint8  # byte masks stay byte masks
            assert np.array_equal(hdul[0].data, want)
            assert hdul[0].header["CTYPE1"] == "GLON-CAR" and hdul[0].header["OBJECT"] == "field"


def test_cli_calc_types_and_hdu_selection(cli, tmp_path, images):
    masks, paths, flux = images
    assert cli("calc", tmp_path / "a.fits", "img1 * 2.5", f"{tmp_path / 'flux.fits'}[SCI]")[0] == 0
    assert fits.getdata(tmp_path / "a.fits").dtype.name == "float32"
    assert np.allclose(fits.getdata(tmp_path / "a.fits"), flux * 2.5, rtol=1e-6)
    assert cli("calc", tmp_path / "b.fits", "img1 > 0", tmp_path / "flux.fits")[0] == 0
    assert np.array_equal(fits.getdata(tmp_path / "b.fits"), (flux > 0).astype(np.uint8))
    assert cli("calc", tmp_path / "c.fits", "img1 * 3.7", tmp_path / "flux.fits", "--type", "int16")[0] == 0
    assert np.array_equal(fits.getdata(tmp_path / "c.fits"), np.trunc(flux * 3.7).astype(np.int16))
    assert cli("calc", tmp_path / "d.fits", "img2 - 1", paths[0], paths[1], "--type", "float64")[0] == 0
    assert fits.getdata(tmp_path / "d.fits").dtype.kind == "f"
    assert np.array_equal(fits.getdata(tmp_path / "d.fits"), masks[1] - 1.0)


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["{out}", "imgout=(1-img1", "{m1}"],
            r"^astromask calc: error: unexpected end of expression \(expected '\)'\) at column 15$",
        ),
        (["{out}", "img1 + img3", "{m1}", "{m2}"], "uses img3 but 2 input file"),
        (["{out}", "img1 + foo", "{m1}"], "unknown name 'foo' at column 8; images available: img1, img"),
        (["{out}", "img1 + img2", "{m1}", "{small}"], r"small.fits: shape \(2, 2\) differs"),
        (["{out}", "img1 / 0", "{m1}", "--type", "int16"], "NaN or infinite values; --type int16"),
        (["{out}", "img1 * 1000", "{m1}", "--type", "uint8"], "outside --type uint8"),
        (["{m1}", "1 - img1", "{m1}"], "output is the input file"),
        (["{m2}", "1 - img1", "{m1}"], "output file exists"),
    ],
    ids=["syntax", "too-few-inputs", "unknown-name", "shape", "nan-to-int", "range", "output-is-input", "exists"],
)
def test_cli_calc_errors(cli, tmp_path, images, argv, message):
    fits.PrimaryHDU(np.zeros((2, 2))).writeto(tmp_path / "small.fits")
    names = {"out": tmp_path / "out.fits", "m1": images[1][0], "m2": images[1][1], "small": tmp_path / "small.fits"}
    before = images[1][1].read_bytes()
    code, out, err = cli("calc", *[a.format(**names) for a in argv])
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert re.search(message, err.strip()), err
    assert not (tmp_path / "out.fits").exists() and images[1][1].read_bytes() == before
