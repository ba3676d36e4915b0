"""CR: L.A.Cosmic through astroscrappy, its units, noise models and edges, against astroscrappy itself."""

import doctest

import astroscrappy
import numpy as np
import pytest
from scipy import ndimage as ndi

from astromask.detect import cosmics
from astromask.detect.cosmics import detect_cosmics, gain_and_readnoise
from astromask.detect.inject import inject, star_field


@pytest.fixture(scope="module")
def field():
    """A 256×256 star field in electrons (sky 1000, read noise 5) with 25 injected cosmic rays."""
    image = star_field((256, 256), seed=21)
    injected = inject(
        image, sigma=31.6, sky=1000.0, cosmics=25, hot=0, dead=0, columns=0, trails=0, saturated=0, seed=21
    )
    return image, injected


def test_same_as_astroscrappy_away_from_the_edges(field):
    _, injected = field
    ours = detect_cosmics(injected.image, gain=1.0, readnoise=5.0, noise="model")
    theirs, _ = astroscrappy.detect_cosmics(injected.image, gain=1.0, readnoise=5.0, satlevel=np.inf)
    inner = (slice(12, -12), slice(12, -12))  # we mirror the edges; astroscrappy's filters see a cut there
    np.testing.assert_array_equal(ours.mask[inner], theirs[inner])
    assert ours.noise == "model" and theirs[inner].sum() > 50


def test_gain_converts_adu_to_electrons(field):
    _, injected = field
    electrons = injected.image
    in_adu = detect_cosmics(electrons / 4.0, gain=4.0, readnoise=5.0, noise="model", niter=2).mask
    in_electrons = detect_cosmics(electrons, gain=1.0, readnoise=5.0, noise="model", niter=2).mask
    assert in_electrons.sum() > 100
    np.testing.assert_array_equal(in_adu, in_electrons)


def test_satlevel_is_in_image_units(field):
    _, injected = field
    image = injected.image / 4.0  # ADU, gain 4
    level = float(np.percentile(image, 99.9))
    ours = detect_cosmics(image, gain=4.0, readnoise=5.0, satlevel=level, noise="model").mask
    theirs, _ = astroscrappy.detect_cosmics(
        np.pad(image, 8, mode="reflect"), gain=4.0, readnoise=5.0, satlevel=level * 4.0
    )  # astroscrappy wants electrons
    np.testing.assert_array_equal(ours, theirs[8:-8, 8:-8])


@pytest.mark.parametrize(
    "header, expected",
    [
        ({"GAIN": 2.5, "RDNOISE": 7.0}, (2.5, 7.0)),
        ({"EGAIN": 1.5, "READNOIS": 3.0}, (1.5, 3.0)),
        ({"GAINA": 3.9, "GAINB": 4.1, "RDNOISEA": 6.0, "RDNOISEB": 6.2}, (4.0, 6.1)),
        ({"GAINA": 3.9}, (None, None)),
        ({"BUNIT": "electron", "GAIN": 3.0}, (1.0, None)),
        ({}, (None, None)),
    ],
    ids=["GAIN", "EGAIN-READNOIS", "per-amplifier", "one-amplifier", "electrons", "none"],
)
def test_gain_and_readnoise_from_header(header, expected):
    gain, readnoise = gain_and_readnoise(header)
    assert gain == pytest.approx(expected[0]) if expected[0] else gain is None
    assert readnoise == pytest.approx(expected[1]) if expected[1] else readnoise is None


def test_noise_model_choice(field):
    _, injected = field
    image = injected.image
    assert detect_cosmics(image, header={"GAIN": 1.0, "RDNOISE": 5.0}, niter=1).noise == "model"
    # a header that does not describe the image (sky 1000 e- with gain 10 predicts 10 ADU of noise, not 31.6)
    assert detect_cosmics(image, header={"GAIN": 10.0, "RDNOISE": 5.0}, niter=1).noise == "measured"
    assert detect_cosmics(image - 1000.0, header={"GAIN": 1.0, "RDNOISE": 5.0}, niter=1).noise == "measured"
    assert detect_cosmics(image, variance=np.full(image.shape, 1000.0), niter=1).noise == "variance"


def test_sky_subtracted_image_finds_the_same_cosmic_rays_with_a_gain(field):
    _, injected = field
    # the measured model takes the noise from the image and the source term from the gain, not the sky level
    with_sky = detect_cosmics(injected.image, gain=1.0)
    without = detect_cosmics(injected.image - 1000.0, gain=1.0)
    assert with_sky.noise == without.noise == "measured"
    assert (with_sky.mask ^ without.mask).sum() <= 2  # float32 rounding of the shifted values
    assert with_sky.mask.sum() > 100


def test_masked_and_nan_pixels_are_not_flagged(field):
    _, injected = field
    image = injected.image.copy()
    found = detect_cosmics(image, niter=2).mask
    mask = np.zeros(image.shape, bool)
    mask[:, :128] = True
    image[200:210, 200:210] = np.nan
    masked = detect_cosmics(image, mask=mask, niter=2).mask
    assert not masked[:, :128].any() and not masked[200:210, 200:210].any()
    assert found[:, 140:].sum() > 0 and masked[:, 140:195].sum() == found[:, 140:195].sum()


def test_star_near_the_edge_is_not_a_cosmic_ray():
    rng = np.random.default_rng(3)
    image = rng.normal(1000.0, 31.6, (128, 128))
    yy, xx = np.mgrid[:128, :128]
    image += 40000.0 * np.exp(-((xx - 60) ** 2 + (yy - 3.0) ** 2) / (2 * 1.3**2))  # centred on row 3
    assert not detect_cosmics(image, gain=1.0, readnoise=5.0).mask.any()
    bare, _ = astroscrappy.detect_cosmics(image, gain=1.0, readnoise=5.0)
    assert bare[:8].sum() > 10  # astroscrappy alone takes the core for a cosmic ray


def test_injected_cosmic_rays_found(field):
    _image, injected = field
    found = detect_cosmics(injected.image).mask
    labels, count = ndi.label(injected.truth["CR"], structure=np.ones((3, 3)))
    hit = ndi.maximum(found, labels, np.arange(1, count + 1))
    flagged_elsewhere = found & ~ndi.binary_dilation(injected.truth["CR"] | injected.ignore["CR"], iterations=2)
    inner = (slice(8, -8), slice(8, -8))  # stars centred within 2 pixels of the edge can still be flagged
    # measured on seeds 21-25 (256x256, 25 rays): 84-100 % of rays hit; 0-10 pixels flagged away from them,
    # all on bright stars whose cores pass L.A.Cosmic's objlim test
    assert hit.mean() >= 0.84
    assert flagged_elsewhere[inner].sum() <= 10


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"noise": "variance"}, "needs a variance"),
        ({"noise": "model"}, "needs the gain and read noise"),
        ({"noise": "poisson"}, "noise must be one of"),
        ({"gain": -1.0}, "gain must be a positive number"),
        ({"readnoise": "x"}, "readnoise must be a non-negative number"),
        ({"variance": np.ones((3, 3))}, "variance shape"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        detect_cosmics(np.random.default_rng(0).normal(100.0, 5.0, (32, 32)), **kwargs)


def test_docstring_examples():
    assert doctest.testmod(cosmics).failed == 0
