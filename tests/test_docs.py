"""The docs say what is true: README examples run, the schema page matches the registry."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_schema_page_matches_registry():
    from astromask._docs import render

    assert (ROOT / "docs" / "schemas.md").read_text() == render()


def test_readme_python_example_runs(tmp_path, monkeypatch):
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "README has no Python example"
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(blocks[0], "README.md", "exec"), namespace)
    assert namespace["m"].counts()["SAT"] == 240
    assert namespace["rubin"].flags("~(CR+SAT)") & 0xF == 5
    assert "EDGE" in namespace["both"].schema.names
    assert namespace["cut"].xy0 == (210, 105) and namespace["cut"].shape == (10, 20)
    assert namespace["sub"].xy0 == (250, 110)


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```sh\n(.*?)```", text, flags=re.S).group(1)
    assert first_block.splitlines()[0].startswith("make demo")
    assert first_block.splitlines()[1].startswith("make test")


@pytest.mark.parametrize("target", ["demo", "test"])
def test_makefile_targets_exist(target):
    assert re.search(rf"^{target}:", (ROOT / "Makefile").read_text(), flags=re.M)


DOC_PAGES = sorted(p.name for p in (ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("page", DOC_PAGES)
def test_docs_python_examples_run(page, tmp_path, monkeypatch):
    """Every ```python block of a docs page runs (blocks of one page share a namespace, in order)."""
    text = (ROOT / "docs" / page).read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    if not blocks:
        pytest.skip(f"{page} has no Python example")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__doc_example__"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"docs/{page} block {i + 1}", "exec"), namespace)


def test_readme_stack_example_makes_a_global_mask(tmp_path, cli):
    # the README's stack commands, on the real M13 frames
    from conftest import shared_path

    text = (ROOT / "README.md").read_text()
    assert "astromask stack 'detected/*.fits' --outdir stacked --repeated-flag-keys HOT,CR" in text
    frames = sorted(shared_path("m13").glob("M13_blue_000?.fits"))
    (tmp_path / "detected").mkdir()
    for frame in frames:
        assert cli("detect", "--no-cnn", frame, "-o", tmp_path / "detected" / frame.name)[0] == 0
    code, out, err = cli(
        "stack",
        str(tmp_path / "detected" / "*.fits"),
        "--outdir",
        tmp_path / "stacked",
        "--repeated-flag-keys",
        "HOT,CR",
        "--mask-num-images",
        "2",
        "--mask-grow",
        "1",
    )
    assert code == 0, err
    global_line = next(line for line in out.splitlines() if line.startswith("global mask: "))
    assert int(global_line.split()[2]) > 0  # something visible: pixels flagged in two frames or more
    assert len([line for line in out.splitlines() if line.startswith("M13_blue_000")]) == len(frames)
    written = sorted(p.name for p in (tmp_path / "stacked").iterdir())  # what the README's comment says
    assert written == sorted([f"{f.stem}_mask.fits" for f in frames] + ["global_mask.fits", "stack_summary.ecsv"])
