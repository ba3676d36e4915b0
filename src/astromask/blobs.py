"""Moved to :mod:`astromask.ops.blobs`; ``import astromask.blobs`` stays the same module."""

import sys

from .ops import blobs as _moved

sys.modules[__name__] = _moved
