"""CIAO's DM filters on images and event lists: masks, regions and column ranges.

* :func:`filter_file` — ``dmcopy "evt.fits[EVENTS][sky=mask(m.fits)]" out.fits``:
  filter a table (streamed in row chunks) or an image (cropped to the
  selection unless ``[opt full]``), keep every other HDU, record the filter
  in the block's data subspace and store the masks as ``MASK`` extensions.
* :func:`select_rows`, :func:`filter_image` — the same on in-memory data.
* :func:`merge` — ``dmmerge``: concatenate event lists, union of their masks.
* :func:`parse_virtual_file` — the syntax (:mod:`astromask.filter.syntax`).
* :func:`read_subspace`, :func:`describe_subspace` — read the record back.

Mask semantics (``ahelp dmmasks``): mask pixel 0 excludes, any other value
includes (negative too); NaN, Inf and integer NULL count as 0; positions
outside the mask are always excluded, also under ``exclude``.
"""

from ..syntax.filter import FilterSyntaxError, parse_filter, parse_virtual_file
from .files import FilterSummary, filter_file
from .images import ImageResult, filter_image
from .masks import MaskImage, included, read_mask
from .merge import merge
from .subspace import Descriptor, describe_subspace, read_subspace
from .tables import select_rows

__all__ = [
    "Descriptor",
    "FilterSummary",
    "FilterSyntaxError",
    "ImageResult",
    "MaskImage",
    "describe_subspace",
    "filter_file",
    "filter_image",
    "included",
    "merge",
    "parse_filter",
    "parse_virtual_file",
    "read_mask",
    "read_subspace",
    "select_rows",
]
