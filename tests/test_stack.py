"""KBMOD's masking test cases (../shared/reference/kbmod.md section 5) as acceptance tests of astromask.stack.

Each KBMOD case is run through the in-memory pipeline (``mask_stack``) and, where it
involves a stack, through the streamed file pipeline (``run_stack`` on afw files,
KBMOD's input layout). Expected pixels are written out by hand or from the
Manhattan-distance rule of KBMOD's ``grow_mask``, computed here by brute force.
The KBMOD bit values (BAD=1, SAT=2, INTRP=4, CR=8, EDGE=16, ...) are those of the
``rubin`` preset, the schema these images are built with.
"""

import numpy as np
import pytest

import astromask
from astromask import Mask, MaskedImage, get_schema
from astromask.stack import (
    KBMOD_MASK_BITS,
    StackConfig,
    mask_image,
    mask_stack,
    resolve_flags,
    run_stack,
)

RUBIN = get_schema("rubin")
BAD, SAT, INTRP, CR, EDGE = 1, 2, 4, 8, 16


def kbmod_image(ny, nx, seed, *, noise=0.1, variance=0.01):
    """A KBMOD test image: Gaussian noise, constant variance, all-clear rubin mask."""
    rng = np.random.default_rng(seed)
    return MaskedImage(
        rng.normal(0, noise, (ny, nx)).astype(np.float32),
        schema=RUBIN,
        variance=np.full((ny, nx), variance, np.float32),
    )


