"""TRAIL: straight trails recovered with their line parameters; stars, clusters and columns are not trails."""

import doctest

import numpy as np
import pytest
from skimage.transform import hough_line, hough_line_peaks

from astromask.detect import trails
from astromask.detect.inject import star_field
from astromask.detect.trails import detect_trails, line_band

SHAPE = (400, 480)


def trail_image(rho, theta, *, peak=5.0, sigma=1.5, seed=0, extent=None):
    """Unit noise plus a Gaussian-profile line ``x cos(theta) + y sin(theta) = rho`` (theta in degrees)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[: SHAPE[0], : SHAPE[1]]
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    signal = peak * np.exp(-0.5 * ((x * c + y * s - rho) / sigma) ** 2)
    if extent is not None:
        t = -x * s + y * c
        signal *= (t >= extent[0]) & (t <= extent[1])
    return rng.normal(0.0, 1.0, SHAPE) + signal


def same_line(found, rho, theta):
    """Angle within 0.5 degrees and offset within 1 pixel, allowing for the (rho, theta) = (-rho, theta - 180) twin."""
    for r, t in ((rho, theta), (-rho, theta - 180.0), (-rho, theta + 180.0)):
        if abs(found.theta - t) < 0.5 and abs(found.rho - r) < 1.0:
            return True
    return False


@pytest.mark.parametrize(
    "rho, theta",
    [
        (240.5, 0.5),
        (150.0, 30.0),
        (200.0, 89.7),
        (-60.0, 135.0),
        (-330.0, 179.0),
        (300.0, 63.0),
    ],
    ids=["near-vertical", "30deg", "near-horizontal", "135deg", "179deg", "63deg"],
)
def test_line_parameters_recovered(rho, theta):
    found = detect_trails(trail_image(rho, theta, seed=int(theta)))
    assert len(found.trails) == 1
    assert same_line(found.trails[0], rho, theta), found.trails[0]


def test_agrees_with_skimage_hough_on_a_bright_line():
    image = trail_image(150.0, 30.0, peak=20.0, seed=3)
    found = detect_trails(image).trails[0]
    # skimage's Hough on the thresholded image: angles of the normal in [-90, 90), the same rho convention
    angles = np.radians(np.arange(-90.0, 90.0, 0.1))
    accumulator, theta_k, rho_k = hough_line(image > 5.0, theta=angles)
    _, (theta_peak,), (rho_peak,) = hough_line_peaks(accumulator, theta_k, rho_k, num_peaks=1)
    assert same_line(found, rho_peak, np.degrees(theta_peak)) or same_line(
        found, -rho_peak, np.degrees(theta_peak) + 180.0
    )


def test_width_follows_the_profile():
    # peak 20, sigma 1.5: the profile stays above 0.5 out to 1.5 * sqrt(2 ln 40) = 4.1 pixels on each side
    found = detect_trails(trail_image(150.0, 30.0, peak=20.0, seed=4)).trails[0]
    assert 7.5 <= found.width <= 9.5
    band = line_band(SHAPE, found.rho, found.theta, found.width)
    assert (found.mask if hasattr(found, "mask") else band).sum() > 0


def test_faint_trail_one_sigma_per_pixel():
    found = detect_trails(trail_image(100.0, 70.0, peak=1.0, seed=5))
    assert len(found.trails) == 1 and same_line(found.trails[0], 100.0, 70.0)


def test_segment_endpoints():
    theta = 120.0
    c, s = np.cos(np.radians(theta)), np.sin(np.radians(theta))
    rho = 240 * c + 200 * s  # through the centre
    t_centre = -240 * s + 200 * c
    image = trail_image(rho, theta, peak=6.0, seed=6, extent=(t_centre - 120.0, t_centre + 100.0))
    (found,) = detect_trails(image).trails
    t0, t1 = sorted([-found.x0 * s + found.y0 * c, -found.x1 * s + found.y1 * c])
    assert abs(t0 - (t_centre - 120.0)) <= 8 and abs(t1 - (t_centre + 100.0)) <= 8
    assert 205 <= found.length <= 240


@pytest.mark.parametrize("seed", [0, 1, 2], ids=lambda s: f"seed={s}")
def test_star_fields_have_no_trails(seed):
    assert detect_trails(star_field((512, 512), seed=40 + seed)).trails == []


def test_dense_cluster_is_not_a_trail():
    rng = np.random.default_rng(7)
    image = rng.normal(0.0, 1.0, SHAPE)
    y, x = np.mgrid[-5:6, -5:6]
    for _ in range(400):  # a cluster core: many faint stars in a 150-pixel blob
        cx, cy = int(rng.normal(240, 50)), int(rng.normal(200, 50))
        image[cy - 5 : cy + 6, cx - 5 : cx + 6] += rng.uniform(3, 30) * np.exp(-(x**2 + y**2) / (2 * 1.3**2))
    assert detect_trails(image).trails == []


def test_masked_bad_column_is_not_a_trail():
    image = np.random.default_rng(8).normal(0.0, 1.0, SHAPE)
    image[:, 100] += 5.0
    assert len(detect_trails(image).trails) == 1  # a bad column is a perfect line
    mask = np.zeros(SHAPE, bool)
    mask[:, 100] = True
    assert detect_trails(image, mask=mask).trails == []


def test_two_trails():
    image = trail_image(150.0, 30.0, seed=9) + trail_image(-60.0, 135.0, seed=10)
    found = detect_trails(image).trails
    assert len(found) == 2
    assert any(same_line(t, 150.0, 30.0) for t in found) and any(same_line(t, -60.0, 135.0) for t in found)


def test_line_band_distances():
    band = line_band((7, 7), 3.0, 45.0, 2.0)
    y, x = np.mgrid[:7, :7]
    np.testing.assert_array_equal(band, np.abs((x + y) / np.sqrt(2) - 3.0) <= 1.0)
    limited = line_band((7, 7), 3.0, 0.0, 1.0, extent=(2.0, 4.0))
    assert np.argwhere(limited).tolist() == [[2, 3], [3, 3], [4, 3]]


def test_errors():
    with pytest.raises(ValueError, match="bin must be a positive integer"):
        detect_trails(np.zeros((50, 50)), bin=0)
    with pytest.raises(ValueError, match="must be 2-D"):
        detect_trails(np.zeros(50))


def test_docstring_examples():
    assert doctest.testmod(trails).failed == 0


@pytest.mark.parametrize("shape", [(40, 60), (300, 511)])
def test_compiled_hough_votes_equal_numpy(shape):
    """The compiled accumulator gives numpy's counts exactly: rint(outer(cos, x) + outer(sin, y))."""
    from astromask.detect import _hough

    rng = np.random.default_rng(0)
    candidates = rng.random(shape) < 0.05
    thetas = _hough._angles(shape)
    counts, rhos = _hough._accumulate(candidates, thetas)
    ys, xs = np.nonzero(candidates)
    rho = np.rint(np.outer(np.cos(thetas), xs + 0.5) + np.outer(np.sin(thetas), ys + 0.5)).astype(np.int64)
    expected = np.stack([np.bincount(r - int(rhos[0]), minlength=len(rhos)) for r in rho])
    np.testing.assert_array_equal(counts, expected)
    assert _hough.chord_table(shape) is _hough.chord_table(shape)  # made once per shape
