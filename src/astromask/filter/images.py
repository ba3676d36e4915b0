"""Filtering images: pixels are selected by their centres' physical coordinates.

A pixel passes a filter when its centre does (ranges on the physical axes,
regions, masks looked up at the centre with the ±0.5 rule). The output keeps
the image's type and header; excluded pixels become ``[opt null=v]``, else
the header's ``BLANK`` (integer images), else 0. The image is cropped to the
bounding box of the selected pixels unless ``[opt full]``; cropping moves
``CRPIXn*`` and ``LTVn`` so every pixel keeps its physical and sky position,
and masks already stored with the image are cropped to the same area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from ..errors import ParameterError
from ..regions import PixelFrame
from .hdus import crop_header
from .masks import MaskImage
from .plan import Column, ImageTarget, Plan, build_plan

__all__ = ["ImageResult", "apply_to_image", "crop_to_image", "filter_image", "select_pixels"]

_BLOCK_PIXELS = 1 << 20


@dataclass
class ImageResult:
    """A filtered image.

    Attributes
    ----------
    data : ndarray
        The output pixels (cropped unless ``full``).
    header : astropy.io.fits.Header
        The input header, ``CRPIXn*``/``LTVn`` moved by the crop.
    selected : ndarray of bool
        Which output pixels passed the filter.
    box : (i0, i1, j0, j1)
        The output's columns ``i0:i1`` and rows ``j0:j1`` in the input array.
    """

    data: np.ndarray
    header: fits.Header
    selected: np.ndarray
    box: tuple[int, int, int, int]


def select_pixels(plan: Plan, shape: tuple[int, int]) -> np.ndarray:
    """Boolean image: the pixels whose centres pass ``plan`` (rows taken in blocks)."""
    ny, nx = shape
    selected = np.ones(shape, dtype=bool)
    if plan.expression is None:
        return selected
    frame: PixelFrame = plan.target.image_frame
    step = max(1, _BLOCK_PIXELS // max(nx, 1))
    lx = np.arange(1, nx + 1, dtype=float)[np.newaxis, :]
    for j0 in range(0, ny, step):
        j1 = min(ny, j0 + step)
        ly = np.arange(j0 + 1, j1 + 1, dtype=float)[:, np.newaxis]
        px, py = frame.to_physical(np.broadcast_to(lx, (j1 - j0, nx)), np.broadcast_to(ly, (j1 - j0, nx)))
        px, py = np.ravel(px), np.ravel(py)

        def values(column: Column, px=px, py=py):
            return (px if column.index == 1 else py), None

        selected[j0:j1] = np.reshape(plan.evaluate(values), (j1 - j0, nx))
    return selected


def _null_value(data: np.ndarray, header: fits.Header, null: float | None):
    if null is None:
        blank = header.get("BLANK")
        return blank if blank is not None and data.dtype.kind in "iu" else 0
    if data.dtype.kind in "iu" and not (math.isfinite(null) and float(null).is_integer()):
        raise ParameterError(f"null={null:g} is not an integer, but the image is {data.dtype}")
    return null


def apply_to_image(data: np.ndarray, header: fits.Header, plan: Plan) -> ImageResult:
    """Apply a plan built for this image (see :func:`filter_image`)."""
    selected = select_pixels(plan, data.shape)
    out = data.copy()
    out[~selected] = _null_value(data, header, plan.null)
    ny, nx = data.shape
    box = (0, nx, 0, ny)
    if not plan.full:
        rows = np.flatnonzero(selected.any(axis=1))
        if rows.size == 0:
            raise ParameterError("the filter selects no pixel of the image (add [opt full] to keep the full image)")
        cols = np.flatnonzero(selected.any(axis=0))
        box = (int(cols[0]), int(cols[-1]) + 1, int(rows[0]), int(rows[-1]) + 1)
    i0, i1, j0, j1 = box
    return ImageResult(out[j0:j1, i0:i1], crop_header(header, i0, j0), selected[j0:j1, i0:i1], box)


def filter_image(data: np.ndarray, header: fits.Header | None, filters: str) -> ImageResult:
    """Filter an in-memory image with CIAO filters.

    Parameters
    ----------
    data : ndarray, shape (ny, nx)
    header : astropy.io.fits.Header or None
        Physical (``LTM``/``LTV``) and sky (WCS) keywords of the image.
    filters : str
        ``"sky=mask(m.fits)"``, ``"[x=100:200][opt full]"`` ...; ``[opt full]``
        and ``[opt null=v]`` are honoured.

    Examples
    --------
    >>> r = filter_image(np.arange(20.0).reshape(4, 5), None, "[sky=box(3,3,2,2)][opt null=-1]")
    >>> r.box, r.data.tolist()
    ((1, 4, 1, 4), [[6.0, 7.0, 8.0], [11.0, 12.0, 13.0], [16.0, 17.0, 18.0]])
    """
    from ..syntax.filter import parse_filters

    header = fits.Header() if header is None else header
    vf = parse_filters(filters)
    if vf.block is not None:
        raise ParameterError("filter_image takes filters and [opt ...] only, not a block")
    target = ImageTarget(header, data.shape, "image")
    plan = build_plan(vf.groups, target, text=vf.text, full=vf.full, null=vf.null)
    return apply_to_image(np.asarray(data), header, plan)


def crop_to_image(mask: MaskImage, frame: PixelFrame, box: tuple[int, int, int, int]) -> MaskImage:
    """The part of a stored mask that covers an image's output box (pixel centres inside its edges)."""
    i0, i1, j0, j1 = box
    px, py = frame.to_physical(np.array([i0 + 0.5, i1 + 0.5]), np.array([j0 + 0.5, j1 + 0.5]))
    mx, my = mask.frame.to_logical(px, py)
    ny, nx = mask.shape
    x0, x1 = sorted(mx)
    y0, y1 = sorted(my)
    c0, c1 = max(0, math.ceil(x0) - 1), min(nx, math.floor(x1))
    r0, r1 = max(0, math.ceil(y0) - 1), min(ny, math.floor(y1))
    return mask.crop(c0, max(c0, c1), r0, max(r0, r1))
