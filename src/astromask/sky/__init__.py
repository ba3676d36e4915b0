"""Masks on the sky: map geometries (:mod:`.geometry`), circles around sky positions
(:mod:`.circles`), catalogue exclusion masks (:mod:`.catalog`), significance masks
(:mod:`.significance`) and per-object mask bits (:mod:`.lookup`)."""

from .catalog import POSITION_COLUMNS, catalog_mask, read_catalog, read_positions
from .circles import RADIUS_TOLERANCE, sky_circles_mask
from .geometry import SkyGeometry, make_geometry
from .lookup import Lookup, lookup_planes

__all__ = [
    "POSITION_COLUMNS",
    "RADIUS_TOLERANCE",
    "Lookup",
    "SkyGeometry",
    "catalog_mask",
    "lookup_planes",
    "make_geometry",
    "read_catalog",
    "read_positions",
    "sky_circles_mask",
]
