"""Files astromask writes open in lsst.images itself, and files lsst.images writes open in astromask.

lsst.images needs Python >= 3.12 (``../shared/reference/lsst-images.md`` §1), so
it runs in its own interpreter: a virtual environment at ``<repo>/.venv-lsst312``
(git-ignored), made with the first Python >= 3.12 found (``python3.12``,
``python3.13`` on PATH, or ``~/.pyenv/versions/3.1x*``) and filled with
``pip install lsst-images requests`` on first use (``requests`` because
lsst.resources imports it to parse the schema URL). Set ``ASTROMASK_LSST_PYTHON``
to an interpreter that already has lsst.images to skip all that. The tests skip
when no such interpreter can be had.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

import astromask
from astromask import Mask, MaskedImage, MaskPlane, MaskSchema

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / ".venv-lsst312"
PIP_TIMEOUT = 900


# ------------------------------------------------------------------------------------------------
# the lsst.images interpreter
# ------------------------------------------------------------------------------------------------


def _run(args, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def _is_312(exe: str) -> bool:
    """True when ``exe`` really runs and is Python >= 3.12 (a pyenv shim may exist and fail)."""
    try:
        result = _run([exe, "-c", "import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)"], timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def _has_lsst_images(exe: Path | str) -> bool:
    try:
        return _run([str(exe), "-c", "import lsst.images, requests"], timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def find_python312() -> str | None:
    """The first working Python >= 3.12 interpreter."""
    candidates = [shutil.which(name) for name in ("python3.12", "python3.13", "python3.14")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.1[2-9]*/bin/python3")))
    return next((c for c in candidates if c and _is_312(c)), None)


@pytest.fixture(scope="module")
def lsst_python() -> str:
    """An interpreter that imports lsst.images (made on first use)."""
    override = os.environ.get("ASTROMASK_LSST_PYTHON")
    if override:
        if not _has_lsst_images(override):
            pytest.skip(f"ASTROMASK_LSST_PYTHON={override} cannot import lsst.images")
        return override
    python = VENV / "bin" / "python"
    if python.exists() and _has_lsst_images(python):
        return str(python)
    base = find_python312()
    if base is None:
        pytest.skip("no Python >= 3.12 interpreter found (lsst.images needs one)")
    if not python.exists():
        made = _run([base, "-m", "venv", str(VENV)], timeout=300)
        if made.returncode != 0:
            pytest.skip(f"cannot create {VENV}: {made.stderr.strip()[-500:]}")
    try:
        pip = _run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "lsst-images", "requests"],
            timeout=PIP_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"pip install lsst-images took more than {PIP_TIMEOUT} s")
    if pip.returncode != 0 or not _has_lsst_images(python):
        pytest.skip(f"cannot install lsst-images into {VENV}: {pip.stderr.strip()[-500:]}")
    return str(python)


def run_script(python: str, script: str, *args: str) -> dict:
    result = _run([python, "-c", script, *args], timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


# ------------------------------------------------------------------------------------------------
# astromask writes, lsst.images reads
# ------------------------------------------------------------------------------------------------

READ_SCRIPT = r"""
import json, sys
import numpy as np
from lsst.images import MaskedImage

out = {}
for path in sys.argv[1:]:
    mi = MaskedImage.read(path)
    planes = [None if p is None else p.name for p in mi.mask.schema]
    out[path] = {
        "planes": planes,
        "yx0": [int(v) for v in mi.bbox.start],
        "unit": None if mi.unit is None else mi.unit.to_string(),
        "variance_unit": None if mi.variance.unit is None else mi.variance.unit.to_string(),
        "image": mi.image.array.astype(float).tolist(),
        "variance": mi.variance.array.astype(float).tolist(),
        "mask": {p: np.flatnonzero(mi.mask.get(p)).tolist() for p in planes if p is not None},
        "metadata": {k: v for k, v in mi.metadata.items() if isinstance(v, (str, int, float, bool))},
    }
