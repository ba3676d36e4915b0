"""Moved to :mod:`astromask.inputs` (one input expander for every command); kept for old imports."""

from ..inputs import FITS_SUFFIXES, expand_inputs

__all__ = ["FITS_SUFFIXES", "expand_inputs"]
