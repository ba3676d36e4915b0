"""Mask algebra and value stacks, against CIAO region-library masks, numpy references and hand-worked cases.

The CIAO references (``../shared/data/ciao/regions``) were computed by the CIAO region
library: ``circle(40,50,20)+circle(60,50,20)`` (union) and ``circle(40,50,20)&circle(60,50,20)``
(intersection); the two circles are the ``circle(50,50,20)`` reference mask shifted by
10 pixels (it lies well inside the 100x100 grid, so the shift loses nothing).
"""

import json
import re
import shlex
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import astromask
import astromask.cli
from astromask import Mask, MaskedImage, MaskSchema, get_schema
from astromask.algebra import difference, intersection, invert, stack, to_bool, union, xor
from astromask.calc import evaluate
from astromask.cli import combine as combine_cmd
from astromask.cli import invert as invert_cmd
from conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(20240603)


# -- CIAO region-library references ------------------------------------------------------------


@pytest.fixture(scope="module")
def ciao_circles():
    """circle(40,50,20), circle(60,50,20) and CIAO's union and intersection of them."""
    regions = shared_path("ciao", "regions")
    cases = {c["name"]: c for c in json.loads((regions / "cases.json").read_text())["cases"]}
    circle = np.load(regions / cases["circle"]["file"]).astype(bool)
    assert cases["circle"]["region"] == "circle(50,50,20)"
    assert not circle[:, :10].any() and not circle[:, -10:].any()
    left, right = np.roll(circle, -10, axis=1), np.roll(circle, 10, axis=1)
    return {
        "left": left,
        "right": right,
        "union": np.load(regions / cases["union_plus"]["file"]).astype(bool),
        "intersection": np.load(regions / cases["intersect_amp"]["file"]).astype(bool),
        "counts": {k: cases[k]["npix_inside"] for k in ("circle", "union_plus", "intersect_amp")},
    }


def test_union_and_intersection_match_the_ciao_region_library(ciao_circles):
    c = ciao_circles
    assert np.array_equal(union(c["left"], c["right"]), c["union"])
    assert np.array_equal(intersection(c["left"], c["right"]), c["intersection"])
    assert union(c["left"], c["right"]).sum() == c["counts"]["union_plus"] == 2019
    assert intersection(c["left"], c["right"]).sum() == c["counts"]["intersect_amp"] == 495


def test_xor_and_difference_follow_from_the_ciao_union_and_intersection(ciao_circles):
    c = ciao_circles
    assert np.array_equal(xor(c["left"], c["right"]), c["union"] & ~c["intersection"])
    assert np.array_equal(difference(c["left"], c["right"]), c["left"] & ~c["intersection"])
    assert difference(c["left"], c["right"]).sum() == c["counts"]["circle"] - c["counts"]["intersect_amp"]


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64], ids=lambda d: np.dtype(d).name)
def test_ciao_value_recipes_agree_with_the_set_operations(ciao_circles, dtype):
    """CIAO's dmimgcalc recipes (sum, fabs(img1)+fabs(img2), mul, 1-img1) read as non-zero."""
    left, right = ciao_circles["left"].astype(dtype), ciao_circles["right"].astype(dtype)
    signed = -left if np.dtype(dtype).kind != "u" else left
    assert np.array_equal(stack("sum", [left, right]) != 0, ciao_circles["union"])
    assert np.array_equal(evaluate("fabs(img1)+fabs(img2)", signed, right) != 0, ciao_circles["union"])
    assert np.array_equal(stack("mul", [left, right]) != 0, ciao_circles["intersection"])
    assert np.array_equal(stack("max", [left, right]) != 0, ciao_circles["union"])
    assert np.array_equal(stack("min", [left, right]) != 0, ciao_circles["intersection"])
    assert np.array_equal(to_bool(evaluate("imgout=(1-img1)", left)), ~ciao_circles["left"])
    assert np.array_equal(union(left, right) != 0, ciao_circles["union"])


