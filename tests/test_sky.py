"""Sky geometry and catalog masks: gammapy's facts, and astropy's own separations pixel by pixel.

Independent references: gammapy 2.1 (``WcsGeom.create`` headers and ``region_mask``
counts printed by it, and the facts of ``../shared/reference/gammapy.md``), and a
brute-force mask from ``SkyCoord.separation`` at every pixel centre.
"""

import re
import shlex
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

import astromask.cli
import astromask.sky.circles as circles
from astromask.cli import catalog as catalog_cli
from astromask.cli import geom as geom_cli
from astromask.cli import significance as significance_cli
from astromask.significance import significance_map, significance_mask
from astromask.sky import SkyGeometry, catalog_mask, make_geometry, read_catalog, sky_circles_mask

ROOT = Path(__file__).resolve().parents[1]
CRAB = SkyCoord(83.633083, 22.0145, unit="deg", frame="icrs")


def brute_force(shape, wcs, centers, radii_deg):
    """Pixels within each radius of each centre, by astropy's separation at every pixel centre."""
    y, x = np.indices(shape)
    pixels = wcs.pixel_to_world(x.ravel(), y.ravel())
    out = np.zeros(x.size, dtype=bool)
    for center, radius in zip(centers, np.broadcast_to(radii_deg, (len(centers),))):
        out |= pixels.separation(center).deg <= radius
    return out.reshape(shape)


def tiny_geometry():
    """gammapy's test_region_mask grid: 3x3 CAR, 2 deg pixels, centred on (0, 0)."""
    return make_geometry((0, 0), npix=3, binsz=2)


# --------------------------------------------------------------------------- geometry


def test_tutorial_geometry_matches_gammapy():
    # gammapy 2.1: WcsGeom.create(skydir=CRAB, width="5 deg", binsz=0.02, frame="galactic").wcs.to_header()
    geom = make_geometry(CRAB, width="5 deg", binsz=0.02, frame="galactic")
    header = geom.to_header()
    assert geom.shape == (250, 250)
    assert (header["CTYPE1"], header["CTYPE2"]) == ("GLON-CAR", "GLAT-CAR")
    assert (header["CRPIX1"], header["CRPIX2"]) == (125.5, 125.5)
    assert (header["CDELT1"], header["CDELT2"]) == (-0.02, 0.02)
    assert header["CRVAL1"] == pytest.approx(184.55745771238, abs=1e-10)
    assert header["CRVAL2"] == pytest.approx(-5.7843569641885, abs=1e-10)
    assert header["LATPOLE"] == pytest.approx(84.215643035811, abs=1e-9)
    assert geom.wcs.pixel_to_world(124.5, 124.5).separation(CRAB).arcsec < 1e-6


@pytest.mark.parametrize(
    "kwargs, shape, crpix",
    [
        (dict(skydir=(10, 60), width=(4, 3), binsz=0.05, frame="icrs", proj="TAN"), (60, 80), (40.5, 30.5)),
        (dict(skydir=(0, 0), width=(0.05, 0.07), binsz=0.02), (4, 2), (1.5, 2.5)),  # rint: half to even
        (dict(skydir=(0, 0), npix=(7, 3), binsz="1 arcmin"), (3, 7), (4.0, 2.0)),
        (dict(skydir=(0, 0), binsz=2, frame="galactic"), (90, 180), (90.5, 45.5)),  # all sky by default
    ],
    ids=["tan-lon-lat-widths", "rounding", "npix", "all-sky"],
)
def test_geometry_shape_and_reference_pixel(kwargs, shape, crpix):
    # shapes printed by gammapy 2.1 WcsGeom.create with the same arguments
    geom = make_geometry(**kwargs)
    assert geom.shape == shape
    assert tuple(geom.wcs.wcs.crpix) == crpix
    assert geom.wcs.pixel_shape == (shape[1], shape[0])
    assert geom.empty_mask().shape == shape and not geom.empty_mask().any()


