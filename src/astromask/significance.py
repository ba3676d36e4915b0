"""Moved to :mod:`astromask.sky.significance`; ``import astromask.significance`` stays the same module."""

import sys

from .sky import significance as _moved

sys.modules[__name__] = _moved
