"""Files that hold several masks or images, one per HDU: a DECam exposure's 60 CCDs, a static mask
of four CCDs, a MaxiMask output of a multi-extension image, a plain multi-extension FITS file.

:func:`astromask.io.read` refuses such a file without an HDU selector (naming the HDUs and how to
pick one) rather than return its first HDU; :func:`astromask.io.read_all` gives every one as an
:class:`Extensions` container, and :func:`astromask.io.write` writes one back with the HDU names,
versions and order kept and the other HDUs (tables, headers) copied, as MaxiMask does.

Which HDUs are separate units is the format's call (its ``units(hdul, path)`` function): every CCD
of a DECam file, every processed HDU of a MaxiMask file, and in plain FITS every image (read with its
own mask and variance HDUs) or, in a file of masks alone, every mask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

from astropy.io import fits

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..errors import NotFoundError
from .fitsfile import is_image_hdu

__all__ = ["Extension", "Extensions", "merge_outputs", "unit_label"]

_STRUCTURE = ("SIMPLE", "XTENSION", "BITPIX", "EXTEND", "PCOUNT", "GCOUNT", "GROUPS", "BZERO", "BSCALE")


def _hdu_name(header: fits.Header, index: int) -> str:
    name = str(header.get("EXTNAME", "")).strip()
    return name or ("PRIMARY" if index == 0 else f"HDU{index}")


def unit_label(hdul: fits.HDUList, index: int) -> str:
    """How to select HDU ``index`` in a file name: its EXTNAME, ``NAME,VER`` where names repeat,
    or the index where it has no name."""
    header = hdul[index].header
    name = str(header.get("EXTNAME", "")).strip()
    if not name:
        return str(index)
    same = [i for i in range(len(hdul)) if str(hdul[i].header.get("EXTNAME", "")).strip().upper() == name.upper()]
    if len(same) == 1:
        return name
    if "EXTVER" in header:
        return f"{name},{header['EXTVER']}"
    return str(index)


@dataclass(frozen=True)
class Extension:
    """One mask or masked image of a multi-extension file and where it was.

    ``name`` is the HDU's EXTNAME (``PRIMARY`` or ``HDUn`` without one), ``extver`` its EXTVER,
    ``index`` its position in the file it was read from and ``label`` the selector that picks it
    (``ccd2``, ``SCI,2``). ``header`` holds the HDU's own cards (WCS, detector keywords; not its
    plane or storage cards), which go back on the HDU when it is written.
    """

    name: str
    index: int
    label: str
    obj: MaskedImage | Mask | None  # None in a file's layout, before it is read
    extver: int | None = None
    header: fits.Header | None = None

    @property
    def mask(self) -> Mask:
        if self.obj is None:
            raise NotFoundError(f"HDU {self.label} has not been read")
        return self.obj.mask if isinstance(self.obj, MaskedImage) else self.obj


class Extensions(Mapping[str, "MaskedImage | Mask"]):
    """Every mask or masked image of a multi-extension file, in file order.

    A read-only mapping from each HDU's label (``'ccd2'``, ``'SCI,2'``; case-insensitive) to its
    :class:`~astromask.Mask` or :class:`~astromask.MaskedImage`, with what is needed to write the file
    back whole: the primary header and the other HDUs (tables, header-only extensions), kept with
    their positions.

    Attributes
    ----------
    extensions : list of Extension
        The units, in file order.
    primary : astropy.io.fits.Header
        The primary header of the file read (data keywords removed).
    other : list of (int, HDU)
        The HDUs that are neither units nor their mask or variance, with their index.
    path, format : str
        Where it was read from, and as what.

    Examples
    --------
    >>> import astromask
    >>> ccds = astromask.read_all("ksb_staticmask_ood_v1.fits.fz")  # doctest: +SKIP
    >>> list(ccds), ccds["ccd2"].counts()["BAD"]  # doctest: +SKIP
    (['ccd1', 'ccd2', 'ccd3', 'ccd4'], 86205)
    """

    def __init__(
        self,
        extensions: list[Extension],
        *,
        primary: fits.Header | None = None,
        other: list[tuple[int, fits.hdu.base.ExtensionHDU]] | None = None,
        path: str = "",
        format: str = "fits",
    ) -> None:
        self.extensions = list(extensions)
        self.primary = fits.Header() if primary is None else primary
        self.other = list(other or [])
        self.path = path
        self.format = format

    def _find(self, key: str | int) -> Extension:
        if isinstance(key, int):
            return self.extensions[key]
        for ext in self.extensions:
            if ext.label.upper() == str(key).upper() or (ext.name.upper() == str(key).upper()):
                return ext
        raise NotFoundError(f"no HDU {key!r}; the HDUs are {', '.join(self)}")

    def __getitem__(self, key: str | int) -> MaskedImage | Mask:  # type: ignore[override]
        obj = self._find(key).obj
        if obj is None:
            raise NotFoundError(f"HDU {key} has not been read")
        return obj

    def __iter__(self) -> Iterator[str]:
        return (ext.label for ext in self.extensions)

    def __len__(self) -> int:
        return len(self.extensions)

    def __repr__(self) -> str:
        return f"<Extensions {self.path or '?'} ({self.format}): {', '.join(self)}>"

    def map(self, func: Callable[[MaskedImage | Mask], MaskedImage | Mask]) -> Extensions:
        """The same HDUs with ``func`` applied to each mask or masked image."""
        return self.replace([replace(ext, obj=func(self[ext.label])) for ext in self.extensions])

    def replace(self, extensions: list[Extension]) -> Extensions:
        """These HDUs' file (primary, other HDUs, path, format) with other units."""
        return Extensions(extensions, primary=self.primary, other=self.other, path=self.path, format=self.format)


