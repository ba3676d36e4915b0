"""Per-object mask bits: the planes set at each catalogue position, or anywhere within a radius of
it, in pixel masks with a sky WCS (:func:`lookup_planes`; :func:`astromask.io.masks_on_sky` reads
a file's masks with their WCS, one CCD at a time).

This is what survey catalogues carry as ``MASKBITS`` (DESI's legacy surveys, metadetect): one
integer per object, bit ``i`` set when plane ``i`` is set under the object. The planes of every
mask are put in one union by name, bits given in the order the names are met, so that masks of
different layouts (an afw exposure, a DECam CP mask, a JWST DQ array) combine; an object on
several masks (overlapping CCDs, several exposures) gets the OR of all of them.

A position falls on the pixel whose centre is nearest (``round(x)``, ``round(y)`` in the array's
0-based pixel coordinates, as astropy's ``world_to_pixel`` gives them). With a radius, every pixel
whose centre lies within the radius of the position counts: distances are measured in pixel
offsets through the mask's local metric (the sky lengths of one pixel step along x and y and the
angle between them, measured at the mask's centre, so non-square and sheared pixels are right),
a tangent-plane approximation whose error over a CCD is far below a pixel for the arcsecond
radii used (``tests/test_sky_lookup.py`` compares it with great-circle separations).

Speed: each mask's sky footprint (its border and centre) bounds a cap on the sphere, and only the
objects inside that cap are projected through its WCS, so that a catalogue of 10**6 objects is
projected about once in all, not once per CCD.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.wcs import WCS

from ..core.mask import Mask
from ..core.units import parse_angle
from ..errors import FormatError, ParameterError

__all__ = ["MASK_BITS", "Lookup", "lookup_planes", "merge_lookups"]

log = logging.getLogger("astromask")

MASK_BITS = 64  #: planes a lookup can hold (the bits of its int64 column)
_BORDER_SAMPLES = 16  # points per edge of a mask whose sky positions bound its footprint


@dataclass(frozen=True)
class Lookup:
    """What :func:`lookup_planes` found.

    Attributes
    ----------
    bits : int64 array
        Per object, bit ``i`` set where plane ``planes[i]`` is set at (or near) it.
    planes : tuple of str
        The union of the masks' planes; plane ``planes[i]`` is bit ``i`` of ``bits``.
    covered : bool array
        Per object, whether its position lies on a pixel of at least one mask.
    """

    bits: np.ndarray
    planes: tuple[str, ...]
    covered: np.ndarray

    def plane(self, name: str) -> np.ndarray:
        """Boolean array: the objects with plane ``name`` (all False for a plane no mask has)."""
        if name not in self.planes:
            return np.zeros(self.bits.shape, dtype=bool)
        return (self.bits >> self.planes.index(name)) & 1 == 1


def _unit_vectors(coords: SkyCoord) -> np.ndarray:
    xyz = coords.icrs.cartesian
    return np.stack([np.asarray(xyz.x), np.asarray(xyz.y), np.asarray(xyz.z)], axis=-1)


def _footprint(wcs: WCS, shape: tuple[int, int]) -> tuple[np.ndarray, float, np.ndarray]:
    """The unit vector of a mask's centre, the cosine of the angle from it to its farthest border
    point, and its local metric: ``G`` with ``d @ G @ d`` the squared angle (radians) of a pixel
    offset ``d = (dx, dy)``."""
    ny, nx = shape
    edge_x = np.linspace(-0.5, nx - 0.5, _BORDER_SAMPLES)
    edge_y = np.linspace(-0.5, ny - 0.5, _BORDER_SAMPLES)
    x = np.concatenate([edge_x, edge_x, np.full(_BORDER_SAMPLES, -0.5), np.full(_BORDER_SAMPLES, nx - 0.5)])
    y = np.concatenate([np.full(_BORDER_SAMPLES, -0.5), np.full(_BORDER_SAMPLES, ny - 0.5), edge_y, edge_y])
    cx, cy = (nx - 1) / 2, (ny - 1) / 2
    points = wcs.pixel_to_world(np.r_[cx, cx + 1, cx, x], np.r_[cy, cy, cy + 1, y])
    vectors = _unit_vectors(points)
    if not np.isfinite(vectors).all():
        raise FormatError("its WCS gives no sky position for some of its border pixels")
    centre = vectors[0]
    cos_far = float(np.min(vectors[3:] @ centre))
    steps = np.stack([vectors[1] - centre, vectors[2] - centre])  # one pixel along x, along y
    return centre, cos_far, steps @ steps.T


def in_union(mask: Mask, values: np.ndarray, planes: list[str], limit: int = MASK_BITS) -> np.ndarray:
    """``mask``'s values re-encoded (``uint64``) in the bits of the plane union ``planes``, matched by
    name; new names are appended to ``planes`` (at most ``limit`` in all)."""
    out = np.zeros(values.shape, dtype=np.uint64)
    values = values.astype(np.uint64, copy=False)
    for name in mask.schema.names:
        if name not in planes:
            if len(planes) == limit:
                raise ParameterError(f"the masks hold more than {limit} distinct planes; {limit} fit")
            planes.append(name)
        bit = np.uint64(mask.schema.bit(name))
        out |= ((values >> bit) & np.uint64(1)) << np.uint64(planes.index(name))
    return out


def _values_near(array: np.ndarray, x: np.ndarray, y: np.ndarray, radius: float, metric: np.ndarray) -> tuple:
    """OR of the mask values at the pixels whose centres are within ``radius`` (radians, through
    ``metric``) of each (x, y) (the nearest pixel alone for 0), and whether that nearest pixel is on
    the mask."""
    ny, nx = array.shape
    ix = np.floor(x + 0.5).astype(np.int64)
    iy = np.floor(y + 0.5).astype(np.int64)
    on = (ix >= 0) & (ix < nx) & (iy >= 0) & (iy < ny)
    values = np.zeros(x.shape, dtype=np.uint64)
    values[on] = array[iy[on], ix[on]]
    if radius <= 0:
        return values, on
    (gxx, gxy), (_, gyy) = metric
    smallest = float(np.linalg.eigvalsh(metric)[0])  # the shortest pixel step, squared
    reach = int(np.ceil(radius / np.sqrt(smallest))) + 1
    r2 = radius * radius
    for dy in range(-reach, reach + 1):
        py = iy + dy
        rows = (py >= 0) & (py < ny)
        ddy = py - y
        for dx in range(-reach, reach + 1):
            if dx == 0 and dy == 0:
                continue
            px = ix + dx
            ddx = px - x
            near = rows & (px >= 0) & (px < nx) & (gxx * ddx * ddx + 2 * gxy * ddx * ddy + gyy * ddy * ddy <= r2)
            if near.any():
                values[near] |= array[py[near], px[near]]
    return values, on


def lookup_planes(positions: SkyCoord, masks: Iterable, *, radius=None) -> Lookup:
    """The planes set at each sky position (or within ``radius`` of it) in pixel masks.

    Parameters
    ----------
    positions : SkyCoord
        The objects, in any frame.
    masks : iterable
        ``(Mask, WCS)`` or ``(Mask, WCS, label)`` pairs, used one at a time: a generator such
        as :func:`astromask.io.masks_on_sky` of a file reads each CCD only when it is due.
    radius : angle, optional
        Count every pixel whose centre is within this angle of the position (``'2arcsec'``, a
        Quantity); default: the pixel under the position alone.

    Returns
    -------
    Lookup

    Examples
    --------
    >>> from astromask import Mask, get_schema
    >>> wcs = WCS(naxis=2)
    >>> wcs.wcs.ctype, wcs.wcs.crval = ["RA---TAN", "DEC--TAN"], [150.0, 2.0]
    >>> wcs.wcs.crpix, wcs.wcs.cdelt = [50.5, 50.5], [-1 / 3600, 1 / 3600]  # 1 arcsec pixels
    >>> mask = Mask((100, 100), get_schema("rubin"))
    >>> mask.set("SAT", (49, 52))  # y, x
    >>> objects = wcs.pixel_to_world([52, 55, 500], [49, 49, 49])
    >>> found = lookup_planes(objects, [(mask, wcs)], radius="3.5arcsec")
    >>> found.plane("SAT").tolist(), found.covered.tolist()
    ([True, True, False], [True, True, False])
    >>> lookup_planes(objects, [(mask, wcs)]).plane("SAT").tolist()  # the pixel under each alone
    [True, False, False]
    """
    radius_deg = 0.0 if radius is None else parse_angle(radius, "radius", default_unit=None)
    if radius_deg < 0:
        raise ParameterError(f"radius must not be negative, got {radius!r}")
    n = len(positions)
    vectors = _unit_vectors(positions) if n else np.zeros((0, 3))
    bits = np.zeros(n, dtype=np.uint64)
    covered = np.zeros(n, dtype=bool)
    planes: list[str] = []
    for mask, wcs, label in _each_mask(masks):
        try:
            centre, cos_far, metric = _footprint(wcs, mask.shape)
        except FormatError as exc:
            raise FormatError(str(exc), path=label) from None
        pixel = float(np.sqrt(np.linalg.eigvalsh(metric)[-1]))  # the longest pixel step, radians
        reach = np.arccos(np.clip(cos_far, -1, 1)) + np.radians(radius_deg) + 2 * pixel
        candidates = np.flatnonzero(vectors @ centre >= np.cos(min(reach, np.pi)))
        if not candidates.size:
            in_union(mask, np.zeros(0, np.uint64), planes)  # its planes join the union all the same
            continue
        x, y = wcs.world_to_pixel(positions[candidates])
        finite = np.isfinite(x) & np.isfinite(y)
        candidates, x, y = candidates[finite], np.asarray(x)[finite], np.asarray(y)[finite]
        values, on = _values_near(mask.array, x, y, np.radians(radius_deg), metric)
        union = in_union(mask, values, planes)
        bits[candidates] |= union
        covered[candidates] |= on
        log.info("%s: %d objects on it, %d with a plane set", label, int(on.sum()), int(np.count_nonzero(union)))
    return Lookup(bits.view(np.int64), tuple(planes), covered)


def merge_lookups(first: Lookup, second: Lookup) -> Lookup:
    """Both lookups of the same objects in one: the OR of their planes (matched by name, the second's
    new names after the first's) and of their coverage.

    >>> a = Lookup(np.array([1, 0]), ("BAD",), np.array([True, False]))
    >>> b = Lookup(np.array([1, 3]), ("SAT", "BAD"), np.array([False, True]))
    >>> merged = merge_lookups(a, b)
    >>> merged.planes, merged.bits.tolist(), merged.covered.tolist()
    (('BAD', 'SAT'), [3, 3], [True, True])
    """
    if first.bits.shape != second.bits.shape:
        raise ParameterError(f"lookups of {first.bits.size} and {second.bits.size} objects cannot be merged")
    planes = list(first.planes)
    bits = first.bits.view(np.uint64).copy()
    for i, name in enumerate(second.planes):
        if name not in planes:
            if len(planes) == MASK_BITS:
                raise ParameterError(f"the masks hold more than {MASK_BITS} distinct planes; a lookup keeps 64")
            planes.append(name)
        bits |= ((second.bits.view(np.uint64) >> np.uint64(i)) & np.uint64(1)) << np.uint64(planes.index(name))
    return Lookup(bits.view(np.int64), tuple(planes), first.covered | second.covered)


def _each_mask(masks: Iterable) -> Iterator[tuple[Mask, WCS, str]]:
    for i, item in enumerate(masks):
        if not isinstance(item, tuple) or len(item) not in (2, 3) or not isinstance(item[0], Mask):
            raise ParameterError(f"masks[{i}] must be a (Mask, WCS) pair, got {type(item).__name__}")
        mask, wcs = item[0], item[1]
        if not isinstance(wcs, WCS) or not wcs.has_celestial:
            raise ParameterError(f"masks[{i}]: a sky WCS is needed, got {wcs!r}")
        yield mask, wcs.celestial, item[2] if len(item) == 3 else f"masks[{i}]"
