"""Reading only the mask of a stack image (pass 1), for every format astromask reads.

The global mask needs each image's mask and nothing else, so pass 1 reads, for

* afw legacy files: the ``MASK`` HDU;
* lsst.images archives: the ``MASK`` HDUs, merged into the JSON tree's bit layout;
* DECam CP images: the ``ood`` DQ sibling and the ``oow`` weight sibling (a zero
  weight sets ``NO_DATA`` where the DQ mask gives no reason), not the image;
* JWST files: the ``DQ`` HDU with its ``DQ_DEF`` table;
* CCDData files: the ``FLAGS``/``MASK`` HDUs;
* plain image + mask FITS: the mask HDU;

each as the format's own reader does when it reads the whole file, so that the
mask is the one :func:`astromask.io.read` gives (``tests/test_stack_masks.py``
checks it for every format). Anything else (a CFITSIO HDU selector, except a
DECam CCD name; a file that is a mask; other formats) is read whole and its mask
kept.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from ..io import afw, ccddata, decam, identify, jwst, lsst, plain, read_mask
from ..io.fitsfile import HduSpec, image_hdu_indices, image_shape, open_fits, parse_fits_name
from ..mask import Mask
from ..presets import get_schema

__all__ = ["read_stack_mask"]


def _whole(shape: tuple[int, ...]) -> tuple[slice, slice]:
    """The slices a reader uses when no box is asked for."""
    return (slice(0, shape[0]), slice(0, shape[1]))


def _afw_mask(hdul: fits.HDUList, path: str, hdu: HduSpec) -> Mask | None:
    if hdu is not None:
        return None
    kinds = {row["kind"]: row["index"] for row in afw.describe(hdul, path)}
    if "mask" in kinds and "image" in kinds:
        return afw.mask_at(hdul, path, kinds["mask"])
    return None


def _lsst_mask(hdul: fits.HDUList, path: str, hdu: HduSpec) -> Mask | None:
    if hdu is not None:
        return None
    layout = lsst._layout(hdul, path)
    if layout.image is None or not layout.masks:
        return None
    return lsst._read_mask(hdul, path, layout, _whole(image_shape(hdul[layout.first])))


def _decam_mask(hdul: fits.HDUList, path: str, hdu: HduSpec) -> Mask | None:
    if decam.file_role(hdul, path) != "image":
        return None
    index = decam._ccd_index(hdul, hdu, path)
    _, slices = decam._box(hdul, index, None, path)
    mask, _ = decam._sibling_mask(hdul, path, index, slices, None)
    variance, _ = decam._sibling_variance(hdul, path, index, slices)
    if variance is not None:  # as decam.read: no data where the weight is 0 and the DQ mask is clear
        no_reason = ~np.isfinite(variance) & ~mask.any_set()
        if no_reason.any():
            mask.set("NO_DATA", no_reason)
    return mask


def _jwst_mask(hdul: fits.HDUList, path: str, hdu: HduSpec) -> Mask | None:
    if hdu is not None:
        return None
    index = jwst._target(hdul, None, path)
    main = hdul[index]
    shape = image_shape(main)
    if len(shape) != 2 or (index > 0 and jwst._extname(main) == "DQ"):
        return None
    dq = jwst._companion(hdul, "DQ", jwst._extver(main) if index > 0 else 1, shape, path)
    if dq is None:
        return Mask(shape, jwst._file_schema(hdul, path, np.zeros((0, 0), np.uint32)))
    return jwst._dq_mask(hdul, path, dq, _whole(shape))


def _ccddata_mask(hdul: fits.HDUList, path: str, hdu: HduSpec) -> Mask | None:
    if hdu is not None:
        return None
    index = ccddata._data_index(hdul, None, path)
    shape = image_shape(hdul[index])
    if len(shape) != 2 or ccddata._role(hdul, index) in ("mask", "flags", "flag"):
        return None
    return ccddata._read_mask(hdul, path, _whole(shape))


def _plain_mask(hdul: fits.HDUList, path: str, hdu: HduSpec) -> Mask | None:
    if hdu is not None:
        return None
    index = next(image_hdu_indices(hdul), None)
    if index is None or plain._is_mask_hdu(hdul, index, path):
        return None
    shape = image_shape(hdul[index])
    if len(shape) != 2:
        return None
    mask_index = plain._companion(hdul, plain._MASK_NAME, shape, index, path)
    if mask_index is not None and plain._is_integer(hdul[mask_index]):
        return plain.mask_from_hdu(hdul[mask_index], _whole(shape), path=path, index=mask_index)
    return Mask(shape, get_schema("rubin"))


_READERS = {
    "afw": _afw_mask,
    "lsst": _lsst_mask,
    "decam": _decam_mask,
    "jwst": _jwst_mask,
    "ccddata": _ccddata_mask,
    "fits": _plain_mask,
}


def read_stack_mask(name: str) -> Mask:
    """The mask of image ``name`` (as :func:`astromask.io.read` gives it), reading only what it needs.

    Parameters
    ----------
    name : str
        File name, with an optional CFITSIO HDU selector.

    Returns
    -------
    Mask
        The file's own planes (see the module docstring for what is read).

    Examples
    --------
    >>> read_stack_mask("exp000.fits").schema.name  # doctest: +SKIP
    'afw MP_ cards'
    """
    parsed = parse_fits_name(name)
    with open_fits(parsed.path) as hdul:
        reader = _READERS.get(identify(hdul, parsed.path))
        mask = reader(hdul, parsed.path, parsed.hdu) if reader is not None else None
    return mask if mask is not None else read_mask(name)
