"""A self-contained HTML page of masks over images: one switchable layer per plane, counts and parameters.

The page (``DIR/index.html``) holds everything it shows: images are PNG
``data:`` URIs, style and scripts are inline, so it opens from disk with no
server and no network. Per input it shows the stretched image, one layer per
plane (a check box shows or hides it; a slider sets the layers' opacity), a
table of pixel counts and fractions per plane, and the parameters that made
the mask: those the caller passes (``parameters=``, as ``astromask`` commands
do) and those found in the files' headers (MaxiMask ``MM_*``/``<class>_TH``
cards, DECam Community Pipeline masking cards, astromask ``HISTORY`` lines).

Large images are shown in blocks (image averaged, a plane drawn where any
pixel of the block is set), as by :func:`astromask.visual.show_figure`.
"""

from __future__ import annotations

import base64
import html
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from . import __version__
from .errors import AstromaskError, OutputExistsError, ParameterError
from .progress import progress
from .visual.assets import CONTROL_SCRIPT, ERROR_SCRIPT, STYLE
from .visual.figure import format_fraction
from .visual.layers import Layers, make_layers, plane_colours, select_planes
from .visual.panels import Panel, as_panels, read_panels
from .visual.png import encode_png

__all__ = ["report_html", "write_report"]

log = logging.getLogger("astromask")

_MASK_ONLY_GREY = 0.12  # background of a mask drawn without its image
_MIN_WIDTH = 600  # CSS pixels: small images are enlarged (pixelated) to at least this width


def _data_uri(pixels: np.ndarray) -> str:
    return "data:image/png;base64," + base64.b64encode(encode_png(pixels)).decode("ascii")


def _grey_png(layers: Layers) -> str:
    """The stretched image as an 8-bit grey PNG, high y at the top; non-finite pixels black."""
    grey = np.full(layers.display_shape, _MASK_ONLY_GREY) if layers.grey is None else layers.grey
    values = np.round(np.nan_to_num(grey, nan=0.0) * 255).astype(np.uint8)
    return _data_uri(values[::-1])


def _plane_png(plane: np.ndarray, colour: tuple) -> str:
    """One plane as an RGBA PNG: opaque ``colour`` where set, transparent elsewhere (high y at the top)."""
    rgba = np.zeros((*plane.shape, 4), np.uint8)
    rgba[plane] = [*(round(255 * c) for c in colour), 255]
    return _data_uri(rgba[::-1])


def _hex(colour: tuple) -> str:
    return "#" + "".join(f"{round(255 * c):02x}" for c in colour)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _controls(pid: str, layers: Layers, colours: Mapping[str, tuple]) -> str:
    if not layers.planes:
        return '<div class="controls"><p class="note">no mask plane to draw</p></div>'
    boxes = "".join(
        f'<label class="plane"><input type="checkbox" class="plane" data-layer="{pid}-{_e(n)}" checked>'
        f'<span class="swatch" style="background:{_hex(colours[n])}"></span>{_e(n)} '
        f"<small>({layers.counts[n]:,} px)</small></label>"
        for n in layers.planes
    )
    return (
        f'<div class="controls"><strong>mask planes</strong>{boxes}'
        f'<button type="button" data-panel="{pid}" data-action="all">all</button>'
        f'<button type="button" data-panel="{pid}" data-action="none">none</button>'
        f'<label>opacity <input type="range" class="opacity" data-panel="{pid}" min="0" max="100" value="60">'
        "</label></div>"
    )


def _view(pid: str, layers: Layers, colours: Mapping[str, tuple]) -> str:
    height, width = layers.display_shape
    shown = min(max(width, _MIN_WIDTH), 1200)
    imgs = [f'<img class="base" alt="image" src="{_grey_png(layers)}">']
    on_top_last = sorted(layers.planes, key=lambda n: -layers.counts[n])  # small planes over large ones
    imgs += [
        f'<img class="layer" id="{pid}-{_e(n)}" alt="plane {_e(n)}" src="{_plane_png(layers.planes[n], colours[n])}">'
        for n in on_top_last
    ]
    stack = f'<div class="stack" style="width:{shown}px;aspect-ratio:{width}/{height}">{"".join(imgs)}</div>'
    return f'<div class="view">{stack}{_controls(pid, layers, colours)}</div>'


