"""MaxiMask/MaxiTrack port: checkpoint reader, normalisation, tiling, priors, config files, file rules
and the command lines, without the trained weights.

Where a network is needed, a stand-in with a known pointwise output replaces it, so that stitching,
class selection, priors, thresholds and single masks are checked against NumPy computations of the
formulas in ``../shared/reference/maximask.md``. Tests with the real weights are in
``test_maximask_weights.py``.
"""

from __future__ import annotations

import os
import random
import struct
import zipfile

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy.special import expit

import astromask
import astromask.cli
from astromask.errors import AstromaskError, FormatError
from astromask.maximask import checkpoint, config, files, inference, maxitrack, normalise, weights

# -- checkpoint reader ------------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire: int, payload: bytes) -> bytes:
    return _varint(number << 3 | wire) + payload


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2, _varint(len(payload)) + payload)


def _entry_proto(dtype: int, shape, offset: int, size: int, crc: int) -> bytes:
    dims = b"".join(_bytes_field(2, _field(1, 0, _varint(d))) for d in shape)
    return (
        _field(1, 0, _varint(dtype))
        + _bytes_field(2, dims)
        + _field(4, 0, _varint(offset))
        + _field(5, 0, _varint(size))
        + _field(6, 5, struct.pack("<I", crc))
    )


def _block(entries, restart_interval=2) -> bytes:
    """A LevelDB table block with prefix-compressed keys (written from the format description)."""
    out, restarts, previous = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_interval:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        else:
            restarts.append(len(out))
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value)) + key[shared:] + value
        previous = key
    out += b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))
    return bytes(out)


def _write_checkpoint(prefix, tensors: dict[str, np.ndarray]) -> None:
    """A one-shard TensorFlow checkpoint holding float32 ``tensors``."""
    data, entries = bytearray(), [(b"", _field(1, 0, _varint(1)))]
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name], dtype="<f4").tobytes()
        entries.append(
            (name.encode(), _entry_proto(1, tensors[name].shape, len(data), len(raw), checkpoint.masked_crc32c(raw)))
        )
        data += raw
    index = bytearray()

    def add_block(contents: bytes) -> bytes:
        handle = _varint(len(index)) + _varint(len(contents))
        trailer = bytes([0])
        index.extend(contents + trailer + struct.pack("<I", checkpoint.masked_crc32c(contents + trailer)))
        return handle

    data_handle = add_block(_block(entries))
    meta_handle = add_block(_block([]))
    index_handle = add_block(_block([(entries[-1][0] + b"\xff", data_handle)]))
    footer = (meta_handle + index_handle).ljust(40, b"\0") + struct.pack("<Q", checkpoint.TABLE_MAGIC)
    (prefix.parent / f"{prefix.name}.index").write_bytes(bytes(index) + footer)
    (prefix.parent / f"{prefix.name}.data-00000-of-00001").write_bytes(bytes(data))


def test_crc32c_check_value():
    # the standard CRC-32C check value (RFC 3720, appendix B.4)
    assert checkpoint.crc32c(b"123456789") == 0xE3069283
    assert checkpoint.crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720 test vector: 32 bytes of zeros


