"""Moved to :mod:`astromask.morphology.footprint`; ``import astromask.footprint`` stays the same module."""

import sys

from .morphology import footprint as _moved

sys.modules[__name__] = _moved
