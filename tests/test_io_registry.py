"""One format registry: what each format stores, and one rule for the output format."""

import numpy as np
import pytest

from astromask import Mask, MaskedImage, MaskPlane, MaskSchema, get_schema
from astromask.errors import ParameterError
from astromask.io import FORMATS, WRITE_FORMATS, output_format, registry
from astromask.io import open as open_source


def _mi(schema):
    return MaskedImage(np.zeros((3, 4), np.float32), schema=schema)


def _mask(schema):
    return Mask((3, 4), schema)


WIDE = MaskSchema([MaskPlane(f"P{k}") for k in range(40)])
DETECTED = MaskSchema([*get_schema("decam_cp").planes, MaskPlane("TRAIL")])


def test_every_format_module_has_every_function():
    for fmt in registry.FORMATS.values():
        for name in ("identify", "read", "read_mask", "describe", "mask_at") + (("write",) if fmt.writes else ()):
            assert callable(getattr(fmt.functions, name)), (fmt.name, name)
    assert list(FORMATS)[-1] == "fits" and "maximask" not in WRITE_FORMATS


@pytest.mark.parametrize(
    "input_format, obj, to, fallback, expected",
    [
        ("afw", _mi(get_schema("rubin")), None, ("fits",), "afw"),  # the input's format keeps everything
        ("afw", _mask(get_schema("rubin")), None, ("fits",), "afw"),  # afw's own mask file (Mask.writeFits)
        ("lsst", _mask(get_schema("rubin")), None, ("fits",), "fits"),  # lsst.images holds no lone mask
        ("jwst", _mask(get_schema("jwst")), None, ("fits",), "jwst"),  # JWST does: DQ + DQ_DEF
        ("jwst", _mi(WIDE), None, ("fits",), "fits"),  # 40 bits: more than JWST's 32
        ("decam", _mi(get_schema("decam_cp")), None, ("fits",), "decam"),
        ("decam", _mi(DETECTED), None, ("fits",), "fits"),  # the CP DQ has no TRAIL code
        ("decam", _mi(DETECTED), None, ("afw", "lsst"), "afw"),  # the stack's preference
        ("afw", _mi(WIDE), None, ("afw", "lsst"), "lsst"),  # beyond afw's 32 bits
        ("maximask", _mask(get_schema("maximask")), None, ("fits",), "fits"),  # not written
        ("afw", _mi(get_schema("rubin")), "CCDData", ("fits",), "ccddata"),  # --to wins
    ],
    ids=[
        "keep",
        "lone-mask",
        "lsst-lone",
        "jwst-lone",
        "jwst-bits",
        "decam",
        "decam-planes",
        "stack-decam",
        "stack-bits",
        "maximask",
        "to",
    ],
)
def test_one_rule_chooses_the_output_format(input_format, obj, to, fallback, expected):
    assert output_format(input_format, obj, to, fallback=fallback) == expected


def test_why_a_format_cannot_store_is_said():
    assert registry.can_store(registry.get("decam"), _mi(DETECTED)) == "decam masks cannot name the planes TRAIL"
    assert "hold 32 bits, the mask uses 40" in registry.can_store(registry.get("afw"), _mi(WIDE))
    with pytest.raises(ParameterError, match="unknown format 'nope'; known formats: lsst, afw"):
        output_format("afw", _mi(WIDE), "nope")


def test_source_reads_what_read_reads(tmp_path):
    import astromask

    mi = _mi(get_schema("rubin"))
    mi.mask.set("SAT", np.eye(3, 4, dtype=bool))
    astromask.write(mi, tmp_path / "a.fits", format="afw")
    with open_source(tmp_path / "a.fits") as source:
        assert source.format == "afw"
        assert [row["kind"] for row in source.describe()][1:] == ["image", "mask", "variance"]
        assert source.read_mask() == source.read().mask == mi.mask
    assert source.hdul._file.closed  # closed on leaving