def test_read_checkpoint_of_hand_written_table(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {
        "conv1/kernel/.ATTRIBUTES/VARIABLE_VALUE": rng.normal(size=(3, 3, 1, 4)).astype(np.float32),
        "conv1/bias/.ATTRIBUTES/VARIABLE_VALUE": rng.normal(size=(4,)).astype(np.float32),
        "conv2/bias/.ATTRIBUTES/VARIABLE_VALUE": np.arange(5, dtype=np.float32),
    }
    _write_checkpoint(tmp_path / "variables", tensors)
    num_shards, entries = checkpoint.read_index(tmp_path / "variables")
    assert num_shards == 1 and set(entries) == set(tensors)
    assert entries["conv1/bias/.ATTRIBUTES/VARIABLE_VALUE"].shape == (4,)
    read = checkpoint.read_checkpoint(tmp_path / "variables")
    for name, value in tensors.items():
        np.testing.assert_array_equal(read[name], value)
        assert read[name].dtype == np.float32 and read[name].dtype.isnative


def test_checkpoint_corruption_is_reported(tmp_path):
    _write_checkpoint(tmp_path / "v", {"a": np.ones((2, 3), np.float32)})
    data = tmp_path / "v.data-00000-of-00001"
    raw = bytearray(data.read_bytes())
    raw[0] ^= 1
    data.write_bytes(bytes(raw))
    with pytest.raises(FormatError, match="checksum mismatch in tensor 'a'"):
        checkpoint.read_checkpoint(tmp_path / "v")
    data.write_bytes(bytes(raw[:10]))
    with pytest.raises(FormatError, match="past the end"):
        checkpoint.read_checkpoint(tmp_path / "v")
    data.unlink()
    with pytest.raises(FormatError, match="data file is missing"):
        checkpoint.read_checkpoint(tmp_path / "v")
    index = tmp_path / "v.index"
    index.write_bytes(index.read_bytes()[:-1] + b"\0")
    with pytest.raises(FormatError, match="bad table magic"):
        checkpoint.read_checkpoint(tmp_path / "v")


# -- weights ----------------------------------------------------------------------------------------


def test_wheel_in_cache_is_unpacked_on_first_use(tmp_path, monkeypatch):
    monkeypatch.setenv("ASTROMASK_CACHE", str(tmp_path))
    monkeypatch.setattr(weights, "_installed", lambda: None)
    with pytest.raises(weights.WeightsNotFoundError, match="python -m astromask.maximask"):
        weights.find_net_dir("maximask")
    wheel = tmp_path / "maximask" / "MaxiMask-1.4.1-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        for net in ("maximask", "maxitrack"):
            for name in ("variables.index", "variables.data-00000-of-00001"):
                archive.writestr(f"maximask_and_maxitrack/{net}/model/variables/{name}", b"")
        archive.writestr("maximask_and_maxitrack/maximask/config/classes.flags", "CR 1\n")
        archive.writestr("maximask_and_maxitrack/maximask/maximask.py", "code")
        archive.writestr("MaxiMask-1.4.1.dist-info/LICENSE", "MIT")
    net_dir = weights.find_net_dir("maxitrack")
    package = tmp_path / "maximask" / "1.4.1" / "maximask_and_maxitrack"
    assert net_dir == package / "maxitrack" / "model"
    assert (package / "maximask" / "config" / "classes.flags").is_file()
    assert not (package / "maximask" / "maximask.py").exists()  # models, configs and licence only
    assert (package.parent / "MaxiMask-1.4.1.dist-info" / "LICENSE").is_file()
    assert weights.checkpoint_prefix("maximask") == package / "maximask" / "model" / "variables" / "variables"
    with pytest.raises(weights.WeightsNotFoundError, match="not a maximask model directory"):
        weights.find_net_dir("maximask", tmp_path)


# -- normalisation ----------------------------------------------------------------------------------


def _numpy1_pairwise(values: np.ndarray) -> np.float32:
    """NumPy 1.x ``FLOAT_pairwise_sum`` (numpy/core/src/umath/loops_utils.h.src), in plain Python."""
    f = np.float32
    n = len(values)
    if n < 8:
        total = f(0)
        for v in values:
            total = f(total + v)
        return total
    if n <= 128:
        r = [f(v) for v in values[:8]]
        i = 8
        while i < n - n % 8:
            r = [f(r[j] + values[i + j]) for j in range(8)]
            i += 8
        total = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])))
        for v in values[i:]:
            total = f(total + v)
        return total
    half = n // 2
    half -= half % 8
    return f(_numpy1_pairwise(values[:half]) + _numpy1_pairwise(values[half:]))


@pytest.mark.parametrize("size", [5, 100, 1000, 8192, 20000], ids=lambda n: f"n{n}")
def test_numpy1_sum_matches_numpy1_algorithm(size):
    values = np.random.default_rng(size).normal(800, 15, size).astype(np.float32)
    expected = np.float32(0)
    for start in range(0, size, 8192):  # NumPy 1.x reduced in buffer-sized chunks
        expected = np.float32(expected + _numpy1_pairwise(values[start : start + 8192]))
    assert normalise._numpy1_sum(values) == expected


def test_mean_and_std_match_numpy_below_one_chunk():
    values = np.random.default_rng(1).normal(800, 15, 5000).astype(np.float32)
    assert normalise._mean32(values) == np.mean(values)
    assert normalise._std32(values) == np.std(values)


def test_mesh_starts_centre_the_meshes():
    assert normalise.mesh_starts(1000).tolist() == [0, 200, 400, 600, 800]
    assert normalise.mesh_starts(1059).tolist() == [29, 229, 429, 629, 829]


def test_mesh_level_clips_outliers_and_handles_empty_meshes():
    rng = np.random.default_rng(2)
    mesh = rng.normal(1000.0, 10.0, (200, 200)).astype(np.float32)
    mesh[:5, :5] = 60000  # a star
    level, sigma = normalise._mesh_level(mesh)
    clean = mesh[mesh < 2000]
    assert abs(level - clean.mean()) < 0.5 and abs(sigma - clean.std()) < 0.5
    assert normalise._mesh_level(np.zeros((200, 200), np.float32)) == (0.0, 1.0)


def test_grid_outliers_are_replaced_by_neighbour_means():
    grid = np.full((4, 5), 10.0) + np.arange(20).reshape(4, 5) * 0.01
    grid[1, 2] = 500.0
    outliers = normalise._outlier_nodes(grid)
    assert outliers.sum() == 1 and outliers[1, 2]
    expected = (grid[0:3, 1:4].sum() - 500.0) / 8
    normalise._fill_outliers(grid, outliers)
    assert grid[1, 2] == pytest.approx(expected, rel=1e-12)