def test_geometry_skydir_forms_agree():
    frames = [
        make_geometry("83.633083 22.0145", width=1, binsz=0.1),
        make_geometry((83.633083 * u.deg, "22.0145d"), width=1, binsz=0.1),
        make_geometry(CRAB, width=1, binsz=0.1),
    ]
    for geom in frames:
        assert geom.wcs.wcs.crval == pytest.approx([83.633083, 22.0145])
    sexagesimal = make_geometry("05h34m31.94s +22d00m52.2s", width=1, binsz=0.1)
    assert sexagesimal.wcs.pixel_to_world(4.5, 4.5).separation(CRAB).arcsec < 0.1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(proj="XYZ"), "projection code"),
        (dict(frame="nowhere"), "unknown frame"),
        (dict(npix=3), "width or npix"),
        (dict(binsz=0), "binsz must be positive"),
        (dict(width="0.01 deg"), "no pixels"),
        (dict(skydir="not a position"), "skydir"),
        (dict(binsz="3 apples"), "binsz must be an angle"),
    ],
    ids=["projection", "frame", "width-and-npix", "binsz", "empty", "skydir", "unit"],
)
def test_geometry_errors(kwargs, message):
    args = dict(skydir=(0, 0), width=1, binsz=0.1) | kwargs
    with pytest.raises(ValueError, match=message):
        make_geometry(**args)


# --------------------------------------------------------------------------- gammapy's facts


def test_gammapy_region_mask_test_facts():
    # gammapy maps/wcs/tests/test_geom.py::test_region_mask: sum 1, inside=False 8
    geom = tiny_geometry()
    centers = SkyCoord([0, 20], [0, 20], unit="deg")
    mask = sky_circles_mask(geom.shape, geom.wcs, centers, 1 * u.deg)
    assert mask.sum() == 1 and (~mask).sum() == 8
    assert mask[1, 1]


@pytest.mark.parametrize(
    "radius, ours, gammapy",
    [(1.999, 1, 1), (2.0, 5, 5), (2.8284, 9, 5), (2.83, 9, 9)],
    ids=["below-edge", "on-edge", "corner", "beyond-corner"],
)
def test_boundary_rule_on_the_3x3_grid(radius, ours, gammapy):
    # gammapy.md section 1: 1.999 -> 1, 2.0 -> 5, 2.8284 -> 5, 2.83 -> 9 (strict, pixel radius).
    # We keep separation <= r: the corner centre (-2 deg, 2 deg) is 2.82827 deg away on the
    # sphere, less than 2.8284, so it is inside; gammapy measures 2 sqrt(2) = 2.82843 px-degrees.
    geom = tiny_geometry()
    mask = sky_circles_mask(geom.shape, geom.wcs, SkyCoord([0], [0], unit="deg"), radius * u.deg)
    assert mask.sum() == ours
    corner = SkyCoord(-2, 2, unit="deg").separation(SkyCoord(0, 0, unit="deg")).deg
    assert (corner <= radius) == (ours == 9)
    assert (ours == gammapy) == (radius != 2.8284)


def test_tutorial_crab_circle_is_716_pixels():
    # gammapy.md section 1: 0.3 deg Crab circle on the tutorial geometry -> 716 pixels (same mask here)
    geom = make_geometry(CRAB, width="5 deg", binsz=0.02, frame="galactic")
    mask = sky_circles_mask(geom.shape, geom.wcs, CRAB, 0.3 * u.deg)
    assert mask.sum() == 716
    np.testing.assert_array_equal(mask, brute_force(geom.shape, geom.wcs, CRAB.reshape(1), 0.3))


# --------------------------------------------------------------------------- exactness


def _sip_wcs():
    header = fits.Header()
    header.update(
        CTYPE1="RA---TAN-SIP",
        CTYPE2="DEC--TAN-SIP",
        CRPIX1=60.5,
        CRPIX2=50.5,
        CRVAL1=150.0,
        CRVAL2=2.0,
        CD1_1=-1e-3,
        CD1_2=2e-4,
        CD2_1=1.5e-4,
        CD2_2=1e-3,
        A_ORDER=2,
        B_ORDER=2,
        A_2_0=4e-5,
        A_0_2=-3e-5,
        A_1_1=2e-5,
        B_2_0=-2e-5,
        B_0_2=5e-5,
        B_1_1=1e-5,
    )
    return WCS(header)


