"""Moved to :mod:`astromask.io.formats.jwst`; ``import astromask.io.jwst`` stays the same module."""

import sys

from .formats import jwst as _moved

sys.modules[__name__] = _moved
