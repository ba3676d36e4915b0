"""Every plane name: unknown names are errors that list the file's planes; one synonym table everywhere."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask import Mask, MaskSchema
from astromask.errors import UnknownPlaneError
from astromask.schema import SYNONYMS, synonyms
from astromask.stack import StackConfig, count_repeated, mask_image


def _afw():
    mask = Mask((6, 6), MaskSchema(["BAD", "SAT", "CR"]))
    mask.set("SAT", (1, 1))
    return mask


def _lsst(name=""):
    mask = Mask((6, 6), MaskSchema(["BAD", "SATURATED", "COSMIC_RAY"], name=name))
    mask.set("SATURATED", (4, 4))
    mask.set("COSMIC_RAY", (2, 3))
    return mask


def test_the_synonym_table_is_one_table_of_disjoint_groups():
    names = [name for group in SYNONYMS for name in group]
    assert len(names) == len(set(names))
    assert synonyms("SATURATED") == ("SAT",) and synonyms("intrp") == ("INTERP", "INTERPOLATED")
    assert synonyms("BAD") == ()


def test_a_synonym_names_the_files_own_plane(caplog):
    lsst = _lsst("synonym test")  # a synonym is logged once per schema name
    with caplog.at_level(logging.INFO, logger="astromask"):
        assert lsst.schema.flags("SAT,CR") == lsst.schema.bitmask("SATURATED", "COSMIC_RAY")
    np.testing.assert_array_equal(lsst.get("SAT"), lsst.get("SATURATED"))
    assert any("SAT: taken as SATURATED" in r.getMessage() for r in caplog.records)  # what -v shows
    with pytest.raises(UnknownPlaneError, match=r"'FOO'.*; known planes: BAD, SATURATED, COSMIC_RAY"):
        lsst.schema.flags("BAD,FOO")


def test_masks_of_two_traditions_combine_into_one_plane_per_flag():
    union = _afw().union(_lsst())
    assert "SATURATED" not in union.schema and "COSMIC_RAY" not in union.schema
    assert union.counts()["SAT"] == 2 and union.counts()["CR"] == 1


def test_stack_refuses_a_given_plane_an_image_lacks_and_lists_its_planes():
    image = astromask.MaskedImage(np.zeros((6, 6), np.float32), mask=_lsst())
    with pytest.raises(UnknownPlaneError, match=r"a\.fits: flag_keys .*FOO.*its planes: BAD, SATURATED, COSMIC_RAY"):
        mask_image(image, StackConfig(flag_keys="BAD,FOO", mask_grow=0), name="a.fits")
    with pytest.raises(UnknownPlaneError, match=r"repeated_flag_keys .*FOO"):
        count_repeated(image.mask, StackConfig(repeated_flag_keys="FOO"), name="a.fits")
    out, stats = mask_image(image, StackConfig(flag_keys="SAT", mask_grow=0))  # a synonym
    assert stats["n_flagged"] == 1 and np.isnan(out.image[4, 4])
    with pytest.warns(astromask.UnknownPlaneWarning, match="FOO"):
        _, stats = mask_image(image, StackConfig(flag_keys="BAD,FOO", unknown_flags="warn", mask_grow=0))
    assert stats["unknown_flags"] == "FOO"
    _, stats = mask_image(image, StackConfig(mask_grow=0))  # the defaults: absent ones skipped, as KBMOD
    assert "SUSPECT" in stats["unknown_flags"]


def _afw_file(path):
    header = fits.Header()
    for bit, name in enumerate(["BAD", "SAT", "CR"]):
        header[f"MP_{name}"] = bit
    hdus = [
        fits.PrimaryHDU(),
        fits.ImageHDU(np.ones((8, 8), np.float32), name="IMAGE"),
        fits.ImageHDU(
            np.where(np.arange(8)[:, None] == 0, 2, 0).repeat(8, axis=1).astype(np.int32), header=header, name="MASK"
        ),
        fits.ImageHDU(np.ones((8, 8), np.float32), name="VARIANCE"),
    ]
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.mark.parametrize("option", ["--flag-keys", "--repeated-flag-keys"])
def test_stack_command_names_the_unknown_plane_and_writes_nothing(cli, tmp_path, option):
    path = _afw_file(tmp_path / "a.fits")
    code, _, err = cli("stack", path, "--outdir", tmp_path / "out", option, "FOO")
    assert code == 1
    assert "a.fits" in err and "FOO" in err and "its planes: BAD, SAT, CR" in err
    assert not list((tmp_path / "out").glob("*.fits")) if (tmp_path / "out").exists() else True


def test_stack_command_takes_a_synonym(cli, tmp_path):
    path = _afw_file(tmp_path / "a.fits")
    code, out, err = cli("stack", path, "--outdir", tmp_path / "out", "--flag-keys", "SATURATED", "--mask-grow", "0")
    assert code == 0, err
    assert "12.50%" in out  # the SAT row: 8 of 64 pixels


def test_grow_planes_takes_a_synonym(cli, tmp_path):
    path = _afw_file(tmp_path / "a.fits")
    code, _, err = cli("grow", path, tmp_path / "g.fits", "--radius", "1", "--planes", "SATURATED")
    assert code == 0, err
    code, _, err = cli("grow", path, tmp_path / "h.fits", "--radius", "1", "--planes", "FOO")
    assert code == 1 and "FOO" in err and "BAD, SAT, CR" in err


def test_the_synonym_table_is_documented():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "schemas.md").read_text()
    for group in SYNONYMS:
        assert " ↔ ".join(f"`{name}`" for name in group) in text
