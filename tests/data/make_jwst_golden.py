"""Write the JWST golden files with stdatamodels itself (not an astromask dependency).

Run with an environment that has ``stdatamodels`` (6.0.0 was used) and numpy:

    python tests/data/make_jwst_golden.py

It writes, beside this script:

* ``jwst_image_stdatamodels.fits``: an ``ImageModel`` (SCI/ERR/DQ/VAR_POISSON/VAR_RNOISE
  and stdatamodels' ASDF extension) with standard ``dqflags.pixel`` bits;
* ``jwst_mask_dq_def_stdatamodels.fits``: a ``MaskModel`` whose ``DQ`` uses the file's
  own packed bits, defined by its ``DQ_DEF`` table (as CRDS mask reference files do);
* ``jwst_mask_dynamic_mask.npy``: the ``dq`` of that file as ``MaskModel`` loads it,
  i.e. ``stdatamodels.dynamicdq.dynamic_mask(model, dqflags.pixel)``: its DQ remapped
  to the standard bits.

stdatamodels keeps ``dq`` in the standard bits in memory and packs it into the
``DQ_DEF`` bits on ``save`` (``dynamic_mask(..., inv=True)``), so the mask model is
given standard values; a flag the standard map lacks (``LOCAL_ONLY``) cannot be set
that way and stays clear in the file.
"""

from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels
from stdatamodels.jwst.datamodels import dqflags

HERE = Path(__file__).resolve().parent
SHAPE = (12, 10)


def image_model() -> None:
    rng = np.random.default_rng(42)
    model = datamodels.ImageModel(SHAPE)
    model.data = rng.normal(1.0, 0.1, SHAPE).astype(np.float32)
    model.err = rng.uniform(0.01, 0.05, SHAPE).astype(np.float32)
    model.var_poisson = rng.uniform(1e-4, 2e-4, SHAPE).astype(np.float32)
    model.var_rnoise = rng.uniform(1e-4, 2e-4, SHAPE).astype(np.float32)
    dq = np.zeros(SHAPE, dtype=np.uint32)
    dq[0, :] = dqflags.pixel["REFERENCE_PIXEL"] | dqflags.pixel["DO_NOT_USE"]
    dq[3, 4] = dqflags.pixel["SATURATED"]
    dq[5, 6] = dqflags.pixel["HOT"] | dqflags.pixel["JUMP_DET"]
    model.dq = dq
    model.meta.telescope = "JWST"
    model.meta.bunit_data = "MJy/sr"
    model.save(HERE / "jwst_image_stdatamodels.fits")


def mask_model() -> None:
    local = [
        ("DO_NOT_USE", "Bad pixel, do not use"),
        ("DEAD", "Dead pixel"),
        ("HOT", "Hot pixel"),
        ("LOCAL_ONLY", "A flag the standard map does not have"),
        ("NO_FLAT_FIELD", "Flat field cannot be measured"),
    ]
    rows = [(0, 0, "GOOD", "Good pixel")] + [(b, 1 << b, n, d) for b, (n, d) in enumerate(local)]
    model = datamodels.MaskModel(SHAPE)
    model.dq_def = np.array(rows, dtype=[("BIT", "<i4"), ("VALUE", "<u4"), ("NAME", "S40"), ("DESCRIPTION", "S80")])
    rng = np.random.default_rng(43)
    standard = np.zeros(SHAPE, dtype=np.uint32)
    for name in ("DO_NOT_USE", "DEAD", "HOT", "NO_FLAT_FIELD"):
        standard[rng.random(SHAPE) < 0.2] |= dqflags.pixel[name]
    model.dq = standard
    model.save(HERE / "jwst_mask_dq_def_stdatamodels.fits")  # packed into the DQ_DEF bits
    with datamodels.MaskModel(HERE / "jwst_mask_dq_def_stdatamodels.fits") as saved:  # dynamic_mask on load
        assert np.array_equal(saved.dq, standard)
        np.save(HERE / "jwst_mask_dynamic_mask.npy", saved.dq)


if __name__ == "__main__":
    image_model()
    mask_model()
