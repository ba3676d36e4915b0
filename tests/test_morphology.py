"""Footprints and grow/shrink/open/close against scipy.ndimage, skimage, KBMOD's and gammapy's test facts."""

import numpy as np
import pytest
from astropy import units as u
from astropy.wcs import WCS
from scipy import ndimage as ndi
from skimage import morphology as skm

from astromask import Mask, MaskedImage, get_schema
from astromask.footprint import box, diamond, disk, make_footprint, parse_size
from astromask.morphology import boundary, close, grow, open, shrink

RNG = np.random.default_rng(20261121)


def _wcs(sx_arcsec=2.0, sy_arcsec=4.0):
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [50.0, 50.0]
    w.wcs.cdelt = [-sx_arcsec / 3600, sy_arcsec / 3600]
    return w


def _random_bool(shape, p, seed):
    return np.random.default_rng(seed).random(shape) < p


# -- footprints -------------------------------------------------------------------------------------


@pytest.mark.parametrize("r", range(12))
def test_disk_and_diamond_equal_skimage(r):
    np.testing.assert_array_equal(disk(r), skm.disk(r).astype(bool))
    np.testing.assert_array_equal(diamond(r), skm.diamond(r).astype(bool))


def test_disk_sizes_match_the_exact_euclidean_counts():
    # gammapy.md: the exact disk kernels of r = 2, 8, 32 have 13, 197, 3209 pixels
    assert [int(disk(r).sum()) for r in (2, 8, 32)] == [13, 197, 3209]
    # a fractional radius: offsets with dx² + dy² <= 6.25
    assert int(disk(2.5).sum()) == sum(1 for dx in range(-3, 4) for dy in range(-3, 4) if dx * dx + dy * dy <= 6.25)


def test_box_shapes_and_radius():
    assert box(3).shape == (3, 3) and box(4, 2).shape == (2, 4)
    assert make_footprint("box", 2).shape == (5, 5)
    assert make_footprint("box", width=(7, 3)).shape == (3, 7)
    with pytest.raises(ValueError, match="whole number"):
        box(2.5)


def test_angular_sizes_use_each_axis_scale():
    w = _wcs(2.0, 4.0)  # 2" per column, 4" per row
    fp = disk("10arcsec", wcs=w)
    assert fp.shape == (5, 11)
    dy, dx = np.mgrid[-2:3, -5:6]
    np.testing.assert_array_equal(fp, (dx * 2.0) ** 2 + (dy * 4.0) ** 2 <= 100)
    np.testing.assert_array_equal(disk(10 * u.arcsec, wcs=w), fp)
    dia = diamond("8arcsec", wcs=w)
    dy, dx = np.mgrid[-2:3, -4:5]
    np.testing.assert_array_equal(dia, np.abs(dx) * 2.0 + np.abs(dy) * 4.0 <= 8)
    # box: offsets whose centres lie within w/2: 10" wide on 2" columns -> |dx| <= 2.5 -> 5; on 4" rows -> 3
    assert box("10arcsec", wcs=w).shape == (3, 5)
    assert box("10arcsec", "0.5arcmin", wcs=w).shape == (7, 5)


def test_size_errors_name_the_parameter():
    with pytest.raises(ValueError, match="radius.*angle"):
        disk("ten")
    with pytest.raises(ValueError, match="celestial WCS"):
        disk("10arcsec")
    with pytest.raises(ValueError, match="angle unit"):
        parse_size("3 m", "radius")
    with pytest.raises(ValueError, match="non-negative"):
        disk(-1)
    with pytest.raises(ValueError, match="footprint must be one of"):
        make_footprint("star", 2)
    assert parse_size("3") == 3.0 and parse_size("2 pix") == 2.0


# -- growing and shrinking booleans, against scipy ----------------------------------------------------

FOOTPRINTS = {
    "disk2": disk(2),
    "disk7": disk(7),
    "diamond1": diamond(1),
    "diamond4": diamond(4),
    "diamond13": diamond(13),  # the diagonal-pass kernel
    "box3": box(3),
    "box21": box(21),  # van Herk rows and columns
    "box4x2": box(4, 2),  # even: scipy's centre convention
    "asymmetric": np.array([[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]], bool),
}
SHAPES = [(37, 53), (70, 600), (5, 3)]  # 600 columns: more than one column strip


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", FOOTPRINTS)
def test_boolean_operations_equal_scipy(name, shape):
    fp = FOOTPRINTS[name]
    m = _random_bool(shape, 0.03, 1)
    full = m | _random_bool(shape, 0.85, 2)
    np.testing.assert_array_equal(grow(m, footprint=fp), ndi.binary_dilation(m, fp))
    np.testing.assert_array_equal(shrink(full, footprint=fp), ndi.binary_erosion(full, fp, border_value=1))
    np.testing.assert_array_equal(shrink(full, footprint=fp, outside="clear"), ndi.binary_erosion(full, fp))
    # (scipy's binary_opening applies border_value to the dilation too: compose it instead)
    ref_open = ndi.binary_dilation(ndi.binary_erosion(full, fp, border_value=1), fp)
    np.testing.assert_array_equal(open(full, footprint=fp), ref_open)
    ref_close = ndi.binary_erosion(ndi.binary_dilation(m, fp), fp, border_value=1)
    np.testing.assert_array_equal(close(m, footprint=fp), ref_close)
    assert grow(m, footprint=fp).dtype == bool


