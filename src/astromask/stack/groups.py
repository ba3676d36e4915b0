"""Groups of exposures for the global mask: with ``group_by``, a pixel counts once per group.

KBMOD counts the global mask over images; its users ask for it over nights (kbmod#81, #1061),
so that a defect seen in ten exposures of one night does not outvote a clean second night.
``group_by = 'night'`` groups by the local night of ``MJD-OBS``; any other value is a header
keyword whose value names the group (``FILTER``, ``EXPNUM``, ``CCDNUM`` ...).

The night of an exposure is the date of ``MJD-OBS + night_offset`` hours. Without an offset it
changes at the site's local (mean solar) noon when the header gives the site's longitude
(``OBSGEO-L``, or ``OBSGEO-X/Y/Z``), else at noon in Chile: UTC - 12 h, Rubin's ``day_obs``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from astropy.io import fits

from ..errors import FormatError

__all__ = ["TIME_KEYS", "group_of", "night_of"]

log = logging.getLogger("astromask")

#: Where the time of an exposure is looked for, in this order (MJD-OBS first, as KBMOD's readers do).
TIME_KEYS = ("MJD-OBS", "MJD", "MJD-AVG", "DATE-OBS", "DATE-AVG")
#: Rubin's ``day_obs``: the date 12 hours before, in UTC.
DEFAULT_NIGHT_OFFSET = -12.0


def headers_of(hdul: fits.HDUList) -> list[fits.Header]:
    """The headers a group key is looked for in: the primary first, then the others in order."""
    return [hdu.header for hdu in hdul]


def group_of(headers: Sequence[fits.Header], group_by: str | None, night_offset: float | None, name: str) -> str:
    """The group of one exposure (``''`` without ``group_by``)."""
    if group_by is None:
        return ""
    if group_by == "night":
        return night_of(headers, night_offset, name)
    for header in headers:
        if group_by in header:
            value = header[group_by]
            return str(value).strip()
    raise FormatError(f"no {group_by} card in any header, so no group (group_by = {group_by!r})", path=name)


def _mjd(headers: Sequence[fits.Header], name: str) -> tuple[float, str]:
    from astropy.time import Time

    for key in TIME_KEYS:
        for header in headers:
            if key not in header:
                continue
            value = header[key]
            try:
                if key.startswith("MJD"):
                    mjd = float(value)
                else:
                    scale = str(header.get("TIMESYS", "utc")).strip().lower() or "utc"
                    mjd = float(Time(str(value).strip(), scale=scale).utc.mjd)
            except (TypeError, ValueError) as exc:
                raise FormatError(f"{key} = {value!r} is not a time: {exc}", path=name) from None
            if not math.isfinite(mjd):
                raise FormatError(f"{key} = {value!r} is not a finite time", path=name)
            return mjd, key
    raise FormatError(f"no {', '.join(TIME_KEYS)} card, so no night (group_by = 'night')", path=name)


def _site_longitude(headers: Sequence[fits.Header]) -> float | None:
    """East longitude of the site in degrees, from ``OBSGEO-L`` or ``OBSGEO-X/Y/Z`` (metres)."""
    for header in headers:
        if "OBSGEO-L" in header:
            try:
                return float(header["OBSGEO-L"])
            except (TypeError, ValueError):
                return None
        if all(f"OBSGEO-{axis}" in header for axis in "XYZ"):
            try:
                x, y = float(header["OBSGEO-X"]), float(header["OBSGEO-Y"])
            except (TypeError, ValueError):
                return None
            return math.degrees(math.atan2(y, x))
    return None


def night_of(headers: Sequence[fits.Header], offset_hours: float | None, name: str) -> str:
    """``YYYY-MM-DD``: the date of the exposure's time plus ``offset_hours`` (see the module docstring).

    >>> night_of([fits.Header({"MJD-OBS": 60500.1})], None, "e.fits")  # 2024-07-09 02:24 UTC
    '2024-07-08'
    >>> night_of([fits.Header({"MJD-OBS": 60500.9})], None, "e.fits")  # 2024-07-09 21:36 UTC
    '2024-07-09'
    >>> night_of([fits.Header({"MJD-OBS": 60500.9, "OBSGEO-L": -155.5})], None, "e.fits")  # 11:14 in Hawaii
    '2024-07-08'
    """
    from astropy.time import Time

    mjd, key = _mjd(headers, name)
    how = "given"
    if offset_hours is None:
        longitude = _site_longitude(headers)
        if longitude is None:
            offset_hours, how = DEFAULT_NIGHT_OFFSET, "UTC - 12 h, no site longitude in the header"
        else:
            longitude = (longitude + 180.0) % 360.0 - 180.0
            offset_hours, how = longitude / 15.0 - 12.0, f"local noon at longitude {longitude:.2f} deg"
    day = math.floor(mjd + offset_hours / 24.0)
    night = str(Time(day, format="mjd", scale="utc").to_value("iso", subfmt="date"))
    log.info("%s: night %s (%s = %.5f, offset %+.2f h: %s)", name, night, key, mjd, offset_hours, how)
    return night
