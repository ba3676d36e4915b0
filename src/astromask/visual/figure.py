"""Matplotlib figures of masks over images (the ``plot`` extra)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from .._optional import require
from ..errors import ParameterError
from .layers import (
    Layers,
    block_note,
    make_layers,
    overlay_rgba,
    plane_colours,
    pool_factor,
    select_planes,
)
from .panels import Panel, as_panels

__all__ = ["format_fraction", "show_figure"]

_MASK_ONLY_BACKGROUND = "0.12"  # dark grey behind a mask drawn without its image
_LEGEND_WIDTH = 2.7  # inches beside each panel for the plane legend
_TITLE_HEIGHT = 1.0  # inches above and below each panel for the title and tick labels
_SCREEN_MARGIN = 0.99  # of the axes' screen pixels counted as room for blocks (the frame may move a little)


def _require_matplotlib():
    return require("matplotlib", needed_for="drawing masks")


def format_fraction(fraction: float) -> str:
    """A fraction as a short percentage: ``'12.3%'``, ``'0.0164%'``, ``'0%'``.

    >>> format_fraction(0.123), format_fraction(0.000164), format_fraction(0.0), format_fraction(1.0)
    ('12.3%', '0.0164%', '0%', '100%')
    """
    return "0%" if fraction == 0 else f"{100 * fraction:.3g}%"


def _grid(n: int, ncols: int | None) -> tuple[int, int]:
    if ncols is not None and ncols < 1:
        raise ParameterError(f"ncols must be at least 1, got {ncols}")
    ncols = min(n, ncols or math.ceil(math.sqrt(n)))
    return math.ceil(n / ncols), ncols


_AXIS_LABELS = {
    "pos.eq.ra": "Right ascension",
    "pos.eq.dec": "Declination",
    "pos.galactic.lon": "Galactic longitude",
    "pos.galactic.lat": "Galactic latitude",
    "pos.ecliptic.lon": "Ecliptic longitude",
    "pos.ecliptic.lat": "Ecliptic latitude",
}


def _label_axes(ax, panel: Panel) -> None:
    if panel.celestial_wcs is None:
        ax.set_xlabel("x (pixel)")
        ax.set_ylabel("y (pixel)")
        return
    for coord, kind in zip(ax.coords, panel.celestial_wcs.world_axis_physical_types):
        coord.set_axislabel(_AXIS_LABELS.get(kind, kind))


def _title(panel: Panel, factor: int) -> str:
    note = block_note(factor, image=panel.image is not None)
    return f"{panel.title}\n{note}" if note else panel.title


def _prepare_axes(ax, panel: Panel) -> None:
    """Limits, aspect and labels, so that the layout is known before the picture is drawn."""
    ny, nx = panel.shape
    ax.set_xlim(-0.5, nx - 0.5)
    ax.set_ylim(-0.5, ny - 0.5)
    ax.set_aspect("equal")
    _label_axes(ax, panel)
    for spine in getattr(ax, "spines", {}).values():  # the frame must not hide masked pixels at the edges
        spine.set_zorder(-1)


def _fitting_factor(ax, shape: tuple[int, int]) -> int:
    """Smallest block size that gives every block at least one screen pixel in the laid-out axes."""
    box = ax.get_window_extent()
    room = (max(_SCREEN_MARGIN * box.height, 1.0), max(_SCREEN_MARGIN * box.width, 1.0))  # screen pixels (y, x)
    factor = max(1, math.floor(max(n / r for n, r in zip(shape, room))))
    while any(-(-n // factor) > r for n, r in zip(shape, room)):  # whole blocks: ceil(n / factor) of them
        factor += 1
    return factor


def _block_factors(fig, axes, panels: Sequence[Panel], estimate: int) -> list[int]:
    """Block sizes that fit each panel's axes once laid out (titles say the size, so lay out again if needed)."""
    factors = [pool_factor(p.shape, estimate) for p in panels]
    for _ in range(2):
        for ax, panel, factor in zip(axes, panels, factors):
            ax.set_title(_title(panel, factor), fontsize="medium")
        fig.draw_without_rendering()
        fitted = [_fitting_factor(ax, p.shape) for ax, p in zip(axes, panels)]
        same_lines = [f > 1 for f in fitted] == [f > 1 for f in factors]
        factors = fitted
        if same_lines:
            break
    return factors


def _draw_panel(ax, panel: Panel, layers: Layers, colours: Mapping[str, tuple], alpha: float) -> None:
    import matplotlib

    dy, dx = layers.display_shape
    f = layers.factor
    # Whole blocks in the image's own pixel coordinates: a partial last block is drawn in full (it then
    # reaches less than a block beyond the image) so that every block gets at least one screen pixel.
    extent = (-0.5, dx * f - 0.5, -0.5, dy * f - 0.5)
    common = {"origin": "lower", "interpolation": "nearest", "extent": extent}
    if layers.grey is not None:
        grey = matplotlib.colormaps["gray"].with_extremes(bad="black")
        ax.imshow(layers.grey, cmap=grey, vmin=0.0, vmax=1.0, **common)
    else:
        ax.set_facecolor(_MASK_ONLY_BACKGROUND)
    if layers.planes:
        ax.imshow(overlay_rgba(layers, colours, alpha=alpha), **common)
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    ax.set_title(_title(panel, f), fontsize="medium")


