"""The data subspace: what a filtered block was filtered by, in CIAO's header keywords.

A subspace is an OR of *components*; a component is an AND of *descriptors*,
one per filter on a column (several on one column are ANDed). CIAO writes
descriptor ``n`` of component 1 as::

    DSTYPn = 'sky'                      column, vector (sky) or pair '(time,pi)'
    DSVALn = 'TABLE'                    or ranges '10:200,300:', or a region 'Circle(4096,4096,20)'
    DSREFn = ':MASK'                    the block holding the mask (with DSVALn = 'TABLE')
    DSFORMn, DSUNITn                    the column's TFORM letter and unit (optional)

and component ``k > 1`` with the same keywords prefixed by ``k`` (``2DSTYP1``); ``DSFORMn`` and
``DSUNITn`` are left out where the prefix would make them longer than 8 characters.
Masks are stored as byte images of 0 and 1 in ``MASK`` extensions (``MASK2``,
``MASK3``... for further masks), inverted when the filter excluded them.

Ranges are written in the filter's own syntax: ``lo:hi`` (integer columns:
inclusive; real columns: ``lo <= v < hi``), ``v``, ``<v``, ``<=v``, ``>v``,
``>=v``, ``!=v``; an excluded range is written as its complement (one
descriptor per range, ANDed), so the record is exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from ..errors import ParameterError
from ..io.fitsfile import image_shape, is_image_hdu
from ..regions import parse
from ..syntax.filter import Range, format_number
from .masks import MaskImage
from .plan import MAX_COMPONENTS, ImageTarget, MaskTest, Plan, RangeTest, RegionTest, TableTarget

__all__ = [
    "Descriptor",
    "component_areas",
    "describe_subspace",
    "read_subspace",
    "record_filter",
    "stored_masks",
    "write_subspace",
]

_KEY = re.compile(r"^(\d*)DS(TYP|VAL|REF|FORM|UNIT)(\d+)$")
_FIELDS = {"TYP": "name", "VAL": "value", "REF": "ref", "FORM": "form", "UNIT": "unit"}


@dataclass(frozen=True)
class Descriptor:
    """One ``DSTYPn``/``DSVALn``/``DSREFn`` record."""

    name: str
    value: str
    ref: str | None = None
    form: str | None = None
    unit: str | None = None

    @property
    def block(self) -> str | None:
        """The block a ``TABLE`` descriptor refers to (``':MASK'`` → ``'MASK'``)."""
        if self.value.strip().upper() != "TABLE" or not self.ref:
            return None
        return self.ref.strip().lstrip(":").strip() or None

    @property
    def is_region(self) -> bool:
        return self.value.strip().upper() != "TABLE" and "(" in self.value

    def __str__(self) -> str:
        return f"{self.name} {self.value}" + (f" {self.ref}" if self.ref else "")


def read_subspace(header: fits.Header) -> list[list[Descriptor]]:
    """The subspace components of a header (``[]`` when it records none).

    Examples
    --------
    >>> h = fits.Header({"DSTYP1": "sky", "DSVAL1": "TABLE", "DSREF1": ":MASK", "2DSTYP1": "pi", "2DSVAL1": "1:9"})
    >>> [[str(d) for d in c] for c in read_subspace(h)]
    [['sky TABLE :MASK'], ['pi 1:9']]
    """
    found: dict[int, dict[int, dict]] = {}
    for key in header:
        m = _KEY.match(key)
        if m:
            component = int(m.group(1) or 1)
            found.setdefault(component, {}).setdefault(int(m.group(3)), {})[_FIELDS[m.group(2)]] = header[key]
    out = []
    for component in sorted(found):
        records = found[component]
        out.append(
            [
                Descriptor(
                    str(r["name"]).strip(),
                    str(r["value"]).strip(),
                    *(str(r[k]).strip() if k in r else None for k in ("ref", "form", "unit")),
                )
                for n, r in sorted(records.items())
                if "name" in r and "value" in r
            ]
        )
    return [c for c in out if c]


def write_subspace(header: fits.Header, components: list[list[Descriptor]]) -> fits.Header:
    """A copy of ``header`` whose subspace keywords record ``components`` (and nothing else)."""
    header = header.copy()
    for key in [k for k in header if _KEY.match(k)]:
        header.remove(key, remove_all=True)
    for k, component in enumerate(components, start=1):
        prefix = "" if k == 1 else str(k)
        for n, d in enumerate(component, start=1):
            if len(f"{prefix}DSTYP{n}") > 8:
                raise ParameterError(
                    f"subspace too large for FITS keywords: component {k} descriptor {n} "
                    f"would need the keyword {prefix}DSTYP{n}"
                )
            header[f"{prefix}DSTYP{n}"] = (d.name, "data subspace descriptor name")
            header[f"{prefix}DSVAL{n}"] = (d.value, "data subspace value")
            for field, value in (("REF", d.ref), ("FORM", d.form), ("UNIT", d.unit)):
                if value and len(f"{prefix}DS{field}{n}") <= 8:  # DSFORM/DSUNIT are optional
                    header[f"{prefix}DS{field}{n}"] = value
    return header


# -- from a plan -----------------------------------------------------------------------------------


def _complement(r: Range, integer: bool) -> list[str]:
    """``r``'s complement as ranges (an OR), in the filter syntax."""
    if r.op == "range":
        parts = []
        if r.lo is not None:
            parts.append(f"<{format_number(r.lo)}")
        if r.hi is not None:
            parts.append(f">{format_number(r.hi)}" if integer else f">={format_number(r.hi)}")
        return parts
    opposite = {"eq": "!=", "ne": "", "lt": ">=", "le": ">", "gt": "<=", "ge": "<"}[r.op]
    return [f"{opposite}{format_number(r.lo)}"]


