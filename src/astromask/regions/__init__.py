"""Regions as pixel masks: CIAO syntax parsed by astromask, ds9/CRTF through ``regions``.

* :func:`parse` a CIAO region string into a :class:`Region`;
  :meth:`Region.mask` rasterizes it with CIAO's semantics (1-based pixel
  centres, boundaries included, physical coordinates through ``LTM``/``LTV``,
  world coordinates through the image WCS); :meth:`Region.area` measures it.
* :func:`read_region_file` reads CIAO ASCII and FITS region files,
  :func:`read_ds9` ds9 and CRTF files.
* :func:`load_region` takes any of these (a string, ``region(file)`` or a file
  name) and :func:`region_mask` makes the mask of an image from it.

Boolean masks returned here are True *inside the region* (a selection); pass
``exclude=True`` for CIAO's ``[exclude sky=region(...)]``.
"""

from __future__ import annotations

import os
import re

import numpy as np
from astropy.io import fits

from ..errors import ParameterError, ParameterTypeError
from ..syntax.region import RegionSyntaxError
from .ds9 import Ds9Region, read_ds9
from .files import read_fits_region, read_region_file, region_file_kind
from .frame import PixelFrame
from .region import Literal, Region, parse

__all__ = [
    "Ds9Region",
    "Literal",
    "PixelFrame",
    "Region",
    "RegionSyntaxError",
    "load_region",
    "parse",
    "read_ds9",
    "read_fits_region",
    "read_region_file",
    "region_file_kind",
    "region_mask",
]

_REGION_FILE = re.compile(r"^\s*region\s*\((?P<path>[^)]*)\)\s*$", flags=re.I)


def load_region(spec: str) -> Region | Ds9Region:
    """A region from a CIAO string, ``region(file)``, or a CIAO/FITS/ds9/CRTF file name.

    Examples
    --------
    >>> str(load_region("circle(10,10,3)+box(1,1,2,2)"))
    'Circle(10,10,3)|Box(1,1,2,2)'
    """
    from ..io.fitsfile import parse_fits_name

    match = _REGION_FILE.match(spec)
    name = match.group("path").strip() if match else spec
    path = parse_fits_name(name).path if "[" in name else name
    if os.path.isfile(path):
        kind = region_file_kind(path)
        return read_ds9(path, format=kind) if kind in ("ds9", "crtf") else read_region_file(name)
    if match:
        raise FileNotFoundError(f"{name}: no such region file")
    if "(" not in spec and not spec.strip().startswith("!"):
        raise FileNotFoundError(f"{spec}: no such region file (and not a region string)")
    return parse(spec)


def region_mask(image, region, *, exclude: bool = False, shape: tuple[int, int] | None = None, wcs=None) -> np.ndarray:
    """Boolean mask of the pixels of an image whose centres are in a region.

    Parameters
    ----------
    image : astropy.io.fits.Header, ImageHDU/PrimaryHDU, or (ny, nx) tuple
        The image grid: a header gives the shape (``NAXIS1/2``), the physical
        system (``LTM``/``LTV``) and the sky WCS.
    region : str, Region or Ds9Region
        A region, or anything :func:`load_region` accepts.
    exclude : bool
        Return the complement (CIAO's ``[exclude sky=region(...)]``).
    shape : (ny, nx), optional
        Image shape when ``image`` is a header without ``NAXISn``.
    wcs : astropy.wcs.WCS, optional
        Sky WCS overriding the header's.

    Examples
    --------
    >>> int(region_mask((100, 100), "circle(50,50,20)").sum())
    1257
    """
    header = None
    if isinstance(image, tuple):
        shape = image
    elif isinstance(image, fits.Header):
        header = image
    elif hasattr(image, "header"):
        header = image.header
        shape = shape or getattr(image, "shape", None)
    else:
        raise ParameterTypeError(
            f"image must be a FITS header, an image HDU or a shape tuple, got {type(image).__name__}"
        )
    if shape is None:
        if header is None or "NAXIS1" not in header or "NAXIS2" not in header:
            raise ParameterError("give the image shape: the header has no NAXIS1/NAXIS2")
        shape = (int(header["NAXIS2"]), int(header["NAXIS1"]))
    if isinstance(region, str):
        region = load_region(region)
    mask = region.mask(tuple(shape), header=header, wcs=wcs)
    return ~mask if exclude else mask