def test_normalise_flattens_background_and_clips():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:600, 0:650]
    image = (1000 + 0.05 * xx + 0.02 * yy + rng.normal(0, 20, (600, 650))).astype(np.float32)
    image[10, 10], image[20, 20], image[30, 30] = np.nan, np.inf, -np.inf
    out = normalise.normalise(image)
    assert out.dtype == np.float32 and out.shape == image.shape
    core = out[100:-100, 100:-100]
    assert abs(np.median(core)) < 0.05 and abs(core.std() - 1) < 0.05
    level, sigma = normalise.background(np.clip(np.nan_to_num(image, nan=0), -500, 80000))
    assert out[20, 20] == pytest.approx((80000 - level[20, 20]) / sigma[20, 20], rel=1e-5)
    assert out[30, 30] == pytest.approx((-500 - level[30, 30]) / sigma[30, 30], rel=1e-5)
    assert out[10, 10] == pytest.approx(-level[10, 10] / sigma[10, 10], rel=1e-5)
    cube = normalise.normalise(np.stack([image, 2 * image]))
    np.testing.assert_array_equal(cube[0], out)


# -- tiling -----------------------------------------------------------------------------------------


def _original_write_back(out, res, x, y):
    """The original's nine-branch write-back (``process_batch``), transcribed."""
    h, w = out.shape
    s, q = 400, 100
    out[q + y : y + s - q, q + x : x + s - q] = res[q : s - q, q : s - q]
    if x == 0:
        out[q + y : y + s - q, x : x + q] = res[q : s - q, :q]
    if y == 0:
        out[y : y + q, q + x : x + s - q] = res[:q, q : s - q]
    if x == w - s:
        out[q + y : y + s - q, x + s - q : x + s] = res[q : s - q, s - q : s]
    if y == h - s:
        out[y + s - q : y + s, q + x : x + s - q] = res[s - q : s, q : s - q]
    if x == 0 and y == 0:
        out[y : y + q, x : x + q] = res[:q, :q]
    if x == 0 and y == h - s:
        out[y + s - q : y + s, x : x + q] = res[s - q : s, :q]
    if x == w - s and y == 0:
        out[y : y + q, x + s - q : x + s] = res[:q, s - q : s]
    if x == w - s and y == h - s:
        out[y + s - q : y + s, x + s - q : x + s] = res[s - q : s, s - q : s]


@pytest.mark.parametrize(
    "shape, count", [((2046, 4094), 200), ((1059, 1059), 25), ((1000, 1100), 25)], ids=["decam", "1059", "synth"]
)
def test_patch_coords_count_and_order(shape, count):
    coords = inference.patch_coords(*shape)
    assert len(coords) == count  # reference: 200 patches for 4094x2046, 25 for 1059x1059
    h, w = shape
    assert coords[0] == (0, 0) and coords[-1] == (w - 400, h - 400)
    assert all(0 <= x <= w - 400 and 0 <= y <= h - 400 for x, y in coords)


@pytest.mark.parametrize("shape", [(1000, 1100), (1059, 1059), (401, 800)], ids=str)
def test_stitching_matches_original_write_back_and_covers_every_pixel(shape):
    coords = inference.patch_coords(*shape)
    original = np.full(shape, -1)
    for _i, (x, y) in enumerate(coords):  # a patch result that depends on the patch only
        _original_write_back(original, np.full((400, 400), 10000 * x + y), x, y)
    ours = np.full(shape, -1)
    for x, y in inference.unique_last(coords):
        inference.write_back(ours, np.full((400, 400), 10000 * x + y), x, y)
    np.testing.assert_array_equal(ours, original)
    assert (ours >= 0).all()


def test_duplicate_patches_are_run_once():
    # 1000 rows: the extra bottom row y = 600 repeats the last regular row (4 patches), and the
    # corner (700, 600) repeats the last patch of the extra right column
    coords = inference.patch_coords(1000, 1100)
    assert len(coords) == 25 and len(set(coords)) == 20 == len(inference.unique_last(coords))


@pytest.mark.parametrize("shape, count", [((1059, 1059), 4), ((2046, 4094), 50)], ids=["1059", "decam"])
def test_maxitrack_blocks_anchored_bottom_right(shape, count):
    coords = maxitrack.block_coords(*shape)
    assert len(coords) == count  # reference: 4 blocks for 1059x1059, 50 for 4094x2046
    assert coords[-1] == (shape[1] - 400, shape[0] - 400)


def test_maxitrack_prior_formula():
    r = np.array([0.5, 0.9, 0.01], np.float32)
    expected = [x / (x + 19 * (1 - x)) for x in (0.5, 0.9, 0.01)]  # (1 - 0.05) / 0.05 = 19
    np.testing.assert_allclose(maxitrack.prior_adjust(r, 0.05), expected, rtol=1e-6)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        maxitrack.prior_adjust(r, 1.0)


# -- classes and config files -----------------------------------------------------------------------

# "raw" column of the class table in ../shared/reference/maximask.md: the raw probability
# t f / (1 - t + t f) at which each default threshold t is reached after the prior change
RAW_THRESHOLDS = [
    0.9384,
    0.9993,
    0.9991,
    0.9987,
    0.99999,
    0.9493,
    0.9781,
    0.9978,
    0.9962,
    0.8951,
    0.9149,
    0.9702,
    0.5048,
    0.0261,
]


