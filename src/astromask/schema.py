"""Moved to :mod:`astromask.core.schema`; ``import astromask.schema`` stays the same module."""

import sys

from .core import schema as _moved

sys.modules[__name__] = _moved