@pytest.mark.parametrize("footprint, radius", [("box", 2), ("diamond", 3), ("disk", 2)])
@pytest.mark.parametrize("n", [2, 3])
def test_iterations_repeat_the_operation(footprint, radius, n):
    fp = make_footprint(footprint, radius)
    m = _random_bool((60, 70), 0.01, 3)
    full = m | _random_bool((60, 70), 0.9, 4)
    np.testing.assert_array_equal(
        grow(m, radius, footprint=footprint, iterations=n), ndi.binary_dilation(m, fp, iterations=n)
    )
    np.testing.assert_array_equal(
        shrink(full, radius, footprint=footprint, iterations=n, outside="clear"),
        ndi.binary_erosion(full, fp, iterations=n),
    )
    np.testing.assert_array_equal(
        open(full, radius, footprint=footprint, iterations=n, outside="clear"),
        ndi.binary_opening(full, fp, iterations=n),
    )


def test_no_wrap_around_at_edges():
    m = np.zeros((6, 6), bool)
    m[0, 5] = True
    out = grow(m, 1, footprint="box")
    assert out[0:2, 4:6].all() and out.sum() == 4  # nothing appears on the far edges


def test_closing_keeps_every_pixel_and_opening_removes_specks():
    m = _random_bool((80, 90), 0.2, 5)
    assert (close(m, 1) >= m).all()
    specks = np.zeros((30, 30), bool)
    specks[5, 5] = True
    specks[10:20, 10:20] = True
    opened = open(specks, 1, footprint="box")
    assert not opened[5, 5] and opened[10:20, 10:20].all() and opened.sum() == 100


# -- every plane at once ----------------------------------------------------------------------------------


def _planes(shape, nplanes, seed, p=0.02):
    rng = np.random.default_rng(seed)
    array = np.zeros(shape, np.uint32)
    for bit in range(nplanes):
        array |= (rng.random(shape) < p).astype(np.uint32) << np.uint32(bit)
    return array


@pytest.mark.parametrize("name", ["disk7", "diamond13", "box21", "asymmetric"])
def test_each_plane_grows_as_if_alone(name):
    fp = FOOTPRINTS[name]
    array = _planes((90, 610), 16, 6)
    grown = grow(array, footprint=fp)
    shrunk = shrink(~array, footprint=fp, outside="clear")
    assert grown.dtype == np.uint32
    for bit in range(32):
        plane = (array >> bit & 1).astype(bool)
        np.testing.assert_array_equal((grown >> bit & 1).astype(bool), ndi.binary_dilation(plane, fp))
        np.testing.assert_array_equal((shrunk >> bit & 1).astype(bool), ndi.binary_erosion(~plane, fp))


def test_signed_arrays_keep_bit_31():
    array = np.zeros((8, 8), np.int32)
    array[4, 4] = np.int32(-(2**31))
    out = grow(array, 1, footprint="diamond")
    assert out.dtype == np.int32 and (out == np.int32(-(2**31))).sum() == 5


def test_mask_planes_by_name_leave_the_others_alone():
    schema = get_schema("rubin")
    m = Mask((40, 50), schema)
    cr = _random_bool((40, 50), 0.02, 7)
    sat = _random_bool((40, 50), 0.02, 8)
    m.set("CR", cr)
    m.set("SAT", sat)
    out = grow(m, 2, planes="CR")
    assert isinstance(out, Mask) and out.schema == schema
    np.testing.assert_array_equal(out.get("CR"), ndi.binary_dilation(cr, disk(2)))
    np.testing.assert_array_equal(out.get("SAT"), sat)
    np.testing.assert_array_equal(m.get("CR"), cr)  # the input is not modified
    shrunk = shrink(m, 1, footprint="box", planes="SAT,CR", outside="clear")
    np.testing.assert_array_equal(shrunk.get("SAT"), ndi.binary_erosion(sat, box(3)))
    with pytest.raises(Exception, match="NOPE"):
        grow(m, 1, planes="NOPE")


def test_masked_image_uses_its_wcs_for_angles():
    w = _wcs(2.0, 4.0)
    mi = MaskedImage(np.zeros((40, 60), np.float32), schema=get_schema("rubin"), wcs=w)
    mi.mask.set("BAD", (20, 30))
    out = grow(mi, "10arcsec")
    assert isinstance(out, MaskedImage) and out.wcs is w
    ys, xs = np.nonzero(out.mask.get("BAD"))
    assert (ys.min(), ys.max(), xs.min(), xs.max()) == (18, 22, 25, 35)
    np.testing.assert_array_equal(out.mask.get("BAD")[18:23, 25:36], disk("10arcsec", wcs=w))


