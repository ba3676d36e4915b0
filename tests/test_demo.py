"""`make demo` runs: on generated data (no ../shared) detection finds the injected contaminants and every
format reads back lossless."""

import re

from astromask import demo, read


def test_demo_on_generated_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "DECAM_IMAGE", tmp_path / "absent.fits")
    monkeypatch.setattr(demo, "M13_FRAMES", [tmp_path / "absent_m13.fits"])
    out_dir = tmp_path / "out"
    assert demo.main(["--out", str(out_dir)]) == 0
    out = capsys.readouterr().out
    assert "$ astromask detect generated_input.fits" in out and "M13" not in out
    rates = dict(re.findall(r"(\w+) (\d\.\d\d)/\d\.\d\d", out.split("against the injected truth:")[1].splitlines()[0]))
    assert set(rates) == {"SAT", "BAD_COLUMN", "TRAIL", "CR", "HOT", "DEAD"}
    assert float(rates["SAT"]) >= 0.99 and float(rates["TRAIL"]) >= 0.99  # recall, as measured (see test_detect_*)
    result = read(str(out_dir / "detect_generated.fits"))
    assert result.mask.counts()["TRAIL"] > 0 and (out_dir / "detect_generated.png").exists()
    assert "generated DECam-like frame" in out
    assert out.count("read back lossless") == 6 and "CHANGED" not in out
    assert "format lsst" in out and "format afw" in out
