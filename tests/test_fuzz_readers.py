"""Every reader, driven with mutated files: read, or refused with an AstromaskError (or OSError) whose
one-line message names the file. Anything else (a TypeError, a numpy reshape error, a hang) is a bug.

Seeds are small files of each format, written here by astromask (plain FITS with several HDUs,
lsst.images with and without tile compression, afw, CCDData, JWST, DECam CP, MaxiMask) and a gzip
copy. Mutations are the ones a broken writer or a cut download makes: the file cut at any byte, a
header card's value replaced (wrong type, out of range, huge, NaN, empty), a card blanked, bytes
changed anywhere (in tile-compressed data too). Each mutated file goes through ``astromask.read_all``
and ``astromask info``'s ``file_info``, which between them read every HDU.

The default run tries a few hundred files; ``ASTROMASK_FUZZ=10000`` (the slow-marked run) ten thousand.
"""

from __future__ import annotations

import functools
import gzip
import io
import os
import tempfile
import warnings

import numpy as np
import pytest
from astropy.io import fits
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import astromask
from astromask import Mask, MaskedImage, MaskSchema
from astromask.errors import AstromaskError
from astromask.info import file_info

DEFAULT = 300
SLOW = int(os.environ.get("ASTROMASK_FUZZ", "10000"))
DEADLINE_MS = 3000  # a 40×30 file read in far less: anything near this is a hang or a blow-up

VALUES = [
    "'abc'",
    "1E999",
    "-1E999",
    "'NaN'",
    "NaN",
    "-1",
    "0",
    "99999999999999999999",
    "-99999999999999999999",
    "1000",
    "T",
    "F",
    "''",
    "2.5",
    "65",
    "'SCI'",
    "'IMAGE   '",
    "'BINTABLE'",
    "'RICE_1'",
    "'GZIP_2'",
    "'NOCOMPRESS'",
    "",
]


def _masked(shape=(30, 40)) -> MaskedImage:
    rng = np.random.default_rng(17)
    schema = MaskSchema(["BAD", "SAT", "CR", "EDGE"])
    mask = Mask(np.zeros(shape, np.int32), schema)
    mask.array[:] = rng.integers(0, 16, shape, dtype=np.int32) * (rng.random(shape) < 0.2)
    image = rng.normal(100, 5, shape).astype(np.float32)
    return MaskedImage(image, mask=mask, variance=np.full(shape, 25.0, np.float32))


def _maximask_file() -> bytes:
    cube = (np.random.default_rng(3).random((3, 30, 40)) < 0.1).astype(np.uint8)
    header = fits.Header()
    header["MM_UTC"] = "Sat Nov 21 05:50:22 2026"
    header["PRIORS"] = "Yes"
    header["THRESH"] = "Yes"
    header["SMASK"] = "No"
    for dim, name in enumerate(["CR", "HCL", "SAT"]):
        header[name] = f"{name}: class"
        header[f"{name}_DIM"] = str(dim)
    stream = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(cube, header)]).writeto(stream)
    return stream.getvalue()


def _several_hdus_file() -> bytes:
    rng = np.random.default_rng(5)
    hdus = [fits.PrimaryHDU()]
    for n in (1, 2):
        hdus.append(fits.ImageHDU(rng.integers(0, 4, (30, 40)).astype(np.int16), name=f"CCD{n}"))
    stream = io.BytesIO()
    fits.HDUList(hdus).writeto(stream)
    return stream.getvalue()


@functools.cache
def seeds() -> dict[str, bytes]:
    """Small valid files, one per format (and layout), as bytes."""
    out: dict[str, bytes] = {"several.fits": _several_hdus_file(), "maximask.fits": _maximask_file()}
    with tempfile.TemporaryDirectory() as folder:
        masked = _masked()
        for name, fmt, options in [
            ("lsst.fits", "lsst", {}),
            ("lsst_plain.fits", "lsst", {"compression": None, "image_compression": None}),
            ("afw.fits", "afw", {}),
            ("ccddata.fits", "ccddata", {}),
            ("jwst.fits", "jwst", {}),
            ("mask.fits", "fits", {}),
        ]:
            path = os.path.join(folder, name)
            obj = masked.mask if fmt == "fits" else masked
            astromask.write(obj, path, format=fmt, **options)
            with open(path, "rb") as stream:
                out[name] = stream.read()
        path = os.path.join(folder, "decam.fits")
        schema = astromask.get_schema("decam_cp")
        decam = Mask(np.zeros((30, 40), np.int32), schema)
        decam.array[5:9, 3] = 1 << schema.bit("BAD")
        decam.array[12, 7:12] = 1 << schema.bit("SAT")
        astromask.write(decam, path, format="decam")
        with open(path, "rb") as stream:
            out["decam.fits"] = stream.read()
    for name in list(out):  # every seed reads as it is (and the lazy imports are done before timing)
        assert astromask.read_all(_file(out[name], name)) is not None
        assert file_info(_file(out[name], name))["hdus"]
    out["lsst.fits.gz"] = gzip.compress(out["lsst.fits"], mtime=0)
    return out


