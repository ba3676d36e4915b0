"""Run the detectors on an exposure and merge what they find with its own mask.

Longer than 500 lines because the order of the detectors, each step's inputs and what it
leaves to the next are read in one place, top to bottom (``_Run``); the detectors themselves
are their own modules.

Order, and what each detector leaves out:

==============  ===============================================================
``NO_DATA``     non-finite pixels, constant fill regions (never at or above
                the saturation level), and zero weight (or infinite variance)
                where the image's own mask gives no other reason for it (the
                DECam CP gives cosmic rays zero weight)
``SAT``         saturation and bleed trails (no-data pixels left out)
``BAD_COLUMN``  no-data and saturated pixels left out (the saturated ones with
                a margin of 4 pixels: a bright star's halo tilts its columns)
``HOT``         the above and bad columns left out
``DEAD``        the same
``TRAIL``       the same; when trails are found, bad columns are looked for again
                with the trails left out (a trail nearly along the columns
                lights a few columns over many rows)
``CR``          all of the above left out (astroscrappy's ``inmask``), so a
                single-pixel spike is ``HOT`` rather than ``CR``
``EDGE``        the border
==============  ===============================================================

The sky level and noise are estimated once (:mod:`.background`, no-data pixels
left out) and shared. The network (MaxiMask, issue 6) runs last when it is
installed, or when asked for: its classes are added to the planes of the same
meaning (``CR``, ``HCL``/``DCL`` → ``BAD_COLUMN``, ``HP`` → ``HOT``, ``DP`` →
``DEAD``, ``TRL`` → ``TRAIL``, ``SAT``); the others keep their MaxiMask names.

Then the planes are grown (:data:`DEFAULT_GROW`: ``SAT`` by 1 pixel, the
pixels next to a full well; ``grow=`` adds or overrides radii) and merged with
the image's own mask by plane name: its planes keep their bits, new planes go
to the lowest free bits (:meth:`~astromask.MaskSchema.merged`). Where the file
names a flag differently (:data:`astromask.core.schema.SYNONYMS`: lsst.images' ``SATURATED`` and
``COSMIC_RAY``, the DECam CP's ``STREAK``), its name is used.

The network is reached through a small interface, so that this module does
not depend on how it is built: a module ``astromask.maximask`` with
``available() -> bool`` (the runtime and the weights are installed) and
``predict_mask(image: numpy.ndarray) -> Mask`` (a mask with the ``maximask``
preset's planes).
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.mask import Mask
from ..core.masked_image import MaskedImage
from ..core.presets import get_schema
from ..core.schema import MaskPlane, MaskSchema
from ..errors import AstromaskError, ParameterError
from ..morphology import grow as grow_mask
from ..progress import progress as progress_bar
from . import badpixels, cosmics, edge, nodata, saturation, trails
from .background import Background, estimate_background

__all__ = [
    "CLASSICAL",
    "CNN_MISSING",
    "CNN_PLANES",
    "DEFAULT_GROW",
    "DETECTION_SCHEMA",
    "Detection",
    "Step",
    "detect",
    "network",
    "parse_detectors",
    "parse_grow",
]

log = logging.getLogger("astromask")

#: The classical detectors, in the order they run.
CLASSICAL = ("NO_DATA", "SAT", "BAD_COLUMN", "HOT", "DEAD", "TRAIL", "CR", "EDGE")
_PLANES: dict[str, MaskPlane] = {
    "NO_DATA": nodata.PLANE,
    "SAT": saturation.PLANE,
    "BAD_COLUMN": badpixels.BAD_COLUMN,
    "HOT": badpixels.HOT,
    "DEAD": badpixels.DEAD,
    "TRAIL": trails.PLANE,
    "CR": cosmics.PLANE,
    "EDGE": edge.PLANE,
}
#: The planes the classical detectors set.
DETECTION_SCHEMA = MaskSchema([_PLANES[name] for name in CLASSICAL], name="astromask detect")
#: Planes grown by default (radius in pixels).
DEFAULT_GROW: dict[str, float] = {"SAT": 1}
#: MaxiMask classes and the plane each one sets.
CNN_PLANES = {
    "CR": "CR",
    "HCL": "BAD_COLUMN",
    "DCL": "BAD_COLUMN",
    "HP": "HOT",
    "DP": "DEAD",
    "TRL": "TRAIL",
    "SAT": "SAT",
}
CNN_MISSING = (
    "the MaxiMask network is not available: install the 'cnn' extra (pip install 'astromask[cnn]') "
    "and its weights (see docs/detection.md), or leave out --cnn"
)
CNN_MIN_SIZE = 400  # MaxiMask works on 400 x 400 patches and needs larger images
_SAT_MARGIN = 4  # pixels around saturation left out of the bad-column and later tests


@dataclass
class Step:
    """What one detector did: pixels flagged, seconds taken and details (level used, noise model...)."""

    name: str
    pixels: int
    seconds: float
    info: dict = field(default_factory=dict)


@dataclass
class Detection:
    """The result of :func:`detect`.

    Attributes
    ----------
    image : MaskedImage
        The input with its mask merged with the detections (the pixels are the input's).
    found : Mask
        The detections alone, grown.
    steps : list of Step
    trails : list of Trail
    bad_columns : list of BadColumn
    """

    image: MaskedImage
    found: Mask
    steps: list[Step]
    trails: list[trails.Trail] = field(default_factory=list)
    bad_columns: list[badpixels.BadColumn] = field(default_factory=list)

    def summary(self) -> str:
        """One line: pixels per plane found after growth, e.g. ``'SAT 120, CR 431'`` (``'nothing'`` when
        empty): the counts the written mask, ``info`` and the picture's legend give for these planes
        (``-v`` gives each detector's count before growth)."""
        counts = {name: n for name, n in self.found.counts().items() if n}
        return ", ".join(f"{name} {n}" for name, n in counts.items()) or "nothing"


def parse_detectors(text: str | Sequence[str] | None) -> tuple[str, ...]:
    """Detector names from ``'NO_DATA,SAT,CR'`` (case-insensitive; ``None``: all classical ones).

    >>> parse_detectors("cr, sat")
    ('SAT', 'CR')
    """
    if text is None:
        return CLASSICAL
    names = [t.strip().upper() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    unknown = [n for n in names if n not in CLASSICAL]
    if unknown or not names:
        raise ParameterError(f"unknown detector {', '.join(unknown) or '(none given)'}; known: {', '.join(CLASSICAL)}")
    return tuple(n for n in CLASSICAL if n in names)


def parse_grow(text: str | Mapping[str, float] | None) -> dict[str, float]:
    """Growth radii per plane from ``'CR=1,SAT=2'`` (radius in pixels, or an angle such as ``'2arcsec'``).

    >>> parse_grow("cr=1, SAT=2.5")
    {'CR': 1.0, 'SAT': 2.5}
    """
    if text is None:
        return {}
    if isinstance(text, Mapping):
        items = list(text.items())
    else:
        items = []
        for part in (p.strip() for p in text.split(",") if p.strip()):
            name, sep, radius = part.partition("=")
            if not sep or not name.strip() or not radius.strip():
                raise ParameterError(f"grow wants PLANE=RADIUS items separated by commas, got {part!r}")
            items.append((name, radius))
    out: dict[str, float] = {}
    for name, radius in items:
        try:
            value = float(radius)
        except (TypeError, ValueError):
            value = str(radius).strip()  # an angle, checked by morphology.grow
        else:
            if not np.isfinite(value) or value < 0:
                raise ParameterError(f"grow radius of {name.strip().upper()} must be >= 0, got {radius!r}")
        out[name.strip().upper()] = value
    return out


def network(required: bool | None):
    """The MaxiMask module when installed (see the module docstring), else None; ``required=True`` raises."""
    try:
        module = importlib.import_module("astromask.maximask")
    except ImportError:
        module = None
    ok = module is not None and hasattr(module, "predict_mask") and bool(module.available())
    if not ok and required:
        raise AstromaskError(CNN_MISSING)
    return module if ok and required is not False else None


def detect(
    image: MaskedImage | np.ndarray,
    *,
    detectors: str | Sequence[str] | None = None,
    cnn: bool | None = None,
    grow: str | Mapping[str, float] | None = None,
    saturate: float | None = None,
    gain: float | None = None,
    readnoise: float | None = None,
    edge_width=edge.DEFAULT_WIDTH,
    weight: np.ndarray | None = None,
    frames: Sequence[np.ndarray] | None = None,
    darks=None,
    flats=None,
    cosmic_options: Mapping | None = None,
    header=None,
    progress: bool = False,
    clean: bool | Sequence[str] = False,
) -> Detection:
    """Find the contaminants of an exposure and merge them with its mask.

    Parameters
    ----------
    image : MaskedImage or 2-D array
    detectors : str or sequence of str, optional
        Which classical detectors to run (default: all of :data:`CLASSICAL`).
    cnn : bool or None
        Run MaxiMask: ``None`` when installed, ``True`` always (error when not
        installed), ``False`` never.
    grow : str or mapping, optional
        Growth radii per plane (``'CR=1,SAT=2'``), on top of :data:`DEFAULT_GROW`.
    saturate : float, optional
        Saturation level (default: header, else the image).
    gain, readnoise : float, optional
        e-/ADU and electrons (default: header).
    edge_width : size
        Width of the ``EDGE`` border (pixels or an angle).
    weight : 2-D array, optional
        Inverse variance (DECam ``oow``): zero weight is no data, and it gives
        the noise of the cosmic-ray test when the image has no variance.
    frames : sequence of 2-D arrays, optional
        Other exposures of the same detector: hot and dead pixels and bad
        columns are then found from all of them together.
    darks, flats : 2-D or 3-D arrays, optional
        Darks (hot pixels) and flats (dead pixels, bad columns).
    cosmic_options : mapping, optional
        Extra arguments of :func:`~astromask.detect.cosmics.detect_cosmics`
        (``sigclip``, ``objlim``, ``niter``, ``noise``...).
    header : astropy.io.fits.Header or mapping, optional
        Default: the image's metadata.
    progress : bool
        Show a progress bar over the detectors (on a terminal).
    clean : bool or sequence of str
        Replace the pixels of these planes (``True``: :data:`~astromask.detect.clean.CLEANED_PLANES`)
        in the image by the median of their clean neighbours, with ``INTRP`` there
        (:func:`~astromask.detect.clean.clean_image`).

    Returns
    -------
    Detection

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> img = rng.normal(1000.0, 30.0, (128, 128)).astype(np.float32)
    >>> img[:, :20] = 0.0; img[60, 70] += 3000.0
    >>> result = detect(img, detectors="NO_DATA,HOT", grow="NO_DATA=0", cnn=False)
    >>> result.summary()
    'NO_DATA 2560, HOT 1'
    """
    mi = image if isinstance(image, MaskedImage) else MaskedImage(np.asarray(image), schema=MaskSchema([]))
    names = parse_detectors(detectors)
    radii = {**DEFAULT_GROW, **parse_grow(grow)}
    header = mi.metadata if header is None else header
    run = _Run(
        mi,
        header,
        weight=weight,
        saturate=saturate,
        gain=gain,
        readnoise=readnoise,
        frames=frames,
        darks=darks,
        flats=flats,
        edge_width=edge_width,
        cosmic_options=dict(cosmic_options or {}),
        cnn=cnn,
    )
    planes: dict[str, np.ndarray] = {}
    steps: list[Step] = []
    jobs = list(names) + (["CNN"] if _use_network(cnn, mi.shape) else [])
    for name in progress_bar(jobs) if progress else jobs:
        start = time.perf_counter()
        found, info = run.step(name, planes)
        if name == "CNN":
            found = {plane: planes[plane] | pixels if plane in planes else pixels for plane, pixels in found.items()}
        planes.update(found)
        count = np.count_nonzero(found[name]) if name in found else sum(np.count_nonzero(p) for p in found.values())
        step = Step(name, int(count), time.perf_counter() - start, info)
        steps.append(step)
        log.info("%s: %d pixels (before growth) in %.2f s%s", name, step.pixels, step.seconds, _describe(info))
    found_mask = _grown(_as_mask(planes, mi.shape), radii)
    merged = mi.mask | _named_like(found_mask, mi.mask.schema)
    result = MaskedImage(
        mi.image, mask=merged, variance=mi.variance, unit=mi.unit, wcs=mi.wcs, xy0=mi.xy0, metadata=mi.metadata
    )
    if clean:
        from .clean import clean_image

        result = clean_image(result, None if clean is True else list(clean))
        log.info("clean: %d pixels replaced (INTRP)", int(result.mask.get("INTRP").sum()))
    return Detection(result, found_mask, steps, run.trails, run.bad_columns)


def _use_network(cnn: bool | None, shape) -> bool:
    """Run MaxiMask? Asked for (``True``), or installed and the image larger than its 400 × 400 patches."""
    if network(cnn) is None:
        return False
    if cnn is None and min(shape) <= CNN_MIN_SIZE:
        log.info("MaxiMask skipped: it needs images larger than %d x %d pixels", CNN_MIN_SIZE, CNN_MIN_SIZE)
        return False
    return True


class _Run:
    """The state shared by the detectors of one exposure: pixels, header, sky and what is left out."""

    def __init__(
        self,
        mi: MaskedImage,
        header,
        *,
        weight,
        saturate,
        gain,
        readnoise,
        frames,
        darks,
        flats,
        edge_width,
        cosmic_options,
        cnn,
    ) -> None:
        self.data = np.asarray(mi.image)
        self.header = header
        self.frames, self.darks, self.flats = frames, darks, flats
        self.edge_width, self.cosmic_options, self.cnn = edge_width, cosmic_options, cnn
        self.weight = None if weight is None else np.asarray(weight)
        if self.weight is not None and self.weight.shape != self.data.shape:
            raise ParameterError(f"weight shape {self.weight.shape} differs from image shape {self.data.shape}")
        self.variance = _meaningful(mi.variance)
        if self.variance is None and self.weight is not None:
            with np.errstate(divide="ignore"):
                self.variance = np.where(self.weight > 0, 1.0 / np.where(self.weight > 0, self.weight, 1.0), np.inf)
        self.gain, self.readnoise = gain, readnoise
        self.level, self.level_source = self._level(saturate)
        no_data = mi.mask.get("NO_DATA") if "NO_DATA" in mi.mask.schema else np.zeros(self.data.shape, dtype=bool)
        self.known_no_data = no_data
        self.explained = mi.mask.any_set()
        self._background: Background | None = None
        self._sat_margin: np.ndarray | None = None
        self._frame_backgrounds: list[Background] | None = None
        self.low_outliers: np.ndarray | None = None  # one exposure: pixels far below their neighbours
        self._counts: bool | None = None
        self.trails: list[trails.Trail] = []
        self.bad_columns: list[badpixels.BadColumn] = []

    # -- shared quantities ------------------------------------------------------------------------

    def _level(self, saturate):
        if saturate is not None:
            return float(saturate), "given"
        level = saturation.saturation_level(self.header, self.data.shape)
        if level is not None:
            return level, "header"
        return None, None

    def background(self, planes) -> Background:
        if self._background is None:
            self._background = estimate_background(self.data, mask=self.excluded(planes, ("NO_DATA",)))
        return self._background

    def excluded(self, planes, names=("NO_DATA", "SAT", "BAD_COLUMN", "HOT", "DEAD", "TRAIL")) -> np.ndarray:
        out = self.known_no_data.copy()
        if "DEAD" in names and self.low_outliers is not None:
            out |= self.low_outliers
        for name in names:
            if name == "SAT" and name in planes:
                if self._sat_margin is None:
                    self._sat_margin = grow_mask(planes["SAT"], _SAT_MARGIN, footprint="box")
                out |= self._sat_margin
            elif name in planes:
                out |= planes[name]
        return out

    # -- the steps ----------------------------------------------------------------------------------

    def step(self, name: str, planes: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], dict]:
        """Run detector ``name`` given the planes found so far: ``({plane: pixels}, details)``."""
        if name in ("NO_DATA", "SAT") and self.counts_image:
            skipped = self._counts_image_step(name)
            if skipped is not None:
                return skipped
        if name == "NO_DATA":
            exclude = None
            if self.level is None:
                self.level = saturation.image_saturation_level(self.data)
                self.level_source = "image" if self.level is not None else None
            if self.level is not None:
                with np.errstate(invalid="ignore"):
                    exclude = self.data >= self.level
            found = nodata.detect_nodata(self.data, exclude=exclude)
            if self.weight is not None or self.variance is not None:
                unweighted = nodata.detect_nodata(
                    np.zeros(self.data.shape, dtype=np.float32),
                    weight=self.weight,
                    variance=self.variance,
                    min_fill=None,
                )
                found |= unweighted & ~self.explained  # the file's own mask may give the reason (CR, BAD...)
            return {"NO_DATA": found}, {}
        if name == "SAT":
            if self.level is None:
                self.level = saturation.image_saturation_level(self.data, background=self.background(planes))
                self.level_source = "image" if self.level is not None else None
            found = saturation.detect_saturation(
                self.data, self.level if self.level is not None else np.inf, grow=0, background=self.background(planes)
            )
            level = self.level if self.level is None or np.ndim(self.level) == 0 else "per amplifier"
            return {"SAT": found}, {"level": level, "from": self.level_source or "none found"}
        if name in ("BAD_COLUMN", "HOT", "DEAD"):
            return self._bad_pixels(name, planes)
        if name == "TRAIL":
            result = trails.detect_trails(self.data, mask=self.excluded(planes), background=self.background(planes))
            self.trails = result.trails
            found = {"TRAIL": result.mask}
            if result.trails and "BAD_COLUMN" in planes:  # look again without the trails (see the module docstring)
                planes = {**planes, "BAD_COLUMN": np.zeros(self.data.shape, dtype=bool), "TRAIL": result.mask}
                found["BAD_COLUMN"] = self._bad_pixels("BAD_COLUMN", planes)[0]["BAD_COLUMN"]
            return found, {"trails": len(result.trails)}
        if name == "CR":
            return self._cosmics(planes)
        if name == "EDGE":
            return {"EDGE": edge.detect_edge(self.data.shape, self.edge_width)}, {"width": self.edge_width}
        return self._network()

    @property
    def counts_image(self) -> bool:
        """A photon-counting image (X-ray, gamma-ray): non-negative integers whose typical non-zero
        value is 10 or less, so that zeros are counts and the brightest value is no saturation."""
        if self._counts is None:
            sample = self.data[:: max(1, self.data.shape[0] // 512), :: max(1, self.data.shape[1] // 512)]
            finite = sample[np.isfinite(sample)]
            nonzero = finite[finite != 0]
            self._counts = bool(
                finite.size
                and nonzero.size
                and finite.min() >= 0
                and np.all(finite == np.round(finite))
                and float(np.median(nonzero)) <= 10
            )
        return self._counts

    def _counts_image_step(self, name: str):
        """NO_DATA and SAT on a counts image: not tested unless told how (said in one line), else None."""
        if name == "NO_DATA" and self.weight is None and self.variance is None:
            reason = (
                "not tested: a counts image, whose zeros are counts, not missing data; give --weight "
                "(an exposure map) to find the pixels without exposure"
            )
        elif name == "SAT" and self.level_source not in ("given", "header"):
            reason = "not tested: a counts image; saturation (pile-up) detection needs a SATURATE level (--saturate)"
        else:
            return None
        log.warning("%s %s", name, reason)
        return {name: np.zeros(self.data.shape, dtype=bool)}, {"skipped": reason}

    def _stack(self):
        stack = [self.data] + [np.asarray(f) for f in (self.frames or [])]
        for i, frame in enumerate(stack[1:], start=1):
            if frame.shape != self.data.shape:
                raise ParameterError(f"frame {i} has shape {frame.shape}, the image {self.data.shape}")
        return stack

    def _bad_pixels(self, name, planes):
        stack = self._stack()
        darks, flats = self.darks, self.flats
        for label, calibration in (("darks", darks), ("flats", flats)):
            if calibration is not None and np.shape(calibration)[-2:] != self.data.shape:
                raise ParameterError(f"{label} have shape {np.shape(calibration)[-2:]}, the image {self.data.shape}")
        mask = self.excluded(planes)
        if self._frame_backgrounds is None:  # the other exposures' skies, once (no-data and saturation left out)
            self._frame_backgrounds = [estimate_background(f, mask=mask) for f in stack[1:]]
        backgrounds = [self.background(planes)] + self._frame_backgrounds
        info = {"exposures": len(stack)}
        if name == "BAD_COLUMN":
            result = badpixels.detect_bad_columns(stack, flats=flats, mask=mask, backgrounds=backgrounds)
            self.bad_columns = result.columns
            return {name: result.mask}, {**info, "columns": len(result.columns)}
        if name == "HOT":
            found = badpixels.detect_hot_pixels(stack, darks=darks, gain=self.gain, mask=mask, backgrounds=backgrounds)
            return {name: found}, info
        if len(stack) == 1 and flats is None:
            return self._dead_in_one_exposure(planes, mask, backgrounds, info)
        found = badpixels.detect_dead_pixels(stack, flats=flats, gain=self.gain, mask=mask, backgrounds=backgrounds)
        return {name: found}, info

    def _dead_in_one_exposure(self, planes, mask, backgrounds, info):
        """DEAD from one exposure: a pixel far below its neighbours, where the sky stands at least 10 sigma
        above the zero level (``-PEDESTAL``, else 0). Below that a dead pixel cannot be told from the
        noise's low tail (11001 pixels on a 5-s M13 frame, whose sky is 13 ADU over a 23-ADU noise):
        the step is not done, and says so."""
        background = backgrounds[0]
        low = badpixels.detect_dead_pixels(self.data, gain=self.gain, mask=mask, backgrounds=backgrounds)
        self.low_outliers = low  # far below their neighbours: left out of the later tests (CR) either way
        zero = -float(self.header.get("PEDESTAL", 0.0)) if self.header is not None else 0.0
        sky = float(
            np.median(background.level[:: max(1, self.data.shape[0] // 64), :: max(1, self.data.shape[1] // 64)])
        )
        noise = background.median_noise
        if sky - zero < 10.0 * noise:
            reason = (
                f"not tested: one exposure whose sky ({sky - zero:.0f} ADU above its zero level) is within 10 sigma "
                f"of its noise ({noise:.0f} ADU); give --stack frames or --flats to find dead pixels"
            )
            log.warning("DEAD %s", reason)
            return {"DEAD": np.zeros(self.data.shape, dtype=bool)}, {**info, "skipped": reason}
        return {"DEAD": low}, {**info, "zero level": zero}

    def _cosmics(self, planes):
        options = self.cosmic_options
        result = cosmics.detect_cosmics(
            self.data,
            gain=self.gain,
            readnoise=self.readnoise,
            satlevel=self.level,
            variance=self.variance,
            mask=self.excluded(planes),
            header=self.header,
            background=self.background(planes),
            **options,
        )
        info = {"noise": result.noise}
        if result.gain is not None:
            info["gain"] = result.gain
        if result.readnoise is not None:
            info["readnoise"] = result.readnoise
        return {"CR": result.mask}, info

    def _network(self):
        module = network(True if self.cnn else None)
        mask = module.predict_mask(np.asarray(self.data, dtype=np.float32))
        out: dict[str, np.ndarray] = {}
        for plane in mask.schema.names:
            target = CNN_PLANES.get(plane, plane)
            pixels = mask.get(plane)
            out[target] = out[target] | pixels if target in out else pixels
        return out, {"classes": len(mask.schema.names)}


def _meaningful(variance) -> np.ndarray | None:
    """The variance, unless it is one constant everywhere (a file without one reads as 1)."""
    if variance is None:
        return None
    values = np.asarray(variance)
    sample = values[:: max(1, values.shape[0] // 256), :: max(1, values.shape[1] // 256)]
    if np.isfinite(values).all() and np.all(sample == sample.flat[0]) and np.all(values == values.flat[0]):
        return None
    return values


def _as_mask(planes: dict[str, np.ndarray], shape) -> Mask:
    maximask = get_schema("maximask")
    extra = [maximask.plane(n) for n in planes if n not in DETECTION_SCHEMA]
    schema = DETECTION_SCHEMA.with_planes(*extra) if extra else DETECTION_SCHEMA
    out = Mask(shape, schema)
    for name, pixels in planes.items():
        out.set(name, pixels)
    return out


def _named_like(mask: Mask, schema: MaskSchema) -> Mask:
    """``mask`` with each plane ``schema`` lacks renamed to a synonym it has (``schema.SYNONYMS``)."""
    return Mask(mask.array, schema.aligned(mask.schema), copy=False)


def _grown(mask: Mask, radii: dict[str, float]) -> Mask:
    unknown = [name for name in radii if name not in mask.schema]
    if unknown:
        raise ParameterError(f"cannot grow unknown plane {', '.join(unknown)}; planes: {', '.join(mask.schema.names)}")
    by_radius: dict = {}
    for name, radius in radii.items():
        if radius and mask.get(name).any():
            by_radius.setdefault(radius, []).append(name)
    for radius, names in by_radius.items():
        mask = grow_mask(mask, radius, planes=names)
    return mask


def _describe(info: dict) -> str:
    if not info:
        return ""
    return " (" + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in info.items()) + ")"
