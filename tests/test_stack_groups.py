"""Stack features beyond KBMOD: global masks per night or header group, NO_DATA from reprojected
pixels with the usable fraction and ``min_usable``, and masked exposures streamed by ``iter_masked``."""

import doctest
import gc
import tracemalloc
import weakref

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from astropy.time import Time

import astromask
from astromask import MaskedImage, get_schema
from astromask.errors import AstromaskError, FormatError, ParameterError
from astromask.stack import StackConfig, run_stack
from astromask.stack import groups as groups_module
from astromask.stack import iterate as iterate_module
from astromask.stack.groups import night_of
from astromask.stack.iterate import iter_masked

RUBIN = get_schema("rubin")


def exposure(seed, shape=(24, 30), *, cr=(), mjd=None, **cards):
    """An afw-style masked image: noise, variance 1, CR at the ``cr`` pixels, header cards."""
    rng = np.random.default_rng(seed)
    metadata = fits.Header()
    if mjd is not None:
        metadata["MJD-OBS"] = mjd
    for key, value in cards.items():
        metadata[key.replace("_", "-")] = value
    mi = MaskedImage(
        rng.normal(size=shape).astype(np.float32),
        schema=RUBIN,
        variance=np.ones(shape, np.float32),
        metadata=metadata,
    )
    for pixel in cr:
        mi.mask.set("CR", pixel)
    return mi


def write_all(directory, images):
    directory.mkdir(parents=True, exist_ok=True)
    names = []
    for i, image in enumerate(images):
        names.append(str(directory / f"exp{i}.fits"))
        astromask.write(image, names[-1], format="afw")
    return names


# -- nights ---------------------------------------------------------------------------------------


def test_groups_doctests():
    assert doctest.testmod(groups_module).failed == 0


def civil_date(mjd, hours):
    """Independent reference: the UTC calendar date of MJD + hours, through astropy's ISO string."""
    return Time(mjd + hours / 24.0, format="mjd", scale="utc").iso[:10]


@pytest.mark.parametrize("mjd", [60500.0, 60500.49, 60500.51, 60500.99, 60501.2])
def test_night_is_the_date_at_the_offset(mjd):
    header = fits.Header({"MJD-OBS": mjd})
    assert night_of([header], None, "e") == civil_date(mjd, -12)  # Rubin's day_obs without a site
    assert night_of([header], 3.5, "e") == civil_date(mjd, 3.5)
    # a site's longitude gives its local mean noon: Cerro Pachon (-70.74 deg) is UTC - 4.716 h
    site = fits.Header({"MJD-OBS": mjd, "OBSGEO-L": -70.74})
    assert night_of([site], None, "e") == civil_date(mjd, -70.74 / 15 - 12)


def test_night_from_geocentric_site_and_iso_dates():
    # Mauna Kea (lon -155.47) given as geocentric metres, time as DATE-OBS
    lon = np.radians(-155.47)
    x, y = 6378137 * np.cos(lon) * 0.3, 6378137 * np.sin(lon) * 0.3
    header = fits.Header({"DATE-OBS": "2024-07-06T20:30:00", "OBSGEO-X": x, "OBSGEO-Y": y, "OBSGEO-Z": 2e6})
    # 20:30 UTC is 10:08 local time: still the night that began on the 5th
    assert night_of([header], None, "e") == "2024-07-05"
    header["DATE-OBS"] = "2024-07-06T22:30:00"  # 12:08 local: past noon, the night of the 6th
    assert night_of([header], None, "e") == "2024-07-06"
    with pytest.raises(FormatError, match="e.fits: no MJD-OBS"):
        night_of([fits.Header()], None, "e.fits")
    with pytest.raises(FormatError, match="not a time"):
        night_of([fits.Header({"DATE-OBS": "yesterday"})], None, "e.fits")


