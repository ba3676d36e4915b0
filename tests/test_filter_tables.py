"""Mask, region and range filters on event lists (`ahelp dmmasks` examples 1-12 on tables).

Data: ../shared/data/ciao/events/test.ev (integer X, Y, PHA, PI in -7..7, real TIME, DX, DY at
half-integers) and test2.ev (X, Y stored as integers with TSCAL/TZERO). References: the seed's
rules worked by hand in plain Python/numpy in each test: a mask pixel of 0 excludes, any other
value (negative too) includes, NaN/Inf/BLANK count as 0; an event takes the pixel whose centre is
within ±0.5 (pixel i covers [i - 0.5, i + 0.5)); outside the mask is always excluded; integer
ranges are inclusive, real ranges half-open (../shared/reference/ciao.md §1-2).
"""

import gzip
import math
import shutil

import numpy as np
import pytest
from astropy.io import fits

from astromask.filter import FilterSyntaxError, filter_file, read_subspace, select_rows
from astromask.filter import tables as tables_module
from conftest import shared_path

GRID = {"LTM1_1": 1.0, "LTM2_2": 1.0, "LTV1": 8.0, "LTV2": 8.0}  # logical 1..15 = physical -7..7


def events_path():
    return str(shared_path("ciao", "events", "test.ev"))


def events():
    with fits.open(events_path()) as hdul:
        return {name.lower(): np.asarray(hdul[1].data[name]) for name in hdul[1].columns.names}


def write_mask(path, values, cards=GRID):
    fits.PrimaryHDU(np.asarray(values), header=fits.Header(cards)).writeto(path)
    return str(path)


def by_hand(values, x, y, ltv=(8.0, 8.0)):
    """Each event's mask verdict from the rules in the docstring, one event at a time."""
    ny, nx = values.shape
    out = []
    for xi, yi in zip(x, y):
        i, j = math.floor(xi + ltv[0] + 0.5) - 1, math.floor(yi + ltv[1] + 0.5) - 1
        inside = 0 <= i < nx and 0 <= j < ny
        v = values[j, i] if inside else 0
        out.append(bool(inside and np.isfinite(v) and v != 0))
    return np.array(out)


def rows_of(path, block=1):
    with fits.open(path) as hdul:
        return {name.lower(): np.asarray(hdul[block].data[name]) for name in hdul[block].columns.names}


@pytest.fixture
def mask_values():
    """A 15x15 float mask: zeros, positives, negatives, NaN and Inf (seed 3)."""
    rng = np.random.default_rng(3)
    values = rng.choice([0.0, 0.0, 1.0, 2.5, -4.0], size=(15, 15)).astype(np.float32)
    values[2, 3], values[9, 9], values[10, 4] = np.nan, np.inf, -np.inf
    return values


def expect_rows(path, keep):
    ev = events()
    out = rows_of(path)
    for name in ("x", "y", "pi", "time"):
        assert np.array_equal(out[name], ev[name][keep]), name


def test_example_1_mask_filter_keeps_events_on_nonzero_pixels(tmp_path, mask_values):
    m = write_mask(tmp_path / "m.fits", mask_values)
    ev = events()
    keep = by_hand(mask_values, ev["x"], ev["y"])
    assert 0 < keep.sum() < len(keep)
    summary = filter_file(f"{events_path()}[sky=mask({m})]", str(tmp_path / "out.fits"))
    assert summary.rows == (len(keep), int(keep.sum())) and summary.masks == ["MASK"]
    expect_rows(tmp_path / "out.fits", keep)


def test_example_2_exclude_inverts_but_outside_stays_excluded(tmp_path):
    small = np.zeros((5, 5), dtype=np.int16)  # physical -2..2 (LTV 3)
    small[1:3, 1:4] = -7
    cards = dict(GRID, LTV1=3.0, LTV2=3.0)
    m = write_mask(tmp_path / "small.fits", small, cards)
    ev = events()
    on = by_hand(small, ev["x"], ev["y"], ltv=(3.0, 3.0))
    inside = (np.abs(ev["x"]) <= 2) & (np.abs(ev["y"]) <= 2)
    filter_file(f"{events_path()}[exclude sky=mask({m})]", str(tmp_path / "ex.fits"))
    expect_rows(tmp_path / "ex.fits", inside & ~on)
    filter_file(f"{events_path()}[filter sky=mask({m})]", str(tmp_path / "in.fits"))
    expect_rows(tmp_path / "in.fits", on)
    with fits.open(tmp_path / "ex.fits") as hdul:  # stored inverted (seed example 2)
        assert np.array_equal(hdul["MASK"].data, (small == 0).astype(np.uint8))


