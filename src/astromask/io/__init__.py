"""Reading and writing masks and masked images, choosing the format by content.

Each format lives in its own module with the same functions:

``identify(hdul, path) -> bool``
    Does this open file hold this format?
``read(hdul, path, *, hdu=None, bbox=None) -> MaskedImage | Mask``
    The object the file holds (``hdu`` picks one where a file holds several;
    ``bbox`` is an absolute :class:`~astromask.Box` to read instead of the whole).
``describe(hdul, path) -> list[dict]``
    One ``{'index', 'kind'}`` row per HDU (kind: ``header``, ``image``, ``mask``,
    ``variance``, ``weight``, ``table``), for ``astromask info``.
``mask_at(hdul, path, index) -> Mask``
    The mask stored in HDU ``index`` with that HDU's own planes.
``write(obj, path, **options) -> dict[str, fits.HDUList]``
    The contents of each file to write (one, or several for DECam
    image/DQ/weight triplets); :func:`write` stores them atomically.

==========  ===============================================  =====================
format      what                                             module
==========  ===============================================  =====================
lsst        lsst.images FITS (FMTVER=1, and 30.0.6 files)    :mod:`.lsst`
afw         Rubin/afw legacy MaskedImage (``MP_*`` cards)    :mod:`.afw`
jwst        JWST-style ``SCI``/``DQ``/``DQ_DEF``             :mod:`.jwst`
ccddata     astropy CCDData (uint8 ``MASK``, ``UNCERT``)      :mod:`.ccddata`
maximask    MaxiMask output cubes (``MM_UTC`` cards)         :mod:`.maximask`
decam       DECam Community Pipeline ooi/ood/oow files       :mod:`.decam`
fits        any plain image or mask HDU                      :mod:`.plain`
==========  ===============================================  =====================
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from types import ModuleType

from astropy.io import fits

from ..errors import FormatError, OutputExistsError, ParameterError
from ..mask import Mask
from ..masked_image import Box, MaskedImage
from .fitsfile import HduSpec, open_fits, parse_fits_name, write_atomic

__all__ = ["FORMATS", "get_format", "identify", "read", "read_mask", "read_masked_image", "write"]

# identification order: the most specific first, plain FITS last
FORMATS: dict[str, str] = {
    "lsst": "lsst.images FITS archive (FMTVER=1; 30.0.6 files read)",
    "afw": "Rubin/afw legacy MaskedImage (IMAGE/MASK/VARIANCE, MP_* cards)",
    "jwst": "JWST-style SCI/ERR/DQ with a DQ_DEF table",
    "ccddata": "astropy CCDData (image + uint8 MASK + UNCERT)",
    "maximask": "MaxiMask output (class cube or single mask, MM_* cards)",
    "decam": "DECam Community Pipeline image/DQ/weight (ooi/ood/oow)",
    "fits": "plain FITS image or mask HDU",
}
_MODULES = {
    "lsst": "lsst",
    "afw": "afw",
    "jwst": "jwst",
    "ccddata": "ccddata",
    "maximask": "maximask",
    "decam": "decam",
    "fits": "plain",
}
WRITE_FORMATS = ("lsst", "afw", "ccddata", "jwst", "decam", "fits")


def get_format(name: str) -> ModuleType:
    """The module implementing format ``name``."""
    try:
        module = _MODULES[name.lower()]
    except (KeyError, AttributeError):
        raise ParameterError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}") from None
    return importlib.import_module(f"{__name__}.{module}")


def identify(hdul: fits.HDUList, path: str) -> str:
    """Name of the format of an open file (``'fits'`` when nothing more specific matches)."""
    for name in FORMATS:
        if get_format(name).identify(hdul, path):
            return name
    return "fits"


def _open(path: str | os.PathLike, format: str | None, hdu: HduSpec):
    name = parse_fits_name(path)
    if hdu is not None and name.hdu is not None:
        raise FormatError(f"HDU given twice (in the name and as hdu={hdu!r})", path=str(path))
    hdul = open_fits(name.path)
    fmt = format.lower() if format else identify(hdul, name.path)
    return name.path, hdul, get_format(fmt), (name.hdu if name.hdu is not None else hdu)


def read(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    hdu: HduSpec = None,
    bbox: Box | None = None,
    plane_map: Mapping[str, str | None] | None = None,
) -> MaskedImage | Mask:
    """Read whatever the file holds: a :class:`MaskedImage` or a lone :class:`Mask`.

    Parameters
    ----------
    path : str
        File name, with an optional CFITSIO HDU selector (``f.fits[1]``,
        ``f.fits[SCI]``, ``f.fits[SCI,2]``). ``.gz`` and ``.fz`` files and
        tile-compressed HDUs are read transparently.
    format : str, optional
        One of :data:`FORMATS`; by default chosen from the content.
    hdu : int, str or (str, int), optional
        HDU to read where the file holds several images or masks.
    bbox : Box, optional
        Absolute box to read; only the rows (or tiles) it needs are read.
    plane_map : mapping, optional
        Planes to rename, ``{"SAT": "SATURATED"}`` (``None`` drops a plane,
        leaving its bit unnamed); names the file lacks are ignored, in any format.

    Examples
    --------
    >>> import astromask
    >>> mi = astromask.read("image.fits")  # doctest: +SKIP
    >>> mi = astromask.read("calexp.fits", plane_map={"SAT": "SATURATED"})  # doctest: +SKIP
    """
    real, hdul, module, hdu = _open(path, format, hdu)
    with hdul:
        obj = module.read(hdul, real, hdu=hdu, bbox=bbox)
    if plane_map:
        mask = obj.mask if isinstance(obj, MaskedImage) else obj
        renamed = Mask(mask.array, mask.schema.renamed(plane_map), copy=False)
        if isinstance(obj, MaskedImage):
            obj.mask = renamed
        else:
            obj = renamed
    return obj


def read_masked_image(path: str | os.PathLike, **kwargs) -> MaskedImage:
    """Read a :class:`MaskedImage`; a file holding only an image gets an all-clear mask.

    A file holding only a mask is an error.
    """
    obj = read(path, **kwargs)
    if isinstance(obj, MaskedImage):
        return obj
    raise FormatError("holds a mask, not an image", path=str(path))


def read_mask(path: str | os.PathLike, **kwargs) -> Mask:
    """Read a :class:`Mask` (the mask of a masked image, or a mask file)."""
    obj = read(path, **kwargs)
    return obj.mask if isinstance(obj, MaskedImage) else obj


def write(
    obj: MaskedImage | Mask,
    path: str | os.PathLike,
    *,
    format: str = "lsst",
    overwrite: bool = False,
    **options,
) -> None:
    """Write a :class:`MaskedImage` or :class:`Mask` atomically.

    Parameters
    ----------
    obj : MaskedImage or Mask
    path : str
        Output file. It is written to a temporary file beside it and renamed.
    format : {'lsst', 'afw', 'ccddata', 'jwst', 'decam', 'fits'}
        Output format (default ``'lsst'``).
    overwrite : bool
        Replace an existing file; otherwise :class:`~astromask.errors.OutputExistsError`.
    **options
        Format options, e.g. ``compression=`` or ``image_compression=`` (see
        each format module).
    """
    if format.lower() not in WRITE_FORMATS:
        raise ParameterError(f"format must be one of {WRITE_FORMATS}, got {format!r}")
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(path)
    outputs = get_format(format).write(obj, path, **options)
    for target in outputs:
        if os.path.exists(target) and not overwrite:
            raise OutputExistsError(target)
    for target, hdul in outputs.items():
        write_atomic(hdul, target, overwrite=overwrite)
