"""MaxiMask outputs: the real files MaxiMask 1.4.1 wrote (../shared/data/maximask) and small made-up ones."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask import Box, Mask, get_schema
from astromask.errors import FormatError
from astromask.io import maximask
from conftest import shared_path

REAL_MASKS = ["synth_crop_a.mask.fits.fz", "M13_blue_0001.mask.fits.fz"]
CLASSES = ["CR", "HCL", "DCL", "HP", "DP", "P", "TRL", "FR", "NEB", "SAT", "SP", "OV", "BBG", "BG"]


def _read(path, **kwargs):
    return astromask.read(path, format="maximask", **kwargs)


def _raw_cube(path) -> tuple[np.ndarray, fits.Header]:
    with fits.open(path) as hdul:
        return np.asarray(hdul[1].data), hdul[1].header.copy()


# -- the real outputs ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REAL_MASKS, ids=["synth_crop_a", "M13_blue_0001"])
def test_planes_are_the_cube_planes_by_dim_card(name):
    path = shared_path("maximask", name)
    cube, header = _raw_cube(path)
    mask = _read(path)
    assert isinstance(mask, Mask)
    assert mask.shape == cube.shape[1:]
    assert mask.schema == get_schema("maximask")
    assert mask.schema.names == CLASSES[:-1]  # BG has no bit
    for plane in mask.schema.names:
        dim = int(header[f"{plane}_DIM"])
        np.testing.assert_array_equal(mask.get(plane), cube[dim] != 0, err_msg=plane)
    assert mask.counts() == {p: int(np.count_nonzero(cube[int(header[f"{p}_DIM"])])) for p in CLASSES[:-1]}


def test_synth_crop_counts_are_those_maximask_found():
    """Golden counts: ``np.count_nonzero`` of each plane of MaxiMask 1.4.1's own cube."""
    mask = _read(shared_path("maximask", "synth_crop_a.mask.fits.fz"))
    assert mask.counts() == {
        "CR": 2190, "HCL": 967, "DCL": 0, "HP": 18, "DP": 18, "P": 0, "TRL": 8829,
        "FR": 0, "NEB": 0, "SAT": 7520, "SP": 361, "OV": 0, "BBG": 74529,
    }  # fmt: skip


@pytest.mark.parametrize("name", REAL_MASKS, ids=["synth_crop_a", "M13_blue_0001"])
def test_bbox_read_equals_slice_of_full_read(name):
    path = shared_path("maximask", name)
    box = Box(130, 377, 251, 640)
    part, full = _read(path, bbox=box), _read(path)
    assert part.shape == box.shape
    assert part == full[130:377, 251:640]
    np.testing.assert_array_equal(part.array, full.array[130:377, 251:640])


def test_probability_maps_are_not_a_mask():
    path = shared_path("maximask", "synth_crop_a.proba.fits.fz")  # 52 MB: only ever asked for a box
    with pytest.raises(FormatError, match=r"proba\.fits\.fz\[1\]: holds MaxiMask class probabilities.*proba_thresh"):
        _read(path, bbox=Box(0, 8, 0, 8))
    with fits.open(path) as hdul:
        assert maximask.identify(hdul, str(path))
        assert maximask.describe(hdul, str(path)) == [{"index": 0, "kind": "header"}, {"index": 1, "kind": "image"}]


def test_identify_describe_and_mask_at_on_real_file():
    path = str(shared_path("maximask", "M13_blue_0001.mask.fits.fz"))
    with fits.open(path) as hdul:
        assert maximask.identify(hdul, path)
        assert maximask.describe(hdul, path) == [{"index": 0, "kind": "header"}, {"index": 1, "kind": "mask"}]
        assert maximask.mask_at(hdul, path, 1).counts()["CR"] == 70
    with pytest.raises(FormatError, match=r"\[0\]: HDU holds no image"):
        _read(path, hdu=0)


@pytest.mark.parametrize("name", [*REAL_MASKS, "synth_crop_a.proba.fits.fz"])
def test_format_is_found_by_content(name):
    path = str(shared_path("maximask", name))
    with fits.open(path) as hdul:
        assert astromask.io.identify(hdul, path) == "maximask"


def test_the_input_image_is_not_maximask():
    path = str(shared_path("maximask", "synth_crop_a.fits.fz"))
    with fits.open(path) as hdul:
        assert not maximask.identify(hdul, path)


# -- made-up files: single mask, class subsets, missing cards ---------------------------------------


def _header(dims: dict[str, int] | None = None, *, smask=False, thresh=True, powers=None) -> fits.Header:
    """MaxiMask's cards as 1.4.1 writes them (strings for numbers)."""
    header = fits.Header()
    header["MM_UTC"] = "Sat Nov 21 05:50:22 2026"
    header["MM_LOC"] = "Sat Nov 21 05:50:22 2026"
    header["PRIORS"] = "Yes"
    header["THRESH"] = "Yes" if thresh else "No"
    header["SMASK"] = "Yes" if smask else "No"
    for name, dim in (dims or {}).items():
        header[name] = f"{name}: class"
        header[f"{name}_DIM"] = str(dim)
        if powers is not None:
            header[f"{name}_SM"] = f"{float(powers[name]):.1f}"
    return header


