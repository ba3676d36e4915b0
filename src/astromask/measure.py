"""Moved to :mod:`astromask.ops.measure`; ``import astromask.measure`` stays the same module."""

import sys

from .ops import measure as _moved

sys.modules[__name__] = _moved
