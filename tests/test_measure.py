"""Bounds and areas against scikit-image, the CIAO region library's reference masks and analytic solid angles."""

import json
import re

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS, Sip
from skimage.measure import regionprops

import astromask
import astromask.cli
from astromask import Box, Mask, MaskedImage, MaskSchema, get_schema, measure
from astromask.measure import area, bounds, logical_bounds, pixel_area_map
from conftest import shared_path

RNG = np.random.default_rng(31)


def _wcs(ctype, cdelt, crpix, crval=(0.0, 0.0)):
    w = WCS(naxis=2)
    w.wcs.ctype = [f"RA---{ctype}", f"DEC--{ctype}"]
    w.wcs.cdelt = cdelt
    w.wcs.crpix = crpix
    w.wcs.crval = crval
    return w


# -- bounds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("density", [0.001, 0.05, 0.5, 1.0], ids=["sparse", "few", "half", "full"])
def test_bounds_match_skimage_regionprops(density):
    for _ in range(5):
        mask = RNG.random((37, 53)) < density
        mask[RNG.integers(37), RNG.integers(53)] = True
        min_row, min_col, max_row, max_col = regionprops(mask.astype(np.uint8))[0].bbox
        assert bounds(mask) == Box(min_row, max_row, min_col, max_col)
        assert logical_bounds(mask) == (min_col + 1, min_row + 1, max_col, max_row)


def test_bounds_of_values_masks_and_masked_images():
    values = np.zeros((10, 12))
    values[3, 4] = np.nan  # not set (CIAO: NaN counts as 0)
    values[5, 2] = -1.0
    values[7, 9] = np.inf  # not set
    assert bounds(values) == Box(5, 6, 2, 3)
    schema = MaskSchema(["SAT", None, "CR"])
    m = Mask((10, 12), schema)
    m.set("SAT", (2, 3))
    m.set("CR", np.s_[6:8, 8:11])
    m.array[9, 0] |= 2  # a reserved bit counts as set
    assert bounds(m) == Box(2, 10, 0, 11)
    assert bounds(m, flags="CR") == Box(6, 8, 8, 11)
    assert logical_bounds(m, flags="SAT") == (4, 3, 4, 3)
    mi = MaskedImage(np.zeros((10, 12)), mask=m, xy0=(100, -20))
    assert bounds(mi, flags="CR") == Box(-14, -12, 108, 111)  # absolute
    assert logical_bounds(mi, flags="CR") == (9, 7, 11, 8)  # logical pixels ignore the origin
    assert bounds(np.zeros((3, 3), bool)) is None and logical_bounds(np.zeros((3, 3))) is None


def test_logical_pixel_convention_of_the_ciao_mask_document():
    """'setting zeros[199,49]=1 would set logical pixel (50,200)=1' (CIAO, How to Manipulate a Mask)."""
    zeros = np.zeros((300, 300))
    zeros[199, 49] = 1
    assert logical_bounds(zeros) == (50, 200, 50, 200)


@pytest.fixture(scope="module")
def ciao_cases():
    regions = shared_path("ciao", "regions")
    cases = json.loads((regions / "cases.json").read_text())["cases"]
    return [(c, np.load(regions / c["file"])) for c in cases]


def test_bounds_and_counts_of_the_ciao_reference_masks(ciao_cases):
    """Pixel counts equal the library's; bounds lie inside the region extent, and equal it where a
    pixel centre lies on every extreme of the shape (boundary-inclusive CIAO tests)."""
    on_centres = {"circle", "circle_r5_exact", "box", "polygon", "annulus", "point", "field", "union_plus"}
    for case, mask in ciao_cases:
        assert area(mask).value == case["npix_inside"], case["name"]
        xmin, xmax, ymin, ymax = case["regExtent_within_field"][:4]
        lb = logical_bounds(mask)
        assert np.ceil(xmin) <= lb[0] <= lb[2] <= np.floor(xmax), case["name"]
        assert np.ceil(ymin) <= lb[1] <= lb[3] <= np.floor(ymax), case["name"]
        if case["name"] in on_centres:
            assert lb == (np.ceil(xmin), np.ceil(ymin), np.floor(xmax), np.floor(ymax)), case["name"]
        box = bounds(mask)
        assert (box.x0 + 1, box.y0 + 1, box.x1, box.y1) == lb


