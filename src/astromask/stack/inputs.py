"""Moved to :mod:`astromask.inputs`; importing this module gives that one."""

import sys

from .. import inputs as _moved

sys.modules[__name__] = _moved