def _counts_table(panel: Panel, layers: Layers, colours: Mapping[str, tuple]) -> str:
    if panel.mask is None:
        return '<p class="note">no mask</p>'
    counts = panel.mask.counts()
    npix = layers.shape[0] * layers.shape[1]
    rows = []
    for bit, plane in panel.mask.schema.items():
        n = counts[plane.name]
        swatch = (
            f'<span class="swatch" style="background:{_hex(colours[plane.name])}"></span>'
            if (plane.name in layers.planes)
            else ""
        )
        row_class = "" if n else ' class="empty"'
        rows.append(
            f'<tr{row_class}><td>{swatch}{_e(plane.name)}</td><td class="num">{bit}</td>'
            f'<td class="num">{n:,}</td><td class="num">{format_fraction(n / npix)}</td>'
            f"<td>{_e(plane.description)}</td></tr>"
        )
    head = "<tr><th>plane</th><th>bit</th><th>pixels</th><th>fraction</th><th>description</th></tr>"
    return f'<table class="counts">{head}{"".join(rows)}</table>'


def _parameters_table(given: Mapping[str, object], found: Mapping[str, str]) -> str:
    rows = [(k, v, "given") for k, v in given.items()] + [(k, v, "file header") for k, v in found.items()]
    if not rows:
        return '<p class="note">no parameters recorded</p>'
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td><td>{_e(s)}</td></tr>" for k, v, s in rows)
    return f'<table class="params"><tr><th>parameter</th><th>value</th><th>source</th></tr>{body}</table>'


def _section(i: int, panel: Panel, layers: Layers, colours: Mapping[str, tuple], given: Mapping, stretch: str) -> str:
    pid = f"p{i}"
    ny, nx = layers.shape
    meta = [f"{nx}×{ny} pixels (width × height)", f"stretch: {stretch}" if panel.image is not None else "mask only"]
    if layers.note:
        meta.append(layers.note)
    if panel.celestial_wcs is not None:
        meta.append("celestial WCS")
    return (
        f'<section class="panel" id="{pid}"><h2>{_e(panel.title)}</h2><p class="meta">{_e(" · ".join(meta))}</p>'
        f"{_view(pid, layers, colours)}<h3>pixels per plane</h3>{_counts_table(panel, layers, colours)}"
        f"<h3>parameters that made the mask</h3>{_parameters_table(given, panel.parameters)}</section>"
    )


def _given_parameters(parameters, n: int) -> list[Mapping[str, object]]:
    if parameters is None:
        return [{}] * n
    if isinstance(parameters, Mapping):
        return [parameters] * n
    parameters = list(parameters)
    if len(parameters) != n:
        raise ParameterError(f"got {len(parameters)} parameter sets for {n} inputs; give one mapping or one per input")
    return parameters


def report_html(
    panels: Sequence[Panel],
    *,
    parameters=None,
    planes=None,
    stretch: str = "zscale",
    title: str = "astromask report",
    max_size: int | None = 1200,
) -> str:
    """The HTML text of a report on ``panels`` (see :func:`write_report` for the arguments).

    ``parameters`` is ``None``, one mapping for every panel, or one mapping per panel.
    """
    panels = list(panels)
    if not panels:
        raise ParameterError("a report needs at least one input")
    given = _given_parameters(parameters, len(panels))
    chosen = select_planes([p.mask for p in panels], planes)
    colours = plane_colours([n for names in chosen for n in names])
    sections = []
    for i, (panel, names) in enumerate(progress(list(zip(panels, chosen)))):
        layers = make_layers(panel, names, stretch=stretch, max_size=max_size)
        sections.append(_section(i, panel, layers, colours, given[i], stretch))
        log.info("report: %s (%d planes drawn)", panel.title, len(names))
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title)}</title><script>{ERROR_SCRIPT}</script><style>{STYLE}</style></head><body>"
        f'<h1>{_e(title)}</h1><p class="note">{len(panels)} image(s) · made by astromask {_e(__version__)} · '
        "tick a plane to show or hide it · everything is in this file (no network needed)</p>"
        f"{''.join(sections)}<script>{CONTROL_SCRIPT}</script></body></html>\n"
    )


