"""Files of several masks or images, one per HDU, are processed whole or refused, never cut to their first HDU.

Each command is run on a generated three-CCD file and its output compared, HDU by HDU, with the same
command run on that HDU alone (``f.fits[ccd2]``); names, versions, order and the other HDUs are kept.
"""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

import astromask
from astromask.errors import AmbiguousHDUError, ParameterError
from astromask.io import cards
from astromask.presets import get_schema
from astromask.schema import MaskSchema
from conftest import shared_path

CCDS = ("ccd1", "ccd2", "ccd3")


def _mask_hdu(name: str, seed: int) -> fits.ImageHDU:
    rng = np.random.default_rng(seed)
    data = np.zeros((40, 50), np.int32)
    data[rng.random(data.shape) < 0.02] |= 1  # BAD
    data[rng.integers(0, 40), :] |= 4  # INTRP row, at a different place in each CCD
    header = cards.msk_cards(MaskSchema.from_bits({"BAD": 0, "SAT": 1, "INTRP": 2}))
    header["CCDNUM"] = seed
    hdu = fits.ImageHDU(data, header=header)
    hdu.header["EXTNAME"] = name  # lower case, as the DECam static masks spell them (astropy would capitalise)
    return hdu


@pytest.fixture
def ccds(tmp_path):
    """A file of three CCD masks and a table HDU between two of them."""
    table = fits.BinTableHDU.from_columns([fits.Column(name="x", format="E", array=np.arange(3.0))], name="CAT")
    primary = fits.PrimaryHDU()
    primary.header["OBSERVER"] = "someone"
    hdus = [primary, _mask_hdu("ccd1", 1), _mask_hdu("ccd2", 2), table, _mask_hdu("ccd3", 3)]
    path = tmp_path / "ccds.fits"
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.fixture
def images(tmp_path):
    """A multi-extension image: SCI,1 and SCI,2 with their DQ,1 and DQ,2."""
    rng = np.random.default_rng(5)
    hdus = [fits.PrimaryHDU()]
    for ver in (1, 2):
        sci = rng.normal(100.0, 5.0, (60, 70)).astype(np.float32)
        sci[10 * ver, 20] = 4000.0
        dq = np.zeros(sci.shape, np.int16)
        dq[ver, :] = 1
        hdus += [fits.ImageHDU(sci, name="SCI", ver=ver), fits.ImageHDU(dq, name="DQ", ver=ver)]
    path = tmp_path / "mef.fits"
    fits.HDUList(hdus).writeto(path)
    return path


def _data(path, name):
    with fits.open(path) as hdul:
        return np.asarray(hdul[name].data)


def _names(path):
    with fits.open(path) as hdul:
        return [(h.name, h.header.get("EXTVER")) for h in hdul]


def test_read_refuses_a_file_of_several_masks_and_names_them(ccds):
    with pytest.raises(AmbiguousHDUError) as info:
        astromask.read(ccds)
    message = str(info.value)
    assert "holds 3 masks" in message and "ccd1, ccd2, ccd3" in message and "ccds.fits[ccd2]" in message
    assert info.value.units == CCDS
    with pytest.raises(AmbiguousHDUError):
        astromask.read_mask(ccds)
    assert astromask.read(f"{ccds}[ccd2]").counts()["BAD"] == int((_data(ccds, "ccd2") & 1).astype(bool).sum())


def test_read_all_gives_every_hdu_and_write_puts_the_file_back(ccds, tmp_path):
    every = astromask.read_all(ccds)
    assert list(every) == list(CCDS) and every.format == "fits"
    for name in CCDS:
        np.testing.assert_array_equal(every[name].get("INTRP"), (_data(ccds, name) & 4) != 0)
    out = tmp_path / "out.fits"
    astromask.write(every, out, format="fits")
    assert [n for n, _ in _names(out)] == ["PRIMARY", "ccd1", "ccd2", "CAT", "ccd3"]
    with fits.open(out) as hdul:
        assert hdul[1].header["EXTNAME"] == "ccd1"  # the HDU's own spelling
        assert hdul[2].header["CCDNUM"] == 2  # its own cards travel with it
        assert hdul["CAT"].data["x"].tolist() == [0.0, 1.0, 2.0]
        assert hdul[0].header["OBSERVER"] == "someone"
    again = astromask.read_all(out)
    for name in CCDS:
        assert again[name] == every[name]


def test_a_multi_extension_image_pairs_each_sci_with_its_own_dq(images):
    every = astromask.read_all(images)
    assert list(every) == ["SCI,1", "SCI,2"]
    for ver in (1, 2):
        mask = every[f"SCI,{ver}"].mask
        assert mask.array.any(axis=1).nonzero()[0].tolist() == [ver]  # DQ,ver's row, not the other's
    with pytest.raises(AmbiguousHDUError, match=r"SCI,1, SCI,2"):
        astromask.read(images)


