"""The numeric path the networks run on: pinned (the same bits on every x86-64 CPU) or free.

PyTorch's CPU kernels pick their instruction set when they first run. On a CPU
with AVX-512, oneDNN's convolutions use AVX-512 kernels, whose order of
accumulation differs from the AVX2 kernels': MaxiMask's probabilities move
by up to 0.05 and a few mask pixels flip. The **pinned** path (the default)
caps, before the first kernel runs:

* oneDNN (every convolution) at AVX2: ``ONEDNN_MAX_CPU_ISA=AVX2``;
* ATen's vectorised element-wise kernels (``asinh``, ``sigmoid``,
  ``softmax``) at AVX2: ``ATEN_CPU_CAPABILITY=avx2``;
* MKL (MaxiTrack's dense layers) at its conditional-numerical-reproducibility
  branch ``MKL_CBWR=COMPATIBLE,STRICT``: the same bits on Intel and AMD CPUs
  and for any number of threads.

These are process-wide settings, read once by each library when it first
runs a kernel, so they must be in place before the process's first PyTorch
operation: importing :mod:`astromask.maximask` sets them (:func:`pin`), and
:func:`ensure`, run before a network's first batch, checks with a tiny
convolution which kernels actually run and warns when PyTorch had already run
kernels before the pin. Every x86-64 CPU made since 2013 has AVX2, so the
pinned path gives the same masks on all of them, whatever the thread count
(measured: ``docs/maximask.md``).

The **fast** path (:func:`use` ``('fast')``, ``astromask maximask --fast``)
leaves the libraries free to use AVX-512 where the CPU has it. On GPUs the
convolutions run in cuDNN without TF32; neither is bit-identical to the
pinned path, and ``docs/maximask.md`` gives the measured agreement.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import warnings
from dataclasses import dataclass

from ..errors import AstromaskError

__all__ = ["PATHS", "PINNED_ENVIRONMENT", "NumericState", "NumericsWarning", "ensure", "pin", "state", "use"]

PATHS = ("pinned", "fast")

#: What the pinned path sets: each library's own switch for its instruction set.
PINNED_ENVIRONMENT = {
    "ONEDNN_MAX_CPU_ISA": "AVX2",
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_CBWR": "COMPATIBLE,STRICT",
}


class NumericsWarning(UserWarning):
    """The pinned numeric path could not be put in place (a kernel ran before the pin)."""


@dataclass(frozen=True)
class NumericState:
    """What the networks run on in this process.

    Attributes
    ----------
    path : {'pinned', 'fast'}
        The path asked for.
    convolution : str or None
        oneDNN's implementation of a float32 convolution (``'brg_conv_fwd:avx2'``),
        None when oneDNN does not run convolutions here (no oneDNN, or a GPU).
    aten : str
        ATen's CPU capability (``'AVX2'``, ``'AVX512'``, ``'DEFAULT'``).
    """

    path: str
    convolution: str | None
    aten: str

    @property
    def pinned(self) -> bool:
        """Whether every kernel runs at its pinned instruction set."""
        return (self.convolution is None or self.convolution.endswith(":avx2")) and self.aten == "AVX2"

    def describe(self) -> str:
        """One line for ``-v`` and the benchmarks."""
        conv = self.convolution or "not oneDNN"
        return f"numeric path {self.path}: convolutions {conv}, element-wise kernels {self.aten}"


_chosen = "pinned"
_state: NumericState | None = None


def use(path: str) -> None:
    """Choose the numeric path, before the first PyTorch operation in this process.

    ``'fast'`` gives back the environment :func:`pin` replaced.

    Parameters
    ----------
    path : {'pinned', 'fast'}
        ``'pinned'`` (default): the same masks on every x86-64 CPU;
        ``'fast'``: AVX-512 kernels where the CPU has them.

    Raises
    ------
    AstromaskError
        An unknown path, or a change after a network has already run.
    """
    global _chosen
    if path not in PATHS:
        raise AstromaskError(f"numeric path must be one of {', '.join(PATHS)}, got {path!r}")
    if _state is not None and path != _state.path:
        raise AstromaskError(
            f"the numeric path is already {_state.path!r} in this process: a network has run; "
            f"choose {path!r} before the first one"
        )
    _chosen = path
    if path == "pinned":
        pin()
    else:
        for key, value in _replaced.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _replaced.clear()


_replaced: dict[str, str | None] = {}


def pin() -> None:
    """Set the pinned path's environment (:data:`PINNED_ENVIRONMENT`) unless ``'fast'`` was chosen.

    It must come before the process's first PyTorch operation (importing
    torch is fine); importing :mod:`astromask.maximask` calls it.
    """
    if _chosen != "pinned":
        return
    for key, value in PINNED_ENVIRONMENT.items():
        if os.environ.get(key) != value:
            _replaced.setdefault(key, os.environ.get(key))
            os.environ[key] = value


def _probe_convolution() -> str | None:
    """The oneDNN implementation that runs a small float32 convolution, read from oneDNN's verbose log."""
    import torch

    if not torch.backends.mkldnn.is_available():
        return None
    libc = ctypes.CDLL(None)
    x = torch.ones(1, 8, 64, 64).contiguous(memory_format=torch.channels_last)
    w = torch.ones(8, 8, 3, 3).contiguous(memory_format=torch.channels_last)
    with tempfile.TemporaryFile() as log:
        sys.stdout.flush()
        libc.fflush(None)
        saved = os.dup(1)
        os.dup2(log.fileno(), 1)
        try:
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON), torch.inference_mode():
                torch.nn.functional.conv2d(x, w, padding=1)
            libc.fflush(None)
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        log.seek(0)
        lines = log.read().decode(errors="replace").splitlines()
    for line in lines:
        fields = line.split(",")
        if len(fields) > 6 and fields[2] == "primitive" and fields[3] == "exec" and fields[5] == "convolution":
            return fields[6]
    return None


def has_avx2() -> bool:
    """Whether the CPU has AVX2 (as NumPy's CPU feature detection says)."""
    from numpy._core._multiarray_umath import __cpu_features__

    return bool(__cpu_features__.get("AVX2"))


def ensure(device: str = "cpu") -> NumericState:
    """Put the chosen path in place (once per process) and return what runs; warn if the pin came too late.

    Parameters
    ----------
    device : str
        The device the network will run on; on a GPU only the choice is recorded.
    """
    global _state
    if _state is not None:
        return _state
    pin()
    import torch

    convolution = _probe_convolution() if torch.device(device).type == "cpu" else None
    _state = NumericState(_chosen, convolution, torch.backends.cpu.get_cpu_capability())
    if _chosen == "pinned" and not _state.pinned and not has_avx2():
        warnings.warn(
            f"{_state.describe()}: this CPU has no AVX2, so the pinned path's kernels cannot run; "
            "the masks may differ from the original's in a few pixels near the thresholds",
            NumericsWarning,
            stacklevel=3,
        )
    elif _chosen == "pinned" and not _state.pinned:
        warnings.warn(
            f"{_state.describe()}: PyTorch ran kernels before astromask could pin them, so the masks "
            "may differ from the original's in a few pixels near the thresholds on this CPU; call "
            "astromask.maximask.numerics.pin() before other PyTorch work",
            NumericsWarning,
            stacklevel=3,
        )
    return _state


def state() -> NumericState | None:
    """The numeric path in place, or None before the first network ran."""
    return _state
