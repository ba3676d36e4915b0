"""Optional dependencies: one way to ask for them, one error when they are missing.

>>> has("numpy")
True
>>> require("no_such_module_astromask", extra="plot", needed_for="drawing masks")
Traceback (most recent call last):
...
astromask.errors.MissingDependencyError: drawing masks needs no_such_module_astromask: pip install 'astromask[plot]'
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from .errors import MissingDependencyError

__all__ = ["has", "require"]

# the extra of pyproject.toml that installs each optional module
EXTRAS = {
    "matplotlib": "plot",
    "dask": "dask",
    "distributed": "dask",
    "regions": "regions",
    "torch": "cnn",
    "healsparse": "healpix",
    "reproject": "reproject",
    "hpgeom": "healpix",
}


def has(module: str) -> bool:
    """Whether ``module`` can be imported (nothing is imported)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a broken __spec__
        return False


def require(module: str, *, extra: str | None = None, needed_for: str = "this") -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra that installs it.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"matplotlib.figure"``.
    extra : str, optional
        The astromask extra that provides it; by default looked up from the top-level package.
    needed_for : str
        What needs it, for the message (``"ds9 region files"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        extra = extra or EXTRAS.get(top)
        hint = f"pip install 'astromask[{extra}]'" if extra else f"pip install {top}"
        raise MissingDependencyError(f"{needed_for} needs {top}: {hint}") from exc