def _panels(inputs, masks, hdus) -> tuple[list[Panel], list[int]]:
    """Panels of every input and, for each panel, the index of the input it came from."""
    items = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    masks = list(masks) if isinstance(masks, (list, tuple)) else [masks] * len(items)
    if len(masks) != len(items):
        raise ParameterError(f"got {len(masks)} masks for {len(items)} inputs; give one mask or one per input")
    panels, origin = [], []
    for i, (item, mask) in enumerate(progress(list(zip(items, masks)))):
        if isinstance(item, (str, os.PathLike)):
            new = read_panels(item, masks=mask, hdus=hdus)
        else:
            new = as_panels(item, mask, titles=[f"input {i + 1}"])
        panels += new
        origin += [i] * len(new)
    return panels, origin


def write_report(
    inputs,
    outdir: str | os.PathLike,
    *,
    masks=None,
    hdus=None,
    parameters=None,
    planes=None,
    stretch: str = "zscale",
    title: str = "astromask report",
    max_size: int | None = 1200,
    overwrite: bool = False,
) -> Path:
    """Write ``outdir/index.html``: a self-contained page showing each input's mask planes.

    Parameters
    ----------
    inputs : file name, MaskedImage, Mask, 2-D array, Panel, or a list of them
        Files are read with :func:`astromask.visual.read_panels` (any format,
        CFITSIO selectors allowed); objects with :func:`astromask.visual.as_panels`.
    outdir : str or path
        Directory to write ``index.html`` in (made when missing).
    masks : mask file / Mask / boolean array, or a list (one per input), optional
        Masks to draw instead of the inputs' own (e.g. a MaxiMask cube over
        the image it was made from).
    hdus : 'all' or list of HDUs, optional
        HDUs of each input file to show as separate images.
    parameters : mapping, or a list of mappings (one per input), optional
        How the masks were made (shown in each input's parameter table beside
        those found in the file headers); commands pass their options here.
    planes : flag expression, optional
        Planes to draw (default: every plane with a pixel set).
    stretch : {'zscale', 'asinh'}
        Grey scale of the images.
    title : str
        Page title.
    max_size : int, optional
        Longest side in display pixels before an image is shown in blocks.
    overwrite : bool
        Replace an existing ``index.html``.

    Returns
    -------
    pathlib.Path
        The page written.

    Examples
    --------
    >>> import numpy as np, tempfile
    >>> from astromask import Mask, get_schema
    >>> m = Mask((40, 50), get_schema("rubin")); m.set("CR", np.s_[5:8, 5:9])
    >>> page = write_report(np.zeros((40, 50)), tempfile.mkdtemp(), masks=m, parameters={"nsigma": 5})
    >>> page.name, "nsigma" in page.read_text()
    ('index.html', True)
    """
    outdir = Path(outdir)
    if outdir.exists() and not outdir.is_dir():
        raise AstromaskError(f"{outdir}: exists and is not a directory")
    page = outdir / "index.html"
    if page.exists() and not overwrite:
        raise OutputExistsError(str(page))
    panels, origin = _panels(inputs, masks, hdus)
    per_input = _given_parameters(parameters, max(origin) + 1)
    text = report_html(
        panels, parameters=[per_input[i] for i in origin], planes=planes, stretch=stretch, title=title,
        max_size=max_size,
    )  # fmt: skip
    outdir.mkdir(parents=True, exist_ok=True)
    partial = outdir / f".index.html.{os.getpid()}.tmp"
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, page)
    log.info("wrote %s (%d images, %.1f MB)", page, len(panels), len(text) / 1e6)
    return page