def test_prior_factors_reproduce_reference_raw_thresholds():
    cfg = config.ClassConfig.default()
    f = cfg.prior_factors().astype(np.float64)
    t = cfg.thresholds.astype(np.float64)
    raw = t * f / (1 - t + t * f)
    np.testing.assert_allclose(raw, RAW_THRESHOLDS, atol=6e-5)


def test_single_mask_powers_skip_background():
    cfg = config.ClassConfig.default(classes=["CR", "SAT", "BG"], single_mask=True)
    assert cfg.names == ["CR", "SAT", "BG"]
    assert cfg.powers().tolist() == [1.0, 512.0, 0.0]


def _write_config(directory, flags=None, priors=None, thresh=None):
    names = config.CLASS_NAMES
    values = {
        "flags": flags or [1] * 14,
        "priors": priors or config.DEFAULT_PRIORS.tolist(),
        "thresh": thresh or config.DEFAULT_THRESHOLDS.tolist(),
    }
    for key, vals in values.items():
        (directory / f"classes.{key}").write_text("".join(f"{n} {v}\n" for n, v in zip(names, vals)))


def test_read_config_original_syntax(tmp_path):
    flags = [1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1]
    _write_config(tmp_path, flags=flags, thresh=[0.5] * 14)
    cfg = config.read_config(tmp_path)
    assert cfg.names == ["CR", "SAT", "BG"]
    assert cfg.thresholds.tolist() == [0.5] * 14 and cfg.priors.dtype == np.float32
    # only the order of the lines matters: names are not checked (the README even shows STL for TRL)
    (tmp_path / "classes.flags").write_text("".join(f"XX {v}\n" for v in flags))
    assert config.read_config(tmp_path).names == ["CR", "SAT", "BG"]
    assert config.read_config(tmp_path, prior_modif=False, proba_thresh=False).priors is None


@pytest.mark.parametrize(
    "content, message",
    [
        ("CR 1\n" * 13, "one line per class .14 lines., has 13"),
        ("CR 1\n" * 14 + "\n", "has 15"),
        ("CR 1\n" * 13 + "BG\n", "line 14 is not 'NAME value'"),
        ("CR 1\n" * 13 + "BG 1.0\n", "line 14: '1.0' is not an integer flag"),
        ("CR 0\n" * 14, "no output class requested"),
    ],
    ids=["13-lines", "blank-line", "no-value", "float-flag", "all-zero"],
)
def test_read_config_errors(tmp_path, content, message):
    _write_config(tmp_path)
    (tmp_path / "classes.flags").write_text(content)
    with pytest.raises(ValueError, match=message):
        config.read_config(tmp_path)


def test_read_config_missing_file_and_bad_values(tmp_path):
    _write_config(tmp_path)
    (tmp_path / "classes.thresh").unlink()
    config.read_config(tmp_path, proba_thresh=False)  # not read when not needed
    with pytest.raises(FileNotFoundError, match="classes.thresh"):
        config.read_config(tmp_path)
    _write_config(tmp_path, priors=[0.0] + [0.5] * 13)
    with pytest.raises(ValueError, match="strictly between 0 and 1; not so for CR"):
        config.read_config(tmp_path)
    with pytest.raises(ValueError, match="single mask needs thresholds"):
        config.read_config(tmp_path, prior_modif=False, proba_thresh=False, single_mask=True)
    with pytest.raises(ValueError, match="unknown MaxiMask class 'XX'"):
        config.ClassConfig.default(classes=["CR", "XX"])


# -- file rules -------------------------------------------------------------------------------------


def test_output_names():
    assert files.output_name("a/img.fits.fz") == "a/img.mask.fits"
    assert files.output_name("img.fits.gz", 3) == "img.mask3.fits"
    # the original replaced '.fits' in the whole path, directories included
    assert files.output_name("run.fits/img.fits") == "run.fits/img.mask.fits"


def test_input_files(tmp_path):
    for name in ("b.fits", "a.fits.fz", "a.mask.fits", "notes.txt", "c.fits.gz"):
        (tmp_path / name).write_bytes(b"")
    (tmp_path / "sub.fits").mkdir()
    assert files.input_files(str(tmp_path)) == [str(tmp_path / n) for n in ("a.fits.fz", "b.fits", "c.fits.gz")]
    listing = tmp_path / "in.list"
    listing.write_text(f"{tmp_path / 'b.fits'}\n\nc.fits.gz\n{tmp_path / 'a.fits.fz'}[1]\n")  # c: beside the list
    assert files.input_files(str(listing)) == [str(tmp_path / n) for n in ("b.fits", "c.fits.gz", "a.fits.fz[1]")]
    listing.write_text(f"{tmp_path / 'b.fits'}\n{tmp_path / 'missing.fits'}\n")
    with pytest.raises(FormatError, match="missing.fits: no such file"):  # the original dropped it in silence
        files.input_files(str(listing))
    assert files.input_files(f"{tmp_path / 'b.fits'}[2]") == [f"{tmp_path / 'b.fits'}[2]"]
    with pytest.raises(ValueError, match="not a FITS file"):
        files.input_files(str(tmp_path / "notes.txt"))
    with pytest.raises(FileNotFoundError, match="no such file"):
        files.input_files(str(tmp_path / "nothere.fits"))