# -- boolean, integer and float arrays ---------------------------------------------------------


def test_nary_boolean_operations_against_numpy_reductions():
    masks = RNG.random((5, 30, 40)) < 0.3
    assert np.array_equal(union(*masks), masks.any(axis=0))
    assert np.array_equal(intersection(*masks), masks.all(axis=0))
    assert np.array_equal(xor(*masks), masks.sum(axis=0) % 2 == 1)
    assert np.array_equal(difference(*masks), masks[0] & ~masks[1:].any(axis=0))
    assert np.array_equal(invert(masks[0]), ~masks[0])


def test_integer_arrays_combine_bit_by_bit():
    a = RNG.integers(0, 256, (20, 20), dtype=np.uint8)
    b = RNG.integers(0, 2**12, (20, 20), dtype=np.int16)
    for bit in range(12):  # each bit behaves as its own boolean plane
        pa, pb = (a >> bit) & 1 == 1, (b >> bit) & 1 == 1
        assert np.array_equal((union(a, b) >> bit) & 1 == 1, pa | pb)
        assert np.array_equal((intersection(a, b) >> bit) & 1 == 1, pa & pb)
        assert np.array_equal((xor(a, b) >> bit) & 1 == 1, pa ^ pb)
        assert np.array_equal((difference(a, b) >> bit) & 1 == 1, pa & ~pb)
    assert union(a, b).dtype == np.int16


def test_integer_invert_is_ciao_one_minus_or_flips_the_given_bits():
    values = np.array([[0, 1, 2, 255]], dtype=np.uint8)
    assert invert(values).tolist() == [[1, 0, 0, 0]] and invert(values).dtype == np.uint8
    assert invert(values, planes=0b11).tolist() == [[3, 2, 1, 252]]
    with pytest.raises(ValueError, match="bits beyond the array type uint8"):
        invert(values, planes=1 << 9)
    with pytest.raises(TypeError, match="non-negative int"):
        invert(values, planes="SAT")


def test_float_masks_follow_ciao_nonzero_and_finite():
    a = np.array([0.0, -1.5, np.nan, np.inf, 2.0, 0.0])
    b = np.array([0.0, 0.0, 1.0, 1.0, np.nan, -0.0])
    assert union(a, b).tolist() == [False, True, True, True, True, False]
    assert intersection(a, b).tolist() == [False] * 6
    assert invert(a).tolist() == [True, False, True, True, False, True]
    assert union(a, np.array([1, 0, 0, 0, 0, 0])).tolist() == [True, True, False, False, True, False]
    with pytest.raises(ValueError, match="planes= needs a Mask or an integer array"):
        invert(a, planes=1)


def test_inputs_are_not_modified_and_one_input_is_copied():
    a = np.array([[True, False]])
    out = union(a)
    out[0, 1] = True
    assert a.tolist() == [[True, False]]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: union(np.zeros((2, 3), bool), np.zeros((3, 2), bool)),
            ValueError,
            r"shapes differ: \(2, 3\), \(3, 2\)",
        ),
        (union, ValueError, "at least one mask"),
        (lambda: difference(np.zeros(2, bool)), ValueError, "at least one mask to take away"),
        (lambda: union(Mask((2, 2), get_schema("rubin")), np.zeros((2, 2), bool)), TypeError, "cannot mix Mask"),
        (lambda: union(np.array(["a"]), np.array(["b"])), TypeError, "boolean, integer or float"),
        (lambda: to_bool(np.zeros(2), flags="SAT"), ValueError, "flags= needs a Mask"),
    ],
    ids=["shape", "none", "difference-one", "mixed-kinds", "strings", "flags-on-array"],
)
def test_errors_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


# -- plane masks -------------------------------------------------------------------------------


