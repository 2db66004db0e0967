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
from matcher.engine import _frame_plan, evaluate, failed_column, match, unknown_column
from matcher.errors import FeatureFrameError
from matcher.ir import Call, Const, Node
from matcher.lower_polars import (
    feature_codes,
    in_codes,
    lower,
    may_be_null,
    narrow_dtype,
    node_key,
    shared_subexpressions,
)
from matcher.lower_python import lower_expression
from matcher.ruleset import Ruleset, ruleset_from_documents
from matcher.schema import Type, polars_schema
from tests.matcher.lowerings import lenders
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


def assert_bits_of_evaluate(rows: list[dict[str, Any]], ruleset: Ruleset) -> None:
    """Every lender's failed and unknown bits from `match` over the rows are `evaluate`'s."""
    wide = match(_frame(rows), ruleset)
    for i, row in enumerate(rows):
        outcomes = {o.lender_id: (o.failed, o.unknown) for o in evaluate(row, ruleset)}
        for lender in ruleset.lenders:
            got = (
                wide[failed_column(lender.lender_id)][i],
                wide[unknown_column(lender.lender_id)][i],
            )
            assert got == outcomes.get(lender.lender_id, (None, None)), (lender.lender_id, row)


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
    ruleset = lenders(rules, markets)
    assert_bits_of_evaluate(rows, ruleset)


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
    # the same rules at other bits: computed once, placed three ways
    ruleset = lenders([rules[k:] + rules[:k] for k in range(3)], [["NO"]] * 3)
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


@pytest.mark.parametrize("feature", sorted(CODES.columns))
def test_a_code_is_the_place_in_the_list_none_for_another_string_null_for_null(
    feature: str,
) -> None:
    # a long list is coded by a cast to Enum, a short one by a chain of equalities: the same
    column, values = CODES.columns[feature]
    others = ["", " ", values[0].upper(), values[0] + " ", " " + values[-1], values[1] + "\x00"]
    others += [values[-1][:-1], "x" * 40, "ü", values[0] + values[1]]
    strings = [*values, None, *others, *reversed(values)]
    frame = pl.DataFrame({feature: strings}, schema={feature: pl.String})
    (coding,) = [e for e in CODES.code_expressions() if e.meta.output_name() == column]
    coded = frame.select(coding).get_column(column)
    expected = [None if v is None else values.index(v) if v in values else 255 for v in strings]
    assert coded.dtype == pl.UInt8
    assert coded.to_list() == expected


def test_bitmasks_are_null_outside_the_markets_though_only_one_term_is_gated() -> None:
    # the gate is put on the first bit's term: every other bit set (failed or unknown) on
    # a row of another market must not show through the fold
    rules = [
        {">=": [{"var": "age"}, 40]},
        {"if": [{"var": "has_co_applicant"}, {">=": [{"var": "co_age"}, 30]}, True]},
        {"<=": [{"var": "debt_to_income"}, 5]},
        {"==": [{"var": "co_employment"}, "permanent"]},
    ]
    documents = [
        _doc_of("no_first", ["NO"], rules),
        _doc_of("se_last", ["SE"], rules[::-1]),  # the nullable rules first and last
        _doc_of("both", ["NO", "SE"], rules),
        _doc_of("plain", ["SE"], rules[:1] + rules[2:3]),  # nothing unknown
    ]
    ruleset = ruleset_from_documents(documents)
    failing = dict(age=39, debt_to_income=INF, has_co_applicant=True, co_age=None)
    rows = [_row(market=m, **failing) for m in ("NO", "SE")] + [_row(market="SE"), _row()]
    wide = match(_frame(rows), ruleset)
    for i, row in enumerate(rows):
        served = {o.lender_id: o for o in evaluate(row, ruleset)}
        for lender in ruleset.lenders:
            got = (
                wide[failed_column(lender.lender_id)][i],
                wide[unknown_column(lender.lender_id)][i],
            )
            o = served.get(lender.lender_id)
            assert got == ((None, None) if o is None else (o.failed, o.unknown))
    assert wide[failed_column("no_first")].to_list() == [0b0101, None, None, 0b0001]
    assert wide[unknown_column("no_first")].to_list() == [0b1010, None, None, 0b1000]


def _doc_of(lender_id: str, markets: list[str], rules: list[Any]) -> dict[str, Any]:
    return {
        "lender_id": lender_id,
        "name": lender_id.title(),
        "markets": markets,
        "requirements": [{"id": f"r{j}", "rule": r, "reason": REASON} for j, r in enumerate(rules)],
    }


