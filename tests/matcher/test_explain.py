"""Explanations: reasons from bitmasks, values and thresholds, and exact hints."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from matcher import Application, LenderExplanation, evaluate, explain, features_of, match
from matcher.application import AMOUNT_MAX, AMOUNT_MIN, TERM_MAX, TERM_MIN, applications_frame
from matcher.explain import _number, explain_frame
from matcher.features import with_loan
from matcher.ruleset import Ruleset, ruleset_from_documents
from matcher.texts import HINTS
from tests.matcher.test_engine import SHIPPED, _doc, _row
from tests.strategies import applications

AGE_AT_END = {"<=": [{"+": [{"var": "age"}, {"/": [{"var": "term_months"}, 12]}]}, 70]}
AMOUNT_RANGE = {"<=": [10_000, {"var": "amount"}, 400_000]}
DEBT_CEILING = {"<=": [{"var": "debt_to_income"}, 5]}


def bank(*rules: Any) -> Ruleset:
    return ruleset_from_documents([_doc("bank", ["NO"], *rules)])


def loan_row(**changes: Any) -> dict[str, Any]:
    row = _row(age=60, income=100_000, total_income=100_000, existing_debt=200_000)
    row = with_loan(
        row, amount=changes.pop("amount", 100_000), term_months=changes.pop("term_months", 60)
    )
    row.update(changes)
    return row


def test_reasons_name_code_kind_message_rule_values_and_threshold() -> None:
    ruleset = bank(AMOUNT_RANGE, {">=": [{"var": "co_age"}, 18]})
    row = loan_row(amount=500_000)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset, "nb")
    assert not explanation.eligible
    assert [dataclasses.asdict(r) for r in explanation.reasons] == [
        {
            "code": "bank.r0",
            "kind": "failed",
            "message": "r",
            "rule": "10000 <= lånebeløp <= 400000",
            "values": {"amount": 500_000},
            "threshold": [10_000, 400_000],
        },
        {
            "code": "bank.r1",
            "kind": "missing",
            "message": "r",
            "rule": "medsøkers alder >= 18",
            "values": {"co_age": None},
            "threshold": 18,
        },
    ]
    assert explanation.hint is None  # a missing co_age is not a matter of amount


def test_hint_gives_the_exact_amount_range_through_debt_to_income() -> None:
    ruleset = bank(AMOUNT_RANGE, DEBT_CEILING, AGE_AT_END)
    row = loan_row(amount=500_000, term_months=120)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    assert explanation.hint is not None
    # (200 000 + amount) / 100 000 <= 5  ->  amount <= 300 000
    assert explanation.hint.amount == [(10_000, 300_000)]
    assert explanation.hint.term_months is None
    assert (
        explanation.hint.message == "Bank would accept an amount of 10,000–300,000 over 120 months."
    )


def test_hint_gives_the_exact_term_range() -> None:
    ruleset = bank(AMOUNT_RANGE, DEBT_CEILING, AGE_AT_END)
    row = loan_row(amount=100_000, term_months=180)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset, "sv")
    assert explanation.hint is not None
    assert explanation.hint.term_months == [(TERM_MIN, 120)]  # 60 + term / 12 <= 70
    assert explanation.hint.amount is None
    assert "120" in explanation.hint.message and "återbetalningstid" in explanation.hint.message


def test_no_hint_when_a_failing_requirement_reads_more_than_the_loan() -> None:
    ruleset = bank(AMOUNT_RANGE, {">=": [{"var": "income"}, 200_000]})
    row = loan_row(amount=500_000)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    assert explanation.hint is None


def test_no_hint_where_the_amount_is_not_monotone() -> None:
    ruleset = bank({"<": [{"%": [{"var": "amount"}, 1000]}, 500]})
    row = loan_row(amount=100_501)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    assert explanation.hint is None


def test_a_whole_multiple_rule_gives_a_stepped_hint() -> None:
    ruleset = bank(AMOUNT_RANGE, DEBT_CEILING, {"==": [{"%": [{"var": "amount"}, 1000]}, 0]})
    row = loan_row(amount=300_500, term_months=120)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    assert explanation.hint is not None
    assert (explanation.hint.amount, explanation.hint.amount_step) == ([(10_000, 300_000)], 1000)
    assert explanation.hint.message == (
        "Bank would accept an amount of 10,000–300,000 (in steps of 1,000) over 120 months."
    )


def test_an_empty_hint_says_no_amount_and_term_would_do_and_what_is_in_the_way() -> None:
    ruleset = bank({"<=": [{"var": "amount"}, 500]})  # below the smallest amount applied for
    row = loan_row(amount=100_000)
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    assert explanation.hint is not None and explanation.hint.amount == []
    assert explanation.hint.message == "Bank would accept no amount with any term. In the way: r"
    assert (explanation.hint.combinations, explanation.hint.blocking) == ([], ["bank.r0"])


def test_infinite_values_are_reported_as_json_safe_text() -> None:
    ruleset = bank(DEBT_CEILING)
    row = loan_row()
    row.update(income=0, total_income=0, debt_to_income=float("inf"))
    (explanation,) = explain(row, evaluate(row, ruleset), ruleset)
    assert explanation.reasons[0].values == {"debt_to_income": "Infinity"}
    as_json = json.loads(TypeAdapter(LenderExplanation).dump_json(explanation))
    assert as_json["reasons"][0]["values"] == {"debt_to_income": "Infinity"}


@st.composite
def creditworthy_rows(draw: st.DrawFn) -> dict[str, Any]:
    """Applicants who meet most non-loan requirements, with any amount and term."""
    market = draw(st.sampled_from(["NO", "SE"]))
    income = draw(st.integers(250_000, 1_500_000))
    row = _row(
        market=market,
        citizenship=market,
        age=draw(st.integers(25, 65)),
        income=income,
        total_income=income,
        employed_months=draw(st.integers(12, 240)),
        existing_debt=draw(st.integers(0, 500_000)),
        housing="own",
        housing_cost=draw(st.integers(2000, 12_000)),
        years_in_country=draw(st.integers(5, 50)),
        purpose=draw(st.sampled_from(["refinance", "car", "consumer"])),
    )
    return with_loan(
        row,
        amount=draw(st.integers(AMOUNT_MIN, AMOUNT_MAX) | st.integers(AMOUNT_MIN, 800_000)),
        term_months=draw(st.integers(TERM_MIN, TERM_MAX) | st.sampled_from([12, 60, 120, 180])),
    )


def _eligible_at(ruleset: Ruleset, lender_id: str, row: dict[str, Any]) -> bool:
    return next(o for o in evaluate(row, ruleset) if o.lender_id == lender_id).eligible


@given(creditworthy_rows(), st.randoms(use_true_random=False))
def test_hinted_amounts_and_terms_make_the_lender_accept(row: dict[str, Any], rnd: Any) -> None:
    outcomes = [o for o in evaluate(row, SHIPPED) if not o.eligible]
    for explanation in explain(row, outcomes, SHIPPED):
        hint = explanation.hint
        if hint is None:
            continue
        for key, domain in (
            ("amount", (AMOUNT_MIN, AMOUNT_MAX)),
            ("term_months", (TERM_MIN, TERM_MAX)),
        ):
            intervals, step = getattr(hint, key), getattr(hint, f"{key}_step")
            for low, high in intervals or []:
                inside = low + (rnd.randint(low, high) - low) // step * step
                for value in {low, high, inside}:
                    changed = with_loan(row, **{**_loan(row), key: value})
                    assert _eligible_at(SHIPPED, explanation.lender_id, changed), (key, value)
                # exact: one value or one step outside the interval is refused (in the domain)
                for value in (low - 1, high + 1, low - step, high + step):
                    if domain[0] <= value <= domain[1] and not any(
                        a <= value <= b for a, b in intervals or []
                    ):
                        changed = with_loan(row, **{**_loan(row), key: value})
                        assert not _eligible_at(SHIPPED, explanation.lender_id, changed), (
                            key,
                            value,
                        )


def _loan(row: dict[str, Any]) -> dict[str, int]:
    return {"amount": row["amount"], "term_months": row["term_months"]}


@given(creditworthy_rows())
def test_term_hints_are_exactly_the_accepted_terms(row: dict[str, Any]) -> None:
    """Complete as well as sound: every term the lender would accept is in the hint."""
    outcomes = [o for o in evaluate(row, SHIPPED) if not o.eligible]
    for explanation in explain(row, outcomes, SHIPPED):
        if explanation.hint is None or explanation.hint.term_months is None:
            continue
        step = explanation.hint.term_months_step
        hinted = {
            t for low, high in explanation.hint.term_months for t in range(low, high + 1, step)
        }
        every = {
            term
            for term in range(TERM_MIN, TERM_MAX + 1)
            if _eligible_at(
                SHIPPED,
                explanation.lender_id,
                with_loan(row, amount=row["amount"], term_months=term),
            )
        }
        assert hinted == every, explanation.lender_id


@given(st.lists(applications(), min_size=1, max_size=6))
def test_batch_reasons_equal_single_reasons(apps: list[Application]) -> None:
    """`match --explain` gives each lender's reasons as `explain` does (codes, kinds, texts)."""
    on = dt.date(2026, 11, 25)
    frame = applications_frame(apps, application_ids=[str(i) for i in range(len(apps))])
    batch = {
        (r["application_id"], r["lender_id"]): [
            (x["code"], x["kind"], x["message"]) for x in r["reasons"]
        ]
        for r in explain_frame(match(frame, SHIPPED, on=on), SHIPPED, "sv").to_dicts()
    }
    single = {}
    for i, app in enumerate(apps):
        features = features_of(app, on)
        for e in explain(features, evaluate(features, SHIPPED), SHIPPED, "sv"):
            single[(str(i), e.lender_id)] = [(r.code, r.kind, r.message) for r in e.reasons]
    assert batch == single


