"""Moved to :mod:`astromask.ops.calc`; ``import astromask.calc`` stays the same module."""

import sys

from .ops import calc as _moved

sys.modules[__name__] = _moved
