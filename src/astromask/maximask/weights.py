"""Where MaxiMask's and MaxiTrack's trained weights are, and how to get them.

The weights ship (MIT licence) in the PyPI wheel ``maximask==1.4.1`` as
TensorFlow SavedModels, under ``maximask_and_maxitrack/{maximask,maxitrack}/model``.
They are looked for, in this order:

1. a directory given explicitly (``--net_dir``), in the original layout: it
   holds ``variables/variables.index`` and ``variables/variables.data-*``;
2. the wheel unpacked in the cache directory
   ``$ASTROMASK_CACHE/maximask/1.4.1`` (``$ASTROMASK_CACHE`` defaults to
   ``$XDG_CACHE_HOME/astromask``, itself ``~/.cache/astromask``);
3. the wheel file itself in ``$ASTROMASK_CACHE/maximask`` (as left there by
   ``pip download --no-deps maximask==1.4.1 -d ~/.cache/astromask/maximask``),
   unpacked on first use;
4. an installed ``maximask_and_maxitrack`` package (``pip install maximask``).

``python -m astromask.maximask`` downloads the wheel with pip (no
dependencies, so no TensorFlow) and unpacks it into the cache.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import AstromaskError, ParameterError, WeightsNotFoundError

__all__ = [
    "REQUIREMENT",
    "VERSION",
    "WeightsNotFoundError",
    "cache_dir",
    "checkpoint_prefix",
    "fetch",
    "find_net_dir",
    "weights_available",
]

VERSION = "1.4.1"
REQUIREMENT = f"maximask=={VERSION}"
PACKAGE = "maximask_and_maxitrack"
NETWORKS = ("maximask", "maxitrack")
_CHECKPOINT = Path("variables") / "variables"


def cache_dir() -> Path:
    """Directory where the MaxiMask wheel is kept and unpacked (``$ASTROMASK_CACHE/maximask``)."""
    root = os.environ.get("ASTROMASK_CACHE")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(xdg, "astromask")
    return Path(root) / "maximask"


def _unpacked() -> Path:
    return cache_dir() / VERSION / PACKAGE


def _has_checkpoint(model_dir: Path) -> bool:
    return (model_dir / _CHECKPOINT).with_suffix(".index").is_file()


def _wanted(member: str) -> bool:
    """Wheel members worth unpacking: the two models, the config files and the licence."""
    parts = member.split("/")
    if parts[0] == PACKAGE:
        return len(parts) >= 4 and parts[1] in NETWORKS and parts[2] in ("model", "config") and not member.endswith("/")
    return parts[0].endswith(".dist-info") and parts[-1] == "LICENSE"


def _unpack(wheel: Path) -> Path:
    """Unpack a MaxiMask wheel into the cache (atomically); return the package directory."""
    target = cache_dir() / VERSION
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".unpack-"))
    try:
        try:
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(tmp, members=[m for m in archive.namelist() if _wanted(m)])
        except zipfile.BadZipFile:
            raise WeightsNotFoundError(f"{wheel}: not a valid wheel (zip) file; delete it and fetch again") from None
        if not all(_has_checkpoint(tmp / PACKAGE / n / "model") for n in NETWORKS):
            raise WeightsNotFoundError(f"{wheel}: holds no MaxiMask/MaxiTrack checkpoints")
        try:
            os.replace(tmp, target)
        except OSError:
            if not target.is_dir():  # else unpacked meanwhile by another process
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target / PACKAGE


def _cached_wheel() -> Path | None:
    wheels = sorted(cache_dir().glob(f"[Mm]axi[Mm]ask-{VERSION}-*.whl"))
    return wheels[0] if wheels else None


def _installed() -> Path | None:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _how_to_get(network: str) -> str:
    return (
        f"{network} weights not found: run 'python -m astromask.maximask' (it runs "
        f"'pip download --no-deps {REQUIREMENT} -d {cache_dir()}'), or give --net_dir "
        f"(the original's .../maximask_and_maxitrack/{network}/model directory)"
    )


def find_net_dir(network: str = "maximask", net_dir: str | os.PathLike | None = None, *, unpack: bool = True) -> Path:
    """The model directory (original layout) of ``network``.

    Parameters
    ----------
    network : {'maximask', 'maxitrack'}
    net_dir : str or path, optional
        Directory given by the user; it must hold ``variables/variables.index``.
    unpack : bool
        Unpack a wheel found in the cache (otherwise only look).

    Raises
    ------
    WeightsNotFoundError
        With a one-line message saying how to get the weights.
    """
    if network not in NETWORKS:
        raise ParameterError(f"network must be one of {NETWORKS}, got {network!r}")
    if net_dir is not None:
        path = Path(net_dir)
        if not _has_checkpoint(path):
            raise WeightsNotFoundError(
                f"{path}: not a {network} model directory (no {_CHECKPOINT}.index); "
                f"expected the original's .../maximask_and_maxitrack/{network}/model"
            )
        return path
    roots = [_unpacked()]
    installed = _installed()
    if installed is not None:
        roots.append(installed)
    for root in roots:
        if _has_checkpoint(root / network / "model"):
            return root / network / "model"
    wheel = _cached_wheel()
    if wheel is not None and unpack:
        return _unpack(wheel) / network / "model"
    raise WeightsNotFoundError(_how_to_get(network))


def checkpoint_prefix(network: str = "maximask", net_dir: str | os.PathLike | None = None) -> Path:
    """The checkpoint prefix (``.../variables/variables``) of ``network``'s weights."""
    return find_net_dir(network, net_dir) / _CHECKPOINT


def weights_available(network: str = "maximask") -> bool:
    """Whether ``network``'s weights can be found without downloading anything."""
    try:
        find_net_dir(network)
    except WeightsNotFoundError:
        return False
    return True


def fetch(*, quiet: bool = False) -> Path:
    """Download the ``maximask==1.4.1`` wheel with pip (no dependencies) into the cache and unpack it.

    Returns
    -------
    pathlib.Path
        The unpacked ``maximask_and_maxitrack`` directory.
    """
    if all(_has_checkpoint(_unpacked() / n / "model") for n in NETWORKS):
        return _unpacked()
    if _cached_wheel() is None:
        cache_dir().mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-deps", REQUIREMENT, "-d", str(cache_dir())]
        if quiet:
            command.append("--quiet")
        if subprocess.run(command, check=False).returncode != 0:
            raise WeightsNotFoundError(f"'{' '.join(command)}' failed")
    wheel = _cached_wheel()
    if wheel is None:
        raise WeightsNotFoundError(f"pip left no MaxiMask {VERSION} wheel in {cache_dir()}")
    return _unpack(wheel)


def main() -> int:
    """Fetch the weights (``python -m astromask.maximask``); print where they are. Returns the exit status."""
    try:
        path = fetch()
    except AstromaskError as exc:
        print(f"astromask: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0
