"""Every parser, driven with generated and mutated text: accepted, or an AstromaskError whose one-line
message names the thing. Anything else (a TypeError, a RecursionError, a hang) is a bug.

The default run tries a few hundred inputs per parser; ``ASTROMASK_FUZZ=10000`` (the slow-marked
run in CI sets it) tries ten thousand. Findings are kept as ``@example`` regression cases.
"""

from __future__ import annotations

import os
import tempfile
import tomllib

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from astromask import MaskSchema
from astromask.calc import parse as parse_calc
from astromask.errors import AstromaskError, ParseError
from astromask.filter.syntax import parse_virtual_file
from astromask.footprint import parse_size
from astromask.io.fitsfile import parse_fits_name
from astromask.maximask.config import read_config_file
from astromask.regions.region import parse as parse_region
from astromask.stack.config import StackConfig
from astromask.threshold import parse_cut

DEFAULT = 300
SLOW = int(os.environ.get("ASTROMASK_FUZZ", "10000"))
#: each input must be answered in well under a second: a quadratic blow-up or a hang fails
DEADLINE_MS = 1000

VALID = {
    "flags": ["BAD,SAT", "~(CR+SAT)", "BAD|CR", "1,2,4", "~(BAD)", "*", "NONE", "SAT"],
    "calc": ["imgout=(1-img1)", "img1*img2>3 ? 1 : 0", "sqrt(abs(img1))+pi", "!(img1 && img2)", "max(img1, 2)^2"],
    "region": [
        "circle(10,20,5)",
        "box(1,2,3,4,30)-circle(2,2,1)",
        "rotbox(5,5,4,2,45)*annulus(3,3,1,2)",
        "polygon(1,1,5,1,3,4)",
        "!ellipse(4,4,3,2,0)",
        "field()-sector(3,3,0,90)",
    ],
    "filter": [
        "evt.fits[EVENTS][sky=circle(4096,4096,20)]",
        "evt.fits[pi=1:300,time=0:1000]",
        "img.fits[exclude sky=region(r.reg)]",
        "evt.fits[(x,y)=mask(m.fits)][opt full]",
        "evt.fits[EVENTS][energy>500&&energy<2000]",
    ],
    "size": ["10", "2.5", "10arcsec", "0.2deg", "3 arcmin", "1e-3 rad", "4pix"],
    "cut": ["1:5", ":0", "3:", "-2.5:1e3", "1:", ":"],
    "name": ["f.fits[1]", "f.fits[SCI]", "f.fits[SCI,2]", "f.fits+1", "f.fits[PRIMARY]", "a b.fits[ccd2]"],
}
ALPHABET = "0123456789+-*/^!&|~,:;=()[]{}<>?.eE'\" \t_xyBADSATCRimg"


def _mutated(key: str):
    """A valid example of ``key``'s grammar with random characters inserted, deleted or replaced."""

    @st.composite
    def build(draw):
        text = list(draw(st.sampled_from(VALID[key])))
        for _ in range(draw(st.integers(1, 6))):
            kind = draw(st.sampled_from(["insert", "delete", "replace", "repeat"]))
            at = draw(st.integers(0, len(text)))
            if kind == "insert":
                text.insert(at, draw(st.sampled_from(ALPHABET)))
            elif kind == "delete" and text:
                del text[min(at, len(text) - 1)]
            elif kind == "replace" and text:
                text[min(at, len(text) - 1)] = draw(st.sampled_from(ALPHABET))
            elif kind == "repeat":
                text[at:at] = list(draw(st.sampled_from(["(", ")", "!", "~(", "[", "]"]))) * draw(st.integers(1, 60))
        return "".join(text)

    return build()


def _inputs(key: str):
    return st.one_of(_mutated(key), st.text(alphabet=ALPHABET, max_size=60), st.text(max_size=30))


def _answers_or_names_the_problem(parse, text: str) -> None:
    try:
        parse(text)
    except AstromaskError as exc:
        message = str(exc)
        assert message.strip() and "\n" not in message.strip(), repr(message)
        assert len(message) < 600, "the message repeats the input"  # (a 100000-space string is cut)
        syntax, column = isinstance(exc, ParseError), getattr(exc, "column", None)
        if syntax:  # malformed text: where, and what was expected there
            assert column is not None and 1 <= column <= len(text) + 1, (column, message)
            assert f"at column {column}" in message, message