GEOMETRIES = {
    "tan-galactic": (lambda: make_geometry((10, 5), width=8, binsz=0.05, frame="galactic", proj="TAN")),
    "car-lat-80": (lambda: make_geometry((0, 80), width=20, binsz=0.1, proj="CAR")),
    "sin-wide": (lambda: make_geometry((200, -40), width=60, binsz=0.5, proj="SIN")),
    "all-sky-car": (lambda: make_geometry((0, 0), binsz=2, frame="galactic", proj="CAR")),
    "all-sky-ait": (lambda: make_geometry((0, 0), binsz=2, frame="galactic", proj="AIT")),
    "tan-at-pole": (lambda: make_geometry((0, 90), width=10, binsz=0.05, proj="TAN")),
    "tan-sip": (lambda: SkyGeometry((100, 120), _sip_wcs())),
}


@pytest.mark.parametrize("name", list(GEOMETRIES))
def test_circles_match_astropy_separation(name):
    geom = GEOMETRIES[name]()
    ny, nx = geom.shape
    rng = np.random.default_rng(7)
    x, y = rng.uniform(-10, nx + 10, 40), rng.uniform(-10, ny + 10, 40)
    centers = geom.wcs.pixel_to_world(x, y)
    centers = centers[np.isfinite(centers.spherical.lon.deg)].icrs  # another frame than most maps
    scale = float(np.mean(np.abs(geom.wcs.proj_plane_pixel_scales()[0].to_value(u.deg))))
    radii = rng.uniform(0.5, 15, len(centers)) * scale
    mask = sky_circles_mask(geom.shape, geom.wcs, centers, radii * u.deg)
    np.testing.assert_array_equal(mask, brute_force(geom.shape, geom.wcs, centers, radii))
    assert 0 < mask.sum() < mask.size


def test_exact_paths_for_poles_seams_and_large_circles(monkeypatch):
    """Circles the local approximation cannot take: across the longitude seam, over a pole, very large."""
    geom = make_geometry((0, 0), binsz=2, frame="galactic", proj="CAR")
    centers = SkyCoord([179.5, 175, 10, 0, 40], [0, 20, 87, -60, 10], unit="deg", frame="galactic")
    radii = np.array([10, 8, 5, 30, 0.5])
    stamps = []
    draw_exact = circles._draw_exact
    monkeypatch.setattr(
        circles, "_draw_exact", lambda mask, wcs, stamp, *a: (stamps.append(stamp), draw_exact(mask, wcs, stamp, *a))
    )
    mask = sky_circles_mask(geom.shape, geom.wcs, centers, radii * u.deg)
    np.testing.assert_array_equal(mask, brute_force(geom.shape, geom.wcs, centers, radii))
    assert (0, 90, 0, 180) in stamps, "the polar cap is computed on the whole map"
    assert any(s != (0, 90, 0, 180) for s in stamps), "the seam and large circles on stamps"
    assert mask[:, 0].any() and mask[:, -1].any(), "the circle on the seam shows on both edges"


def test_far_and_edge_sources():
    geom = make_geometry((0, 0), width=4, binsz=0.1, proj="TAN")
    centers = SkyCoord([180, 2.3, 0], [0, 0, -2.25], unit="deg")  # other hemisphere, just off two edges
    radii = [1, 0.5, 0.4]
    mask = sky_circles_mask(geom.shape, geom.wcs, centers, radii * u.deg)
    np.testing.assert_array_equal(mask, brute_force(geom.shape, geom.wcs, centers, radii))
    assert mask[:, 0].any() and mask[0].any()


