"""CIAO region files: ASCII (one shape per line) and FITS region tables.

ASCII rules (CIAO region library): each line is a region string; a line that
starts with a shape (or ``!shape``) starts a new OR component, a ``-shape`` line
ANDs the negated shape onto the last component only, ``+``/``|`` lines OR and
``&``/``*`` lines AND. A file may not start with an exclusion (write ``field()``
first). Full-line ``#`` comments and blank lines are skipped; trailing ``#``
comments and ``;`` separators are errors, as in CIAO.

FITS region tables (``HDUCLAS1 = 'REGION'`` or ``EXTNAME = 'REGION'``): columns
``SHAPE``, ``X``, ``Y`` and, as the shape needs them, ``R`` (radii, full box
sides), ``ROTANG`` (degrees) and ``COMPONENT``; rows of the same component are
ANDed, ``!Shape`` rows are negated. ``X``/``Y`` in ``deg`` are world
coordinates, ``R`` in ``deg``/``arcmin``/``arcsec`` world sizes; otherwise pixels
(physical).
"""

from __future__ import annotations

import os

import numpy as np
from astropy.io import fits

from ..errors import FormatError, ParameterError
from ..io.fitsfile import find_hdu, parse_fits_name
from ..syntax.region import Arg, RegionSyntaxError, ShapeSpec, parse_terms, shape_kind
from .region import Literal, Region, build_shape, combine

__all__ = ["read_fits_region", "read_region_file", "region_file_kind"]

_DS9_SYSTEMS = {
    "image",
    "physical",
    "fk4",
    "fk5",
    "icrs",
    "galactic",
    "ecliptic",
    "j2000",
    "b1950",
    "linear",
    "amplifier",
    "detector",
    "wcs",
}


def region_file_kind(path: str) -> str:
    """``'fits'``, ``'ds9'``, ``'crtf'`` or ``'ciao'`` (ASCII) from a file's content."""
    with open(path, "rb") as f:
        head = f.read(80)
    if head.startswith(b"SIMPLE  ="):
        return "fits"
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = [line.strip() for line in f]
    content = [line for line in lines if line]
    if content and content[0].upper().startswith("#CRTF"):
        return "crtf"
    for line in content:
        low = line.lower()
        if low.startswith(("# region file format: ds9", "global ")):
            return "ds9"
        if not low.startswith("#") and low.split(";")[0].split("#")[0].strip() in _DS9_SYSTEMS:
            return "ds9"
    return "ciao"


def read_region_file(name: str) -> Region:
    """Read a CIAO ASCII or FITS region file (``file.fits[EXT]`` selects the table).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "src.reg"
    >>> _ = path.write_text("# sources\\ncircle(10,10,3)\\n-circle(10,10,1)\\nbox(30,30,4,4)\\n")
    >>> path = str(path)
    >>> str(read_region_file(path))
    'Circle(10,10,3)&!Circle(10,10,1)|Box(30,30,4,4)'
    """
    path = parse_fits_name(name).path
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such region file")
    kind = region_file_kind(path)
    if kind == "fits":
        return read_fits_region(name)
    if kind != "ciao":
        raise FormatError(f"is a {kind} region file; read it with astromask.regions.read_ds9", path=path)
    with open(path, encoding="utf-8") as f:
        return read_ciao_text(f.read(), where=path)


def read_ciao_text(text: str, *, where: str = "region file") -> Region:
    """Parse the lines of a CIAO ASCII region file."""
    region = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        label = f"{where}, line {number}"
        terms = parse_terms(line, where=label, continuation=region is not None)

        def column_error(problem, column, line=line, label=label):
            return RegionSyntaxError(problem, line, column, where=label)

        region = combine(terms, column_error, start=region)
    if region is None:
        raise FormatError("holds no region shape", path=where)
    return region


# FITS region tables --------------------------------------------------------------------------

_WORLD_SIZE = {"deg": 1.0, "degree": 1.0, "degrees": 1.0, "arcmin": 1 / 60.0, "arcsec": 1 / 3600.0}


def _find_region_hdu(hdul: fits.HDUList, name: str) -> int:
    parsed = parse_fits_name(name)
    if parsed.hdu is not None:
        return find_hdu(hdul, parsed.hdu, parsed.path)
    for index, hdu in enumerate(hdul):
        if not isinstance(hdu, fits.BinTableHDU):
            continue
        if str(hdu.header.get("HDUCLAS1", "")).strip().upper() == "REGION" or hdu.name.upper() == "REGION":
            return index
    for index, hdu in enumerate(hdul):
        if isinstance(hdu, fits.BinTableHDU) and "SHAPE" in [c.upper() for c in hdu.columns.names]:
            return index
    raise FormatError("holds no region table (HDUCLAS1='REGION' or a SHAPE column)", path=parsed.path)