def test_example_3_mask_and_integer_column_range(tmp_path, mask_values):
    m = write_mask(tmp_path / "m.fits", mask_values)
    ev = events()
    keep = by_hand(mask_values, ev["x"], ev["y"]) & (ev["pi"] >= 0) & (ev["pi"] <= 3)  # integer: inclusive
    filter_file(f"{events_path()}[pi=0:3,sky=mask({m})]", str(tmp_path / "out.fits"))
    expect_rows(tmp_path / "out.fits", keep)


def test_example_4_any_pair_and_the_half_pixel_rule(tmp_path, mask_values):
    m = write_mask(tmp_path / "m.fits", mask_values)
    ev = events()
    filter_file(f"{events_path()}[(x,y)=mask({m})]", str(tmp_path / "xy.fits"))
    expect_rows(tmp_path / "xy.fits", by_hand(mask_values, ev["x"], ev["y"]))
    # DX, DY sit on pixel edges (-7.5 .. 7.5): -7.5 is pixel 1's lower edge (inside), 7.5 is past pixel 15
    keep = by_hand(mask_values, ev["dx"], ev["dy"])
    assert not keep[(ev["dx"] == 7.5) | (ev["dy"] == 7.5)].any()
    filter_file(f"{events_path()}[(dx,dy)=mask({m})]", str(tmp_path / "d.fits"))
    expect_rows(tmp_path / "d.fits", keep)
    edge = (ev["dx"] == -7.5) & (ev["dy"] == -7.5)
    assert edge.any() and keep[edge].all() == (mask_values[0, 0] != 0)


def test_example_5_bounds_is_the_rectangle_around_included_pixels(tmp_path):
    values = np.zeros((15, 15), dtype=np.uint8)
    values[4, 2] = values[10, 6] = 1  # physical x -5..-1, y -3..3
    m = write_mask(tmp_path / "m.fits", values)
    ev = events()
    keep = (ev["x"] >= -5) & (ev["x"] <= -1) & (ev["y"] >= -3) & (ev["y"] <= 3)
    filter_file(f"{events_path()}[sky=bounds(mask({m}))]", str(tmp_path / "out.fits"))
    expect_rows(tmp_path / "out.fits", keep)
    with fits.open(tmp_path / "out.fits") as hdul:
        assert [str(d) for d in read_subspace(hdul[1].header)[0]] == ["sky Rectangle(-5.5,-3.5,-0.5,3.5)"]


@pytest.mark.parametrize("region", ["circle(1,0,3.5)", "region({reg})"])
def test_example_6_mask_and_region_together(tmp_path, mask_values, region):
    m = write_mask(tmp_path / "m.fits", mask_values)
    reg = tmp_path / "c.reg"
    reg.write_text("# Region file format: CIAO version 1.0\ncircle(1,0,3.5)\n")
    ev = events()
    keep = by_hand(mask_values, ev["x"], ev["y"]) & ((ev["x"] - 1.0) ** 2 + ev["y"] ** 2 <= 3.5**2)
    filter_file(f"{events_path()}[sky=mask({m}),sky={region.format(reg=reg)}]", str(tmp_path / "out.fits"))
    expect_rows(tmp_path / "out.fits", keep)


def test_example_7_mask_and_ranges_integer_inclusive_real_half_open(tmp_path, mask_values):
    m = write_mask(tmp_path / "m.fits", mask_values)
    ev = events()
    on = by_hand(mask_values, ev["x"], ev["y"])
    filter_file(f"{events_path()}[sky=mask({m}),x=-3:3]", str(tmp_path / "int.fits"))
    expect_rows(tmp_path / "int.fits", on & (ev["x"] >= -3) & (ev["x"] <= 3))
    filter_file(f"{events_path()}[sky=mask({m}),dx=-3.5:2.5]", str(tmp_path / "real.fits"))
    expect_rows(tmp_path / "real.fits", on & (ev["dx"] >= -3.5) & (ev["dx"] < 2.5))
    assert (ev["dx"] == 2.5).any()  # the excluded upper edge is present in the data


