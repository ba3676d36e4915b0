"""Moved to :mod:`astromask.io.formats.decam`; ``import astromask.io.decam`` stays the same module."""

import sys

from .formats import decam as _moved

sys.modules[__name__] = _moved
