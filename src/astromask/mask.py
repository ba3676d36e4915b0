"""Moved to :mod:`astromask.core.mask`; ``import astromask.mask`` stays the same module."""

import sys

from .core import mask as _moved

sys.modules[__name__] = _moved
