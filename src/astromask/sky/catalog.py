"""Catalogue exclusion masks: :func:`read_catalog` reads positions and radii from a table,
:func:`catalog_mask` marks the pixels within them (through :func:`~astromask.sky.circles.sky_circles_mask`)."""

from __future__ import annotations

from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.table import Table
from astropy.wcs import WCS

from ..core.units import parse_angle
from ..errors import NotFoundError, ParameterError
from .circles import sky_circles_mask

__all__ = ["POSITION_COLUMNS", "catalog_mask", "read_catalog", "read_positions"]

# Known column pairs (lower case) and the frame they imply, tried in this order.
POSITION_COLUMNS = (
    ("ra", "dec", "icrs"),
    ("raj2000", "dej2000", "icrs"),
    ("raj2000", "decj2000", "icrs"),
    ("ra_j2000", "dec_j2000", "icrs"),
    ("glon", "glat", "galactic"),
)


def read_catalog(
    catalog,
    *,
    radius=None,
    radius_column: str | None = None,
    radius_unit: str = "deg",
    lon_column: str | None = None,
    lat_column: str | None = None,
    frame: str | None = None,
    format: str | None = None,
) -> tuple[SkyCoord, Angle]:
    """Source positions and radii from a table.

    Parameters
    ----------
    catalog : str, Path or astropy.table.Table
        A table file (FITS, ECSV, CSV, anything ``Table.read`` reads) or a table.
    radius : angle, optional
        One radius for every source (an Angle, a Quantity or a string such as
        ``"0.3deg"``; a bare number is refused, to avoid pixel/degree mix-ups).
    radius_column : str, optional
        Column with a radius per source, in the column's unit, else ``radius_unit``.
        Exactly one of ``radius`` and ``radius_column`` is required.
    radius_unit : str
        Unit of a radius column that has none (default degrees).
    lon_column, lat_column : str, optional
        Position columns. Default: the first pair present among ``RA/DEC``,
        ``RAJ2000/DEJ2000``, ``RAJ2000/DECJ2000``, ``RA_J2000/DEC_J2000``,
        ``GLON/GLAT`` (any case). Values are in the column's unit, else degrees;
        sexagesimal strings are parsed by astropy.
    frame : str, optional
        Frame of the positions. Default: ``'galactic'`` for GLON/GLAT columns,
        else ``'icrs'``.
    format : str, optional
        ``Table.read`` format, when the file name does not tell it.

    Returns
    -------
    positions : SkyCoord
    radii : Angle
        One radius per source.

    Examples
    --------
    >>> from astropy.table import Table
    >>> t = Table({"RA": [83.63, 84.0], "DEC": [22.01, 22.5]})
    >>> pos, r = read_catalog(t, radius="0.3 deg")
    >>> pos.frame.name, r.deg.tolist()
    ('icrs', [0.3, 0.3])
    """
    table, positions = read_positions(catalog, lon_column=lon_column, lat_column=lat_column, frame=frame, format=format)
    name = "catalog" if isinstance(catalog, Table) else str(catalog)
    radii = _radii(table, radius, radius_column, radius_unit, name)
    return positions, radii


def read_positions(
    catalog,
    *,
    lon_column: str | None = None,
    lat_column: str | None = None,
    frame: str | None = None,
    format: str | None = None,
) -> tuple[Table, SkyCoord]:
    """A catalogue and the sky positions of its rows (the columns and frame as :func:`read_catalog`
    finds them).

    >>> table, positions = read_positions(Table({"GLON": [0.0, 10.0], "GLAT": [1.0, -1.0]}))
    >>> positions.frame.name, len(table)
    ('galactic', 2)
    """
    name = "catalog"
    if isinstance(catalog, Table):
        table = catalog
    else:
        name = str(catalog)
        if not Path(name).exists():
            raise FileNotFoundError(f"{name}: no such catalog file")
        try:
            table = Table.read(name, format=format)
        except Exception as exc:  # astropy raises many kinds for unreadable tables
            raise ParameterError(f"{name}: cannot read the catalog as a table: {exc}") from None
    lon_name, lat_name, default_frame = _position_columns(table, lon_column, lat_column, name)
    positions = SkyCoord(
        _column_values(table, lon_name, name),
        _column_values(table, lat_name, name),
        unit=(table[lon_name].unit or u.deg, table[lat_name].unit or u.deg),
        frame=frame or default_frame,
    )
    return table, positions