def read_fits_region(name: str) -> Region:
    """Read a CIAO/OGIP FITS region table (``file.fits[EXT]`` selects the HDU)."""
    path = parse_fits_name(name).path
    with fits.open(path) as hdul:
        index = _find_region_hdu(hdul, name)
        hdu = hdul[index]
        if not isinstance(hdu, fits.BinTableHDU):
            raise FormatError("is not a binary table", path=path, hdu=index)
        names = {c.upper(): c for c in hdu.columns.names}
        for required in ("SHAPE", "X", "Y"):
            if required not in names:
                raise FormatError(f"region table has no {required} column", path=path, hdu=index)
        units = {key: str(hdu.columns[col].unit or "").strip().lower() for key, col in names.items()}
        rows = _table_rows(hdu.data, names)
        literals = []
        for number, row in enumerate(rows, start=1):
            try:
                literals.append(_row_literal(row, units))
            except ValueError as exc:
                raise FormatError(f"row {number}: {exc}", path=path, hdu=index) from exc
    return _group(literals, [row.get("COMPONENT") for row in rows])


def _table_rows(data, names: dict[str, str]) -> list[dict]:
    rows = []
    for record in data:
        row = {}
        for key in ("SHAPE", "X", "Y", "R", "ROTANG", "COMPONENT"):
            if key in names:
                value = record[names[key]]
                row[key] = value if key in ("SHAPE", "COMPONENT") else np.atleast_1d(np.asarray(value, float))
        rows.append(row)
    return rows


def _row_literal(row: dict, units: dict[str, str]) -> Literal:
    text = str(row["SHAPE"]).strip()
    include = not text.startswith("!")
    kind = shape_kind(text.lstrip("!").strip())
    if kind is None or kind == "region":
        raise ParameterError(f"unknown shape {text!r}")
    x, y = row["X"], row["Y"]
    r = row.get("R", np.array([]))
    a = row.get("ROTANG", np.array([]))
    pos_unit = "d" if units.get("X") in _WORLD_SIZE else ""
    size_unit = {"deg": "d", "degree": "d", "degrees": "d", "arcmin": "'", "arcsec": '"'}.get(units.get("R", ""), "")
    values = _row_values(kind, x, y, r, a)
    if kind == "polygon":
        roles = "xy" * (len(values) // 2)
    else:  # a box row with a rotation angle takes one more (angle) value
        roles = _KIND_ROLES[kind] + "a" * (len(values) - len(_KIND_ROLES[kind]))
    units_by_role = {"x": pos_unit, "y": pos_unit, "s": size_unit, "a": ""}
    args = tuple(Arg(float(v), units_by_role[role], 0) for v, role in zip(values, roles))
    if pos_unit or size_unit:
        return Literal(include, ShapeSpec(kind, roles, args, 0))
    return Literal(include, build_shape(kind, [arg.value for arg in args]))


_KIND_ROLES = {
    "circle": "xys",
    "annulus": "xyss",
    "ellipse": "xyssa",
    "box": "xyss",
    "rotbox": "xyssa",
    "rectangle": "xyxy",
    "pie": "xyssaa",
    "sector": "xyaa",
    "point": "xy",
    "field": "",
}


def _first(values: np.ndarray, count: int, what: str, kind: str) -> list[float]:
    values = values[:count]
    if len(values) < count or np.isnan(values).any():
        raise ParameterError(f"{kind} needs {count} {what} value(s)")
    return [float(v) for v in values]


def _row_values(kind: str, x, y, r, a) -> list[float]:
    if kind == "field":
        return []
    if kind == "polygon":
        keep = ~(np.isnan(x) | np.isnan(y))
        xs, ys = x[keep], y[keep]
        closing = np.nonzero((xs[1:] == xs[0]) & (ys[1:] == ys[0]))[0]
        if closing.size:
            xs, ys = xs[: closing[0] + 1], ys[: closing[0] + 1]
        return [float(v) for pair in zip(xs, ys) for v in pair]
    if kind == "rectangle":
        px, py = _first(x, 2, "X", kind), _first(y, 2, "Y", kind)
        return [px[0], py[0], px[1], py[1]]
    values = _first(x, 1, "X", kind) + _first(y, 1, "Y", kind)
    radii = {"circle": 1, "annulus": 2, "ellipse": 2, "box": 2, "rotbox": 2, "pie": 2}.get(kind, 0)
    angles = {"ellipse": 1, "rotbox": 1, "pie": 2, "sector": 2}.get(kind, 0)
    values += _first(r, radii, "R", kind) + _first(a, angles, "ROTANG", kind)
    if kind == "box" and a.size and np.isfinite(a[0]) and a[0] != 0:
        values.append(float(a[0]))
    return values


def _group(literals: list[Literal], components: list) -> Region:
    """Rows with the same COMPONENT are ANDed; without the column, negated rows join the last component."""
    groups: dict = {}
    last = None
    for lit, component in zip(literals, components):
        key = component if component is not None else (last if not lit.include and last is not None else len(groups))
        groups.setdefault(key, []).append(lit)
        last = key
    return Region(groups.values())