@pytest.mark.parametrize(
    "rule",
    [
        {"==": [{"%": [{"var": "term_months"}, 12]}, 0]},  # never negative: Polars' own `%`
        {"==": [{"%": [{"-": [{"var": "amount"}]}, 7]}, -3]},  # the sign of the dividend
        {"==": [{"%": [{"var": "amount"}, -7]}, 3]},
        {">=": [{"/": [{"var": "total_income"}, 12]}, 1000.5]},
        {">=": [{"/": [{"var": "debt_to_income"}, -0.5]}, -3]},  # +inf / -0.5
        {"==": [{"%": [{"var": "amount"}, {"var": "children"}]}, 0]},  # by a feature: guarded
        # remainders of narrow copies: never negative features by a literal of their type
        {"==": [{"%": [{"var": "amount"}, 1000]}, 0]},
        {"<=": [1, {"%": [{"var": "term_months"}, 12]}, 5]},
        {"==": [{"%": [{"var": "co_age"}, 5]}, 2]},  # null without co-applicant
        {"<": [{"%": [{"var": "age"}, 300]}, 41]},  # 300 does not fit UInt8: read as it is
        {"==": [{"%": [{"var": "age"}, 7]}, 300]},  # 300 does not fit: compared as it is
    ],
)
def test_division_and_remainder_by_a_literal_need_no_guard(rule: Any) -> None:
    node = _compiled(rule)
    rows = [
        _row(
            amount=a,
            term_months=t,
            total_income=i,
            debt_to_income=d,
            children=c,
            age=t // 2,
            co_age=None if c == 0 else 40 + c,
            has_co_applicant=c != 0,
        )
        for a, t, i, d, c in [
            (1000, 12, 0, INF, 0),
            (12_345, 13, 12_006, 2.5, 3),
            (5000, 60, 12_000, 0.0, 2),
            (4_999_000, 359, 1, 1.0, 1),
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


# -- narrow copies of integer features, and sub-expressions shared by several rules --------

END_OF_TERM = {"+": [{"var": "age"}, {"/": [{"var": "term_months"}, 12]}]}


def _many_lenders() -> list[dict[str, Any]]:
    """Eight lenders, each with its own age limits, amount range and age at the end of
    the term: every integer feature is read by many comparisons, the end of the term by
    every lender."""
    return [
        {
            "lender_id": f"bank_{k}",
            "name": "Bank",
            "markets": ["NO", "SE"] if k % 2 else ["NO"],
            "requirements": [
                {"id": "age", "rule": {">=": [{"var": "age"}, 18 + k]}, "reason": REASON},
                {"id": "max_age", "rule": {"<": [{"var": "age"}, 70 - k]}, "reason": REASON},
                {
                    "id": "amount",
                    "rule": {"<=": [5000 * k, {"var": "amount"}, 300_000 + 1000 * k]},
                    "reason": REASON,
                },
                {"id": "end", "rule": {"<=": [END_OF_TERM, 70 + k]}, "reason": REASON},
                {"id": "term", "rule": {"!=": [{"var": "term_months"}, 12 * k]}, "reason": REASON},
                {"id": "huge", "rule": {"<=": [{"var": "age"}, 100_000]}, "reason": REASON},
                {"id": "co", "rule": {">=": [{"var": "co_age"}, 20 + k]}, "reason": REASON},
            ],
        }
        for k in range(8)
    ]


def test_a_plan_reads_often_compared_integers_narrow_and_shares_arithmetic() -> None:
    ruleset = ruleset_from_documents(_many_lenders())
    plan = _frame_plan(ruleset)
    narrow = {CODES.narrow[name][0] for name in ("age", "amount", "term_months", "co_age")}
    assert set(plan.narrow) == narrow  # each read by at least five comparisons
    assert len(plan.shared) == 1  # the end of the term, not its term_months / 12 within
    # the 100_000 does not fit age's narrow type: that comparison reads age as it is
    assert CODES.narrow["age"][1] == pl.UInt8()


@given(st.lists(rows_with_infinity(), min_size=1, max_size=8))
def test_narrow_and_shared_columns_give_the_bits_of_evaluate(rows: list[dict[str, Any]]) -> None:
    ruleset = ruleset_from_documents(_many_lenders())
    assert_bits_of_evaluate(rows, ruleset)


def test_thresholds_equal_to_the_values_in_narrow_columns() -> None:
    ruleset = ruleset_from_documents(_many_lenders())
    rows = [
        _row(age=18, amount=300_000, term_months=12),  # bank_0's thresholds exactly
        _row(age=63, amount=335_000, term_months=84, co_age=27, has_co_applicant=True),
        _row(age=0, amount=1000, term_months=1),  # the lower bounds
        _row(age=250, amount=5_000_000, term_months=360),  # the upper bounds
    ]
    wide = match(_frame(rows), ruleset)
    for i, row in enumerate(rows):
        for o in evaluate(row, ruleset):
            assert wide[failed_column(o.lender_id)][i] == o.failed
            assert wide[unknown_column(o.lender_id)][i] == o.unknown


def test_a_value_outside_the_bounds_is_refused_though_its_narrow_copy_wraps() -> None:
    ruleset = ruleset_from_documents(_many_lenders())
    rows = [_row(), _row(age=300)]  # 300 wraps to 44 in UInt8: refused all the same
    with pytest.raises(FeatureFrameError) as refused:
        match(_frame(rows), ruleset)
    assert [(c.column, c.bad_rows) for c in refused.value.columns] == [("age", 1)]


@pytest.mark.parametrize(
    ("low", "high", "dtype"),
    [
        (0, 250, pl.UInt8()),
        (-1, 100, pl.Int8()),
        (1, 360, pl.UInt16()),
        (0, 100_000_000, pl.UInt32()),
        (-(10**9), 10**9, pl.Int32()),
        (0, 2**40, None),
        (0, None, None),
        (0.0, 1.0, None),
    ],
)
def test_the_narrow_type_holds_every_value_within_the_bounds(
    low: Any, high: Any, dtype: pl.DataType | None
) -> None:
    assert narrow_dtype(low, high) == dtype


def test_node_keys_tell_literals_apart_but_not_paths() -> None:
    alone = _compiled({">=": [{"var": "age"}, 18]})
    negated = _compiled({"!": [{">=": [{"var": "age"}, 18]}]})
    assert isinstance(negated, Call) and negated.args[0].path != alone.path
    assert node_key(negated.args[0]) == node_key(alone)
    assert node_key(alone) != node_key(_compiled({">=": [{"var": "age"}, 19]}))
    literals = [
        Const(0.0, Type.FLOAT, "$"),
        Const(-0.0, Type.FLOAT, "$"),
        Const(1.0, Type.FLOAT, "$"),
        Const(1, Type.INT, "$"),
        Const(True, Type.BOOL, "$"),
    ]
    assert len({node_key(c) for c in literals}) == len(literals)


def test_only_the_outermost_arithmetic_that_rules_share_is_a_column() -> None:
    rules = [
        _compiled({"<=": [END_OF_TERM, 70]}),
        _compiled({"<=": [END_OF_TERM, 75]}),
        _compiled({"<=": [END_OF_TERM, 70]}),  # the same rule again: counted once
        _compiled({">=": [{"*": [{"var": "amount"}, 2]}, 10]}),  # in one rule only
    ]
    end_of_term = rules[0].args[0]  # type: ignore[union-attr]  # a comparison: a Call
    shared = shared_subexpressions(rules)
    assert [node_key(n) for _, n in shared.columns.values()] == [node_key(end_of_term)]
    # term_months / 12 read on its own as well: a column of its own too
    alone = _compiled({">=": [{"/": [{"var": "term_months"}, 12]}, 2]})
    inner = end_of_term.args[1]  # type: ignore[union-attr]  # a sum: a Call
    shared = shared_subexpressions([*rules, alone])
    assert {node_key(n) for _, n in shared.columns.values()} == {
        node_key(end_of_term),
        node_key(inner),
    }


def test_a_remainder_by_a_literal_is_computed_in_the_narrow_copy() -> None:
    narrow = str(lower(_compiled({"==": [{"%": [{"var": "term_months"}, 12]}, 0]}), CODES))
    assert CODES.narrow["term_months"][0] in narrow
    # a dividend that can be negative, or a divisor outside the type: the column as it is
    negative = str(lower(_compiled({"==": [{"%": [{"var": "amount"}, -7]}, 3]}), CODES))
    too_big = str(lower(_compiled({"<": [{"%": [{"var": "age"}, 300]}, 41]}), CODES))
    assert "narrow" not in negative and "narrow" not in too_big
