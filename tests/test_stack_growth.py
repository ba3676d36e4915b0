"""The stack's growth step: the bit-packed diamond against scipy, and the choice of kernel."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from astromask.morphology import _packed
from astromask.stack.growth import PACKED_MAX_RADIUS, grow_diamond, grow_union


def scipy_diamond(masked, radius):
    """scipy's dilation by ``|dx| + |dy| <= radius`` (pixels outside the image clear)."""
    if radius == 0:
        return masked.copy()
    y, x = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    return ndi.binary_dilation(masked, structure=np.abs(y) + np.abs(x) <= radius)


@pytest.mark.parametrize(
    "shape", [(1, 1), (1, 200), (70, 1), (9, 63), (9, 64), (9, 65), (33, 129)], ids=lambda s: f"{s[0]}x{s[1]}"
)
@pytest.mark.parametrize("radius", [0, 1, 7, 66])
def test_diamond_equals_scipy(shape, radius):
    rng = np.random.default_rng(radius * 1000 + shape[1])
    masked = rng.random(shape) < 0.03
    masked[0, -1] = masked[-1, 0] = True  # corners: nothing may wrap to the next row or word
    np.testing.assert_array_equal(grow_diamond(masked, radius), scipy_diamond(masked, radius))


def test_diamond_by_hand():
    masked = np.zeros((5, 70), bool)
    masked[2, 63] = True  # on the last bit of the first word
    grown = grow_diamond(masked, 2)
    assert grown.sum() == 13 and grown[2, 61:66].all() and grown[0, 63] and grown[4, 63] and not grown[0, 62]
    assert not masked[2, 62]  # the input is left alone


def test_diamond_rejects_negative_radius():
    with pytest.raises(ValueError, match="radius must be >= 0, got -1"):
        grow_diamond(np.zeros((3, 3), bool), -1)


@pytest.mark.parametrize(
    ("footprint", "radius", "packed"),
    [("diamond", 10, True), ("diamond", PACKED_MAX_RADIUS + 1, False), ("box", 3, False), ("disk", 3, False)],
)
def test_union_growth_chooses_the_kernel(monkeypatch, footprint, radius, packed):
    calls = []
    monkeypatch.setattr(_packed, "grow_diamond", lambda m, r: calls.append("packed") or scipy_diamond(m, r))
    masked = np.zeros((120, 130), bool)
    masked[60, 65] = True
    grown = grow_union(masked, radius, footprint)
    assert calls == (["packed"] if packed else [])
    reach = {
        "diamond": lambda y, x: abs(y) + abs(x) <= radius,
        "box": lambda y, x: np.maximum(abs(y), abs(x)) <= radius,
        "disk": lambda y, x: y * y + x * x <= radius * radius,
    }[footprint]
    y, x = np.mgrid[-60:60, -65:65]
    np.testing.assert_array_equal(grown, reach(y, x))


@pytest.mark.parametrize("radius", [1, 3, 10, PACKED_MAX_RADIUS])
def test_the_packed_diamond_is_a_kernel_of_morphology(radius):
    """morphology.grow takes the packed rows for a 0/1 mask and a small diamond, and gives the pixels
    of its own diagonal kernel (and of a bit-plane mask grown plane by plane)."""
    from astromask.morphology import operations as morphology

    rng = np.random.default_rng(radius)
    masked = rng.random((97, 203)) < 0.01
    packed = morphology.grow(masked, radius, footprint="diamond")
    general = morphology._dilate_diamond(masked.view(np.uint8), radius).view(bool)
    np.testing.assert_array_equal(packed, general)
    np.testing.assert_array_equal(packed, scipy_diamond(masked, radius))
    bits = (masked.astype(np.uint16) << 3) | (rng.random(masked.shape) < 0.01).astype(np.uint16)
    grown = morphology.grow(bits, radius, footprint="diamond")  # not 0/1: the general kernels
    np.testing.assert_array_equal((grown >> 3) & 1, packed)