def test_many_circles_match_astropy_on_stamps():
    """1000 circles on a 400x400 TAN map (the benchmark's kind of input), checked around each circle."""
    geom = make_geometry((0, 0), npix=400, binsz=0.05, frame="galactic", proj="TAN")
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-0.5, 399.5, 1000), rng.uniform(-0.5, 399.5, 1000)
    centers, radii = geom.wcs.pixel_to_world(x, y), rng.uniform(1, 8, 1000) * 0.05
    mask = sky_circles_mask(geom.shape, geom.wcs, centers, radii * u.deg)
    expected = np.zeros(geom.shape, dtype=bool)
    for k in range(1000):
        half = int(radii[k] / 0.05 * 1.2) + 2
        ys = slice(max(0, int(y[k]) - half), min(400, int(y[k]) + half + 1))
        xs = slice(max(0, int(x[k]) - half), min(400, int(x[k]) + half + 1))
        gy, gx = np.mgrid[ys, xs]
        expected[ys, xs] |= geom.wcs.pixel_to_world(gx, gy).separation(centers[k]).deg <= radii[k]
    np.testing.assert_array_equal(mask, expected)


@pytest.mark.parametrize(
    "radius, message",
    [("0.3", "radius must be an angle"), ([-1] * u.deg, "non-negative"), ([1, 2] * u.deg, "one per centre")],
    ids=["no-unit", "negative", "length"],
)
def test_radius_errors(radius, message):
    geom = tiny_geometry()
    with pytest.raises(ValueError, match=message):
        sky_circles_mask(geom.shape, geom.wcs, SkyCoord([0], [0], unit="deg"), radius)


def test_centers_must_be_skycoord_and_may_be_empty():
    geom = tiny_geometry()
    with pytest.raises(TypeError, match="SkyCoord"):
        sky_circles_mask(geom.shape, geom.wcs, [(0, 0)], 1 * u.deg)
    empty = SkyCoord([], [], unit="deg")
    assert not sky_circles_mask(geom.shape, geom.wcs, empty, 1 * u.deg).any()


# --------------------------------------------------------------------------- catalogs


def _catalog(tmp_path, suffix, **columns):
    path = tmp_path / f"sources{suffix}"
    Table(columns).write(path)
    return path


@pytest.mark.parametrize("suffix", [".fits", ".ecsv", ".csv"])
def test_catalog_files_give_the_brute_force_mask(tmp_path, suffix):
    geom = make_geometry(CRAB, width=3, binsz=0.05, frame="galactic")
    ra = [83.633083, 84.5, 82.9] * u.deg
    dec = [22.0145, 21.3, 23.0] * u.deg
    radius = [18, 9, 30] * u.arcmin
    path = _catalog(tmp_path, suffix, RAJ2000=ra, DEJ2000=dec, R=radius)
    unit = "deg" if suffix != ".csv" else "arcmin"  # CSV has no units: degrees, or radius_unit
    mask = catalog_mask(geom.shape, geom.wcs, path, radius_column="R", radius_unit=unit)
    expected = brute_force(geom.shape, geom.wcs, SkyCoord(ra, dec), radius.to_value(u.deg))
    np.testing.assert_array_equal(mask, expected)


def test_catalog_galactic_columns_and_fixed_radius(tmp_path):
    geom = make_geometry(CRAB, width=3, binsz=0.05, frame="galactic")
    crab = CRAB.galactic
    path = _catalog(tmp_path, ".ecsv", name=["crab"], glon=[crab.l.deg] * u.deg, glat=[crab.b.deg] * u.deg)
    positions, radii = read_catalog(path, radius="0.3deg")
    assert positions.frame.name == "galactic" and radii.deg.tolist() == [0.3]
    mask = catalog_mask(geom.shape, geom.wcs, path, radius="0.3deg")
    np.testing.assert_array_equal(mask, sky_circles_mask(geom.shape, geom.wcs, CRAB, 0.3 * u.deg))


def test_catalog_explicit_columns_frame_and_strings():
    table = Table({"alpha": ["05h34m31.94s"], "delta": ["+22d00m52.2s"]})
    positions, _ = read_catalog(table, radius="1arcmin", lon_column="ALPHA", lat_column="delta", frame="fk5")
    assert positions.frame.name == "fk5"
    assert positions[0].separation(CRAB).arcsec < 0.1