def _plane_masks():
    """Three masks whose schemas put SAT and CR on different bits."""
    rubin = get_schema("rubin")
    other = MaskSchema(["CR", "GHOST", "SAT"])
    third = MaskSchema.from_bits({"SAT": 5, "EDGE": 0})
    planes = {name: RNG.random((3, 12, 10)) < 0.4 for name in ("SAT", "CR", "GHOST", "EDGE")}
    m1, m2, m3 = Mask((12, 10), rubin), Mask((12, 10), other), Mask((12, 10), third)
    m1.set("SAT", planes["SAT"][0])
    m1.set("CR", planes["CR"][0])
    m2.set("SAT", planes["SAT"][1])
    m2.set("CR", planes["CR"][1])
    m2.set("GHOST", planes["GHOST"][1])
    m3.set("SAT", planes["SAT"][2])
    m3.set("EDGE", planes["EDGE"][2])
    return (m1, m2, m3), planes


def test_plane_masks_are_combined_by_plane_name():
    (m1, m2, m3), p = _plane_masks()
    u, i, x = union(m1, m2, m3), intersection(m1, m2, m3), xor(m1, m2, m3)
    assert np.array_equal(u.get("SAT"), p["SAT"].any(axis=0))
    assert np.array_equal(u.get("CR"), p["CR"][0] | p["CR"][1])
    assert np.array_equal(u.get("EDGE"), p["EDGE"][2]) and np.array_equal(u.get("GHOST"), p["GHOST"][1])
    assert np.array_equal(i.get("SAT"), p["SAT"].all(axis=0))
    assert not i.get("CR").any()  # m3 has no CR plane: a plane some inputs lack is clear
    assert np.array_equal(x.get("SAT"), p["SAT"].sum(axis=0) % 2 == 1)
    d = difference(m1, m2, m3)
    assert np.array_equal(d.get("SAT"), p["SAT"][0] & ~p["SAT"][1] & ~p["SAT"][2])
    assert np.array_equal(d.get("CR"), p["CR"][0] & ~p["CR"][1])
    assert set(u.schema.names) >= {"SAT", "CR", "GHOST", "EDGE", "BAD"}


def test_plane_mask_invert_flips_only_the_named_planes():
    (m1, _, _), p = _plane_masks()
    flipped = invert(m1, planes="SAT")
    assert np.array_equal(flipped.get("SAT"), ~p["SAT"][0])
    assert np.array_equal(flipped.get("CR"), p["CR"][0])
    assert np.array_equal(invert(m1).get("BAD"), np.ones((12, 10), bool))


def test_to_bool_reads_masks_masked_images_and_flags():
    (m1, _, _), p = _plane_masks()
    mi = MaskedImage(np.zeros((12, 10)), mask=m1)
    assert np.array_equal(to_bool(mi), p["SAT"][0] | p["CR"][0])
    assert np.array_equal(to_bool(m1, "CR"), p["CR"][0])


# -- value stacks ------------------------------------------------------------------------------


def test_stacks_match_numpy_reductions_with_stated_nan_rules():
    images = RNG.normal(size=(6, 15, 17))
    images[RNG.random(images.shape) < 0.1] = np.nan
    images[:, 0, 0] = np.nan  # NaN in every input
    assert np.allclose(stack("sum", images), images.sum(axis=0), equal_nan=True)
    assert np.allclose(stack("mul", images), images.prod(axis=0), equal_nan=True)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match="All-NaN"):
        expected = np.nanmin(images, axis=0), np.nanmax(images, axis=0)
    assert np.allclose(stack("min", images), expected[0], equal_nan=True)
    assert np.allclose(stack("max", images), expected[1], equal_nan=True)
    skipped = stack("sum", images, skip_nan=True)
    assert np.allclose(skipped[1:], np.nansum(images, axis=0)[1:]) and np.isnan(skipped[0, 0])
    assert np.allclose(stack("mul", images, skip_nan=True)[0, 1:], np.nanprod(images, axis=0)[0, 1:])
    assert np.isnan(stack("max", images, skip_nan=False)).sum() == np.isnan(images).any(axis=0).sum()


