"""The data subspace and MASK extensions of filtered files, read back; the mask rules of the seed's summary.

References: CIAO's keyword convention (DSTYPn/DSVALn/DSREFn, component k > 1 prefixed by k; the
Chandra image's own 19 descriptors), the seed's `dmlist subspace` example (sky, TABLE MASK, field
area 6.71089e+07 = 8192² for sky TLMIN/TLMAX 0.5..8192.5), the summary's rules (byte masks of
0/1, only the WCS kept with the mask, excluded masks stored inverted), hand-counted areas.
"""

import numpy as np
import pytest
from astropy.io import fits

import astromask.cli
from astromask.cli import filter as filter_cli
from astromask.filter import (
    Descriptor,
    MaskImage,
    describe_subspace,
    filter_file,
    included,
    read_mask,
    read_subspace,
)
from astromask.filter.subspace import write_subspace
from astromask.info import file_info
from conftest import shared_path


def events_path():
    return str(shared_path("ciao", "events", "test.ev"))


GRID = {"LTM1_1": 1.0, "LTM2_2": 1.0, "LTV1": 8.0, "LTV2": 8.0}


def test_descriptors_round_trip_in_ciaos_keywords():
    polygon = "Polygon(" + ",".join(f"{v}.125" for v in range(4000, 4040)) + ")"  # a long string (CONTINUE)
    components = [
        [Descriptor("sky", "TABLE", ":MASK", "E"), Descriptor("pi", "10:200", form="J", unit="chan")],
        [Descriptor("time", "<5"), Descriptor("sky", polygon)],
    ]
    header = write_subspace(fits.Header({"DSTYP9": "stale", "DSVAL9": "1:2", "OBJECT": "x"}), components)
    assert "DSTYP9" not in header and header["OBJECT"] == "x"
    assert (header["DSTYP1"], header["DSVAL1"], header["DSREF1"], header["DSFORM1"]) == ("sky", "TABLE", ":MASK", "E")
    assert (header["DSUNIT2"], header["2DSTYP1"], header["2DSVAL1"]) == ("chan", "time", "<5")
    assert read_subspace(header) == components
    assert read_subspace(fits.Header.fromstring(header.tostring())) == components


def test_ciao_written_subspace_is_read():
    header = fits.getheader(shared_path("ciao", "acisf08478_000N001_r0043_regevt3_srcimg.fits"))
    (component,) = read_subspace(header)
    assert len(component) == 19
    assert component[0] == Descriptor("time", "TABLE", ":GTI0", "D", "s")
    assert component[17] == Descriptor("grade", "0:0,2:2,3:3,4:4,6:6", form="I")


def test_mask_extension_is_bytes_with_the_wcs_only(tmp_path):
    """Any-type mask → Byte 0/1 MASK; the WCS is saved with it, other mask keywords are not."""
    values = np.array([[0, 3, -2], [np.nan, np.inf, 0.5]] * 2, dtype=np.float64)
    cards = dict(
        GRID,
        CTYPE1="RA---TAN",
        CTYPE2="DEC--TAN",
        CRVAL1=90.0,
        CRVAL2=60.0,
        CDELT1=-0.1,
        CDELT2=0.1,
        CRPIX1=13.0,
        CRPIX2=13.0,
        OBJECT="M101",
        BUNIT="count",
        TELESCOP="CXO",
    )
    fits.PrimaryHDU(values, header=fits.Header(cards)).writeto(tmp_path / "m.fits")
    filter_file(f"{events_path()}[sky=mask({tmp_path / 'm.fits'})]", str(tmp_path / "out.fits"))
    with fits.open(tmp_path / "out.fits") as out:
        mask = out["MASK"]
        assert mask.header["BITPIX"] == 8 and mask.data.dtype == np.uint8
        assert mask.data.tolist() == [[0, 1, 1], [0, 0, 1]] * 2
        for key in ("CTYPE1", "CRVAL2", "CDELT1", "CRPIX2", "LTV1", "LTM2_2"):
            assert mask.header[key] == cards[key]
        for key in ("OBJECT", "BUNIT", "TELESCOP"):
            assert key not in mask.header
        assert read_subspace(out[1].header) == [[Descriptor("sky", "TABLE", ":MASK", "I")]]


