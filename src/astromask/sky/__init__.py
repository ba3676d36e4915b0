"""Masks on the sky: map geometries (:mod:`.geometry`), circles around sky positions
(:mod:`.circles`), catalogue exclusion masks (:mod:`.catalog`) and significance masks
(:mod:`.significance`)."""

from .catalog import POSITION_COLUMNS, catalog_mask, read_catalog
from .circles import RADIUS_TOLERANCE, sky_circles_mask
from .geometry import SkyGeometry, make_geometry

__all__ = [
    "POSITION_COLUMNS",
    "RADIUS_TOLERANCE",
    "SkyGeometry",
    "catalog_mask",
    "make_geometry",
    "read_catalog",
    "sky_circles_mask",
]