def test_integer_stacks_do_not_wrap():
    masks = [np.full((2, 2), 200, np.uint8)] * 3
    assert stack("sum", masks).tolist() == [[600, 600], [600, 600]]
    assert stack("mul", masks)[0, 0] == 200**3
    assert stack("max", masks).dtype == np.uint8
    assert stack("sum", [np.ones(2, bool)] * 3).tolist() == [3, 3]


def test_stack_streams_a_generator_one_image_at_a_time():
    shape, n = (500, 500), 40  # 2 MB per image, 80 MB if they were all held

    def images():
        for k in range(n):
            yield np.full(shape, float(k))

    tracemalloc.start()
    try:
        result = stack("max", images())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result[0, 0] == n - 1
    assert peak < 4 * 2_000_000 + 1_000_000


def test_stack_errors():
    with pytest.raises(ValueError, match="stack op must be one of"):
        stack("median", [np.zeros(2)])
    with pytest.raises(ValueError, match="at least one image"):
        stack("sum", [])
    with pytest.raises(ValueError, match=r"input 2 has shape \(3,\), the first has \(2,\)"):
        stack("sum", [np.zeros(2), np.zeros(3)])


# -- command line ------------------------------------------------------------------------------


def _tan_header():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.cdelt = [-1 / 3600, 1 / 3600]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [10, 10]
    return w.to_header()


def _write_plain(path, data):
    fits.PrimaryHDU(data, header=_tan_header()).writeto(path)
    return path


def test_cli_combine_plain_images_as_ciao_value_masks(cli, tmp_path):
    a = np.zeros((20, 30), np.int16)
    a[2:9, 3:12] = 1
    b = np.zeros((20, 30), np.float32)
    b[5:15, 8:20] = 2.5
    b[0, 0] = np.nan
    c = np.zeros((20, 30), np.uint8)
    c[10:18, 0:5] = 1
    paths = [_write_plain(tmp_path / f"{n}.fits", d) for n, d in zip("abc", (a, b, c))]
    sets = [a != 0, np.isfinite(b) & (b != 0), c != 0]
    expected = {
        "union": sets[0] | sets[1] | sets[2],
        "intersection": sets[0] & sets[1] & sets[2],
        "xor": sets[0] ^ sets[1] ^ sets[2],
        "difference": sets[0] & ~sets[1] & ~sets[2],
    }
    for op, want in expected.items():
        code, _, err = cli("combine", "--op", op, tmp_path / f"{op}.fits", *paths)
        assert code == 0, err
        with fits.open(tmp_path / f"{op}.fits") as hdul:
            assert len(hdul) == 1 and hdul[0].data.dtype == np.uint8
            assert np.array_equal(hdul[0].data, want.astype(np.uint8))
            assert hdul[0].header["CTYPE1"] == "RA---TAN" and hdul[0].header["CRVAL1"] == 150.0


def test_cli_combine_value_stacks(cli, tmp_path):
    images = [np.where(RNG.random((8, 9)) < 0.5, 1, 0).astype(np.uint8) * k for k in (1, 2, 3)]
    floats = [RNG.normal(size=(8, 9)).astype(np.float32) for _ in range(2)]
    floats[0][1, 1] = np.nan
    ints = [_write_plain(tmp_path / f"i{k}.fits", d) for k, d in enumerate(images)]
    flts = [_write_plain(tmp_path / f"f{k}.fits", d) for k, d in enumerate(floats)]
    for op, reference in {"sum": np.sum, "mul": np.prod, "min": np.min, "max": np.max}.items():
        assert cli("combine", "--op", op, tmp_path / f"{op}.fits", *ints)[0] == 0
        out = fits.getdata(tmp_path / f"{op}.fits")
        assert np.array_equal(out, reference(np.stack(images), axis=0))
        assert out.dtype.kind == "u" and out.dtype.itemsize == 1  # back to the inputs' type: values fit
    assert cli("combine", "--op", "max", tmp_path / "fmax.fits", *flts)[0] == 0
    assert fits.getdata(tmp_path / "fmax.fits")[1, 1] == floats[1][1, 1]  # NaN skipped, as dmimgfilt
    assert cli("combine", "--op", "max", "--nan", "propagate", tmp_path / "fmax2.fits", *flts)[0] == 0
    assert np.isnan(fits.getdata(tmp_path / "fmax2.fits")[1, 1])
    assert fits.getheader(tmp_path / "fmax.fits")["CRVAL2"] == 2.0


