"""The syntax kit: one cursor under every grammar, the filter grammar reading its regions with the
region grammar on its own cursor, columns in the user's own text."""

import pytest

from astromask.errors import CalcSyntaxError, FlagExpressionError, ParseError
from astromask.syntax import _scan
from astromask.syntax.calc import Binary, Name, Number, parse_tree
from astromask.syntax.filter import FilterSyntaxError, RegionFilter, filter_cursor, parse_filter, parse_virtual_file
from astromask.syntax.flags import scan_flag_list
from astromask.syntax.region import RegionFile, RegionSyntaxError, parse_terms, read_terms


@pytest.mark.parametrize(
    ("text", "stop"),
    [
        ("circle(1,2,3)-box(4,5,6,7),pi=1:3", ","),
        ("circle(1,2,3) - box(4,5,6,7) || pi=1:3", "|"),
        ("!circle(1,2,3)&box(4,5,6,7))", ")"),
    ],
)
def test_an_embedded_region_stops_before_the_delimiter_of_the_grammar_around_it(text, stop):
    cursor = filter_cursor(text)
    terms = read_terms(cursor)
    assert [term.kind for _, _, term in terms] == ["circle", "box"]
    assert text[cursor.pos] == stop and text[: cursor.pos].rstrip().endswith("7)")


def test_a_single_bar_inside_a_region_is_its_or_and_a_double_bar_ends_it():
    (group,) = parse_filter("sky=circle(1,1,1)|box(5,5,2,2)||pi=1:3")
    region, ranges = group.expression.items
    assert isinstance(region, RegionFilter) and region.text == "circle(1,1,1)|box(5,5,2,2)"
    assert [op for op, _, _ in region.terms] == ["|", "|"]
    assert ranges.columns.names == ("pi",)


def test_region_terms_carry_columns_of_the_whole_filter_text():
    text = "evt.fits[EVENTS][pi=1:300,sky=circle(4096,4096,20)-region(a.reg)]"
    (group,) = parse_virtual_file(text).groups
    region = group.expression.items[1]
    (_, _, circle), (op, _, file) = region.terms
    assert circle.column == text.index("circle") + 1
    assert circle.args[2].column == text.index("20)") + 1
    assert op == "-" and file == RegionFile("a.reg", text.index("a.reg") + 1)


@pytest.mark.parametrize(
    ("text", "column", "problem"),
    [
        ("evt.fits[sky=circle(1,2,3)-cirle(2,2,2)]", 28, "unknown shape 'cirle'"),
        ("evt.fits[sky=circle(1,2,3x)]", 26, "unknown unit 'x'"),
        ("evt.fits[sky=circle(1,2,3)+mask(m.fits)]", 28, "a mask cannot be combined with regions"),
        ("evt.fits[sky=bounds(circle(1,2)),pi=1:2]", 21, "circle takes 3 arguments"),
        ("evt.fits[sky=circle(1,2,3)+]", 28, "expected a shape"),
    ],
)
def test_a_region_error_inside_a_filter_is_a_filter_error_at_its_column(text, column, problem):
    with pytest.raises(FilterSyntaxError) as info:
        parse_virtual_file(text)
    assert info.value.column == column and problem in info.value.problem and info.value.text == text


def test_parse_filter_columns_count_in_the_text_given_with_no_made_up_prefix():
    text = "[pi=1:300][sky=circle(1,2)]"
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)
    assert info.value.text == text and info.value.column == text.index("circle") + 1
    assert "data" not in str(info.value)


def test_a_standalone_region_is_read_to_its_end():
    with pytest.raises(RegionSyntaxError) as info:
        parse_terms("circle(1,2,3),box(1,1,1,1)")
    assert info.value.column == 14 and "unexpected ','" in info.value.problem


def test_calc_tree_follows_the_precedence_table():
    tree = parse_tree("1 + 2 * img1 > 3 || img2", {})
    assert tree == Binary(
        "||",
        Binary(">", Binary("+", Number(1.0), Binary("*", Number(2.0), Name("img1", 9))), Number(3.0)),
        Name("img2", 21),
    )


def test_calc_power_is_right_associative_and_binds_tighter_than_unary_minus():
    assert parse_tree("2 ^ 3 ^ 2", {}) == Binary("^", Number(2.0), Binary("^", Number(3.0), Number(2.0)))
    tree = parse_tree("-img1 ^ 2", {})
    assert tree.op == "-" and tree.operand == Binary("^", Name("img1", 2), Number(2.0))


@pytest.mark.parametrize(
    ("parse", "text", "error", "column"),
    [
        (lambda t: parse_tree(t, {}), "1 + ²", CalcSyntaxError, 5),
        (scan_flag_list, "BAD, SAT+CR", FlagExpressionError, 9),
        (parse_terms, "circle(1,2,٣)", RegionSyntaxError, 12),
    ],
    ids=["calc", "flags", "region"],
)
def test_every_grammar_raises_a_parse_error_with_the_column(parse, text, error, column):
    with pytest.raises(error) as info:
        parse(text)
    assert isinstance(info.value, ParseError) and info.value.column == column


def test_the_shared_number_lexeme_takes_ascii_digits_only():
    assert _scan.NUMBER.fullmatch("1.5e-3") and _scan.NUMBER.fullmatch(".5")
    assert _scan.NUMBER.match("٣") is None and _scan.SIGNED_NUMBER.fullmatch("-2.")


@pytest.mark.parametrize("filters", ["pi=1:3,sky=cirle(1,1,1)", "[pi=1:3][sky=cirle(1,1,1)][opt full]"])
def test_filter_image_errors_quote_the_filters_as_given(filters):
    import numpy as np

    from astromask.filter import filter_image

    with pytest.raises(FilterSyntaxError) as info:
        filter_image(np.zeros((4, 4)), None, filters)
    assert info.value.text == filters and info.value.column == filters.index("cirle") + 1
    assert "image" not in str(info.value).replace(filters, "")


@pytest.mark.parametrize("name", ["region", "filter", "calc", "flags", "fits_name"])
def test_the_examples_of_each_grammar_run(name):
    import doctest
    import importlib

    module = importlib.import_module(f"astromask.syntax.{name}")
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0
