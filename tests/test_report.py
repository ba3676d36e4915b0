"""`astromask report` / `write_report`: a self-contained HTML page with one switchable layer per plane.

The page is read back with the standard library's HTML parser and its PNG
layers with matplotlib's decoder; the browser test drives headless Chromium
(Debian's ``chromium`` + ``chromium-driver``) through selenium.
"""

import base64
import importlib.util
import io
import os
import re
import shutil
from html.parser import HTMLParser

import matplotlib.image as mpimg
import numpy as np
import pytest
from astropy.io import fits
from skimage.measure import block_reduce

import astromask
import astromask.cli
from astromask import MaskedImage, get_schema
from astromask.cli import report as report_cli
from astromask.errors import AstromaskError, OutputExistsError
from astromask.report import report_html, write_report
from astromask.visual import PALETTE, as_panels
from conftest import shared_path

MAXIMASK_CLASSES = ("CR", "HCL", "DCL", "HP", "DP", "P", "TRL", "FR", "NEB", "SAT", "SP", "OV", "BBG")


class Page(HTMLParser):
    """The parts of a report page the tests look at."""

    def __init__(self, text: str):
        super().__init__()
        self.images, self.inputs, self.rows, self.scripts, self.links = [], [], [], 0, []
        self._row, self._cell = None, None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "img":
            self.images.append(attrs)
        elif tag == "input":
            self.inputs.append(attrs)
        elif tag == "script":
            self.scripts += 1
            assert "src" not in attrs, "scripts must be inline"
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr":
            self.rows.append(self._row)
            self._row = None

    def image(self, ident: str) -> np.ndarray:
        """Decoded pixels of the <img> with this id (or class 'base' of panel ``pN``)."""
        for attrs in self.images:
            if attrs.get("id") == ident:
                return decode(attrs["src"])
        raise KeyError(ident)

    def table(self, header: str) -> list[list[str]]:
        """Rows following the header row whose first cell is ``header``."""
        start = next(i for i, r in enumerate(self.rows) if r and r[0] == header)
        rows = []
        for row in self.rows[start + 1 :]:
            if row and row[0] in ("plane", "parameter"):
                break
            rows.append(row)
        return rows


def decode(uri: str) -> np.ndarray:
    assert uri.startswith("data:image/png;base64,")
    return mpimg.imread(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])), format="png")


def cli(monkeypatch, capsys, *argv):
    monkeypatch.setitem(astromask.cli.COMMANDS, "report", report_cli)
    code = astromask.cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_self_contained(text: str) -> None:
    assert not re.search(r"(?i)\b(src|href)\s*=\s*\"(?!data:|#)", text), "a resource outside the page"
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert "@import" not in text


def generated(seed=0):
    """80×100 image of 10×10 tiles; CR on [10:30, 10:40], SAT on [50:70, 60:90]."""
    image = np.kron(np.random.default_rng(seed).normal(100, 10, size=(8, 10)), np.ones((10, 10)))
    mi = MaskedImage(image, schema=get_schema("rubin"))
    mi.mask.set("CR", np.s_[10:30, 10:40])
    mi.mask.set("SAT", np.s_[50:70, 60:90])
    return mi


# -- the page -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def maximask_page(tmp_path_factory):
    """The report on the MaxiMask reference image with its class cube (made once)."""
    image_path = shared_path("maximask", "synth_crop_a.fits.fz")
    cube_path = shared_path("maximask", "synth_crop_a.mask.fits.fz")
    outdir = tmp_path_factory.mktemp("maximask-report")
    page = write_report(str(image_path), outdir, masks=str(cube_path), parameters={"run": "ref"}, max_size=600)
    return page, cube_path  # 1100 pixels into 600: shown in 2×2 blocks


