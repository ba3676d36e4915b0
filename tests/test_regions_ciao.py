"""CIAO region strings: parser, rasterization, area and extent against the CIAO library's own answers.

References: ../shared/data/ciao/regions (masks, counts, normalized strings, regArea and
regExtent computed with the CIAO region library of sherpa 4.19), hand-worked counts,
closed-form areas, and scikit-image's point-in-polygon test.
"""

import doctest
import json
import math

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

import astromask.regions
from astromask.regions import PixelFrame, RegionSyntaxError, ciao, ds9, files, frame, parse, raster, region, shapes
from astromask.regions import area as area_module
from conftest import shared_path

FIELD = ((0.5, 100.5), (0.5, 100.5))  # the cases' regArea field (pixel edges of the 100x100 grid)
PIXELLATED = {"union_plus", "intersect_amp", "subtract"}  # regArea counted these on a grid


def _cases():
    try:
        path = shared_path("ciao", "regions", "cases.json")
    except pytest.skip.Exception:
        return []
    return json.loads(path.read_text())["cases"]


CASES = _cases()
CASE_IDS = [c["name"] for c in CASES]


def grid(n=100):
    """Physical = logical pixel centres of an n x n image: x row vector, y column vector."""
    x = np.arange(1, n + 1, dtype=float)
    return x[np.newaxis, :], x[:, np.newaxis]


def mask(text, shape=(100, 100), **kw):
    return parse(text).mask(shape, **kw)


# -- the CIAO library's reference cases ---------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reference_mask_pixel_for_pixel(case):
    expected = np.load(shared_path("ciao", "regions", case["file"])).astype(bool)
    got = mask(case["region"])
    assert got.shape == expected.shape
    assert np.array_equal(got, expected), f"{int((got != expected).sum())} pixels differ"
    assert int(got.sum()) == case["npix_inside"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reference_normalized_string(case):
    assert str(parse(case["region"])) == case["normalized"]


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reference_area_ciao_rules(case):
    expected = case["regArea_field_0.5_100.5_bin1"]
    got = parse(case["region"]).area(FIELD, method="ciao")
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c["name"] not in PIXELLATED],
    ids=[c["name"] for c in CASES if c["name"] not in PIXELLATED],
)
def test_reference_area_exact_equals_library_where_analytic(case):
    got = parse(case["region"]).area(FIELD)
    assert got == pytest.approx(case["regArea_field_0.5_100.5_bin1"], rel=1e-9)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_reference_extent(case):
    x0, x1, y0, y1, _ = case["regExtent_within_field"]
    assert parse(case["region"]).extent(FIELD) == pytest.approx((x0, x1, y0, y1), rel=1e-12)


# -- exact areas of combinations (closed forms) ---------------------------------------------------


def _lens(r, d):
    """Area of the intersection of two circles of radius r at distance d."""
    return 2 * r * r * math.acos(d / (2 * r)) - d / 2 * math.sqrt(4 * r * r - d * d)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("circle(40,50,20)+circle(60,50,20)", 2 * math.pi * 400 - _lens(20, 20)),
        ("circle(40,50,20)&circle(60,50,20)", _lens(20, 20)),
        ("circle(50,50,30)-box(50,50,20,20)", math.pi * 900 - 400),
        ("field()-circle(50,50,20)", 10000 - math.pi * 400),
        ("sector(50,50,0,90)", 50.5 * 50.5),  # quadrant of the field from the centre
        ("sector(50,50,90,0)", 100 * 100 - 50.5 * 50.5),  # the other three quadrants
        ("polygon(10,10,20,20,20,10,10,20)", 50.0),  # bow tie: both lobes count (non-zero winding)
        ("polygon(1,1,11,1,11,11,1,11,1,1,11,1,11,11,1,11)", 100.0),  # a square wound twice
        ("pie(50,50,0,20,0,90)&box(60,60,20,20)", math.pi * 100),  # quarter disc inside the box
        ("annulus(50,50,10,20)|circle(50,50,12)", math.pi * 400),
        ("ellipse(50,50,20,10,30)-ellipse(50,50,10,5,30)", math.pi * (200 - 50)),
        ("circle(10,10,5)|circle(80,80,5)", 2 * math.pi * 25),  # separate: analytic sum
        ("circle(0.5,50,10)", math.pi * 100 / 2),  # half outside the field
    ],
)
def test_exact_area_of_combinations(text, expected):
    assert parse(text).area(FIELD) == pytest.approx(expected, rel=1e-9)


