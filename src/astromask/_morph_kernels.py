"""Moved to :mod:`astromask.morphology._kernels`; ``import astromask._morph_kernels`` stays the same module."""

import sys

from .morphology import _kernels as _moved

sys.modules[__name__] = _moved