# -- pixel solid angles ----------------------------------------------------------------------------


def _tan_rectangle(x1, x2, y1, y2):
    """Solid angle of the gnomonic-plane rectangle [x1,x2] x [y1,y2] (unit distance): the classic
    sum of atan(xy / sqrt(1 + x^2 + y^2)) over the corners."""
    f = lambda x, y: np.arctan(x * y / np.sqrt(1 + x**2 + y**2))  # noqa: E731
    return f(x2, y2) - f(x1, y2) - f(x2, y1) + f(x1, y1)


def test_wide_field_tan_pixels_match_the_analytic_solid_angle():
    """TAN maps great circles to straight lines, so the corner polygon is the exact pixel."""
    ny, nx, step = 150, 200, 0.5  # +-50 degrees: pixel areas change by a factor of ~4
    w = _wcs("TAN", [-step, step], [100.5, 75.5], crval=(200.0, -35.0))
    x = np.radians((np.arange(nx + 1) + 0.5 - 100.5) * step)  # pixel edges, gnomonic plane
    y = np.radians((np.arange(ny + 1) + 0.5 - 75.5) * step)
    exact = _tan_rectangle(x[None, :-1], x[None, 1:], y[:-1, None], y[1:, None])
    got = pixel_area_map(w, (ny, nx))
    assert exact.max() / exact.min() > 3
    assert np.allclose(got, exact, rtol=1e-9, atol=0)


@pytest.mark.parametrize("crval", [(0.0, 0.0), (83.6, 22.0), (200.0, -70.0), (10.0, 89.9)], ids=str)
@pytest.mark.parametrize("arcsec", [1.0, 0.05], ids=["1arcsec", "50mas"])
def test_small_pixels_match_astropy_proj_plane_pixel_area(crval, arcsec):
    w = _wcs("TAN", [-arcsec / 3600, arcsec / 3600], [5, 5], crval)
    got = pixel_area_map(w, (9, 9))[4, 4]  # the reference pixel
    assert got == pytest.approx(w.proj_plane_pixel_area().to_value(u.sr), rel=1e-7)


def _full_sky_car(step=1.0):
    return _wcs("CAR", [-step, step], [180 / step + 0.5, 90 / step + 0.5])


def test_full_sky_car_sums_to_four_pi():
    areas = pixel_area_map(_full_sky_car(), (180, 360))
    assert areas.sum() == pytest.approx(4 * np.pi, rel=1e-12)
    assert np.all(areas > 0)


def test_car_pixels_match_the_analytic_band_area_and_converge_with_oversampling():
    """A CAR pixel is dlon * (sin b2 - sin b1); its constant-latitude edges are not great circles,
    so the corner polygon is off by O(pixel^2), and oversample=n divides that by n^2."""
    w = _full_sky_car()
    edges = np.radians(np.arange(-90, 91))
    exact = np.radians(1.0) * np.diff(np.sin(edges))[:, None] * np.ones((1, 360))
    err1 = np.abs(pixel_area_map(w, (180, 360)) / exact - 1).max()
    err4 = np.abs(pixel_area_map(w, (180, 360), oversample=4) / exact - 1).max()
    assert err1 < 6e-5 and err4 < 4e-6
    assert 12 < err1 / err4 < 20
    band = np.zeros((180, 360), bool)
    band[60:120] = True  # -30 < b < 30: 2 pi (sin 30 - sin -30) = 2 pi
    assert area(band, w, unit="sr").value == pytest.approx(2 * np.pi, rel=5e-5)


def test_sip_distortion_is_applied_pixel_by_pixel():
    """With x' = u + c u^2 (SIP A_2_0 = c) a pixel at u is stretched by 1 + 2 c u along x."""
    w = _wcs("TAN", [-1 / 3600, 1 / 3600], [1, 1], crval=(30.0, 10.0))
    w.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    a = np.zeros((3, 3))
    a[2, 0] = 1e-3
    w.sip = Sip(a, np.zeros((3, 3)), None, None, w.wcs.crpix)
    areas = pixel_area_map(w, (3, 120))
    assert areas[0, 100] / areas[0, 0] == pytest.approx(1 + 2e-3 * 100, rel=1e-6)


