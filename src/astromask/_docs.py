"""Moved to :mod:`astromask._dev.docs`; ``import astromask._docs`` stays the same module."""

import sys

from ._dev import docs as _moved

sys.modules[__name__] = _moved