def test_area_quirks_of_the_library():
    # field()-circle is counted on the 101x101 grid of pixel corners, !circle is analytic (ciao.md §6)
    assert parse("field()-circle(50,50,20)").area(FIELD, method="ciao") == 8937.0
    assert parse("!circle(50,50,20)").area(FIELD, method="ciao") == pytest.approx(10000 - math.pi * 400)
    # the library answers 1.0 for a sector; we count it like any other group: the grid points
    # x = 50.5 ... 100.5 and y = 50.5 ... 100.5 (51 x 51) of the field's corner grid
    assert parse("sector(50,50,0,90)").area(FIELD, method="ciao") == 51 * 51
    # box: analytic 600 although 651 centres are inside
    assert parse("box(50,50,30,20)").area(FIELD, method="ciao") == 600.0


def test_area_needs_a_field_for_unbounded_regions():
    with pytest.raises(ValueError, match="infinite: give a field"):
        parse("field()-circle(0,0,1)").area()
    with pytest.raises(ValueError, match="infinite"):
        parse("!circle(0,0,1)").area()
    assert parse("circle(0,0,2)").area() == pytest.approx(4 * math.pi)


def test_area_options_are_checked():
    with pytest.raises(ValueError, match="method must be one of"):
        parse("circle(0,0,2)").area(method="grid")
    with pytest.raises(ValueError, match="bin must be > 0"):
        parse("circle(0,0,2)").area(bin=0)


def test_ciao_area_with_a_coarser_bin():
    # grid 20, 22, ..., 80 by 30, 32, ..., 70: count the points by hand
    xs, ys = np.arange(20, 81, 2.0), np.arange(30, 71, 2.0)
    gx, gy = np.meshgrid(xs, ys)
    n = (np.hypot(gx - 40, gy - 50) <= 20) | (np.hypot(gx - 60, gy - 50) <= 20)
    assert parse("circle(40,50,20)+circle(60,50,20)").area(FIELD, bin=2, method="ciao") == 4 * n.sum()


# -- grouping rules ------------------------------------------------------------------------------


A, B, C = "circle(40,50,15)", "box(55,50,30,20)", "circle(60,55,8)"


def _sets():
    x, y = grid()
    return tuple(parse(s).contains(x, y) for s in (A, B, C))


@pytest.mark.parametrize(
    "text, combine",
    [
        (f"{A} | {B} & !{C}", lambda a, b, c: a | (b & ~c)),
        (f"{A} - {B} + {C}", lambda a, b, c: (a & ~b) | c),
        (f"{A}-!{B}", lambda a, b, c: a & b),
        (f"{A}*{B}", lambda a, b, c: a & b),
        (f"{A}{B}", lambda a, b, c: a | b),  # juxtaposition is OR
        (f"{A} {B} & {C}", lambda a, b, c: a | (b & c)),
        (f"|{A}&{B}", lambda a, b, c: a & b),
        (f"!{A}", lambda a, b, c: ~a),
        (f"field()-{A}-{C}", lambda a, b, c: ~a & ~c),
        (f"{A}&!{B}|{C}&{A}", lambda a, b, c: (a & ~b) | (c & a)),
    ],
)
def test_grouping_left_to_right_without_parentheses(text, combine):
    assert np.array_equal(mask(text), combine(*_sets()))


def test_normal_form_of_combinations():
    assert str(parse(f"{A} | {B} & !{C}")) == "Circle(40,50,15)|Box(55,50,30,20)&!Circle(60,55,8)"
    assert str(parse(f"{A}-!{B}")) == "Circle(40,50,15)&Box(55,50,30,20)"
    assert str(parse("circle(50,50,10)-circle(50,50,5)")) == "Circle(50,50,10)&!Circle(50,50,5)"


@pytest.mark.parametrize(
    "name, full",
    [
        ("cir", "Circle"),
        ("CIRC", "Circle"),
        ("circle", "Circle"),
        ("rect", "Rectangle"),
        ("Ell", "Ellipse"),
        ("sect", "Sector"),
        ("poly", "Polygon"),
        ("poi", "Point"),
        ("ROTBOX", "RotBox"),
        ("pie", "Pie"),
    ],
)
def test_shape_name_abbreviations(name, full):
    args = {
        "Circle": "1,2,3",
        "Rectangle": "1,2,3,4",
        "Ellipse": "1,2,3,4,5",
        "Sector": "1,2,3,4",
        "Polygon": "1,1,2,1,2,2",
        "Point": "1,2",
        "RotBox": "1,2,3,4,5",
        "Pie": "1,2,3,4,5,6",
    }[full]
    assert str(parse(f"{name}({args})")).startswith(full + "(")