def test_area_units_and_blocks(monkeypatch):
    w = _wcs("TAN", [-0.2, 0.2], [40, 30], crval=(120.0, 45.0))
    mask = RNG.random((60, 80)) < 0.3
    mask[:5] = False
    sr = pixel_area_map(w, mask.shape)[mask].sum()
    assert area(mask, w, unit="sr").value == pytest.approx(sr, rel=1e-12)
    assert area(mask, w, unit="deg2").value == pytest.approx(sr * (180 / np.pi) ** 2, rel=1e-12)
    assert area(mask, w, unit=u.arcmin**2).value == pytest.approx(sr * (180 / np.pi * 60) ** 2, rel=1e-12)
    assert area(mask, w, unit="arcsec2").unit == u.arcsec**2
    assert area(mask).value == mask.sum() and area(mask).unit == u.pix**2
    monkeypatch.setattr(measure, "_BLOCK_CORNERS", 200)  # a few rows per block
    assert area(mask, w, unit="sr").value == pytest.approx(sr, rel=1e-12)
    assert np.allclose(pixel_area_map(w, mask.shape), pixel_area_map(w, mask.shape, oversample=1), rtol=1e-12)
    mi = MaskedImage(np.zeros(mask.shape), mask=Mask.from_bool(mask, "BAD"), wcs=w)
    assert area(mi, unit="sr").value == pytest.approx(sr, rel=1e-12)


def test_pixels_outside_the_projection():
    """An all-sky AIT map: pixels beyond the ellipse have no sky position."""
    w = _wcs("AIT", [-2.0, 2.0], [90.5, 45.5])
    areas = pixel_area_map(w, (90, 180))
    assert np.isnan(areas[0, 0]) and np.isfinite(areas[45, 90])
    inside = np.zeros((90, 180), bool)
    inside[40:50, 80:100] = True
    assert area(inside, w, unit="sr").value == pytest.approx(areas[inside].sum())
    corner = np.zeros((90, 180), bool)
    corner[0, 0] = True
    with pytest.raises(ValueError, match="1 set pixels in rows 0..0 have corners outside the WCS projection"):
        area(corner, w, unit="sr")


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda w: area(np.ones((2, 2)), unit="deg2"), ValueError, "needs a WCS"),
        (lambda w: area(np.ones((2, 2)), w, unit="m2"), ValueError, "pixels or a solid angle"),
        (lambda w: area(np.ones((2, 2)), w, unit="nonsense"), ValueError, "unknown area unit"),
        (lambda w: area(np.ones((2, 2)), w, unit="sr", oversample=0), ValueError, "oversample must be a positive"),
        (lambda w: pixel_area_map("wcs", (2, 2)), TypeError, "astropy.wcs.WCS"),
        (lambda w: pixel_area_map(WCS(naxis=2), (2, 2)), ValueError, "no celestial axes"),
    ],
    ids=["no-wcs", "not-area", "bad-unit", "oversample", "not-wcs", "not-celestial"],
)
def test_area_errors(call, error, message):
    with pytest.raises(error, match=message):
        call(_wcs("TAN", [-1.0, 1.0], [1, 1]))


# -- command line ----------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path):
    w = _wcs("TAN", [-0.5, 0.5], [20, 15], crval=(250.0, 60.0))
    values = np.zeros((30, 40), np.float32)
    values[4:9, 10:25] = 1.0
    values[0, 0] = np.nan
    fits.PrimaryHDU(values, header=w.to_header()).writeto(tmp_path / "reg.fits")
    m = Mask((30, 40), get_schema("rubin"))
    m.set("SAT", np.s_[10:12, 5:7])
    m.set("CR", np.s_[20:25, 30:33])
    astromask.write(m, tmp_path / "planes.fits", format="fits")  # a lone mask: no WCS
    mi = MaskedImage(np.zeros((30, 40), np.float32), mask=m, wcs=w, xy0=(1000, 2000))
    astromask.write(mi, tmp_path / "mi.fits", format="lsst")
    return tmp_path, w, np.isfinite(values) & (values != 0), m