@pytest.mark.parametrize(
    "data, expected",
    [
        (np.zeros((401, 402), np.float32), True),
        (np.zeros((400, 402), np.float32), False),  # strictly larger than 400
        (np.zeros((401, 401), np.int16), True),
        (np.zeros((401, 401), np.uint16), True),  # int16 with BZERO
        (np.zeros((401, 401), np.uint8), False),  # rejected by the original
        (np.zeros((3, 500, 450), np.float32), True),  # the original tested channels and rows of cubes
        (np.zeros((500, 300, 450), np.float32), False),
        (np.zeros(500, np.float32), False),
    ],
    ids=["f32", "400", "i16", "u16", "u8", "cube", "cube-short", "1d"],
)
def test_processable(data, expected):
    assert files.processable(fits.ImageHDU(data)) is expected


def test_processable_tables_and_empty_primary():
    assert not files.processable(fits.PrimaryHDU())
    assert not files.processable(fits.BinTableHDU.from_columns([fits.Column("a", "E", array=np.zeros(3))]))


def test_header_cards_follow_the_original():
    cards = files.maximask_cards(config.ClassConfig.default(single_mask=True))
    assert cards["PRIORS"] == "Yes" and cards["THRESH"] == "Yes" and cards["SMASK"] == "Yes"
    assert cards["CR"] == "CR: Cosmic Rays" and cards["CR_DIM"] == "0" and cards["BG_DIM"] == "13"
    assert cards["CR_PR"] == "0.00" and cards["BBG_PR"] == "0.10" and cards["CR_TH"] == "0.43"
    assert cards["CR_SM"] == "1.0" and cards["BBG_SM"] == "4096.0" and cards["BG_SM"] == "0.0"
    raw = files.maximask_cards(config.ClassConfig.default(prior_modif=False, proba_thresh=False))
    assert raw["PRIORS"] == "No" and "CR_PR" not in raw and "CR_TH" not in raw and "CR_SM" not in raw


# -- pipeline with stand-in networks ----------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def _fake_logits(x):
    """Logits of the stand-in MaxiMask network: class k gets x (k - 6.5) / 4 + (k - 6.5) / 8."""
    k = (np.arange(14, dtype=np.float32) - np.float32(6.5))[:, None, None]
    return x * k / np.float32(4) + k / np.float32(8)


def _make_fake_maximask(torch, calls):
    class FakeMaxiMask(torch.nn.Module):
        def forward(self, x):
            calls.append(x.shape[0])
            k = (torch.arange(14, dtype=x.dtype) - 6.5).view(1, 14, 1, 1)
            return x * k / 4 + k / 8

    return FakeMaxiMask()


def _expected(image, cfg):
    """The original's post-processing of the stand-in logits, in NumPy."""
    logits = _fake_logits(normalise.normalise(image))[cfg.selected]
    p = expit(logits.astype(np.float64)).astype(np.float32)
    f = cfg.prior_factors()
    if f is not None:
        f = f[:, None, None]
        p = p / (p + f * (np.float32(1) - p))
    if cfg.thresholds is None:
        return p
    m = p > cfg.thresholds[cfg.flags][:, None, None]
    if cfg.single_mask:
        return (m * cfg.powers()[:, None, None]).sum(0).astype(np.int16)
    return m.astype(np.uint8)


@pytest.fixture
def image():
    rng = np.random.default_rng(7)
    im = rng.normal(500, 20, (420, 470)).astype(np.float32)
    im[100:103, :] = 30000  # a bright column-like feature
    return im


@pytest.mark.parametrize(
    "cfg",
    [
        config.ClassConfig.default(),
        config.ClassConfig.default(prior_modif=False, proba_thresh=False),
        config.ClassConfig.default(proba_thresh=False),
        config.ClassConfig.default(classes=["CR", "SAT", "BG"], single_mask=True),
        config.ClassConfig.default(prior_modif=False),
    ],
    ids=["masks", "raw", "priors-only", "single", "thresh-only"],
)
def test_predict_with_stand_in_network(torch, image, cfg):
    mm = inference.MaxiMask.from_net(_make_fake_maximask(torch, []), device="cpu", batch_size=3)
    out = mm.predict(image, cfg)
    expected = _expected(image, cfg)
    assert out.dtype == expected.dtype and out.shape == expected.shape
    if out.dtype == np.float32:
        np.testing.assert_allclose(out, expected, rtol=2e-7, atol=1e-12)
    else:
        np.testing.assert_array_equal(out, expected)


def test_predict_cube_and_all_zero_plane(torch, image):
    calls = []
    mm = inference.MaxiMask.from_net(_make_fake_maximask(torch, calls), device="cpu", batch_size=8)
    out = mm.predict(np.stack([image, np.zeros_like(image)]))
    assert out.shape == (2, 14, 420, 470) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], _expected(image, config.ClassConfig.default()))
    assert not out[1].any()  # all-zero data: zeros of the output's shape (the original gave one 2-D plane)
    assert sum(calls) == 4  # the zero plane is not run


