"""Moved to :mod:`astromask.syntax.fits_name`; importing this module gives that one."""

import sys

from ..syntax import fits_name as _moved

sys.modules[__name__] = _moved