def test_example_8_or_and_and_of_two_masks(tmp_path):
    a, b = np.zeros((15, 15), np.uint8), np.zeros((15, 15), np.uint8)
    a[3:10, 3:10], b[6:13, 6:13] = 1, 1
    ma, mb = write_mask(tmp_path / "a.fits", a), write_mask(tmp_path / "b.fits", b)
    ev = events()
    in_a, in_b = by_hand(a, ev["x"], ev["y"]), by_hand(b, ev["x"], ev["y"])
    filter_file(f"{events_path()}[sky=mask({ma})||sky=mask({mb})]", str(tmp_path / "or.fits"))
    expect_rows(tmp_path / "or.fits", in_a | in_b)
    filter_file(f"{events_path()}[sky=mask({ma}),sky=mask({mb})]", str(tmp_path / "and.fits"))
    expect_rows(tmp_path / "and.fits", in_a & in_b)
    with fits.open(tmp_path / "or.fits") as hdul:
        assert [[str(d) for d in c] for c in read_subspace(hdul[1].header)] == [
            ["sky TABLE :MASK"],
            ["sky TABLE :MASK2"],
        ]
        assert np.array_equal(hdul["MASK2"].data, b)


def test_example_9_a_mask_on_time_and_pi(tmp_path, mask_values):
    """Masks are not only spatial: a time x pi mask, 1 s by 1 channel, time 6.5.. and pi -7.."""
    m = write_mask(tmp_path / "sky.fits", mask_values)
    tp = np.zeros((15, 25), dtype=np.int32)
    tp[:, 0:3] = 1  # time in [6.5, 9.5)
    tp[10:, 15:] = 5  # pi >= 3 and time >= 21.5
    m2 = write_mask(tmp_path / "tp.fits", tp, {"LTM1_1": 1.0, "LTM2_2": 1.0, "LTV1": -6.0, "LTV2": 8.0})
    ev = events()
    it = np.floor(ev["time"] - 6.0 + 0.5).astype(int) - 1
    ip = ev["pi"] + 7
    inside = (it >= 0) & (it < 25)
    on_tp = inside & (tp[ip, np.clip(it, 0, 24)] != 0)
    keep = by_hand(mask_values, ev["x"], ev["y"]) & on_tp
    filter_file(f"{events_path()}[sky=mask({m}),(time,pi)=mask({m2})]", str(tmp_path / "out.fits"))
    expect_rows(tmp_path / "out.fits", keep)
    assert keep.sum() > 0


@pytest.mark.parametrize(
    "filters",
    [
        "[sky=mask({m})+region({m})]",
        "[sky=mask({m})+circle(4095,4096,100)]",
        "[sky=field()-mask({m})]",
        "[sky=mask({m})][exclude sky=circle(4095,4096,100)]",
        "[exclude sky=mask({m})][sky=circle(4095,4096,100)]",
        "[sky=mask({m}),(x,time)=mask({m})]",
        "[(y,x)=mask({m}),sky=mask({m})]",
    ],
    ids=["10a", "10b", "10c", "11a", "11b", "12a", "12b"],
)
def test_examples_10_to_12_refused_with_ciaos_reason_and_no_output(tmp_path, mask_values, filters):
    m = write_mask(tmp_path / "m.fits", mask_values)
    reason = (
        "cannot be logically combined"
        if filters.count("mask") == 1 and "exclude" not in filters
        else "include and exclude"
        if "exclude" in filters
        else "only be used with one mask at a time"
    )
    with pytest.raises(FilterSyntaxError, match=reason):
        filter_file(events_path() + filters.format(m=m), str(tmp_path / "out.fits"))
    assert not (tmp_path / "out.fits").exists()


def test_scaled_columns_and_a_mask_with_a_pixel_scale(tmp_path):
    """test2.ev: X = 10*raw + 1 (11..101), Y = 20*raw + 2 (22..202); a 10x10 mask with LTM 0.1, 0.05."""
    path = str(shared_path("ciao", "events", "test2.ev"))
    values = np.zeros((10, 10), np.uint8)
    values[::2, 1::3] = 1
    m = write_mask(tmp_path / "m.fits", values, {"LTM1_1": 0.1, "LTM2_2": 0.05, "LTV1": -0.1, "LTV2": -0.1})
    with fits.open(path) as hdul:
        x, y = np.asarray(hdul[1].data["X"]), np.asarray(hdul[1].data["Y"])
    keep = values[((y - 22) / 20).astype(int), ((x - 11) / 10).astype(int)] == 1
    filter_file(f"{path}[sky=mask({m})]", str(tmp_path / "out.fits"))
    out = rows_of(tmp_path / "out.fits")
    assert np.array_equal(out["x"], x[keep]) and np.array_equal(out["y"], y[keep]) and keep.sum() > 0
    # a scaled column is real: x=11:31 is 11 <= x < 31
    filter_file(f"{path}[x=11:31]", str(tmp_path / "r.fits"))
    assert sorted(set(rows_of(tmp_path / "r.fits")["x"])) == [11.0, 21.0]


