"""The range of every number expression of a rule, worked out when the rule compiles.

Interval arithmetic over the typed tree, from the bounds of the features (`matcher.schema`,
which takes them from the application model). The two lowerings compute differently where
numbers get large: Python's integers are unbounded, Polars' are 64-bit and wrap; Python
compares an integer with a float exactly, Polars converts the integer to a double first. So
the compiler refuses, with the expression's JSON path, any expression that could reach such
numbers for some feature row within the bounds:

- an integer expression (and every partial result of `+` and `*`, which fold left to right)
  must stay within the 64-bit integer range;
- an integer that meets a float (compared with one, combined with one, divided, a branch of a
  number `if` or an operand of `min`/`max` whose result is a float) must stay within +-2**53,
  where every integer is exactly a double;
- a float expression must not overflow to infinity unless an operand can be infinite already
  (`debt_to_income` is +inf without income): overflow gives inf and inf - inf gives NaN,
  which the lowerings order differently.

Within these ranges both lowerings give the same numbers on every row the feature contract
allows; `matcher.feature_checks` makes sure evaluated rows are within it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from matcher.errors import ExpressionRangeError
from matcher.schema import Type

Number = int | float

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
EXACT_IN_DOUBLE = 2**53  # every integer of at most this magnitude is exactly a double


@dataclass(frozen=True, slots=True)
class Interval:
    """The values a number expression can take: low <= value <= high (ints exact)."""

    low: Number
    high: Number

    @property
    def magnitude(self) -> Number:
        return max(abs(self.low), abs(self.high))

    @property
    def infinite(self) -> bool:
        return math.isinf(self.low) or math.isinf(self.high)

    def union(self, other: Interval) -> Interval:
        return Interval(min(self.low, other.low), max(self.high, other.high))


def constant(value: Number) -> Interval:
    return Interval(value, value)


def _product(a: Number, b: Number) -> Number:
    # bounds, not values: 0 * inf is 0 here (the value itself, NaN, becomes null)
    if a == 0 or b == 0:
        return 0
    return a * b


def _sum(a: Number, b: Number, default: float) -> Number:
    total = a + b
    return default if total != total else total  # inf - inf: no bound


def _plus(a: Interval, b: Interval) -> Interval:
    return Interval(_sum(a.low, b.low, -math.inf), _sum(a.high, b.high, math.inf))


def _times(a: Interval, b: Interval) -> Interval:
    corners = [_product(x, y) for x in (a.low, a.high) for y in (b.low, b.high)]
    return Interval(min(corners), max(corners))


def _negate(a: Interval) -> Interval:
    return Interval(-a.high, -a.low)


def _divide(a: Interval, b: Interval, integer_divisor: bool) -> Interval:
    # by zero is null; so only the divisor's nonzero values count
    parts = []
    if integer_divisor:
        if b.low <= -1:
            parts.append(Interval(b.low, min(b.high, -1)))
        if b.high >= 1:
            parts.append(Interval(max(b.low, 1), b.high))
    elif b.low > 0 or b.high < 0:
        parts.append(b)
    else:
        return Interval(-math.inf, math.inf)  # a float divisor can come as close to 0 as it likes
    if not parts:
        return constant(0.0)  # always by zero: always null
    out: Interval | None = None
    for part in parts:
        corners = [
            x / y if not (math.isinf(x) and math.isinf(y)) else math.inf
            for x in (a.low, a.high)
            for y in (part.low, part.high)
        ]
        corners = [0.0 if c != c else c for c in corners]
        piece = Interval(min(corners), max(corners))
        if math.isinf(part.low) or math.isinf(part.high):
            piece = piece.union(constant(0.0))
        out = piece if out is None else out.union(piece)
    assert out is not None
    return out


def _modulo(a: Interval, b: Interval) -> Interval:
    # the sign of the dividend, smaller in magnitude than the divisor and than the dividend
    bound = min(a.magnitude, b.magnitude)
    low = 0 if a.low >= 0 else -bound
    high = 0 if a.high <= 0 else bound
    return Interval(low, high)


def _check_int(name: str, interval: Interval) -> None:
    if interval.low < INT64_MIN or interval.high > INT64_MAX:
        raise ExpressionRangeError(
            name,
            f"'{name}' can reach {_show(interval)} for feature values within their bounds, "
            "outside the 64-bit integer range; both lowerings must compute it alike",
        )


def _check_exact(name: str, operand: Interval) -> None:
    if operand.magnitude > EXACT_IN_DOUBLE:
        raise ExpressionRangeError(
            name,
            f"'{name}' meets a float with an integer that can reach {_show(operand)}, beyond "
            "2**53 where integers are no longer exact as doubles; both lowerings must "
            "compute it alike",
        )


def _check_float(name: str, interval: Interval, operands: Sequence[Interval]) -> None:
    # A quotient is unbounded only by a float divisor that can come near zero, which is not
    # a literal: such a result is checked for NaN by both lowerings, so it is left alone.
    if name != "/" and interval.infinite and not any(o.infinite for o in operands):
        raise ExpressionRangeError(
            name,
            f"'{name}' can overflow to infinity for feature values within their bounds; "
            "both lowerings must compute it alike",
        )


def _show(interval: Interval) -> str:
    return f"{interval.low:.3g}..{interval.high:.3g}"


def call_interval(
    name: str, operands: Sequence[tuple[Type, Interval | None]], result: Type
) -> Interval | None:
    """The interval of `name` applied to operands (their types and intervals; None for
    bools and strings), or `ExpressionRangeError` when it can leave what both lowerings compute
    alike. Comparisons and other bool results have no interval, but their number operands
    are checked for exactness when ints meet floats."""
    numbers = [(t, i) for t, i in operands if i is not None and t.is_numeric]
    mixed = any(t is Type.FLOAT for t, _ in numbers) and any(t is Type.INT for t, _ in numbers)
    if mixed or (name == "/" and numbers):
        for t, i in numbers:
            if t is Type.INT:
                _check_exact(name, i)
    if not result.is_numeric:
        return None
    intervals = [i for _, i in numbers]
    out = _fold(name, intervals, [t for t, _ in numbers], result)
    if result is Type.INT:
        _check_int(name, out)
    else:
        _check_float(name, out, intervals)
    return out


def _fold(name: str, intervals: list[Interval], types: list[Type], result: Type) -> Interval:
    if name in ("+", "*"):
        step = _plus if name == "+" else _times
        out, integer = intervals[0], types[0] is Type.INT
        for interval, kind in zip(intervals[1:], types[1:], strict=True):
            out = step(out, interval)
            integer = integer and kind is Type.INT
            if integer:  # a partial result of integers is an Int64 in Polars
                _check_int(name, out)
        return out
    if name == "-":
        if len(intervals) == 1:
            return _negate(intervals[0])
        return _plus(intervals[0], _negate(intervals[1]))
    if name == "/":
        return _divide(intervals[0], intervals[1], types[1] is Type.INT)
    if name == "%":
        return _modulo(intervals[0], intervals[1])
    if name == "min":
        return Interval(min(i.low for i in intervals), min(i.high for i in intervals))
    if name == "max":
        return Interval(max(i.low for i in intervals), max(i.high for i in intervals))
    if name == "if":
        out = intervals[0]
        for i in intervals[1:]:
            out = out.union(i)
        return out
    raise AssertionError(f"no interval rule for {name!r}")  # pragma: no cover
