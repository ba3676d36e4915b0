"""HEALPix footprints (astromask.sky.healpix, `astromask healpix`) against hpgeom's own pixelisation of
the same WCS footprint: COVERED is query_polygon of the outline, planes follow both sampling rules,
maps union over CCDs and exposures, and round-trip through healsparse files and `astromask lookup`."""

import doctest

import numpy as np
import pytest
from astropy.table import Table
from astropy.wcs import WCS

import astromask
from astromask import Mask, MaskedImage, get_schema
from astromask.errors import ParameterError

hpgeom = pytest.importorskip("hpgeom")
pytest.importorskip("healsparse")

from astromask.sky import healpix as healpix_module  # noqa: E402
from astromask.sky.healpix import COVERED_BIT, HealpixMasks, healpix_map, lookup_healpix  # noqa: E402


def tan_wcs(ra, dec, scale_arcsec, angle_deg=25.0):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [30.5, 20.5]
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    wcs.wcs.cd = np.array([[-c, s], [s, c]]) * scale_arcsec / 3600
    return wcs


def planes_mask(shape, seed):
    rng = np.random.default_rng(seed)
    mask = Mask(shape, get_schema("rubin"))
    mask.set("BAD", np.s_[:, 7:9])
    mask.set("SAT", rng.random(shape) < 0.02)
    mask.set("CR", rng.random(shape) < 0.01)
    return mask


def expected_map(nside, masks):
    """The rules written out with hpgeom alone: COVERED where query_polygon of the pixel-edge outline
    holds the HEALPix centre (for TAN, whose pixel edges are great circles); planes from the image
    pixel under each covered centre and from every set image pixel's centre."""
    values = {}
    schema = get_schema("rubin")
    for mask, wcs in masks:
        ny, nx = mask.shape
        corners = wcs.pixel_to_world(
            np.array([-0.5, nx - 0.5, nx - 0.5, -0.5]), np.array([-0.5, -0.5, ny - 0.5, ny - 0.5])
        )
        inside = hpgeom.query_polygon(nside, corners.ra.deg, corners.dec.deg, inclusive=False)
        ra, dec = hpgeom.pixel_to_angle(nside, inside)
        x, y = wcs.world_to_pixel_values(ra, dec)
        for pixel, ix, iy in zip(inside, np.floor(x + 0.5).astype(int), np.floor(y + 0.5).astype(int)):
            values[pixel] = values.get(pixel, 0) | int(mask.array[iy, ix]) | (1 << COVERED_BIT)
        iy, ix = np.nonzero(mask.array)
        world = wcs.pixel_to_world(ix, iy)
        for pixel, value in zip(hpgeom.angle_to_pixel(nside, world.ra.deg, world.dec.deg), mask.array[iy, ix]):
            values[pixel] = values.get(pixel, 0) | int(value)
    assert list(schema.names[:5]) == ["BAD", "SAT", "INTRP", "CR", "EDGE"]  # the union's bits are rubin's here
    return values


def as_dict(footprint):
    pixels = footprint.map.valid_pixels
    values = np.asarray(footprint.map.get_values_pix(pixels)).astype(np.int64).view(np.uint64)
    return {int(p): int(v) for p, v in zip(pixels, values)}


def test_doctests():
    assert doctest.testmod(healpix_module).failed == 0


@pytest.mark.parametrize("nside", [2**14, 2**17, 2**19], ids=["coarser", "similar", "finer"])
def test_map_follows_hpgeoms_pixelisation_of_the_footprint(nside):
    masks = [(planes_mask((40, 60), 1), tan_wcs(150.0, 2.0, 0.6))]
    footprint = healpix_map(masks, nside)
    got, expected = as_dict(footprint), expected_map(nside, masks)
    covered = {p for p, v in expected.items() if v >> COVERED_BIT}
    assert {p for p, v in got.items() if v >> COVERED_BIT} == covered and covered
    assert got == expected
    assert footprint.planes[:4] == ["BAD", "SAT", "INTRP", "CR"]


