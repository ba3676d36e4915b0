"""astromask: astronomical pixel masks with named planes, masked images and every mask file format.

The core types are :class:`MaskSchema` (named bit planes), :class:`Mask` (a 2-D
integer bit-plane array with its schema) and :class:`MaskedImage` (image, mask,
variance, WCS, pixel origin, metadata). :func:`read` and :func:`write` move them
in and out of FITS files in the formats of Rubin/afw, lsst.images, CCDData,
JWST, the DECam Community Pipeline and plain FITS.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> the module that defines it; imported on first use, so that `import astromask`
# (and `astromask --version`) loads neither astropy nor numpy
_LAZY = {
    "Mask": "core.mask",
    "Box": "core.masked_image",
    "MaskedImage": "core.masked_image",
    "PRESETS": "core.presets",
    "get_schema": "core.presets",
    "MaskPlane": "core.schema",
    "MaskSchema": "core.schema",
    "AstromaskError": "errors",
    "UnknownPlaneError": "errors",
    "UnknownPlaneWarning": "errors",
    "read": "io",
    "read_all": "io",
    "Extensions": "io",
    "read_mask": "io",
    "read_masked_image": "io",
    "write": "io",
}

__all__ = [
    "PRESETS",
    "AstromaskError",
    "Box",
    "Extensions",
    "Mask",
    "MaskPlane",
    "MaskSchema",
    "MaskedImage",
    "UnknownPlaneError",
    "UnknownPlaneWarning",
    "get_schema",
    "read",
    "read_all",
    "read_mask",
    "read_masked_image",
    "write",
]


def __getattr__(name: str) -> object:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
