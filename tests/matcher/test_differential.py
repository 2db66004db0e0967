"""Both lowerings against a reference JsonLogic implementation (panzi-json-logic from PyPI).

On well-typed rules and rows within the feature contract without nulls the Python closure, the
Polars expression and the reference agree row by row. Division or remainder by zero is an
error in the reference and null (unknown) in lendmatch. The reference's `%` is Python's (the
sign of the divisor); it is given JsonLogic's (JavaScript's: the sign of the dividend), as
jsonlogic.com, json-logic-js and datalogic-rs have it. With nulls, the two lowerings agree
with each other, three-valued. Rules the compiler refuses for their ranges
(`matcher.ranges`) are left out: the guarantee is for accepted rules.
"""

from __future__ import annotations

import json
import math
from typing import Any

import datalogic_py
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from json_logic.apply import apply
from json_logic.builtins import BUILTINS, to_number

from matcher.compiler import compile_rule
from tests.matcher.lowerings import both, compiled
from tests.matcher.test_ranges import _row_at
from tests.strategies import bool_rules, feature_rows

RANGE_WORDS = ("64-bit integer range", "2**53", "overflow to infinity")


def _both(rule: Any, rows: list[dict[str, Any]]) -> tuple[list[Any], list[Any]]:
    node, problems = compile_rule(rule, file="random", requirement_id="r")
    if problems and all(any(w in p.message for w in RANGE_WORDS) for p in problems):
        reject()  # refused for its range: see tests/matcher/test_ranges.py
    assert problems == [], problems
    assert node is not None
    return both(node, rows)


def _js_remainder(data: Any = None, a: Any = None, b: Any = None, *_: Any) -> Any:
    x, y = to_number(a), to_number(b)
    if y == 0:
        raise ZeroDivisionError
    if isinstance(x, int) and isinstance(y, int):
        rest = abs(x) % abs(y)
        return -rest if x < 0 else rest
    return math.fmod(x, y)


OPERATIONS = {**BUILTINS, "%": _js_remainder}


def reference(rule: Any, row: dict[str, Any]) -> Any:
    return apply(rule, row, OPERATIONS)


def _reference(rule: Any, row: dict[str, Any]) -> bool | None:
    try:
        return bool(reference(rule, row))
    except ZeroDivisionError:
        return None


@settings(max_examples=500)
@given(bool_rules(), st.lists(feature_rows(nulls=False), min_size=1, max_size=8))
def test_closure_and_polars_equal_reference_jsonlogic(
    rule: Any, rows: list[dict[str, Any]]
) -> None:
    by_python, by_polars = _both(rule, rows)
    expected = [_reference(rule, row) for row in rows]
    for row, e, p, q in zip(rows, expected, by_python, by_polars, strict=True):
        if e is None:
            # by zero: an error in the reference, unknown in lendmatch
            assert p is None or q is None or p == q, (rule, row)
            continue
        assert p == q, (rule, row, p, q)
        assert p is None or p == e, (rule, row, p, e)


@settings(max_examples=300)
@given(bool_rules(), st.lists(feature_rows(nulls=True), min_size=1, max_size=8))
def test_closure_and_polars_agree_with_nulls(rule: Any, rows: list[dict[str, Any]]) -> None:
    by_python, by_polars = _both(rule, rows)
    assert by_python == by_polars, rule


# --- `%`: JsonLogic's remainder on both lowerings --------------------------------------------

DTI = {"var": "debt_to_income"}
INF = float("inf")


def _rows(**values: Any) -> list[dict[str, Any]]:
    return [{**_row_at("low"), **values}]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # the sign of the dividend, as jsonlogic.com, json-logic-js and datalogic-rs
        ({"%": [-1, 2]}, -1),
        ({"%": [1, -2]}, 1),
        ({"%": [-7, -3]}, -1),
        ({"%": [-7.5, 2]}, -1.5),
        ({"%": [{"-": [{"var": "amount"}]}, 7]}, -(1000 % 7)),
        ({"%": [{"var": "amount"}, -7]}, 1000 % 7),
        ({"%": [{"-": [{"var": "amount"}]}, 0.75]}, -(1000 % 0.75)),
        # exact on floats (C's fmod), where a - b * floor(a / b) is not
        ({"%": [7.3, {"*": [{"var": "age"}, 0.1]}]}, math.fmod(7.3, 0.1)),
    ],
)
def test_remainder_takes_the_sign_of_the_dividend(rule: Any, expected: float) -> None:
    row = _rows(age=1, amount=1000)
    assert both(compiled(rule, result=None), row) == ([expected], [expected])
    if "var" not in json.dumps(rule):
        assert reference(rule, {}) == expected
        assert datalogic_py.apply(json.dumps(rule), "{}") == expected


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        # a finite number modulo an infinite one is that number (JavaScript's 5 % Infinity)
        ({"%": [5, DTI]}, 5.0),
        ({"%": [-5, DTI]}, -5.0),
        ({"%": [5, {"-": [DTI]}]}, 5.0),
        ({"%": [{"var": "amount"}, DTI]}, 1000.0),
        # an infinite number modulo anything is NaN in JavaScript: null (unknown) here
        ({"%": [DTI, 5]}, None),
        ({"%": [{"-": [DTI]}, 5]}, None),
        ({"%": [DTI, DTI]}, None),
    ],
)
def test_remainder_with_an_infinite_operand_is_defined_once(rule: Any, expected: Any) -> None:
    row = _rows(debt_to_income=INF, amount=1000)
    assert both(compiled(rule, result=None), row) == ([expected], [expected])
