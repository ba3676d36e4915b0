"""Moved to :mod:`astromask.morphology._packed`; ``import astromask._packed`` stays the same module."""

import sys

from .morphology import _packed as _moved

sys.modules[__name__] = _moved
