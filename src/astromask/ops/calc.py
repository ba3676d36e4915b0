"""A safe pixel calculator for images and masks (CIAO ``dmimgcalc`` ``op="imgout=..."``).

The expression is read by the grammar of :mod:`astromask.syntax.calc` into a
small tree that is evaluated here with numpy; Python's ``eval`` never sees the
user's text. Precedence, lowest first: ``?:``, ``||``/``|``, ``&&``/``&``,
comparisons (which do not chain), ``+ -``, ``* /``, unary ``- + ! ~``, then ``^``/``**``
(right-associative).

Values are images, numbers, or boolean images. Arithmetic is done in
``float64`` (booleans count as 0/1), so integer images neither wrap nor
truncate on division; IEEE rules apply (``1/0`` is ``inf``, NaN propagates).
Comparisons and the logical operators give booleans; a value is *true* where
it is non-zero (as in C, NaN is true). ``^`` is the power operator, as
``**`` (not C's exclusive OR). Names are ``img1``, ``img2``, ... for the
positional images (``img`` is ``img1``), any keyword images, and the
constants ``pi`` and ``e``. The functions are listed in :data:`FUNCTIONS`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError, ParameterTypeError
from ..syntax.calc import Binary, Call, Name, Number, Unary, calc_error, names, parse_tree

__all__ = ["CONSTANTS", "FUNCTIONS", "Expression", "cast_like", "cast_to", "evaluate", "parse"]

CONSTANTS = {"pi": np.pi, "e": np.e}

# name -> (numpy function, number of arguments; None = two or more)
FUNCTIONS: dict[str, tuple[Callable, int | None]] = {
    "abs": (np.abs, 1),
    "fabs": (np.abs, 1),
    "sqrt": (np.sqrt, 1),
    "exp": (np.exp, 1),
    "log": (np.log, 1),
    "log10": (np.log10, 1),
    "sin": (np.sin, 1),
    "cos": (np.cos, 1),
    "tan": (np.tan, 1),
    "asin": (np.arcsin, 1),
    "acos": (np.arccos, 1),
    "atan": (np.arctan, 1),
    "sinh": (np.sinh, 1),
    "cosh": (np.cosh, 1),
    "tanh": (np.tanh, 1),
    "ceil": (np.ceil, 1),
    "floor": (np.floor, 1),
    "isnan": (np.isnan, 1),
    "isinf": (np.isinf, 1),
    "isfinite": (np.isfinite, 1),
    "atan2": (np.arctan2, 2),
    "pow": (np.power, 2),
    "min": (np.fmin, None),
    "max": (np.fmax, None),
}

_IMAGE_NAME = re.compile(r"^img(\d*)$")
_COMPARE = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
}
_ARITHMETIC = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide, "^": np.power, "**": np.power}
_LOGICAL = {"||": np.logical_or, "|": np.logical_or, "&&": np.logical_and, "&": np.logical_and}


# -- evaluation ----------------------------------------------------------------------------------


def _number(value):
    """Arithmetic operand: booleans and integers become float64."""
    value = np.asarray(value)
    return value if value.dtype == np.float64 else value.astype(np.float64)


def _truth(value):
    value = np.asarray(value)
    return value if value.dtype == bool else value != 0


def _evaluate(node, variables: dict[str, np.ndarray]):
    if isinstance(node, Number):
        return np.float64(node.value)
    if isinstance(node, Name):
        return variables[node.name]
    if isinstance(node, Unary):
        value = _evaluate(node.operand, variables)
        if node.op in ("!", "~"):
            return np.logical_not(_truth(value))
        return -_number(value) if node.op == "-" else _number(value)
    if isinstance(node, Binary):
        left, right = _evaluate(node.left, variables), _evaluate(node.right, variables)
        if node.op in _LOGICAL:
            return _LOGICAL[node.op](_truth(left), _truth(right))
        if node.op in _COMPARE:
            return _COMPARE[node.op](_number(left), _number(right))
        return _ARITHMETIC[node.op](_number(left), _number(right))
    if isinstance(node, Call):
        function, nargs = FUNCTIONS[node.function]
        args = [_number(_evaluate(a, variables)) for a in node.args]
        return functools.reduce(function, args) if nargs is None else function(*args)
    test = _truth(_evaluate(node.test, variables))
    return np.where(test, _number(_evaluate(node.if_true, variables)), _number(_evaluate(node.if_false, variables)))


@dataclass(frozen=True)
class Expression:
    """A parsed calculator expression; call :meth:`evaluate` on images.

    Attributes
    ----------
    text : str
        The expression as given.
    tree : object
        The parse tree (``Number``, ``Name``, ``Unary``, ``Binary``, ``Call``,
        ``Condition`` nodes).
    names : tuple of str
        The variable names used, in order of first use (constants excluded).
    """

    text: str
    tree: object
    names: tuple[str, ...]

    def image_count(self) -> int:
        """How many positional images the expression needs (the highest ``imgN``)."""
        numbers = [int(m.group(1) or 1) for n in self.names if (m := _IMAGE_NAME.match(n))]
        return max(numbers, default=0)

    def evaluate(self, *images, **named) -> np.ndarray:
        """Evaluate on ``images`` (``img1``, ``img2``, ...) and ``named`` images.

        Returns a ``float64`` array, or a boolean array when the outermost
        operation is a comparison or a logical operator. Every image must
        have the same shape; a result that uses no image takes their shape.
        """
        variables = _variables(images, named)
        for node in names(self.tree):
            if node.name not in variables:
                available = ", ".join(n for n in variables if n not in CONSTANTS) or "none"
                raise calc_error(f"unknown name {node.name!r}", node.column, f"images available: {available}")
        shapes = {np.shape(v) for k, v in variables.items() if k not in CONSTANTS}
        if len(shapes) > 1:
            raise ParameterError(f"calc: images must have the same shape, got {', '.join(map(str, sorted(shapes)))}")
        with np.errstate(all="ignore"):
            result = np.asarray(_evaluate(self.tree, variables))
        if result.dtype != bool:
            result = _number(result)
        if any(result is v for v in variables.values()):  # "img1" alone: never hand back an input
            result = result.copy()
        if shapes and result.shape != next(iter(shapes)):
            result = np.broadcast_to(result, next(iter(shapes))).copy()
        return result


def _variables(images: tuple, named: dict) -> dict[str, np.ndarray]:
    variables: dict[str, np.ndarray] = {}
    for i, image in enumerate(images, start=1):
        variables[f"img{i}"] = np.asarray(image)
    if images:
        variables["img"] = variables["img1"]
    for name, image in named.items():
        if name in FUNCTIONS or name in CONSTANTS or name in variables:
            raise ParameterError(f"calc: image name {name!r} clashes with a function, constant or imgN name")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ParameterError(f"calc: image name {name!r} is not an identifier")
        variables[name] = np.asarray(image)
    for name, image in variables.items():
        if image.dtype.kind not in "biuf":
            raise ParameterTypeError(f"calc: image {name} must be numeric, got {image.dtype}")
    variables.update(CONSTANTS)
    return variables


def parse(expression: str) -> Expression:
    """Parse ``expression`` (an optional ``imgout=`` prefix is allowed).

    Raises
    ------
    ValueError
        One line naming the problem and its 1-based column, e.g.
        ``calc: unexpected ')' at column 7``.

    Examples
    --------
    >>> parse("imgout=(1-img1)").names
    ('img1',)
    >>> parse("img1*img2*img3").image_count()
    3
    """
    if not isinstance(expression, str):
        raise ParameterTypeError(f"calc: expression must be a string, got {type(expression).__name__}")
    tree = parse_tree(expression, {name: nargs for name, (_, nargs) in FUNCTIONS.items()})
    used = tuple(dict.fromkeys(n.name for n in names(tree) if n.name not in CONSTANTS))
    return Expression(expression, tree, used)


def evaluate(expression: str | Expression, *images, **named) -> np.ndarray:
    """Evaluate a calculator expression on images, pixel by pixel.

    Parameters
    ----------
    expression : str or Expression
        E.g. ``"imgout=(1-img1)"``, ``"img1*img2*img3"``,
        ``"(img1 > 0) && !isnan(img2)"``, ``"max(img1, img2, 0.5)"``.
    *images : array_like
        ``img1``, ``img2``, ... (``img`` is ``img1``), all of one shape.
    **named : array_like
        Images under other names.

    Returns
    -------
    ndarray
        ``float64``, or boolean when the outermost operation is a comparison
        or logical operator. Use :func:`cast_like` to return to the inputs' type.

    Examples
    --------
    >>> mask = np.array([[0, 1], [1, 0]], dtype=np.uint8)
    >>> evaluate("imgout=(1-img1)", mask).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    >>> evaluate("imgout=((img1-img1)+1)", mask).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    >>> evaluate("a > 0 && b > 0", a=mask, b=mask.T).tolist()
    [[False, True], [True, False]]
    """
    if not isinstance(expression, Expression):
        expression = parse(expression)
    return expression.evaluate(*images, **named)


def cast_like(result: np.ndarray, *images) -> np.ndarray:
    """``result`` in the type of the inputs when that holds every value exactly.

    Parameters
    ----------
    result : ndarray
    *images : arrays or dtypes
        The inputs (only their types are used).

    Returns
    -------
    ndarray
        Booleans as ``uint8``. When every input is an integer (or boolean)
        image and every value of ``result`` is an integer within the range of
        the inputs' common type, that type; otherwise ``float32`` when every
        input is ``float32`` or narrower; else ``result`` unchanged.

    Examples
    --------
    >>> mask = np.array([0, 1, 1], dtype=np.int16)
    >>> cast_like(evaluate("1-img1", mask), mask).dtype
    dtype('int16')
    >>> cast_like(evaluate("img1/2", mask), mask).dtype
    dtype('float64')
    """
    result = np.asarray(result)
    if result.dtype == bool:
        return result.astype(np.uint8)
    if not images:
        return result
    common = np.result_type(*[i if isinstance(i, np.dtype) else np.asarray(i).dtype for i in images])
    if common.kind == "b":
        common = np.dtype(np.uint8)
    if common.kind in "iu":
        return result.astype(common) if _holds(common, result) else result
    if common.kind == "f" and common.itemsize <= 4 and result.dtype.kind == "f":
        return result.astype(np.float32)
    return result


def _holds(dtype: np.dtype, values: np.ndarray) -> bool:
    """Does integer type ``dtype`` hold every value exactly?"""
    if values.size == 0:
        return True
    if values.dtype.kind == "f" and not (np.isfinite(values).all() and np.all(np.floor(values) == values)):
        return False
    info = np.iinfo(dtype)
    low, high = values.min(), values.max()
    return bool(low >= info.min and high <= info.max)


def cast_to(result: np.ndarray, dtype: np.dtype, *, what: str = "type") -> np.ndarray:
    """``result`` as ``dtype``; integer types truncate toward zero (as C casts) and refuse values
    out of their range or not finite, naming the option (``what``) that asked for the type.

    Examples
    --------
    >>> cast_to(np.array([1.7, -1.7]), np.dtype(np.int16)).tolist()
    [1, -1]
    >>> cast_to(np.array([300.0]), np.dtype(np.uint8))
    Traceback (most recent call last):
    ...
    astromask.errors.ParameterError: the result spans 300..300, outside type uint8 (0..255)
    """
    if dtype.kind not in "iu" or result.size == 0:
        return result.astype(dtype)
    values = np.trunc(result.astype(np.float64, copy=False))
    if not np.isfinite(values).all():
        raise ParameterError(f"the result has NaN or infinite values; {what} {dtype} cannot hold them")
    info = np.iinfo(dtype)
    if values.min() < info.min or values.max() > info.max:
        raise ParameterError(
            f"the result spans {values.min():g}..{values.max():g}, outside {what} {dtype} ({info.min}..{info.max})"
        )
    return values.astype(dtype)
