"""HEALPix footprints of pixel masks: one bit per plane in a healsparse map, unioned over any number of
masks (every CCD of every exposure), streamed one mask at a time (:func:`healpix_map`), and looked up
at sky positions (:func:`lookup_healpix`).

The map is an ``int64`` :class:`healsparse.HealSparseMap` (NEST ordering, sentinel 0; ``int64``, not
``uint64``, because FITS stores unsigned 64-bit integers with a ``BZERO`` that healsparse's reader
refuses): bit ``i`` is plane ``planes[i]`` (named by the map's ``MBIT<i>`` metadata) and bit 63,
``COVERED`` (the sign bit), marks the HEALPix pixels whose centre lies on some mask pixel. A HEALPix
pixel gets a plane where

* its centre falls on a mask pixel with that plane (the mask sampled at the HEALPix centres, which
  leaves no holes when HEALPix pixels are smaller than the mask's), or
* the centre of a mask pixel with that plane falls inside it (the mask's pixels dropped into the
  map, which misses nothing when HEALPix pixels are larger),

so that a plane is never lost whichever grid is finer. ``COVERED`` is the first rule alone: for a
TAN WCS, whose pixel rows and columns are great circles, it is exactly
``hpgeom.query_polygon`` of the mask's outline (``tests/test_sky_healpix.py`` checks it).
Memory: the map (its covered area at ``nside``) and one mask.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from astropy.coordinates import SkyCoord

from .._optional import require
from ..core.mask import Mask
from ..errors import ParameterError
from .lookup import MASK_BITS, Lookup, _each_mask, _unit_vectors, in_union

__all__ = ["COVERED_BIT", "VIEWS", "HealpixMasks", "healpix_map", "lookup_healpix", "rasterize"]

VIEWS = ("gnomonic", "mollweide")

log = logging.getLogger("astromask")

COVERED_BIT = 63  #: the bit of the HEALPix pixels whose centre lies on a mask
_PLANES = COVERED_BIT  # planes a map holds besides COVERED
_OUTLINE_MARGIN = 3.0  # pixels beyond the mask's edges of the polygon that bounds the candidates


def _healsparse():
    return require("healsparse", extra="healpix", needed_for="HEALPix maps")


@dataclass
class HealpixMasks:
    """A HEALPix map of mask planes (:func:`healpix_map`).

    Attributes
    ----------
    map : healsparse.HealSparseMap
        ``int64`` values: bit ``i`` for ``planes[i]``, bit 63 ``COVERED``.
    planes : list of str
        The planes, in bit order.
    """

    map: object
    planes: list[str]

    @property
    def nside(self) -> int:
        return int(self.map.nside_sparse)

    def counts(self) -> dict[str, int]:
        """HEALPix pixels per plane, and ``COVERED``."""
        pixels = self.map.valid_pixels
        values = np.asarray(self.map.get_values_pix(pixels)).astype(np.int64).view(np.uint64)
        names = {**dict(enumerate(self.planes)), COVERED_BIT: "COVERED"}
        return {name: int(np.count_nonzero((values >> np.uint64(bit)) & np.uint64(1))) for bit, name in names.items()}

    def metadata(self) -> dict[str, str]:
        """The plane names as FITS-ready metadata, ``MBIT<i>``."""
        return {f"MBIT{i}": name for i, name in enumerate(self.planes)}

    def write(self, path: str, *, clobber: bool = False) -> None:
        """Write the map (healsparse's FITS layout) with its plane names."""
        self.map.metadata = self.metadata()
        self.map.write(path, clobber=clobber)

    @classmethod
    def read(cls, path: str) -> HealpixMasks:
        """A map :meth:`write` wrote (its planes from the ``MBIT<i>`` metadata)."""
        healsparse = _healsparse()
        hmap = healsparse.HealSparseMap.read(path)
        metadata = hmap.metadata or {}
        planes = []
        while f"MBIT{len(planes)}" in metadata:
            planes.append(str(metadata[f"MBIT{len(planes)}"]))
        return cls(hmap, planes)


def _centres_on_mask(hpgeom, nside: int, mask: Mask, wcs) -> tuple[np.ndarray, np.ndarray]:
    """The HEALPix pixels whose centres fall on the mask, and the mask value under each."""
    ny, nx = mask.shape
    m = _OUTLINE_MARGIN
    corners = wcs.pixel_to_world(np.array([-m, nx - 1 + m, nx - 1 + m, -m]), np.array([-m, -m, ny - 1 + m, ny - 1 + m]))
    corners = corners.icrs
    candidates = hpgeom.query_polygon(nside, corners.ra.deg, corners.dec.deg, inclusive=True, nest=True)
    if not candidates.size:
        return candidates, np.zeros(0, np.uint64)
    ra, dec = hpgeom.pixel_to_angle(nside, candidates, nest=True)
    x, y = wcs.world_to_pixel(SkyCoord(ra, dec, unit="deg", frame="icrs"))
    ix, iy = np.floor(np.asarray(x) + 0.5), np.floor(np.asarray(y) + 0.5)
    on = np.isfinite(ix) & np.isfinite(iy) & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    return candidates[on], mask.array[iy[on].astype(np.int64), ix[on].astype(np.int64)]


def _set_pixels_of_mask(hpgeom, nside: int, mask: Mask, wcs) -> tuple[np.ndarray, np.ndarray]:
    """The HEALPix pixel of each mask pixel with a plane set, and its value."""
    iy, ix = np.nonzero(mask.array)
    if not ix.size:
        return np.zeros(0, np.int64), np.zeros(0, mask.array.dtype)
    world = wcs.pixel_to_world(ix.astype(float), iy.astype(float)).icrs
    return hpgeom.angle_to_pixel(nside, world.ra.deg, world.dec.deg, nest=True), mask.array[iy, ix]


def _or_unique(pixels: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel once, with the OR of its values."""
    order = np.argsort(pixels, kind="stable")
    pixels, values = pixels[order], values[order]
    starts = np.flatnonzero(np.r_[True, pixels[1:] != pixels[:-1]])
    return pixels[starts], np.bitwise_or.reduceat(values, starts) if values.size else values


def healpix_map(masks: Iterable, nside: int, *, nside_coverage: int = 32, into: HealpixMasks | None = None):
    """The HEALPix map of ``masks``' planes (see the module docstring for the rules).

    Parameters
    ----------
    masks : iterable
        ``(Mask, WCS)`` or ``(Mask, WCS, label)`` pairs, used one at a time
        (:func:`astromask.io.masks_on_sky` of each file gives them).
    nside : int
        HEALPix resolution, a power of 2 (``2**17``: 1.6 arcsec pixels).
    nside_coverage : int
        healsparse's coverage resolution (a power of 2 below ``nside``).
    into : HealpixMasks, optional
        A map to add these masks to (OR), instead of a new one.

    Examples
    --------
    >>> from astropy.wcs import WCS
    >>> from astromask import Mask, get_schema
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype, wcs.wcs.crval = ["RA---TAN", "DEC--TAN"], [150.0, 2.0]
    >>> wcs.wcs.crpix, wcs.wcs.cdelt = [50.5, 50.5], [-1 / 3600, 1 / 3600]
    >>> mask = Mask((100, 100), get_schema("rubin"))
    >>> mask.set("BAD", np.s_[:, 40:60])
    >>> footprint = healpix_map([(mask, wcs)], 2**15)  # 6.4 arcsec pixels
    >>> footprint.counts()["COVERED"], footprint.counts()["BAD"] > 0
    (240, True)
    """
    hpgeom = require("hpgeom", extra="healpix", needed_for="HEALPix maps")
    healsparse = _healsparse()
    for value, name in ((nside, "nside"), (nside_coverage, "nside_coverage")):
        if not isinstance(value, (int, np.integer)) or value < 1 or value & (value - 1) or value > 2**29:
            raise ParameterError(f"{name} must be a power of 2 up to 2**29, got {value!r}")
    if nside_coverage >= nside:
        raise ParameterError(f"nside_coverage ({nside_coverage}) must be below nside ({nside})")
    if into is None:
        into = HealpixMasks(healsparse.HealSparseMap.make_empty(nside_coverage, nside, np.int64, sentinel=0), [])
    elif into.nside != nside:
        raise ParameterError(f"the map has nside {into.nside}, not {nside}")
    covered_bit = np.uint64(1) << np.uint64(COVERED_BIT)
    for mask, wcs, label in _each_mask(masks):
        on_pixels, on_values = _centres_on_mask(hpgeom, nside, mask, wcs)
        set_pixels, set_values = _set_pixels_of_mask(hpgeom, nside, mask, wcs)
        pixels = np.concatenate([on_pixels.astype(np.int64), set_pixels.astype(np.int64)])
        values = np.concatenate(
            [
                in_union(mask, on_values, into.planes, _PLANES) | covered_bit,
                in_union(mask, set_values, into.planes, _PLANES),
            ]
        )
        pixels, values = _or_unique(pixels, values)
        keep = values != 0
        if keep.any():
            into.map.update_values_pix(pixels[keep], values[keep].view(np.int64), operation="or")
        log.info("%s: %d HEALPix pixels at nside %d, %d with a plane", label, on_pixels.size, nside, int(keep.sum()))
    return into


def _view_wcs(footprint: HealpixMasks, view: str, size: int):
    """A WCS and shape for a picture of the map: TAN around its covered pixels, or the whole sky (MOL)."""
    from astropy.wcs import WCS

    hpgeom = require("hpgeom", extra="healpix", needed_for="HEALPix maps")
    wcs = WCS(naxis=2)
    if view == "mollweide":
        wcs.wcs.ctype = ["RA---MOL", "DEC--MOL"]
        wcs.wcs.crval = [180.0, 0.0]
        scale = 2 * np.sqrt(2) * np.degrees(1) * 2 / size  # the ellipse is 4 sqrt(2) rad wide
        wcs.wcs.cdelt = [-scale, scale]
        wcs.wcs.crpix = [(size + 1) / 2, (size // 2 + 1) / 2]
        return wcs, (size // 2, size)
    pixels = footprint.map.valid_pixels
    if not pixels.size:
        raise ParameterError("the HEALPix map covers nothing")
    ra, dec = hpgeom.pixel_to_angle(footprint.nside, pixels, nest=True)
    vectors = _unit_vectors(SkyCoord(ra, dec, unit="deg"))
    centre = vectors.mean(axis=0)
    centre /= np.linalg.norm(centre)
    radius = float(np.degrees(np.arccos(np.clip(np.min(vectors @ centre), -1, 1))))
    radius = max(radius, 2 * float(hpgeom.nside_to_resolution(footprint.nside)))
    lon = np.degrees(np.arctan2(centre[1], centre[0])) % 360
    lat = np.degrees(np.arcsin(centre[2]))
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [lon, lat]
    scale = 2.2 * radius / size
    wcs.wcs.cdelt = [-scale, scale]
    wcs.wcs.crpix = [(size + 1) / 2, (size + 1) / 2]
    return wcs, (size, size)


def rasterize(footprint: HealpixMasks, *, view: str = "gnomonic", size: int = 800):
    """The map drawn onto a picture's grid: ``(Mask, WCS)``, planes and ``COVERED`` by name.

    ``gnomonic`` zooms on the covered pixels (a TAN grid ``size`` pixels wide), ``mollweide`` shows
    the whole sky (``size`` by ``size / 2``). A grid pixel gets the bits of the HEALPix pixel under its
    centre and of every HEALPix pixel whose centre falls in it, so that no plane is lost to the
    sampling whichever grid is finer.
    """
    from ..core.presets import made_plane
    from ..core.schema import MaskPlane, MaskSchema

    hpgeom = require("hpgeom", extra="healpix", needed_for="HEALPix maps")
    if view not in VIEWS:
        raise ParameterError(f"view must be one of {', '.join(VIEWS)}, got {view!r}")
    wcs, shape = _view_wcs(footprint, view, int(size))
    ny, nx = shape
    yy, xx = np.mgrid[:ny, :nx]
    world = wcs.pixel_to_world(xx.ravel().astype(float), yy.ravel().astype(float))
    values = np.zeros(ny * nx, np.uint64)
    on_sky = np.isfinite(world.spherical.lon.deg) if world.size else np.zeros(0, bool)
    if on_sky.any():
        icrs = world[on_sky].icrs
        sampled = np.asarray(footprint.map.get_values_pos(icrs.ra.deg, icrs.dec.deg, lonlat=True))
        values[on_sky] = sampled.astype(np.int64).view(np.uint64)
    pixels = footprint.map.valid_pixels
    bits = np.asarray(footprint.map.get_values_pix(pixels)).astype(np.int64).view(np.uint64)
    ra, dec = hpgeom.pixel_to_angle(footprint.nside, pixels, nest=True)
    x, y = wcs.world_to_pixel(SkyCoord(ra, dec, unit="deg"))
    ix, iy = np.floor(np.asarray(x) + 0.5), np.floor(np.asarray(y) + 0.5)
    inside = np.isfinite(ix) & np.isfinite(iy) & (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    np.bitwise_or.at(values, (iy[inside] * nx + ix[inside]).astype(np.int64), bits[inside])
    planes = [MaskPlane(name) for name in footprint.planes] + [made_plane("COVERED", "healpix")]
    mask = Mask((ny, nx), MaskSchema(planes, name="healpix"))
    grid = values.reshape(ny, nx)
    for i, name in enumerate(footprint.planes):
        mask.set(name, (grid >> np.uint64(i)) & np.uint64(1) == 1)
    mask.set("COVERED", (grid >> np.uint64(COVERED_BIT)) & np.uint64(1) == 1)
    return mask, wcs


def lookup_healpix(positions: SkyCoord, footprint: HealpixMasks) -> Lookup:
    """The planes of a HEALPix map at sky positions, as :func:`~astromask.sky.lookup_planes` gives
    them for pixel masks (``covered``: the map's ``COVERED`` bit there).

    >>> from astromask import Mask, get_schema
    >>> from astropy.wcs import WCS
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype, wcs.wcs.crval = ["RA---TAN", "DEC--TAN"], [150.0, 2.0]
    >>> wcs.wcs.crpix, wcs.wcs.cdelt = [50.5, 50.5], [-1 / 3600, 1 / 3600]
    >>> mask = Mask((100, 100), get_schema("rubin"))
    >>> mask.set("BAD", np.s_[:, 40:60])
    >>> found = lookup_healpix(wcs.pixel_to_world([50, 5, 500], [50, 50, 50]), healpix_map([(mask, wcs)], 2**16))
    >>> found.plane("BAD").tolist(), found.covered.tolist()
    ([True, False, False], [True, True, False])
    """
    icrs = positions.icrs
    values = np.asarray(footprint.map.get_values_pos(icrs.ra.deg, icrs.dec.deg, lonlat=True))
    values = values.astype(np.int64).view(np.uint64)  # native order (a map read from a file is big-endian)
    covered = ((values >> np.uint64(COVERED_BIT)) & np.uint64(1)).astype(bool)
    planes = values & ~(np.uint64(1) << np.uint64(COVERED_BIT))
    if len(footprint.planes) > MASK_BITS:  # pragma: no cover - a map holds at most 63
        raise ParameterError("the map holds more planes than a lookup keeps")
    return Lookup(planes.view(np.int64), tuple(footprint.planes), covered)
