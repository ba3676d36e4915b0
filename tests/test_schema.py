"""MaskSchema, presets and flag expressions.

The references are the seed's Rubin bit map (seed 000, restated in kbmod.md §2),
the JWST DQ table (ecosystem.md §3), MaxiMask's class bits (maximask.md §5) and
astropy's own bitfield_to_boolean_mask for the flag-string grammar.
"""

import re
import warnings

import numpy as np
import pytest
from astropy.nddata import bitmask

from astromask import MaskPlane, MaskSchema, UnknownPlaneError, UnknownPlaneWarning, get_schema
from astromask.errors import FlagExpressionError
from astromask.presets import PRESETS, preset_table

# Seed 000: "BAD 0 CLIPPED 9 CR 3 CROSSTALK 10 DETECTED 5 DETECTED_NEGATIVE 6 EDGE 4 INEXACT_PSF 11
# INTRP 2 NOT_DEBLENDED 12 NO_DATA 8 REJECTED 13 SAT 1 SENSOR_EDGE 14 SUSPECT 7 UNMASKEDNAN 15"
SEED_000_BITS = {
    "BAD": 0,
    "CLIPPED": 9,
    "CR": 3,
    "CROSSTALK": 10,
    "DETECTED": 5,
    "DETECTED_NEGATIVE": 6,
    "EDGE": 4,
    "INEXACT_PSF": 11,
    "INTRP": 2,
    "NOT_DEBLENDED": 12,
    "NO_DATA": 8,
    "REJECTED": 13,
    "SAT": 1,
    "SENSOR_EDGE": 14,
    "SUSPECT": 7,
    "UNMASKEDNAN": 15,
}


def test_rubin_preset_is_the_seed_bit_map():
    rubin = get_schema("rubin")
    assert {p.name: rubin.bit(p.name) for p in rubin} == SEED_000_BITS


def test_jwst_preset_values():
    jwst = get_schema("jwst")
    assert len(jwst) == 32 and jwst.dtype == np.uint32
    assert jwst.bitmask("DO_NOT_USE") == 1
    assert jwst.bitmask("JUMP_DET") == 4
    assert jwst.bitmask("NON_SCIENCE") == 2**9
    assert jwst.bitmask("REFERENCE_PIXEL") == 2**31


def test_maximask_preset_values():
    mm = get_schema("maximask")
    expected = ["CR", "HCL", "DCL", "HP", "DP", "P", "TRL", "FR", "NEB", "SAT", "SP", "OV", "BBG"]
    assert mm.names == expected
    assert [mm.bitmask(n) for n in expected] == [2**k for k in range(13)]
    assert mm.bitmask("BBG") == 4096


def test_ciao_and_decam_presets():
    with pytest.raises(ValueError, match="unknown schema preset 'ciao'"):  # CIAO masks are not bit planes
        get_schema("ciao")
    decam = get_schema("decam_cp")
    assert (decam.bitmask("BAD"), decam.bitmask("SAT"), decam.bitmask("INTERP")) == (1, 2, 4)
    assert (decam.bitmask("CR"), decam.bitmask("BLEED"), decam.bitmask("TRANSIENT")) == (16, 64, 128)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_plane_has_a_description(name):
    schema = get_schema(name)
    assert len(schema) > 0
    assert all(p.description for p in schema)
    assert preset_table(name).count("\n") == len(schema) + 1


def test_unknown_preset():
    with pytest.raises(ValueError, match="unknown schema preset 'hst'; known presets: rubin"):
        get_schema("hst")


@pytest.mark.parametrize(
    "nplanes, dtype",
    [(1, np.uint8), (8, np.uint8), (9, np.uint16), (16, np.uint16), (17, np.uint32), (33, np.uint64), (64, np.uint64)],
    ids=str,
)
def test_dtype_chosen_to_fit(nplanes, dtype):
    schema = MaskSchema([MaskPlane(f"P{i}") for i in range(nplanes)])
    assert schema.dtype == dtype


def test_too_many_planes_and_bad_dtype():
    with pytest.raises(ValueError, match="at most 64 planes"):
        MaskSchema([MaskPlane(f"P{i}") for i in range(65)])
    with pytest.raises(ValueError, match="holds 8 bits, the schema needs 9"):
        MaskSchema([MaskPlane(f"P{i}") for i in range(9)], dtype=np.uint8)
    with pytest.raises(ValueError, match="unsigned"):
        MaskSchema(["A"], dtype=np.int32)


def test_reserved_bits_and_duplicates():
    s = MaskSchema([MaskPlane("BAD"), None, None, MaskPlane("CR")])
    assert s.bit("CR") == 3 and s.nbits == 4 and len(s) == 2 and s.all_bits == 0b1001
    assert s.interpret(0b1111) == ["BAD", "CR"]
    with pytest.raises(ValueError, match="appears twice"):
        MaskSchema(["BAD", "bad"])
    with pytest.raises(ValueError, match="share bit 1"):
        MaskSchema.from_bits({"A": 1, "B": 1})
    with pytest.raises(ValueError, match="identifier-like"):
        MaskPlane("3D")