def test_partial_batch_run_once(torch):
    calls = []
    mm = inference.MaxiMask.from_net(_make_fake_maximask(torch, calls), device="cpu", batch_size=8)
    mm._plane(np.zeros((1059, 1059), np.float32), config.ClassConfig.default(classes="CR"))
    # 25 patches: batches of 8, 8, 8 and 1 (the original ran the last one after every full batch: 27)
    assert calls == [8, 8, 8, 1]


def test_mask_api(torch, image):
    mm = inference.MaxiMask.from_net(_make_fake_maximask(torch, []), device="cpu")
    cfg = config.ClassConfig.default(classes=["CR", "HP", "BG"])
    mask = mm.mask(image, cfg)
    assert isinstance(mask, astromask.Mask) and mask.schema.names == ["CR", "HP"]
    expected = _expected(image, cfg)
    np.testing.assert_array_equal(mask.get("CR"), expected[0] == 1)
    np.testing.assert_array_equal(mask.get("HP"), expected[1] == 1)
    with pytest.raises(ValueError, match="larger than 400x400"):
        mm.predict(np.ones((400, 500)))


def _make_fake_maxitrack(torch):
    class FakeMaxiTrack(torch.nn.Module):
        def forward(self, x):  # score of a block: sigmoid of its mean
            s = torch.sigmoid(x.mean(dim=(1, 2, 3)))
            return torch.stack([1 - s, s], dim=1)

    return FakeMaxiTrack()


@pytest.mark.parametrize("batch_size", [1, 4, 16], ids=lambda b: f"batch{b}")
def test_maxitrack_every_block_scored_in_place(torch, batch_size):
    # 15 blocks: with batch 4 the original put the last 3 scores over earlier ones and left zeros
    rng = np.random.default_rng(5)
    image = rng.normal(100, 5, (1246, 2046)).astype(np.float32)
    image[1000:1200, 1700:1900] += 400
    mt = maxitrack.MaxiTrack.from_net(_make_fake_maxitrack(torch), device="cpu", batch_size=batch_size)
    norm = normalise.normalise(image)
    coords = maxitrack.block_coords(*image.shape)
    means = np.array([norm[y : y + 400, x : x + 400].astype(np.float64).mean() for x, y in coords])
    raw = 1 / (1 + np.exp(-means))
    np.testing.assert_allclose(mt.block_scores(norm, None), raw, rtol=1e-5)
    expected = np.mean(raw / (raw + 19 * (1 - raw)))
    assert mt.score(image) == pytest.approx(expected, rel=1e-5)


# -- command lines ----------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch, torch):
    """``astromask maximask|maxitrack`` with stand-in networks."""
    from astromask import maximask as api
    from astromask.cli import maximask as module

    monkeypatch.setitem(astromask.cli.COMMANDS, "maximask", module)
    monkeypatch.setitem(astromask.cli.COMMANDS, "maxitrack", module)
    monkeypatch.setattr(
        api,
        "load_maximask",
        lambda net_dir, device, batch_size: inference.MaxiMask.from_net(
            _make_fake_maximask(torch, []), device="cpu", batch_size=batch_size
        ),
    )
    monkeypatch.setattr(
        api,
        "load_maxitrack",
        lambda net_dir, device, batch_size: maxitrack.MaxiTrack.from_net(
            _make_fake_maxitrack(torch), device="cpu", batch_size=batch_size
        ),
    )

    def run(capsys, *argv):
        code = astromask.cli.main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _wcs_header():
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [150.0, 2.0]
    w.wcs.crpix = [200.0, 210.0]
    w.wcs.cdelt = [-7e-5, 7e-5]
    return w.to_header()


@pytest.fixture
def mef(tmp_path, image):
    """A file with an empty primary, a processable image with WCS, a small image and a table."""
    header = _wcs_header()
    header["EXTNAME"] = "SCI"
    hdus = fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(image, header=header),
            fits.ImageHDU(np.full((20, 30), 40000, np.uint16), name="SMALL"),
            fits.BinTableHDU.from_columns([fits.Column("a", "E", array=np.arange(3.0))], name="TAB"),
        ]
    )
    path = tmp_path / "img.fits"
    hdus.writeto(path)
    return path


def test_cli_maximask_file_layout_headers_and_overwrite(cli, capsys, mef, image):
    code, stdout, err = cli(capsys, "maximask", mef)
    assert code == 0, err
    out = mef.parent / "img.mask.fits"
    assert stdout == f"wrote {out}\n"
    with fits.open(out) as h:
        assert [type(x).__name__ for x in h] == ["PrimaryHDU", "ImageHDU", "ImageHDU", "BinTableHDU"]
        sci = h[1]
        assert sci.name == "SCI" and sci.data.shape == (14, 420, 470) and sci.data.dtype == np.uint8
        np.testing.assert_array_equal(sci.data, _expected(image, config.ClassConfig.default()))
        assert sci.header["THRESH"] == "Yes" and sci.header["SAT_DIM"] == "9" and "MM_UTC" in sci.header
        assert WCS(sci.header).celestial.wcs.crval.tolist() == [150.0, 2.0]  # the original dropped the WCS
        assert (h["SMALL"].data == 40000).all() and "MM_UTC" not in h["SMALL"].header  # copied whole
        assert h["TAB"].data["a"].tolist() == [0.0, 1.0, 2.0]  # the original put the previous HDU here
    mask = astromask.read(out)
    np.testing.assert_array_equal(mask.get("SAT"), _expected(image, config.ClassConfig.default())[9] == 1)
    code, _, err = cli(capsys, "maximask", mef)
    assert code == 1 and "img.mask.fits: output file exists" in err
    assert cli(capsys, "maximask", mef, "--overwrite")[0] == 0