print(json.dumps(out))
"""


def tan_wcs() -> WCS:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [150.0, 2.0]
    wcs.wcs.crpix = [10.0, 12.0]
    wcs.wcs.cdelt = [-5e-5, 5e-5]
    return wcs


def synthetic(planes, *, shape=(30, 41), xy0=(0, 0), unit=None, wcs=None, seed=0) -> MaskedImage:
    rng = np.random.default_rng(seed)
    schema = MaskSchema([None if p is None else MaskPlane(p, f"plane {p}") for p in planes])
    mask = Mask(shape, schema)
    for name in schema.names:
        mask.set(name, rng.random(shape) < 0.1)
    image = rng.normal(100.0, 5.0, shape).astype(np.float32)
    return MaskedImage(image, mask=mask, variance=image / 25.0, unit=unit, wcs=wcs, xy0=xy0)


RICE = {"image_compression": "RICE_1", "variance_compression": "RICE_1", "compression_seed": 50}
WRITTEN = {
    "gzip2-units-origin": (dict(planes=["BAD", "SAT", "CR"], xy0=(200, 100), unit="nJy"), {}),
    "no-compression": (dict(planes=["BAD", "SAT", "CR"], xy0=(-3, 7)), {"compression": None}),
    "40-planes": (dict(planes=[f"P{i}" for i in range(40)]), {}),
    "placeholders": (dict(planes=["BAD", None, "SAT", None, None, *[f"P{i}" for i in range(33)], None, "Z"]), {}),
    "64-planes": (dict(planes=[f"P{i}" for i in range(64)], unit="adu"), {"compression": "GZIP_1"}),
    "lossy-rice": (dict(planes=["BAD", "CR"], unit="nJy"), RICE),
    "sky-wcs": (dict(planes=["BAD"], xy0=(5, 8), unit="electron", wcs=tan_wcs()), {"mask_compression": "RICE_1"}),
}


@pytest.fixture(scope="module")
def written(lsst_python, tmp_path_factory) -> dict:
    """``{case: (what astromask wrote, what lsst.images read)}``."""
    folder = tmp_path_factory.mktemp("astromask-written")
    originals = {}
    for seed, (case, (kwargs, options)) in enumerate(WRITTEN.items()):
        mi = synthetic(seed=seed, **kwargs)
        if case == "gzip2-units-origin":
            mi.metadata["OBSID"] = "x123"
            mi.metadata["EXPTIME"] = 30.0
        path = str(folder / f"{case}.fits")
        astromask.write(mi, path, **options)
        originals[case] = (mi, path)
    seen = run_script(lsst_python, READ_SCRIPT, *(path for _, path in originals.values()))
    return {case: (mi, seen[path], path) for case, (mi, path) in originals.items()}


@pytest.mark.parametrize("case", WRITTEN)
def test_lsst_images_reads_what_astromask_writes(written, case):
    mi, seen, path = written[case]
    assert seen["planes"] == [None if p is None else p.name for p in mi.mask.schema.planes]
    assert seen["yx0"] == [mi.xy0[1], mi.xy0[0]]
    if mi.unit is None:
        assert seen["unit"] is None and seen["variance_unit"] is None
    else:
        assert u.Unit(seen["unit"]) == mi.unit
        assert u.Unit(seen["variance_unit"]) == mi.unit**2
    for name in mi.mask.schema.names:
        assert seen["mask"][name] == np.flatnonzero(mi.mask.get(name)).tolist(), name
    image = np.array(seen["image"], dtype=np.float32)
    variance = np.array(seen["variance"], dtype=np.float32)
    if case == "lossy-rice":  # lossy: both readers decode the same quantized values
        np.testing.assert_allclose(image, mi.image, rtol=0.01)
        ours = astromask.read(path)
        np.testing.assert_array_equal(image, ours.image)
        np.testing.assert_array_equal(variance, ours.variance)
    else:
        np.testing.assert_array_equal(image, mi.image)
        np.testing.assert_array_equal(variance, mi.variance)


def test_lsst_images_sees_metadata_cards(written):
    _, seen, _ = written["gzip2-units-origin"]
    assert seen["metadata"] == {"OBSID": "x123", "EXPTIME": 30.0}


def test_lsst_images_reads_rewritten_reference(lsst_python, tmp_path):
    from conftest import shared_path

    reference = shared_path("lsst_images", "lsst_images_maskedimage_gzip2.fits")
    path = str(tmp_path / "again.fits")
    astromask.write(astromask.read(reference), path)
    seen = run_script(lsst_python, READ_SCRIPT, path, str(reference))
    assert seen[path] == seen[str(reference)]


# ------------------------------------------------------------------------------------------------
# lsst.images writes, astromask reads
# ------------------------------------------------------------------------------------------------

WRITE_SCRIPT = r"""
import json, sys
import numpy as np
import astropy.units as u
from astropy.io import fits
from astropy.wcs import WCS
from lsst.images import GeneralFrame, Image, MaskedImage, MaskPlane, MaskSchema, SkyProjection
from lsst.images.fits import FitsCompressionOptions