def test_mask_value_rules():
    """0 excludes; any other value includes (negative too, and byte values 2..255: CIAO 4.17's byte bug
    is not reproduced); NaN, Inf and an integer image's BLANK count as 0."""
    assert included(np.array([[0, -1, 2, 255]], dtype=np.int16)).tolist() == [[0, 1, 1, 1]]
    assert included(np.array([[0, 1, 2, 255]], dtype=np.uint8)).tolist() == [[0, 1, 1, 1]]
    assert included(np.array([[np.nan, -np.inf, np.inf, -0.0, 1e-30]])).tolist() == [[0, 0, 0, 0, 1]]
    assert included(np.array([[7, -1, 7]], dtype=np.int32), blank=7).tolist() == [[0, 1, 0]]
    with pytest.raises(TypeError, match="a mask must be numeric"):
        included(np.array([["a"]]))


def test_blank_of_an_integer_mask_file_counts_as_zero(tmp_path):
    hdu = fits.PrimaryHDU(np.array([[5, -32768], [0, 1]], dtype=np.int16))
    hdu.header["BLANK"] = 5
    hdu.writeto(tmp_path / "b.fits")
    assert read_mask(str(tmp_path / "b.fits")).values.tolist() == [[0, 1], [0, 1]]


def test_read_mask_picks_a_block_and_refuses_cubes_and_filters(tmp_path):
    fits.HDUList(
        [fits.PrimaryHDU(), fits.ImageHDU(np.ones((2, 3)), name="FOV"), fits.ImageHDU(np.zeros((2, 2, 2)), name="CUBE")]
    ).writeto(tmp_path / "f.fits")
    assert read_mask(str(tmp_path / "f.fits")).shape == (2, 3)
    assert read_mask(f"{tmp_path / 'f.fits'}[2]").shape == (2, 3)
    with pytest.raises(ValueError, match="a mask must be a 2-D image, block 3 has shape"):
        read_mask(f"{tmp_path / 'f.fits'}[CUBE]")
    with pytest.raises(ValueError, match="takes a block selector only"):
        read_mask(f"{tmp_path / 'f.fits'}[FOV][x=1:2]")


def test_exclude_of_and_gives_two_components_with_prefixed_keywords(tmp_path):
    values = np.zeros((15, 15), np.uint8)
    values[5:10, 5:10] = 1
    fits.PrimaryHDU(values, header=fits.Header(GRID)).writeto(tmp_path / "m.fits")
    filter_file(
        f"{events_path()}[exclude sky=mask({tmp_path / 'm.fits'}),pi=0:3,dx=-2.5:2.5]", str(tmp_path / "out.fits")
    )
    with fits.open(tmp_path / "out.fits") as out:
        header = out[1].header
        # the complements: integer pi=0:3 is 0 <= pi <= 3; real dx=-2.5:2.5 is -2.5 <= dx < 2.5
        assert [[str(d) for d in c] for c in read_subspace(header)] == [
            ["sky TABLE :MASK"],
            ["pi <0,>3"],
            ["dx <-2.5,>=2.5"],
        ]
        assert header["2DSTYP1"] == "pi" and header["3DSVAL1"] == "<-2.5,>=2.5"
        assert np.array_equal(out["MASK"].data, 1 - values)
        kept = np.asarray(out[1].data["TIME"])
    with fits.open(events_path()) as src:
        x, y, pi, dx, time = (np.asarray(src[1].data[c]) for c in ("X", "Y", "PI", "DX", "TIME"))
    on = (np.abs(x) <= 2) & (np.abs(y) <= 2)  # mask pixels 5..9 are physical -2..2
    expected = ~on | (pi < 0) | (pi > 3) | (dx < -2.5) | (dx >= 2.5)  # NOT (mask AND pi AND dx)
    assert np.array_equal(kept, time[expected]) and 0 < expected.sum() < len(x)