def test_global_mask_counts_each_night_once(tmp_path):
    # night A: three exposures with a CR at (3, 3); night B: one, CR at (8, 8) as in one of A's
    a, b = 60500.10, 60500.60  # 2024-07-09 02:24 and 14:24 UTC: nights 07-08 and 07-09 at Rubin's offset
    images = [
        exposure(0, cr=[(3, 3), (8, 8)], mjd=a),
        exposure(1, cr=[(3, 3)], mjd=a + 0.05),
        exposure(2, cr=[(3, 3)], mjd=a + 0.10),
        exposure(3, cr=[(8, 8)], mjd=b),
    ]
    names = write_all(tmp_path / "in", images)
    per_image = run_stack(names, tmp_path / "images", StackConfig(repeated_flag_keys=["CR"], mask_grow=0))
    assert per_image.counts[3, 3] == 3 and per_image.counts[8, 8] == 2
    assert set(zip(*np.nonzero(per_image.global_mask))) == {(3, 3), (8, 8)}

    config = StackConfig(repeated_flag_keys=["CR"], mask_grow=0, group_by="night")
    per_night = run_stack(names, tmp_path / "nights", config)
    # (3, 3) is flagged on one night only, (8, 8) on both
    assert per_night.counts[3, 3] == 1 and per_night.counts[8, 8] == 2
    assert set(zip(*np.nonzero(per_night.global_mask))) == {(8, 8)}
    table = Table.read(tmp_path / "nights" / "stack_summary.ecsv")
    assert [str(g) for g in table["group"]] == ["2024-07-08"] * 3 + ["2024-07-09"]
    assert table.meta["n_groups"] == 2
    with fits.open(tmp_path / "nights" / "global_mask.fits") as hdul:
        cards = {k: v for hdu in hdul for k, v in hdu.header.items()}
    assert cards["GROUPBY"] == "night" and cards["NGROUPS"] == 2
    # the UTC date (offset 0) puts all four in one night: one vote each, nothing global
    one = run_stack(names, tmp_path / "one", StackConfig(**{**config.__dict__, "night_offset": 0.0}))
    assert one.counts.max() == 1 and not one.global_mask.any()


def test_group_by_a_header_key_and_its_errors(tmp_path, cli):
    images = [exposure(i, cr=[(2, 2)], FILTER=band) for i, band in enumerate("ggr")]
    names = write_all(tmp_path / "in", images)
    code, out, err = cli(
        "stack", *names, "--outdir", tmp_path / "out", "--repeated-flag-keys", "CR", "--group-by", "FILTER"
    )
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split()[:2] == ["file", "group"] and [line.split()[1] for line in lines[2:5]] == list("ggr")
    assert "in at least 2 groups" in lines[5]
    global_ = astromask.read(tmp_path / "out" / "global_mask.fits")
    assert global_.get("GLOBAL")[2, 2]  # g once and r once: 2 groups >= mask_num_images 2
    with fits.open(tmp_path / "out" / "global_mask.fits") as hdul:
        counts = next(h.data for h in hdul if h.name == "COUNT")
    assert counts[2, 2] == 2 and counts.sum() == 2
    # a key that one exposure lacks: one line naming the file and the key, nothing written
    del images[1].metadata["FILTER"]
    names = write_all(tmp_path / "in2", images)
    code, _, err = cli(
        "stack", *names, "--outdir", tmp_path / "out2", "--repeated-flag-keys", "CR", "--group-by", "FILTER"
    )
    assert code != 0 and len(err.strip().splitlines()) == 1
    assert "exp1.fits" in err and "FILTER" in err and "Traceback" not in err
    assert not (tmp_path / "out2").exists() or not any((tmp_path / "out2").iterdir())
    for bad in ("not a key!", "night owl"):
        with pytest.raises(ParameterError, match="group_by"):
            StackConfig(group_by=bad)
    with pytest.raises(ParameterError, match="night_offset"):
        StackConfig(group_by="night", night_offset=30)


# -- NO_DATA and the usable fraction ---------------------------------------------------------------


def reprojected(seed, covered, shape=(40, 50)):
    """An exposure reprojected onto a larger grid: NaN outside ``covered`` rows, and a band of
    zero-weight (variance 0) pixels inside it."""
    image = exposure(seed, shape)
    image.image[~covered] = np.nan
    image.variance[~covered] = np.nan
    image.variance[covered & (np.arange(shape[1]) % 17 == 0)] = 0.0
    return image


