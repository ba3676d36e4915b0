"""A file's masks placed on the sky: :func:`masks_on_sky`, for :func:`astromask.sky.lookup_planes`."""

from __future__ import annotations

import os
from collections.abc import Iterator

from astropy.wcs import WCS

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..errors import FormatError
from .fitsfile import read_wcs

__all__ = ["is_healpix_file", "masks_on_sky"]


def is_healpix_file(path: str | os.PathLike) -> bool:
    """Whether a file is a healsparse map (its first HDUs ``COV`` and ``SPARSE``), as
    ``astromask healpix`` writes them."""
    from astropy.io import fits

    if not os.path.isfile(path):
        return False
    try:
        with fits.open(path) as hdul:
            return [hdu.name for hdu in hdul[:2]] == ["COV", "SPARSE"]
    except OSError:
        return False


def masks_on_sky(path: str | os.PathLike) -> Iterator[tuple[Mask, WCS, str]]:
    """Each mask of a file (one per CCD of a multi-extension exposure) with its sky WCS, read one at
    a time: ``(mask, wcs, label)``, the label naming the file and HDU. A mask without a sky WCS is
    an error naming them.
    """
    from . import open as open_source  # the package's open(), defined after this module is imported

    with open_source(path) as source:
        layout = source.layout()
        whole = not source.units()
        for ext in layout.extensions:
            label = source.path if whole else f"{source.path}[{ext.name}]"
            mask = source.functions.read_mask(source.hdul, source.path, hdu=None if whole else ext.index)
            wcs = read_wcs(ext.header)
            if wcs is None:  # formats that keep their WCS elsewhere (lsst.images: in its JSON tree)
                image = source.functions.read(source.hdul, source.path, hdu=None if whole else ext.index)
                wcs = image.wcs if isinstance(image, MaskedImage) else None
            if wcs is None or not wcs.has_celestial:
                raise FormatError(
                    "has no sky WCS, so its pixels cannot be placed on the sky", path=source.path, hdu=ext.index
                )
            yield mask, wcs.celestial, label