def _write(tmp_path, data, header, *, compressed=False, name="made.mask.fits") -> str:
    path = str(tmp_path / name)
    hdu = fits.CompImageHDU(data, header) if compressed else fits.ImageHDU(data, header)
    fits.HDUList([fits.PrimaryHDU(header=_header()), hdu]).writeto(path)
    return path


def _random_cube(nplanes: int, shape=(30, 40)) -> np.ndarray:
    rng = np.random.default_rng(14)
    return (rng.random((nplanes, *shape)) < 0.1).astype(np.uint8)


def test_single_mask_equals_the_cube_it_sums(tmp_path):
    """SMASK='Yes': value = sum of 2**k over the classes found; it must read as the same planes."""
    cube_path = shared_path("maximask", "synth_crop_a.mask.fits.fz")
    cube, _ = _raw_cube(cube_path)
    single = np.zeros(cube.shape[1:], dtype=np.int16)
    for k in range(13):
        single |= cube[k].astype(np.int16) << k
    dims = {name: k for k, name in enumerate(CLASSES)}
    powers = {name: (2**k if name != "BG" else 0) for k, name in enumerate(CLASSES)}
    path = _write(tmp_path, single, _header(dims, smask=True, powers=powers), compressed=True)
    assert _read(path) == _read(cube_path)
    box = Box(500, 620, 0, 90)
    assert _read(path, bbox=box) == _read(cube_path, bbox=box)


def test_single_mask_without_sm_cards_uses_preset_bits(tmp_path):
    single = np.array([[0, 1, 512], [4096, 513, 0]], dtype=np.int16)
    mask = _read(_write(tmp_path, single, _header(smask=True)))
    assert mask.counts() == {**dict.fromkeys(CLASSES[:-1], 0), "CR": 2, "SAT": 2, "BBG": 1}


def test_single_mask_value_without_class_is_refused(tmp_path):
    single = np.array([[0, 8192]], dtype=np.int16)
    powers = {"CR": 1, "SAT": 512}
    path = _write(tmp_path, single, _header({"CR": 0, "SAT": 1}, smask=True, powers=powers))
    with pytest.raises(FormatError, match=r"\[1\]: single mask uses values no <class>_SM card names \(0x2000\)"):
        _read(path)


def test_class_subset_keeps_preset_bits(tmp_path):
    """MaxiMask run with two classes selected, SAT first: the DIM cards say which plane is which."""
    cube = _random_cube(2)
    mask = _read(_write(tmp_path, cube, _header({"SAT": 0, "CR": 1}), compressed=True))
    assert mask.schema.names == ["CR", "SAT"]
    assert mask.schema.bit("CR") == 0 and mask.schema.bit("SAT") == 9
    np.testing.assert_array_equal(mask.get("SAT"), cube[0] == 1)
    np.testing.assert_array_equal(mask.get("CR"), cube[1] == 1)


def test_single_class_two_dimensional_output(tmp_path):
    plane = _random_cube(1)[0]
    mask = _read(_write(tmp_path, plane, _header({"TRL": 0})))
    assert mask.schema.names == ["TRL"]
    np.testing.assert_array_equal(mask.get("TRL"), plane == 1)


def test_cube_without_dim_cards_in_full_class_order(tmp_path):
    cube = _random_cube(14)
    mask = _read(_write(tmp_path, cube, _header()), bbox=Box(5, 25, 10, 30))
    assert mask.schema == get_schema("maximask")
    for k, name in enumerate(CLASSES[:-1]):
        np.testing.assert_array_equal(mask.get(name), cube[k, 5:25, 10:30] == 1)


def test_cube_without_dim_cards_of_other_size_is_refused(tmp_path):
    path = _write(tmp_path, _random_cube(5), _header())
    with pytest.raises(FormatError, match="cube of 5 planes has no <class>_DIM cards"):
        _read(path)


def test_dim_card_outside_cube_is_refused(tmp_path):
    path = _write(tmp_path, _random_cube(2), _header({"CR": 0, "HP": 7}))
    with pytest.raises(FormatError, match=r"_DIM cards point outside the 2-plane cube: \{'HP': 7\}"):
        _read(path)


def test_float_cube_is_refused_even_without_thresh_card(tmp_path):
    header = _header({"CR": 0})
    del header["THRESH"]
    path = _write(tmp_path, np.zeros((1, 4, 4), np.float32), header)
    with pytest.raises(FormatError, match="probabilities"):
        _read(path)


def test_bbox_outside_is_refused(tmp_path):
    path = _write(tmp_path, _random_cube(1), _header({"CR": 0}))
    with pytest.raises(FormatError, match=r"made\.mask\.fits\[1\]: requested box .* outside the image bbox"):
        _read(path, bbox=Box(0, 31, 0, 5))