@pytest.mark.parametrize(
    "table, kwargs, error, message",
    [
        (Table({"x": [1.0], "y": [2.0]}), dict(radius="1deg"), KeyError, "no position columns"),
        (Table({"ra": [1.0], "dec": [2.0]}), dict(), ValueError, "exactly one"),
        (
            Table({"ra": [1.0], "dec": [2.0], "r": [1.0]}),
            dict(radius="1deg", radius_column="r"),
            ValueError,
            "exactly one",
        ),
        (Table({"ra": [1.0], "dec": [2.0]}), dict(radius=0.3), ValueError, "radius must be an angle"),
        (Table({"ra": [1.0], "dec": [2.0], "r": [-1.0]}), dict(radius_column="r"), ValueError, "negative radius"),
        (Table({"ra": [1.0, np.nan], "dec": [2.0, 3.0]}), dict(radius="1deg"), ValueError, "no value"),
        (Table({"ra": [1.0], "dec": [2.0]}), dict(radius="1deg", lon_column="ra"), ValueError, "both"),
        (
            Table({"ra": [1.0], "dec": [2.0]}),
            dict(radius="1deg", lon_column="l", lat_column="b"),
            KeyError,
            "no column 'l'",
        ),
    ],
    ids=[
        "no-columns",
        "no-radius",
        "two-radii",
        "bare-number",
        "negative",
        "nan-position",
        "one-column",
        "missing-column",
    ],
)
def test_catalog_errors(table, kwargs, error, message):
    with pytest.raises(error, match=message):
        read_catalog(table, **kwargs)


def test_catalog_masked_value_and_missing_file(tmp_path):
    table = Table({"ra": [1.0, 2.0], "dec": [2.0, 3.0]}, masked=True)
    table["dec"].mask = [False, True]
    with pytest.raises(ValueError, match=r"rows 1"):
        read_catalog(table, radius="1deg")
    with pytest.raises(FileNotFoundError, match="no such catalog"):
        read_catalog(tmp_path / "missing.fits", radius="1deg")
    (tmp_path / "junk.fits").write_text("not a table")
    with pytest.raises(ValueError, match="cannot read the catalog"):
        read_catalog(tmp_path / "junk.fits", radius="1deg")


# --------------------------------------------------------------------------- commands


def cli(monkeypatch, capsys, *argv):
    monkeypatch.setitem(astromask.cli.COMMANDS, "geom", geom_cli)
    monkeypatch.setitem(astromask.cli.COMMANDS, "catalog", catalog_cli)
    code = astromask.cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_geom_command_writes_the_geometry(tmp_path, monkeypatch, capsys):
    out = tmp_path / "geom.fits"
    code, _, err = cli(
        monkeypatch,
        capsys,
        "geom",
        out,
        "--skydir",
        "83.633083 22.0145",
        "--frame",
        "galactic",
        "--skydir-frame",
        "icrs",
        "--width",
        "5deg",
        "--binsz",
        "0.02deg",
    )
    assert code == 0, err
    with fits.open(out) as hdul:
        assert hdul[0].data.shape == (250, 250) and hdul[0].data.dtype == np.uint8 and not hdul[0].data.any()
        header = hdul[0].header
    expected = make_geometry(CRAB, width=5, binsz=0.02, frame="galactic").to_header()
    for key in ("CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CDELT1", "CDELT2"):
        assert header[key] == expected[key]
    code, _, err = cli(monkeypatch, capsys, "geom", out, "--skydir", "0 0", "--npix", "3", "--binsz", "2")
    assert code == 1 and "exists" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (["--skydir", "0 0", "--width", "1", "--binsz", "0.1", "--proj", "QQQ"], 1, "projection"),
        (["--skydir", "0 0", "--width", "1", "--npix", "3", "--binsz", "0.1"], 2, "not allowed with"),
        (["--skydir", "nowhere", "--width", "1", "--binsz", "0.1"], 1, "not a sky position"),
        (["--skydir", "0 0", "--width", "1", "2", "3", "--binsz", "0.1"], 1, "one value or two"),
    ],
    ids=["projection", "width-and-npix", "skydir", "three-widths"],
)
def test_geom_command_errors(tmp_path, monkeypatch, capsys, argv, code, message):
    result, _, err = cli(monkeypatch, capsys, "geom", tmp_path / "g.fits", *argv)
    assert result == code and message in err and "Traceback" not in err
    assert not (tmp_path / "g.fits").exists()


