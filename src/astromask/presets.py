"""Moved to :mod:`astromask.core.presets`; ``import astromask.presets`` stays the same module."""

import sys

from .core import presets as _moved

sys.modules[__name__] = _moved