def test_cli_maximask_one_hdu_single_mask(cli, capsys, mef, image):
    code, _, err = cli(capsys, "maximask", f"{mef}[SCI]", "--single_mask", "yes", "--batch_size", "2")
    assert code == 0, err
    with fits.open(mef.parent / "img.mask1.fits") as h:
        assert len(h) == 1 and h[0].data.dtype.kind == "i" and h[0].data.dtype.itemsize == 2  # in the primary
        cfg = config.ClassConfig.default(single_mask=True)
        np.testing.assert_array_equal(h[0].data, _expected(image, cfg))
        assert h[0].header["SMASK"] == "Yes" and h[0].header["TRL_SM"] == "64.0"
    mask = astromask.read(mef.parent / "img.mask1.fits")
    np.testing.assert_array_equal(mask.array, _expected(image, cfg).astype(np.uint16))


def test_cli_maximask_probabilities_and_config_dir(cli, capsys, mef, image, tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    _write_config(conf, flags=[1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    code, _, err = cli(capsys, "maximask", mef, "--config_dir", conf, "--proba_thresh", "False", "--prior_modif", "n")
    assert code == 0, err
    with fits.open(mef.parent / "img.mask.fits") as h:
        cfg = config.read_config(conf, prior_modif=False, proba_thresh=False)
        assert h[1].data.dtype.kind == "f" and h[1].data.dtype.itemsize == 4 and h[1].data.shape == (2, 420, 470)
        np.testing.assert_allclose(h[1].data, _expected(image, cfg), rtol=2e-7)
        assert h[1].header["PRIORS"] == "No" and h[1].header["SAT_DIM"] == "1" and "HCL" not in h[1].header


def test_cli_maximask_errors(cli, capsys, tmp_path, mef):
    conf = tmp_path / "conf"
    conf.mkdir()
    _write_config(conf)
    (conf / "classes.priors").write_text("CR 0.1\n")
    code, _, err = cli(capsys, "maximask", mef, "--config_dir", conf)
    assert code == 1 and "classes.priors: must have one line per class" in err
    code, _, err = cli(capsys, "maximask", mef, "--single_mask", "yes", "--proba_thresh", "no")
    assert code == 1 and "single mask needs thresholds" in err
    code, _, err = cli(capsys, "maximask", mef, "--prior_modif", "maybe")
    assert code == 2 and "boolean value expected" in err
    code, _, err = cli(capsys, "maximask", mef, "--batch_size", "0")
    assert code == 2 and "must be at least 1" in err
    code, _, err = cli(capsys, "maximask", tmp_path / "none.fits")
    assert code == 1 and "no such file" in err
    small = tmp_path / "small.fits"
    fits.PrimaryHDU(np.ones((50, 50), np.float32)).writeto(small)
    code, _, err = cli(capsys, "maximask", small)
    # refused before any work, saying why: never exit 0 with nothing written
    assert code == 1 and not (tmp_path / "small.mask.fits").exists()
    fits.PrimaryHDU(np.ones((30, 500), np.float32)).writeto(tmp_path / "strip.fits")
    code, _, err = cli(capsys, "maximask", tmp_path / "strip.fits")
    assert err.strip() == (
        f"astromask maximask: error: {tmp_path / 'strip.fits'}: no HDU that MaxiMask can process: "
        "it needs 2-D images or (C, H, W) cubes larger than 400x400 pixels, of a numeric type; "
        "its images are 500x30 (width x height)"
    )
    code, _, err = cli(capsys, "maximask", tmp_path)  # a directory holding a good and a small file
    assert code == 1 and "small.fits: no HDU that MaxiMask can process" in err
    assert not (tmp_path / "img.mask.fits").exists()  # nothing was computed for the good one either
    code, _, err = cli(capsys, "maxitrack", small)
    assert code == 1 and "no HDU that MaxiMask can process" in err
    # the library functions refuse too, rather than return nothing
    with pytest.raises(AstromaskError, match="small.fits: no HDU that MaxiMask can process"):
        files.maximask_file(None, str(small), config.ClassConfig.default())
    with pytest.raises(AstromaskError, match="small.fits: no HDU that MaxiMask can process"):
        files.maxitrack_file(None, str(small), prior=0.05)


def test_cli_maxitrack_appends_lines(cli, capsys, tmp_path, monkeypatch, image):
    monkeypatch.chdir(tmp_path)
    fits.PrimaryHDU(image).writeto("a.fits")
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.stack([image, image[::-1]]))]).writeto("cube.fits")
    listing = tmp_path / "in.list"
    listing.write_text("a.fits\ncube.fits\n")
    for _ in range(2):
        code, _, err = cli(capsys, "maxitrack", listing)
        assert code == 0, err
    lines = (tmp_path / "maxitrack.out").read_text().splitlines()
    score = maxitrack.MaxiTrack.from_net(_make_fake_maxitrack(pytest.importorskip("torch")), device="cpu").score(image)
    assert lines[0] == f"a.fits {score:.4f}"
    assert lines[1] == f"cube.fits HDU 1 Channel 0 {score:.4f}" and lines[2].startswith("cube.fits HDU 1 Channel 1 ")
    assert lines[3:] == lines[:3]  # appended, as the original
    code, _, err = cli(capsys, "maxitrack", "a.fits", "--frac", "1.5")
    assert code == 2 and "must be in (0, 1]" in err
    code, _, err = cli(capsys, "maxitrack", "a.fits", "--prior_value", "0.5", "-o", "other.out", "--seed", "1")
    assert code == 0 and (tmp_path / "other.out").read_text().startswith("a.fits ")