def _shipped_reason(lender_id: str, requirement_id: str, row: dict[str, Any]) -> Any:
    (outcome,) = [o for o in evaluate(row, SHIPPED) if o.lender_id == lender_id]
    (explanation,) = explain(row, [outcome], SHIPPED)
    code = f"{lender_id}.{requirement_id}"
    (reason,) = [r for r in explanation.reasons if r.code == code]
    return reason


def test_a_conditional_rule_gives_the_threshold_of_the_branch_the_applicant_is_in() -> None:
    temporary = _row(employment="temporary", employed_months=5)
    assert _shipped_reason("fjordkreditt", "temporary_tenure", temporary).threshold == 12
    # a chain of conditions: self-employed applicants need 24 months at Granskog
    self_employed = _row(market="SE", employment="self_employed", employed_months=10)
    assert _shipped_reason("granskog_bank", "employment_tenure", self_employed).threshold == 24
    # the market chooses the income floor at Kjølen
    low = {"income": 150_000, "total_income": 150_000, "debt_to_income": 100_000 / 150_000}
    assert _shipped_reason("kjolen_kreditt", "min_income", _row(**low)).threshold == 200_000
    sweden = _row(market="SE", **low)
    assert _shipped_reason("kjolen_kreditt", "min_income", sweden).threshold == 160_000