def l1_ball(shape, points, radius):
    """Boolean array: pixels within Manhattan distance ``radius`` of any (y, x) point (brute force)."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    out = np.zeros(shape, bool)
    for y, x in points:
        out |= np.abs(yy - y) + np.abs(xx - x) <= radius
    return out


def nan_of(image):
    return np.isnan(image.image)


def through_files(tmp_path, images, config):
    """Write ``images`` as afw files, run the streamed pipeline with ``write_images``, read the outputs
    back (None if dropped); run it again with the default outputs, masks alone, and check that each
    is the mask of the masked image, ``STACK_MASKED`` where science or variance is NaN."""
    src = tmp_path / "in"
    src.mkdir(parents=True, exist_ok=True)
    names = []
    for i, image in enumerate(images):
        names.append(str(src / f"img{i:02d}.fits"))
        astromask.write(image, names[-1], format="afw", overwrite=True)
    result = run_stack(names, tmp_path / "out", config, overwrite=True, write_images=True)
    outputs = [astromask.read(row["output"]) if row["output"] else None for row in result.table]
    masks = run_stack(names, tmp_path / "masks", config, overwrite=True)
    for row, image in zip(masks.table, outputs):
        assert bool(row["output"]) == (image is not None)
        if image is not None:
            mask = astromask.read(row["output"])
            assert row["output"].endswith("_mask.fits") and isinstance(mask, Mask)
            np.testing.assert_array_equal(mask.array, image.mask.array)
            np.testing.assert_array_equal(mask.get("STACK_MASKED"), np.isnan(image.image) | np.isnan(image.variance))
    return result, outputs


def run_both(tmp_path, images, config):
    """``(in-memory result, file result)``: lists of masked images from both pipelines."""
    memory = mask_stack(images, config)
    _, files = through_files(tmp_path, images, config)
    return memory, files


# -- a8e96632 tests/test_masking.py::test_apply_masks ---------------------------------------------------


def _apply_masks_stack():
    images, bad = [], []
    for i in range(10):
        mi = kbmod_image(50, 50, seed=i)
        mi.image[1, i] = 1000  # above the threshold: bad
        mi.image[10, i] = 895  # below: good
        mi.mask.array[2, 15 + i] = BAD
        mi.mask.array[3, 30 + i] = INTRP  # not a flag key: good
        points = [(1, i), (2, 15 + i)]
        if i % 3 == 1:
            mi.mask.array[4, 2 * i] = EDGE
            points.append((4, 2 * i))
        if i % 2 == 0:
            mi.mask.array[5, 6] = CR  # in 5 of 10 images: global
        images.append(mi)
        bad.append(points)
    return images, bad


def test_kbmod_apply_masks(tmp_path):
    images, bad = _apply_masks_stack()
    config = StackConfig(
        flag_keys=["BAD", "EDGE", "SUSPECT"],
        repeated_flag_keys=["CR"],
        mask_grow=1,
        mask_threshold=900,
        mask_num_images=2,
    )
    memory, files = run_both(tmp_path, images, config)
    for i in range(10):
        expected = l1_ball((50, 50), bad[i] + [(5, 6)], 1)
        np.testing.assert_array_equal(nan_of(memory.images[i]), expected, err_msg=f"image {i}")
        np.testing.assert_array_equal(nan_of(files[i]), expected, err_msg=f"image {i} (files)")
        np.testing.assert_array_equal(np.isnan(files[i].variance), expected)
        np.testing.assert_array_equal(files[i].mask.get("STACK_MASKED"), expected)
    assert memory.counts[5, 6] == 5 and int(memory.global_mask.sum()) == 1


# -- 1d85a45d^ tests/test_masking.py (5 images 20x20) ---------------------------------------------------


def test_kbmod_threshold_is_strict(tmp_path):
    images = []
    for i in range(5):
        mi = kbmod_image(20, 20, seed=i)
        mi.image[8, 2 + i] = 501
        mi.image[9, 1 + i] = 499
        images.append(mi)
    memory, files = run_both(tmp_path, images, StackConfig(mask_threshold=500, mask_grow=0))
    for i in range(5):
        expected = np.zeros((20, 20), bool)
        expected[8, 2 + i] = True
        np.testing.assert_array_equal(nan_of(memory.images[i]), expected)
        np.testing.assert_array_equal(nan_of(files[i]), expected)


@pytest.mark.parametrize(
    "flag_keys, masked_x",
    [(["BAD", "EDGE"], [0, 4]), (None, [0, 4, 7, 8, 15])],
    ids=["BAD+EDGE", "default-flags"],
)
def test_kbmod_flag_keys_select_bits(flag_keys, masked_x):
    mi = kbmod_image(20, 20, seed=0)
    mi.mask.array[3, :] = [1 << x for x in range(20)]
    config = StackConfig(mask_grow=0) if flag_keys is None else StackConfig(flag_keys=flag_keys, mask_grow=0)
    out, _ = mask_image(mi, config)
    expected = np.zeros((20, 20), bool)
    expected[3, masked_x] = True
    np.testing.assert_array_equal(nan_of(out), expected)


def test_kbmod_bit_vector_and_grow_2(tmp_path):
    images = []
    for i in range(5):
        mi = kbmod_image(20, 20, seed=i)
        mi.mask.array[8, 2 + i] = 1
        images.append(mi)
    memory, files = run_both(tmp_path, images, StackConfig(mask_bit_vector=1, flag_keys=[], mask_grow=2))
    for i in range(5):
        expected = l1_ball((20, 20), [(8, 2 + i)], 2)
        np.testing.assert_array_equal(nan_of(memory.images[i]), expected)
        np.testing.assert_array_equal(nan_of(files[i]), expected)


def test_kbmod_global_mask_counts_with_greater_or_equal(tmp_path):
    """CR at (1,1) in 2 images, INTRP at (5,5) in 1, N=2: (1,1) is global (2 >= 2), (5,5) is not."""
    images = [kbmod_image(20, 20, seed=i) for i in range(5)]
    images[1].mask.array[1, 1] = CR
    images[3].mask.array[1, 1] = CR
    images[0].mask.array[5, 5] = INTRP
    config = StackConfig(repeated_flag_keys=["CR", "INTRP"], mask_num_images=2, mask_grow=0)
    memory, files = run_both(tmp_path, images, config)
    expected = np.zeros((20, 20), bool)
    expected[1, 1] = True
    np.testing.assert_array_equal(memory.global_mask, expected)
    assert memory.counts[1, 1] == 2 and memory.counts[5, 5] == 1
    for i in range(5):
        np.testing.assert_array_equal(nan_of(memory.images[i]), expected)
        np.testing.assert_array_equal(nan_of(files[i]), expected)
        np.testing.assert_array_equal(files[i].mask.get("GLOBAL"), expected)
    strict = mask_stack(images, config.replace(mask_num_images=3))  # "surpasses" would need 3
    assert not strict.global_mask.any()


# -- a8e96632 tests/test_layered_image.py (60 wide x 80 high) --------------------------------------------


def test_kbmod_binarize_with_flags_5():
    mi = kbmod_image(80, 60, seed=1)
    mi.mask.array[10, :9] = np.arange(9)
    out, stats = mask_image(mi, StackConfig(mask_bit_vector=5, mask_grow=0))
    assert nan_of(out)[10, :9].astype(int).tolist() == [0, 1, 0, 1, 1, 1, 1, 1, 0]
    assert stats["n_masked"] == 6 and stats["flags"] == 5


def test_kbmod_union_of_raw_masks_is_bitwise_or():
    a, b = Mask((80, 60), RUBIN), Mask((80, 60), RUBIN)
    a.array[15, 12:15] = [1, 2, 3]
    b.array[15, [11, 13, 14, 15]] = [1, 1, 1, 8]
    assert (a | b).array[15, 10:17].tolist() == [0, 1, 1, 3, 3, 8, 0]


def test_kbmod_threshold_20_on_a_500_flux_object():
    yy, xx = np.mgrid[:80, :60]
    science = 500 / (2 * np.pi * 1.5**2) * np.exp(-((xx - 50) ** 2 + (yy - 50) ** 2) / (2 * 1.5**2))
    science = science.astype(np.float32)
    science[0, 0] = 20.0  # equal to the threshold: not above it
    science[0, 1] = np.nan  # NaN is never thresholded (it is NO_DATA, and masked as such)
    mi = MaskedImage(science, schema=RUBIN)
    out, stats = mask_image(mi, StackConfig(mask_threshold=20, mask_grow=0))
    expected = np.nan_to_num(science, nan=0) > 20
    assert 5 < expected.sum() < 40
    assert stats["n_threshold"] == expected.sum() and stats["n_no_data"] == 1
    assert out.mask.get("NO_DATA")[0, 1] and out.mask.get("NO_DATA").sum() == 1
    expected[0, 1] = True
    np.testing.assert_array_equal(out.mask.get("STACK_MASKED"), expected)


def test_kbmod_apply_mask_flag_1():
    mi = kbmod_image(80, 60, seed=2)
    mi.mask.array[10, 11:14] = [1, 2, 3]
    out, _ = mask_image(mi, StackConfig(mask_bit_vector=1, mask_grow=0))
    assert sorted(map(tuple, np.argwhere(nan_of(out)))) == [(10, 11), (10, 13)]


def test_kbmod_grow_1_column():
    mi = kbmod_image(80, 60, seed=3)
    mi.mask.array[11:14, 10] = BAD
    out, _ = mask_image(mi, StackConfig(flag_keys=["BAD"], mask_grow=1))
    expected = np.zeros((80, 60), bool)
    expected[10:15, 10] = True  # column 10, rows 10..14
    expected[11:14, 9] = expected[11:14, 11] = True  # columns 9 and 11, rows 11..13
    np.testing.assert_array_equal(nan_of(out), expected)


def test_kbmod_grow_3_two_pixels():
    mi = kbmod_image(80, 60, seed=4)
    mi.mask.array[11, 10] = mi.mask.array[12, 10] = BAD
    out, _ = mask_image(mi, StackConfig(flag_keys=["BAD"], mask_grow=3))
    yy, xx = np.mgrid[:80, :60]
    expected = np.abs(xx - 10) + np.minimum(np.abs(yy - 11), np.abs(yy - 12)) <= 3
    np.testing.assert_array_equal(nan_of(out), expected)


def test_kbmod_masked_pixels_and_fraction():
    mi = kbmod_image(80, 60, seed=5)
    mi.mask.array[10, 15] = mi.mask.array[22, 23] = BAD
    out, stats = mask_image(mi, StackConfig(mask_grow=0))
    assert sorted(map(tuple, np.argwhere(nan_of(out)))) == [(10, 15), (22, 23)]
    assert stats["masked_fraction"] == 2 / 4800
    for n in (50, 75):
        mi = kbmod_image(80, 60, seed=5)
        mi.mask.array.flat[np.arange(n) * 61] = BAD
        assert mask_image(mi, StackConfig(mask_grow=0))[1]["masked_fraction"] == n / 4800


# -- a8e96632 tests/test_image_stack.py::test_make_global_mask and its 1d85a45d^ sequel ------------------


def test_kbmod_make_global_mask_and_recompute(tmp_path):
    images = [kbmod_image(80, 60, seed=i) for i in range(5)]
    for i, mi in enumerate(images):
        mi.mask.array[10, 10 + i] = 1
        mi.mask.array[5, 5] = 2
    config = StackConfig(flag_keys=[], repeated_flag_keys=["BAD"], mask_num_images=1, mask_grow=0)
    memory, files = run_both(tmp_path, images, config)
    expected = np.zeros((80, 60), bool)
    expected[10, 10:15] = True
    np.testing.assert_array_equal(memory.global_mask, expected)
    for out in memory.images + files:
        np.testing.assert_array_equal(nan_of(out), expected)
    for mi in images:  # clear the sources: the global mask is recomputed, not accumulated
        mi.mask.array[...] = 0
    assert not mask_stack(images, config).global_mask.any()


def test_kbmod_cumulative_grow_by_rerunning_outputs(tmp_path):
    """Grow 1 then 2 gives Manhattan distance <= 3: the STACK_MASKED plane of a run feeds the next."""
    mi = kbmod_image(20, 20, seed=6)
    mi.mask.array[5, 7] = mi.mask.array[3, 7] = BAD
    first, _ = through_files(tmp_path / "a", [mi], StackConfig(flag_keys=["BAD"], mask_grow=1))
    np.testing.assert_array_equal(
        nan_of(astromask.read(first.table["output"][0])), l1_ball((20, 20), [(5, 7), (3, 7)], 1)
    )
    second = run_stack([first.table["output"][0]], tmp_path / "b", StackConfig(flag_keys=["STACK_MASKED"], mask_grow=2))
    out = astromask.read(second.table["output"][0])  # the mask alone
    np.testing.assert_array_equal(out.get("STACK_MASKED"), l1_ball((20, 20), [(5, 7), (3, 7)], 3))


# -- HEAD tests/test_standardizer.py, test_butlerstd.py, test_image_stack_py.py ---------------------------


def test_head_standardizer_flags_pixel_k_has_flag_k():
    mi = kbmod_image(5, 5, seed=7)
    flat = mi.mask.array.reshape(-1)
    flat[:16] = [1 << k for k in range(16)]
    out, _ = mask_image(mi, StackConfig(mask_grow=0))
    expected = np.zeros(25, bool)
    expected[[KBMOD_MASK_BITS[name] for name in ("BAD", "EDGE", "NO_DATA", "SUSPECT", "UNMASKEDNAN")]] = True
    np.testing.assert_array_equal(nan_of(out).reshape(-1), expected)


def test_head_standardizer_threshold_and_3x3_box():
    mi = MaskedImage(np.zeros((5, 5), np.float32), schema=RUBIN)
    mi.image[1, 1], mi.image[2, 2] = 1, 3
    out, _ = mask_image(mi, StackConfig(mask_threshold=2, mask_grow=0))
    assert [tuple(p) for p in np.argwhere(nan_of(out))] == [(2, 2)]
    mi = MaskedImage(np.zeros((5, 5), np.float32), schema=RUBIN)
    mi.mask.set("BAD", (2, 2))
    out, _ = mask_image(mi, StackConfig(mask_grow=1, footprint="box"))  # KBMOD HEAD's (3, 3) kernel
    masked = nan_of(out)
    assert masked[1:4, 1:4].all() and masked.sum() == 9
    assert not any(masked[i].all() or masked[:, i].all() for i in (0, 4))


def test_head_butler_unknown_flags_are_skipped_and_reported():
    mi = kbmod_image(10, 10, seed=8)
    mi.mask.set("BAD", (4, 4))
    plain = mask_image(mi, StackConfig(flag_keys=["BAD"], mask_grow=1))
    # KBMOD skips them; astromask refuses by default (tests/test_plane_names.py), skips when told to
    config = StackConfig(flag_keys=["BAD", "SPIKE", "GHOST", "NONEXISTENT"], mask_grow=1, unknown_flags="ignore")
    extra = mask_image(mi, config)
    np.testing.assert_array_equal(nan_of(plain[0]), nan_of(extra[0]))
    assert extra[1]["unknown_flags"] == "SPIKE,GHOST,NONEXISTENT" and plain[1]["unknown_flags"] == ""


def test_head_image_stack_masked_counts():
    images = [kbmod_image(8, 5, seed=i) for i in range(3)]
    for i, y, x in [(0, 1, 2), (0, 1, 3), (2, 4, 4)]:
        images[i].mask.array[y, x] = BAD
    result = mask_stack(images, StackConfig(mask_grow=0))
    assert result.table["n_masked"].tolist() == [2, 0, 1]


def test_masked_fraction_counts_nan_already_there():
    """KBMOD's get_masked_fractions counts NaN science or variance, masked before or by this run."""
    science = np.arange(600, dtype=np.float32).reshape(20, 30)
    science[science < 10] = np.nan  # masked upstream
    variance = np.ones((20, 30), np.float32)
    variance[19, 29] = np.nan  # science 599 > 110 anyway
    mi = MaskedImage(science, schema=RUBIN, variance=variance)
    _, stats = mask_image(mi, StackConfig(mask_threshold=110, mask_grow=0))
    assert stats["n_threshold"] == 489 and stats["masked_fraction"] == 499 / 600


