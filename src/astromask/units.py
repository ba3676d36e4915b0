"""Moved to :mod:`astromask.core.units`; ``import astromask.units`` stays the same module."""

import sys

from .core import units as _moved

sys.modules[__name__] = _moved
