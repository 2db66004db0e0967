"""Feature rows and frames outside the feature contract are refused before evaluation, on
both paths alike: NaN, values beyond the bounds, ints beyond 2**53, wrong types, missing or
null features, values outside a closed list. A frame's refusal names each bad column with its
count of bad rows, and `valid_rows` sets bad rows aside instead."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import (
    BadColumn,
    FeatureFrameError,
    FeatureRowError,
    evaluate,
    match,
    row_problems,
    ruleset_from_documents,
    valid_rows,
)
from matcher.engine import failed_column
from matcher.feature_checks import _row_reason
from matcher.schema import FEATURES, polars_schema
from tests.matcher.test_engine import _doc, _row

RULESET = ruleset_from_documents(
    [
        _doc(
            "bank",
            ["NO", "SE"],
            {"<=": [{"var": "debt_to_income"}, 5]},
            {"<": [{"var": "amount"}, 0.5]},  # an int compared with a float
            {">=": [{"var": "age"}, 18]},
        )
    ]
)

# (feature, a value the contract does not allow, the reason given)
BAD_VALUES: list[tuple[str, Any, str]] = [
    ("debt_to_income", float("nan"), "NaN"),
    ("debt_to_income", -1.0, "outside 0.0..inf"),
    ("age", 300, "outside 0..250"),
    ("age", -1, "outside 0..250"),
    ("amount", 2**53 + 1, "outside 1000..5000000"),  # Python and Polars compare it differently
    ("amount", 12.5, "not an int"),
    ("amount", True, "not an int"),
    ("income", None, "null, and the feature is never null"),
    ("employment", "astronaut", "not one of its values"),
    ("market", "DK", "not one of its values"),
    ("has_co_applicant", 1, "not a bool"),
]


@pytest.mark.parametrize(("feature", "value", "reason"), BAD_VALUES)
def test_evaluate_refuses_a_row_outside_the_contract(feature: str, value: Any, reason: str) -> None:
    with pytest.raises(FeatureRowError) as caught:
        evaluate(_row(**{feature: value}), RULESET)
    assert (caught.value.feature, caught.value.reason) == (feature, reason)


def test_evaluate_refuses_a_row_without_a_feature() -> None:
    row = _row()
    del row["children"]
    with pytest.raises(FeatureRowError) as caught:
        evaluate(row, RULESET)
    assert (caught.value.feature, caught.value.reason) == ("children", "missing")


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=polars_schema(), orient="row", strict=False)


NUMBER_VALUES = [v for v in BAD_VALUES if v[0] not in ("amount", "has_co_applicant")]


@pytest.mark.parametrize(("feature", "value", "reason"), NUMBER_VALUES)
def test_match_refuses_a_frame_naming_the_column_and_its_count_of_bad_rows(
    feature: str, value: Any, reason: str
) -> None:
    frame = _frame([_row(), _row(**{feature: value}), _row(**{feature: value}), _row()])
    with pytest.raises(FeatureFrameError) as caught:
        match(frame, RULESET)
    assert caught.value.rows == 4
    assert caught.value.bad_rows == 2
    assert [(c.column, c.bad_rows) for c in caught.value.columns] == [(feature, 2)]


def test_ints_beyond_2_53_are_refused_by_both_paths() -> None:
    # 2**53 + 1 < 0.5 * 2**54: Python compares exactly, Polars after rounding to a double
    row = _row(amount=2**53 + 1)
    with pytest.raises(FeatureRowError):
        evaluate(row, RULESET)
    with pytest.raises(FeatureFrameError) as caught:
        match(_frame([row]), RULESET)
    assert caught.value.columns == (BadColumn("amount", 1, "null or outside 1000..5000000"),)


def test_a_column_of_the_wrong_type_refuses_every_row() -> None:
    frame = _frame([_row(), _row()]).with_columns(pl.col("amount").cast(pl.String))
    with pytest.raises(FeatureFrameError) as caught:
        match(frame, RULESET)
    assert caught.value.columns == (BadColumn("amount", 2, "of type String, not Int64"),)
    mask, bad = valid_rows(frame)
    assert mask.to_list() == [False, False]
    assert bad == caught.value.columns


def test_valid_rows_sets_bad_rows_aside_for_a_rescoring_job() -> None:
    rows = [_row(), _row(age=400), _row(debt_to_income=float("nan"), age=-3), _row(amount=10)]
    frame = _frame(rows)
    mask, bad = valid_rows(frame)
    assert mask.to_list() == [True, False, False, False]
    assert {(c.column, c.bad_rows) for c in bad} == {
        ("age", 2),
        ("amount", 1),
        ("debt_to_income", 1),
    }
    wide = match(frame.filter(mask), RULESET)
    assert wide[failed_column("bank")].to_list() == [0b010]


def test_narrower_and_all_null_columns_are_cast_to_the_contract() -> None:
    frame = _frame([_row(), _row()]).with_columns(
        pl.col("children").cast(pl.Int8), pl.lit(None).alias("co_age")
    )
    assert match(frame, RULESET)[failed_column("bank")].to_list() == [0b010, 0b010]


def test_decide_refuses_ages_beyond_the_contract_from_its_decision_date() -> None:
    # the application model bounds every feature but the ages, which depend on the date
    import datetime as dt

    from hypothesis import given

    from matcher import decide
    from tests.strategies import applications

    @given(applications("NO", on=dt.date(2026, 11, 25)))  # fødselsnummer: fixed centuries
    def check(app: Any) -> None:
        far = dt.datetime(2300, 1, 1, tzinfo=dt.UTC)  # over 250 years after every birth
        with pytest.raises(FeatureRowError) as caught:
            decide(app, RULESET, decided_at=far)
        assert (caught.value.feature, caught.value.reason) == ("age", "outside 0..250")

    check()


@pytest.mark.parametrize(
    ("feature", "values", "bad"),
    [
        # an int from 0 is checked read as unsigned: a negative one is above the high bound
        ("children", [-(2**63), -1, 0, 20, 21, 2**63 - 1], [True, True, False, False, True, True]),
        ("income", [-1, 0, 100_000_000, 100_000_001], [True, False, False, True]),
        ("amount", [999, 1000, 5_000_000, 5_000_001, -(2**63)], [True, False, False, True, True]),
        # no comparison with the infinite high bound: +inf is within it, -inf and NaN not
        (
            "debt_to_income",
            [0.0, -0.0, math.inf, -math.inf, math.nan, -1e-300],
            [False, False, False, True, True, True],
        ),
    ],
)
def test_the_frame_check_finds_values_at_and_beyond_the_bounds(
    feature: str, values: list[Any], bad: list[bool]
) -> None:
    frame = _frame([_row(**{feature: v}) for v in values])
    mask, _ = valid_rows(frame)
    assert [not ok for ok in mask.to_list()] == bad
    assert [check_row_refuses(_row(**{feature: v})) for v in values] == bad


def check_row_refuses(row: dict[str, Any]) -> bool:
    try:
        evaluate(row, RULESET)
    except FeatureRowError:
        return True
    return False


_FRAME_BAD_VALUES = [
    *((feature, value) for feature, value, _ in NUMBER_VALUES),
    ("amount", 999),
    ("amount", 2**53 + 1),
    ("co_employment", "astronaut"),
    ("purpose", None),
    ("housing", "castle"),
    ("citizenship", None),
]


def test_bad_rows_after_a_clean_run_of_rows_are_worded() -> None:
    """Found by the property below: two valid rows, then a missing income and a text outside
    its list. Checking the frame leaves its columns in two chunks, the bad rows are none of
    the first, and Polars 2.1.0's `pl.format` panicked wording them (now `concat_str`)."""
    frame = _frame([_row(), _row(), _row(income=None), _row(co_employment="astronaut")])
    assert row_problems(frame).to_list() == [
        None,
        None,
        "income: missing",
        "co_employment: astronaut is not one of "
        + ", ".join(next(f for f in FEATURES if f.name == "co_employment").values or ()),
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.integers(0, len(_FRAME_BAD_VALUES) - 1), max_size=3), min_size=1, max_size=30
    )
)
def test_row_problems_words_exactly_the_rows_valid_rows_sets_aside(
    breaks: list[list[int]],
) -> None:
    """`row_problems` finds the bad rows in one boolean pass and words only those: its
    reasons are those of wording every feature of every row, null exactly where `valid_rows`
    keeps the row."""
    rows = []
    for row_breaks in breaks:
        changes = dict(_FRAME_BAD_VALUES[k] for k in row_breaks)
        rows.append(_row(**changes))
    frame = _frame(rows)
    every_row = frame.select(
        pl.concat_list([_row_reason(f) for f in FEATURES]).list.drop_nulls().list.join("; ")
    ).to_series()
    problems = row_problems(frame)
    assert problems.to_list() == [reason or None for reason in every_row.to_list()]
    assert problems.is_null().to_list() == valid_rows(frame)[0].to_list()