def test_areas_field_from_tlmin_tlmax_region_from_mask_pixels(tmp_path):
    values = np.zeros((15, 15), np.float32)
    values[2:6, 3:9] = -1.0  # 24 pixels
    values[3, 4] = np.nan  # 23 left
    fits.PrimaryHDU(values, header=fits.Header(GRID)).writeto(tmp_path / "m.fits")
    filter_file(f"{events_path()}[sky=mask({tmp_path / 'm.fits'})]", str(tmp_path / "out.fits"))
    with fits.open(tmp_path / "out.fits") as out:
        (component,) = describe_subspace(out, 1)
    # X, Y are integer columns with TLMIN -7, TLMAX 7: 15 values each
    assert component["areas"] == [{"name": "sky", "field_area": 225.0, "region_area": 23.0}]


def test_area_of_a_ciao_sized_field_and_a_binned_mask():
    """The seed's `dmlist subspace`: sky field 0.5..8192.5 → 6.71089e+07; a 2x-binned mask pixel is 4 units."""
    table = fits.BinTableHDU.from_columns([fits.Column("X", "E"), fits.Column("Y", "E")], name="EVENTS")
    for k in (1, 2):
        table.header[f"TLMIN{k}"], table.header[f"TLMAX{k}"] = 0.5, 8192.5
    for key, value in write_subspace(fits.Header(), [[Descriptor("sky", "TABLE", ":MASK")]]).items():
        table.header[key] = value
    values = np.zeros((40, 40), np.uint8)
    values[:10, :10] = 1
    mask = MaskImage(values, fits.Header({"LTM1_1": 0.5, "LTM2_2": 0.5, "LTV1": 0.0, "LTV2": 0.0}))
    hdul = fits.HDUList([fits.PrimaryHDU(), table, mask.to_hdu()])
    (component,) = describe_subspace(hdul, 1)
    (area,) = component["areas"]
    assert f"{area['field_area']:g}" == "6.71089e+07" and area["region_area"] == 400.0


def test_info_reports_field_and_region_area(tmp_path, monkeypatch, capsys):
    values = np.zeros((15, 15), np.uint8)
    values[1:4, 1:4] = 1
    fits.PrimaryHDU(values, header=fits.Header(GRID)).writeto(tmp_path / "m.fits")
    filter_file(f"{events_path()}[sky=mask({tmp_path / 'm.fits'}),sky=circle(-5,-5,1)]", str(tmp_path / "out.fits"))
    events = file_info(str(tmp_path / "out.fits"))["hdus"][1]
    assert events["field_area"] == 225.0
    assert events["region_area"] == 5.0  # mask pixels whose centres lie in the circle: a plus of 5
    assert events["subspace"][0]["descriptors"] == ["sky TABLE :MASK", "sky Circle(-5,-5,1)"]
    monkeypatch.setitem(astromask.cli.COMMANDS, "filter", filter_cli)
    assert astromask.cli.main(["info", str(tmp_path / "out.fits")]) == 0
    out = capsys.readouterr().out
    assert "field area: 225.0" in out and "region area: 5.0" in out
    assert "field_area" not in file_info(events_path())["hdus"][1]


def test_keywords_stay_within_eight_characters():
    component = [Descriptor(f"c{n}", "1:2", form="J") for n in range(1, 11)]
    header = write_subspace(fits.Header(), [component, component])
    assert header["2DSFORM9"] == "J" and "2DSFORM10" not in header and header["2DSTYP10"] == "c10"
    assert read_subspace(header)[1][9] == Descriptor("c10", "1:2")
    with pytest.raises(ValueError, match="subspace too large for FITS keywords: component 10 descriptor 10"):
        write_subspace(fits.Header(), [component] * 10)