# -- section 4: peer bugs avoided ----------------------------------------------------------------------


def test_repeated_flag_names_are_ored_not_summed():
    assert resolve_flags(RUBIN, ["BAD", "BAD"]) == (BAD, ())  # KBMOD's sum gives 2 = SAT
    assert StackConfig(flag_keys=["BAD", "bad"]).flag_keys == ("BAD",)


def test_threshold_zero_is_off_as_in_kbmod():
    mi = MaskedImage(np.ones((4, 4), np.float32), schema=RUBIN)
    assert mask_image(mi, StackConfig(mask_threshold=0.0, mask_grow=0))[1]["n_masked"] == 0
    assert mask_image(mi, StackConfig(mask_threshold=0.5, mask_grow=0))[1]["n_masked"] == 16


def test_high_bits_do_not_disturb_low_bits():
    """KBMOD casts masks to float32: 2**31 + 1 becomes 2**31 and loses BAD. Masks stay integers here."""
    mi = MaskedImage(np.zeros((3, 3), np.float32), schema=RUBIN)
    mi.mask.array[1, 1] = (1 << 31) | BAD
    mi.mask.array[0, 0] = 1 << 31
    out, _ = mask_image(mi, StackConfig(flag_keys=["BAD"], mask_grow=0))
    assert [tuple(p) for p in np.argwhere(nan_of(out))] == [(1, 1)]


