"""Moved to :mod:`astromask.io.formats.ccddata`; ``import astromask.io.ccddata`` stays the same module."""

import sys

from .formats import ccddata as _moved

sys.modules[__name__] = _moved