# -- KBMOD's grow tests (reference/kbmod.md section 5) --------------------------------------------------


def test_kbmod_grow_tests():
    # test_layered_image: 60 wide x 80 high, pixels (y=11..13, x=10), grow(1)
    m = np.zeros((80, 60), bool)
    m[11:14, 10] = True
    out = grow(m, 1, footprint="diamond")
    expected = np.zeros_like(m)
    expected[10:15, 10] = True
    expected[11:14, 9] = expected[11:14, 11] = True
    np.testing.assert_array_equal(out, expected)
    # grow(3) with (11,10), (12,10): masked iff |x-10| + min(|y-11|, |y-12|) <= 3
    m = np.zeros((80, 60), bool)
    m[11, 10] = m[12, 10] = True
    y, x = np.mgrid[0:80, 0:60]
    np.testing.assert_array_equal(
        grow(m, 3, footprint="diamond"), np.abs(x - 10) + np.minimum(abs(y - 11), abs(y - 12)) <= 3
    )
    # raw-image grow: (5,7), (3,7); grow 1 then grow 2 -> L1 distance <= 3 (cumulative)
    m = np.zeros((20, 20), bool)
    m[5, 7] = m[3, 7] = True
    twice = grow(grow(m, 1, footprint="diamond"), 2, footprint="diamond")
    np.testing.assert_array_equal(
        twice, np.minimum(abs(y[:20, :20] - 5), abs(y[:20, :20] - 3)) + abs(x[:20, :20] - 7) <= 3
    )


# -- gammapy's test facts (reference/gammapy.md section 7) --------------------------------------------------


def test_gammapy_erode_and_dilate_facts():
    # 100x100 at 0.02 deg: a 1 deg circle (7860 px) and a 0.8 deg circle (5024 px), gammapy's strict rule
    y, x = np.mgrid[0:100, 0:100]
    r = np.hypot(x - 49.5, y - 49.5)
    big, small = r < 50, r < 40
    assert (big.sum(), small.sum()) == (7860, 5024)
    # gammapy rounds 0.2 deg = 10 px up to the odd 11 and erodes with zero padding: 4832 and 8048
    assert shrink(big, 11, outside="clear").sum() == 4832
    assert grow(small, 11).sum() == 8048
    # our rule keeps 0.2 deg = 10 px (docs/morphology.md)
    w = WCS(naxis=2)
    w.wcs.ctype = ["GLON-CAR", "GLAT-CAR"]
    w.wcs.cdelt = [-0.02, 0.02]
    w.wcs.crpix = [50.5, 50.5]
    assert shrink(big, "0.2deg", wcs=w, outside="clear").sum() == ndi.binary_erosion(big, disk(10)).sum()


def test_boundary_margins_per_axis():
    # gammapy test_boundary_mask: 2x2 deg at 0.02 deg, width (0.3, 0.1) deg -> 6300 pixels inside.
    w = WCS(naxis=2)
    w.wcs.ctype = ["GLON-CAR", "GLAT-CAR"]
    w.wcs.cdelt = [-0.02, 0.02]
    w.wcs.crpix = [50.5, 50.5]
    margin = boundary((100, 100), ("0.3deg", "0.1deg"), wcs=w)
    inside = ~margin
    assert inside.sum() == 6300
    rows, cols = np.nonzero(inside.any(axis=1))[0], np.nonzero(inside.any(axis=0))[0]
    # 0.3 deg = 15 px on the left/right (x) edges, 0.1 deg = 5 px top/bottom: 90 rows x 70 columns
    # (gammapy swaps the axes and gets 70 rows x 90 columns)
    assert (rows.size, cols.size) == (90, 70) and (cols[0], rows[0]) == (15, 5)
    # margin per side = floor(width) pixels: 5.0 -> 5, 5.5 -> 5, 12.5 -> 12
    for width, expected in [(5.0, 5), (5.5, 5), (12.5, 12), (15.5, 15)]:
        assert int(np.argmin(boundary((40, 40), width)[20])) == expected
    mi = MaskedImage(np.zeros((100, 100)), schema=get_schema("rubin"), wcs=w)
    np.testing.assert_array_equal(boundary(mi, ("0.3deg", "0.1deg")), margin)


def test_bad_arguments():
    m = np.zeros((5, 5), bool)
    with pytest.raises(ValueError, match="iterations"):
        grow(m, 1, iterations=0)
    with pytest.raises(ValueError, match="outside"):
        shrink(m, 1, outside="maybe")
    with pytest.raises(ValueError, match="boolean"):
        grow(m, 1, planes=1)
    with pytest.raises(ValueError, match="2-D"):
        grow(np.zeros(5, bool), 1)
    with pytest.raises(ValueError, match="needs a radius"):
        grow(m)
