"""Per-object mask bits (astromask.sky.lookup, `astromask lookup`) against brute-force great-circle
separations from every pixel centre, on sheared and rotated WCSs, overlapping masks of different
layouts, and the real DECam CCD."""

import doctest

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

import astromask
from astromask import Mask, MaskedImage, get_schema
from astromask.errors import AstromaskError, FormatError, ParameterError
from astromask.io import masks_on_sky
from astromask.sky import lookup as lookup_module
from astromask.sky.lookup import lookup_planes
from conftest import shared_path


def sheared_wcs(ra, dec, scale_arcsec=0.5, angle_deg=30.0, shear=0.15):
    """A TAN WCS with rotated, sheared, non-square pixels centred on (ra, dec)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [20.0, 15.0]
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    scale = scale_arcsec / 3600
    wcs.wcs.cd = np.array([[-c, s + shear], [s, c]]) @ np.diag([scale, 1.3 * scale])
    return wcs


def random_mask(shape, schema, seed, fraction=0.03):
    rng = np.random.default_rng(seed)
    mask = Mask(shape, schema)
    for name in schema.names[:4]:
        mask.set(name, rng.random(shape) < fraction)
    return mask


def brute_force(positions, masks, radius_deg):
    """Per object, the set of plane names at every pixel centre within radius (great circle), or at
    the nearest pixel for radius 0: independent of the module (SkyCoord.separation per pixel)."""
    found = [set() for _ in range(len(positions))]
    for mask, wcs in masks:
        ny, nx = mask.shape
        yy, xx = np.mgrid[:ny, :nx]
        centres = wcs.pixel_to_world(xx.ravel(), yy.ravel())
        for i, position in enumerate(positions):
            if radius_deg == 0:
                x, y = wcs.world_to_pixel(position)
                ix, iy = int(np.floor(x + 0.5)), int(np.floor(y + 0.5))
                hit = np.zeros((ny, nx), bool)
                if 0 <= ix < nx and 0 <= iy < ny:
                    hit[iy, ix] = True
            else:
                hit = (position.separation(centres).deg <= radius_deg).reshape(ny, nx)
            for name in mask.schema.names:
                if (mask.get(name) & hit).any():
                    found[i].add(name)
    return found


def test_doctests():
    assert doctest.testmod(lookup_module).failed == 0


@pytest.mark.parametrize("radius_arcsec", [0.0, 1.2, 3.0])
def test_planes_equal_great_circle_brute_force_on_overlapping_masks(radius_arcsec):
    ra, dec = 150.0, 2.0
    first = (random_mask((30, 40), get_schema("rubin"), 1, fraction=0.1), sheared_wcs(ra, dec))
    second = (random_mask((25, 35), get_schema("jwst"), 2), sheared_wcs(ra + 4 / 3600, dec + 3 / 3600, 0.4, -50, -0.1))
    rng = np.random.default_rng(3)
    positions = SkyCoord(ra + rng.uniform(-20, 20, 400) / 3600, dec + rng.uniform(-20, 20, 400) / 3600, unit="deg")
    result = lookup_planes(positions, [first, second], radius=f"{radius_arcsec}arcsec")
    expected = brute_force(positions, [first, second], radius_arcsec / 3600)
    assert list(result.planes[:3]) == list(get_schema("rubin").names[:3])  # the union, in the order met
    got = [{name for name in result.planes if result.plane(name)[i]} for i in range(len(positions))]
    assert got == expected
    assert sum(bool(s) for s in expected) > 20  # the test has something to find
    for mask, wcs in (first, second):
        x, y = wcs.world_to_pixel(positions)
        inside = (np.floor(x + 0.5) >= 0) & (np.floor(x + 0.5) < mask.shape[1])
        inside &= (np.floor(y + 0.5) >= 0) & (np.floor(y + 0.5) < mask.shape[0])
        assert not (inside & ~result.covered).any()


def test_a_galactic_catalogue_and_a_position_off_every_mask():
    mask = random_mask((30, 40), get_schema("rubin"), 4, fraction=0.5)
    wcs = sheared_wcs(150.0, 2.0)
    inside = wcs.pixel_to_world([5.0, 20.0], [5.0, 10.0])
    positions = SkyCoord([*inside.icrs.ra.deg, 10.0], [*inside.icrs.dec.deg, -30.0], unit="deg").galactic
    result = lookup_planes(positions, [(mask, wcs)])
    assert result.covered.tolist() == [True, True, False] and result.bits[2] == 0
    values = [int(mask.array[5, 5]), int(mask.array[10, 20])]
    for i, value in enumerate(values):  # rubin bits are the union's bits here
        assert int(result.bits[i]) == value
    with pytest.raises(ParameterError, match="radius"):
        lookup_planes(positions, [(mask, wcs)], radius=-1)
    with pytest.raises(ParameterError, match="sky WCS"):
        lookup_planes(positions, [(mask, WCS(naxis=2))])


def test_every_ccd_of_a_file_is_read_one_at_a_time(tmp_path):
    ccds = []
    for k, (ra, dec) in enumerate([(150.0, 2.0), (150.01, 2.0)]):
        mask = random_mask((30, 40), get_schema("rubin"), 10 + k, fraction=0.2)
        ccds.append((mask, sheared_wcs(ra, dec, angle_deg=0, shear=0)))
    path = _two_ccd_file(tmp_path, ccds)
    labels = [label for _, _, label in masks_on_sky(path)]
    assert labels == [f"{path}[CCD1]", f"{path}[CCD2]"]
    rng = np.random.default_rng(5)
    positions = SkyCoord(rng.uniform(149.995, 150.015, 300), rng.uniform(1.995, 2.005, 300), unit="deg")
    from_file = lookup_planes(positions, masks_on_sky(path), radius="1arcsec")
    in_memory = lookup_planes(positions, ccds, radius="1arcsec")
    np.testing.assert_array_equal(from_file.bits, in_memory.bits)
    assert from_file.covered.sum() > 50


def _two_ccd_file(tmp_path, ccds):
    """A multi-extension FITS file of two masks with their WCS, as a mosaic camera writes them."""
    from astromask.io.formats.plain import mask_hdu

    hdus = [fits.PrimaryHDU()]
    for k, (mask, wcs) in enumerate(ccds):
        hdus.append(mask_hdu(mask, name=f"CCD{k + 1}", compression=None, header=wcs.to_header()))
    path = tmp_path / "raw.fits"
    fits.HDUList(hdus).writeto(path)
    return path


def test_real_decam_ccd_cosmic_rays_are_found_where_the_dq_mask_has_them():
    path = shared_path("decam") / "c4d_170316_062107_ood_z_ls9.N2.fits"
    with fits.open(path) as hdul:
        dq = hdul[1].data
        wcs = WCS(hdul[1].header)
    ys, xs = np.nonzero(dq == 5)  # CP code 5: a cosmic ray
    ys_clean, xs_clean = np.nonzero(dq == 0)
    positions = wcs.pixel_to_world(np.r_[xs, xs_clean[:500]].astype(float), np.r_[ys, ys_clean[:500]].astype(float))
    result = lookup_planes(positions, masks_on_sky(path))
    assert result.covered.all()
    assert result.plane("CR")[: xs.size].all() and not result.bits[xs.size :].any()


def test_command_adds_maskbits_and_plane_columns(tmp_path, cli):
    mask = random_mask((30, 40), get_schema("rubin"), 6, fraction=0.2)
    wcs = sheared_wcs(150.0, 2.0)
    astromask.write(MaskedImage(np.zeros((30, 40), np.float32), mask=mask, wcs=wcs), tmp_path / "m.fits", format="afw")
    rng = np.random.default_rng(7)
    objects = wcs.pixel_to_world(rng.uniform(-5, 45, 200), rng.uniform(-5, 35, 200))
    Table({"ID": np.arange(200), "RA": objects.ra.deg, "DEC": objects.dec.deg}).write(tmp_path / "cat.fits")
    out = tmp_path / "out.fits"
    code, stdout, err = cli("lookup", tmp_path / "cat.fits", tmp_path / "m.fits", "-o", out, "--plane-columns")
    assert code == 0, err
    table = Table.read(out)
    expected = lookup_planes(objects, [(mask, wcs)])
    np.testing.assert_array_equal(table["MASKBITS"], expected.bits)
    np.testing.assert_array_equal(table["ON_MASK"], expected.covered)
    np.testing.assert_array_equal(table["MASK_BAD"], expected.plane("BAD"))
    assert list(table["ID"]) == list(range(200))  # the catalogue's own columns, in its order
    header = fits.getheader(out, 1)
    assert [header[f"MBIT{i}"] for i in range(3)] == list(expected.planes[:3])
    assert "200 objects" in stdout and str(out) in stdout
    # refusals: one line each, nothing written
    code, _, err = cli("lookup", tmp_path / "cat.fits", tmp_path / "m.fits", "-o", out)
    assert code != 0 and "exists" in err and len(err.strip().splitlines()) == 1
    fits.PrimaryHDU(np.zeros((5, 5), np.int32)).writeto(tmp_path / "nowcs.fits")
    code, _, err = cli("lookup", tmp_path / "cat.fits", tmp_path / "nowcs.fits", "-o", tmp_path / "o2.fits")
    assert code != 0 and "nowcs.fits" in err and "WCS" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o2.fits").exists()
    Table({"X": [1.0]}).write(tmp_path / "nopos.fits")
    code, _, err = cli("lookup", tmp_path / "nopos.fits", tmp_path / "m.fits", "-o", tmp_path / "o3.fits")
    assert code != 0 and "position columns" in err and "Traceback" not in err
    with pytest.raises(AstromaskError):
        lookup_planes(objects, masks_on_sky(tmp_path / "missing.fits"))
    assert isinstance(FormatError("x"), AstromaskError)
