"""`make demo` runs: on generated data (no ../shared) every format reads back lossless."""

from astromask import demo


def test_demo_on_generated_data(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "DECAM_IMAGE", tmp_path / "absent.fits")
    assert demo.main(["--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "generated DECam-like frame" in out
    assert out.count("read back lossless") == 6 and "CHANGED" not in out
    assert "format lsst" in out and "format afw" in out