def _range_descriptors(test: RangeTest) -> list[Descriptor]:
    column = test.column
    extra = {"form": column.form or None, "unit": column.unit or None}
    if not test.negated:
        return [Descriptor(column.name, ",".join(str(r) for r in test.ranges), **extra)]
    return [Descriptor(column.name, ",".join(_complement(r, column.integer)), **extra) for r in test.ranges]


def record_filter(header: fits.Header, plan: Plan, taken: set[str]) -> tuple[fits.Header, list[tuple[str, MaskImage]]]:
    """Add a plan to the subspace of a block header.

    The new components are the old ones ANDed with each component of the
    plan. Returns the new header and the ``(block name, mask)`` pairs to store
    (named ``MASK``, ``MASK2``, ... avoiding the names in ``taken``).
    """
    new = plan.components()
    if not new:
        return header.copy(), []
    names: dict[tuple[int, bool], str] = {}
    stored: list[tuple[str, MaskImage]] = []
    for test in plan.tests():
        if isinstance(test, MaskTest) and (id(test.mask), test.negated) not in names:
            name = next(
                n for n in (f"MASK{k}" if k > 1 else "MASK" for k in range(1, 10_000)) if n.upper() not in taken
            )
            taken.add(name.upper())
            names[(id(test.mask), test.negated)] = name
            stored.append((name, test.stored))
    components = []
    for old in read_subspace(header) or [[]]:
        for component in new:
            descriptors = list(old)
            for test in component:
                if isinstance(test, RangeTest):
                    descriptors.extend(_range_descriptors(test))
                elif isinstance(test, RegionTest):
                    descriptors.append(Descriptor(test.label, str(test.region), form=test.columns[0].form))
                else:
                    ref = ":" + names[(id(test.mask), test.negated)]
                    descriptors.append(Descriptor(test.label, "TABLE", ref, form=test.columns[0].form))
            components.append(descriptors)
    if len(components) > MAX_COMPONENTS:
        raise ParameterError(f"subspace too complex: more than {MAX_COMPONENTS} components")
    return write_subspace(header, components), stored


# -- reading back ----------------------------------------------------------------------------------


def stored_masks(hdul: fits.HDUList) -> dict[str, MaskImage]:
    """The image blocks a subspace can refer to, by upper-case name (``MASK``, ``MASK2``...)."""
    out = {}
    for i, hdu in enumerate(hdul):
        name = str(hdu.header.get("EXTNAME", "")).strip().upper()
        if i and name.startswith("MASK") and is_image_hdu(hdu):
            out[name] = MaskImage(hdu.data, hdu.header, name=name)
    return out


def _target(hdu, label: str):
    if isinstance(hdu, fits.BinTableHDU):
        return TableTarget(hdu.header, label)
    return ImageTarget(hdu.header, (int(hdu.header["NAXIS2"]), int(hdu.header["NAXIS1"])), label)


def _columns(target, name: str):
    m = re.match(r"^\(\s*(\w+)\s*,\s*(\w+)\s*\)$", name)
    pair = (m.group(1).lower(), m.group(2).lower()) if m else target.vector(name.lower())
    return None if pair is None else (target.column(pair[0]), target.column(pair[1]))