def test_cli_combine_plane_masks_by_name(cli, tmp_path):
    (m1, m2, m3), _ = _plane_masks()
    paths = []
    for k, (m, fmt) in enumerate(zip((m1, m2, m3), ("fits", "fits", "fits"))):
        astromask.write(m, tmp_path / f"m{k}.fits", format=fmt)
        paths.append(tmp_path / f"m{k}.fits")
    assert cli("combine", "--op", "union", tmp_path / "u.fits", *paths)[0] == 0
    assert astromask.read(tmp_path / "u.fits") == union(m1, m2, m3)
    assert cli("combine", "--op", "intersection", "--to", "jwst", tmp_path / "i.fits", *paths[:2])[0] == 0
    assert astromask.read(tmp_path / "i.fits").get("SAT").tolist() == intersection(m1, m2).get("SAT").tolist()


def test_cli_combine_masked_images_writes_their_combined_mask(cli, tmp_path):
    """lsst files hold masked images only: the combined mask goes to plain FITS."""
    (m1, m2, _), _ = _plane_masks()
    for k, m in enumerate((m1, m2)):
        astromask.write(MaskedImage(np.zeros((12, 10), np.float32), mask=m), tmp_path / f"mi{k}.fits", format="lsst")
    code, _, err = cli("combine", "--op", "xor", tmp_path / "x.fits", tmp_path / "mi0.fits", tmp_path / "mi1.fits")
    assert code == 0, err
    with fits.open(tmp_path / "x.fits") as hdul:
        assert astromask.io.identify(hdul, str(tmp_path / "x.fits")) == "fits"
    assert astromask.read(tmp_path / "x.fits") == xor(m1, m2)


def test_cli_invert(cli, tmp_path):
    a = np.zeros((6, 7), np.float64)
    a[1:4, 2:6] = 3.0
    a[0, 0] = np.nan
    _write_plain(tmp_path / "a.fits", a)
    assert cli("invert", tmp_path / "a.fits", tmp_path / "inv.fits")[0] == 0
    with fits.open(tmp_path / "inv.fits") as hdul:
        assert np.array_equal(hdul[0].data, (~(np.isfinite(a) & (a != 0))).astype(np.uint8))
        assert hdul[0].header["CTYPE2"] == "DEC--TAN"
    (m1, _, _), p = _plane_masks()
    mi = MaskedImage(RNG.normal(size=(12, 10)).astype(np.float32), mask=m1, xy0=(5, 7))
    astromask.write(mi, tmp_path / "mi.fits", format="lsst")
    assert cli("invert", tmp_path / "mi.fits", tmp_path / "mi_inv.fits", "--planes", "SAT")[0] == 0
    back = astromask.read(tmp_path / "mi_inv.fits")
    assert isinstance(back, MaskedImage) and back.xy0 == (5, 7)
    assert np.array_equal(back.image, mi.image)
    assert np.array_equal(back.mask.get("SAT"), ~p["SAT"][0]) and np.array_equal(back.mask.get("CR"), p["CR"][0])


