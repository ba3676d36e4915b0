"""CIAO virtual file names and DM filter syntax (`ahelp dmmasks` examples 1-12, `ahelp dmfiltering`).

References: the seed's example strings, the grammar of ../shared/reference/ciao.md §2 (`,` = AND
between columns, OR between one column's ranges; `||`; `[opt full]`, `[opt null=v]`), and
hand-counted error columns (1-based, in the whole virtual file name).
"""

import pytest

from astromask.filter.syntax import (
    AllOf,
    AnyOf,
    BoundsFilter,
    FilterSyntaxError,
    MaskFilter,
    Range,
    RangeFilter,
    RegionFilter,
    parse_filter,
    parse_virtual_file,
)


def only(text):
    """The expression of a one-bracket filter."""
    (group,) = parse_virtual_file(text).groups
    return group


def test_example_1_mask_filter_on_a_vector_column():
    group = only("evt.fits[sky=mask(mask_file)]")
    assert group.expression == MaskFilter(group.expression.columns, "mask_file", 14)  # column of 'mask'
    assert group.expression.columns.column == 10
    assert group.expression.columns.names == ("sky",) and not group.exclude


@pytest.mark.parametrize("word, exclude", [("exclude", True), ("filter", False), ("EXCLUDE", True)])
def test_example_2_exclude_and_filter_directives(word, exclude):
    group = only(f"img.fits[{word} sky=mask(mask_file)]")
    assert group.exclude is exclude and isinstance(group.expression, MaskFilter)


def test_example_3_mask_with_a_column_range():
    expr = only("evt.fits[ccd_id=3,sky=mask(mask_file)]").expression
    assert isinstance(expr, AllOf)
    ccd, mask = expr.items
    assert ccd.columns.names == ("ccd_id",) and ccd.ranges == (Range("eq", 3.0),)
    assert isinstance(mask, MaskFilter)


def test_example_4_any_pair_of_columns():
    expr = only("evt.fits[(x,y)=mask(mask_file)]").expression
    assert expr.columns.names == ("x", "y") and expr.columns.pair
    assert only("evt.fits[( TIME , pi )=mask(m2.fits)]").expression.columns.names == ("time", "pi")


def test_example_5_bounds_of_a_mask():
    expr = only("evt.fits[sky=bounds(mask(mask_file))]").expression
    assert isinstance(expr, BoundsFilter) and expr.file == "mask_file" and expr.region is None
    assert only("evt.fits[sky=bounds(circle(10,10,3))]").expression.region == "circle(10,10,3)"


@pytest.mark.parametrize("region", ["region(ciao.reg)", "circle(1000,1000,20)", "circle(1,1,5)-box(1,1,2,2)"])
def test_example_6_mask_and_region_filters_together(region):
    mask, reg = only(f"evt.fits[sky=mask(mask_file),sky={region}]").expression.items
    assert isinstance(mask, MaskFilter) and reg == RegionFilter(reg.columns, region, reg.column)


def test_example_7_mask_and_range():
    _mask, rng = only("evt.fits[sky=mask(mask_file),x=1000:4000]").expression.items
    assert rng.ranges == (Range("range", 1000.0, 4000.0),)


def test_example_8_or_and_and_of_two_masks():
    expr = only("evt.fits[sky=mask(first_file)||sky=mask(second_file)]").expression
    assert isinstance(expr, AnyOf) and [m.file for m in expr.items] == ["first_file", "second_file"]
    expr = only("evt.fits[sky=mask(first_file),sky=mask(second_file)]").expression
    assert isinstance(expr, AllOf) and [m.file for m in expr.items] == ["first_file", "second_file"]


def test_example_9_masks_on_separate_columns():
    sky, other = only("evt.fits[sky=mask(sky_mask),(time,pi)=mask(another_mask)]").expression.items
    assert sky.columns.names == ("sky",) and other.columns.names == ("time", "pi")


@pytest.mark.parametrize(
    "text, marker",
    [
        ("evt.fits[sky=mask(mask_file)+region(ciao.reg)]", "+"),
        ("evt.fits[sky=mask(mask_file)+circle(4095,4096,100)]", "+"),
        ("evt.fits[sky=field()-mask(mask_file)]", "mask"),
        ("img.fits[sky=mask(mask.fits)&region(ciao.reg)]", "&"),
        ("img.fits[sky=mask(m.fits)|circle(1,1,1)]", "|"),
        ("img.fits[sky=circle(1,1,1)*bounds(mask(m.fits))]", "bounds"),
        ("img.fits[sky=bounds(mask(m.fits)-circle(1,1,1))]", "-"),
        ("img.fits[sky=!mask(m.fits)]", "mask"),
    ],
)
def test_example_10_masks_refuse_region_logic_operators(text, marker):
    """The error points at the operator after mask(...), or at mask( inside a region."""
    with pytest.raises(FilterSyntaxError, match="Masks cannot be logically combined with regions") as info:
        parse_virtual_file(text)
    assert info.value.column == text.index(marker) + 1


