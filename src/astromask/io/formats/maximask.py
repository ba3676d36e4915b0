"""MaxiMask output files (read only).

MaxiMask (Paillassa et al. 2020) writes, for each processed image HDU, one of:

* a **class cube** ``(n_sel, H, W)`` of ``uint8`` 0/1 maps (the default:
  priors and thresholds applied, ``THRESH='Yes'``, ``SMASK='No'``);
* a **single mask** ``(H, W)`` ``int16`` holding ``sum(2**k)`` over the
  classes ``k`` found at each pixel (``SMASK='Yes'``);
* **probability maps** ``(n_sel, H, W)`` ``float32`` (``THRESH='No'``), which
  are not a mask.

Every HDU carries ``MM_UTC`` and ``MM_LOC``; for each selected class ``<A>``
(``CR``, ``HCL``, ... ``BG``) the cards ``<A>`` (name), ``<A>_DIM`` (index in the
cube), ``<A>_PR``/``<A>_TH`` (prior and threshold) and ``<A>_SM`` (its power in a
single mask).

Reading
    The classes become planes of the ``maximask`` preset (``CR`` = bit 0 ...
    ``BBG`` = bit 12) at their preset bits, found through the ``<A>_DIM``
    cards (a single mask through ``<A>_SM``); the background class ``BG`` has
    no bit and is skipped, and classes MaxiMask did not compute leave their
    bit unnamed. The result is a :class:`~astromask.Mask`. Probability maps
    raise :class:`~astromask.errors.FormatError`. A ``bbox`` reads only the
    tiles of the box from a tile-compressed cube.
"""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from ...core.mask import Mask, as_unsigned
from ...core.masked_image import Box
from ...core.presets import get_schema
from ...core.schema import MaskSchema
from ...errors import FormatError
from ..fitsfile import bbox_slices, decoding, describe_hdus, find_hdu, image_shape, is_image_hdu, read_pixels, read_xy0

__all__ = ["BACKGROUND", "class_indices", "describe", "identify", "mask_at", "read", "read_mask", "units"]

MM_KEY = "MM_UTC"
#: MaxiMask's background class: it has a cube plane but no bit.
BACKGROUND = "BG"
_PRESET = "maximask"


def _is_maximask(hdu) -> bool:
    return MM_KEY in hdu.header


def identify(hdul: fits.HDUList, path: str) -> bool:
    """An ``MM_UTC`` card in any HDU header."""
    return any(_is_maximask(hdu) for hdu in hdul)


def _is_float(hdu) -> bool:
    return int(hdu.header.get("BITPIX", 8)) < 0


def _yes(header: fits.Header, key: str) -> bool:
    return str(header.get(key, "")).strip().lower() in ("yes", "true", "t", "y", "1")


def _thresholded(header: fits.Header) -> bool:
    return str(header.get("THRESH", "Yes")).strip().lower() not in ("no", "false", "f", "n", "0")


def _is_mask_hdu(hdu) -> bool:
    """A processed HDU holding thresholded classes or a single mask (not probabilities)."""
    return _is_maximask(hdu) and is_image_hdu(hdu) and not _is_float(hdu) and _thresholded(hdu.header)


def describe(hdul: fits.HDUList, path: str) -> list[dict]:
    """One ``{'index', 'kind'}`` row per HDU: ``mask`` for class cubes and single masks."""
    return describe_hdus(hdul, lambda i: "mask" if _is_mask_hdu(hdul[i]) else "image")


def units(hdul: fits.HDUList, path: str) -> list[int]:
    """The HDUs holding a mask, one per image HDU MaxiMask processed."""
    return [i for i, hdu in enumerate(hdul) if _is_mask_hdu(hdu)]


# -- class layout -----------------------------------------------------------------------------------


def _card_int(header: fits.Header, key: str, path: str, index: int) -> int:
    try:
        return int(float(str(header[key]).strip()))
    except ValueError:
        raise FormatError(f"card {key}={header[key]!r} is not a number", path=path, hdu=index) from None


def class_indices(header: fits.Header, nplanes: int, *, path: str = "", index: int = 0) -> dict[str, int]:
    """``{class: cube index}`` of the preset classes in a cube, from the ``<A>_DIM`` cards.

    A cube without ``_DIM`` cards is taken in MaxiMask's full class order
    when it has 13 or 14 planes (``CR`` ... ``BBG``, then ``BG``).
    """
    preset = get_schema(_PRESET)
    found = {p.name: _card_int(header, f"{p.name}_DIM", path, index) for p in preset if f"{p.name}_DIM" in header}
    if not found and f"{BACKGROUND}_DIM" not in header:
        if nplanes not in (len(preset), len(preset) + 1):
            raise FormatError(
                f"cube of {nplanes} planes has no <class>_DIM cards saying which class each plane is",
                path=path,
                hdu=index,
            )
        return {p.name: bit for bit, p in preset.items()}
    wrong = {name: d for name, d in found.items() if not 0 <= d < nplanes}
    if wrong:
        raise FormatError(f"_DIM cards point outside the {nplanes}-plane cube: {wrong}", path=path, hdu=index)
    return found


def _schema(classes) -> MaskSchema:
    """The preset with only ``classes`` named (the others' bits stay reserved)."""
    preset = get_schema(_PRESET)
    planes = [p if p is not None and p.name in classes else None for p in preset.planes]
    return MaskSchema(planes, dtype=preset.dtype, name=_PRESET)


