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

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import ModuleType

from astropy.io import fits

from ..core.mask import Mask
from ..core.masked_image import Box, MaskedImage
from ..errors import AmbiguousHDUError, FormatError, LossError, OutputExistsError, ParameterError
from . import registry
from .extensions import Extension, Extensions, _without_structure, merge_outputs, unit_label
from .fitsfile import HduSpec, clean_header, decoding, is_image_hdu, open_fits, parse_fits_name, write_atomic
from .on_sky import is_healpix_file, masks_on_sky
from .registry import output_format

__all__ = [
    "FORMATS",
    "Extension",
    "Extensions",
    "Source",
    "check_loss",
    "get_format",
    "identify",
    "is_healpix_file",
    "losses",
    "masks_on_sky",
    "open",
    "output_format",
    "read",
    "read_all",
    "read_mask",
    "read_masked_image",
    "write",
    "write_mask",
]

log = logging.getLogger("astromask")

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

    def units(self) -> list[int]:
        """The HDUs that each hold one mask or image, in file order (empty: the file holds one,
        over several HDUs, as an afw or lsst.images file does). A selected HDU is the only one."""
        if self.hdu is not None:
            from .fitsfile import find_hdu

            return [find_hdu(self.hdul, self.hdu, self.path)]
        units = getattr(self.functions, "units", None)
        return list(units(self.hdul, self.path)) if units is not None else []

    @property
    def several(self) -> bool:
        """Does the file hold several masks or images, none selected?"""
        return self.hdu is None and len(self.units()) > 1

    def labels(self) -> list[str]:
        """The selector of each of :meth:`units` (``ccd2``, ``SCI,2``, ``3``)."""
        return [unit_label(self.hdul, i) for i in self.units()]

    def one(self, hint: str = "") -> None:
        """Refuse a file of several masks or images when none is selected, naming them (and ``hint``)."""
        if not self.several:
            return
        labels = self.labels()
        shown = ", ".join(labels) if len(labels) <= 12 else ", ".join(labels[:10]) + f", ... {labels[-1]}"
        kinds = {row["kind"] for row in self.describe() if row["index"] in self.units()}
        what = "masks" if kinds == {"mask"} else "images"
        base = os.path.basename(self.path)
        raise AmbiguousHDUError(
            f"holds {len(labels)} {what}, one per HDU ({shown}); pick one as {base}[{labels[1]}]"
            + (f", {hint}" if hint else ""),
            path=self.path,
            units=tuple(labels),
        )

    def read(self, *, bbox: Box | None = None) -> MaskedImage | Mask:
        """What the file holds (the selected HDU's, where it names one).

        A file of several masks or images with none selected is an
        :class:`~astromask.errors.AmbiguousHDUError`; :meth:`read_all` reads every one.
        """
        self.one()
        return self.functions.read(self.hdul, self.path, hdu=self.hdu, bbox=bbox)

    def read_mask(self, *, bbox: Box | None = None) -> Mask:
        """The mask :meth:`read` would give, reading only the HDUs that hold it."""
        self.one()
        return self.functions.read_mask(self.hdul, self.path, hdu=self.hdu, bbox=bbox)

    def layout(self) -> Extensions:
        """The file's units (their objects not read yet: ``obj`` is ``None``), primary header and
        other HDUs: what :meth:`read_all` fills and :func:`write` puts back."""
        units = self.units()
        if units:
            claimed = set(units)
            companions = getattr(self.functions, "companions", None)
            for i in units if companions is not None else []:
                claimed.update(companions(self.hdul, self.path, i))
            other = [(i, _detached(self.hdul[i])) for i in range(1, len(self.hdul)) if i not in claimed]
        else:  # one object over several HDUs
            units = [next((i for i in range(len(self.hdul)) if is_image_hdu(self.hdul[i])), 0)]
            other = []
        extensions = [self._extension(i) for i in units]
        primary = clean_header(self.hdul[0].header, drop_wcs=False)
        return Extensions(extensions, primary=primary, other=other, path=self.path, format=self.format)

    def read_all(self, *, masks_only: bool = False) -> Extensions:
        """Every mask or masked image the file holds, with its primary header and other HDUs."""
        read = self.functions.read_mask if masks_only else self.functions.read
        layout = self.layout()
        whole = not self.units()
        return layout.replace(
            [
                replace(ext, obj=read(self.hdul, self.path, hdu=None if whole else ext.index))
                for ext in layout.extensions
            ]
        )

    def _extension(self, index: int) -> Extension:
        header = self.hdul[index].header
        extver = int(header["EXTVER"]) if "EXTVER" in header and index > 0 else None
        name = str(header.get("EXTNAME", "")).strip() or ("PRIMARY" if index == 0 else f"HDU{index}")
        own = clean_header(header, drop_wcs=False, drop=("MSKN*", "MSKM*", "MSKD*", "MP_*", "BUNIT"))
        return Extension(name, index, unit_label(self.hdul, index), None, extver, own)

    def describe(self) -> list[dict]:
        """One row per HDU (``index``, ``kind``...), as ``astromask info`` lists them."""
        return self.functions.describe(self.hdul, self.path)


