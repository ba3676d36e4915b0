"""Moved to :mod:`astromask.syntax.region`; importing this module gives that one."""

import sys

from ..syntax import region as _moved

sys.modules[__name__] = _moved