out = {}
for case in json.load(open(sys.argv[1])):
    data = np.load(case["npz"])
    y0, x0 = case["yx0"]
    unit = u.Unit(case["unit"]) if case["unit"] else None
    image = Image(data["image"], yx0=(y0, x0), unit=unit)
    variance = Image(data["variance"], yx0=(y0, x0), unit=None if unit is None else unit**2)
    schema = MaskSchema([None if p is None else MaskPlane(p, "plane " + p) for p in case["planes"]])
    projection, sky = None, None
    if case["wcs"]:
        wcs = WCS(fits.Header.fromstring(case["wcs"]))
        projection = SkyProjection.from_fits_wcs(wcs, GeneralFrame(unit=u.pix), x0=x0, y0=y0)
        c = projection.pixel_to_sky(x=np.array([x0 + 3.0]), y=np.array([y0 + 2.0]))
        sky = [float(c.ra.deg[0]), float(c.dec.deg[0])]
    mi = MaskedImage(image, variance=variance, mask_schema=schema, sky_projection=projection,
                     metadata=case["metadata"])
    names = [p for p in case["planes"] if p is not None]
    for k, name in enumerate(names):
        mi.mask.set(name, data["mask"][k])
    options = {}
    if case["seed"]:
        lossy = FitsCompressionOptions.LOSSY
        options = {"compression_options": {"image": lossy, "variance": lossy}, "compression_seed": case["seed"]}
    mi.write(case["path"], **options)
    out[case["path"]] = {"sky": sky}
