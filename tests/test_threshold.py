"""dmimgthresh cuts, sigma-clipped cuts and hysteresis against hand-worked arrays and skimage."""

import math
import re
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from skimage.filters import apply_hysteresis_threshold
from skimage.measure import label as sk_label

import astromask.cli
from astromask.cli import thresh as thresh_cli
from astromask.threshold import Cut, hysteresis, parse_cut, sigma_clip_mask, thresh, threshold_mask
from conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]

# 3x3 ramp 0..8: max 8, so 50% = 4.0, 10% = 0.8.
RAMP = np.arange(9, dtype=np.float64).reshape(3, 3)


# -- parse_cut ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10", Cut(10.0)),
        (" 10 ", Cut(10.0)),
        ("10%", Cut(10.0, lo_percent=True)),
        ("1.5%", Cut(1.5, lo_percent=True)),
        ("20:80", Cut(20.0, 80.0)),
        (":80%", Cut(None, 80.0, hi_percent=True)),
        (":10", Cut(None, 10.0)),
        ("10:", Cut(10.0, None)),
        ("5:5", Cut(5.0, 5.0)),
        ("-5:1e3", Cut(-5.0, 1000.0)),
        ("10%:90%", Cut(10.0, 90.0, True, True)),
        (400.0, Cut(400.0)),
        (7, Cut(7.0)),
    ],
    ids=lambda v: repr(v) if not isinstance(v, Cut) else "",
)
def test_parse_cut_forms(text, expected):
    assert parse_cut(text) == expected


@pytest.mark.parametrize("text", ["", ":", "abc", "10%%", "1:2:3", "%", "10 %x", "nan", "inf", "5::"])
def test_parse_cut_rejects_bad_text_naming_the_parameter(text):
    with pytest.raises(ValueError, match=r"^--cut must be .*" + re.escape(repr(text))):
        parse_cut(text, name="--cut")


def test_parse_cut_rejects_non_finite_numbers_and_other_types():
    with pytest.raises(ValueError, match="cut must be finite"):
        parse_cut(math.inf)
    with pytest.raises(TypeError, match="cut must be a string or a number, got list"):
        parse_cut([1, 2])


# -- thresh: hand-worked ------------------------------------------------------------------------

X = -1.0  # replacement marker: hand-worked expectations below spell out each pixel


