"""The registry of preset mask schemas, one description per plane.

=========  ===================================================================
preset     source
=========  ===================================================================
rubin      Rubin/afw bit map as KBMOD documents it (seed 000): BAD=0 ... UNMASKEDNAN=15
jwst       JWST ``pixel`` DQ flags (stdatamodels ``dqflags.pixel``), 32 bits
decam_cp   DECam Community Pipeline DQ bits (bit-valued CP versions), with
           planes for the integer codes of CP >= V3.5 (see :mod:`astromask.io.formats.decam`)
maximask   MaxiMask classes, CR=1 ... BBG=4096 (13 planes)
=========  ===================================================================

Beside the presets, :data:`MADE_PLANES` holds every plane astromask itself creates (the
detectors', the stack's, CCDData's boolean mask), by the command that makes it; the detectors
and the stack take their planes from here. Docs tables and header cards are generated from
these entries (:func:`preset_table`, :func:`made_planes_table`).

CIAO image masks are not bit planes (a pixel is included when its value is non-zero and
finite: :func:`astromask.core.mask.included`), so there is no ``ciao`` preset.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import ParameterError
from .schema import MaskPlane, MaskSchema

__all__ = ["MADE_PLANES", "PRESETS", "get_schema", "made_plane", "made_planes_table", "preset_names", "preset_table"]

_RUBIN = [
    ("BAD", "Bad pixel (detector defect)."),
    ("SAT", "Saturated pixel."),
    ("INTRP", "Pixel value was interpolated."),
    ("CR", "Cosmic ray hit."),
    ("EDGE", "Near the CCD edge, too close for a full detection kernel."),
    ("DETECTED", "Pixel is part of a detected source above threshold."),
    ("DETECTED_NEGATIVE", "Pixel is part of a detected negative source (difference imaging)."),
    ("SUSPECT", "Pixel is near saturation or in a suspect region; may be unreliable."),
    ("NO_DATA", "No data: outside the detector or not covered by any input."),
    ("CLIPPED", "Pixel was clipped when coadding."),
    ("CROSSTALK", "Crosstalk from another amplifier was corrected here."),
    ("INEXACT_PSF", "The coadd PSF is inexact at this pixel."),
    ("NOT_DEBLENDED", "Source was too large or complex to deblend."),
    ("REJECTED", "Pixel was rejected from the coadd (e.g. outlier)."),
    ("SENSOR_EDGE", "Pixel lies near a sensor edge in at least one coadd input."),
    ("UNMASKEDNAN", "NaN pixel that carried no other mask bit."),
]

_JWST = [
    ("DO_NOT_USE", "Bad pixel. Do not use."),
    ("SATURATED", "Pixel saturated during exposure."),
    ("JUMP_DET", "Jump detected during exposure."),
    ("DROPOUT", "Data lost in transmission."),
    ("OUTLIER", "Flagged by outlier detection (was RESERVED_1)."),
    ("PERSISTENCE", "High persistence."),
    ("AD_FLOOR", "Below A/D floor."),
    ("CHARGELOSS", "Charge migration (was RESERVED_4)."),
    ("RESERVED", "Reserved."),
    ("NON_SCIENCE", "Pixel not on science portion of detector."),
    ("DEAD", "Dead pixel."),
    ("HOT", "Hot pixel."),
    ("WARM", "Warm pixel."),
    ("LOW_QE", "Low quantum efficiency."),
    ("RC", "RC pixel."),
    ("TELEGRAPH", "Telegraph pixel."),
    ("NONLINEAR", "Pixel highly nonlinear."),
    ("BAD_REF_PIXEL", "Reference pixel cannot be used."),
    ("NO_FLAT_FIELD", "Flat field cannot be measured."),
    ("NO_GAIN_VALUE", "Gain cannot be measured."),
    ("NO_LIN_CORR", "Linearity correction not available."),
    ("NO_SAT_CHECK", "Saturation check not available."),
    ("UNRELIABLE_BIAS", "Bias variance large."),
    ("UNRELIABLE_DARK", "Dark variance large."),
    ("UNRELIABLE_SLOPE", "Slope variance large (i.e., noisy pixel)."),
    ("UNRELIABLE_FLAT", "Flat variance large."),
    ("OPEN", "Open pixel (counts move to adjacent pixels)."),
    ("ADJ_OPEN", "Adjacent to open pixel."),
    ("FLUX_ESTIMATED", "Pixel flux estimated due to missing/bad data."),
    ("MSA_FAILED_OPEN", "Pixel sees light from failed-open shutter."),
    ("OTHER_BAD_PIXEL", "A catch-all flag."),
    ("REFERENCE_PIXEL", "Pixel is a reference pixel."),
]

# Bit-valued DECam CP masks (CP before V3.5; legacypipe's CP_DQ_BITS): 1 bad, 2 saturated,
# 4 interpolated, 16 cosmic ray, 64 bleed trail, 128 multi-exposure transient. Bits 3 and 5
# are unused by the CP; bits 8-10 hold the meanings that only the integer codes of CP >= V3.5
# carry (no data, low weight, long streak).
_DECAM_CP = [
    ("BAD", "Detector bad pixel (CP bit 1, code 1)."),
    ("SAT", "Saturated (CP bit 2, code 3)."),
    ("INTERP", "Interpolated (CP bit 4; no code in CP >= V3.5)."),
    None,
    ("CR", "Single-exposure cosmic ray (CP bit 16, code 5)."),
    None,
    ("BLEED", "Bleed trail (CP bit 64, code 4)."),
    ("TRANSIENT", "Multi-exposure transient / difference detection (CP bit 128, code 7)."),
    ("NO_DATA", "No value: remapped or stacked data with no input (code 2)."),
    ("LOW_WEIGHT", "Low weight (code 6)."),
    ("STREAK", "Long streak, e.g. a satellite trail (code 8)."),
]

_MAXIMASK = [
    ("CR", "Cosmic rays."),
    ("HCL", "Hot columns/lines."),
    ("DCL", "Dead columns/lines/clusters."),
    ("HP", "Hot pixels."),
    ("DP", "Dead pixels."),
    ("P", "Persistence."),
    ("TRL", "Trails."),
    ("FR", "Residual fringing."),
    ("NEB", "Nebulosities."),
    ("SAT", "Saturated pixels."),
    ("SP", "Diffraction spikes."),
    ("OV", "Overscan."),
    ("BBG", "Bright background."),
]


def _schema(name: str, entries: Sequence[tuple[str, str] | None], dtype: str | None = None) -> MaskSchema:
    planes = [None if e is None else MaskPlane(*e) for e in entries]
    return MaskSchema(planes, dtype=dtype, name=name)


PRESETS: dict[str, MaskSchema] = {
    "rubin": _schema("rubin", _RUBIN, "uint32"),
    "jwst": _schema("jwst", _JWST, "uint32"),
    "decam_cp": _schema("decam_cp", _DECAM_CP),
    "maximask": _schema("maximask", _MAXIMASK),
}

#: The planes astromask creates, by the command (or reader) that makes them.
MADE_PLANES: dict[str, tuple[MaskPlane, ...]] = {
    "detect": (
        MaskPlane("NO_DATA", "No data: non-finite value, zero weight or a constant fill region."),
        MaskPlane("SAT", "Saturated, or in a bleed trail from a saturated pixel."),
        MaskPlane("BAD_COLUMN", "Column, or part of one, whose level departs from its neighbours'."),
        MaskPlane("HOT", "Hot pixel: far above its neighbours (in every exposure, or in the darks)."),
        MaskPlane("DEAD", "Dead or cold pixel: far below its neighbours (in every exposure, or in the flats)."),
        MaskPlane("TRAIL", "Satellite or meteor trail (a straight streak)."),
        MaskPlane("CR", "Cosmic ray hit (L.A.Cosmic)."),
        MaskPlane("EDGE", "Within the border margin of the image."),
        MaskPlane("INTRP", "Replaced by astromask detect --clean: the median of its clean neighbours."),
    ),
    "stack": (
        MaskPlane(
            "STACK_MASKED",
            "Masked by astromask stack (KBMOD pipeline): flag_keys, threshold or global mask, grown; "
            "science and variance are NaN here.",
        ),
        MaskPlane(
            "GLOBAL", "Global mask of astromask stack: repeated_flag_keys set in at least mask_num_images images."
        ),
        MaskPlane(
            "NO_DATA",
            "No data (astromask stack): science or variance NaN or infinite, or variance <= 0 (zero weight), "
            "as in the uncovered part of a reprojected exposure.",
        ),
    ),
    "ccddata": (MaskPlane("BAD", "Masked in the CCDData boolean MASK."),),
    "coadd": (MaskPlane("NO_DATA", "No data (astromask coadd): no input covers this pixel, a gap."),),
    "reproject": (MaskPlane("NO_DATA", "No data (astromask reproject): no source pixel covers this pixel."),),
    "healpix": (
        MaskPlane("COVERED", "Bit 63 of an astromask healpix map: the HEALPix pixel's centre lies on an input pixel."),
    ),
}


def made_plane(name: str, maker: str = "detect") -> MaskPlane:
    """The plane ``name`` that ``maker`` creates.

    >>> made_plane("CR").description
    'Cosmic ray hit (L.A.Cosmic).'
    """
    for plane in MADE_PLANES[maker]:
        if plane.name == name:
            return plane
    raise ParameterError(f"{maker} makes no plane {name!r}; it makes {', '.join(p.name for p in MADE_PLANES[maker])}")


def made_planes_table() -> str:
    """Every plane astromask creates, with its maker and the synonyms it is matched with (for the docs)."""
    from .schema import synonyms

    lines = ["| made by | plane | synonyms | description |", "|---|---|---|---|"]
    for maker, planes in MADE_PLANES.items():
        for plane in planes:
            others = ", ".join(f"`{n}`" for n in synonyms(plane.name) if n != plane.name) or "-"
            lines.append(f"| `{maker}` | {plane.name} | {others} | {plane.description} |")
    return "\n".join(lines)


def preset_names() -> list[str]:
    """Names of the preset schemas."""
    return list(PRESETS)


def get_schema(name: str) -> MaskSchema:
    """The preset schema called ``name``.

    >>> get_schema("maximask").bitmask("BBG")
    4096
    """
    try:
        return PRESETS[name.lower()]
    except (KeyError, AttributeError):
        raise ParameterError(f"unknown schema preset {name!r}; known presets: {', '.join(PRESETS)}") from None


def preset_table(name: str) -> str:
    """A reStructuredText/Markdown-friendly table of a preset (for the docs)."""
    schema = get_schema(name)
    lines = ["| bit | value | plane | description |", "|---|---|---|---|"]
    lines += [f"| {r['bit']} | {r['value']} | {r['name']} | {r['description']} |" for r in schema.describe()]
    return "\n".join(lines)