_FOLDER = tempfile.mkdtemp(prefix="astromask-fuzz-")


def _file(data: bytes, name: str) -> str:
    path = os.path.join(_FOLDER, name)
    with open(path, "wb") as stream:
        stream.write(data)
    return path


def _cards(data: bytes) -> list[int]:
    """Byte offsets of the keyword cards of every header (a raw walk, as a broken writer sees them)."""
    offsets, at, in_header = [], 0, True
    while at + 80 <= len(data):
        card = data[at : at + 80]
        if in_header:
            if card.startswith(b"END     "):
                in_header = False
            elif card[8:10] == b"= ":
                offsets.append(at)
            at += 80
        else:  # step to the next header: the next block starting with XTENSION
            at = -(-at // 2880) * 2880
            nxt = data.find(b"XTENSION= ", at)
            if nxt < 0 or nxt % 2880:
                break
            at, in_header = nxt, True
    return offsets


class Case:
    """A seed and the edits made to it; its repr (what hypothesis prints on failure) rebuilds it."""

    def __init__(self, name: str, kind: str, edits=()):
        self.name, self.kind, self.edits = name, kind, []
        self.data = bytearray(seeds()[name])
        for edit in edits:
            self.apply(edit)

    def apply(self, edit) -> None:
        self.edits.append(edit)
        data = self.data
        if self.kind == "cut":
            del data[edit:]
        elif self.kind == "blank":
            data[edit : edit + 80] = b" " * 80
        elif self.kind == "card":
            at, _, value = edit
            data[at + 10 : at + 80] = value.rjust(20).ljust(70).encode()[:70]
        else:
            at, byte = edit
            data[at] = byte

    def __repr__(self) -> str:
        return f"Case({self.name!r}, {self.kind!r}, edits={self.edits!r})"


@st.composite
def mutated(draw):
    name = draw(st.sampled_from(sorted(seeds())))
    kinds = ["cut", "bytes"] if name.endswith(".gz") else ["cut", "card", "card", "card", "blank", "bytes"]
    case = Case(name, draw(st.sampled_from(kinds)))
    if case.kind == "cut":
        case.apply(draw(st.integers(0, len(case.data) - 1)))
    elif case.kind in ("card", "blank"):
        offsets = _cards(bytes(case.data))
        for _ in range(draw(st.integers(1, 3))):
            at = draw(st.sampled_from(offsets))
            if case.kind == "blank":
                case.apply(at)
                continue
            value = draw(st.one_of(st.sampled_from(VALUES), st.text(alphabet="0123456789.-+E'TF ", max_size=20)))
            case.apply((at, bytes(case.data[at : at + 8]).decode().strip(), value))
    else:
        for _ in range(draw(st.integers(1, 8))):
            case.apply((draw(st.integers(0, len(case.data) - 1)), draw(st.integers(0, 255))))
    return case


#: what the fuzz pass found (each was a traceback, a hang or a message without the file), kept as
#: regression cases; the card offsets are those of the seeds as written here
FINDINGS = [
    ("mask.fits", "card", [(None, "ZTILE1", "1E999")]),  # OverflowError in astropy's tile shape
    ("mask.fits", "card", [(None, "TFORM1", "1E999")]),  # VerifyError: Format inf
    ("mask.fits", "card", [(None, "TFORM1", "'abc'")]),  # RuntimeError: Invalid TFORM1
    ("mask.fits", "card", [(None, "TTYPE1", "1E999")]),  # AssertionError in astropy's Column
    ("mask.fits", "card", [(None, "ZCMPTYPE", "'abc'")]),  # the message named no file
    ("maximask.fits", "card", [(None, "ZNAME1", "1E999")]),  # AttributeError while opening
    ("maximask.fits", "card", [(None, "ZVAL1", "'abc'")]),  # TypeError in the decoder
    ("maximask.fits", "card", [(None, "TTYPE1", "'abc'")]),  # KeyError: no COMPRESSED_DATA column
    ("jwst.fits", "card", [(None, "TZERO2", "'abc'")]),  # UFuncTypeError reading DQ_DEF
    ("jwst.fits", "card", [(None, "TFIELDS", "'abc'")]),  # TypeError reading DQ_DEF
    ("jwst.fits", "card", [(None, "BSCALE", "")]),  # TypeError: float(None)
    ("jwst.fits", "card", [(None, "BSCALE", "2.5")]),  # a float DQ: no file in the message
    ("afw.fits", "card", [(None, "EXTNAME", "E")]),  # VerifyError: unparsable card
    ("afw.fits", "card", [(None, "MP_BAD", "99999999999999999999")]),  # TypeError in isfinite
    ("afw.fits", "card", [(None, "SIMPLE", "F")]),  # AttributeError on a _NonstandardHDU
    ("afw.fits", "card", [(None, "LTV1", "'abc'")]),  # the message named no file
    ("lsst.fits", "card", [(None, "FMTVER", "1E999")]),  # OverflowError
    ("ccddata.fits", "card", [(None, "MSKN0000", "E"), (None, "EXTNAME", "E")]),  # two unparsable cards
    ("jwst.fits", "card", [(None, "XTENSION", "'abc'")]),  # an unknown extension read as nothing
    ("lsst_plain.fits", "card", [(None, "TFIELDS", "99999999999999999999")]),  # astropy filled 24 GB
    ("maximask.fits", "card", [(None, "ZTILE3", "-4")]),  # a tile table decoded to an empty cube
    ("mask.fits", "card", [(None, "ZNAXIS1", "99999")]),  # more pixels than the tiles stored
    ("jwst.fits", "card", [(None, "BZERO", "-1")]),  # an integer DQ that astropy scales to floats
    ("lsst.fits.gz", "bytes", [(10, 0)]),  # zlib.error from the gzip stream
    ("afw.fits", "bytes", [(3930, 0)]),  # a NUL in a card value: ValueError
]


def _finding(name: str, kind: str, edits) -> Case:
    """The case, its cards found by keyword (the first one of that name) in the seed."""
    case = Case(name, kind)
    for edit in edits:
        if kind == "card":
            _, key, value = edit
            at = next(o for o in _cards(bytes(case.data)) if case.data[o : o + 8].rstrip() == key.encode())
            edit = (at, key, value)
        case.apply(edit)
    return case


def _read_or_refused(name: str, data: bytes) -> None:
    path = _file(data, name)
    for read in (astromask.read_all, file_info):
        try:
            with warnings.catch_warnings():  # a warning is printed, not raised, by the command line
                warnings.simplefilter("ignore")
                read(path)
        except AstromaskError as exc:
            message = str(exc).strip()
            assert message and "\n" not in message, repr(message)
            assert name in message, f"the message does not name the file: {message!r}"
            assert len(message) < 600, message
        except OSError:
            pass  # the file system's own word (for example a file that vanished): the user's to fix


def _check(examples: int):
    @settings(
        max_examples=examples,
        deadline=DEADLINE_MS,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        derandomize=True,
        database=None,
    )
    @given(mutated())
    def check(case):
        _read_or_refused(case.name, bytes(case.data))

    return check


def test_every_reader_reads_or_names_the_file():
    _check(DEFAULT)()


@pytest.mark.parametrize("finding", FINDINGS, ids=lambda f: f"{f[0]}-{f[2][0][1] if f[1] == 'card' else f[1]}")
def test_fuzz_findings_are_refused_naming_the_file(finding):
    case = _finding(*finding)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AstromaskError, match=case.name.replace(".", r"\.")):
            astromask.read_all(_file(bytes(case.data), case.name))
    _read_or_refused(case.name, bytes(case.data))


@pytest.mark.slow
def test_every_reader_reads_or_names_the_file_at_length():
    _check(SLOW)()
