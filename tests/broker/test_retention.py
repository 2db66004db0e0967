"""Retention with an injected clock: what is past its period goes, what is within stays, a
second run removes nothing more; identity checks outlive their application's period under
anti-money-laundering law. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from audit import ContestedLender, Store
from broker import RetentionPeriods, purge
from broker.erasure import erase_applications
from broker.retention import held_application
from tests.audit.audit_testkit import RULESET_HASH, Decision, Outcome
from tests.audit.conftest import sql, store

__all__ = ["sql", "store"]

Sql = Callable[..., list[Any]]
NOW = datetime(2030, 1, 1, tzinfo=UTC)
PERIODS = RetentionPeriods()  # the policy's defaults: 2 years, 5 years, 5 years (AML)
NOTHING = {"application_data": 0, "review_requests": 0, "case_views": 0, "identity_checks": 0}
STATEMENT = "Ring meg på 912 34 567, hilsen Person."


def _record(store: Store, application_id: str, decided: datetime, *, accepted: bool) -> None:
    outcome = Outcome("nordbank", 0 if accepted else 1, 0)
    person = {"name": f"Person {application_id}", "national_id": f"id-{application_id}"}
    store.decisions.record(
        application_id=application_id,
        channel="api",
        decision=Decision(RULESET_HASH, decided, {"age": 40, "income": 1}, (outcome,)),
        personal={"applicant": person, "market": "NO"},
        subjects=[("applicant", f"id-{application_id}")],
    )


def _held(store: Store) -> set[str]:
    return {held.application_id for held in store.decisions.held()}


def test_the_purge_removes_what_is_past_its_period_keeps_the_rest_and_is_idempotent(
    store: Store, sql: Sql
) -> None:
    _record(store, "rejected-2.5y", datetime(2027, 7, 1, tzinfo=UTC), accepted=False)
    _record(store, "rejected-1.5y", datetime(2028, 7, 1, tzinfo=UTC), accepted=False)
    _record(store, "accepted-4y", datetime(2026, 1, 2, tzinfo=UTC), accepted=True)
    _record(store, "accepted-6y", datetime(2024, 1, 1, tzinfo=UTC), accepted=True)

    dry = purge(store, PERIODS, NOW, dry_run=True)
    assert dry.removed == {**NOTHING, "application_data": 2}
    assert len(_held(store)) == 4  # a dry run removes nothing

    first = purge(store, PERIODS, NOW)
    assert first.removed == {**NOTHING, "application_data": 2}
    assert first.records_redacted == 2
    assert first.identity_checks_kept == 1  # the 2.5-year-old check is within 5 years
    assert _held(store) == {"rejected-1.5y", "accepted-4y"}
    assert store.decisions.personal_data("rejected-2.5y") is None
    assert store.decisions.personal_data("accepted-6y") is None
    assert store.decisions.personal_data("accepted-4y") is not None
    (check,) = store.subjects.identity_checks(["rejected-2.5y", "accepted-6y"])
    assert (check.application_id, check.identity) == (
        "rejected-2.5y",
        {"name": "Person rejected-2.5y", "national_id": "id-rejected-2.5y"},
    )
    assert check.keep_until == datetime(2032, 7, 1, tzinfo=UTC)
    assert store.subjects.links("id-accepted-6y") == []  # nothing is kept: no link either

    second = purge(store, PERIODS, NOW)
    assert second.removed == NOTHING
    report = store.verify()
    assert report.ok, report
    assert report.redacted == 2
    assert report.erased == 2

    later = purge(store, PERIODS, datetime(2032, 7, 2, tzinfo=UTC))
    # rejected-1.5y (2 years) and accepted-4y (5 years) are due now; the 2.5y check too
    assert later.removed == {**NOTHING, "application_data": 2, "identity_checks": 1}
    assert store.subjects.identity_checks(["rejected-2.5y"]) == []
    assert store.subjects.links("id-rejected-2.5y") == []
    assert [kind for kind, _, _ in store.subjects.requests()] == ["retention_purge"] * 3


def test_the_periods_are_configurable_per_category(store: Store) -> None:
    _record(store, "rejected-1.5y", datetime(2028, 7, 1, tzinfo=UTC), accepted=False)
    one_year = RetentionPeriods(not_accepted=PERIODS.not_accepted / 2)
    assert purge(store, one_year, NOW).removed["application_data"] == 1


def _review(store: Store, application_id: str, *, decide: bool) -> str:
    """A review request on the application's decision, viewed once, decided if `decide`."""
    (automated,) = store.decisions.history(application_id)
    at = automated.decided_at + timedelta(days=1)
    request = store.reviews.create(
        application_id=application_id,
        client="default",
        automated_decision_id=automated.decision_id,
        market="NO",
        language="nb",
        statement=STATEMENT,
        corrections={"income": 2},
        lenders=("nordbank",),
        received_at=at,
        due_at=at + timedelta(days=30),
    )
    store.reviews.record_view(request.request_id, viewer="caseworker", at=at)
    if decide:
        store.reviews.decide(
            request.request_id,
            reviewer="caseworker",
            at=at,
            verdicts=(ContestedLender("nordbank", "uphold", "Ring 912 34 567.", "note"),),
            decision=Decision(
                RULESET_HASH, at, {"age": 40, "income": 2}, (Outcome("nordbank", 1, 0),)
            ),
            review={
                "request_id": request.request_id,
                "corrections": {"income": 2},
                "verdicts": [
                    {
                        "lender_id": "nordbank",
                        "verdict": "uphold",
                        "explanation": "Ring 912 34 567.",
                    }
                ],
            },
        )
    return request.request_id