def test_report_of_the_maximask_reference(maximask_page):
    page_path, cube_path = maximask_page
    text = page_path.read_text()
    assert_self_contained(text)
    page = Page(text)
    cube = fits.getdata(cube_path, 1)
    header = fits.getheader(cube_path, 1)
    planes = {c: cube[int(header[f"{c}_DIM"])] != 0 for c in MAXIMASK_CLASSES}
    drawn = [c for c in MAXIMASK_CLASSES if planes[c].any()]
    assert [i["data-layer"] for i in page.inputs if "plane" in i.get("class", "")] == [f"p0-{c}" for c in drawn]
    base = [i for i in page.images if i.get("class") == "base"]
    assert len(base) == 1 and decode(base[0]["src"]).shape[:2] == (500, 550)
    assert "shown in 2×2 blocks" in text
    for name in drawn:  # each layer: the plane's colour exactly where the cube says (2×2 max), high y on top
        layer = page.image(f"p0-{name}")
        where = block_reduce(planes[name], 2, np.max)[::-1]
        np.testing.assert_array_equal(layer[..., 3] > 0, where, err_msg=name)
        colour = np.round(layer[where][:, :3] * 255)
        expected = [int(PALETTE[drawn.index(name)][i : i + 2], 16) for i in (1, 3, 5)]
        assert (colour == expected).all(), name
    counts = {row[0]: row for row in page.table("plane")}
    for name in MAXIMASK_CLASSES:
        n = int(planes[name].sum())
        assert counts[name][2] == f"{n:,}"
        assert counts[name][3] == ("0%" if n == 0 else f"{100 * n / cube[0].size:.3g}%")
    params = {row[0]: (row[1], row[2]) for row in page.table("parameter")}
    assert params["run"] == ("ref", "given")
    assert params["CR prior, threshold"] == (f"{header['CR_PR']}, {header['CR_TH']}", "file header")
    assert params["THRESH"][0].startswith("Yes")


def test_large_images_are_shown_in_blocks(tmp_path):
    mi = generated()
    mi.mask.set("BAD", (77, 3))  # one pixel
    page = Page(report_html(as_panels(mi), max_size=40))  # 100 px into 40: 3×3 blocks
    assert page.image("p0-BAD")[..., 3].sum() == 1
    np.testing.assert_array_equal(
        page.image("p0-BAD")[..., 3] > 0, block_reduce(mi.mask.get("BAD"), 3, np.max, cval=False)[::-1]
    )
    assert "shown in 3×3 blocks" in report_html(as_panels(mi), max_size=40)


def test_parameters_given_by_the_caller_are_escaped(tmp_path):
    mi = generated()
    page_path = write_report([mi, mi.mask], tmp_path, parameters=[{"cut": "<b>5</b> & more"}, {"nsigma": 3}])
    text = page_path.read_text()
    assert "<b>5</b>" not in text and "&lt;b&gt;5&lt;/b&gt; &amp; more" in text
    page = Page(text)
    assert page.table("parameter")[0] == ["cut", "<b>5</b> & more", "given"]
    assert ["nsigma", "3", "given"] in page.rows
    assert sum(1 for i in page.images if i.get("class") == "base") == 2


def test_astromask_history_cards_are_shown(tmp_path):
    mi = generated()
    path = tmp_path / "m.fits"
    astromask.write(mi.mask, path, format="fits")
    with fits.open(path, mode="update") as h:
        h[0].header.add_history("astromask region: circle(10,10,5)")
        h[0].header.add_history("made by someone else")
    page = Page(write_report(str(path), tmp_path / "r").read_text())
    assert ["HISTORY 1", "astromask region: circle(10,10,5)", "file header"] in page.rows
    assert not any("someone else" in " ".join(r) for r in page.rows)


def test_write_report_refuses_to_overwrite(tmp_path):
    mi = generated()
    write_report(mi, tmp_path)
    with pytest.raises(OutputExistsError, match=r"index\.html: output file exists"):
        write_report(mi, tmp_path)
    write_report(mi, tmp_path, overwrite=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(AstromaskError, match="not a directory"):
        write_report(mi, tmp_path / "file")
    with pytest.raises(ValueError, match="2 parameter sets for 1 inputs"):
        write_report(mi, tmp_path / "new", parameters=[{}, {}])
    assert not (tmp_path / "new").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "index.html"]  # no partial files left


def test_report_command(monkeypatch, capsys, tmp_path):
    mi = generated()
    path = tmp_path / "mi.fits"
    astromask.write(mi, path, format="afw")
    out = tmp_path / "out"
    code, _, err = cli(
        monkeypatch, capsys, "-v", "report", path, path, "-o", out, "--planes", "SAT", "--title", "two & one"
    )
    assert code == 0, err
    assert f"wrote {out / 'index.html'} (2 images" in err
    page = Page((out / "index.html").read_text())
    assert [i["data-layer"] for i in page.inputs if "data-layer" in i] == ["p0-SAT", "p1-SAT"]
    assert "<title>two &amp; one</title>" in (out / "index.html").read_text()
    code, _, err = cli(monkeypatch, capsys, "report", path, "-o", out)
    assert code == 1 and "output file exists" in err and err.count("\n") == 1
    code, _, err = cli(monkeypatch, capsys, "report", path, "-o", out, "--overwrite", "--planes", "NOPE")
    assert code == 1 and "unknown mask plane 'NOPE'" in err


# -- in a browser -------------------------------------------------------------------------------------

CHROME_FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1300,1500",
    "--force-device-scale-factor=1", "--hide-scrollbars",
)  # fmt: skip