SCHEMA = MaskSchema(["BAD", "SAT", "CR"])


def _config_file(text: str) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".flags", delete=False) as stream:
        stream.write(text)
    try:
        read_config_file(stream.name, int)
    finally:
        os.remove(stream.name)


def _stack_config(text: str) -> None:
    try:
        values = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return  # not TOML: the loader says so before astromask sees it (tested in test_stack.py)
    StackConfig.from_mapping(values, source="fuzz.toml")


PARSERS = {
    "flags": SCHEMA.flags,
    "calc": parse_calc,
    "region": parse_region,
    "filter": parse_virtual_file,
    "size": lambda text: parse_size(text, "--radius"),
    "cut": lambda text: parse_cut(text, name="--cut"),
    "name": parse_fits_name,
}


def _check(key: str, examples: int):
    @settings(
        max_examples=examples,
        deadline=DEADLINE_MS,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        derandomize=True,  # the same inputs on every machine and run
        database=None,
    )
    @given(_inputs(key))
    @example("")
    @example(" " * 100000)
    @example("(" * 5000)
    @example("~(" * 3000)
    @example("1" + " " * 100000 + ":5")
    @example(".fits[,1]")  # a StopIteration once
    def check(text):
        _answers_or_names_the_problem(PARSERS[key], text)

    return check


@pytest.mark.parametrize("key", list(PARSERS))
def test_parser_answers_or_names_the_problem(key):
    _check(key, DEFAULT)()


@pytest.mark.slow
@pytest.mark.parametrize("key", list(PARSERS))
def test_parser_answers_or_names_the_problem_at_length(key):
    _check(key, SLOW)()


lines = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["CR", "HCL", "X", ""]), st.sampled_from(["1", "0", "0.5", "x", "1e999", "-3", ""])
        ).map(" ".join),
        st.text(alphabet=ALPHABET, max_size=20),
    ),
    max_size=20,
).map("\n".join)


def _config_check(examples: int):
    @settings(max_examples=examples, deadline=DEADLINE_MS, derandomize=True, database=None)
    @given(lines)
    @example("CR 1\n" * 14)
    @example("CR 1\n" * 13 + "BG nan")
    def check(text):
        try:
            _config_file(text)
        except AstromaskError as exc:
            message = str(exc)
            assert ".flags" in message and "\n" not in message.strip(), message

    return check


@pytest.mark.parametrize("examples", [DEFAULT, pytest.param(SLOW, marks=pytest.mark.slow)], ids=["default", "slow"])
def test_maximask_config_files_are_read_or_refused_with_the_file_named(examples):
    _config_check(examples)()


toml_values = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=10),
    st.lists(st.one_of(st.text(alphabet="BADSATCR,", max_size=6), st.integers(-3, 70)), max_size=4),
)
keys = st.sampled_from(
    [
        "flag_keys",
        "repeated_flag_keys",
        "mask_num_images",
        "mask_grow",
        "mask_threshold",
        "mask_bit_vector",
        "max_masked_pixels",
        "footprint",
        "unknown_flags",
        "mask_treshold",
    ]
)


def _stack_check(examples: int):
    @settings(max_examples=examples, deadline=DEADLINE_MS, derandomize=True, database=None)
    @given(st.dictionaries(keys, toml_values, max_size=4))
    @example({"mask_grow": 2**70})
    @example({"flag_keys": [True]})
    @example({"max_masked_pixels": float("nan")})
    def check(values):
        try:
            StackConfig.from_mapping(values, source="kbmod.toml")
        except AstromaskError as exc:
            message = str(exc)
            assert any(key in message for key in values) or "kbmod.toml" in message, message

    return check


@pytest.mark.parametrize("examples", [DEFAULT, pytest.param(SLOW, marks=pytest.mark.slow)], ids=["default", "slow"])
def test_stack_configurations_are_taken_or_refused_naming_the_key(examples):
    _stack_check(examples)()


def test_the_suite_sees_a_real_bug():
    """A parser that raises something else must fail the property (the suite can fail)."""

    def broken(text):
        raise TypeError("a bug")

    with pytest.raises(TypeError):
        _answers_or_names_the_problem(broken, "x")
    assert np.isfinite(DEADLINE_MS)