def test_formats_of_one_masked_image_refuse_several(ccds, tmp_path):
    every = astromask.read_all(ccds)
    with pytest.raises(ParameterError, match="afw files hold one masked image, not the 3 HDUs ccd1, ccd2, ccd3"):
        astromask.write(every, tmp_path / "x.fits", format="afw")


@pytest.mark.parametrize(
    "argv",
    [
        ["convert", "{IN}", "{OUT}", "--to", "fits"],
        ["grow", "{IN}", "{OUT}", "--radius", "2"],
        ["shrink", "{IN}", "{OUT}", "--radius", "1", "--footprint", "box"],
        ["open", "{IN}", "{OUT}", "--radius", "1"],
        ["close", "{IN}", "{OUT}", "--radius", "1"],
        ["boundary", "{IN}", "{OUT}", "--width", "3"],
        ["invert", "{IN}", "{OUT}"],
        ["combine", "--op", "union", "{OUT}", "{IN}", "{IN}"],
        ["calc", "{OUT}", "img1>0", "{IN}"],
        ["thresh", "{IN}", "{OUT}", "--cut", "1:"],
        ["blob", "{IN}", "{OUT}", "--threshold", "0.5"],
        ["region", "{IN}", "circle(20,20,8)", "{OUT}", "--full"],
    ],
    ids=lambda argv: argv[0],
)
def test_each_command_does_every_hdu_as_it_does_one(cli, ccds, tmp_path, argv):
    def run(source, out):
        args = [a.replace("{IN}", str(source)).replace("{OUT}", str(out)) for a in argv]
        code, _, err = cli(*args)
        assert code == 0, err

    whole = tmp_path / "whole.fits"
    run(ccds, whole)
    assert [n for n, _ in _names(whole)] == ["PRIMARY", "ccd1", "ccd2", "CAT", "ccd3"]
    for name in CCDS:
        alone = tmp_path / f"{name}.fits"
        run(f"{ccds}[{name}]", alone)
        with fits.open(alone) as hdul:
            expected = next(np.asarray(h.data) for h in hdul if h.data is not None and h.is_image)
        np.testing.assert_array_equal(_data(whole, name), expected)


@pytest.mark.parametrize("command", ["area", "bounds"])
def test_measures_print_every_hdu(cli, ccds, command):
    code, out, err = cli(command, ccds)
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith(str(ccds))]
    assert [line.split(":")[0] for line in lines] == [f"{ccds}[{name}]" for name in CCDS]
    if command == "area":
        counts = [int(line.split(": ")[1].split()[0]) for line in lines]
        assert counts == [int((_data(ccds, name) != 0).sum()) for name in CCDS]


def test_inputs_with_different_hdus_are_refused(cli, ccds, images, tmp_path):
    code, _, err = cli("combine", "--op", "union", tmp_path / "u.fits", ccds, images)
    assert code == 1
    assert "holds the HDUs SCI,1, SCI,2" in err and "ccd1, ccd2, ccd3" in err
    assert not (tmp_path / "u.fits").exists()


def test_nothing_is_written_when_one_hdu_fails(cli, ccds, tmp_path):
    other = tmp_path / "other.fits"
    hdus = [fits.PrimaryHDU(), _mask_hdu("ccd1", 4), _mask_hdu("ccd2", 5), _mask_hdu("ccd3", 6)]
    hdus[3] = fits.ImageHDU(np.zeros((10, 10), np.int32), header=hdus[3].header)  # the last differs
    fits.HDUList(hdus).writeto(other)
    out = tmp_path / "u.fits"
    code, _, err = cli("combine", "--op", "union", out, ccds, other)
    assert code == 1 and "differs" in err and "[ccd3]" in err
    assert not out.exists() and list(tmp_path.glob(".astromask*")) == []


