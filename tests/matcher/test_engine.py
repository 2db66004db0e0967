"""The engine: single-application path == batch path, bitmask layout, markets."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, reject, settings
from hypothesis import strategies as st

from lender_rules.errors import RulesetError
from lender_rules.vocabulary import LANGUAGES
from matcher import (
    Application,
    LenderOutcome,
    decide,
    evaluate,
    feature_frame,
    features_of,
    generate,
    load_ruleset,
    match,
    match_side_by_side,
    to_long,
)
from matcher.application import applications_frame
from matcher.engine import failed_column, unknown_column
from matcher.ruleset import Ruleset, ruleset_from_documents
from tests.strategies import applications, bool_rules, decision_dates, feature_rows

RULES = Path(__file__).parents[2] / "lender_rules" / "lenders"
SHIPPED = load_ruleset(RULES)
REASON = {"en": "r", "nb": "r", "sv": "r"}


def single(
    apps: list[Application], ruleset: Ruleset, on: dt.date
) -> dict[tuple[str, str], tuple[int, int]]:
    out = {}
    for i, app in enumerate(apps):
        for o in evaluate(features_of(app, on), ruleset):
            out[(str(i), o.lender_id)] = (o.failed, o.unknown)
    return out


def batch(
    apps: list[Application], ruleset: Ruleset, on: dt.date
) -> dict[tuple[str, str], tuple[int, int]]:
    frame = applications_frame(apps, application_ids=[str(i) for i in range(len(apps))])
    long = to_long(match(frame, ruleset, on=on), ruleset)
    return {
        (r["application_id"], r["lender_id"]): (r["failed"], r["unknown"]) for r in long.to_dicts()
    }


@given(st.data())
def test_single_path_equals_batch_path(data: st.DataObject) -> None:
    # applications valid on the decision date: nobody is born after it (ages are >= 0)
    on = data.draw(decision_dates())
    apps = data.draw(st.lists(applications(on=on), min_size=1, max_size=6))
    assert single(apps, SHIPPED, on) == batch(apps, SHIPPED, on)


@given(applications())
def test_decide_stamps_ruleset_time_and_features(app: Application) -> None:
    when = dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    decision = decide(app, SHIPPED, decided_at=when)
    assert decision.ruleset_hash == SHIPPED.hash
    assert decision.decided_at == when
    assert decision.features == features_of(app, when.date())
    served = {lender.lender_id for lender in SHIPPED.lenders if app.market in lender.markets}
    assert {o.lender_id for o in decision.outcomes} == served
    assert decision.eligible_lenders == [o.lender_id for o in decision.outcomes if o.eligible]


def _doc(lender_id: str, markets: list[str], *rules: Any) -> dict[str, Any]:
    return {
        "lender_id": lender_id,
        "name": lender_id.title(),
        "markets": markets,
        "requirements": [{"id": f"r{i}", "rule": r, "reason": REASON} for i, r in enumerate(rules)],
    }


def _row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = dict(
        market="NO",
        age=30,
        has_co_applicant=False,
        co_age=None,
        income=500_000,
        co_income=0,
        total_income=500_000,
        employment="permanent",
        employed_months=24,
        co_employment=None,
        amount=100_000,
        term_months=60,
        purpose="car",
        existing_debt=0,
        debt_to_income=0.2,
        payment_remarks=0,
        housing="rent",
        housing_cost=8000,
        children=0,
        years_in_country=20,
        citizenship="NO",
    )
    row.update(changes)
    return row


def test_bit_i_is_requirement_i_and_null_is_unknown_not_failed() -> None:
    ruleset = ruleset_from_documents(
        [
            _doc(
                "bank",
                ["NO"],
                {">=": [{"var": "age"}, 18]},  # bit 0 passes
                {">=": [{"var": "age"}, 40]},  # bit 1 fails
                {">=": [{"var": "co_age"}, 18]},  # bit 2 unknown without co-applicant
                {"<=": [{"var": "co_age"}, 5]},  # bit 3 unknown (reference engines say true)
            )
        ]
    )
    (outcome,) = evaluate(_row(), ruleset)
    assert outcome == LenderOutcome("bank", failed=0b0010, unknown=0b1100)
    assert not outcome.eligible


def test_debt_ceiling_fails_plainly_without_income() -> None:
    ruleset = ruleset_from_documents([_doc("bank", ["NO"], {"<=": [{"var": "debt_to_income"}, 5]})])
    (outcome,) = evaluate(_row(income=0, total_income=0, debt_to_income=float("inf")), ruleset)
    assert (outcome.failed, outcome.unknown) == (1, 0)
    frame = pl.DataFrame([_row(income=0, total_income=0, debt_to_income=float("inf"))])
    wide = match(frame, ruleset)
    assert wide[failed_column("bank")].to_list() == [1]


def test_division_by_zero_is_unknown_in_both_paths() -> None:
    ruleset = ruleset_from_documents(
        [_doc("bank", ["NO"], {">": [{"/": [{"var": "amount"}, {"var": "co_income"}]}, 1]})]
    )
    (outcome,) = evaluate(_row(), ruleset)
    assert (outcome.failed, outcome.unknown) == (0, 1)
    wide = match(pl.DataFrame([_row()]), ruleset)
    assert wide.row(0) == (0, 1)


def test_a_lender_serves_only_its_markets() -> None:
    ruleset = ruleset_from_documents([_doc("no_bank", ["NO"], True), _doc("se_bank", ["SE"], True)])
    assert [o.lender_id for o in evaluate(_row(market="SE"), ruleset)] == ["se_bank"]
    wide = match(pl.DataFrame([_row(market="NO"), _row(market="SE")]), ruleset)
    assert wide[failed_column("no_bank")].to_list() == [0, None]
    assert wide[unknown_column("se_bank")].to_list() == [None, 0]
    long = to_long(wide, ruleset)
    assert long.select("row", "lender_id", "eligible").rows() == [
        (0, "no_bank", True),
        (1, "se_bank", True),
    ]


def test_literal_rules_still_give_one_outcome_per_row() -> None:
    ruleset = ruleset_from_documents([_doc("bank", ["NO", "SE"], True, {"!": True})])
    wide = match(pl.DataFrame([_row(), _row(), _row()]), ruleset)
    assert wide[failed_column("bank")].to_list() == [2, 2, 2]


def test_sixty_four_requirements_use_every_bit() -> None:
    rules = [{">=": [{"var": "age"}, 100]}] * 64
    ruleset = ruleset_from_documents([_doc("bank", ["NO"], *rules)])
    (outcome,) = evaluate(_row(), ruleset)
    assert outcome.failed == 2**64 - 1
    wide = match(pl.DataFrame([_row()]), ruleset)
    assert wide[failed_column("bank")].to_list() == [2**64 - 1]


@given(st.lists(applications(), min_size=1, max_size=5))
def test_nested_applications_and_feature_frames_match_alike(apps: list[Application]) -> None:
    on = dt.date(2026, 11, 25)
    nested = applications_frame(apps)
    from matcher import feature_frame

    features = feature_frame(nested, on).collect()
    assert match(nested, SHIPPED, on=on).equals(match(features, SHIPPED, on=on))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_shipped_lenders_have_plain_words_and_reasons_in_every_language(lang: str) -> None:
    for lender in SHIPPED.lenders:
        for requirement in lender.requirements:
            assert requirement.plain(lang)
            assert requirement.reason[lang]


def test_match_side_by_side_equals_match_under_each_ruleset() -> None:
    """Rulesets sharing most rules (one threshold moved) matched in one pass give, column for
    column, what each gives alone."""
    on = dt.date(2026, 11, 25)
    frame = feature_frame(generate(500, 3, on), on).collect()
    documents = [dict(d) for d in SHIPPED.documents.values()]
    moved = [
        d | {"requirements": [r | {"rule": {">=": [{"var": "age"}, 33]}} for r in d["requirements"][:1]]
             + d["requirements"][1:]}
        for d in documents
    ]  # fmt: skip
    other = ruleset_from_documents(moved[:5] + documents[5:])
    both = match_side_by_side(frame, {"old/": SHIPPED, "new/": other})
    alone = [match(frame, SHIPPED).drop("application_id"), match(frame, other)]
    assert both.columns == [
        "application_id",
        *(f"old/{c}" for c in alone[0].columns),
        *(f"new/{c}" for c in alone[1].columns if c != "application_id"),
    ]
    assert (
        both.select(pl.exclude("^new/.*$"))
        .rename(lambda c: c.removeprefix("old/"))
        .equals(match(frame, SHIPPED))
    )
    assert (
        both.select("application_id", pl.col("^new/.*$"))
        .rename(lambda c: c.removeprefix("new/"))
        .equals(alone[1])
    )


def _per_lender(row: dict[str, Any], ruleset: Ruleset) -> tuple[LenderOutcome, ...]:
    """The reference of the single path: each lender's own compiled function, one by one."""
    return tuple(
        LenderOutcome(lender.lender_id, *lender.evaluate(row))
        for lender in ruleset.for_market(row["market"])
    )


@settings(max_examples=200)
@given(st.lists(bool_rules(), min_size=1, max_size=6), feature_rows(nulls=True))
def test_a_markets_one_function_gives_each_lenders_own_outcome(
    rules: list[Any], row: dict[str, Any]
) -> None:
    """`evaluate` runs every lender of a market in one compiled function: its outcomes are
    those of the lenders' own functions, for random rules (nulls, unknowns and all)."""
    documents = [
        _doc(f"bank_{i}", ["NO", "SE"] if i % 2 else [row["market"]], *rules[i:], *rules[:i])
        for i in range(len(rules))
    ]
    try:
        ruleset = ruleset_from_documents(documents)
    except RulesetError:
        reject()  # a random rule refused at load (its range): tests/matcher/test_ranges.py
    outcomes = evaluate(row, ruleset)
    assert outcomes == _per_lender(row, ruleset)
    assert all(type(o) is LenderOutcome for o in outcomes)


@given(applications())
def test_decide_gives_each_shipped_lenders_own_outcome(app: Application) -> None:
    decision = decide(app, SHIPPED, decided_at=dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC))
    assert decision.outcomes == _per_lender(decision.features, SHIPPED)
