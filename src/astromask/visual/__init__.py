"""Seeing masks: images with their mask planes overlaid, as matplotlib figures or a static HTML page.

* :func:`show_figure`: a matplotlib figure, one panel per image, each plane
  in its own colour with a legend of plane names and pixel counts, sky axes
  when the image has a celestial WCS (needs the ``plot`` extra).
* :func:`~astromask.report.write_report`: a self-contained HTML page with one
  switchable layer per plane (no extra needed).
* :func:`read_panels` / :func:`as_panels`: what the pictures show, from files
  or from objects; :func:`make_layers` turns a panel into display layers
  (stretched image, max-pooled planes).

matplotlib is imported only when a figure is drawn.
"""

from .figure import format_fraction, show_figure
from .layers import (
    PALETTE,
    STRETCHES,
    Layers,
    block_note,
    make_layers,
    normalizer,
    overlay_rgba,
    plane_colours,
    pool_any,
    pool_factor,
    pool_mean,
    select_planes,
    stretch_image,
)
from .panels import Panel, as_panels, header_parameters, parse_hdus, read_panels
from .png import encode_png

__all__ = [
    "PALETTE",
    "STRETCHES",
    "Layers",
    "Panel",
    "as_panels",
    "block_note",
    "encode_png",
    "format_fraction",
    "header_parameters",
    "make_layers",
    "normalizer",
    "overlay_rgba",
    "parse_hdus",
    "plane_colours",
    "pool_any",
    "pool_factor",
    "pool_mean",
    "read_panels",
    "select_planes",
    "show_figure",
    "stretch_image",
]
