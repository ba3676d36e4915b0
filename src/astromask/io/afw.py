"""Moved to :mod:`astromask.io.formats.afw`; ``import astromask.io.afw`` stays the same module."""

import sys

from .formats import afw as _moved

sys.modules[__name__] = _moved
