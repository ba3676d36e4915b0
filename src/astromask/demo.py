"""Moved to :mod:`astromask._dev.demo`; ``import astromask.demo`` stays the same module."""

import sys

from ._dev import demo as _moved

sys.modules[__name__] = _moved