# -- malformed strings: one-line errors that point at the column --------------------------------


@pytest.mark.parametrize(
    "text, column, problem",
    [
        ("circle(1,2,3))", 14, r"unexpected '\)'"),
        ("-circle(1,1,1)", 1, "may not start with '-'"),
        ("circle(1,2,3) # note", 15, "unexpected '#'.*no trailing comments"),
        ("circle(1,2,3);box(1,1,1,1)", 14, "unexpected ';'"),
        ("circle(1,2 3)", 12, "unexpected '3'"),
        ("cirkel(1,2,3)", 1, "unknown shape 'cirkel'"),
        ("ci(1,2,3)", 1, "unknown shape 'ci'"),
        ("pol(1,1,2,2,3,3)", 1, "unknown shape 'pol'"),
        ("circle(1,2,3", 13, "unexpected end of text"),
        ("circle(1,2,3x)", 13, "unknown unit 'x'"),
        ("circle(1,2)", 1, "circle takes 3 arguments, got 2"),
        ("box(1,2,3)", 1, "box takes 4 or 5 arguments, got 3"),
        ("polygon(1,1,2,2)", 1, r"polygon takes an even number \(>= 6\) of arguments, got 4"),
        ("circle(1,2,-3)", 1, "circle radius must be >= 0"),
        ("annulus(0,0,5,3)", 1, "inner radius 5 > outer radius 3"),
        ("circle(1p,2,3)", 8, "a position cannot be given as p"),
        ("box(1,2,3,4,5i)", 13, "an angle cannot be given as i"),
        ("circle(10d,20,3)", 1, "positions mix world"),
        ("text(1,2)", 1, "text is a label"),
        ("circle(1,2,3)+", 15, "unexpected end of text, expected a shape"),
        ("&circle(1,2,3)", 1, "may not start with '&'"),
        ("  ", 1, "empty region"),
    ],
)
def test_malformed_strings_name_the_column(text, column, problem):
    with pytest.raises(RegionSyntaxError, match=problem) as info:
        parse(text)
    assert info.value.column == column
    message = str(info.value)
    assert message.startswith("region: ") and f"at column {column} in {text!r}" in message
    assert "\n" not in message
    assert isinstance(info.value, ValueError)


def test_region_file_term_errors_point_at_the_name(tmp_path):
    with pytest.raises(RegionSyntaxError, match=r"cannot read region file 'nope.reg'.*at column 8"):
        parse("region(nope.reg)")


# -- inside tests --------------------------------------------------------------------------------


def test_nan_and_inf_rules():
    r_in, r_out, f = parse("circle(0,0,5)"), parse("!circle(0,0,5)"), parse("field()")
    x = np.array([np.nan, 0.0, np.inf, 100.0])
    y = np.array([0.0, np.nan, 0.0, -np.inf])
    assert not r_in.contains(x, y).any()
    assert r_out.contains(x, y).tolist() == [True, True, False, False]
    assert f.contains(x, y).tolist() == [True, True, False, False]


def test_circle_matches_brute_force_on_integers():
    x, y = np.meshgrid(np.arange(1, 101), np.arange(1, 101))
    expected = (x - 37) ** 2 + (y - 61) ** 2 <= 23**2  # exact in integers
    assert np.array_equal(mask("circle(37,61,23)"), expected)


def test_polygon_matches_skimage_away_from_edges():
    from skimage.measure import points_in_poly

    vx = [10.3, 70.7, 90.2, 55.1, 30.9, 5.4]
    vy = [12.1, 8.6, 50.3, 93.7, 60.2, 40.8]
    x, y = np.meshgrid(np.arange(1, 101.0), np.arange(1, 101.0))
    expected = points_in_poly(np.c_[x.ravel(), y.ravel()], np.c_[vx, vy]).reshape(100, 100)
    text = "polygon(" + ",".join(f"{a},{b}" for a, b in zip(vx, vy)) + ")"
    assert np.array_equal(mask(text), expected)


def test_polygon_non_zero_winding_and_edges():
    star = "polygon(50,90,20,10,90,60,10,60,80,10)"  # pentagram: the centre has winding number 2
    m = mask(star)
    assert m[50 - 1, 50 - 1]  # even-odd would leave the centre out
    square = mask("polygon(10,10,20,10,20,20,10,20)")
    assert square.sum() == 11 * 11  # edges and vertices inside
    assert square[9, 9] and square[19, 19]


