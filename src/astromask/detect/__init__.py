"""Classical contaminant detectors and the pipeline that runs them (``astromask detect``).

One module per detector, each a pure function of the pixels returning a boolean
mask (or a result holding one) and a :class:`~astromask.MaskPlane` constant:

==============  ==========================================  ===========================
plane           what                                        function
==============  ==========================================  ===========================
``NO_DATA``     NaN/Inf, zero weight, constant fill         :func:`detect_nodata`
``SAT``         saturation and bleed trails                 :func:`detect_saturation`
``CR``          cosmic rays (L.A.Cosmic via astroscrappy)   :func:`detect_cosmics`
``HOT``         hot pixels (image, stack, darks)            :func:`detect_hot_pixels`
``DEAD``        dead pixels (image, stack, flats)           :func:`detect_dead_pixels`
``BAD_COLUMN``  whole or partial bad columns                :func:`detect_bad_columns`
``TRAIL``       straight trails, with their lines           :func:`detect_trails`
``EDGE``        a border                                    :func:`detect_edge`
==============  ==========================================  ===========================

:func:`detect` runs them in order on a :class:`~astromask.MaskedImage`, adds
MaxiMask when it is installed, grows planes and merges the result with the
image's own mask. :mod:`astromask.testing.inject` puts known contaminants into
images to measure all of this.
"""

from .background import Background, estimate_background
from .badpixels import BadColumn, BadColumns, detect_bad_columns, detect_dead_pixels, detect_hot_pixels
from .cosmics import CosmicRays, detect_cosmics, gain_and_readnoise
from .edge import detect_edge
from .nodata import detect_nodata, fill_regions
from .pipeline import CLASSICAL, DEFAULT_GROW, DETECTION_SCHEMA, Detection, Step, detect, parse_detectors, parse_grow
from .saturation import detect_saturation, image_saturation_level, saturation_level
from .trails import Trail, Trails, detect_trails, line_band

__all__ = [
    "CLASSICAL",
    "DEFAULT_GROW",
    "DETECTION_SCHEMA",
    "Background",
    "BadColumn",
    "BadColumns",
    "CosmicRays",
    "Detection",
    "Step",
    "Trail",
    "Trails",
    "detect",
    "detect_bad_columns",
    "detect_cosmics",
    "detect_dead_pixels",
    "detect_edge",
    "detect_hot_pixels",
    "detect_nodata",
    "detect_saturation",
    "detect_trails",
    "estimate_background",
    "fill_regions",
    "gain_and_readnoise",
    "image_saturation_level",
    "line_band",
    "parse_detectors",
    "parse_grow",
    "saturation_level",
]
