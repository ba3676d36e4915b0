"""Masking a stack of exposures the way KBMOD does, streamed and optionally on Dask.

:func:`run_stack` reads image files, builds the global mask of pixels flagged
in several exposures (pass 1, masks only), then masks each image in turn and
writes its mask (pass 2; ``write_images=True`` writes the masked exposure);
:func:`iter_masked` gives the masked exposures to a consumer without writing;
:func:`mask_stack` does the same on images in memory.
Parameters use KBMOD's names (:class:`StackConfig`, :func:`load_config`).
See ``docs/stack.md``.
"""

from ..inputs import expand_inputs
from ..io import read_mask
from .config import DEFAULT_FLAG_KEYS, KBMOD_MASK_BITS, StackConfig, load_config
from .in_memory import StackResult, mask_stack
from .iterate import MaskedExposure, iter_masked
from .masking import (
    GLOBAL_PLANE,
    NO_DATA_PLANE,
    STACK_PLANE,
    count_repeated,
    global_mask,
    mask_image,
    no_data,
    resolve_flags,
)
from .pipeline import output_name, run_stack

read_stack_mask = read_mask  # the name stack users know: the mask read() gives, reading only the mask HDUs

__all__ = [
    "DEFAULT_FLAG_KEYS",
    "GLOBAL_PLANE",
    "KBMOD_MASK_BITS",
    "NO_DATA_PLANE",
    "STACK_PLANE",
    "MaskedExposure",
    "StackConfig",
    "StackResult",
    "count_repeated",
    "expand_inputs",
    "global_mask",
    "iter_masked",
    "load_config",
    "mask_image",
    "mask_stack",
    "no_data",
    "output_name",
    "read_stack_mask",
    "resolve_flags",
    "run_stack",
]