def test_each_file_uses_its_own_plane_map(tmp_path):
    """Real DECam imdiff MP_* layout: UNMASKEDNAN is bit 10, SENSOR_EDGE bit 15 (KBMOD's map says 15)."""
    from astropy.io import fits

    from conftest import shared_path

    path = shared_path("lsst_images", "legacy_afw_style_decam_imdiff_planes.fits")
    with fits.open(path) as hdul:
        bits = {k[3:]: v for k, v in hdul[2].header.items() if k.startswith("MP_")}
        raw = hdul[2].data.astype(np.int64)
    own = run_stack([str(path)], tmp_path / "own", StackConfig(mask_grow=0, max_masked_pixels=1.0))
    forced = run_stack(
        [str(path)], tmp_path / "kbmod", StackConfig(mask_grow=0, max_masked_pixels=1.0, mask_bits_dict="kbmod")
    )
    image = astromask.read(path)
    empty = ~np.isfinite(image.image) | ~np.isfinite(image.variance) | ~(image.variance > 0)
    for result, bit_of in ((own, bits), (forced, KBMOD_MASK_BITS)):
        flags = sum(1 << bit_of[name] for name in ("BAD", "EDGE", "NO_DATA", "SUSPECT", "UNMASKEDNAN"))
        out = astromask.read(result.table["output"][0])  # the mask alone
        np.testing.assert_array_equal(out.get("STACK_MASKED"), ((raw & flags) != 0) | empty)
        assert result.table["flags"][0] == flags
    assert own.table["schema"][0] == "afw MP_ cards"
    assert bits["UNMASKEDNAN"] == 10 and own.table["flags"][0] != forced.table["flags"][0]


