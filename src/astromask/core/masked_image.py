"""Image, mask and variance on one pixel grid, with WCS, pixel origin and metadata.

Coordinates follow lsst.images (see ``docs/formats.md``):

* **absolute** pixel coordinates start at the origin ``(x0, y0)``; a
  subimage shares them with its parent. ``mi.absolute[y0:y1, x0:x1]`` and
  ``mi[box]`` slice in absolute coordinates, where negative numbers are
  ordinary coordinates and omitted ends mean the edge of the image.
* **local** coordinates are array indices, always starting at 0:
  ``mi.local[i0:i1, j0:j1]``; negative numbers count from the end.
* the astropy WCS (:attr:`MaskedImage.wcs`) works in local pixels, like every
  astropy WCS.

Both slicers return views sharing pixels and metadata; indices outside the
image raise ``IndexError``, steps other than 1 and integer indices (which would
drop a dimension) raise ``ValueError``.
"""

from __future__ import annotations

import copy as _copy
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

from ..errors import OutOfBoundsError, ParameterError, ParameterTypeError
from .mask import Mask
from .schema import MaskSchema

if TYPE_CHECKING:
    from astropy.nddata import CCDData, NDData

__all__ = ["Box", "MaskedImage"]


@dataclass(frozen=True)
class Box:
    """A half-open pixel box in absolute coordinates: ``y0 <= y < y1``, ``x0 <= x < x1``.

    ``Box.factory[y0:y1, x0:x1]`` builds one (a missing lower bound is 0, a
    missing upper bound is an error, as in lsst.images).

    >>> Box.factory[11:20, 25:30].shape
    (9, 5)
    """

    y0: int
    y1: int
    x0: int
    x1: int

    def __post_init__(self) -> None:
        if self.y1 < self.y0 or self.x1 < self.x0:
            raise ParameterError(f"box ends must not precede its starts, got {self}")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.y1 - self.y0, self.x1 - self.x0)

    @property
    def start(self) -> tuple[int, int]:
        """``(y0, x0)``."""
        return (self.y0, self.x0)

    def contains(self, other: Box) -> bool:
        return self.y0 <= other.y0 and other.y1 <= self.y1 and self.x0 <= other.x0 and other.x1 <= self.x1

    def slices(self, origin: tuple[int, int]) -> tuple[slice, slice]:
        """Local array slices of this box inside an image whose origin is ``(x0, y0)``."""
        ox, oy = origin
        return (slice(self.y0 - oy, self.y1 - oy), slice(self.x0 - ox, self.x1 - ox))

    class _Factory:
        def __getitem__(self, key: Any) -> Box:
            if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, slice) for k in key)):
                raise ParameterError("Box.factory needs two slices: Box.factory[y0:y1, x0:x1]")
            bounds = []
            for k in key:
                if k.step not in (None, 1):
                    raise ParameterError(f"box slices take no step, got {k.step}")
                if k.stop is None:
                    raise ParameterError("Box.factory slices need an upper bound")
                bounds += [0 if k.start is None else int(k.start), int(k.stop)]
            return Box(*bounds)

    factory = _Factory()


def _check_unit(unit: Any) -> u.UnitBase | None:
    if unit is None or unit == "":
        return None
    return u.Unit(unit)


class _Slicer:
    def __init__(self, image: MaskedImage, absolute: bool) -> None:
        self._image = image
        self._absolute = absolute

    def __getitem__(self, key: Any) -> MaskedImage:
        return self._image._subimage(self._key_to_box(key))

    def __setitem__(self, key: Any, value: MaskedImage) -> None:
        sub = self._image._subimage(self._key_to_box(key))
        if not isinstance(value, MaskedImage):
            raise ParameterTypeError(f"can only assign a MaskedImage, got {type(value).__name__}")
        if value.shape != sub.shape:
            raise ParameterError(f"shape mismatch: target {sub.shape}, value {value.shape}")
        sub.image[...] = value.image
        sub.variance[...] = value.variance
        sub.mask.array[...] = value.mask.remap(sub.mask.schema).array

    def _key_to_box(self, key: Any) -> Box:
        if not isinstance(key, tuple):
            key = (key, slice(None))
        if len(key) != 2:
            raise ParameterError(f"image slicing takes two indices (y, x), got {len(key)}")
        img = self._image
        ny, nx = img.shape
        x0, y0 = img.xy0
        bounds = []
        for k, n, o, axis in ((key[0], ny, y0, "y"), (key[1], nx, x0, "x")):
            if not isinstance(k, slice):
                raise ParameterError(f"image slicing needs slices (an integer would drop the {axis} axis), got {k!r}")
            if k.step not in (None, 1):
                raise ParameterError(f"image slicing takes no step, got {k.step} on {axis}")
            if self._absolute:
                lo = o if k.start is None else int(k.start)
                hi = o + n if k.stop is None else int(k.stop)
            else:
                lo = 0 if k.start is None else int(k.start)
                hi = n if k.stop is None else int(k.stop)
                lo = lo + n if lo < 0 else lo
                hi = hi + n if hi < 0 else hi
                lo, hi = lo + o, hi + o
            if not (o <= lo <= hi <= o + n):
                kind = "absolute" if self._absolute else "local"
                raise OutOfBoundsError(
                    f"{kind} {axis} range [{k.start}:{k.stop}] is outside the image ({axis} {o}..{o + n - 1})"
                )
            bounds += [lo, hi]
        return Box(*bounds)


