"""Moved to :mod:`astromask.io.formats.plain`; ``import astromask.io.plain`` stays the same module."""

import sys

from .formats import plain as _moved

sys.modules[__name__] = _moved