def _table_file(path, columns, extra=()):
    hdul = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(columns, name="EVENTS"), *extra])
    hdul.writeto(path)
    return str(path)


def test_nulls_and_nans_never_pass(tmp_path):
    pi = np.array([1, 2, -99, 4], dtype=np.int32)
    x = np.array([0.0, np.nan, 1.0, 2.0])
    path = _table_file(
        tmp_path / "n.fits",
        [
            fits.Column("X", "D", array=x),
            fits.Column("Y", "D", array=x * 0),
            fits.Column("PI", "J", array=pi, null=-99),
        ],
    )
    with fits.open(path) as hdul:
        assert select_rows(hdul[1], "pi=0:10").tolist() == [True, True, False, True]
        assert select_rows(hdul[1], "exclude pi=2").tolist() == [True, False, False, True]
    mask = write_mask(tmp_path / "m.fits", np.ones((3, 3)), {"LTV1": 1.0, "LTV2": 1.0})  # physical -0.5 .. 2.5
    filter_file(f"{path}[exclude sky=mask({mask})][exclude pi=1]", str(tmp_path / "e.fits"))
    filter_file(f"{path}[sky=mask({mask})]", str(tmp_path / "i.fits"))
    assert rows_of(tmp_path / "i.fits")["pi"].tolist() == [1, -99, 4]  # NaN x is outside the mask
    assert len(rows_of(tmp_path / "e.fits")["pi"]) == 0


def test_streaming_in_small_chunks_gives_the_same_file_and_bounded_chunks(tmp_path, mask_values, monkeypatch):
    m = write_mask(tmp_path / "m.fits", mask_values)
    spec = f"{events_path()}[sky=mask({m}),pi=-5:5]"
    filter_file(spec, str(tmp_path / "big.fits"))
    sizes = []
    original = tables_module.TableLayout.chunks

    def recording(self, chunk_rows):
        for records in original(self, chunk_rows):
            sizes.append(len(records))
            yield records

    monkeypatch.setattr(tables_module.TableLayout, "chunks", recording)
    filter_file(spec, str(tmp_path / "small.fits"), chunk_rows=7)
    assert max(sizes) == 7 and sum(sizes) == 296
    assert (tmp_path / "big.fits").read_bytes() == (tmp_path / "small.fits").read_bytes()


def test_other_hdus_are_copied_byte_for_byte_and_the_heap_kept(tmp_path):
    gti = fits.BinTableHDU.from_columns(
        [fits.Column("START", "D", array=[1.0]), fits.Column("STOP", "D", array=[9.0])], name="GTI"
    )
    gti.add_checksum()
    image = fits.ImageHDU(np.arange(6, dtype=np.int16).reshape(2, 3), name="EXPMAP")
    var = np.array([np.arange(n, dtype=np.int32) for n in (1, 2, 3, 4)], dtype=object)
    path = _table_file(
        tmp_path / "h.fits",
        [
            fits.Column("X", "E", array=[0.0, 1.0, 2.0, 3.0]),
            fits.Column("Y", "E", array=[0.0, 0.0, 0.0, 0.0]),
            fits.Column("V", "PJ()", array=var),
        ],
        extra=[gti, image],
    )
    filter_file(f"{path}[x=1:3]", str(tmp_path / "out.fits"))
    with fits.open(path) as src, fits.open(tmp_path / "out.fits", checksum=True) as out:
        assert [h.name for h in out] == ["PRIMARY", "EVENTS", "GTI", "EXPMAP"]
        raw_in, raw_out = (tmp_path / "h.fits").read_bytes(), (tmp_path / "out.fits").read_bytes()
        for name in ("GTI", "EXPMAP"):
            a, b = src.fileinfo(src.index_of(name)), out.fileinfo(out.index_of(name))
            assert raw_in[a["hdrLoc"] : a["datLoc"] + a["datSpan"]] == raw_out[b["hdrLoc"] : b["datLoc"] + b["datSpan"]]
        assert out[1].data["X"].tolist() == [1.0, 2.0]  # half-open: 3.0 excluded
        assert [v.tolist() for v in out[1].data["V"]] == [[0, 1], [0, 1, 2]]
        assert out[1].header["DSVAL1"] == "1:3" and out[1].header["DSTYP1"] == "x"