def test_pie_angle_rules():
    x, y = grid()
    wrap = parse("pie(50,50,0,20,350,10)").contains(x, y)
    assert wrap[49, 59] and not wrap[59, 49]  # (60,50) at angle 0 in; (50,60) at 90 out
    assert np.array_equal(mask("pie(50,50,5,10,30,30)"), mask("annulus(50,50,5,10)"))  # equal angles: all
    assert mask("pie(50,50,0,10,100,120)")[49, 49]  # centre inside when r_in = 0
    assert not mask("pie(50,50,1,10,100,120)")[49, 49]
    # angles: atan2 mod 360, boundaries inclusive: (60,60) is at exactly 45 degrees
    assert mask("pie(50,50,0,30,45,90)")[59, 59] and mask("pie(50,50,0,30,0,45)")[59, 59]


def test_sector_is_unbounded_and_centre_follows_angle_zero():
    m = mask("sector(50,50,0,90)")
    assert m.sum() == 51 * 51  # x, y in 50..100; the centre, at angle atan2(0, 0) = 0, included
    assert m[99, 99] and not m[0, 0]
    assert not mask("sector(50,50,10,80)")[49, 49]


def test_rectangle_is_not_reordered_and_box_sides_are_full_widths():
    assert mask("rect(10,10,1,1)").sum() == 0
    assert mask("rectangle(1,1,10,5)").sum() == 50
    assert mask("box(10,10,4,6)").sum() == 5 * 7
    assert mask("point(3,4)").sum() == 1 and mask("point(3.5,4)").sum() == 0


def test_ellipse_semi_axes_and_rotation():
    x, y = np.meshgrid(np.arange(1, 101.0), np.arange(1, 101.0))
    t = math.radians(90)
    u = math.cos(t) * (x - 50) + math.sin(t) * (y - 50)
    v = -math.sin(t) * (x - 50) + math.cos(t) * (y - 50)
    expected = (u / 20.5) ** 2 + (v / 10.5) ** 2 <= 1
    assert np.array_equal(mask("ellipse(50,50,20.5,10.5,90)"), expected)
    assert mask("ellipse(50,50,20.5,10.5,90)")[69, 49]  # long axis along y


# -- coordinates: physical (LTM/LTV), logical sizes, world ----------------------------------------


def _blocked_header():
    """A 60x50 image blocked by 2 from physical (1001, 2001): logical = 0.5 * physical + LTV."""
    h = fits.Header()
    h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = 2, 60, 50
    h["LTM1_1"], h["LTM2_2"] = 0.5, 0.5
    h["LTV1"], h["LTV2"] = -500.0, -1000.0
    return h


def test_physical_coordinates_through_ltm_ltv():
    h = _blocked_header()
    i, j = np.meshgrid(np.arange(1, 61.0), np.arange(1, 51.0))
    px, py = (i + 500) / 0.5, (j + 1000) / 0.5  # physical of each logical pixel centre
    expected = np.hypot(px - 1050.5, py - 2040.5) <= 21.3
    assert np.array_equal(parse("circle(1050.5,2040.5,21.3)").mask((50, 60), header=h), expected)
    # a logical size: 10i = 20 physical pixels here
    assert np.array_equal(parse("circle(1050.5,2040.5,10.65i)").mask((50, 60), header=h), expected)


def test_ciao_physical_wcs_keywords_give_the_same_frame():
    p = fits.Header()
    for k, (crval, crpix) in {1: (1001.0, 0.5), 2: (2001.0, 0.5)}.items():
        p[f"CTYPE{k}P"], p[f"CRVAL{k}P"], p[f"CRPIX{k}P"], p[f"CDELT{k}P"] = "x", crval, crpix, 2.0
    a, b = PixelFrame.from_header(p), PixelFrame.from_header(_blocked_header())
    assert a.to_physical(1.0, 1.0) == pytest.approx(b.to_physical(1.0, 1.0))
    assert a.to_physical(1.0, 1.0) == pytest.approx((1002.0, 2002.0))


def _sky_header():
    h = fits.Header()
    h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = 2, 100, 100
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRVAL1"], h["CRVAL2"] = 150.0, 2.0
    h["CRPIX1"], h["CRPIX2"] = 50.0, 50.0
    h["CDELT1"], h["CDELT2"] = -1 / 3600, 1 / 3600  # 1 arcsec pixels
    return h


