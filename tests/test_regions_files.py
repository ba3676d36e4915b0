"""CIAO region files (ASCII and FITS) and the real Chandra source image and region file.

References: the CIAO file rules of ../shared/reference/ciao.md §7, hand-built FITS region
tables checked against the equivalent region strings, and the Chandra CSC products in
../shared/data/ciao, whose region table header records what CIAO's `roi` measured
(ROI_AREA, ROIBAREA, ROI_CNTS).
"""

import math

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from astromask.errors import FormatError
from astromask.regions import (
    PixelFrame,
    RegionSyntaxError,
    load_region,
    parse,
    read_region_file,
    region_file_kind,
    region_mask,
)
from conftest import shared_path


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# -- ASCII files ---------------------------------------------------------------------------------


def test_ascii_lines_or_and_exclusions_join_the_last_component(tmp_path):
    path = write(
        tmp_path,
        "a.reg",
        "# Region file format: CIAO version 1.0\n"
        "circle(20,20,10)\n\n   box(60,60,20,20)\n-circle(60,60,5)\n+point(1,1)\n&field()\n",
    )
    region = read_region_file(path)
    assert str(region) == "Circle(20,20,10)|Box(60,60,20,20)&!Circle(60,60,5)|Point(1,1)&Field()"
    assert np.array_equal(
        region.mask((100, 100)),
        parse("circle(20,20,10)+box(60,60,20,20)-circle(60,60,5)+point(1,1)&field()").mask((100, 100)),
    )


def test_ascii_negated_line_starts_a_new_component(tmp_path):
    path = write(tmp_path, "n.reg", "circle(20,20,10)\n!circle(20,20,5)\n")
    assert str(read_region_file(path)) == "Circle(20,20,10)|!Circle(20,20,5)"


def test_ascii_file_may_not_start_with_an_exclusion(tmp_path):
    path = write(tmp_path, "x.reg", "# excl\n-circle(10,10,3)\ncircle(1,1,1)\n")
    with pytest.raises(RegionSyntaxError, match=r"x\.reg, line 2: a region may not start with '-'") as info:
        read_region_file(path)
    assert info.value.column == 1
    path = write(tmp_path, "ok.reg", "field()\n-circle(10,10,3)\n")
    assert str(read_region_file(path)) == "Field()&!Circle(10,10,3)"


@pytest.mark.parametrize(
    "line, column, problem",
    [
        ("circle(1,1,1) # bright source", 15, "no trailing comments"),
        ("circle(1,1,1); box(2,2,1,1)", 14, r"unexpected ';'"),
        ("circle(1,1)", 1, "circle takes 3 arguments"),
    ],
)
def test_ascii_errors_name_file_line_and_column(tmp_path, line, column, problem):
    path = write(tmp_path, "bad.reg", f"circle(5,5,2)\n{line}\n")
    with pytest.raises(RegionSyntaxError, match=problem) as info:
        read_region_file(path)
    assert str(info.value).startswith(f"{path}, line 2: ") and info.value.column == column


def test_empty_and_missing_files(tmp_path):
    with pytest.raises(FormatError, match="holds no region shape"):
        read_region_file(write(tmp_path, "empty.reg", "# nothing\n\n"))
    with pytest.raises(FileNotFoundError, match="no such region file"):
        read_region_file(str(tmp_path / "absent.reg"))


def test_region_file_terms_inside_strings(tmp_path):
    path = write(tmp_path, "two.reg", "circle(30,30,10)\ncircle(70,70,10)\n")
    x = np.arange(1, 101.0)
    gx, gy = x[np.newaxis, :], x[:, np.newaxis]
    a, b = parse("circle(30,30,10)").contains(gx, gy), parse("circle(70,70,10)").contains(gx, gy)
    c = parse("box(50,50,60,60)").contains(gx, gy)
    assert np.array_equal(parse(f"region({path})-box(50,50,60,60)").mask((100, 100)), (a | b) & ~c)
    assert np.array_equal(parse(f"box(50,50,60,60)&region({path})").mask((100, 100)), (a | b) & c)
    assert np.array_equal(parse(f"!region({path})").mask((100, 100)), ~(a | b))
    assert np.array_equal(load_region(f"region({path})").mask((100, 100)), a | b)