# -- dropping images ----------------------------------------------------------------------------------


def test_images_above_max_masked_pixels_are_dropped(tmp_path):
    images = [kbmod_image(10, 10, seed=i) for i in range(3)]
    images[1].mask.array[:6, :] = BAD  # 60 % masked
    config = StackConfig(mask_grow=0, max_masked_pixels=0.5)
    memory = mask_stack(images, config)
    assert memory.images[1] is None and memory.dropped == ["image 1"]
    result, outputs = through_files(tmp_path, images, config)
    assert result.table["dropped"].tolist() == [False, True, False] and outputs[1] is None
    assert result.table["masked_fraction"][1] == 0.6
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["img00.fits", "img02.fits", "stack_summary.ecsv"]


def test_no_image_under_90_percent_is_an_error(tmp_path):
    images = [kbmod_image(10, 10, seed=i) for i in range(2)]
    for mi in images:
        mi.mask.array[:, :] = BAD
    with pytest.raises(astromask.errors.AstromaskError, match="no image is less than 90% masked"):
        through_files(tmp_path, images, StackConfig(mask_grow=0))
    assert (tmp_path / "out" / "stack_summary.ecsv").exists()


# -- output planes and formats ------------------------------------------------------------------------


def test_output_keeps_planes_and_adds_stack_planes(tmp_path):
    images = [kbmod_image(12, 12, seed=i) for i in range(2)]
    for mi in images:
        mi.mask.set("SAT", (0, 0))
        mi.mask.set("CR", (6, 6))
    result, outputs = through_files(tmp_path, images, StackConfig(repeated_flag_keys=["CR"], mask_grow=1))
    out = outputs[0]
    assert out.mask.get("SAT")[0, 0] and out.mask.get("CR")[6, 6]
    assert out.mask.schema.bit("SAT") == 1 and out.mask.schema.bit("STACK_MASKED") == 16
    assert int(out.mask.get("GLOBAL").sum()) == 1 and int(out.mask.get("STACK_MASKED").sum()) == 5
    assert result.table["n_SAT"].tolist() == [1, 1] and result.table["n_GLOBAL"].tolist() == [1, 1]
    assert result.table["format"].tolist() == ["afw", "afw"]
    global_file = astromask.read(result.paths["global"])
    np.testing.assert_array_equal(global_file.get("GLOBAL"), out.mask.get("GLOBAL"))
    from astropy.io import fits

    assert fits.getdata(result.paths["global"], "COUNT")[6, 6] == 2


