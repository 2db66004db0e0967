"""The frame lowering's shortcuts give the very bits of the plain lowerings.

Codes for closed-vocabulary strings and the tighter nullability (`matcher.lower_polars`)
are checked against the Python closure row by row, and whole rulesets of many lenders
sharing features against `evaluate`: nulls, +inf, thresholds equal to the values, literals
outside the vocabulary.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from matcher.compiler import compile_rule
from matcher.engine import evaluate, failed_column, match, unknown_column
from matcher.ir import Node
from matcher.lower_polars import feature_codes, in_codes, lower, may_be_null
from matcher.lower_python import lower_expression
from matcher.ruleset import ruleset_from_documents
from matcher.schema import polars_schema
from tests.matcher.test_differential import RANGE_WORDS
from tests.matcher.test_engine import _row
from tests.strategies import bool_rules, feature_rows

CODES = feature_codes()
REASON = {"en": "r", "nb": "r", "sv": "r"}
INF = float("inf")


def _compiled(rule: Any) -> Node:
    node, problems = compile_rule(rule, file="random", requirement_id="r")
    if problems and all(any(w in p.message for w in RANGE_WORDS) for p in problems):
        reject()  # refused for its range: the guarantee is for accepted rules
    assert problems == [], problems
    assert node is not None
    return node


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=polars_schema(), orient="row")


def _coded(node: Node, rows: list[dict[str, Any]]) -> list[Any]:
    """The node on every row by the frame lowering with codes."""
    lazy = _frame(rows).lazy().with_columns(*CODES.expressions())
    # with_columns: a literal is broadcast to every row (as `match` computes rules)
    return lazy.with_columns(lower(node, CODES).alias("v")).collect()["v"].to_list()


@st.composite
def rows_with_infinity(draw: st.DrawFn) -> dict[str, Any]:
    """Feature rows, with nulls, some with debt_to_income = +inf (no income)."""
    row = draw(feature_rows(nulls=True))
    if draw(st.booleans()):
        row["debt_to_income"] = INF
    return row


@given(bool_rules(), st.lists(rows_with_infinity(), min_size=1, max_size=8))
def test_coded_lowering_equals_the_closure_row_by_row(
    rule: Any, rows: list[dict[str, Any]]
) -> None:
    node = _compiled(rule)
    closure = lower_expression(node)
    expected = [closure(row) for row in rows]
    assert _coded(node, rows) == expected, rule
    # never null where the frame lowering says it cannot be (and never looser than the IR)
    if not may_be_null(node, CODES):
        assert None not in expected, rule
    assert node.nullable or not may_be_null(node, CODES)


@given(
    st.lists(st.lists(bool_rules(depth=2), min_size=1, max_size=4), min_size=1, max_size=6),
    st.lists(st.sampled_from([["NO"], ["SE"], ["NO", "SE"]]), min_size=6, max_size=6),
    st.lists(rows_with_infinity(), min_size=1, max_size=6),
)
def test_match_equals_evaluate_for_lenders_sharing_features(
    rules: list[list[Any]], markets: list[list[str]], rows: list[dict[str, Any]]
) -> None:
    for lender in rules:
        for rule in lender:
            _compiled(rule)
    documents = [
        {
            "lender_id": f"bank_{i}",
            "name": f"Bank {i}",
            "markets": markets[i],
            "requirements": [
                {"id": f"r{j}", "rule": rule, "reason": REASON} for j, rule in enumerate(lender)
            ],
        }
        for i, lender in enumerate(rules)
    ]
    ruleset = ruleset_from_documents(documents)
    wide = match(_frame(rows), ruleset)
    for i, row in enumerate(rows):
        outcomes = {o.lender_id: (o.failed, o.unknown) for o in evaluate(row, ruleset)}
        for lender in ruleset.lenders:
            got = (
                wide[failed_column(lender.lender_id)][i],
                wide[unknown_column(lender.lender_id)][i],
            )
            assert got == outcomes.get(lender.lender_id, (None, None)), (lender.lender_id, row)


@pytest.mark.parametrize(
    ("wanted", "expected"),
    [
        ([], [False, False, False, None]),  # false on every value of the list, null on null
        (["permanent"], [True, False, False, None]),
        (["permanent", "retired", "nowhere"], [True, False, True, None]),
        (["temporary", "self_employed", "retired", "student", "unemployed", "other"],
         [False, True, True, None]),  # the complement: `!=` of the one value left out
        (["permanent", "temporary", "self_employed", "retired", "student", "unemployed",
          "other"], [True, True, True, None]),
    ],
)  # fmt: skip
def test_membership_in_codes_is_three_valued(wanted: list[str], expected: list[Any]) -> None:
    frame = pl.DataFrame(
        {"co_employment": ["permanent", "student", "retired", None]},
        schema={"co_employment": pl.String},
    )
    column, values = CODES.columns["co_employment"]
    coded = frame.lazy().with_columns(*CODES.expressions()[2:3])
    assert coded.collect_schema().names() == ["co_employment", column]
    got = coded.select(in_codes(column, values, wanted)).collect().to_series().to_list()
    assert got == expected


@pytest.mark.parametrize(
    ("rule", "marked", "nullable"),
    [
        # whole years at the end of the term: marked (a float result may be NaN), but its
        # operands are finite: never NaN, never unknown
        ({"<=": [{"+": [{"var": "age"}, {"/": [{"var": "term_months"}, 12]}]}, 75]}, True, False),
        # +inf - +inf is NaN: unknown
        ({"<=": [{"-": [{"var": "debt_to_income"}, {"var": "debt_to_income"}]}, 1]}, True, True),
        # by a feature that may be 0: unknown
        ({"<=": [{"/": [{"var": "amount"}, {"var": "children"}]}, 1]}, True, True),
        ({">=": [{"var": "co_age"}, 18]}, True, True),
        ({">=": [{"var": ["co_age", 0]}, 18]}, False, False),
    ],
)
def test_only_what_can_be_null_gets_an_unknown_bit(rule: Any, marked: bool, nullable: bool) -> None:
    node = _compiled(rule)
    assert (node.nullable, may_be_null(node, CODES)) == (marked, nullable)


def test_thresholds_equal_to_the_values_and_infinity_in_both_paths() -> None:
    rules = [
        {">=": [{"var": "age"}, 40]},
        {"<": [{"var": "age"}, 40]},
        {"<=": [{"var": "debt_to_income"}, 5]},
        {"==": [{"var": "employment"}, "permanent"]},
        {"!==": [{"var": "co_employment"}, "permanent"]},
        {"==": [{"var": "housing"}, "castle"]},  # outside the vocabulary: false, never an error
        {"<=": [{"+": [{"var": "age"}, {"/": [{"var": "term_months"}, 12]}]}, 45]},
        {"in": [{"var": "purpose"}, ["car", "refinance", "consumer", "renovation"]]},
    ]
    documents = [
        {
            "lender_id": f"bank_{k}",
            "name": "Bank",
            "markets": ["NO"],
            "requirements": [
                {"id": f"r{j}", "rule": rule, "reason": REASON}
                for j, rule in enumerate(rules[k:] + rules[:k])
            ],
        }
        for k in range(3)  # the same rules at other bits: computed once, placed three ways
    ]
    ruleset = ruleset_from_documents(documents)
    rows = [
        _row(age=40, term_months=60, purpose="other"),  # 40 + 5 = 45: on the threshold
        _row(age=39, income=0, total_income=0, debt_to_income=INF, employment="student"),
        _row(age=41, co_age=40, co_employment="permanent", has_co_applicant=True),
    ]
    wide = match(_frame(rows), ruleset)
    for i, row in enumerate(rows):
        for o in evaluate(row, ruleset):
            assert wide[failed_column(o.lender_id)][i] == o.failed
            assert wide[unknown_column(o.lender_id)][i] == o.unknown
    (first, *_) = evaluate(rows[0], ruleset)
    assert (first.failed, first.unknown) == (0b10100010, 0b00010000)
    assert math.isinf(rows[1]["debt_to_income"])


@pytest.mark.parametrize(
    "rule",
    [
        {"==": [{"%": [{"var": "term_months"}, 12]}, 0]},  # never negative: Polars' own `%`
        {"==": [{"%": [{"-": [{"var": "amount"}]}, 7]}, -3]},  # the sign of the dividend
        {"==": [{"%": [{"var": "amount"}, -7]}, 3]},
        {">=": [{"/": [{"var": "total_income"}, 12]}, 1000.5]},
        {">=": [{"/": [{"var": "debt_to_income"}, -0.5]}, -3]},  # +inf / -0.5
        {"==": [{"%": [{"var": "amount"}, {"var": "children"}]}, 0]},  # by a feature: guarded
    ],
)
def test_division_and_remainder_by_a_literal_need_no_guard(rule: Any) -> None:
    node = _compiled(rule)
    rows = [
        _row(amount=a, term_months=t, total_income=i, debt_to_income=d, children=c)
        for a, t, i, d, c in [
            (1000, 12, 0, INF, 0),
            (12_345, 13, 12_006, 2.5, 3),
            (5000, 60, 12_000, 0.0, 2),
        ]
    ]
    closure = lower_expression(node)
    assert _coded(node, rows) == [closure(row) for row in rows]


@pytest.mark.parametrize(
    "rule",
    [
        {"in": [{"var": "citizenship"}, "NO,SE,DK,FI,IS"]},
        {"in": [{"var": "co_employment"}, "permanent,retired"]},  # null without co-applicant
        {"in": [{"var": "citizenship"}, ""]},
    ],
)
def test_a_string_in_a_literal_string_is_one_of_its_substrings(rule: Any) -> None:
    node = _compiled(rule)
    rows = [
        _row(citizenship=c, co_employment=e, has_co_applicant=e is not None)
        for c, e in [
            ("NO", "permanent"),
            ("S", None),
            ("", "retired"),
            ("XX", "student"),
            (",D", "other"),
            ("NO,SE,DK,FI,IS", "manent,ret"),
        ]
    ]
    closure = lower_expression(node)
    assert _coded(node, rows) == [closure(row) for row in rows]