def test_file_kind_detection(tmp_path):
    assert region_file_kind(write(tmp_path, "c.reg", "circle(1,1,1)\n")) == "ciao"
    assert region_file_kind(write(tmp_path, "d.reg", "# Region file format: DS9 version 4.1\nimage\n")) == "ds9"
    assert region_file_kind(write(tmp_path, "e.reg", "physical;circle(1,1,1)\n")) == "ds9"
    assert region_file_kind(write(tmp_path, "f.crtf", "#CRTF\ncircle [[1pix,1pix],1pix]\n")) == "crtf"
    fits.HDUList([fits.PrimaryHDU()]).writeto(tmp_path / "g.fits")
    assert region_file_kind(str(tmp_path / "g.fits")) == "fits"


# -- FITS region tables --------------------------------------------------------------------------


def region_table(rows, *, units=None, name="REGION", component=True):
    """A CIAO-style region table: X, Y (vectors), SHAPE, R[2], ROTANG[2], COMPONENT."""
    n = max(len(r[1]) for r in rows)
    pad = lambda values, k: list(values) + [np.nan] * (k - len(values))  # noqa: E731
    cols = [
        fits.Column("X", f"{n}D", array=np.array([pad(r[1], n) for r in rows]), unit=(units or {}).get("X", "pixel")),
        fits.Column("Y", f"{n}D", array=np.array([pad(r[2], n) for r in rows]), unit=(units or {}).get("X", "pixel")),
        fits.Column("SHAPE", "16A", array=[r[0] for r in rows]),
        fits.Column("R", "2D", array=np.array([pad(r[3], 2) for r in rows]), unit=(units or {}).get("R", "pixel")),
        fits.Column("ROTANG", "2D", array=np.array([pad(r[4], 2) for r in rows]), unit="deg"),
    ]
    if component:
        cols.append(fits.Column("COMPONENT", "1I", array=[r[5] for r in rows]))
    hdu = fits.BinTableHDU.from_columns(cols, name=name)
    hdu.header["HDUCLAS1"] = "REGION"
    return hdu


def test_fits_region_table_components_and_negations(tmp_path):
    rows = [
        ("Circle", [30], [30], [10], [], 1),
        ("!Circle", [30], [30], [4], [], 1),
        ("Rotbox", [70], [30], [20, 10], [30], 2),
        ("Polygon", [50, 90, 70, 50], [60, 60, 90, 60], [], [], 3),  # closed, padded with NaN
        ("Pie", [20], [80], [0, 15], [10, 80], 4),
        ("Ellipse", [60], [60], [12, 6], [42.5, np.nan], 4),
        ("Rectangle", [5, 15], [40, 50], [], [], 5),
        ("Annulus", [80], [80], [3, 6], [], 6),
        ("Point", [1], [1], [], [], 7),
    ]
    path = tmp_path / "r.fits"
    fits.HDUList([fits.PrimaryHDU(), region_table(rows)]).writeto(path)
    region = read_region_file(str(path))
    text = (
        "circle(30,30,10)-circle(30,30,4)+rotbox(70,30,20,10,30)+polygon(50,60,90,60,70,90)"
        "+pie(20,80,0,15,10,80)&ellipse(60,60,12,6,42.5)+rectangle(5,40,15,50)+annulus(80,80,3,6)+point(1,1)"
    )
    assert str(region) == str(parse(text))
    assert np.array_equal(region.mask((100, 100)), parse(text).mask((100, 100)))


def test_fits_region_without_component_column(tmp_path):
    rows = [
        ("Circle", [30], [30], [10], [], 0),
        ("!Circle", [30], [30], [4], [], 0),
        ("Box", [70], [70], [4, 4], [], 0),
    ]
    path = tmp_path / "nocomp.fits"
    fits.HDUList([fits.PrimaryHDU(), region_table(rows, component=False)]).writeto(path)
    assert str(read_region_file(str(path))) == "Circle(30,30,10)&!Circle(30,30,4)|Box(70,70,4,4)"


