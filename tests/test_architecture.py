"""The layout of docs/architecture.md holds: no module imports from a layer above its own, the old
module paths still import (as the moved modules themselves), and no module runs past about 500
lines without saying why at its top."""

import ast
import importlib
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "astromask"

#: the layers of docs/architecture.md, bottom first: a module may import its own layer and those below
LAYERS = (
    {"errors", "_optional", "_limits", "progress", "__init__"},
    {"syntax"},
    {"core"},
    {"ops", "morphology", "sky"},
    {"io"},
    {"regions", "inputs"},
    {"filter", "detect", "maximask", "stack", "visual", "info", "report", "testing"},
    {"cli"},
    {"_dev", "__main__"},
)

#: old module path -> the module it now is
MOVED = {
    "astromask.schema": "astromask.core.schema",
    "astromask.presets": "astromask.core.presets",
    "astromask.mask": "astromask.core.mask",
    "astromask.masked_image": "astromask.core.masked_image",
    "astromask.units": "astromask.core.units",
    "astromask.algebra": "astromask.ops.algebra",
    "astromask.threshold": "astromask.ops.threshold",
    "astromask.blobs": "astromask.ops.blobs",
    "astromask.measure": "astromask.ops.measure",
    "astromask.calc": "astromask.ops.calc",
    "astromask.footprint": "astromask.morphology.footprint",
    "astromask.significance": "astromask.sky.significance",
    "astromask.detect.inject": "astromask.testing.inject",
    "astromask.regions.ciao": "astromask.syntax.region",
    "astromask.filter.syntax": "astromask.syntax.filter",
    "astromask.io.names": "astromask.syntax.fits_name",
    "astromask.io.lsst": "astromask.io.formats.lsst",
    "astromask.io.afw": "astromask.io.formats.afw",
    "astromask.io.decam": "astromask.io.formats.decam",
    "astromask.stack.inputs": "astromask.inputs",
    "astromask._morph_kernels": "astromask.morphology._kernels",
    "astromask._packed": "astromask.morphology._packed",
    "astromask._docs": "astromask._dev.docs",
    "astromask.demo": "astromask._dev.demo",
}

LONG = 520  # "about 500 lines"
REASON = "Longer than 500 lines"


def _layer(top: str) -> int:
    return next(i for i, names in enumerate(LAYERS) if top in names)


def _modules():
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        parts = ("astromask", *rel.parts)
        yield path, parts, parts[:-1]  # a module's package; for __init__, the package itself


def _imported(path: Path, package: tuple[str, ...]):
    """Top-level names under astromask of what the module imports."""
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = list(package[: len(package) - (node.level - 1)])
            target = [*base, *(node.module.split(".") if node.module else [])]
        elif node.module and node.module.split(".")[0] == "astromask":
            target = node.module.split(".")
        else:
            continue
        if len(target) == 1:  # from astromask import x / from . import x (at the root)
            for alias in node.names:
                yield alias.name if (SRC / alias.name).exists() or (SRC / f"{alias.name}.py").exists() else "__init__"
        else:
            yield target[1]


def test_every_package_is_in_one_layer():
    tops = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in SRC.iterdir() if p.name != "__pycache__"}
    tops = {t for t in tops if not t.endswith(".egg-info")}
    placed = set().union(*LAYERS)
    moved_shims = {name.split(".")[1] for name in MOVED if name.count(".") == 1}
    assert tops - placed <= moved_shims, tops - placed - moved_shims


def test_no_module_imports_from_a_layer_above_its_own():
    upward = []
    for path, parts, package in _modules():
        if "sys.modules[__name__] = _moved" in path.read_text():
            continue  # an old path aliasing its moved module
        top = parts[1] if len(parts) > 2 or parts[1] != "__init__" else "__init__"
        for target in _imported(path, package):
            if target in MOVED or f"astromask.{target}" in MOVED:
                upward.append(f"{path.relative_to(SRC)} imports the old path {target}")
            elif _layer(target) > _layer(top):
                upward.append(f"{path.relative_to(SRC)} ({top}) imports {target}")
    assert not upward, upward


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_old_module_paths_are_the_moved_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_long_modules_say_why_at_their_top():
    unexplained = []
    for path, _, _ in _modules():
        text = path.read_text()
        if text.count("\n") > LONG:
            doc = ast.get_docstring(ast.parse(text)) or ""
            if REASON not in doc:
                unexplained.append(f"{path.relative_to(SRC)}: {text.count(chr(10))} lines")
    assert not unexplained, unexplained