@pytest.mark.parametrize(
    "cut, expected",
    [
        # absolute: strictly below 3 replaced, 3 kept
        ("3", [[X, X, X], [3, 4, 5], [6, 7, 8]]),
        # 50% of max 8 = 4.0
        ("50%", [[X, X, X], [X, 4, 5], [6, 7, 8]]),
        # 10% of 8 = 0.8: only 0 replaced
        ("10%", [[X, 1, 2], [3, 4, 5], [6, 7, 8]]),
        # range: < 2 or > 6 replaced, both ends kept
        ("2:6", [[X, X, 2], [3, 4, 5], [6, X, X]]),
        # upper only: > 50% (4.0) replaced
        (":50%", [[0, 1, 2], [3, 4, X], [X, X, X]]),
        ("5:", [[X, X, X], [X, X, 5], [6, 7, 8]]),
        # a single value kept (CIAO's "select group 5" recipe)
        ("5:5", [[X, X, X], [X, X, 5], [X, X, X]]),
        (":0", [[0, X, X], [X, X, X], [X, X, X]]),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_thresh_every_cut_form(cut, expected):
    out = thresh(RAMP, cut, value=X)
    np.testing.assert_array_equal(out, np.array(expected))
    assert out.dtype == RAMP.dtype
    np.testing.assert_array_equal(threshold_mask(RAMP, cut), np.array(expected) != X)


def test_thresh_does_not_modify_its_input():
    image = RAMP.copy()
    thresh(image, "5:5")
    np.testing.assert_array_equal(image, RAMP)


def test_integer_images_truncate_the_cut():
    image = RAMP.astype(np.int16)
    # cut 2.7 -> 2: the pixel 2 is kept (a float image would replace it)
    np.testing.assert_array_equal(thresh(image, "2.7").ravel(), [0, 0, 2, 3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(thresh(RAMP, "2.7").ravel(), [0, 0, 0, 3, 4, 5, 6, 7, 8])
    # 30% of 8 = 2.4 -> 2; ":2.9" -> hi 2
    np.testing.assert_array_equal(thresh(image, "30%").ravel(), [0, 0, 2, 3, 4, 5, 6, 7, 8])
    np.testing.assert_array_equal(thresh(image, ":2.9").ravel(), [0, 1, 2, 0, 0, 0, 0, 0, 0])
    # truncation is toward zero: -2.5 -> -2, so -3 is replaced and -2 kept
    neg = np.array([[-3, -2, -1]], dtype=np.int32)
    np.testing.assert_array_equal(thresh(neg, "-2.5", value=9), [[9, -2, -1]])
    assert thresh(image, "3").dtype == np.int16


def test_value_decides_the_output_type():
    image = RAMP.astype(np.uint8)
    assert thresh(image, "3", value=7).dtype == np.uint8
    assert thresh(image, "3", value=7.0).dtype == np.uint8
    out = thresh(image, "3", value=0.018)
    assert out.dtype == np.float64 and out[0, 0] == 0.018 and out[2, 2] == 8
    assert thresh(image, "3", value=300).dtype == np.float64  # does not fit uint8
    assert np.isnan(thresh(image, "3", value=math.nan)[0, 0])
    assert thresh(RAMP.astype(np.float32), "3", value=0.5).dtype == np.float32


def test_nan_is_never_replaced_and_never_selected():
    image = RAMP.copy()
    image[1, 1] = np.nan
    out = thresh(image, "2:6", value=X)
    assert np.isnan(out[1, 1])
    np.testing.assert_array_equal(np.isnan(out), np.isnan(image))
    assert not threshold_mask(image, "2:6")[1, 1]
    # the maximum for % ignores NaN: 50% of 8
    np.testing.assert_array_equal(thresh(image, "50%", value=X)[0], [X, X, X])


def test_ciao_footprint_recipe_two_passes():
    """ciao.md 1: cut=10% value=0 then cut=:10% value=1 gives 0/1 and NaN stays NaN."""
    exposure = np.array([[0.0, 50.0, 99.0], [100.0, np.nan, 9.9], [10.0, 1000.0, 500.0]])
    footprint = thresh(exposure, "10%", value=0)  # 10% of 1000 = 100: < 100 -> 0
    np.testing.assert_array_equal(footprint, [[0, 0, 0], [100, np.nan, 0], [0, 1000, 500]])
    ones = thresh(footprint, ":10%", value=1)  # > 100 -> 1; 100 itself is kept as it was
    np.testing.assert_array_equal(ones, [[0, 0, 0], [100, np.nan, 0], [0, 1, 1]])


def test_against_an_exposure_map():
    image = np.array([[5, 6, 7], [8, 9, 10]], dtype=np.int32)
    exposure = np.array([[0.0, 400.0, 399.5], [np.nan, 1000.0, 401.0]])
    # ahelp example 2: exposure below 400 -> 0.018 (float output, int image)
    out = thresh(image, "400.0", value=0.018, against=exposure)
    np.testing.assert_array_equal(out, [[0.018, 6, 0.018], [8, 9, 10]])
    # ahelp example 1: % of the exposure map's maximum (1000): 40% = 400
    np.testing.assert_array_equal(thresh(image, "40%", against=exposure), [[0, 6, 0], [8, 9, 10]])
    # the float exposure map does not truncate the cut
    np.testing.assert_array_equal(thresh(image, "399.9", against=exposure), [[0, 6, 0], [8, 9, 10]])
    # threshold_mask: kept where the exposure passes; the NaN exposure pixel is not selected
    np.testing.assert_array_equal(threshold_mask(image, "400", against=exposure), [[0, 1, 0], [0, 1, 1]])
    with pytest.raises(ValueError, match=r"against has shape \(1, 2\), image has shape \(2, 3\)"):
        threshold_mask(image, "1", against=np.zeros((1, 2)))


def test_thresh_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"against has shape \(2, 2\), image has shape \(3, 3\)"):
        thresh(RAMP, "1", against=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="percent cut needs at least one finite pixel"):
        thresh(np.full((2, 2), np.nan), "10%")
    with pytest.raises(ValueError, match=r"cut 6:2 gives lo 6.0 > hi 2.0"):
        thresh(RAMP, "6:2")
    with pytest.raises(TypeError, match="image must be an integer or float image, got dtype bool"):
        thresh(RAMP > 2, "1")
    with pytest.raises(ValueError, match=r"image must be 2-D, got shape \(9,\)"):
        thresh(RAMP.ravel(), "1")
    with pytest.raises(TypeError, match="value must be a number, got 'zero'"):
        thresh(RAMP, "1", value="zero")


# -- sigma_clip_mask ----------------------------------------------------------------------------


def _background_with_outliers():
    """48 nines, 48 elevens and one 10, then 20, 0 and NaN at (9, 7), (9, 8), (9, 9).

    First pass: median 10, std (296/99) ** 0.5 = 1.73, so 20 and 0 are clipped at 3 (or 1.1) sigma;
    then std (96/97) ** 0.5 = 0.995 and nothing else moves.
    """
    values = np.array([9.0, 11.0] * 48 + [10.0, 20.0, 0.0, np.nan])
    return values.reshape(10, 10)


def test_sigma_clip_mask_hand_worked():
    image = _background_with_outliers()
    assert np.argwhere(sigma_clip_mask(image, 3)).tolist() == [[9, 7]]  # the 20
    assert np.argwhere(sigma_clip_mask(image, 3, above=False, below=True)).tolist() == [[9, 8]]  # the 0
    assert np.argwhere(sigma_clip_mask(image, 3, below=True)).tolist() == [[9, 7], [9, 8]]
    # at 1.1 sigma the 9s and 11s (deviation 1 < 1.1 * 0.995) stay out; NaN is never selected
    assert np.argwhere(sigma_clip_mask(image, 1.1, below=True)).tolist() == [[9, 7], [9, 8]]
    assert np.argwhere(sigma_clip_mask(image, 0.9, below=True)).size > 2  # 1 > 0.9 * 0.995


def _clipped_reference(data, nsigma, maxiters):
    """Iterative clipping written out with numpy: median centre, ddof-0 std, strict bounds."""
    kept = data[np.isfinite(data)]
    for _ in range(maxiters):
        centre, width = np.median(kept), kept.std()
        inside = np.abs(kept - centre) <= nsigma * width
        if inside.all():
            break
        kept = kept[inside]
    return np.median(kept), kept.std()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sigma_clip_mask_matches_an_independent_clipping_loop(seed):
    rng = np.random.default_rng(seed)
    image = rng.normal(100.0, 5.0, (40, 50))
    outliers = rng.random(image.shape) < 0.03
    image[outliers] += rng.uniform(30.0, 300.0, outliers.sum())
    image[3, 4] = np.nan
    centre, width = _clipped_reference(image, 2.5, 10)
    expected = np.abs(image - centre) > 2.5 * width
    got = sigma_clip_mask(image, 2.5, maxiters=10, below=True)
    np.testing.assert_array_equal(got, expected)
    assert not got[3, 4]


def test_sigma_clip_local_background_follows_a_glow():
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[:40, :60]
    glow = 30.0 * np.exp(-((xx - 15.0) ** 2 + (yy - 20.0) ** 2) / (2 * 8.0**2))
    image = 100.0 + glow + rng.normal(0.0, 1.0, xx.shape)
    image[20, 45] += 50.0
    global_mask = sigma_clip_mask(image, 4)
    local_mask = sigma_clip_mask(image, 4, box=5)
    assert global_mask[20, 45] and global_mask[20, 15]  # the glow peak looks like a source globally
    assert np.argwhere(local_mask).tolist() == [[20, 45]]


def test_sigma_clip_errors():
    with pytest.raises(ValueError, match="no finite pixel"):
        sigma_clip_mask(np.full((3, 3), np.nan))
    with pytest.raises(ValueError, match="nsigma must be a positive number, got 0"):
        sigma_clip_mask(RAMP, 0)
    with pytest.raises(ValueError, match="box must be an integer >= 3"):
        sigma_clip_mask(RAMP, box=2)


# -- hysteresis ---------------------------------------------------------------------------------


def test_hysteresis_hand_worked_connectivity():
    image = np.array(
        [
            [0, 3, 0, 0, 0],
            [0, 0, 6, 0, 3],
            [0, 0, 0, 3, 0],
            [3, 3, 0, 0, 0],
        ]
    )
    # 4-connectivity: only the 6 itself (its 3s touch it by a corner)
    four = hysteresis(image, 2, 5, connectivity=4)
    assert np.argwhere(four).tolist() == [[1, 2]]
    # 8-connectivity: the diagonal chain 3-6-3-3 (rows 0..2) joins; the bottom-left pair does not
    eight = hysteresis(image, 2, 5, connectivity=8)
    assert np.argwhere(eight).tolist() == [[0, 1], [1, 2], [1, 4], [2, 3]]
    # low > high is lowered to high: equivalent to (5, 5)
    np.testing.assert_array_equal(hysteresis(image, 9, 5), image > 5)


@pytest.mark.parametrize("low, high", [(0.3, 0.8), (0.5, 0.6), (0.9, 0.7), (0.0, 0.95)])
@pytest.mark.parametrize("seed", [0, 1])
def test_hysteresis_matches_skimage(seed, low, high):
    rng = np.random.default_rng(seed)
    image = rng.random((48, 64))
    image[rng.random(image.shape) < 0.05] = np.nan
    expected = apply_hysteresis_threshold(image, low, high)  # skimage: 4-connectivity in 2-D
    np.testing.assert_array_equal(hysteresis(image, low, high), expected)
    np.testing.assert_array_equal(hysteresis(image, low, high, connectivity=4), expected)


@pytest.mark.parametrize("seed", [3, 4])
def test_hysteresis_eight_connected_matches_skimage_labels(seed):
    rng = np.random.default_rng(seed)
    image = rng.random((48, 64))
    low, high = 0.55, 0.9
    components = sk_label(image > low, connectivity=2)
    strong = np.unique(components[image > high])
    expected = np.isin(components, strong[strong > 0])
    np.testing.assert_array_equal(hysteresis(image, low, high, connectivity=8), expected)
    assert expected.sum() > hysteresis(image, low, high).sum()  # corners make a difference here


def test_hysteresis_errors():
    with pytest.raises(ValueError, match="connectivity must be 4 or 8, got 6"):
        hysteresis(RAMP, 1, 2, connectivity=6)
    with pytest.raises(ValueError, match="low must be a number, got nan"):
        hysteresis(RAMP, math.nan, 2)


# -- command line -------------------------------------------------------------------------------


def cli(monkeypatch, capsys, *argv):
    monkeypatch.setitem(astromask.cli.COMMANDS, "thresh", thresh_cli)
    code = astromask.cli.main(["thresh", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def write_image(path, data, **cards):
    header = fits.Header()
    header.update({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "BUNIT": "count", **cards})
    fits.PrimaryHDU(data, header=header).writeto(path)
    return str(path)


def test_cli_cut_round_trip(tmp_path, monkeypatch, capsys):
    image = (np.arange(12).reshape(3, 4) * 3).astype(np.int16)
    src = write_image(tmp_path / "in.fits", image, OBJECT="m13")
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "out.fits", "--cut", "6:20%")
    assert code == 0, err
    with fits.open(tmp_path / "out.fits") as hdul:
        data, header = hdul[0].data, hdul[0].header
        # 20% of 33 = 6.6 -> 6 (integer image): keep 6..6
        assert data.dtype.kind == "i" and data.dtype.itemsize == 2
        np.testing.assert_array_equal(data, np.where(image == 6, image, 0))
        assert header["OBJECT"] == "m13" and header["CTYPE1"] == "RA---TAN"


def test_cli_cut_with_exposure_map_and_indef(tmp_path, monkeypatch, capsys):
    image = np.arange(6, dtype=np.int32).reshape(2, 3)
    exposure = np.array([[10.0, 500.0, 1000.0], [0.0, 90.0, 100.0]])
    src = write_image(tmp_path / "in.fits", image)
    exp = write_image(tmp_path / "exp.fits", exposure)
    out = tmp_path / "out.fits"
    code, _, err = cli(monkeypatch, capsys, src, out, "--cut", "10%", "--exp", exp, "--value", "INDEF")
    assert code == 0, err
    data = fits.getdata(out)
    assert data.dtype.kind == "f"
    np.testing.assert_array_equal(data, [[np.nan, 1, 2], [np.nan, np.nan, 5]])


def test_cli_sigma_and_hysteresis_masks(tmp_path, monkeypatch, capsys):
    src = write_image(tmp_path / "in.fits", _background_with_outliers())
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "s.fits", "--sigma", "3", "--side", "both")
    assert code == 0, err
    with fits.open(tmp_path / "s.fits") as hdul:
        assert hdul[0].data.dtype == np.uint8 and "BUNIT" not in hdul[0].header
        assert np.argwhere(hdul[0].data).tolist() == [[9, 7], [9, 8]]
    image = np.array([[0, 3, 0, 0, 0], [0, 0, 6, 0, 3], [0, 0, 0, 3, 0]], dtype=np.float32)
    src = write_image(tmp_path / "h.fits", image)
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "h8.fits", "--hysteresis", "2,5", "--connectivity", "8")
    assert code == 0, err
    assert np.argwhere(fits.getdata(tmp_path / "h8.fits")).tolist() == [[0, 1], [1, 2], [1, 4], [2, 3]]


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--cut", "10%%"], "--cut must be"),
        (["--cut", "1", "--box", "5"], "--box applies to --sigma, not to --cut"),
        (["--sigma", "3", "--value", "1"], "--value applies to --cut, not to --sigma"),
        (["--cut", "1", "--exp", "{small}"], r"small.fits: shape \(2, 2\) differs from .*in.fits shape \(3, 3\)"),
        (["--cut", "1", "--exp", "{missing}"], "missing.fits"),
    ],
    ids=["bad-cut", "box-with-cut", "value-with-sigma", "exp-shape", "exp-missing"],
)
def test_cli_errors_are_one_line_with_exit_1(tmp_path, monkeypatch, capsys, extra, message):
    src = write_image(tmp_path / "in.fits", RAMP)
    small = write_image(tmp_path / "small.fits", np.zeros((2, 2)))
    names = {"small": small, "missing": str(tmp_path / "missing.fits")}
    extra = [e.format(**names) for e in extra]
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "out.fits", *extra)
    assert code == 1
    assert err.startswith("astromask thresh: error: ") and err.count("\n") == 1
    assert re.search(message, err)
    assert not (tmp_path / "out.fits").exists()