def test_input_images_are_not_modified():
    mi = kbmod_image(10, 10, seed=9)
    mi.mask.set("BAD", (5, 5))
    before = mi.copy()
    mask_image(mi, StackConfig(mask_grow=2))
    np.testing.assert_array_equal(mi.image, before.image)
    assert mi.mask == before.mask


def test_config_validation_names_the_key():
    with pytest.raises(ValueError, match="mask_grow must be an integer >= 0"):
        StackConfig(mask_grow=-1)
    with pytest.raises(ValueError, match="max_masked_pixels must be a fraction"):
        StackConfig(max_masked_pixels=2)
    with pytest.raises(ValueError, match="footprint must be one of"):
        StackConfig(footprint="star")
    with pytest.raises(ValueError, match="mask_threshold must be a finite number"):
        StackConfig(mask_threshold=float("nan"))
    with pytest.raises(ValueError, match="mask_bits_dict: bit index of 'BAD'"):
        StackConfig(mask_bits_dict={"BAD": 99})
    with pytest.raises(ValueError, match="flag_keys: '1BAD' is not a plane name"):
        StackConfig(flag_keys=["1BAD"])


def test_kbmod_bits_are_kbmods_table():
    """KBMOD_MASK_BITS is derived from the rubin preset; KBMOD's own table (a8e96632 configuration.py,
    ../shared/reference/kbmod.md section 2) is the independent reference."""
    kbmod = (
        "BAD 0, SAT 1, INTRP 2, CR 3, EDGE 4, DETECTED 5, DETECTED_NEGATIVE 6, SUSPECT 7, NO_DATA 8, "
        "CLIPPED 9, CROSSTALK 10, INEXACT_PSF 11, NOT_DEBLENDED 12, REJECTED 13, SENSOR_EDGE 14, UNMASKEDNAN 15"
    )
    table = {name: int(bit) for name, bit in (item.split() for item in kbmod.split(", "))}
    assert dict(KBMOD_MASK_BITS) == table