def _detached(hdu):
    """A copy of an HDU that outlives its file (data read now)."""
    with decoding(hdu):
        return _copied(hdu)


def _copied(hdu):
    header = _without_structure(hdu.header) if is_image_hdu(hdu) or hdu.data is None else hdu.header.copy()
    if isinstance(hdu, (fits.BinTableHDU, fits.TableHDU)):
        return type(hdu)(data=None if hdu.data is None else hdu.data.copy(), header=header)
    if isinstance(hdu, fits.CompImageHDU):
        return fits.CompImageHDU(data=hdu.data.copy(), header=header, compression_type=hdu.compression_type)
    data = None if hdu.data is None else hdu.data.copy()
    if isinstance(hdu, (fits.PrimaryHDU, fits.ImageHDU)):
        return fits.ImageHDU(data=data, header=header)
    return type(hdu)(data=data, header=header)


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
        if format and not registry.get(fmt).functions.identify(hdul, name.path):  # a forced format must fit
            found = identify(hdul, name.path)
            raise FormatError(
                f"is not a {fmt} file ({registry.get(fmt).description}); its content reads as {found}: "
                f"{registry.get(found).description}",
                path=name.path,
            )
        try:
            yield Source(name.path, name.hdu if name.hdu is not None else hdu, fmt, hdul)
        except FormatError as exc:
            if type(exc) is FormatError and exc.path is None:  # raised where only the HDU was at hand
                raise FormatError(str(exc), path=name.path) from None
            raise
    finally:
        hdul.close()


_READ_ALL = "or read them all with astromask.read_all"


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
        source.one(hint=_READ_ALL)
        obj = source.read(bbox=bbox)
    return _renamed(obj, plane_map)


def read_all(
    path: str | os.PathLike,
    *,
    format: str | None = None,
    plane_map: Mapping[str, str | None] | None = None,
    masks_only: bool = False,
) -> Extensions:
    """Read every mask or masked image of a file, one per HDU, as an :class:`Extensions`.

    A file holding one (an afw or lsst.images masked image, a single-CCD DECam file) gives an
    :class:`Extensions` of one. With ``masks_only``, only the masks are read (as
    :func:`read_mask` does). ``format`` and ``plane_map`` are as for :func:`read`.

    Examples
    --------
    >>> ccds = read_all("ksb_staticmask_ood_v1.fits.fz")  # doctest: +SKIP
    >>> [ccds[name].shape for name in ccds]  # doctest: +SKIP
    [(4096, 4032), (4096, 4032), (4096, 4032), (4096, 4032)]
    >>> write(ccds.map(lambda m: m.grow(2)), "grown.fits", format="fits")  # doctest: +SKIP
    """
    with open(path, format=format) as source:
        extensions = source.read_all(masks_only=masks_only)
    if plane_map:
        extensions = extensions.map(lambda obj: _renamed(obj, plane_map))
    return extensions


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
        source.one(hint=_READ_ALL)
        mask = source.read_mask(bbox=bbox)
    result = _renamed(mask, plane_map)
    assert isinstance(result, Mask)
    return result


def losses(obj: MaskedImage | Mask | Extensions, format: str, **options) -> list[str]:
    """What writing ``obj`` in ``format`` would lose, one phrase each (empty: nothing).

    >>> import numpy as np
    >>> from astromask import Mask, MaskSchema
    >>> losses(Mask((2, 2), MaskSchema(["BAD", "EDGE"])), "decam")
    ['planes CP DQ masks do not have: EDGE']
    """
    functions = get_format(format)
    check = getattr(functions, "losses", None)
    if check is None:
        return []
    if isinstance(obj, Extensions):
        return [f"{ext.label}: {text}" for ext in obj.extensions for text in check(ext.obj, **options)]
    return list(check(obj, **options))


