"""Progress bars: drawn on a terminal's stderr, silent when stderr is not a terminal or with -q."""

import io
import logging
import re

import matplotlib.image as mpimg
import numpy as np
import pytest
from astropy.io import fits

import astromask.cli
from astromask.cli import report as report_cli
from astromask.cli import show as show_cli
from astromask.progress import progress


class FakeTerminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def log_level():
    """Restore the astromask logger's level after a test changes it."""
    log = logging.getLogger("astromask")
    old = log.level
    yield log
    log.setLevel(old)


def bar_counts(text: str) -> list[tuple[int, int]]:
    """The ``done / total`` pairs an astropy ProgressBar wrote."""
    return [(int(a), int(b)) for a, b in re.findall(r"(\d+) /\s*(\d+)", text)]


def test_bar_on_a_terminal(monkeypatch, log_level):
    log_level.setLevel(logging.WARNING)
    stderr = FakeTerminal()
    monkeypatch.setattr("sys.stderr", stderr)
    assert [i * 2 for i in progress(range(4))] == [0, 2, 4, 6]
    counts = bar_counts(stderr.getvalue())
    assert counts[0] == (0, 4) and counts[-1] == (4, 4)
    assert [done for done, _ in counts] == sorted(done for done, _ in counts)  # it only moves forward


def test_total_for_an_iterator_without_length(monkeypatch, log_level):
    log_level.setLevel(logging.WARNING)
    stderr = FakeTerminal()
    monkeypatch.setattr("sys.stderr", stderr)
    assert list(progress((c for c in "abc"), total=3)) == ["a", "b", "c"]
    assert bar_counts(stderr.getvalue())[-1] == (3, 3)
    stderr.truncate(0)
    assert list(progress(c for c in "abc")) == ["a", "b", "c"]  # unknown length: no bar
    assert stderr.getvalue() == ""


def test_silent_when_not_a_terminal(monkeypatch, log_level):
    log_level.setLevel(logging.WARNING)
    stderr = io.StringIO()
    monkeypatch.setattr("sys.stderr", stderr)
    assert list(progress(range(5))) == list(range(5))
    assert stderr.getvalue() == ""


def test_silent_when_quiet(monkeypatch, log_level):
    log_level.setLevel(logging.ERROR)  # what -q does
    stderr = FakeTerminal()
    monkeypatch.setattr("sys.stderr", stderr)
    assert list(progress(range(5))) == list(range(5))
    assert stderr.getvalue() == ""


def test_items_are_yielded_as_they_come():
    seen = []

    def items():
        for i in range(3):
            seen.append(i)
            yield i

    it = progress(items(), total=3)
    assert next(it) == 0 and seen == [0]  # lazy: one item at a time


def frames(tmp_path, n=3):
    names = []
    for i in range(n):
        path = tmp_path / f"f{i}.fits"
        fits.PrimaryHDU(np.random.default_rng(i).normal(size=(20, 30)).astype(np.float32)).writeto(path)
        names.append(path)
    return names


@pytest.mark.parametrize("quiet", [False, True], ids=["terminal", "quiet"])
def test_a_command_shows_a_bar_on_a_terminal_only_without_q(monkeypatch, tmp_path, log_level, quiet):
    monkeypatch.setitem(astromask.cli.COMMANDS, "report", report_cli)
    stderr = FakeTerminal()
    monkeypatch.setattr("sys.stderr", stderr)
    argv = (["-q"] if quiet else []) + ["report", *map(str, frames(tmp_path)), "-o", str(tmp_path / "out")]
    assert astromask.cli.main(argv) == 0
    assert bar_counts(stderr.getvalue())[-1:] == ([] if quiet else [(3, 3)])


def test_verbose_logs_what_is_done(monkeypatch, capsys, tmp_path, log_level):
    monkeypatch.setitem(astromask.cli.COMMANDS, "show", show_cli)
    names = frames(tmp_path, 2)
    out = tmp_path / "o.png"
    assert astromask.cli.main(["-v", "show", *map(str, names), "-o", str(out), "--dpi", "20"]) == 0
    err = capsys.readouterr().err  # pytest's stderr is not a terminal: log lines, no bar
    lines = err.splitlines()
    assert lines[:2] == [
        "astromask: read f0.fits: 30×20 (width×height), planes set: (none)",
        "astromask: read f1.fits: 30×20 (width×height), planes set: (none)",
    ]
    height, width = mpimg.imread(out).shape[:2]
    assert lines[2:] == [f"astromask: wrote {out} ({width}×{height} pixels, 2 panels)"]
