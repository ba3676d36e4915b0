"""Reading and writing masks and masked images, choosing the format by content.

Each format lives in its own module with the same functions:

``identify(hdul, path) -> bool``
    Does this open file hold this format?
``read(hdul, path, *, hdu=None, bbox=None) -> MaskedImage | Mask``
    The object the file holds (``hdu`` picks one where a file holds several;
    ``bbox`` is an absolute :class:`~astromask.Box` to read instead of the whole).
``read_mask(hdul, path, *, hdu=None, bbox=None) -> Mask``
    The mask ``read`` gives, reading only the HDUs that hold it (``stack``'s
    first pass, :func:`astromask.read_mask`).
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

What each format can store (lone masks, bits, plane names) is declared once, in
:mod:`.registry`; :func:`output_format` chooses every command's output format
from it. :func:`open` gives the one :class:`Source` object through which the
library, ``info``, ``stack`` and the pictures read a file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from astropy.io import fits

from ..errors import FormatError, OutputExistsError, ParameterError
from ..mask import Mask
from ..masked_image import Box, MaskedImage
from . import registry
from .fitsfile import HduSpec, open_fits, parse_fits_name, write_atomic
from .registry import output_format

__all__ = [
    "FORMATS",
    "Source",
    "get_format",
    "identify",
    "open",
    "output_format",
    "read",
    "read_mask",
    "read_masked_image",
    "write",
]

#: format name -> one-line description, in identification order (plain FITS last); see :mod:`.registry`
FORMATS: dict[str, str] = {name: fmt.description for name, fmt in registry.FORMATS.items()}
WRITE_FORMATS = tuple(name for name, fmt in registry.FORMATS.items() if fmt.writes)


def get_format(name: str) -> ModuleType:
    """The module implementing format ``name``."""
    return registry.get(name).functions


def identify(hdul: fits.HDUList, path: str) -> str:
    """Name of the format of an open file (``'fits'`` when nothing more specific matches)."""
    for name, fmt in registry.FORMATS.items():
        if fmt.functions.identify(hdul, path):
            return name
    return "fits"


@dataclass
class Source:
    """An open input file: its path, the HDU selected in its name, its format and its HDUs.

    Made by :func:`open`; every reader (the library, ``info``, ``stack``, the pictures)
    goes through one, so that a file is opened, checked and identified one way.
    """

    path: str
    hdu: HduSpec
    format: str
    hdul: fits.HDUList

    @property
    def functions(self) -> ModuleType:
        return get_format(self.format)

    def read(self, *, bbox: Box | None = None) -> MaskedImage | Mask:
        """What the file holds (the selected HDU's, where it names one)."""
        return self.functions.read(self.hdul, self.path, hdu=self.hdu, bbox=bbox)

    def read_mask(self, *, bbox: Box | None = None) -> Mask:
        """The mask :meth:`read` would give, reading only the HDUs that hold it."""
        return self.functions.read_mask(self.hdul, self.path, hdu=self.hdu, bbox=bbox)

    def describe(self) -> list[dict]:
        """One row per HDU (``index``, ``kind``...), as ``astromask info`` lists them."""
        return self.functions.describe(self.hdul, self.path)


@contextmanager
def open(path: str | os.PathLike, *, format: str | None = None, hdu: HduSpec = None) -> Iterator[Source]:
    """Open ``path`` (a CFITSIO HDU selector allowed), check it and identify its format.

    >>> with open("calexp.fits") as source:  # doctest: +SKIP
    ...     source.format, source.read_mask().schema.names[:3]
    ('afw', ('BAD', 'SAT', 'INTRP'))
    """
    name = parse_fits_name(path)
    if hdu is not None and name.hdu is not None:
        raise FormatError(f"HDU given twice (in the name and as hdu={hdu!r})", path=str(path))
    hdul = open_fits(name.path)
    try:
        fmt = registry.get(format).name if format else identify(hdul, name.path)
        yield Source(name.path, name.hdu if name.hdu is not None else hdu, fmt, hdul)
    finally:
        hdul.close()


def _renamed(obj: MaskedImage | Mask, plane_map: Mapping[str, str | None] | None) -> MaskedImage | Mask:
    if not plane_map:
        return obj
    mask = obj.mask if isinstance(obj, MaskedImage) else obj
    renamed = Mask(mask.array, mask.schema.renamed(plane_map), copy=False)
    if isinstance(obj, MaskedImage):
        obj.mask = renamed
        return obj
    return renamed


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
    with open(path, format=format, hdu=hdu) as source:
        obj = source.read(bbox=bbox)
    return _renamed(obj, plane_map)


def read_masked_image(path: str | os.PathLike, **kwargs) -> MaskedImage:
    """Read a :class:`MaskedImage`; a file holding only an image gets an all-clear mask.

    A file holding only a mask is an error.
    """
    obj = read(path, **kwargs)
    if isinstance(obj, MaskedImage):
        return obj
    raise FormatError("holds a mask, not an image", path=str(path))


def read_mask(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    hdu: HduSpec = None,
    bbox: Box | None = None,
    plane_map: Mapping[str, str | None] | None = None,
) -> Mask:
    """Read a :class:`Mask` (the mask of a masked image, or a mask file), reading only the mask HDUs.

    The result is the mask :func:`read` gives; parameters as there.
    """
    with open(path, format=format, hdu=hdu) as source:
        mask = source.read_mask(bbox=bbox)
    result = _renamed(mask, plane_map)
    assert isinstance(result, Mask)
    return result


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
        raise ParameterError(f"format must be one of {', '.join(WRITE_FORMATS)}, got {format!r}")
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(path)
    outputs = get_format(format).write(obj, path, **options)
    for target in outputs:
        if os.path.exists(target) and not overwrite:
            raise OutputExistsError(target)
    for target, hdul in outputs.items():
        write_atomic(hdul, target, overwrite=overwrite)
