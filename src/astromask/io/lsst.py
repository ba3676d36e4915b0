"""Moved to :mod:`astromask.io.formats.lsst`; ``import astromask.io.lsst`` stays the same module."""

import sys

from .formats import lsst as _moved

sys.modules[__name__] = _moved
