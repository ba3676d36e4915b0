"""Malformed text is refused at the column where it goes wrong, counted in the text the user typed,
with what was expected there (issue 17, point 4)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from astromask import MaskSchema
from astromask.errors import FlagExpressionError, ParseError
from astromask.filter.syntax import parse_virtual_file

SCHEMA = MaskSchema(["BAD", "SAT", "CR"])


@pytest.mark.parametrize(
    ("expr", "column", "problem"),
    [
        ("BAD,SAT+CR", 8, "mixes the separators ',' and '+'"),
        ("1,2+8", 4, "mixes the separators ',' and '+'"),
        ("BAD,,SAT", 5, "expected a plane name or integer, found ','"),
        ("BAD,", 5, "expected a plane name or integer, found the end"),
        ("~(BAD", 6, "missing ')'"),
        ("(BAD)+", 6, "unexpected '+' after ')'"),
        ("BAD SAT", 5, "expected a separator"),
        ("BAD,2.5", 6, "expected a separator"),
        ("BAD,~SAT", 5, "found '~'"),
        ("3,4", 1, "3 is not a bit flag"),
        ("1,0", 3, "0 is not a bit flag"),
        ("BAD,512", 5, "512 uses bit 9"),
    ],
)
def test_flag_expressions_name_the_column(expr, column, problem):
    with pytest.raises(FlagExpressionError) as info:
        SCHEMA.flags(expr)
    assert info.value.column == column
    assert problem in str(info.value) and f"at column {column}" in str(info.value)
    assert expr[column - 1 :] in expr  # (the column points into the text given)


@pytest.mark.parametrize(
    ("expr", "value"),
    [("BAD|SAT", 3), ("~(BAD+SAT)", 4), ("~BAD", 6), ("(CR)", 4), (" BAD , CR ", 5), ("3", 3), ("-1", 7), ("4,1", 5)],
)
def test_well_formed_flag_expressions_still_read_as_astropy_reads_them(expr, value):
    assert SCHEMA.flags(expr) == value


def _image(tmp_path):
    path = tmp_path / "img.fits"
    fits.PrimaryHDU(np.ones((20, 20), np.float32)).writeto(path)
    return path


@pytest.mark.parametrize(
    ("region", "offset", "problem"),
    [
        ("circle(1,2,3)*", 14, "expected a shape"),  # the end of the region text
        ("circle(1,2,3)-cirle(2,2,2)", 14, "unknown shape 'cirle'"),
        ("circle(1,2)", 0, "circle takes 3 arguments"),
        ("bounds(circle(1,2,3)-cirle(2,2,2))", 21, "unknown shape 'cirle'"),
    ],
)
def test_a_region_inside_a_filter_is_refused_at_its_column_in_the_whole_filter(cli, tmp_path, region, offset, problem):
    """The region parser's column, counted from the start of the region, is moved to the whole filter
    text: one column, one quoted text (before, both were printed, each in its own frame)."""
    image = _image(tmp_path)
    text = f"{image}[sky={region}]"
    code, _, err = cli("filter", text, tmp_path / "out.fits")
    assert code == 1
    start = len(f"{image}[sky=") + 1
    assert problem in err and f"at column {start + offset} in {text!r}" in err, err
    assert err.count("at column") == 1 and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.fits").exists()


def test_filter_syntax_errors_carry_the_column_of_the_whole_text():
    text = "evt.fits[pi=1:300,,time=0:1]"
    with pytest.raises(ParseError) as info:
        parse_virtual_file(text)
    assert info.value.column == text.index(",,") + 2 and "expected a column name" in str(info.value)


@pytest.mark.parametrize(
    ("content", "line", "shape"),
    [
        ("# Region file format: DS9\nimage\ncircle(10,10,5)\nbox(1,2,3\n", 4, "box(1,2,3"),
        ("# Region file format: DS9\nimage\ncircle(10,10,5) # color=red\nellipse(5,5,2,x)\n", 4, "ellipse(5,5,2,x)"),
        ("#CRTFv0\ncircle[[10pix,10pix],5pix]\nbox[[1pix,2pix],[3pix\n", 3, "box[[1pix,2pix],[3pix"),
    ],
    ids=["ds9-cut", "ds9-not-a-number", "crtf-cut"],
)
def test_ds9_and_crtf_shapes_that_cannot_be_read_name_the_file_line_and_shape(cli, tmp_path, content, line, shape):
    """The regions package gives no position, and fails in several types (a cut ds9 box was a
    TypeError, printed as an internal error): the failing line is found and named."""
    image = _image(tmp_path)
    regions = tmp_path / ("r.crtf" if content.startswith("#CRTF") else "r.reg")
    regions.write_text(content)
    code, _, err = cli("region", image, regions, tmp_path / "out.fits")
    assert code == 1, err
    assert f"{regions}, line {line}:" in err and "shape cannot be read" in err and repr(shape) in err, err
    assert "internal error" not in err and len(err.strip().splitlines()) == 1
