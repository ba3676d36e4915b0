"""Moved to :mod:`astromask.core.masked_image`; ``import astromask.masked_image`` stays the same module."""

import sys

from .core import masked_image as _moved

sys.modules[__name__] = _moved