class MaskedImage:
    """Image, mask and variance on one grid.

    Parameters
    ----------
    image : 2-D array
        Pixel values.
    mask : Mask, optional
        Bit-plane mask of the same shape. Exactly one of ``mask`` and
        ``schema`` must be given.
    schema : MaskSchema, optional
        Schema of a new all-clear mask.
    variance : 2-D array, optional
        Per-pixel variance; defaults to 1.0 everywhere.
    unit : str or astropy unit, optional
        Unit of the image; the variance is in ``unit**2``.
    wcs : astropy.wcs.WCS, optional
        Sky WCS for the local (0-based) pixel grid.
    xy0 : (int, int)
        Absolute pixel coordinates ``(x0, y0)`` of the first column and row.
    metadata : astropy.io.fits.Header or dict, optional
        Metadata; shared with subimages (``copy()`` detaches it).

    Examples
    --------
    >>> from astromask.core.presets import get_schema
    >>> mi = MaskedImage(np.ones((4, 5), np.float32), schema=get_schema("rubin"), xy0=(10, 20))
    >>> mi.mask.set("SAT", (0, 0))
    >>> sub = mi.absolute[20:22, 11:13]
    >>> sub.xy0, sub.shape, mi.local[0:2, 1:3].xy0
    ((11, 20), (2, 2), (11, 20))
    >>> int(np.isnan(mi.apply("SAT").image).sum())
    1
    """

    def __init__(
        self,
        image: np.ndarray,
        *,
        mask: Mask | None = None,
        schema: MaskSchema | None = None,
        variance: np.ndarray | None = None,
        unit: Any = None,
        wcs: WCS | None = None,
        xy0: tuple[int, int] = (0, 0),
        metadata: Any = None,
    ) -> None:
        image = np.asarray(image)
        if image.ndim != 2:
            raise ParameterError(f"image must be 2-D, got shape {image.shape}")
        if (mask is None) == (schema is None):
            raise ParameterError("give exactly one of mask= and schema=")
        if mask is None:
            assert schema is not None  # one of the two, checked above
            mask = Mask(image.shape, schema)
        elif not isinstance(mask, Mask):
            raise ParameterTypeError(f"mask must be a Mask, got {type(mask).__name__}")
        if mask.shape != image.shape:
            raise ParameterError(f"mask shape {mask.shape} differs from image shape {image.shape}")
        if variance is None:
            variance = np.ones(image.shape, dtype=image.dtype if image.dtype.kind == "f" else np.float32)
        else:
            variance = np.asarray(variance)
            if variance.shape != image.shape:
                raise ParameterError(f"variance shape {variance.shape} differs from image shape {image.shape}")
        if wcs is not None and not isinstance(wcs, WCS):
            raise ParameterTypeError(f"wcs must be an astropy.wcs.WCS, got {type(wcs).__name__}")
        if len(xy0) != 2:
            raise ParameterError(f"xy0 must be (x0, y0), got {xy0!r}")
        self.image = image
        self.mask = mask
        self.variance = variance
        self.unit = _check_unit(unit)
        self.wcs = wcs
        self.xy0 = (int(xy0[0]), int(xy0[1]))
        self.metadata = fits.Header() if metadata is None else metadata

    # -- geometry -------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape

    @property
    def bbox(self) -> Box:
        """The absolute bounding box."""
        x0, y0 = self.xy0
        ny, nx = self.shape
        return Box(y0, y0 + ny, x0, x0 + nx)

    @property
    def variance_unit(self) -> u.UnitBase | None:
        return None if self.unit is None else self.unit**2

    @property
    def absolute(self) -> _Slicer:
        """Slice in absolute pixel coordinates: ``mi.absolute[y0:y1, x0:x1]``."""
        return _Slicer(self, absolute=True)

    @property
    def local(self) -> _Slicer:
        """Slice in local (array) coordinates: ``mi.local[i0:i1, j0:j1]``."""
        return _Slicer(self, absolute=False)

    def __getitem__(self, box: Box) -> MaskedImage:
        """``mi[box]``: the subimage covering an absolute :class:`Box`."""
        if not isinstance(box, Box):
            raise ParameterTypeError("index a MaskedImage with a Box, or use .absolute[...] / .local[...]")
        if not self.bbox.contains(box):
            raise OutOfBoundsError(f"box {box} is outside the image bbox {self.bbox}")
        return self._subimage(box)

    def _subimage(self, box: Box) -> MaskedImage:
        ys, xs = box.slices(self.xy0)
        wcs = None if self.wcs is None else self.wcs.slice((ys, xs))  # shifts CRPIX and the SIP reference
        return MaskedImage(
            self.image[ys, xs],
            mask=self.mask[ys, xs],
            variance=self.variance[ys, xs],
            unit=self.unit,
            wcs=wcs,
            xy0=(box.x0, box.y0),
            metadata=self.metadata,
        )

    # -- copies and masking ---------------------------------------------------------------------

    def copy(self) -> MaskedImage:
        """Deep copy: pixels, mask, WCS and metadata."""
        return MaskedImage(
            self.image.copy(),
            mask=self.mask.copy(),
            variance=self.variance.copy(),
            unit=self.unit,
            wcs=None if self.wcs is None else self.wcs.deepcopy(),
            xy0=self.xy0,
            metadata=_copy.deepcopy(self.metadata),
        )

    def apply(self, flags: object = None, *, unknown: str = "error") -> MaskedImage:
        """A copy with image and variance set to NaN where any plane of ``flags`` is set.

        This is KBMOD's ``apply_mask``: the mask itself is kept. Integer
        images become ``float32`` (``float64`` for 32/64-bit integers) so that
        NaN can be stored.
        """
        out = self.copy()
        bad = self.mask.select(flags, unknown=unknown)
        for name in ("image", "variance"):
            arr = getattr(out, name)
            if arr.dtype.kind != "f":
                arr = arr.astype(np.float64 if arr.dtype.itemsize >= 4 else np.float32)
                setattr(out, name, arr)
            arr[bad] = np.nan
        return out

    def __repr__(self) -> str:
        return (
            f"<MaskedImage shape={self.shape} xy0={self.xy0} dtype={self.image.dtype} "
            f"unit={self.unit} planes={self.mask.schema.names} wcs={'yes' if self.wcs else 'no'}>"
        )

    # -- astropy NDData / CCDData interop -------------------------------------------------------

    def to_ccddata(self, flags: object = None) -> CCDData:
        """An :class:`astropy.nddata.CCDData` with boolean mask (``True`` = any of ``flags``).

        The variance becomes a ``VarianceUncertainty`` and the integer mask is
        kept in ``.flags`` (read it back with ``from_nddata(ccd, schema=...)``).
        """
        from astropy.nddata import CCDData, VarianceUncertainty

        meta = fits.Header(self.metadata) if isinstance(self.metadata, fits.Header) else dict(self.metadata)
        return CCDData(
            self.image,
            unit=self.unit if self.unit is not None else u.dimensionless_unscaled,
            mask=self.mask.select(flags),
            uncertainty=VarianceUncertainty(self.variance),
            flags=self.mask.array,
            wcs=self.wcs,
            meta=meta,
        )

    @classmethod
    def from_nddata(cls, nd: NDData, *, schema: MaskSchema | None = None, plane: str = "BAD") -> MaskedImage:
        """From :class:`astropy.nddata.NDData`/``CCDData``.

        A boolean ``mask`` becomes plane ``plane``. An integer ``flags``
        array is taken as the mask when ``schema`` describes it. The
        uncertainty is converted to variance when it can be.
        """
        from astropy.nddata import InverseVariance, StdDevUncertainty, VarianceUncertainty

        data = np.asarray(nd.data)
        flags = getattr(nd, "flags", None)
        if schema is not None and flags is not None and np.asarray(flags).dtype.kind in "iu":
            mask = Mask(np.asarray(flags), schema)
            if nd.mask is not None:
                bool_mask = np.asarray(nd.mask, dtype=bool)
                extra = bool_mask & ~mask.select()
                if extra.any():
                    if plane not in mask.schema:
                        mask = mask.remap(mask.schema.with_planes(plane))
                    mask.set(plane, extra)
        elif nd.mask is not None:
            mask = Mask.from_bool(np.broadcast_to(np.asarray(nd.mask, dtype=bool), data.shape), plane, schema)
        else:
            mask = Mask(data.shape, schema if schema is not None else MaskSchema([plane]))
        variance = None
        unc = nd.uncertainty
        if unc is not None:
            arr = np.asarray(unc.array, dtype=np.float64)
            if isinstance(unc, VarianceUncertainty):
                variance = arr
            elif isinstance(unc, StdDevUncertainty):
                variance = arr**2
            elif isinstance(unc, InverseVariance):
                with np.errstate(divide="ignore"):
                    variance = np.where(arr > 0, 1.0 / np.where(arr > 0, arr, 1), np.inf)
            else:
                raise ParameterError(f"cannot convert uncertainty of type {type(unc).__name__} to variance")
            variance = variance.astype(data.dtype if data.dtype.kind == "f" else np.float32)
        wcs = nd.wcs if isinstance(nd.wcs, WCS) else None
        meta = (
            nd.meta
            if isinstance(nd.meta, fits.Header)
            else fits.Header(
                [(k, v) for k, v in dict(nd.meta).items() if isinstance(v, (str, int, float, bool)) and len(k) <= 8]
            )
        )
        unit = None if nd.unit is None or nd.unit == u.dimensionless_unscaled else nd.unit
        return cls(data, mask=mask, variance=variance, unit=unit, wcs=wcs, metadata=meta)