def test_cli_usage_errors_exit_2(tmp_path, monkeypatch, capsys):
    src = write_image(tmp_path / "in.fits", RAMP)
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "o.fits", "--hysteresis", "2")
    assert code == 2 and "expected LOW,HIGH" in err
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "o.fits")
    assert code == 2 and "one of the arguments --cut --sigma --hysteresis is required" in err


def test_cli_refuses_to_overwrite(tmp_path, monkeypatch, capsys):
    src = write_image(tmp_path / "in.fits", RAMP)
    out = tmp_path / "out.fits"
    out.write_bytes(b"keep")
    code, _, err = cli(monkeypatch, capsys, src, out, "--cut", "3")
    assert code == 1 and "output file exists" in err and out.read_bytes() == b"keep"
    code, _, err = cli(monkeypatch, capsys, src, src, "--cut", "3", "--overwrite")
    assert code == 1 and "output is the input file" in err
    code, _, err = cli(monkeypatch, capsys, src, out, "--cut", "3", "--overwrite")
    assert code == 0, err
    np.testing.assert_array_equal(fits.getdata(out), thresh(RAMP, "3"))


def test_cli_on_a_real_chandra_image(tmp_path, monkeypatch, capsys):
    src = shared_path("ciao", "acisf08478_000N001_r0043_regevt3_srcimg.fits")
    image = fits.getdata(src)
    code, _, err = cli(monkeypatch, capsys, src, tmp_path / "out.fits", "--cut", "10%", "--value", "-1")
    assert code == 0, err
    cut = 0.1 * np.nanmax(image)
    if image.dtype.kind in "iu":
        cut = math.trunc(cut)
    expected = np.where(image < cut, -1, image)  # written out with numpy, not through astromask
    np.testing.assert_array_equal(fits.getdata(tmp_path / "out.fits"), expected)


# -- docs ---------------------------------------------------------------------------------------


def test_docs_python_examples_run(tmp_path, monkeypatch):
    text = (ROOT / "docs" / "thresholds.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/thresholds.md", "exec"), namespace)
