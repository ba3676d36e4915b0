"""Sizes, angles and pixel scales: the one place where text or numbers from the user become pixels
or degrees, and where a WCS becomes a pixel scale.

Sizes (:func:`parse_size`) are a number of pixels or an angle (``"10arcsec"``, ``"0.2deg"``, a
Quantity; ``"4pix"`` is pixels); angles (:func:`parse_angle`) are an Angle, a Quantity, a string or,
with a default unit, a number. Both are refused with one line naming the parameter.

Each peer converts an angle to pixels with its own scale, and astromask keeps each one where it
reproduces that peer (``docs/morphology.md``, ``docs/regions.md``):

- :func:`pixel_scales`: the scale of each axis at the reference point. Footprints use it, so a
  disk on unequal pixels is an ellipse in pixels (morphology).
- :func:`mean_pixel_scale`: the mean of the two axes' scales, gammapy's rule for a correlation
  radius (``significance``).
- :func:`area_pixel_scale`: the square root of the pixel area, CIAO's rule for world sizes in
  region strings.

For square pixels the three agree.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle
from astropy.wcs import WCS
from astropy.wcs.utils import proj_plane_pixel_area, proj_plane_pixel_scales

from ..errors import ParameterError

__all__ = ["area_pixel_scale", "mean_pixel_scale", "parse_angle", "parse_size", "pixel_scales"]


def parse_size(value: Any, name: str = "size") -> float | u.Quantity:
    """A size in pixels (a number) or an angle (a Quantity or a string such as ``"0.2deg"``).

    >>> parse_size("3"), parse_size("10arcsec"), parse_size("4pix")
    (3.0, <Quantity 10. arcsec>, 4.0)
    """
    if isinstance(value, u.Quantity):
        quantity = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is not None:
            return _non_negative(number, name)
        try:
            quantity = u.Quantity(text)
        except (TypeError, ValueError):
            raise ParameterError(
                f"{name} must be a number of pixels or an angle such as '10arcsec', got {value!r}"
            ) from None
    else:
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{name} must be a number of pixels or an angle, got {value!r}") from None
        return _non_negative(number, name)
    if quantity.unit == u.pix:
        return _non_negative(float(quantity.value), name)
    if not quantity.unit.is_equivalent(u.deg):
        raise ParameterError(f"{name} must be in pixels or an angle unit, got unit {quantity.unit}")
    if not quantity.isscalar:
        raise ParameterError(f"{name} must be a single value, got {quantity}")
    _non_negative(float(quantity.value), name)
    return quantity


def parse_angle(value: Any, name: str, *, default_unit: str | None = "deg") -> float:
    """One finite angle in degrees from an Angle, Quantity, string or (with a default unit) number.

    >>> parse_angle("30arcsec", "radius"), parse_angle(2, "binsz")
    (0.008333333333333333, 2.0)
    """
    try:
        angle = Angle(value, unit=default_unit) if default_unit else Angle(value)
    except (ValueError, TypeError, u.UnitsError) as exc:
        raise ParameterError(f"{name} must be an angle such as '0.3deg', got {value!r}: {exc}") from None
    if not angle.isscalar or not np.isfinite(angle.deg):
        raise ParameterError(f"{name} must be one finite angle, got {value!r}")
    return float(angle.deg)


def _non_negative(value: float, name: str) -> float:
    if not np.isfinite(value) or value < 0:
        raise ParameterError(f"{name} must be a finite non-negative number, got {value}")
    return value


def _celestial(wcs: WCS | None, what: str) -> WCS:
    if wcs is None or not getattr(wcs, "has_celestial", False):
        raise ParameterError(f"{what} needs an image with a celestial WCS")
    return wcs.celestial


def pixel_scales(wcs: WCS | None) -> tuple[float, float]:
    """Pixel scales ``(sx, sy)`` in degrees along the x (column) and y (row) axes at the reference point."""
    sx, sy = proj_plane_pixel_scales(_celestial(wcs, "an angular size"))[:2]
    return float(sx), float(sy)


def mean_pixel_scale(wcs: WCS | None, what: str = "an angular size") -> float:
    """The mean of the two axes' scales in degrees (gammapy's rule for a correlation radius)."""
    return float(np.mean(proj_plane_pixel_scales(_celestial(wcs, what))))


def area_pixel_scale(wcs: WCS | None, what: str = "a world size") -> float:
    """The square root of the pixel area in degrees (CIAO's rule for world sizes in regions)."""
    return math.sqrt(proj_plane_pixel_area(_celestial(wcs, what)))
