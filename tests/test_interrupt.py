"""Ctrl-C: one line, exit 130, within a second even inside a long compiled call, and no output left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from astropy.io import fits

import astromask
from astromask.progress import interruptible


def test_interruptible_gives_the_result_and_the_error_of_the_call():
    assert interruptible(sorted, [3, 1, 2]) == [1, 2, 3]
    with pytest.raises(ZeroDivisionError):
        interruptible(lambda: 1 / 0)
    found = []
    thread = threading.Thread(target=lambda: found.append(interruptible(threading.current_thread)))
    thread.start()
    thread.join()
    assert found == [thread]  # away from the main thread it is a plain call


def test_ctrl_c_during_a_long_median_filter_stops_at_once(tmp_path):
    image = tmp_path / "big.fits"
    fits.PrimaryHDU(np.random.default_rng(0).normal(100, 5, (1536, 1536)).astype(np.float32)).writeto(image)
    out = tmp_path / "t.fits"
    command = [sys.executable, "-m", "astromask", "thresh", str(image), str(out), "--sigma", "5", "--box", "31"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    # inside scipy's median filter (20 s of CPU or more): past the imports and the read, which take
    # about a second of CPU; waiting for CPU time, not wall time, holds on a loaded machine too
    deadline = time.monotonic() + 60
    while _cpu_seconds(process.pid) < 3.0 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    assert process.poll() is None
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    waited = time.monotonic() - sent
    assert process.returncode == 130
    assert err.strip() == "astromask thresh: interrupted"
    assert waited < 2.0, f"took {waited:.1f} s to notice Ctrl-C"
    assert sorted(os.listdir(tmp_path)) == ["big.fits"]  # no output, no temporary file


def _cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of a running process (Linux /proc; 0 where it cannot be read)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_ctrl_c_while_starting_is_one_line_too(tmp_path):
    """Ctrl-C before the command runs (while the libraries are imported) is the same one line, 130."""
    code = (
        "import sys\n"
        "sys.argv = ['astromask', 'info', 'x.fits']\n"
        "import builtins\n"
        "real = builtins.__import__\n"
        "def interrupting(name, *a, **k):  # Ctrl-C while __main__ imports the command line\n"
        "    if name in ('cli', 'astromask.cli'):\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = interrupting\n"
        "import runpy\n"
        "runpy.run_module('astromask', run_name='__main__')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 130 and result.stderr.strip() == "astromask: interrupted"


def test_an_unfinished_stack_run_is_named_and_can_be_redone(cli, tmp_path):
    image = tmp_path / "a.fits"
    fits.PrimaryHDU(np.ones((20, 20), np.float32)).writeto(image)
    out = tmp_path / "out"
    code, _, err = cli("stack", image, "--outdir", out, "--mask-grow", "0")
    assert code == 0, err
    (out / "stack_summary.ecsv").unlink()  # as an interrupted run leaves it: images written, no summary
    code, _, err = cli("stack", image, "--outdir", out, "--mask-grow", "0")
    assert code == 1 and "unfinished stack run" in err and "--overwrite" in err
    code, _, err = cli("stack", image, "--outdir", out, "--mask-grow", "0", "--overwrite")
    assert code == 0, err
    assert (out / "stack_summary.ecsv").exists()


def test_a_stack_that_fails_half_way_leaves_no_output(cli, tmp_path):
    good = tmp_path / "a.fits"
    fits.PrimaryHDU(np.ones((20, 20), np.float32)).writeto(good)
    bad = tmp_path / "b.fits"
    astromask.write(astromask.Mask((20, 20), astromask.MaskSchema(["BAD"])), bad, format="fits")  # not an image
    out = tmp_path / "out"
    code, _, err = cli("stack", good, bad, "--outdir", out, "--mask-grow", "0")
    assert code == 1 and "b.fits" in err
    assert not out.exists()  # a.fits's masked copy was written, then removed with the folder made for it


def test_a_stack_interrupted_in_its_second_pass_leaves_no_output(cli, tmp_path, monkeypatch):
    from astromask.stack import pipeline

    names = []
    for k in range(3):
        names.append(tmp_path / f"im{k}.fits")
        fits.PrimaryHDU(np.ones((20, 20), np.float32)).writeto(names[-1])
    real = pipeline._mask_job
    calls = []

    def apply_then_interrupt(job, global_):  # the second image's write may still be in its thread
        calls.append(job.name)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(job, global_)

    monkeypatch.setattr(pipeline, "_mask_job", apply_then_interrupt)
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    code, _, err = cli("stack", *names, "--outdir", out, "--mask-grow", "0")
    assert code == 130 and err.strip() == "astromask stack: interrupted"
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]  # the user's file stays, the run's are gone
