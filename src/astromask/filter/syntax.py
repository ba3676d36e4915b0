"""Moved to :mod:`astromask.syntax.filter`; importing this module gives that one."""

import sys

from ..syntax import filter as _moved

sys.modules[__name__] = _moved
