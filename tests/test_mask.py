"""Mask: planes by name, select, counts, algebra by name across schemas, bool conversion.

Expected values are hand-worked small cases; the KBMOD cases come from kbmod.md §5.
"""

import numpy as np
import pytest

from astromask import Mask, MaskPlane, MaskSchema, UnknownPlaneError, get_schema


@pytest.fixture
def rubin_mask():
    m = Mask((4, 5), get_schema("rubin"))
    m.set("BAD", (0, 0))
    m.set("SAT", np.s_[1, :])
    m.set("CR", (2, 3))
    m.set("SAT", (2, 3))
    return m


def test_get_set_clear(rubin_mask):
    m = rubin_mask
    assert m.get("SAT").sum() == 6
    assert int(m.array[2, 3]) == 0b1010
    m.clear("SAT", (2, 3))
    assert int(m.array[2, 3]) == 0b1000
    m.clear("SAT")
    assert not m.get("SAT").any() and m.get("CR")[2, 3]


def test_set_with_boolean_array_shape_checked(rubin_mask):
    with pytest.raises(ValueError, match=r"boolean selection has shape \(2, 2\)"):
        rubin_mask.set("BAD", np.ones((2, 2), bool))


def test_select_and_counts(rubin_mask):
    m = rubin_mask
    assert m.select("BAD,CR").sum() == 2
    assert m.select().sum() == 7  # row 1 (5 SAT), (0, 0) BAD, (2, 3) CR+SAT
    assert m.counts()["SAT"] == 6 and m.counts()["CR"] == 1 and m.counts()["EDGE"] == 0
    assert list(m.counts()) == get_schema("rubin").names
    with pytest.raises(UnknownPlaneError, match="known planes"):
        m.select("GHOST")


def test_kbmod_binarize_case():
    """kbmod.md §5 test_layered_image binarize: values x=0..8 with flags 5 → [0,1,0,1,1,1,1,1,0]."""
    m = Mask(np.arange(9, dtype=np.int32)[None, :], get_schema("rubin"))
    np.testing.assert_array_equal(m.select(5)[0].astype(int), [0, 1, 0, 1, 1, 1, 1, 1, 0])


def test_kbmod_default_flags_row_case():
    """kbmod.md §5: row of 2**x, x=0..19; flags [BAD, EDGE] → x 0, 4; default flags → 0, 4, 7, 8, 15."""
    row = (2 ** np.arange(16, dtype=np.uint32))[None, :]
    m = Mask(row, get_schema("rubin"))
    assert np.flatnonzero(m.select(["BAD", "EDGE"])).tolist() == [0, 4]
    default = ["BAD", "EDGE", "NO_DATA", "SUSPECT", "UNMASKEDNAN"]
    assert np.flatnonzero(m.select(default)).tolist() == [0, 4, 7, 8, 15]


def test_signed_int32_bit31_is_kept():
    arr = np.array([[-2147483648, 1]], dtype=np.int32)
    schema = MaskSchema.from_bits({"BAD": 0, "TOP": 31})
    m = Mask(arr, schema)
    assert m.array.dtype == np.uint32
    assert m.get("TOP").tolist() == [[True, False]] and m.get("BAD").tolist() == [[False, True]]


def test_values_beyond_dtype_refused():
    with pytest.raises(ValueError, match="beyond the schema dtype"):
        Mask(np.array([[256]], dtype=np.int32), MaskSchema(["A"]))


def test_mask_rejects_non_integer_and_3d():
    with pytest.raises(TypeError, match="integer type"):
        Mask(np.zeros((2, 2)), MaskSchema(["A"]))
    with pytest.raises(ValueError, match="2-D"):
        Mask(np.zeros((2, 2, 2), np.uint8), MaskSchema(["A"]))


def test_algebra_matches_planes_by_name_across_schemas():
    # file A: BAD=0, SAT=1, CR=3 ; file B: CR=0, BAD=2, EDGE=5 (bits disagree)
    a = Mask((2, 3), MaskSchema.from_bits({"BAD": 0, "SAT": 1, "CR": 3}))
    b = Mask((2, 3), MaskSchema.from_bits({"CR": 0, "BAD": 2, "EDGE": 5}))
    a.set("CR", (0, 0))
    a.set("BAD", (0, 1))
    a.set("SAT", (1, 1))
    b.set("CR", (0, 0))
    b.set("CR", (1, 2))
    b.set("EDGE", (1, 0))
    b.set("BAD", (1, 1))
    u = a | b
    assert u.schema.names[:3] == ["BAD", "SAT", "EDGE"] or set(u.schema.names) == {"BAD", "SAT", "CR", "EDGE"}
    assert set(u.schema.names) == {"BAD", "SAT", "CR", "EDGE"}
    np.testing.assert_array_equal(u.get("CR"), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(u.get("BAD"), [[0, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(u.get("EDGE"), [[0, 0, 0], [1, 0, 0]])
    i = a & b
    np.testing.assert_array_equal(i.get("CR"), [[1, 0, 0], [0, 0, 0]])
    assert not i.get("BAD").any() and not i.get("EDGE").any() and not i.get("SAT").any()
    x = a ^ b
    np.testing.assert_array_equal(x.get("CR"), [[0, 0, 0], [0, 0, 1]])
    d = a - b
    np.testing.assert_array_equal(d.get("BAD"), [[0, 1, 0], [0, 0, 0]])
    # the result is symmetric up to bit layout: compare by name
    assert (b | a) == u


def test_algebra_shape_mismatch():
    a = Mask((2, 3), MaskSchema(["A"]))
    with pytest.raises(ValueError, match=r"mask shapes differ: \(2, 3\) and \(3, 2\)"):
        a | Mask((3, 2), MaskSchema(["A"]))


def test_invert_flips_named_planes_only():
    s = MaskSchema(["A", None, "C"])
    m = Mask(np.array([[0, 1, 4, 5]], np.uint8), s)
    inv = ~m
    assert inv.array.tolist() == [[5, 4, 1, 0]]
    assert m.invert("A").array.tolist() == [[1, 0, 5, 4]]


def test_bool_round_trip():
    b = np.zeros((3, 3), bool)
    b[1, 2] = True
    m = Mask.from_bool(b, "BAD")
    assert m.schema.names == ["BAD"] and np.array_equal(m.to_bool(), b)
    m2 = Mask.from_bool(b, MaskPlane("HOT", "hot pixel"), get_schema("maximask"))
    assert m2.schema.bit("HOT") == 13 and m2.get("HOT")[1, 2]


def test_remap_requires_all_planes_unless_drop():
    m = Mask((1, 2), MaskSchema(["A", "B"]))
    m.set("B", (0, 1))
    with pytest.raises(ValueError, match=r"lacks planes \['A'\]"):
        m.remap(MaskSchema(["B"]))
    r = m.remap(MaskSchema(["X", "Y", "B"]), drop=True)
    assert r.array.tolist() == [[0, 4]]


def test_slicing_is_a_view():
    m = Mask((4, 4), MaskSchema(["A"]))
    sub = m[1:3, 1:3]
    sub.set("A", (0, 0))
    assert m.get("A")[1, 1]
    with pytest.raises(ValueError, match="keep both dimensions"):
        m[1]