def test_union_over_ccds_and_exposures_is_the_or_of_the_maps():
    nside = 2**16
    first = [
        (planes_mask((40, 60), 2), tan_wcs(150.0, 2.0, 0.6)),
        (planes_mask((40, 60), 3), tan_wcs(150.008, 2.0, 0.6)),
    ]
    second = [(planes_mask((40, 60), 4), tan_wcs(150.004, 2.002, 0.6, angle_deg=-10))]
    both = healpix_map(first, nside)
    healpix_map(second, nside, into=both)
    assert as_dict(both) == expected_map(nside, first + second)
    with pytest.raises(ParameterError, match="power of 2"):
        healpix_map(first, 1000)
    with pytest.raises(ParameterError, match="nside 65536"):
        healpix_map(first, 2**15, into=both)


def test_round_trip_through_files_and_lookup(tmp_path, cli):
    mask = planes_mask((40, 60), 5)
    wcs = tan_wcs(150.0, 2.0, 0.6)
    image = MaskedImage(np.zeros((40, 60), np.float32), mask=mask, wcs=wcs)
    astromask.write(image, tmp_path / "exp.fits", format="afw")
    out = tmp_path / "footprint.fits"
    code, stdout, err = cli("healpix", tmp_path / "exp.fits", out, "--nside", 2**17)
    assert code == 0, err
    assert "HEALPix pixels covered at nside 131072" in stdout
    back = HealpixMasks.read(str(out))
    assert as_dict(back) == as_dict(healpix_map([(mask, wcs)], 2**17))
    assert back.planes[:4] == ["BAD", "SAT", "INTRP", "CR"]
    # objects in the middle of the bad columns, and off the exposure
    objects = wcs.pixel_to_world([7.5, 7.5, 200.0], [10.0, 30.0, 10.0])
    found = lookup_healpix(objects, back)
    assert found.plane("BAD").tolist() == [True, True, False] and found.covered.tolist() == [True, True, False]
    Table({"RA": objects.ra.deg, "DEC": objects.dec.deg}).write(tmp_path / "cat.ecsv")
    code, _, err = cli("lookup", tmp_path / "cat.ecsv", out, "-o", tmp_path / "flags.ecsv")
    assert code == 0, err
    table = Table.read(tmp_path / "flags.ecsv")
    np.testing.assert_array_equal(table["MASKBITS"], found.bits)
    # a pixel mask and a map together: the OR, planes matched by name
    code, _, err = cli("lookup", tmp_path / "cat.ecsv", out, tmp_path / "exp.fits", "-o", tmp_path / "both.ecsv")
    assert code == 0, err
    assert list(Table.read(tmp_path / "both.ecsv")["ON_MASK"]) == [True, True, False]
    # refusals, one line each
    code, _, err = cli("healpix", tmp_path / "exp.fits", tmp_path / "bad.fits", "--nside", 1000)
    assert code != 0 and "nside" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "bad.fits").exists()
    code, _, err = cli("lookup", tmp_path / "cat.ecsv", out, "-o", tmp_path / "r.ecsv", "--radius", "1arcsec")
    assert code != 0 and "radius" in err and len(err.strip().splitlines()) == 1
    code, _, err = cli("healpix", tmp_path / "exp.fits", out, "--nside", 2**17)
    assert code != 0 and "exists" in err