def test_a_computed_limit_is_evaluated_with_the_applicants_values() -> None:
    two_children = _row(income=230_000, total_income=230_000, children=2)
    reason = _shipped_reason("havbris_kreditt", "household_income_children", two_children)
    assert (reason.threshold, reason.values) == (280_000, {"children": 2, "total_income": 230_000})
    # amount <= min(500 000, 3 * total_income)
    small = _row(income=180_000, total_income=180_000, amount=600_000, debt_to_income=600 / 180)
    assert _shipped_reason("tindebank", "amount_max", small).threshold == 500_000
    smaller = _row(income=190_000, total_income=100_000, amount=400_000, debt_to_income=4.0)
    assert _shipped_reason("tindebank", "amount_max", smaller).threshold == 300_000
    # with a co-applicant and three children: 20 000 + 4 500 * 3 left to live on each month
    co = _row(market="SE", has_co_applicant=True, co_age=30, children=3, housing_cost=30_000)
    assert _shipped_reason("ekhagen_kredit", "left_to_live_on", co).threshold == 33_500


def _forget(ruleset: Ruleset) -> None:
    """Empty every memo of the explanations: hints given, hint searches' answers."""
    for lender in ruleset.lenders:
        for answers in lender.analysis.memo.values():
            answers.clear()
        lender.analysis.answers.clear()
        lender.analysis.hints.clear()
        lender.analysis.told_hints.clear()
        lender.analysis.told_parts.clear()