def test_fits_region_in_world_units(tmp_path):
    rows = [("Circle", [150.0], [2.0], [10.5 / 3600], [], 1)]
    path = tmp_path / "sky.fits"
    fits.HDUList([fits.PrimaryHDU(), region_table(rows, units={"X": "deg", "R": "deg"})]).writeto(path)
    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"], h["CRVAL1"], h["CRVAL2"] = "RA---TAN", "DEC--TAN", 150.0, 2.0
    h["CRPIX1"], h["CRPIX2"], h["CDELT1"], h["CDELT2"] = 50.0, 50.0, -1 / 3600, 1 / 3600
    got = read_region_file(str(path)).mask((100, 100), header=h)
    assert np.array_equal(got, parse("circle(50,50,10.5)").mask((100, 100)))


def test_fits_region_hdu_selection_and_errors(tmp_path):
    path = tmp_path / "two.fits"
    a = region_table([("Circle", [10], [10], [3], [], 1)], name="SRCREG")
    b = region_table([("Box", [10], [10], [3, 3], [], 1)], name="BKGREG")
    fits.HDUList([fits.PrimaryHDU(), a, b]).writeto(path)
    assert str(read_region_file(str(path))) == "Circle(10,10,3)"
    assert str(read_region_file(f"{path}[BKGREG]")) == "Box(10,10,3,3)"
    plain = tmp_path / "plain.fits"
    fits.HDUList([fits.PrimaryHDU(np.zeros((2, 2)))]).writeto(plain)
    with pytest.raises(FormatError, match="holds no region table"):
        read_region_file(str(plain))
    bad = tmp_path / "bad.fits"
    fits.HDUList([fits.PrimaryHDU(), region_table([("Hexagon", [1], [1], [1], [], 1)])]).writeto(bad)
    with pytest.raises(FormatError, match=r"row 1: unknown shape 'Hexagon'"):
        read_region_file(str(bad))
    short = tmp_path / "short.fits"
    fits.HDUList([fits.PrimaryHDU(), region_table([("Annulus", [1], [1], [1], [], 1)])]).writeto(short)
    with pytest.raises(FormatError, match="annulus needs 2 R value"):
        read_region_file(str(short))


# -- the real Chandra image and its CIAO FITS region file ------------------------------------------


@pytest.fixture(scope="module")
def chandra():
    image = shared_path("ciao", "acisf08478_000N001_r0043_regevt3_srcimg.fits")
    regfile = shared_path("ciao", "acisf08478_000N001_r0043_reg3.fits")
    with fits.open(image) as h:
        data, header = h[0].data.astype(np.int64), h[0].header.copy()
    with fits.open(regfile) as h:
        src, bkg = h["SRCREG"].data[0], h["BKGREG"].header
        src_header = h["SRCREG"].header.copy()
    return data, header, str(regfile), src, src_header, bkg


def _brute_force_ellipse(header, shape, xc, yc, a, b, angle):
    """CIAO's ellipse test at every pixel centre, physical = logical - LTV (LTM = 1 here)."""
    assert header["LTM1_1"] == 1 and header["LTM2_2"] == 1
    j, i = np.mgrid[1 : shape[0] + 1, 1 : shape[1] + 1].astype(float)
    x, y = i - header["LTV1"], j - header["LTV2"]
    t = angle * math.pi / 180.0
    u = (math.cos(t) * (x - xc) + math.sin(t) * (y - yc)) / a
    v = (-math.sin(t) * (x - xc) + math.cos(t) * (y - yc)) / b
    return u * u + v * v, x, y


