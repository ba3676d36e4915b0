"""`astromask filter "IN[filters]" OUT` and `astromask merge A B OUT`: outputs, one-line errors, nothing left behind.

References: the same files filtered through the Python API (the command must write the same bytes),
and the CLI conventions (exit 1 and one `astromask CMD: error: ...` line for data errors, 2 for
usage errors, no output and no temporary file after a failure).
"""

import numpy as np
import pytest
from astropy.io import fits

from astromask.filter import filter_file
from conftest import shared_path

GRID = {"LTM1_1": 1.0, "LTM2_2": 1.0, "LTV1": 8.0, "LTV2": 8.0}


@pytest.fixture
def files(tmp_path):
    values = np.zeros((15, 15), np.uint8)
    values[3:12, 4:10] = 1
    fits.PrimaryHDU(values, header=fits.Header(GRID)).writeto(tmp_path / "m.fits")
    return str(shared_path("ciao", "events", "test.ev")), str(tmp_path / "m.fits")


def test_filter_command_writes_what_the_api_writes(cli, tmp_path, files):
    events, mask = files
    code, out, err = cli("-v", "filter", f"{events}[EVENTS][sky=mask({mask})][pi=-2:2]", tmp_path / "cli.fits")
    assert (code, out) == (0, "") and "wrote" in err and "rows of" in err
    filter_file(f"{events}[EVENTS][sky=mask({mask})][pi=-2:2]", str(tmp_path / "api.fits"))
    with fits.open(tmp_path / "cli.fits") as ours, fits.open(tmp_path / "api.fits") as theirs:
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):  # the command adds only its provenance (HISTORY astromask ...)
            theirs_cards = [tuple(c) for c in b.header.cards]
            assert [tuple(c) for c in a.header.cards][: len(theirs_cards)] == theirs_cards
            assert {c.keyword for c in a.header.cards[len(theirs_cards) :]} <= {"HISTORY"}
            assert (a.data is None and b.data is None) or a.data.tobytes() == b.data.tobytes()
        assert any("astromask -v filter" in str(v) for v in ours[1].header["HISTORY"])
    code, _, _ = cli("filter", f"{events}[pi=1]", tmp_path / "cli.fits", "--overwrite", "--chunk-rows", "5")
    assert code == 0 and len(fits.getdata(tmp_path / "cli.fits", 1)) == len(
        fits.getdata(events, 1)[fits.getdata(events, 1)["PI"] == 1]
    )


def test_merge_command(cli, tmp_path, files):
    events, mask = files
    filter_file(f"{events}[sky=mask({mask})]", str(tmp_path / "a.fits"))
    code, _, err = cli("merge", tmp_path / "a.fits", events, tmp_path / "ab.fits")
    assert code == 0, err
    assert len(fits.getdata(tmp_path / "ab.fits", 1)) == len(fits.getdata(tmp_path / "a.fits", 1)) + 296


@pytest.mark.parametrize(
    "argv, code, message",
    [
        (
            ["filter", "{events}[sky=mask({mask})+circle(1,1,1)]", "{out}"],
            1,
            "Masks cannot be logically combined with regions",
        ),
        (["filter", "{events}[pi=1:2 x=3]", "{out}"], 1, "expected ',' or '||' between filters at column"),
        (["filter", "{tmp}/absent.fits[pi=1]", "{out}"], 1, "absent.fits: no such file"),
        (["filter", "{events}[sky=mask({tmp}/nomask.fits)]", "{out}"], 1, "nomask.fits: no such file"),
        (["filter", "{events}[sky=mask({badwcs})]", "{out}"], 1, "CRVAL1 90 vs 80"),
        (["filter", "{events}[sky=mask({mask})][exclude pi=1]", "{out}"], 1, "include and exclude"),
        (["filter", "{events}[sky=mask({mask}),(x,time)=mask({mask})]", "{out}"], 1, "one mask at a time"),
        (["filter", "{events}[pi=1]", "{mask}"], 1, "output file exists"),
        (["filter", "{mask}[sky=circle(1,1,1)]", "{mask}", "--overwrite"], 1, "output is the input file"),
        (["filter", "{events}[EVENTS][pi=1]"], 2, "required"),
        (["merge", "{events}", "{out}"], 1, "merge needs two or more inputs and OUT"),
        (["merge", "{events}", "{test2}", "{out}"], 1, "TSCAL1"),
    ],
)
def test_errors_are_one_line_and_leave_nothing(cli, tmp_path, files, argv, code, message):
    events, mask = files
    cards = dict(
        GRID,
        CTYPE1="RA---TAN",
        CTYPE2="DEC--TAN",
        CRVAL1=80.0,
        CRVAL2=60.0,
        CDELT1=-0.1,
        CDELT2=0.1,
        CRPIX1=13.0,
        CRPIX2=13.0,
    )
    fits.PrimaryHDU(np.ones((15, 15), np.uint8), header=fits.Header(cards)).writeto(tmp_path / "badwcs.fits")
    before = sorted(p.name for p in tmp_path.iterdir())
    names = {
        "events": events,
        "mask": mask,
        "tmp": tmp_path,
        "out": tmp_path / "out.fits",
        "badwcs": tmp_path / "badwcs.fits",
        "test2": shared_path("ciao", "events", "test2.ev"),
    }
    got, out, err = cli(*(a.format(**names) for a in argv))
    assert got == code and out == ""
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    if code == 1:
        assert err.startswith(f"astromask {argv[0]}: error: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