@pytest.mark.parametrize(
    "argv, message",
    [
        (["combine", "--op", "difference", "{out}", "{a}"], "needs at least two inputs"),
        (["combine", "--op", "union", "{a}", "{a}", "{b}"], "output is the input file"),
        (["combine", "--op", "union", "{exists}", "{a}", "{b}"], "output file exists"),
        (["combine", "--op", "union", "{out}", "{a}", "{mask}"], "holds plane masks but .* holds a plain image"),
        (["combine", "--op", "union", "{out}", "{a}", "{small}"], r"shape \(3, 3\) differs"),
        (["combine", "--op", "sum", "{out}", "{a}", "{small}"], r"shape \(3, 3\) differs"),
        (["combine", "--op", "union", "--nan", "skip", "{out}", "{a}", "{b}"], "--nan applies to sum"),
        (["combine", "--op", "sum", "--to", "lsst", "{out}", "{a}", "{b}"], "writes a plain FITS image"),
        (["combine", "--op", "union", "{out}", "{a}", "{missing}"], "missing.fits"),
        (["invert", "{a}", "{out}", "--planes", "SAT"], "--planes needs a mask file"),
        (["invert", "{mask}", "{out}", "--planes", "NOPE"], "NOPE"),
    ],
    ids=[
        "difference-one",
        "output-is-input",
        "exists",
        "mixed",
        "shape",
        "stack-shape",
        "nan-option",
        "stack-to",
        "missing",
        "planes-on-image",
        "unknown-plane",
    ],
)
def test_cli_errors_are_one_line_with_status_1(cli, tmp_path, argv, message):
    names = {
        "a": "a.fits",
        "b": "b.fits",
        "mask": "mask.fits",
        "small": "small.fits",
        "exists": "exists.fits",
        "out": "out.fits",
        "missing": "missing.fits",
    }
    _write_plain(tmp_path / "a.fits", np.ones((4, 4), np.int16))
    _write_plain(tmp_path / "b.fits", np.ones((4, 4), np.int16))
    _write_plain(tmp_path / "small.fits", np.ones((3, 3), np.int16))
    (tmp_path / "exists.fits").write_bytes(b"keep")
    astromask.write(Mask((4, 4), get_schema("rubin")), tmp_path / "mask.fits", format="fits")
    code, out, err = cli(*[a.format(**{k: tmp_path / v for k, v in names.items()}) for a in argv])
    assert code == 1 and out == ""
    assert len(err.strip().splitlines()) == 1 and re.search(message, err), err
    assert err.startswith(f"astromask {argv[0]}: error: ")
    assert (tmp_path / "exists.fits").read_bytes() == b"keep"
    assert not (tmp_path / "out.fits").exists()


def test_cli_usage_errors_exit_2(cli, tmp_path):
    code, _, err = cli("combine", "--op", "nand", tmp_path / "o.fits", tmp_path / "a.fits")
    assert code == 2 and "invalid choice" in err


# -- docs ----------------------------------------------------------------------------------------


def test_docs_examples_run(tmp_path, monkeypatch, capsys):
    """The Python blocks of docs/algebra.md run (in order), then every command of its shell block."""
    from astromask.cli import area as area_cmd
    from astromask.cli import bounds as bounds_cmd
    from astromask.cli import calc as calc_cmd

    for name, module in [
        ("combine", combine_cmd),
        ("invert", invert_cmd),
        ("calc", calc_cmd),
        ("bounds", bounds_cmd),
        ("area", area_cmd),
    ]:
        monkeypatch.setitem(astromask.cli.COMMANDS, name, module)
    text = (ROOT / "docs" / "algebra.md").read_text()
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in re.findall(r"```python\n(.*?)```", text, flags=re.S):
        exec(compile(block, "docs/algebra.md", "exec"), namespace)
    commands = [line for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S) for line in block.splitlines()]
    assert len(commands) >= 7
    for line in commands:
        argv = shlex.split(line, comments=True)
        assert argv[0] == "astromask"
        assert astromask.cli.main(argv[1:]) == 0, line
    out = capsys.readouterr().out
    assert "rect(20,30,80,80)" in out  # three r=20 disks centred (40,50), (60,50), (50,60)
    assert "2294 pixels" in out