def test_no_data_plane_usable_fraction_and_min_usable(tmp_path, cli):
    shape = (40, 50)
    rows = np.arange(shape[0])[:, None] * np.ones(shape[1], bool)
    wide = reprojected(0, rows < 30)  # 30 of 40 rows covered
    narrow = reprojected(1, rows < 3)  # 3 of 40 rows: 7.5 % of the grid
    narrow.mask.set("BAD", (1, 1))  # a flagged pixel: NO_DATA is set only where no plane is
    narrow.image[1, 1] = np.nan
    names = write_all(tmp_path / "in", [wide, narrow])
    options = ["--mask-grow", "0", "--max-masked-pixels", "1", "--min-usable", "0.1"]
    code, out, err = cli("stack", *names, "--outdir", tmp_path / "out", *options)
    assert code == 0, err
    table = Table.read(tmp_path / "out" / "stack_summary.ecsv")
    printed = out.splitlines()[2].split()  # the terminal table: pixels without data, usable fraction
    assert printed[0] == "exp0.fits" and int(printed[4]) == table["n_no_data"][0]
    assert printed[6] == f"{100 * table['usable_fraction'][0]:.2f}%"
    for row, image in zip(table, (wide, narrow)):
        with np.errstate(invalid="ignore"):
            expected = ~(np.isfinite(image.image) & np.isfinite(image.variance) & (image.variance > 0))
        assert row["n_no_data"] == expected.sum()
        assert row["no_data_fraction"] == pytest.approx(expected.mean())
        assert row["usable_fraction"] == pytest.approx(1 - expected.mean())
    assert list(table["dropped"]) == [False, True]  # 7.5 % - 0.1 % usable < 10 %
    mask = astromask.read(tmp_path / "out" / "exp0_mask.fits")
    with np.errstate(invalid="ignore"):
        expected = ~(np.isfinite(wide.image) & np.isfinite(wide.variance) & (wide.variance > 0))
    np.testing.assert_array_equal(mask.get("NO_DATA"), expected)
    np.testing.assert_array_equal(mask.get("STACK_MASKED"), expected)  # masked, flagged or not
    assert not (tmp_path / "out" / "exp1_mask.fits").exists()
    assert "dropped" in err and "usable" in err

    # NO_DATA left out of flag_keys: still masked (nothing to search there), after the growth
    config = StackConfig(flag_keys=["BAD"], mask_grow=2, max_masked_pixels=1.0)
    result = run_stack(names, tmp_path / "noflag", config)
    assert list(result.table["dropped"]) == [False, False]
    masks = [astromask.read(tmp_path / "noflag" / f"exp{i}_mask.fits") for i in range(2)]
    np.testing.assert_array_equal(masks[0].get("STACK_MASKED"), expected)  # not grown
    assert masks[1].get("BAD")[1, 1] and not masks[1].get("NO_DATA")[1, 1]
    assert masks[1].get("STACK_MASKED")[1, 1] and masks[1].get("STACK_MASKED")[3, 1]  # BAD grown by 2

    # KBMOD's own rule alone drops the narrow one (92 % masked > 0.5), and min_usable 0.95 drops both
    code, _, err = cli("stack", *names, "--outdir", tmp_path / "all", "--mask-grow", "0", "--min-usable", "0.95")
    lines = err.strip().splitlines()  # a warning per image dropped, then the error
    assert code == 1 and len(lines) == 3 and "every image was dropped" in lines[-1]
    assert "usable" in lines[0] and "Traceback" not in err
    with pytest.raises(ParameterError, match="min_usable"):
        StackConfig(min_usable=1.5)


# -- iter_masked ------------------------------------------------------------------------------------


def test_iter_masked_doctest(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert doctest.testmod(iterate_module, extraglobs={"np": np, "StackConfig": StackConfig}).failed == 0


def test_iter_masked_gives_what_run_stack_writes(tmp_path):
    images = [exposure(i, cr=[(5, 5), (6, 7 + (i % 2))]) for i in range(4)]
    for i, image in enumerate(images):
        image.mask.set("BAD", (10, i))
    images[2].image[:20] = np.nan  # 2/3 NaN: dropped by max_masked_pixels 0.5
    names = write_all(tmp_path / "in", images)
    config = StackConfig(repeated_flag_keys=["CR"], mask_grow=1)
    result = run_stack(names, tmp_path / "out", config, write_images=True)
    given = list(iter_masked(names, config))
    assert [e.index for e in given] == [0, 1, 3] and [e.name for e in given] == [names[i] for i in (0, 1, 3)]
    for e in given:
        written = astromask.read(tmp_path / "out" / f"exp{e.index}.fits")
        np.testing.assert_array_equal(e.image.image, written.image)
        np.testing.assert_array_equal(e.image.variance, written.variance)
        np.testing.assert_array_equal(e.image.mask.array, written.mask.array)
        row = result.table[result.table["index"] == e.index][0]
        assert e.stats["n_masked"] == row["n_masked"]
    with pytest.raises(AstromaskError, match="no image matches|no such file"):
        list(iter_masked(str(tmp_path / "none*.fits"), config))


def test_iter_masked_holds_at_most_three_exposures(tmp_path):
    shape = (256, 256)
    names = write_all(tmp_path / "in", [exposure(i, shape, cr=[(9, 9)]) for i in range(8)])
    config = StackConfig(repeated_flag_keys=["CR"], mask_grow=2)
    list(iter_masked(names[:2], config))  # compile and import outside the measurement
    alive = []
    most = 0
    tracemalloc.start()
    for e in iter_masked(names, config):
        alive.append(weakref.ref(e.image))
        del e
        gc.collect()
        most = max(most, sum(ref() is not None for ref in alive))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert most <= 2  # the one given and the one read ahead
    image_bytes = shape[0] * shape[1] * (4 + 4 + 4)
    assert peak < 3 * image_bytes  # measured: see docs/stack.md
