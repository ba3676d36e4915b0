"""Moved to :mod:`astromask.ops.threshold`; ``import astromask.threshold`` stays the same module."""

import sys

from .ops import threshold as _moved

sys.modules[__name__] = _moved
