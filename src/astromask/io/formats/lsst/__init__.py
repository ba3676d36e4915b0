"""lsst.images FITS archives (``FMTVER=1``), and the older 30.0.6 layout.

Layout (see ``../shared/reference/lsst-images.md``)
    ======================  ====================================================
    HDU                     content
    ======================  ====================================================
    0 primary (no data)     ``FMTVER``, ``INDXADDR/INDXSIZE``, ``JSONADDR/JSONSIZE``
                            (byte offset and size of the INDEX and JSON HDUs),
                            ``DATE``, ``DATAMODL``, then the metadata cards
    ``IMAGE``               pixels; ``BUNIT``, sky WCS, linear ``A`` WCS origin
    ``MASK`` (EXTVER 1..)   ``int32``, 31 planes per HDU, ``MSKNnnnn``/``MSKMnnnn``/
                            ``MSKDnnnn`` cards numbered from 0 in each HDU
    ``VARIANCE``            like ``IMAGE``, unit squared
    ``JSON``                one ``PB`` column; row 0 is the UTF-8 JSON tree
    ``INDEX``               one row per earlier HDU: name, version, type, addresses
    ======================  ====================================================

Schema authority
    The JSON ``mask.planes`` list (``null`` reserves a bit) and ``mask.dtype``
    define the in-memory bit layout: the plane at list position ``i`` is bit
    ``i``. On disk the placeholders are dropped and the planes are packed 31 to
    an ``int32`` HDU, so a disk bit can differ from the memory bit (schema
    ``[BAD, SATURATED, None, COSMIC_RAY]``: COSMIC_RAY is memory bit 3 but
    ``MSKM0002 = 4``). Reading maps each disk plane to its memory bit by name.

Metadata and WCS
    Metadata is the primary header without the container cards (lsst.images
    shows these as "external" metadata), plus the JSON tree's ``metadata``
    entries. The sky WCS is read from and written to the plane headers as FITS
    cards; astromask writes no ``sky_projection`` into the JSON tree, so
    lsst.images sees no sky projection in files astromask writes.

Other lsst.images files
    lsst.images up to 30.0.7 wrote no ``FMTVER`` (such files are recognised by
    ``JSONADDR``), numbered the ``MSKN`` cards from 1 and called ``yx0``
    ``start`` in the JSON tree; they are read. A file holding a bare
    lsst.images ``Mask`` reads as a :class:`Mask`, one holding a bare ``Image``
    as a :class:`MaskedImage` with an empty mask. Only masked images are
    written, in the current layout.

Writing options
    ``image_compression``, ``mask_compression``, ``variance_compression``
        ``'GZIP_2'`` (default), ``'GZIP_1'``, ``'RICE_1'`` or ``None`` (plain
        ``ImageHDU``); or a dict ``{'algorithm', 'quantize_level', 'seed'}``.
        ``compression`` sets all three at once. GZIP is lossless; ``RICE_1``
        quantizes floating-point planes (``quantize_level``, default 16.0)
        with ``SUBTRACTIVE_DITHER_2``. Masks are always lossless.
    ``dither_seed``
        The seed of each lossy plane (1..10000 used as given, ``-1`` from a
        checksum, ``0`` or ``None``: see ``compression_seed``).
    ``compression_seed``
        Writer-level seed (1..10000) that replaces a plane seed of ``None`` or
        ``0`` and goes up by one after each use, wrapping from 10000 to 1.
        A lossy plane with neither seed is refused; a plane seed of ``0`` with
        no writer seed means astropy's clock-based seed.
"""

from ._layout import FORMAT_VERSION, PLANES_PER_HDU, identify
from .reader import describe, mask_at, read, read_mask
from .writer import write

__all__ = ["FORMAT_VERSION", "PLANES_PER_HDU", "describe", "identify", "mask_at", "read", "read_mask", "write"]