def _unavailable(reason: str):
    """Skip, except in CI (environment variable CI set), where the browser test must run."""
    if os.environ.get("CI"):
        pytest.fail(f"browser test cannot run in CI: {reason} (install chromium chromium-driver, pip selenium)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = next((shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None)
    driver_path = shutil.which("chromedriver")
    if chromium is None or driver_path is None:
        _unavailable("chromium or chromedriver is not installed")
    if importlib.util.find_spec("selenium") is None:
        _unavailable("selenium is not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*CHROME_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def open_page(driver, path):
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get_log("browser")  # drain what earlier pages logged
    driver.get(path.as_uri())
    WebDriverWait(driver, 10).until(lambda d: d.execute_script("return document.documentElement.dataset.ready"))
    return driver


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def snapshot(driver, css: str) -> np.ndarray:
    from selenium.webdriver.common.by import By

    png = driver.find_element(By.CSS_SELECTOR, css).screenshot_as_png
    return np.round(mpimg.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)


def click(driver, css: str) -> None:
    from selenium.webdriver.common.by import By

    driver.find_element(By.CSS_SELECTOR, css).click()


def box(rows, cols, scale, height):
    """Screen pixels of image rows/cols slices (high y on top), with ``scale`` screen pixels per image pixel."""
    return slice(round((height - rows.stop) * scale), round((height - rows.start) * scale)), slice(
        round(cols.start * scale), round(cols.stop * scale)
    )


def test_page_in_headless_chromium(browser, tmp_path):
    mi = generated()
    page = write_report(mi, tmp_path, parameters={"nsigma": 5})
    open_page(browser, page)
    assert console_errors(browser) == []
    assert browser.execute_script("return document.documentElement.getAttribute('data-errors')") is None
    before = snapshot(browser, "#p0 .stack")
    scale = before.shape[1] / 100  # the 100-pixel-wide image is enlarged to the page's minimum width
    assert before.shape[0] == pytest.approx(80 * scale, abs=1)
    cr = box(np.s_[10:30], np.s_[10:40], scale, 80)
    sat = box(np.s_[50:70], np.s_[60:90], scale, 80)
    assert np.ptp(before[cr], axis=-1).max() > 30  # coloured, not grey, where CR is drawn

    click(browser, "#p0 input[data-layer='p0-CR']")  # hide CR
    hidden = snapshot(browser, "#p0 .stack")
    changed = np.abs(hidden - before).max(axis=-1) > 8
    inside = np.zeros(changed.shape, bool)
    inside[cr] = True
    margin = np.zeros(changed.shape, bool)
    margin[max(cr[0].start - 2, 0) : cr[0].stop + 2, max(cr[1].start - 2, 0) : cr[1].stop + 2] = True
    assert changed[inside].mean() > 0.95  # the CR area changed...
    assert not changed[~margin].any()  # ...and nothing else (SAT still drawn)
    assert np.ptp(hidden[cr], axis=-1).max() <= 2  # grey again
    np.testing.assert_array_equal(hidden[sat], before[sat])

    click(browser, "#p0 input[data-layer='p0-CR']")  # show it again: the same picture as before
    np.testing.assert_array_equal(snapshot(browser, "#p0 .stack"), before)
    click(browser, "#p0 button[data-action='none']")
    assert np.ptp(snapshot(browser, "#p0 .stack"), axis=-1).max() <= 2  # only the grey image is left
    assert console_errors(browser) == []
    assert browser.execute_script("return document.documentElement.getAttribute('data-errors')") is None

    # the checks can fail: a script error is caught by both
    browser.execute_script("setTimeout(function () { undefinedFunction(); }, 0);")
    browser.execute_script("return 1")
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 5).until(lambda d: d.execute_script("return document.documentElement.dataset.errors"))
    assert any("undefinedFunction" in m for m in console_errors(browser))


def test_maximask_report_in_headless_chromium(browser, maximask_page):
    page, cube_path = maximask_page
    open_page(browser, page)
    assert console_errors(browser) == []
    before = snapshot(browser, "#p0 .stack")
    click(browser, "#p0 input[data-layer='p0-BBG']")
    after = snapshot(browser, "#p0 .stack")
    changed = np.abs(after - before).max(axis=-1) > 8
    bbg = fits.getdata(cube_path, 1)[int(fits.getheader(cube_path, 1)["BBG_DIM"])] != 0
    area = block_reduce(bbg, 2, np.max).mean()
    assert 0.5 * area < changed.mean() < 1.5 * area  # about the area BBG covers (the smaller planes lie on top)
    assert browser.execute_script("return document.documentElement.getAttribute('data-errors')") is None
