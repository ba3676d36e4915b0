"""Moved to :mod:`astromask.ops.algebra`; ``import astromask.algebra`` stays the same module."""

import sys

from .ops import algebra as _moved

sys.modules[__name__] = _moved
