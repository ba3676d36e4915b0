"""ds9 and CASA (CRTF) region files through the astropy ``regions`` package.

``regions`` parses the files; astromask adds what it lacks for masks:

* **exclusions** (``-circle(...)``, ``include=0``), which ``regions`` reads but
  ignores in ``contains``/``to_mask``, are honoured with the ds9/funtools rule:
  the mask is the OR of the include shapes minus the OR of the exclude shapes
  (the whole image when a file has only exclusions);
* ds9's **physical** coordinate system (also the default when a file names
  none), which ``regions`` skips: shapes are read as image coordinates and
  mapped through the image's ``LTM``/``LTV``;
* CRTF files without ``coord=``: ``regions`` 0.12 makes *pixel* shapes out of
  their sky coordinates; astromask declares the image WCS's frame instead.

Pixels are selected by their centre with ``regions``' own boundary rule
(``to_mask(mode="center")``): a centre exactly on an outer edge is outside,
unlike CIAO's inclusive rule. ``point`` selects the pixel containing it;
``text`` and ``line`` select nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np

from .._optional import require
from ..errors import ParameterError, ParseError
from .frame import PixelFrame

__all__ = ["Ds9Region", "read_ds9"]

log = logging.getLogger("astromask")

_SYSTEMS = {"image", "physical", "fk4", "fk5", "icrs", "galactic", "ecliptic", "j2000", "b1950", "wcs"}
_UNSUPPORTED_SYSTEMS = {"linear", "amplifier", "detector"}


def _is_setting(line: str) -> bool:
    """A line that sets up the shapes after it (header, comment, ``global``, coordinate system)."""
    low = line.strip().lower()
    return low.startswith(("global", "#")) or low.rstrip(";") in _SYSTEMS


_CRTF_FRAMES = {"icrs": "ICRS", "fk5": "J2000", "fk4": "B1950", "galactic": "GALACTIC"}


def _regions_package():
    return require("regions", needed_for="ds9/CRTF region files")


@dataclass(frozen=True)
class Ds9Region:
    """The text of a ds9 or CRTF region file, turned into masks on demand.

    Parameters
    ----------
    text : str
        File content.
    format : {'ds9', 'crtf'}
    where : str
        Name used in error messages.

    Examples
    --------
    >>> r = Ds9Region("image\\ncircle(5,5,3)\\n-circle(5,5,1)\\n")
    >>> m = r.mask((9, 9))
    >>> int(m.sum()), bool(m[4, 4]), bool(m[4, 6])
    (24, False, True)
    """

    text: str
    format: str = "ds9"
    where: str = "region"

    def _chunks(self) -> list[tuple[str, str]]:
        """``[(system, text)]``: consecutive ds9 shapes sharing a coordinate system."""
        globals_, chunks = [], []
        system = "physical"  # ds9's default
        for raw in self.text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.lower().startswith("global"):
                globals_.append(line)
                continue
            for part in _split_shapes(line):
                low = part.lower()
                if low in _SYSTEMS:
                    system = low
                elif low in _UNSUPPORTED_SYSTEMS:
                    raise ParameterError(f"{self.where}: ds9 coordinate system {part!r} is not supported")
                elif chunks and chunks[-1][0] == system:
                    chunks[-1][1].append(part)
                else:
                    chunks.append((system, [part]))
        head = "\n".join(globals_)
        return [
            (system, f"{head}\n{'image' if system == 'physical' else system}\n" + "\n".join(lines))
            for system, lines in chunks
        ]

    def shapes(self, frame: PixelFrame | None = None) -> list[tuple[object, bool]]:
        """``[(PixelRegion, include)]`` in 0-based image pixels (sky shapes through the frame's WCS)."""
        regions = _regions_package()
        frame = frame or PixelFrame()
        out = []
        if self.format == "crtf":
            parsed = [(None, r) for r in self._parse(regions, self._crtf_text(frame), "crtf")]
        else:
            parsed = [(system, r) for system, text in self._chunks() for r in self._parse(regions, text, "ds9")]
        for number, (system, region) in enumerate(parsed, start=1):
            include = bool(region.meta.get("include", True))
            if isinstance(region, regions.SkyRegion):
                if frame.wcs is None:
                    raise ParameterError(f"{self.where}: sky regions need an image with a sky WCS")
                sky = region
                try:
                    region = sky.to_pixel(frame.wcs)
                except (ValueError, np.linalg.LinAlgError):
                    region = None
                if region is None or not _finite(region):  # the far side of a TAN projection, say
                    projection = "/".join(frame.wcs.wcs.ctype) if frame.wcs.wcs.ctype[0] else "WCS"
                    log.warning(
                        "%s: shape %d (%s at %s) lies beyond the image's %s projection; it selects no pixel",
                        self.where,
                        number,
                        type(sky).__name__.removesuffix("SkyRegion").lower() or "shape",
                        _where_on_sky(sky),
                        projection,
                    )
                    continue
            elif system == "physical":
                region = _physical_to_image(region, frame, regions)
            out.append((region, include))
        return out

    def _parse(self, regions, text: str, format: str) -> list:
        """``regions.Regions.parse``; text it cannot read is a ParseError naming the line and the shape.

        The regions package gives no position and fails in several types (a ds9 ``box(1,2,3`` ends in a
        TypeError), so the failing line is found by parsing the lines one at a time.
        """
        try:
            return list(regions.Regions.parse(text, format=format))
        except MemoryError:
            raise
        except Exception as whole:  # the regions package on the user's text: see above
            lines = text.splitlines()
            head = [line for line in lines if _is_setting(line)]
            for line in lines:
                if not line.strip() or _is_setting(line):
                    continue
                try:
                    regions.Regions.parse("\n".join([*head, line]), format=format)
                except MemoryError:
                    raise
                except Exception as exc:
                    raise self._located(line, exc) from None
            raise self._located(lines[-1] if lines else "", whole) from None

    def _located(self, shape: str, exc: Exception) -> ParseError:
        """The error for ``shape``, at its line and column in the file's own text."""
        shape = shape.strip()
        for number, raw in enumerate(self.text.splitlines(), start=1):
            if shape and shape in raw:
                where, text, column = f"{self.where}, line {number}", raw, raw.index(shape) + 1
                break
        else:
            where, text, column = self.where, shape, 1
        why = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        return ParseError(f"{self.format} shape cannot be read ({why})", text, column, where=where)

    def _crtf_text(self, frame: PixelFrame) -> str:
        """The CRTF text with ``coord=`` (the image WCS's frame) on sky shapes that name none."""
        if frame.wcs is None or re.search(r"^\s*global\b.*\bcoord\s*=", self.text, flags=re.I | re.M):
            return self.text
        from astropy.wcs.utils import wcs_to_celestial_frame

        name = _CRTF_FRAMES.get(wcs_to_celestial_frame(frame.wcs).name, "J2000")
        lines = []
        for line in self.text.splitlines():
            body = line.strip()
            geometry = body[: body.rfind("]") + 1]
            if (
                geometry
                and not body.startswith("#")
                and "pix" not in geometry
                and not re.search(r"\bcoord\s*=", body, flags=re.I)
            ):
                line = f"{line.rstrip()}, coord={name}"
            lines.append(line)
        return "\n".join(lines) + "\n"

    def mask(self, shape: tuple[int, int], *, header=None, wcs=None, frame: PixelFrame | None = None) -> np.ndarray:
        """Boolean image, True where the pixel centre is in the region (see the module docstring)."""
        regions = _regions_package()
        frame = frame or PixelFrame.from_header(header, wcs=wcs)
        ny, nx = shape
        include = np.zeros((ny, nx), dtype=bool)
        exclude = np.zeros((ny, nx), dtype=bool)
        any_include = False
        for region, inc in self.shapes(frame):
            target = include if inc else exclude
            any_include |= inc
            if isinstance(region, (regions.TextPixelRegion, regions.LinePixelRegion)):
                log.info("%s: %s selects no pixels (not an area)", self.where, type(region).__name__)
            elif isinstance(region, regions.PointPixelRegion):
                i, j = int(np.floor(region.center.x + 0.5)), int(np.floor(region.center.y + 0.5))
                if 0 <= i < nx and 0 <= j < ny:
                    target[j, i] = True
            else:
                image = region.to_mask(mode="center").to_image((ny, nx))
                if image is not None:
                    target |= image.astype(bool)
        base = include if any_include else np.ones((ny, nx), dtype=bool)
        return base & ~exclude


def _where_on_sky(region) -> str:
    centre = getattr(region, "center", None)
    if centre is None:
        vertices = getattr(region, "vertices", None)
        centre = vertices[0] if vertices is not None else None
    try:
        return f"{centre.frame.name} {centre.to_string('decimal')}"
    except (AttributeError, ValueError):
        return "?"


def _finite(region) -> bool:
    """Whether a pixel region's centre, vertices and sizes are all finite numbers."""
    values = []
    for name in ("center", "start", "end"):
        point = getattr(region, name, None)
        if point is not None:
            values += [point.x, point.y]
    vertices = getattr(region, "vertices", None)
    if vertices is not None:
        values += list(np.ravel(vertices.x)) + list(np.ravel(vertices.y))
    for name in ("radius", "width", "height", "inner_radius", "outer_radius", "inner_width", "outer_width"):
        value = getattr(region, name, None)
        if value is not None:
            values.append(value)
    return bool(np.all(np.isfinite(np.asarray(values, dtype=float)))) if values else True


def _split_shapes(line: str) -> list[str]:
    """ds9 allows ``fk5;circle(...);box(...) # comment``: split at ``;`` before the comment."""
    body, hashmark, comment = line.partition("#")
    parts = [p.strip() for p in body.split(";") if p.strip()]
    if hashmark and parts:
        parts[-1] = f"{parts[-1]} #{comment}"
    return parts


def _physical_to_image(region, frame: PixelFrame, regions):
    """Map a shape read in ds9 physical coordinates (0-based, as ``regions`` stores them) to image pixels."""
    (a, b), (c, d) = frame.ltm
    if b != 0 or c != 0 or a != d or a <= 0:
        raise ParameterError(f"ds9 physical regions need an LTM that scales both axes equally, got {frame.ltm}")
    changes = {}
    for name in region._params:
        value = getattr(region, name)
        if isinstance(value, regions.PixCoord):
            changes[name] = regions.PixCoord(a * (value.x + 1) + frame.ltv[0] - 1, a * (value.y + 1) + frame.ltv[1] - 1)
        elif isinstance(value, (int, float, np.floating)):
            changes[name] = value * a
    return region.copy(**changes)


def read_ds9(path: str, *, format: str | None = None) -> Ds9Region:
    """Read a ds9 or CRTF region file (format from its content unless given)."""
    from .files import region_file_kind

    format = format or region_file_kind(path)
    if format not in ("ds9", "crtf"):
        raise ParameterError(f"{path}: not a ds9 or CRTF region file (looks like {format})")
    with open(path, encoding="utf-8") as f:
        return Ds9Region(f.read(), format, path)