def _without_structure(header: fits.Header) -> fits.Header:
    out = header.copy()
    for key in _STRUCTURE:
        out.remove(key, ignore_missing=True, remove_all=True)
    for key in [k for k in out if k.startswith("NAXIS")]:
        out.remove(key, ignore_missing=True, remove_all=True)
    return out


def _as_extension(hdu):
    """A data HDU as an extension (a primary with data becomes an image extension)."""
    if isinstance(hdu, fits.PrimaryHDU):
        return fits.ImageHDU(data=hdu.data, header=_without_structure(hdu.header))
    return hdu


def merge_outputs(
    parts: list[tuple[Extension, dict[str, fits.HDUList]]],
    *,
    primary: fits.Header | None = None,
    other: list[tuple[int, object]] | None = None,
    main: str,
) -> dict[str, fits.HDUList]:
    """One file per target from the files each unit's writer made, units in their source order.

    Each unit's data HDUs go in under its HDU name and version (a unit written as several HDUs,
    a masked image in plain FITS, names the others ``NAME_MASK``, ``NAME_VARIANCE``); the
    primary header starts from ``primary`` with each writer's primary cards added; the ``other``
    HDUs go into ``main`` at their positions.
    """
    targets = list(parts[0][1]) if parts else [main]
    merged: dict[str, fits.HDUList] = {}
    for target in targets:
        header = _without_structure(primary) if primary is not None else fits.Header()
        rows: list[tuple[int, int, object]] = []
        for ext, outputs in parts:
            written = outputs[target]
            first = written[0]
            if not (isinstance(first, fits.PrimaryHDU) and first.data is not None):
                header.extend(_without_structure(first.header), unique=True)
            data = [h for h in written if is_image_hdu(h)]
            for k, hdu in enumerate(data):
                out = _as_extension(hdu)
                own = str(hdu.header.get("EXTNAME", "")).strip()
                out.header["EXTNAME"] = ext.name if k == 0 or not own else f"{ext.name}_{own}"
                if ext.extver is not None:
                    out.header["EXTVER"] = ext.extver
                if k == 0 and ext.header is not None:
                    out.header.extend(ext.header, unique=True)  # the writer's cards win
                rows.append((ext.index, k, out))
        if target == main:
            rows.extend((index, 0, hdu) for index, hdu in (other or []))
        rows.sort(key=lambda row: (row[0], row[1]))
        merged[target] = fits.HDUList([fits.PrimaryHDU(header=header), *(hdu for _, _, hdu in rows)])
    return merged