def test_from_bits_keeps_gaps():
    s = MaskSchema.from_bits({"CR": 3, "BAD": 0}, {"CR": "cosmic"})
    assert s.planes[1] is None and s.plane("cr").description == "cosmic"


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("BAD,SAT", 0b11),
        ("bad + sat", 0b11),
        ("CR|EDGE", 0b11000),
        (["CR", "SAT"], 0b1010),
        (["CR", 1], 0b1001),
        (5, 5),
        ("12", 12),
        ("4,8", 12),
        ("", 0),
        ("None", 0),
        (None, 2**16 - 1),
        ("*", 2**16 - 1),
        ("~(BAD+SAT)", 2**16 - 1 - 3),
        ("~BAD,SAT", 2**16 - 1 - 3),
        ("~(CR)", 2**16 - 1 - 8),
        ("BAD,BAD", 1),
    ],
    ids=repr,
)
def test_flag_expressions(expr, expected):
    rubin = get_schema("rubin")
    with warnings.catch_warnings():
        # astropy warns about the duplicate in "BAD,BAD" and ignores it (we OR, KBMOD summed: kbmod.md §4)
        warnings.filterwarnings("ignore", message="Duplicate bit flags")
        assert rubin.flags(expr) == expected


def test_flag_strings_agree_with_astropy_ignore_semantics():
    """Our flags list what *counts*; astropy's ignore_flags='~(...)' means the same set."""
    rubin = get_schema("rubin")
    rng = np.random.default_rng(1)
    values = rng.integers(0, 2**16, size=500).astype(np.uint32)
    names = {p.name: 1 << i for i, p in rubin.items()}
    ours = (values & rubin.flags("CR,SAT")) != 0
    theirs = bitmask.bitfield_to_boolean_mask(values, ignore_flags="~(CR,SAT)", flag_name_map=names)
    np.testing.assert_array_equal(ours, theirs)


def test_unknown_names_error_lists_known_names():
    rubin = get_schema("rubin")
    with pytest.raises(UnknownPlaneError, match=r"unknown mask plane 'SPIKE'.*known planes: BAD, SAT, INTRP"):
        rubin.flags("BAD,SPIKE")
    with pytest.warns(UnknownPlaneWarning, match="SPIKE"):
        assert rubin.flags("BAD,SPIKE", unknown="warn") == 1
    assert rubin.flags(["SPIKE"], unknown="ignore") == 0
    with pytest.raises(ValueError, match="unknown must be one of"):
        rubin.flags("BAD", unknown="maybe")


def test_bad_flag_strings():
    rubin = get_schema("rubin")
    with pytest.raises(ValueError, match="invalid flag expression"):
        rubin.flags("BAD,~SAT")
    with pytest.raises(ValueError, match="invalid flag expression"):
        rubin.flags("3,4")  # astropy: each item must be a power of two


@pytest.mark.parametrize("expr", ["BAD,SAT+CR", "1,2+8", "~(BAD|SAT,CR)"], ids=["names", "integers", "negated"])
def test_flag_strings_use_one_separator_kind(expr):
    # astropy.nddata.bitmask rejects mixed separators for integers; names follow the same grammar
    with pytest.raises(
        FlagExpressionError, match=f"invalid flag expression '{re.escape(expr)}': it mixes the separators"
    ):
        get_schema("rubin").flags(expr)


@pytest.mark.parametrize("item", [2.7, 2.0, True, np.bool_(False), None], ids=repr)
def test_floats_and_bools_are_not_bit_numbers(item):
    with pytest.raises(FlagExpressionError, match="neither a plane name nor an integer"):
        get_schema("rubin").flags(["BAD", item])
    with pytest.raises(FlagExpressionError, match="bit index of plane 'DEAD' must be an integer"):
        MaskSchema.from_bits({"DEAD": item})
    assert get_schema("rubin").flags(["CR", np.int64(1), "2"]) == 8 | 1 | 2  # integers are flag values


def test_with_planes_and_merge():
    a = MaskSchema(["BAD", None, "CR"])
    b = a.with_planes("SAT", "EDGE")
    assert b.names == ["BAD", "SAT", "CR", "EDGE"] and b.bit("SAT") == 1 and b.bit("EDGE") == 3
    c = MaskSchema(["CR", "NEW"])
    assert a.merged(c).names == ["BAD", "NEW", "CR"]
    assert a.bit_map(c) == [(2, 0)]


def test_every_plane_astromask_makes_is_in_the_one_registry():
    """The detectors, the stack and the CCDData reader take their planes from presets.MADE_PLANES,
    from which docs/schemas.md is generated: none defines one of its own."""
    from astromask.detect import pipeline
    from astromask.io import ccddata
    from astromask.presets import MADE_PLANES, made_plane
    from astromask.stack import pipeline as stack

    made = {maker: {p.name: p for p in planes} for maker, planes in MADE_PLANES.items()}
    assert all(made["detect"][p.name] is p for p in pipeline.DETECTION_SCHEMA.planes)
    assert set(pipeline.CNN_PLANES.values()) <= set(made["detect"])
    assert made["stack"]["STACK_MASKED"] is stack.STACK_PLANE and made["stack"]["GLOBAL"] is stack.GLOBAL_PLANE
    assert made["ccddata"]["BAD"] is ccddata.BOOL_PLANE
    with pytest.raises(ValueError, match="detect makes no plane 'FOO'"):
        made_plane("FOO")
