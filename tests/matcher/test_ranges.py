"""Compile-time ranges: integer expressions that could leave int64, integers that meet floats
beyond 2**53 and float overflow are refused where they are written; what is accepted computes
alike on both lowerings at the feature bounds."""

from __future__ import annotations

from typing import Any

import pytest

from matcher.application import AMOUNT_MAX, INCOME_MAX
from matcher.compiler import compile_rule
from matcher.schema import FEATURES, Type
from tests.matcher.lowerings import both, compiled

AMOUNT = {"var": "amount"}
INCOME = {"var": "income"}
BIG = 1_000_000_000_000_000  # 10**15, the largest literal

REFUSED: list[tuple[Any, str, str]] = [
    # the issue's: a literal product i128 in Polars; features times a literal; at the bounds
    ({">": [{"*": [BIG, BIG]}, AMOUNT]}, '$.rule[">"][0]["*"]', "64-bit integer range"),
    ({">": [{"*": [AMOUNT, BIG]}, 0]}, '$.rule[">"][0]["*"]', "64-bit integer range"),
    ({">": [{"*": [INCOME, INCOME, AMOUNT]}, 0]}, '$.rule[">"][0]["*"]', "64-bit integer range"),
    ({">": [{"+": [{"*": [AMOUNT, BIG]}, 1]}, 0]}, '$.rule[">"][0]["+"][0]["*"]', "64-bit"),
    # OverflowError on both paths before: an int product too large for a float, times a float
    ({">": [{"*": [*([BIG] * 21), 1.5]}, AMOUNT]}, '$.rule[">"][0]["*"]', "64-bit integer range"),
    # an integer beyond 2**53 compared with, or divided into, a float
    ({">": [{"*": [INCOME, INCOME]}, 0.5]}, '$.rule[">"]', "2**53"),
    ({">": [{"/": [{"*": [INCOME, INCOME]}, 3]}, 1]}, '$.rule[">"][0]["/"]', "2**53"),
    # a product of large float literals overflows to infinity
    ({">": [{"*": [AMOUNT, *([1e15] * 21)]}, 1]}, '$.rule[">"][0]["*"]', "overflow"),
    (
        {"<": [{"-": [{"*": [1e15] * 21}, {"var": "age"}]}, 1]},
        '$.rule["<"][0]["-"][0]["*"]',
        "overflow",
    ),
]


@pytest.mark.parametrize(("rule", "path", "words"), REFUSED)
def test_expressions_that_can_leave_what_both_lowerings_compute_alike_are_refused(
    rule: Any, path: str, words: str
) -> None:
    node, problems = compile_rule(rule, file="f", requirement_id="r")
    assert node is None
    assert [p.path for p in problems] == [path]
    assert words in problems[0].message


def _row_at(bound: str) -> dict[str, Any]:
    """A feature row with every number feature at its `bound` ("low" or "high")."""
    row: dict[str, Any] = {}
    for f in FEATURES:
        if f.type.is_numeric:
            value = getattr(f, bound)
            row[f.name] = float(value) if f.type is Type.FLOAT else int(value)
        elif f.type is Type.BOOL:
            row[f.name] = True
        else:
            row[f.name] = f.values[0] if f.values else "NO"
    return row


# (rule, its value at the low bounds, at the high bounds): 10**16 and 5 * 10**14 fit int64
ACCEPTED_AT_THE_LIMIT: list[tuple[Any, bool, bool]] = [
    ({"==": [{"*": [INCOME, INCOME]}, {"*": [INCOME_MAX, INCOME_MAX]}]}, False, True),
    ({"==": [{"*": [INCOME, AMOUNT]}, {"*": [INCOME_MAX, AMOUNT_MAX]}]}, False, True),
    ({">": [{"*": [INCOME, INCOME]}, {"-": [{"*": [INCOME_MAX, INCOME_MAX]}, 1]}]}, False, True),
    ({"<": [{"*": [AMOUNT, 1000]}, {"*": [{"var": "existing_debt"}, 1000, 1000]}]}, False, True),
]


@pytest.mark.parametrize(("rule", "at_low", "at_high"), ACCEPTED_AT_THE_LIMIT)
def test_accepted_integer_expressions_agree_at_the_feature_bounds(
    rule: Any, at_low: bool, at_high: bool
) -> None:
    by_python, by_polars = both(compiled(rule), [_row_at("low"), _row_at("high")])
    assert by_python == by_polars == [at_low, at_high]