def _draw_legend(ax, layers: Layers, colours: Mapping[str, tuple]) -> None:
    """The planes, their colours and pixel counts, in an axes of their own beside the image."""
    from matplotlib.patches import Patch

    handles = [
        Patch(facecolor=colours[name], edgecolor="none",
              label=f"{name}: {layers.counts[name]:,} px ({format_fraction(layers.fraction(name))})")
        for name in layers.planes
    ]  # fmt: skip
    ax.legend(
        handles=handles,
        title="mask planes" if handles else "no mask plane set",
        loc="upper left",
        borderaxespad=0.0,
        fontsize="small",
        alignment="left",
        frameon=False,
    )


def show_figure(
    data,
    mask=None,
    *,
    planes=None,
    stretch: str = "zscale",
    alpha: float = 0.6,
    colors: Mapping[str, object] | None = None,
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    panel_size: float = 6.0,
    dpi: float = 100,
    max_size: int | None = None,
):
    """A matplotlib figure of mask planes over images, one panel per image.

    Parameters
    ----------
    data : MaskedImage, 2-D array, Mask, Panel, or a list of them
        What to draw; a list gives a grid of panels. A lone :class:`~astromask.Mask`
        is drawn on a dark background.
    mask : Mask, boolean array, or a list of them, optional
        Mask(s) to overlay instead of the masked images' own (one for all, or
        one per image); a boolean array is plane ``MASKED``.
    planes : flag expression, optional
        Planes to draw (``'CR,SAT'``, ``'~(BBG)'``, a list of names); default:
        every plane with a pixel set. Named planes are listed even when empty.
    stretch : {'zscale', 'asinh'}
        Grey scale of the image (:func:`~astromask.visual.normalizer`).
    alpha : float
        Opacity of the plane colours.
    colors : dict of str to colour, optional
        Colours for some planes (any matplotlib colour); the others take the
        next :data:`~astromask.visual.PALETTE` colour, the same colour for the
        same plane in every panel.
    titles : list of str, optional
        Panel titles.
    ncols : int, optional
        Panels per row (default: a near-square grid).
    panel_size : float
        Width of each image panel in inches (a legend of the planes and their
        pixel counts sits to its right).
    dpi : float
        Figure resolution; the figure size is a whole number of pixels at this
        resolution, which is the size of the saved picture.
    max_size : int, optional
        Longest side, in display pixels, an image is drawn with; larger ones
        are shown in blocks (image averaged, a plane drawn where any pixel
        of the block is set, so single masked pixels stay visible). Default:
        the smallest blocks that give each block at least one screen pixel
        in the laid-out figure.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot; save it with ``fig.savefig("out.png")``.

    Examples
    --------
    >>> import numpy as np
    >>> from astromask import Mask, get_schema
    >>> m = Mask((50, 60), get_schema("rubin")); m.set("SAT", np.s_[10:20, 10:30])
    >>> fig = show_figure(np.random.default_rng(0).normal(size=(50, 60)), m)
    >>> image_axes, legend_axes = fig.axes
    >>> [t.get_text() for t in legend_axes.get_legend().get_texts()]
    ['SAT: 200 px (6.67%)']
    """
    matplotlib = _require_matplotlib()
    from matplotlib.figure import Figure

    panels = as_panels(data, mask, titles=titles)
    chosen = select_planes([p.mask for p in panels], planes)
    names = [n for names in chosen for n in names]
    given = {k: matplotlib.colors.to_rgb(v) for k, v in (colors or {}).items()}
    colours = plane_colours(names, given)
    nrows, ncols = _grid(len(panels), ncols)
    aspect = max(min(max(p.shape[0] / p.shape[1], 0.25), 4.0) for p in panels)
    legend = _LEGEND_WIDTH if any(p.mask is not None for p in panels) else 0.0
    inches = (ncols * (panel_size + legend), nrows * (panel_size * aspect + _TITLE_HEIGHT))
    figsize = tuple(round(size * dpi) / dpi for size in inches)  # a whole number of pixels
    fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
    cells = fig.add_gridspec(nrows, ncols)
    axes, legend_axes = [], []
    for i, panel in enumerate(panels):
        cell = cells[i // ncols, i % ncols]
        if legend:
            halves = cell.subgridspec(1, 2, width_ratios=[panel_size, legend], wspace=0.0)
            cell, legend_cell = halves[0, 0], halves[0, 1]
        wcs = panel.celestial_wcs
        axes.append(fig.add_subplot(cell, **({"projection": wcs} if wcs is not None else {})))
        legend_axes.append(fig.add_subplot(legend_cell) if panel.mask is not None else None)
        if legend_axes[-1] is not None:
            legend_axes[-1].axis("off")
        _prepare_axes(axes[-1], panel)
    if max_size is None:
        factors = _block_factors(fig, axes, panels, int(0.8 * panel_size * dpi))
    else:
        factors = [pool_factor(p.shape, max_size) for p in panels]
    for ax, legend_ax, panel, names, factor in zip(axes, legend_axes, panels, chosen, factors):
        layers = make_layers(panel, names, stretch=stretch, factor=factor)
        _draw_panel(ax, panel, layers, colours, alpha)
        if legend_ax is not None:
            _draw_legend(legend_ax, layers, colours)
    return fig