@pytest.mark.parametrize(
    "text, column",
    [
        ("evt.fits[sky=mask(mask_file)][exclude sky=circle(4095,4096,100)]", 31),
        ("evt.fits[exclude sky=mask(mask_file)][sky=circle(4095,4096,100)]", 39),
        ("evt.fits[pi=1:5][exclude x=1:2]", 18),
        ("evt.fits[exclude pi=1:5][filter x=1:2]", 26),
    ],
)
def test_example_11_include_and_exclude_together_are_refused(text, column):
    with pytest.raises(FilterSyntaxError, match="Using both include and exclude filters is not supported") as info:
        parse_virtual_file(text)
    assert info.value.column == column


def test_two_exclude_brackets_are_fine():
    vf = parse_virtual_file("evt.fits[exclude pi=1:5][exclude sky=circle(1,1,1)]")
    assert vf.exclude and all(g.exclude for g in vf.groups)


def test_ranges_comma_continues_the_column_then_starts_a_new_term():
    expr = only("evt.fits[ccd_id=0:3,7,pi=10:,x=:5.5,y=-2.5e1:-1]").expression
    ccd, pi, x, y = expr.items
    assert ccd.ranges == (Range("range", 0.0, 3.0), Range("eq", 7.0))
    assert pi.ranges == (Range("range", 10.0, None),)
    assert x.ranges == (Range("range", None, 5.5),)
    assert y.ranges == (Range("range", -25.0, -1.0),)


@pytest.mark.parametrize("op, name", [("<", "lt"), ("<=", "le"), (">", "gt"), (">=", "ge"), ("!=", "ne"), ("==", "eq")])
def test_comparisons(op, name):
    assert only(f"e[pi{op}7]").expression == RangeFilter(only(f"e[pi{op}7]").expression.columns, (Range(name, 7.0),))


def test_or_binds_looser_than_and_and_parentheses_group():
    expr = only("e[pi=1:2,x=3||y=4]").expression
    assert isinstance(expr, AnyOf) and isinstance(expr.items[0], AllOf)
    expr = only("e[pi=1:2,(x=3||y=4)]").expression
    assert isinstance(expr, AllOf) and isinstance(expr.items[1], AnyOf)


def test_blocks_options_and_several_brackets():
    vf = parse_virtual_file("evt.fits[EVENTS][pi=10:200][sky=mask(m.fits[MASK])][opt full,null=-1]")
    assert (vf.path, vf.block, vf.full, vf.null, len(vf.groups)) == ("evt.fits", "EVENTS", True, -1.0, 2)
    assert vf.groups[1].expression.file == "m.fits[MASK]"
    assert parse_virtual_file("evt.fits[2]").block == 2 and parse_virtual_file("evt.fits[#3]").block == 3
    assert parse_virtual_file("img.fits[opt null=nan]").null != parse_virtual_file("img.fits[opt null=nan]").null
    assert parse_virtual_file("img.fits").groups == ()


def test_parse_filter_alone():
    (group,) = parse_filter("exclude sky=mask(m.fits)")
    assert group.exclude
    groups = parse_filter("[pi=1:2][x=3]")
    assert len(groups) == 2 and groups[1].column == 10


@pytest.mark.parametrize(
    "text, column, problem",
    [
        ("evt.fits[sky=mask(m)", 9, r"'\[' is never closed"),
        ("evt.fits[]", 9, "empty brackets"),
        ("evt.fits[x=]", 12, "expected a number"),
        ("evt.fits[x=5:3]", 12, "reversed"),
        ("evt.fits[x=:]", 12, "at least one end"),
        ("evt.fits[x=1:2 y=3]", 16, "expected ',' or '||'"),
        ("evt.fits[sky=cirkle(1,2,3)]", 14, "unknown region shape or filter function 'cirkle'"),
        ("evt.fits[sky=mask()]", 18, "mask\\(\\) needs a file name"),
        ("evt.fits[(x,y)<3]", 15, r"\(x,y\) can only be filtered with =mask"),
        ("evt.fits[(x,y)=5:6]", 16, r"\(x,y\) can only be filtered"),
        ("evt.fits[pi=abc]", 13, "unexpected 'abc'"),
        ("evt.fits[opt type=i4]", 14, "unsupported option 'type=i4'"),
        ("evt.fits[opt null=x]", 14, "null='x' is not a number"),
        ("evt.fits[bin sky=4]", 10, "binning"),
        ("evt.fits[pi=1][EVENTS]", 16, "must be the first bracket"),
        ("evt.fits[0]", 10, "block numbers start at 1"),
        ("evt.fits[pi=1]x", 15, "unexpected 'x' after"),
        ("[pi=1]", 1, "no file name"),
        ("evt.fits[(pi=1]", 10, "'\\(' is never closed"),
        ("evt.fits[(pi=1)", 9, "'\\[' is never closed"),
        ("evt.fits[(pi=1 x=2)]", 16, "expected '\\)'"),
        ("evt.fits[exclude ]", 18, "expected a filter after exclude"),
    ],
)
def test_errors_name_the_column(text, column, problem):
    with pytest.raises(FilterSyntaxError, match=problem) as info:
        parse_virtual_file(text)
    assert info.value.column == column, str(info.value)
    message = str(info.value)
    assert "\n" not in message and message.startswith("filter: ") and f"at column {column} in " in message
