"""Moved to :mod:`astromask.testing.inject`; ``import astromask.detect.inject`` stays the same module."""

import sys

from ..testing import inject as _moved

sys.modules[__name__] = _moved