def test_catalog_command(tmp_path, monkeypatch, capsys):
    image = tmp_path / "image.fits"
    assert (
        cli(
            monkeypatch,
            capsys,
            "geom",
            image,
            "--skydir",
            "184.557 -5.784",
            "--frame",
            "galactic",
            "--width",
            "3deg",
            "--binsz",
            "0.05deg",
        )[0]
        == 0
    )
    path = _catalog(tmp_path, ".csv", RA=[83.633083, 84.5], DEC=[22.0145, 21.3])
    out = tmp_path / "mask.fits"
    code, _, err = cli(monkeypatch, capsys, "catalog", image, path, out, "--radius", "0.3deg")
    assert code == 0, err
    geom = make_geometry((184.557, -5.784), width=3, binsz=0.05, frame="galactic")
    expected = brute_force(geom.shape, geom.wcs, SkyCoord([83.633083, 84.5], [22.0145, 21.3], unit="deg"), 0.3)
    with fits.open(out) as hdul:
        np.testing.assert_array_equal(hdul[0].data, expected.astype(np.uint8))
        assert WCS(hdul[0].header).wcs.ctype[0] == "GLON-CAR"
    inverted = tmp_path / "excl.fits"
    assert cli(monkeypatch, capsys, "catalog", image, path, inverted, "--radius", "18arcmin", "--invert")[0] == 0
    np.testing.assert_array_equal(fits.getdata(inverted), (~expected).astype(np.uint8))


def test_catalog_command_errors(tmp_path, monkeypatch, capsys):
    plain = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.zeros((5, 5), np.float32)).writeto(plain)
    path = _catalog(tmp_path, ".csv", RA=[1.0], DEC=[2.0])
    code, _, err = cli(monkeypatch, capsys, "catalog", plain, path, tmp_path / "o.fits", "--radius", "1deg")
    assert code == 1 and "no sky WCS" in err
    code, _, err = cli(monkeypatch, capsys, "catalog", plain, path, tmp_path / "o.fits")
    assert code == 2 and "--radius" in err
    code, _, err = cli(monkeypatch, capsys, "catalog", plain, path, plain, "--radius", "1deg", "--overwrite")
    assert code == 1 and "input" in err


# --------------------------------------------------------------------------- docs


def test_docs_examples_run(tmp_path, monkeypatch, capsys):
    """Every Python block of docs/sky.md runs and its asserts hold; then every command line runs."""
    text = (ROOT / "docs" / "sky.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    commands = [line for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S) for line in block.splitlines()]
    assert blocks and commands
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/sky.md", "exec"), namespace)
    monkeypatch.setitem(astromask.cli.COMMANDS, "significance", significance_cli)
    for line in commands:
        code, _, err = cli(monkeypatch, capsys, *shlex.split(line)[1:])
        assert code == 0, f"{line}: {err}"
    crab = fits.getdata(tmp_path / "crab_mask.fits")
    assert crab.sum() == 716 + namespace["fixed"].sum() - namespace["mask"].sum()
    grid, counts, background = namespace["grid"], namespace["counts"], namespace["background"]
    sqrt_ts = significance_map(counts, background, "0.1deg", wcs=grid.wcs)
    expected = significance_mask(sqrt_ts, above=5, low=3)
    np.testing.assert_array_equal(fits.getdata(tmp_path / "significant.fits"), expected.astype(np.uint8))