def _single_mask_powers(header: fits.Header, path: str, index: int) -> dict[str, int]:
    """``{class: source bit}`` of a single mask from the ``<A>_SM`` powers (the preset bits without them)."""
    preset = get_schema(_PRESET)
    powers = {p.name: _card_int(header, f"{p.name}_SM", path, index) for p in preset if f"{p.name}_SM" in header}
    if not powers:
        return {p.name: bit for bit, p in preset.items()}
    bits = {}
    for name, power in powers.items():
        if power <= 0:
            continue
        if power & (power - 1):
            raise FormatError(f"card {name}_SM={power} is not a power of two", path=path, hdu=index)
        bits[name] = power.bit_length() - 1
    return bits


# -- read -------------------------------------------------------------------------------------------


def _target(hdul: fits.HDUList, hdu, path: str) -> int:
    if hdu is not None:
        index = find_hdu(hdul, hdu, path)
        if not is_image_hdu(hdul[index]):
            raise FormatError("HDU holds no image", path=path, hdu=hdu)
        return index
    candidates = [i for i, h in enumerate(hdul) if _is_maximask(h) and is_image_hdu(h)]
    if not candidates:
        raise FormatError("holds no MaxiMask image HDU", path=path)
    return next((i for i in candidates if _is_mask_hdu(hdul[i])), candidates[0])


def _check_is_mask(hdu, path: str, index: int) -> None:
    if not _is_maximask(hdu):
        raise FormatError("is not a MaxiMask output HDU (no MM_UTC card)", path=path, hdu=index)
    if _is_float(hdu) or not _thresholded(hdu.header):
        raise FormatError(
            "holds MaxiMask class probabilities (THRESH='No'), not a mask; rerun maximask with "
            "--proba_thresh True (the default) or threshold the probabilities first",
            path=path,
            hdu=index,
        )


def _read_planes(hdu, shape, first: int, last: int, slices) -> np.ndarray:
    """Cube planes ``first..last`` inside ``slices``, reading only the tiles they need."""
    rows, cols = slices
    if len(shape) == 2:
        return read_pixels(hdu, slices)[np.newaxis]
    with decoding(hdu):
        if (rows.stop - rows.start, cols.stop - cols.start) == shape[1:]:
            return np.asarray(hdu.data[first : last + 1])  # one pass over the whole cube is the fastest
        return np.asarray(hdu.section[first : last + 1, rows, cols])


def _cube_mask(hdu, shape, slices, path: str, index: int) -> Mask:
    nplanes = shape[0] if len(shape) == 3 else 1
    classes = class_indices(hdu.header, nplanes, path=path, index=index)
    mask = Mask(tuple(s.stop - s.start for s in slices), _schema(classes))
    if not classes:
        return mask
    first, last = min(classes.values()), max(classes.values())
    cube = _read_planes(hdu, shape, first, last, slices)
    for name, plane in classes.items():
        mask.set(name, cube[plane - first] != 0)
    return mask


def _single_mask(hdu, slices, path: str, index: int) -> Mask:
    bits = _single_mask_powers(hdu.header, path, index)
    array = as_unsigned(read_pixels(hdu, slices)).astype(np.uint64)
    known = sum(1 << b for b in bits.values())
    stray = int(np.bitwise_or.reduce(array, axis=None)) & ~known if array.size else 0
    if stray:
        raise FormatError(f"single mask uses values no <class>_SM card names ({stray:#x})", path=path, hdu=index)
    source = MaskSchema.from_bits(bits, dtype=np.uint64)
    return Mask(array, source, copy=False).remap(_schema(bits))


def read(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The :class:`Mask` of a MaxiMask output HDU (the first thresholded one by default).

    Parameters
    ----------
    hdul : astropy.io.fits.HDUList
    path : str
        File name, for messages.
    hdu : int, str or (str, int), optional
        HDU to read where MaxiMask processed several.
    bbox : Box, optional
        Absolute box (MaxiMask outputs have origin ``(0, 0)``); only its tiles are read.
    """
    index = _target(hdul, hdu, path)
    main = hdul[index]
    _check_is_mask(main, path, index)
    shape = image_shape(main)
    if len(shape) not in (2, 3):
        raise FormatError(f"MaxiMask output must be 2-D or 3-D, got shape {shape}", path=path, hdu=index)
    slices = bbox_slices(bbox, read_xy0(main.header), shape[-2:], f"{path}[{index}]")
    if _yes(main.header, "SMASK"):
        if len(shape) != 2:
            raise FormatError(f"single mask (SMASK='Yes') must be 2-D, got shape {shape}", path=path, hdu=index)
        return _single_mask(main, slices, path, index)
    return _cube_mask(main, shape, slices, path, index)


def mask_at(hdul: fits.HDUList, path: str, index: int) -> Mask:
    """The mask in HDU ``index``."""
    return read(hdul, path, hdu=index)


def read_mask(hdul: fits.HDUList, path: str, *, hdu=None, bbox: Box | None = None) -> Mask:
    """The mask :func:`read` gives (a MaxiMask file is a mask: nothing else to leave unread)."""
    return read(hdul, path, hdu=hdu, bbox=bbox)