def test_chandra_source_region(chandra):
    data, header, regfile, src, src_header, _ = chandra
    region = load_region(regfile)  # first REGION table: SRCREG
    m = region_mask(header, region)
    (a, b), angle = src["R"], src["ROTANG"][0]
    q, _x, _y = _brute_force_ellipse(header, data.shape, src["X"], src["Y"], a, b, angle)
    near_edge = np.abs(q - 1) < 1e-9
    assert np.array_equal(m[~near_edge], (q <= 1)[~near_edge])
    # the centre pixel is inside; the count is the area within the pixellation error
    ci, cj = PixelFrame.from_header(header).to_logical(src["X"], src["Y"])
    assert m[round(cj) - 1, round(ci) - 1]
    area = region.area()
    assert area == pytest.approx(src_header["ROI_AREA"], rel=1e-12)  # what CIAO's roi recorded
    assert abs(m.sum() - area) < 2 * math.pi * math.sqrt((a * a + b * b) / 2) / 4
    # counts in the source region: CIAO's roi found ROI_CNTS events
    assert data[m].sum() == src_header["ROI_CNTS"]


def test_chandra_background_region(chandra):
    data, header, regfile, _src, src_header, _ = chandra
    bkg = load_region(regfile + "[BKGREG]")
    assert str(bkg).startswith("Ellipse(") and "&!Ellipse(" in str(bkg)
    m_bkg = region_mask(header, bkg)
    m_src = region_mask(header, regfile)
    assert not (m_bkg & m_src).any()  # the background ellipse has the source ellipse cut out
    outer = parse(str(bkg).split("&")[0]).mask(data.shape, header=header)
    assert np.array_equal(m_bkg | m_src, outer)
    # CIAO's roi recorded the pixellated area of this region (excluded shape -> grid count)
    assert bkg.area(method="ciao") == src_header["ROIBAREA"]
    assert data[m_bkg].sum() <= src_header["ROIBCNTS"]  # the image is a cut-out of the event list


def test_chandra_region_in_sky_coordinates(chandra):
    """The same ellipse written in RA/Dec and arcsec selects the same pixels through the image WCS."""
    data, header, regfile, src, src_header, _ = chandra
    col = src_header  # the table's X/Y columns carry the sky TAN projection (TCRVL/TCRPX/TCDLT)
    from astropy.wcs import WCS

    sky = WCS(naxis=2)
    sky.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    sky.wcs.crval = [col["TCRVL1"], col["TCRVL2"]]
    sky.wcs.crpix = [col["TCRPX1"], col["TCRPX2"]]
    sky.wcs.cdelt = [col["TCDLT1"], col["TCDLT2"]]
    ra, dec = sky.all_pix2world(src["X"], src["Y"], 1)
    arcsec = 3600 * col["TCDLT2"]
    a, b = (float(r * arcsec) for r in src["R"])
    text = f'ellipse({float(ra)!r}d,{float(dec)!r}d,{a!r}",{b!r}",{float(src["ROTANG"][0])!r})'
    in_sky = parse(text).mask(data.shape, header=header)
    in_physical = region_mask(header, regfile)
    assert abs(int(in_sky.sum()) - int(in_physical.sum())) <= 2
    assert (in_sky != in_physical).sum() <= 4


def test_a_sky_shape_beyond_the_projection_selects_nothing_and_says_so(cli, tmp_path):
    pytest.importorskip("regions")
    image = shared_path("decam", "c4d_170316_062107_ooi_z_ls9.N2.fits")
    centre = WCS(fits.getheader(image, 1)).pixel_to_world(120, 120)
    reg = tmp_path / "far.reg"
    reg.write_text(
        f'# Region file format: DS9\nfk5\ncircle(10.0,-80.0,5")\ncircle({centre.ra.deg},{centre.dec.deg},3")\n'
    )
    code, _, err = cli("region", image, reg, tmp_path / "r.fits", "--full")
    assert code == 0, err
    assert "far.reg: shape 1 (circle at fk5 10 -80) lies beyond the image's RA---TAN/DEC--TAN projection" in err
    assert "shape 2" not in err
    assert fits.getdata(tmp_path / "r.fits").sum() > 0  # the near shape is there