def test_cli_bounds(cli, files):
    path, _, _, _ = files
    code, out, err = cli("bounds", path / "reg.fits")
    assert code == 0, err
    assert out.splitlines() == [
        f"{path / 'reg.fits'}: [y 4:9, x 10:25] (0-based, end excluded), 5 x 15 pixels",
        "  CIAO logical x=11:25 y=5:9  rect(11,5,25,9)",
    ]
    code, out, _ = cli("bounds", "--json", "--flags", "CR", path / "mi.fits")
    info = json.loads(out)
    assert info["box"] == {"y0": 2020, "y1": 2025, "x0": 1030, "x1": 1033}  # absolute: xy0 = (1000, 2000)
    assert info["logical"] == {"xmin": 31, "ymin": 21, "xmax": 33, "ymax": 25} and info["shape"] == [5, 3]
    code, out, _ = cli("bounds", "--flags", "EDGE", path / "planes.fits")
    assert code == 0 and out.strip() == f"{path / 'planes.fits'}: no set pixels"
    assert json.loads(cli("bounds", "--json", path / "planes.fits")[1])["region"] == "rect(6,11,33,25)"


def test_cli_area(cli, files):
    path, w, selected, m = files
    sr = pixel_area_map(w, selected.shape)[selected].sum()
    code, out, err = cli("area", path / "reg.fits")
    assert code == 0 and out.strip() == f"{path / 'reg.fits'}: 75 pix", err
    info = json.loads(cli("area", path / "reg.fits", "--unit", "deg2", "--json")[1])
    assert info["pixels"] == 75 and info["unit"] == "deg2"
    assert info["area"] == pytest.approx(sr * (180 / np.pi) ** 2, rel=1e-12)
    assert info["area"] != pytest.approx(75 * 0.25, rel=1e-3)  # 30 degrees from the tangent point
    sat = m.get("SAT")
    want = pixel_area_map(w, sat.shape)[sat].sum() * (180 / np.pi * 60) ** 2
    info = json.loads(cli("area", path / "mi.fits", "--flags", "SAT", "--unit", "arcmin2", "--json")[1])
    assert info["pixels"] == 4 and info["area"] == pytest.approx(want, rel=1e-12)
    info = json.loads(cli("area", path / "planes.fits", "--wcs", path / "reg.fits", "--unit", "sr", "--json")[1])
    both = m.select()
    assert info["area"] == pytest.approx(pixel_area_map(w, both.shape)[both].sum(), rel=1e-12)
    code, out, _ = cli("area", path / "reg.fits", "--unit", "sr", "--oversample", "2")
    assert code == 0 and out.startswith(f"{path / 'reg.fits'}: ") and out.strip().endswith("sr (75 pixels)")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["area", "{planes}", "--unit", "deg2"], "no sky WCS found; --unit deg2 needs one"),
        (["area", "{reg}", "--flags", "SAT"], "--flags needs a mask file"),
        (["bounds", "{reg}", "--flags", "SAT"], "--flags needs a mask file"),
        (["bounds", "{planes}", "--flags", "NOPE"], "NOPE"),
        (["area", "{planes}", "--unit", "sr", "--wcs", "{small}"], r"the WCS is for shape \(3, 4\)"),
        (["area", "{missing}"], "missing.fits"),
    ],
    ids=["no-wcs", "flags-area", "flags-bounds", "unknown-plane", "wcs-shape", "missing"],
)
def test_cli_errors(cli, files, argv, message):
    path = files[0]
    fits.PrimaryHDU(np.zeros((3, 4)), header=_wcs("TAN", [-1.0, 1.0], [1, 1]).to_header()).writeto(path / "small.fits")
    names = {k: path / f"{k}.fits" for k in ("planes", "reg", "small", "missing")}
    code, out, err = cli(*[a.format(**names) for a in argv])
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert err.startswith(f"astromask {argv[0]}: error: ")
    assert re.search(message, err), err


def test_cli_on_a_real_chandra_source_image(cli):
    """ACIS sky pixels are 0.492 arcsec; this cutout lies ~0.15 deg from the tangent point."""
    path = shared_path("ciao", "acisf08478_000N001_r0043_regevt3_srcimg.fits")
    counts = fits.getdata(path)
    info = json.loads(cli("area", path, "--unit", "arcsec2", "--json")[1])
    assert info["pixels"] == np.count_nonzero(counts) == 955
    assert info["area"] == pytest.approx(955 * 0.492**2, rel=1e-4)
    min_row, min_col, max_row, max_col = regionprops((counts != 0).astype(np.uint8))[0].bbox
    box = json.loads(cli("bounds", "--json", path)[1])["box"]
    assert box == {"y0": min_row, "y1": max_row, "x0": min_col, "x1": max_col}