def test_frac_draws_with_seed(torch, tmp_path, image):
    path = tmp_path / "many.fits"
    fits.HDUList([fits.PrimaryHDU()] + [fits.ImageHDU(image + i) for i in range(4)]).writeto(path)
    mt = maxitrack.MaxiTrack.from_net(_make_fake_maxitrack(torch), device="cpu")
    first = files.maxitrack_file(mt, str(path), prior=0.05, frac=0.5, rng=random.Random(3))
    again = files.maxitrack_file(mt, str(path), prior=0.05, frac=0.5, rng=random.Random(3))
    assert first == again and len(first) == 1
    scores = [mt.score(image + i) for i in range(4)]
    chosen = random.Random(3).sample([1, 2, 3, 4], 2)
    assert first[0] == f"{path} {np.mean([scores[i - 1] for i in chosen]):.4f}"


def test_missing_weights_and_torch_say_how_to_get_them(monkeypatch, tmp_path, capsys):
    from astromask import maximask as api
    from astromask.cli import maximask as module

    monkeypatch.setitem(astromask.cli.COMMANDS, "maximask", module)
    monkeypatch.setenv("ASTROMASK_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(api.weights, "_installed", lambda: None)
    fits.PrimaryHDU(np.ones((401, 401), np.float32)).writeto(tmp_path / "a.fits")
    api.load_maximask.cache_clear()
    if api.torch_available():
        code = astromask.cli.main(["maximask", str(tmp_path / "a.fits")])
        err = capsys.readouterr().err
        assert code == 1 and "maximask weights not found: run 'python -m astromask.maximask'" in err
    assert not api.available()
    monkeypatch.setattr(api, "torch_available", lambda: False)
    api.load_maximask.cache_clear()
    code = astromask.cli.main(["maximask", str(tmp_path / "a.fits")])
    assert code == 1 and "pip install 'astromask[cnn]'" in capsys.readouterr().err


# -- numeric path -----------------------------------------------------------------------------------


def test_importing_maximask_pins_the_numeric_path():
    from astromask.maximask import numerics

    for key, value in numerics.PINNED_ENVIRONMENT.items():
        assert os.environ[key] == value
    with pytest.raises(AstromaskError, match="numeric path must be one of pinned, fast, got 'exact'"):
        numerics.use("exact")


def test_fast_path_gives_the_environment_back_and_cannot_change_once_set():
    import subprocess
    import sys

    pytest.importorskip("torch")
    script = """
import os, warnings
os.environ["MKL_CBWR"] = "AUTO"
os.environ.pop("ONEDNN_MAX_CPU_ISA", None)
from astromask.maximask import numerics
assert os.environ["MKL_CBWR"] == "COMPATIBLE,STRICT" and os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"
numerics.use("fast")
assert os.environ["MKL_CBWR"] == "AUTO" and "ONEDNN_MAX_CPU_ISA" not in os.environ
state = numerics.ensure("cpu")
assert state.path == "fast" and numerics.state() is state
try:
    numerics.use("pinned")
except Exception as exc:
    print(type(exc).__name__, exc)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "AstromaskError the numeric path is already 'fast' in this process: a network "
        "has run; choose 'pinned' before the first one"
    )


def test_pin_after_other_pytorch_work_warns():
    import subprocess
    import sys

    pytest.importorskip("torch")
    script = """
import warnings, torch
torch.ones(4).sum()  # ATen chooses its kernels now, before astromask's pin
from astromask.maximask import numerics
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    state = numerics.ensure("cpu")
print(state.aten == "AVX2", [w.category.__name__ for w in caught])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    aten_pinned, warned = done.stdout.split(" ", 1)
    # on a CPU whose best ATen kernels are AVX2 the early choice is the pinned one anyway
    assert warned.strip() == ("[]" if aten_pinned == "True" else "['NumericsWarning']")
