"""Moved to :mod:`astromask.io.formats.maximask`; ``import astromask.io.maximask`` stays the same module."""

import sys

from .formats import maximask as _moved

sys.modules[__name__] = _moved