def _find_column(table: Table, column: str, source: str) -> str:
    if column in table.colnames:
        return column
    matches = [c for c in table.colnames if c.lower() == column.lower()]
    if len(matches) == 1:
        return matches[0]
    raise NotFoundError(f"{source}: no column {column!r} (columns: {', '.join(table.colnames)})")


def _position_columns(table: Table, lon: str | None, lat: str | None, source: str) -> tuple[str, str, str]:
    if (lon is None) != (lat is None):
        raise ParameterError("give both lon_column and lat_column, or neither")
    if lon is not None:
        lon_name = _find_column(table, lon, source)
        frame = "galactic" if lon_name.lower().startswith("glon") else "icrs"
        return lon_name, _find_column(table, lat, source), frame
    lower = {c.lower(): c for c in table.colnames}
    for lon_key, lat_key, frame in POSITION_COLUMNS:
        if lon_key in lower and lat_key in lower:
            return lower[lon_key], lower[lat_key], frame
    raise NotFoundError(
        f"{source}: no position columns found (looked for RA/DEC, RAJ2000/DEJ2000, GLON/GLAT; "
        f"columns: {', '.join(table.colnames)}); name them with lon_column/lat_column"
    )


def _column_values(table: Table, column: str, source: str) -> np.ndarray:
    values = table[column]
    missing = np.ma.getmaskarray(values)
    if values.dtype.kind in "fc":
        missing = missing | ~np.isfinite(np.ma.getdata(values))
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ParameterError(
            f"{source}: {rows.size} sources have no value in column {column!r} "
            f"(rows {', '.join(map(str, rows[:5]))}{', ...' if rows.size > 5 else ''})"
        )
    return np.asarray(np.ma.getdata(values))


def _radii(table: Table, radius, column: str | None, unit: str, source: str) -> Angle:
    if (radius is None) == (column is None):
        raise ParameterError("give a radius or a radius column (exactly one)")
    if column is None:
        return Angle(np.full(len(table), parse_angle(radius, "radius", default_unit=None)), u.deg)
    name = _find_column(table, column, source)
    try:
        radii = Angle(_column_values(table, name, source), unit=table[name].unit or unit)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise ParameterError(f"{source}: column {name!r} does not hold angles: {exc}") from None
    bad = np.flatnonzero(radii.deg < 0)
    if bad.size:
        raise ParameterError(f"{source}: negative radius in column {name!r} (rows {', '.join(map(str, bad[:5]))})")
    return radii


def catalog_mask(shape: tuple[int, int], wcs: WCS, catalog, **columns) -> np.ndarray:
    """Mask the pixels within a radius of any catalog source.

    Parameters
    ----------
    shape : tuple of int
        ``(ny, nx)`` of the map.
    wcs : astropy.wcs.WCS
        Celestial WCS of the map.
    catalog : str, Path or astropy.table.Table
        The sources; see :func:`read_catalog`.
    **columns
        ``radius``, ``radius_column``, ``radius_unit``, ``lon_column``,
        ``lat_column``, ``frame``, ``format``: as in :func:`read_catalog`.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` (masked) where a pixel centre is within the radius of a source;
        see :func:`sky_circles_mask`. ``~mask`` is gammapy's exclusion-mask polarity.

    Examples
    --------
    >>> from astropy.table import Table
    >>> geom = make_geometry((0, 0), npix=3, binsz=2)
    >>> t = Table({"RA": [0.0, 20.0], "DEC": [0.0, 20.0]})
    >>> int(catalog_mask(geom.shape, geom.wcs, t, radius="1 deg").sum())
    1
    """
    positions, radii = read_catalog(catalog, **columns)
    return sky_circles_mask(shape, wcs, positions, radii)