def _field(columns, component: list[Descriptor]):
    """The physical field of a column pair, or None.

    ``TLMINn``/``TLMAXn`` (± 0.5 for integer columns), else a ``lo:hi`` range
    descriptor of each column in the component (CIAO's images record their
    data's ``x``/``y`` ranges so).
    """
    if all(c.field is not None for c in columns):
        return tuple((c.field[0] - 0.5, c.field[1] + 0.5) if c.integer else c.field for c in columns)
    ranges = []
    for column in columns:
        found = [
            d.value
            for d in component
            if d.name.lower() == column.name and re.fullmatch(r"\s*[-+.\deE]+\s*:\s*[-+.\deE]+\s*", d.value)
        ]
        if not found:
            return None
        lo, hi = (float(v) for v in found[0].split(":"))
        ranges.append((lo, hi))
    return tuple(ranges)


def _box_area(box) -> float:
    return (box[0][1] - box[0][0]) * (box[1][1] - box[1][0])


def _mask_region_area(masks: list[MaskImage], regions) -> float:
    """Area of (mask ∩ other masks ∩ regions), counted on the first mask's pixel centres."""
    grid = masks[0]
    ny, nx = grid.shape
    total = 0
    step = max(1, (1 << 20) // max(nx, 1))
    for j0 in range(0, ny, step):
        j1 = min(ny, j0 + step)
        keep = grid.values[j0:j1].astype(bool)
        if not keep.any():
            continue
        lx = np.arange(1, nx + 1, dtype=float)[np.newaxis, :]
        ly = np.arange(j0 + 1, j1 + 1, dtype=float)[:, np.newaxis]
        px, py = (
            np.ravel(a)
            for a in grid.frame.to_physical(np.broadcast_to(lx, keep.shape), np.broadcast_to(ly, keep.shape))
        )
        keep = keep.ravel()
        for other in masks[1:]:
            keep &= other.contains(px, py)
        for region in regions:
            keep &= region.contains(px, py)
        total += int(keep.sum())
    return total * grid.pixel_area


def _region_area(region, field, extent) -> float | None:
    """The region's area in its field; without one, unclipped (or in the image's extent if unbounded)."""
    for box in (field,) if field is not None else (None, extent):
        try:
            return region.area(box)
        except ValueError:  # unbounded without a field
            continue
    return None


def component_areas(component: list[Descriptor], target, masks: dict[str, MaskImage]) -> list[dict]:
    """Field and region area of each two-column (region or mask) filter of a component.

    The field is the pair's ``TLMIN``/``TLMAX`` box, or its ``lo:hi`` range
    descriptors, else (images) the image's extent. The region area is that of
    the AND of the pair's descriptors: the regions' exact area within the
    field (an image's extent bounds only unbounded regions: a cropped image
    no longer shows the field), or with masks the included mask pixels
    (centres also inside the other masks and regions) times the pixel area,
    in square physical units.
    """
    out = []
    names = [d.name for d in component if d.is_region or (d.block and d.block.upper() in masks)]
    for name in dict.fromkeys(names):
        try:
            columns = _columns(target, name)
        except KeyError:
            columns = None
        if columns is None:
            continue
        field = _field(columns, component)
        extent = getattr(target, "extent", None)
        field_area = _box_area(field) if field is not None else _box_area(extent) if extent else None
        group = [d for d in component if d.name == name]
        mask_list = [masks[d.block.upper()] for d in group if d.block and d.block.upper() in masks]
        try:
            regions = [parse(d.value) for d in group if d.is_region]
        except ValueError:  # not a region this reader understands
            out.append({"name": name, "field_area": field_area, "region_area": None})
            continue
        if mask_list:
            region_area = _mask_region_area(mask_list, regions)
        else:
            region = regions[0]
            for other in regions[1:]:
                region = region & other
            region_area = _region_area(region, field, extent)
        out.append({"name": name, "field_area": field_area, "region_area": region_area})
    return out


def describe_subspace(hdul: fits.HDUList, index: int, label: str = "") -> list[dict]:
    """Each subspace component of block ``index``: its descriptors and areas (``[]`` when none)."""
    hdu = hdul[index]
    components = read_subspace(hdu.header)
    if not components or not (isinstance(hdu, fits.BinTableHDU) or len(image_shape(hdu)) == 2):
        return []
    masks = stored_masks(hdul)
    target = _target(hdu, label or f"block {index + 1}")
    out = []
    for k, component in enumerate(components, start=1):
        out.append(
            {
                "component": k,
                "descriptors": [str(d) for d in component],
                "areas": component_areas(component, target, masks),
            }
        )
    return out