def check_loss(obj: MaskedImage | Mask | Extensions, format: str, path: str, *, allow_loss: bool, **options) -> None:
    """Refuse (:class:`~astromask.errors.LossError`), or with ``allow_loss`` log in one line, what
    writing ``obj`` to ``path`` in ``format`` would lose (:func:`losses`)."""
    lost = losses(obj, format, **options)
    if lost and not allow_loss:
        raise LossError(f"{path}: writing {format} would lose {'; '.join(lost)}; give --allow-loss to write it anyway")
    if lost:
        log.warning("%s: written as %s without: %s", path, format, "; ".join(lost))


def write_mask(
    mask: Mask,
    path: str | os.PathLike,
    *,
    format: str,
    xy0: tuple[int, int] = (0, 0),
    wcs=None,
    metadata=None,
    overwrite: bool = False,
    allow_loss: bool = False,
    **options,
) -> None:
    """Write a mask with the origin, sky WCS and metadata of its image, atomically.

    The format's own lone-mask file where it has one that keeps them (``afw``: afw's mask file;
    ``fits``: a ``MASK`` HDU with ``MSKN`` cards, as lsst.images writes it); other formats write
    the mask as :func:`write` does.
    """
    fmt = registry.get(format)
    why = registry.can_store(fmt, mask)
    if why is not None:
        raise ParameterError(f"{os.fspath(path)}: {why}")
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(path)
    check_loss(mask, fmt.name, path, allow_loss=allow_loss, **options)
    functions = fmt.functions
    if hasattr(functions, "write_mask"):
        outputs = functions.write_mask(mask, path, xy0=xy0, wcs=wcs, metadata=metadata, **options)
    else:
        outputs = functions.write(mask, path, **options)
    for target, hdul in outputs.items():
        write_atomic(hdul, target, overwrite=overwrite)


def write(
    obj: MaskedImage | Mask | Extensions,
    path: str | os.PathLike,
    *,
    format: str = "lsst",
    overwrite: bool = False,
    allow_loss: bool = False,
    **options,
) -> None:
    """Write a :class:`MaskedImage` or :class:`Mask` atomically.

    Parameters
    ----------
    obj : MaskedImage, Mask or Extensions
        An :class:`Extensions` (from :func:`read_all`) is written whole, one HDU per unit with
        its name and version, the other HDUs copied, in a format that holds several
        (``fits``, ``decam``).
    path : str
        Output file. It is written to a temporary file beside it and renamed.
    format : {'lsst', 'afw', 'ccddata', 'jwst', 'decam', 'fits'}
        Output format (default ``'lsst'``).
    overwrite : bool
        Replace an existing file; otherwise :class:`~astromask.errors.OutputExistsError`.
    allow_loss : bool
        Write even when the format cannot hold everything (a DECam CP DQ mask has no
        ``EDGE`` plane; its integer codes keep one flag per pixel): what is lost is
        logged in one line. Otherwise such a write is a :class:`~astromask.errors.LossError`
        saying what would be lost.
    **options
        Format options, e.g. ``compression=`` or ``image_compression=`` (see
        each format module).
    """
    if format.lower() not in WRITE_FORMATS:
        raise ParameterError(f"format must be one of {', '.join(WRITE_FORMATS)}, got {format!r}")
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise OutputExistsError(path)
    check_loss(obj, format, path, allow_loss=allow_loss, **options)
    if isinstance(obj, Extensions):
        why = registry.can_store(registry.get(format), obj)
        if why is not None and not registry.get(format).per_hdu:
            raise ParameterError(f"{path}: {why}; write them as fits or decam, or one at a time")
        functions = get_format(format)
        parts = [(ext, functions.write(ext.obj, path, **options)) for ext in obj.extensions]
        primary = obj.primary if format.lower() == obj.format else None  # a CP primary would read as CP
        outputs = merge_outputs(parts, primary=primary, other=obj.other, main=path)
    else:
        outputs = get_format(format).write(obj, path, **options)
    for target in outputs:
        if os.path.exists(target) and not overwrite:
            raise OutputExistsError(target)
    for target, hdul in outputs.items():
        write_atomic(hdul, target, overwrite=overwrite)