@given(st.lists(applications(), min_size=1, max_size=8), st.sampled_from(["en", "nb", "sv"]))
def test_explanations_given_from_memos_are_those_worked_out_afresh(
    apps: list[Application], lang: str
) -> None:
    """Reasons and hints kept from earlier applications are the ones a cold ruleset gives."""
    on = dt.date(2026, 11, 25)
    rows = [features_of(app, on) for app in apps]
    rows += rows  # the same values again: answered from the memos
    warm = [explain(row, evaluate(row, SHIPPED), SHIPPED, lang) for row in rows]
    for row, given_warm in zip(rows, warm, strict=True):
        _forget(SHIPPED)
        assert explain(row, evaluate(row, SHIPPED), SHIPPED, lang) == given_warm


def test_answers_do_not_share_their_reason_records() -> None:
    """Each explanation has reasons of its own: equal reasons for equal values, but a
    caller that changes one answer's reason (its values, its threshold list) changes no
    other answer's."""
    ruleset = bank({"<=": [10_000, {"var": "amount"}, 20_000]})
    row = loan_row(amount=50_000)
    (first,) = explain(row, evaluate(row, ruleset), ruleset)
    (reason,) = first.reasons
    assert reason.values == {"amount": 50_000} and reason.threshold == [10_000, 20_000]
    reason.values["amount"] = -1
    assert isinstance(reason.threshold, list)
    reason.threshold.append(0)
    (again,) = explain(row, evaluate(row, ruleset), ruleset)
    assert again.reasons[0].values == {"amount": 50_000}
    assert again.reasons[0].threshold == [10_000, 20_000]
    assert again.reasons[0] is not reason


def test_a_literal_rule_that_reads_nothing_is_explained() -> None:
    # a lender closed to new applications: `false` reads no feature
    ruleset = bank(False)
    row = loan_row()
    (first,) = explain(row, evaluate(row, ruleset), ruleset)
    (again,) = explain(loan_row(age=30), evaluate(row, ruleset), ruleset)
    assert not first.eligible
    assert [(r.kind, r.values, r.threshold) for r in first.reasons] == [("failed", {}, None)]
    assert again.reasons == first.reasons
    assert first.hint is None


@given(st.integers(min_value=-(10**20), max_value=10**20), st.sampled_from(sorted(HINTS)))
def test_numbers_in_hints_are_grouped_as_python_groups_them(value: int, lang: str) -> None:
    """The digits grouped by hand (`_number`) as f"{value:,}" groups them, with the
    language's separator."""
    assert _number(value, lang) == f"{value:,}".replace(",", HINTS[lang]["thousands"])  # type: ignore[arg-type]


def test_answers_do_not_share_their_hint_records() -> None:
    """Two applicants given the same hint each get a record of their own, lists included:
    changing one answer's hint leaves the next answer's as it was (and the search's memo of
    the amounts it found)."""
    ruleset = ruleset_from_documents([_doc("fjord", ["NO"], {"<=": [{"var": "amount"}, 250_000]})])
    row = with_loan(_row(), amount=300_000, term_months=60)
    (first,) = explain(row, evaluate(row, ruleset), ruleset)
    assert first.hint is not None and first.hint.amount is not None
    amounts = list(first.hint.amount)
    first.hint.blocking.append("changed")
    first.hint.amount.append((1, 1))
    first.hint.message = "changed"
    (second,) = explain(row, evaluate(row, ruleset), ruleset)
    assert second.hint is not None and second.hint is not first.hint
    assert second.hint.blocking == [] and second.hint.message != "changed"
    assert second.hint.amount == amounts
