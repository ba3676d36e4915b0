"""What one picture shows: an image and/or a mask, its WCS, a title and the parameters that made the mask.

:class:`Panel` is the common input of :func:`~astromask.visual.show_figure`
and :func:`~astromask.report.write_report`. :func:`as_panels` builds panels
from objects (arrays, :class:`~astromask.Mask`, :class:`~astromask.MaskedImage`),
:func:`read_panels` from files (one panel per HDU asked for, a separate mask
file allowed, the mask-making parameters taken from the headers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..core.presets import get_schema
from ..errors import FormatError, ParameterError, ParameterTypeError
from ..io import is_healpix_file, read
from ..io import open as open_source
from ..io.fitsfile import find_hdu, open_fits, parse_fits_name

__all__ = ["Panel", "as_panels", "header_parameters", "parse_hdus", "read_panels"]

#: Header cards of the DECam Community Pipeline that record how its data-quality mask was made.
DECAM_MASK_CARDS = (
    "BPM", "BPMFIL", "DESBPM", "SATURATE", "SATURATA", "SATURATB", "DESSAT", "NSATPIX",
    "DESBLEED", "NBLEED", "STARMASK", "STARFIL", "DESSTAR", "DESCRMSK", "ILLMASK",
)  # fmt: skip
#: MaxiMask run cards (each class's ``<A>_PR`` prior and ``<A>_TH`` threshold are read besides).
MAXIMASK_CARDS = ("MM_UTC", "PRIORS", "THRESH", "SMASK")


@dataclass
class Panel:
    """One picture: an image and/or a mask on the same pixel grid.

    Parameters
    ----------
    title : str
        What the picture is (a file name, an HDU).
    image : 2-D float array or None
        Pixel values; ``None`` draws the mask on a dark background.
    mask : Mask or None
        The planes to overlay.
    wcs : astropy.wcs.WCS or None
        Celestial WCS of the grid (gives sky axes).
    parameters : dict of str to str
        How the mask was made (shown by the HTML report).
    """

    title: str
    image: np.ndarray | None = None
    mask: Mask | None = None
    wcs: WCS | None = None
    parameters: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.image is None and self.mask is None:
            raise ParameterError(f"panel {self.title!r} needs an image, a mask or both")
        if self.image is not None:
            self.image = np.asarray(self.image)
            if self.image.ndim != 2:
                raise ParameterError(f"panel {self.title!r}: image must be 2-D, got shape {self.image.shape}")
        if self.image is not None and self.mask is not None and self.mask.shape != self.image.shape:
            raise ParameterError(
                f"panel {self.title!r}: mask shape {self.mask.shape} differs from image shape {self.image.shape}"
            )

    @property
    def shape(self) -> tuple[int, int]:
        return self.image.shape if self.image is not None else self.mask.shape

    @property
    def celestial_wcs(self) -> WCS | None:
        """The celestial part of the WCS, or ``None`` when there is none."""
        if self.wcs is None or not self.wcs.has_celestial:
            return None
        return self.wcs.celestial


def _as_mask(mask) -> Mask | None:
    """A :class:`Mask` from a Mask, a MaskedImage or a boolean array (plane ``MASKED``)."""
    if mask is None or isinstance(mask, Mask):
        return mask
    if isinstance(mask, MaskedImage):
        return mask.mask
    array = np.asarray(mask)
    if array.dtype != bool:
        raise ParameterTypeError(f"mask must be a Mask, a MaskedImage or a boolean array, got {array.dtype} array")
    return Mask.from_bool(array, "MASKED")


def _panel(data, mask, title: str) -> Panel:
    if isinstance(data, Panel):
        return data if mask is None else Panel(data.title, data.image, _as_mask(mask), data.wcs, data.parameters)
    if isinstance(data, MaskedImage):
        return Panel(title, data.image, _as_mask(mask) or data.mask, data.wcs)
    if isinstance(data, Mask):
        if mask is not None:
            raise ParameterError(f"panel {title!r}: data is already a mask; give an image to draw a mask over")
        return Panel(title, None, data)
    return Panel(title, np.asarray(data, dtype=float), _as_mask(mask))


def as_panels(data, mask=None, *, titles: Sequence[str] | None = None) -> list[Panel]:
    """Panels from images, masks and masked images.

    Parameters
    ----------
    data : MaskedImage, Mask, 2-D array, Panel, or a list of them
        One item per panel.
    mask : Mask, MaskedImage, boolean array, or a list of them, optional
        The mask to overlay on each item (one for all, or one per item);
        replaces a masked image's own mask. A boolean array becomes plane
        ``MASKED``.
    titles : list of str, optional
        One title per item (default ``"panel 1"``, ...).

    Returns
    -------
    list of Panel

    Examples
    --------
    >>> [p.title for p in as_panels([np.zeros((2, 2)), np.ones((2, 2))], np.eye(2, dtype=bool))]
    ['panel 1', 'panel 2']
    """
    items = list(data) if isinstance(data, (list, tuple)) else [data]
    masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * len(items)
    if len(masks) != len(items):
        raise ParameterError(f"got {len(masks)} masks for {len(items)} images; give one mask or one per image")
    titles = list(titles) if titles is not None else [f"panel {i + 1}" for i in range(len(items))]
    if len(titles) != len(items):
        raise ParameterError(f"got {len(titles)} titles for {len(items)} images")
    return [_panel(d, m, t) for d, m, t in zip(items, masks, titles)]


# -- files ------------------------------------------------------------------------------------------


def header_parameters(header: fits.Header) -> dict[str, str]:
    """The cards of a header that say how its mask was made.

    Recognised: MaxiMask run cards (``MM_UTC``, ``PRIORS``, ``THRESH``,
    ``SMASK``, and each class's ``<A>_PR`` prior and ``<A>_TH`` threshold,
    given together as ``'<A> prior, threshold'``), DECam Community Pipeline
    masking cards (``BPM``, ``SATURATE``, ``DESBLEED``, ``STARMASK``,
    ``DESCRMSK``, ...) and ``HISTORY`` lines written by astromask commands.
    Single cards keep their comment.

    Examples
    --------
    >>> h = fits.Header([("MM_UTC", "2026"), ("CR_PR", "0.00"), ("CR_TH", "0.43"), ("OBJECT", "M13")])
    >>> header_parameters(h)
    {'MM_UTC': '2026', 'CR prior, threshold': '0.00, 0.43'}
    """
    out = {}
    maximask = "MM_UTC" in header
    for key in (MAXIMASK_CARDS if maximask else ()) + DECAM_MASK_CARDS:
        if key in header:
            value, comment = str(header[key]).strip(), header.comments[key].strip()
            out[key] = f"{value} ({comment})" if comment else value
    if maximask:
        for name in [p.name for p in get_schema("maximask")] + ["BG"]:
            if f"{name}_PR" in header or f"{name}_TH" in header:
                values = (str(header.get(f"{name}_{s}", "-")).strip() for s in ("PR", "TH"))
                out[f"{name} prior, threshold"] = ", ".join(values)
    history = [str(h) for h in header.get("HISTORY", []) if str(h).startswith("astromask")]
    out.update({f"HISTORY {i + 1}": line for i, line in enumerate(history)})
    return out


def parse_hdus(text: str | None) -> list | None:
    """``'all'``, or a comma list of HDU numbers and names (``'1,2'``, ``'ccd1,ccd3'``); ``None`` stays ``None``."""
    if text is None:
        return None
    tokens = [t.strip() for t in str(text).split(",") if t.strip()]
    if not tokens:
        raise ParameterError("--hdu needs 'all' or a comma list of HDU numbers or names")
    if [t.lower() for t in tokens] == ["all"]:
        return ["all"]
    return [int(t) if t.isdigit() else t for t in tokens]


def _hdu_indices(path: str, hdus: list) -> tuple[str, list[tuple[int, str]]]:
    """The format of ``path`` and ``(index, label)`` of the HDUs to draw (``['all']``: every image, else every mask).

    The label is the HDU's EXTNAME, or its index when it has none.
    """
    with open_source(path) as source:
        hdul, fmt = source.hdul, source.format
        if hdus == ["all"]:
            rows = source.describe()
            kind = next((k for k in ("image", "mask") if any(r["kind"] == k for r in rows)), None)
            if kind is None:
                raise FormatError("holds no image or mask HDU", path=path)
            indices = [r["index"] for r in rows if r["kind"] == kind]
        else:
            indices = [find_hdu(hdul, h, path) for h in hdus]
        return fmt, [(i, str(hdul[i].header.get("EXTNAME", "")).strip() or str(i)) for i in indices]


def _file_parameters(path: str, index: int | None) -> dict[str, str]:
    """Mask-making parameters from the primary header and the HDU read (every HDU when not known)."""
    with open_fits(path) as hdul:
        chosen = range(len(hdul)) if index is None else sorted({0, index})
        params: dict[str, str] = {}
        for i in chosen:
            params.update(header_parameters(hdul[i].header))
    return params


def _read_one(name: str, fmt: str | None, hdu) -> tuple[MaskedImage | Mask, dict[str, str]]:
    parsed = parse_fits_name(name)
    obj = read(parsed.path if hdu is not None else name, format=fmt, hdu=hdu)
    index = hdu if hdu is not None else parsed.hdu
    if index is not None and not isinstance(index, int):  # a name in a CFITSIO selector
        with open_fits(parsed.path) as hdul:
            index = find_hdu(hdul, index, parsed.path)
    return obj, _file_parameters(parsed.path, index)


def read_panels(
    names: str | Sequence[str],
    *,
    masks: str | Sequence[str] | None = None,
    hdus: str | Sequence | None = None,
    view: str = "gnomonic",
) -> list[Panel]:
    """Read files into panels: one per file, or one per HDU asked for.

    Parameters
    ----------
    names : str or list of str
        Image, masked-image or mask files in any format :func:`astromask.io.read`
        knows (CFITSIO ``[ext]`` selectors allowed). A file holding only a mask
        (a MaxiMask cube, a DQ file) is drawn on a dark background.
    masks : str or list of str, optional
        Mask files drawn over the images instead of their own masks: one for
        every image, or one per image. A MaxiMask output cube is the mask of
        the image MaxiMask read.
    hdus : 'all', or a list of HDU numbers / names, optional
        HDUs of each file to draw as separate panels; ``'all'`` draws every
        image HDU (or, in a file holding only masks, every mask HDU).
    view : {'gnomonic', 'mollweide'}
        How a HEALPix map (``astromask healpix``) is drawn: zoomed on its covered pixels, or the
        whole sky (:func:`astromask.sky.healpix.rasterize`); its planes and ``COVERED`` are the mask.

    Returns
    -------
    list of Panel
        With the parameters found in the image's and mask's headers.
    """
    names = [names] if isinstance(names, (str, os.PathLike)) else list(names)
    masks = [masks] * len(names) if isinstance(masks, (str, os.PathLike)) or masks is None else list(masks)
    if len(masks) == 1 and len(names) > 1:
        masks = masks * len(names)
    if len(masks) != len(names):
        raise ParameterError(f"got {len(masks)} mask files for {len(names)} images; give one or one per image")
    hdus = parse_hdus(hdus) if isinstance(hdus, str) else (list(hdus) if hdus is not None else None)
    panels = []
    for name, mask_name in zip(names, masks):
        name = os.fspath(name)
        if is_healpix_file(name):
            from ..sky.healpix import HealpixMasks, rasterize

            footprint = HealpixMasks.read(name)
            mask, wcs = rasterize(footprint, view=view)
            title = f"{os.path.basename(name)} (HEALPix nside {footprint.nside}, {view})"
            panels.append(Panel(title, None, mask, wcs))
            continue
        if hdus is not None and parse_fits_name(name).hdu is not None:
            raise ParameterError(f"{name}: HDU given twice (in the name and with --hdu)")
        if hdus is None:
            with open_source(name) as source:  # a file of several HDUs is drawn whole, one panel each
                several = [(source.format, i, label) for i, label in zip(source.units(), source.labels())]
                several = several if source.several else []
            base = os.path.basename(name)
            targets = [(fmt, i, f"{base}[{label}]") for fmt, i, label in several] or [(None, None, base)]
        else:
            fmt, found = _hdu_indices(parse_fits_name(name).path, hdus)
            targets = [(fmt, i, f"{os.path.basename(name)}[{label}]") for i, label in found]
        for fmt, hdu, title in targets:
            panels.append(
                _file_panel(name, fmt, hdu, title, _same_hdu(mask_name, title) if hdu is not None else mask_name)
            )
    return panels


def _same_hdu(mask_name: str | os.PathLike | None, title: str) -> str | None:
    """The mask file for one HDU of an image file: its HDU of the same name when it holds several."""
    if mask_name is None:
        return None
    with open_source(os.fspath(mask_name)) as source:
        if not source.several:
            return os.fspath(mask_name)
    return f"{os.fspath(mask_name)}[{title.rsplit('[', 1)[1].rstrip(']')}]"


def _file_panel(name: str, fmt: str | None, hdu: int | None, title: str, mask_name: str | None) -> Panel:
    obj, params = _read_one(name, fmt, hdu)
    if mask_name is None:
        panel = _panel(obj, None, title)
    else:
        mask_obj, mask_params = _read_one(os.fspath(mask_name), None, None)
        if isinstance(obj, Mask):
            raise FormatError("holds a mask, not an image to draw --mask over", path=name)
        mask = mask_obj.mask if isinstance(mask_obj, MaskedImage) else mask_obj
        if mask.shape != obj.shape:
            raise FormatError(
                f"mask shape {mask.shape} differs from the image's {obj.shape} ({name})", path=os.fspath(mask_name)
            )
        panel = _panel(obj, mask, f"{title} + {os.path.basename(os.fspath(mask_name))}")
        params = {**params, **mask_params}
    panel.parameters = params
    return panel