@pytest.mark.parametrize(
    "text",
    [
        'circle(150d,2d,10.5")',
        "circle(10:00:00,+02:00:00,10.5'')",
        "circle(150d,2d,0.175')",
        "circle(10:00:00.0,2:00:00,0.0029166666666667d)",
    ],
)
def test_world_coordinates_through_the_image_wcs(text):
    got = parse(text).mask((100, 100), header=_sky_header())
    assert np.array_equal(got, mask("circle(50,50,10.5)"))


def test_negative_sexagesimal_declination():
    h = _sky_header()
    h["CRVAL2"] = -0.5
    got = parse('circle(10:00:00,-00:30:00,3.5")').mask((100, 100), header=h)
    assert np.array_equal(got, mask("circle(50,50,3.5)"))


def test_world_coordinates_need_a_wcs():
    with pytest.raises(ValueError, match="no sky WCS"):
        parse('circle(150d,2d,10")').mask((10, 10))
    with pytest.raises(ValueError, match="call to_physical"):
        parse('circle(150d,2d,10")').contains(1, 1)


def test_world_polygon_and_angles_in_arcmin():
    h = _sky_header()
    w = WCS(h)
    corners = [(40, 40), (60, 40), (60, 60), (40, 60)]
    world = [w.all_pix2world(x, y, 1) for x, y in corners]
    text = "polygon(" + ",".join(f"{float(a):.12f}d,{float(b):.12f}d" for a, b in world) + ")"
    assert np.array_equal(parse(text).mask((100, 100), header=h)[5:95, 5:95], mask("box(50,50,20,20)")[5:95, 5:95])
    assert str(parse("box(1,2,3,4,1800'')")) == "RotBox(1,2,3,4,0.5)"
    assert str(parse("box(1,2,3,4,30')")) == "RotBox(1,2,3,4,0.5)"


def test_region_algebra_operators():
    a, b = parse(A), parse(B)
    x, y = grid()
    sa, sb = a.contains(x, y), b.contains(x, y)
    assert np.array_equal((a | b).contains(x, y), sa | sb)
    assert np.array_equal((a & b).contains(x, y), sa & sb)
    assert np.array_equal((a - b).contains(x, y), sa & ~sb)
    assert np.array_equal((~(a | b)).contains(x, y), ~(sa | sb))


def test_module_examples_run():
    for module in (astromask.regions, area_module, ciao, ds9, files, frame, raster, region, shapes):
        result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert result.failed == 0, module.__name__


def test_rotated_ltm_matches_the_inside_test_at_each_pixel():
    h = fits.Header()
    h["LTM1_1"], h["LTM1_2"], h["LTM2_1"], h["LTM2_2"] = 0.8, 0.6, -0.6, 0.8  # a rotation
    h["LTV1"], h["LTV2"] = 10.0, 40.0
    region = parse("polygon(20.2,10.1,60.3,5.7,45.9,40.2)|ellipse(30.3,-5.2,12.1,6.3,20)-circle(30,-5,3.3)")
    f = PixelFrame.from_header(h)
    assert not f.separable
    j, i = np.mgrid[1:61, 1:81].astype(float)
    x, y = f.to_physical(i, j)
    assert np.array_equal(region.mask((60, 80), header=h), region.contains(x, y))
    assert f.to_logical(*f.to_physical(3.0, 4.0)) == pytest.approx((3.0, 4.0))


def test_region_mask_accepts_headers_hdus_and_shapes():
    from astromask.regions import region_mask

    h = fits.Header()
    h["NAXIS"], h["NAXIS1"], h["NAXIS2"] = 2, 30, 20
    hdu = fits.ImageHDU(np.zeros((20, 30), np.float32))
    expected = parse("box(15,10,4,4)").mask((20, 30))
    assert np.array_equal(region_mask(h, "box(15,10,4,4)"), expected)
    assert np.array_equal(region_mask(hdu, "box(15,10,4,4)"), expected)
    assert np.array_equal(region_mask((20, 30), "box(15,10,4,4)", exclude=True), ~expected)
    with pytest.raises(ValueError, match="give the image shape"):
        region_mask(fits.Header(), "box(15,10,4,4)")
    with pytest.raises(TypeError, match="image must be a FITS header"):
        region_mask(np.zeros((2, 2)), "box(1,1,1,1)")