def test_detect_does_every_hdu_with_a_picture_each(cli, images, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "det.fits"
    code, _, err = cli("detect", images, "-o", out, "--no-cnn", "--detectors", "HOT,EDGE")
    assert code == 0, err
    assert (tmp_path / "det.SCI_1.png").exists() and (tmp_path / "det.SCI_2.png").exists()
    every = astromask.read_all(out)
    assert list(every) == ["SCI,1", "SCI,2"]
    for ver in (1, 2):
        hot = every[f"SCI,{ver}"].mask.get("HOT")
        assert hot[10 * ver, 20] and hot.sum() == 1  # each HDU's own hot pixel


def test_show_draws_every_hdu(cli, ccds, tmp_path, caplog):
    pytest.importorskip("matplotlib")
    code, _, err = cli("-v", "show", ccds, "-o", tmp_path / "s.png")
    assert code == 0, err
    assert "3 panels" in err


def test_report_shows_every_hdu(cli, ccds, tmp_path):
    pytest.importorskip("matplotlib")
    code, _, err = cli("report", ccds, "-o", tmp_path / "r")
    assert code == 0, err
    page = (tmp_path / "r" / "index.html").read_text()
    assert all(f"ccds.fits[{name}]" in page for name in CCDS)


def _exposures(tmp_path, n=3):
    from astromask.io import Extension, Extensions

    rng = np.random.default_rng(0)
    paths = []
    for e in range(n):
        units = []
        for k, name in enumerate(["N1", "N2"]):
            mi = astromask.MaskedImage(rng.normal(100, 5, (30, 40)).astype(np.float32), schema=get_schema("rubin"))
            mi.mask.set("BAD", (10 + k, 20 + e))
            mi.mask.set("CR", (5 + 10 * k, 7 + k))  # the same place in every exposure: global
            units.append(Extension(name, 1 + k, name, mi))
        paths.append(tmp_path / f"exp{e}.fits")
        astromask.write(Extensions(units), paths[-1], format="fits")
    return paths


def test_stack_of_exposures_of_several_ccds_stacks_each_ccd(cli, tmp_path):
    exposures = _exposures(tmp_path)
    argv = ["--repeated-flag-keys", "CR", "--mask-grow", "1"]
    code, out, err = cli("stack", *exposures, "-o", tmp_path / "all", *argv)
    assert code == 0, err
    assert "global mask: 2 pixels over 2 CCDs (N1, N2)" in out
    table = Table.read(tmp_path / "all" / "stack_summary.ecsv")
    assert list(table["hdu"]) == ["N1"] * 3 + ["N2"] * 3
    code, out, err = cli("stack", *exposures, "-o", tmp_path / "images", *argv, "--write-images")
    assert code == 0, err
    for ccd in ("N1", "N2"):  # the same as stacking that CCD alone
        code, _, err = cli("stack", *[f"{p}[{ccd}]" for p in exposures], "-o", tmp_path / ccd, *argv)
        assert code == 0, err
        code, _, err = cli(
            "stack", *[f"{p}[{ccd}]" for p in exposures], "-o", tmp_path / f"{ccd}-images", *argv, "--write-images"
        )
        assert code == 0, err
        for path in exposures:
            mask_name = path.name.replace(".fits", "_mask.fits")
            whole = astromask.read(f"{tmp_path / 'all' / mask_name}[{ccd}]")
            assert whole == astromask.read(tmp_path / ccd / mask_name)
            image = astromask.read(f"{tmp_path / 'images' / path.name}[{ccd}]")
            alone = astromask.read(tmp_path / f"{ccd}-images" / path.name)
            np.testing.assert_array_equal(image.image, alone.image)
            assert image.mask == alone.mask == whole
        whole = astromask.read(f"{tmp_path / 'all' / 'global_mask.fits'}[{ccd}]")
        assert whole == astromask.read(tmp_path / ccd / "global_mask.fits")
    assert not list((tmp_path / "all").glob(".astromask*"))


def test_stack_refuses_exposures_with_different_hdus(cli, tmp_path, ccds):
    exposures = _exposures(tmp_path, n=1)
    code, _, err = cli("stack", exposures[0], ccds, "-o", tmp_path / "s")
    assert code == 1 and "the same HDUs in every exposure" in err and "N1, N2" in err


def test_the_decam_static_mask_is_read_whole(cli, tmp_path):
    path = shared_path("decam", "ksb_staticmask_ood_v1.fits.fz")
    every = astromask.read_all(path)
    assert list(every) == ["ccd1", "ccd2", "ccd3", "ccd4"]
    assert [every[n].counts()["BAD"] for n in every] == [86429, 86205, 121899, 91789]
    code, out, err = cli("area", path)
    assert code == 0, err
    assert [int(line.split(": ")[1].split()[0]) for line in out.splitlines()] == [86429, 86205, 121899, 91789]
    out = tmp_path / "ksb.fits"
    code, _, err = cli("convert", path, out, "--to", "fits")
    assert code == 0, err
    assert [astromask.read(f"{out}[{n}]").counts()["BAD"] for n in every] == [86429, 86205, 121899, 91789]


def test_info_flags_counts_every_hdu(cli, ccds):
    code, out, err = cli("info", ccds, "--flags", "BAD")
    assert code == 0, err
    counts = [int(line.split(": ")[1].split()[0]) for line in out.splitlines() if "selected by 'BAD'" in line]
    assert counts == [int((_data(ccds, name) & 1).astype(bool).sum()) for name in CCDS]


def test_detect_writes_its_fits_and_png_together_or_neither(cli, images, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from astromask.detect import picture

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(picture, "save_png", broken)
    code, _, err = cli("detect", f"{images}[SCI,1]", "-o", tmp_path / "d.fits", "--no-cnn", "--detectors", "HOT")
    assert code == 1 and "disk full" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mef.fits"]  # no FITS without its PNG
