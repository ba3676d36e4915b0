"""astromask: astronomical pixel masks with named planes, masked images and every mask file format.

The core types are :class:`MaskSchema` (named bit planes), :class:`Mask` (a 2-D
integer bit-plane array with its schema) and :class:`MaskedImage` (image, mask,
variance, WCS, pixel origin, metadata). :func:`read` and :func:`write` move them
in and out of FITS files in the formats of Rubin/afw, lsst.images, CCDData,
JWST, the DECam Community Pipeline and plain FITS.
"""

from .mask import Mask
from .masked_image import Box, MaskedImage
from .presets import PRESETS, get_schema
from .schema import MaskPlane, MaskSchema, UnknownPlaneError, UnknownPlaneWarning

__version__ = "0.1.0"

__all__ = [
    "Box",
    "Mask",
    "MaskPlane",
    "MaskSchema",
    "MaskedImage",
    "PRESETS",
    "UnknownPlaneError",
    "UnknownPlaneWarning",
    "get_schema",
    "read",
    "read_mask",
    "read_masked_image",
    "write",
]


def __getattr__(name):  # the I/O layer imports lazily so that `import astromask` stays light
    if name in ("read", "read_mask", "read_masked_image", "write"):
        from . import io

        return getattr(io, name)
    raise AttributeError(f"module 'astromask' has no attribute {name!r}")