@pytest.mark.parametrize("view", ["gnomonic", "mollweide"])
def test_pictures_of_a_map_keep_every_plane(tmp_path, cli, view):
    pytest.importorskip("matplotlib")
    from astromask.sky.healpix import rasterize

    mask = planes_mask((40, 60), 6)
    wcs = tan_wcs(150.0, 2.0, 0.6)
    footprint = healpix_map([(mask, wcs)], 2**17)
    picture, grid_wcs = rasterize(footprint, view=view, size=300)
    pixels = footprint.map.valid_pixels
    values = np.asarray(footprint.map.get_values_pix(pixels)).astype(np.int64).view(np.uint64)
    ra, dec = hpgeom.pixel_to_angle(2**17, pixels)
    x, y = grid_wcs.world_to_pixel_values(ra, dec)
    ix, iy = np.floor(x + 0.5).astype(int), np.floor(y + 0.5).astype(int)
    for bit, name in enumerate(footprint.planes[:4]):  # every HEALPix pixel with a plane shows it
        has = (values >> np.uint64(bit)) & np.uint64(1) == 1
        if has.any():
            assert picture.get(name)[iy[has], ix[has]].all(), name
    assert picture.get("COVERED").any() and picture.get("SAT").any()
    path = tmp_path / "footprint.fits"
    footprint.write(str(path))
    code, _, err = cli("show", path, "-o", tmp_path / "map.png", "--view", view)
    assert code == 0, err
    assert (tmp_path / "map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_memory_does_not_grow_with_the_number_of_masks():
    """Streamed: one mask at a time; the map grows with the sky it covers, not with the masks."""
    import tracemalloc

    def peak(n):
        masks = ((planes_mask((200, 300), k), tan_wcs(150.0, 2.0, 0.6)) for k in range(n))  # made when due
        healpix_map(iter([(planes_mask((200, 300), 99), tan_wcs(150.0, 2.0, 0.6))]), 2**16)  # warm
        tracemalloc.start()
        healpix_map(masks, 2**16)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return used

    few, many = peak(2), peak(10)
    assert many < 1.3 * few


def test_a_real_four_ccd_decam_static_mask():
    """The KPNO/DECam-style static mask of ../shared (4 CCDs of 4096x4032, TPV distortion), CCD by CCD:
    every BAD pixel lands in a BAD HEALPix pixel, COVERED lies between the outlines shrunk and grown by
    two pixels (TPV edges are not great circles), and lookups in the map agree with the pixel masks."""
    from astromask.io import masks_on_sky
    from astromask.sky.lookup import lookup_planes
    from conftest import shared_path

    path = shared_path("decam") / "ksb_staticmask_ood_v1.fits.fz"
    nside = 2**14
    footprint = healpix_map(masks_on_sky(path), nside)
    got = as_dict(footprint)
    covered = {p for p, v in got.items() if v >> COVERED_BIT}
    bad_bit = footprint.planes.index("BAD")
    inner, outer = set(), set()
    rng = np.random.default_rng(8)
    for mask, wcs, _ in masks_on_sky(path):
        ny, nx = mask.shape
        for margin, into, inclusive in ((-2.5, inner, False), (2.5, outer, True)):
            x = np.array([-0.5 - margin, nx - 0.5 + margin, nx - 0.5 + margin, -0.5 - margin])
            y = np.array([-0.5 - margin, -0.5 - margin, ny - 0.5 + margin, ny - 0.5 + margin])
            corners = wcs.pixel_to_world(x, y)
            into.update(hpgeom.query_polygon(nside, corners.ra.deg, corners.dec.deg, inclusive=inclusive).tolist())
        iy, ix = np.nonzero(mask.get("BAD"))
        pick = rng.choice(ix.size, size=min(2000, ix.size), replace=False)
        world = wcs.pixel_to_world(ix[pick], iy[pick])
        for pixel in hpgeom.angle_to_pixel(nside, world.ra.deg, world.dec.deg):
            assert (got[int(pixel)] >> bad_bit) & 1
    assert inner <= covered <= outer and len(covered) > 50000
    objects = positions_around(footprint, rng)
    from_map = lookup_healpix(objects, footprint)
    from_pixels = lookup_planes(objects, masks_on_sky(path))
    assert np.mean(from_map.covered == from_pixels.covered) > 0.99


def positions_around(footprint, rng):
    """10**4 random positions over the map's covered area and around it."""
    from astropy.coordinates import SkyCoord

    pixels = footprint.map.valid_pixels
    ra, dec = hpgeom.pixel_to_angle(footprint.nside, rng.choice(pixels, 10000))
    return SkyCoord(ra + rng.normal(0, 0.01, ra.size), dec + rng.normal(0, 0.01, dec.size), unit="deg")