def test_the_purge_erases_review_content_with_its_application_and_case_views_at_its_period(
    store: Store, sql: Sql
) -> None:
    _record(store, "rejected-2.5y", datetime(2027, 7, 1, tzinfo=UTC), accepted=False)
    _record(store, "rejected-1.5y", datetime(2028, 7, 1, tzinfo=UTC), accepted=False)
    old = _review(store, "rejected-2.5y", decide=True)
    recent = _review(store, "rejected-1.5y", decide=False)

    dry = purge(store, PERIODS, NOW, dry_run=True)
    assert dry.removed == {**NOTHING, "application_data": 1, "review_requests": 1, "case_views": 1}
    assert not store.reviews.get(old).erased  # type: ignore[union-attr]

    first = purge(store, PERIODS, NOW)
    assert first.removed == dry.removed
    assert first.records_redacted == 2  # the automated and the manual decision
    assert store.reviews.get(old).erased  # type: ignore[union-attr]
    assert store.reviews.get(recent).statement == STATEMENT  # type: ignore[union-attr]
    assert [
        v.application_id for v in store.reviews.views_of(["rejected-2.5y", "rejected-1.5y"])
    ] == ["rejected-1.5y"]
    rows = repr(sql("SELECT * FROM review_request WHERE application_id = 'rejected-2.5y'"))
    rows += repr(sql("SELECT * FROM review_lender")) + repr(sql("SELECT review_json FROM decision"))
    assert "912 34 567" not in rows and "note" not in rows
    report = store.verify()
    assert report.ok, report

    assert purge(store, PERIODS, NOW).removed == NOTHING  # idempotent


def test_case_views_outlive_an_erasure_request_until_the_applications_period(
    store: Store,
) -> None:
    _record(store, "rejected-1.5y", datetime(2028, 7, 1, tzinfo=UTC), accepted=False)
    request_id = _review(store, "rejected-1.5y", decide=True)
    held = held_application("rejected-1.5y", store.decisions.history("rejected-1.5y"))
    (erased,) = erase_applications(
        store, [held], reason="the applicant asked", withdrawn="erasure", now=NOW, periods=PERIODS
    )
    assert erased.review_requests == 1
    assert store.reviews.get(request_id).erased  # type: ignore[union-attr]
    assert len(store.reviews.views_of(["rejected-1.5y"])) == 1  # kept: the access log

    assert purge(store, PERIODS, NOW).removed == NOTHING  # within its period
    due = PERIODS.delete_on(held)
    assert purge(store, PERIODS, due).removed == {**NOTHING, "case_views": 1}
    assert store.reviews.views_of(["rejected-1.5y"]) == []
    assert purge(store, PERIODS, due).removed == NOTHING
    assert store.verify().ok


def test_the_purge_withdraws_an_open_review_of_an_application_past_its_period(
    store: Store, sql: Sql
) -> None:
    _record(store, "rejected-2.5y", datetime(2027, 7, 1, tzinfo=UTC), accepted=False)
    _record(store, "rejected-1.5y", datetime(2028, 7, 1, tzinfo=UTC), accepted=False)
    _record(store, "rejected-decided", datetime(2027, 7, 2, tzinfo=UTC), accepted=False)
    old = _review(store, "rejected-2.5y", decide=False)
    recent = _review(store, "rejected-1.5y", decide=False)
    decided = _review(store, "rejected-decided", decide=True)
    store.reviews.assign(old, assignee="caseworker", by="caseworker", may_reassign=False, at=NOW)

    assert purge(store, PERIODS, NOW, dry_run=True).review_requests_withdrawn == 0
    assert store.reviews.get(old).status == "in_review"  # type: ignore[union-attr]

    first = purge(store, PERIODS, NOW)
    assert first.review_requests_withdrawn == 1
    withdrawn = store.reviews.get(old)
    assert withdrawn is not None
    assert (withdrawn.status, withdrawn.withdrawn_reason) == ("withdrawn", "retention")
    assert withdrawn.erased
    assert store.reviews.history(old)[-1].what == "withdrawn: retention"
    assert store.reviews.get(recent).status == "received"  # type: ignore[union-attr]
    assert store.reviews.get(decided).status == "decided"  # type: ignore[union-attr]
    (row,) = sql("SELECT open_for FROM review_request WHERE request_id = :r", r=old)
    assert row[0] is None  # no longer the application's open request
    assert [c.request_id for c in store.reviews.page(statuses=["withdrawn"])[0]] == [old]
    (recorded,) = [
        r
        for r in sql("SELECT kind, summary_json FROM subject_request")
        if r[0] == "retention_purge"
    ][:1]
    assert '"review_requests_withdrawn":1' in recorded[1].replace(" ", "")

    second = purge(store, PERIODS, NOW)
    assert second.review_requests_withdrawn == 0  # idempotent
    assert store.reviews.get(old).status == "withdrawn"  # type: ignore[union-attr]
    assert store.verify().ok