def test_gzip_input_and_output(tmp_path, mask_values):
    m = write_mask(tmp_path / "m.fits", mask_values)
    with open(events_path(), "rb") as src, gzip.open(tmp_path / "evt.fits.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    filter_file(f"{tmp_path / 'evt.fits.gz'}[sky=mask({m})]", str(tmp_path / "out.fits.gz"))
    ev = events()
    expect_rows(tmp_path / "out.fits.gz", by_hand(mask_values, ev["x"], ev["y"]))
    assert (tmp_path / "out.fits.gz").read_bytes()[:2] == b"\x1f\x8b"


def test_mask_wcs_is_checked_against_the_column_wcs(tmp_path):
    """test.ev's X/Y columns: RA---TAN/DEC--TAN, TCRVL (90, 60), TCRPX 5, TCDLT (-0.1, 0.1)."""
    wcs = dict(
        GRID,
        CTYPE1="RA---TAN",
        CTYPE2="DEC--TAN",
        CRVAL1=90.0,
        CRVAL2=60.0,
        CDELT1=-0.1,
        CDELT2=0.1,
        CRPIX1=13.0,
        CRPIX2=13.0,
    )  # physical 5 = logical 13
    ok = write_mask(tmp_path / "ok.fits", np.ones((15, 15)), wcs)
    assert filter_file(f"{events_path()}[sky=mask({ok})]", str(tmp_path / "ok_out.fits")).rows == (296, 296)
    bad = write_mask(tmp_path / "bad.fits", np.ones((15, 15)), dict(wcs, CRVAL1=91.0))
    with pytest.raises(FilterSyntaxError, match=r"WCS of mask .*bad.fits differs .*: CRVAL1 90 vs 91"):
        filter_file(f"{events_path()}[sky=mask({bad})]", str(tmp_path / "bad_out.fits"))
    shifted = write_mask(tmp_path / "shift.fits", np.ones((15, 15)), dict(wcs, CRPIX1=12.0))
    with pytest.raises(FilterSyntaxError, match="CRPIX1 5 vs 4 in physical pixels"):
        filter_file(f"{events_path()}[sky=mask({shifted})]", str(tmp_path / "s_out.fits"))
    assert not (tmp_path / "bad_out.fits").exists() and not (tmp_path / "s_out.fits").exists()


def test_world_coordinate_region_through_the_column_wcs(tmp_path):
    """circle(90d, 60d, 0.25d): the tangent point is physical (5, 5); 0.25 deg = 2.5 pixels of 0.1 deg."""
    ev = events()
    keep = (ev["x"] - 5.0) ** 2 + (ev["y"] - 5.0) ** 2 <= 2.5**2  # no integer point lies near the edge
    assert keep.sum() > 0
    filter_file(f"{events_path()}[sky=circle(90d,60d,0.25d)]", str(tmp_path / "out.fits"))
    expect_rows(tmp_path / "out.fits", keep)


def test_select_rows_in_memory(tmp_path, mask_values):
    m = write_mask(tmp_path / "m.fits", mask_values)
    ev = events()
    with fits.open(events_path()) as hdul:
        keep = select_rows(hdul[1], f"[sky=mask({m})][pi>-3]")
    assert np.array_equal(keep, by_hand(mask_values, ev["x"], ev["y"]) & (ev["pi"] > -3))
    table = {"time": ev["time"], "pi": ev["pi"]}
    assert np.array_equal(select_rows(table, "time=7:20"), (ev["time"] >= 7) & (ev["time"] < 20))


@pytest.mark.parametrize(
    "filters, problem",
    [
        ("[energy=1:2]", r"no column 'energy' in .*test.ev\[EVENTS\] \(columns: x, y, pha, pi, time, dx, dy\)"),
        ("[sky=1:2]", r"sky is a vector \(x,y\): give ranges per column"),
        ("[pi=circle(1,1,1)]", "pi is not a vector column"),
        ("[sky=mask(absent.fits)]", "absent.fits: no such file"),
        ("[sky=bounds(mask({empty}))]", "the mask includes no pixel"),
    ],
)
def test_resolution_errors_point_at_the_column(tmp_path, filters, problem):
    empty = write_mask(tmp_path / "empty.fits", np.zeros((3, 3)))
    spec = events_path() + filters.format(empty=empty)
    with pytest.raises(FilterSyntaxError, match=problem) as info:
        filter_file(spec, str(tmp_path / "out.fits"))
    assert info.value.column == len(events_path()) + 2
    assert not (tmp_path / "out.fits").exists()


def test_a_failure_while_writing_leaves_nothing(tmp_path, mask_values, monkeypatch):
    m = write_mask(tmp_path / "m.fits", mask_values)

    def broken(plan, records, header):
        raise OSError("disk full")

    monkeypatch.setattr(tables_module, "chunk_selection", broken)
    with pytest.raises(OSError, match="disk full"):
        filter_file(f"{events_path()}[sky=mask({m})]", str(tmp_path / "out.fits"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.fits"]
