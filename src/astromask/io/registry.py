"""One record per file format: what it can store and the module that reads and writes it.

Every format module provides the same functions (see :mod:`astromask.io`):
``identify``, ``read``, ``read_mask``, ``describe``, ``mask_at`` and, where the
format is written, ``write``. The record says what the format can hold, so that
every command chooses its output format by one rule, :func:`output_format`,
instead of lists of format names kept by each caller.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..errors import ParameterError
from .extensions import Extensions

__all__ = ["FORMATS", "Format", "can_store", "get", "output_format", "register"]


@dataclass(frozen=True)
class Format:
    """A file format and what it can store.

    Parameters
    ----------
    name : str
        The ``--to`` / ``format=`` name.
    description : str
        One line for ``astromask info`` and the docs.
    module : str
        The module (under :mod:`astromask.io.formats`) with its functions.
    writes : bool
        Whether astromask writes it.
    lone_mask : bool
        Whether a :class:`~astromask.Mask` without an image is stored as itself
        (otherwise a lone mask goes to plain FITS).
    max_bits : int
        Highest number of mask bits a file holds.
    vocabulary : str, optional
        The preset whose planes are all the format can name (the DECam CP DQ
        codes); ``None`` when plane names are free.
    per_hdu : bool
        Whether astromask writes a file of several masks or images, one per HDU
        (a DECam exposure's CCDs, a multi-extension FITS file), from an
        :class:`~astromask.io.Extensions`. Which HDUs of a file read are separate
        units is the format module's ``units`` function (a JWST-style file of
        ``SCI,1``, ``SCI,2`` is read as two, but written only as plain FITS).
    """

    name: str
    description: str
    module: str
    writes: bool = True
    lone_mask: bool = False
    max_bits: int = 64
    vocabulary: str | None = None
    per_hdu: bool = False

    @property
    def functions(self) -> ModuleType:
        """The implementing module, imported on first use (then taken from ``sys.modules``)."""
        return importlib.import_module(f"astromask.io.formats.{self.module}")


# identification order: the most specific first, plain FITS last
FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    """Add a format (identified after those already registered, but before plain ``fits``)."""
    FORMATS[fmt.name] = fmt
    if "fits" in FORMATS and fmt.name != "fits":  # plain FITS stays the last resort
        FORMATS["fits"] = FORMATS.pop("fits")
    return fmt


for _fmt in (
    Format("lsst", "lsst.images FITS archive (FMTVER=1; 30.0.6 files read)", "lsst"),
    Format("afw", "Rubin/afw legacy MaskedImage (IMAGE/MASK/VARIANCE, MP_* cards)", "afw", lone_mask=True, max_bits=32),
    Format("jwst", "JWST-style SCI/ERR/DQ with a DQ_DEF table", "jwst", lone_mask=True, max_bits=32),
    Format("ccddata", "astropy CCDData (image + uint8 MASK + UNCERT)", "ccddata"),
    Format(
        "maximask", "MaxiMask output (class cube or single mask, MM_* cards)", "maximask", writes=False, per_hdu=True
    ),
    # a CP DQ file alone is meaningful only beside its image: a lone mask goes to plain FITS
    Format(
        "decam", "DECam Community Pipeline image/DQ/weight (ooi/ood/oow)", "decam", vocabulary="decam_cp", per_hdu=True
    ),
    Format("fits", "plain FITS image or mask HDU", "plain", lone_mask=True, per_hdu=True),
):
    register(_fmt)


def get(name: str) -> Format:
    """The format called ``name`` (case-insensitive)."""
    try:
        return FORMATS[name.lower()]
    except (KeyError, AttributeError):
        raise ParameterError(f"unknown format {name!r}; known formats: {', '.join(FORMATS)}") from None


def can_store(fmt: Format, obj: MaskedImage | Mask | Extensions) -> str | None:
    """Why ``fmt`` cannot store ``obj`` whole, or ``None`` when it can."""
    if isinstance(obj, Extensions):
        if not fmt.per_hdu:
            return f"{fmt.name} files hold one masked image, not the {len(obj)} HDUs {', '.join(obj)}"
        return next((why for ext in obj.extensions if (why := can_store(fmt, ext.obj))), None)
    mask = obj.mask if isinstance(obj, MaskedImage) else obj
    if not fmt.writes:
        return f"astromask does not write {fmt.name} files"
    if isinstance(obj, Mask) and not fmt.lone_mask:
        return f"{fmt.name} files hold a mask beside its image, not a lone mask"
    if mask.schema.nbits > fmt.max_bits:
        return f"{fmt.name} masks hold {fmt.max_bits} bits, the mask uses {mask.schema.nbits}"
    if fmt.vocabulary is not None:
        from ..core.presets import get_schema

        known = set(get_schema(fmt.vocabulary).names)
        extra = [name for name in mask.schema.names if name not in known]
        if extra:
            return f"{fmt.name} masks cannot name the planes {', '.join(extra)}"
    return None


def output_format(
    input_format: str | None,
    obj: MaskedImage | Mask | Extensions,
    to: str | None = None,
    *,
    fallback: Sequence[str] = ("fits",),
) -> str:
    """The format to write ``obj`` in: ``to`` when given, else the input's when it stores ``obj``
    whole, else the first of ``fallback`` that does (plain ``fits`` at the last).

    Examples
    --------
    >>> import numpy as np
    >>> from astromask import Mask, get_schema
    >>> output_format("lsst", Mask(np.zeros((2, 2), np.uint32), get_schema("rubin")))  # a lone mask
    'fits'
    """
    if to:
        get(to)
        return to.lower()
    for name in ([input_format] if input_format else []) + [*fallback, "fits"]:
        if can_store(get(name), obj) is None:
            return name
    return "fits"