print(json.dumps(out))
"""

FROM_LSST = {
    "units-origin-metadata": dict(planes=["BAD", "SATURATED", None, "COSMIC_RAY"], yx0=[100, 200], unit="nJy"),
    "40-planes": dict(planes=[f"P{i}" for i in range(40)], yx0=[0, 0], unit=None),
    "placeholders-two-hdus": dict(
        planes=[None, "A", *[f"P{i}" for i in range(35)], None, "Z"], yx0=[-2, 10], unit=None
    ),
    "lossy": dict(planes=["BAD", "CR"], yx0=[0, 0], unit="nJy", seed=50),
    "sky-projection": dict(planes=["BAD"], yx0=[5, 8], unit="nJy", wcs=True),
}


@pytest.fixture(scope="module")
def from_lsst(lsst_python, tmp_path_factory) -> dict:
    """``{case: (inputs, path, what lsst.images reported)}`` for files lsst.images wrote."""
    folder = tmp_path_factory.mktemp("lsst-written")
    rng = np.random.default_rng(42)
    jobs, inputs = [], {}
    for case, spec in FROM_LSST.items():
        names = [p for p in spec["planes"] if p is not None]
        image = rng.normal(100.0, 5.0, (30, 41)).astype(np.float32)
        arrays = {
            "image": image,
            "variance": image / 25.0,
            "mask": rng.random((len(names), 30, 41)) < 0.1,
        }
        np.savez(folder / f"{case}.npz", **arrays)
        path = str(folder / f"{case}.fits")
        metadata = {"OBSID": "x123", "EXPTIME": 30.0} if case == "units-origin-metadata" else None
        wcs = tan_wcs().to_header().tostring() if spec.get("wcs") else None
        jobs.append(
            dict(
                path=path,
                npz=str(folder / f"{case}.npz"),
                planes=spec["planes"],
                yx0=spec["yx0"],
                unit=spec["unit"],
                metadata=metadata,
                seed=spec.get("seed"),
                wcs=wcs,
            )
        )
        inputs[case] = (arrays, path)
    (folder / "jobs.json").write_text(json.dumps(jobs))
    reported = run_script(lsst_python, WRITE_SCRIPT, str(folder / "jobs.json"))
    return {case: (arrays, path, reported[path]) for case, (arrays, path) in inputs.items()}


@pytest.mark.parametrize("case", FROM_LSST)
def test_astromask_reads_what_lsst_images_writes(from_lsst, case):
    arrays, path, reported = from_lsst[case]
    spec = FROM_LSST[case]
    mi = astromask.read(path)
    assert [None if p is None else p.name for p in mi.mask.schema.planes] == spec["planes"]
    assert mi.xy0 == (spec["yx0"][1], spec["yx0"][0])
    assert (mi.unit is None) if spec["unit"] is None else (mi.unit == u.Unit(spec["unit"]))
    names = [p for p in spec["planes"] if p is not None]
    for k, name in enumerate(names):
        np.testing.assert_array_equal(mi.mask.get(name), arrays["mask"][k], err_msg=name)
    if spec.get("seed"):
        np.testing.assert_allclose(mi.image, arrays["image"], rtol=0.01)
        np.testing.assert_allclose(mi.variance, arrays["variance"], rtol=0.01)
    else:
        np.testing.assert_array_equal(mi.image, arrays["image"])
        np.testing.assert_array_equal(mi.variance, arrays["variance"])
    if case == "units-origin-metadata":
        assert mi.metadata["OBSID"] == "x123" and mi.metadata["EXPTIME"] == 30.0
    if spec.get("wcs"):
        np.testing.assert_allclose(mi.wcs.pixel_to_world_values(3.0, 2.0), reported["sky"], rtol=0, atol=1e-10)


def test_lossy_compression_is_byte_identical(from_lsst, tmp_path):
    """Same pixels, RICE_1 level 16, writer seed 50: the same compressed bytes as lsst.images."""
    arrays, theirs, _ = from_lsst["lossy"]
    schema = MaskSchema([MaskPlane("BAD", "plane BAD"), MaskPlane("CR", "plane CR")])
    mask = Mask((30, 41), schema)
    for k, name in enumerate(schema.names):
        mask.set(name, arrays["mask"][k])
    mi = MaskedImage(arrays["image"], mask=mask, variance=arrays["variance"], unit="nJy")
    ours = str(tmp_path / "ours.fits")
    astromask.write(mi, ours, **RICE)
    with fits.open(theirs, disable_image_compression=True) as a, fits.open(ours, disable_image_compression=True) as b:
        for name, seed in (("IMAGE", 50), ("VARIANCE", 51)):
            assert a[name].header["ZDITHER0"] == b[name].header["ZDITHER0"] == seed
            assert a[name].header["ZQUANTIZ"] == b[name].header["ZQUANTIZ"] == "SUBTRACTIVE_DITHER_2"
            assert data_bytes(theirs, a, name) == data_bytes(ours, b, name)


def data_bytes(path: str, hdul: fits.HDUList, name: str) -> bytes:
    """The stored data segment (table and heap) of HDU ``name``."""
    info = hdul.fileinfo(hdul.index_of(name))
    return Path(path).read_bytes()[info["datLoc"] : info["datLoc"] + info["datSpan"]]
