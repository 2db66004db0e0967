"""Retention with an injected clock: what is past its period goes, what is within stays, a
second run removes nothing more; identity checks outlive their application's period under
anti-money-laundering law. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from audit import Store
from broker import RetentionPeriods, purge
from tests.audit.audit_testkit import RULESET_HASH, Decision, Outcome
from tests.audit.conftest import sql, store

__all__ = ["sql", "store"]

Sql = Callable[..., list[Any]]
NOW = datetime(2030, 1, 1, tzinfo=UTC)
PERIODS = RetentionPeriods()  # the policy's defaults: 2 years, 5 years, 5 years (AML)


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
    assert dry.removed == {"application_data": 2, "identity_checks": 0}
    assert len(_held(store)) == 4  # a dry run removes nothing

    first = purge(store, PERIODS, NOW)
    assert first.removed == {"application_data": 2, "identity_checks": 0}
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
    assert second.removed == {"application_data": 0, "identity_checks": 0}
    report = store.verify()
    assert report.ok, report
    assert report.redacted == 2
    assert report.erased == 2

    later = purge(store, PERIODS, datetime(2032, 7, 2, tzinfo=UTC))
    # rejected-1.5y (2 years) and accepted-4y (5 years) are due now; the 2.5y check too
    assert later.removed == {"application_data": 2, "identity_checks": 1}
    assert store.subjects.identity_checks(["rejected-2.5y"]) == []
    assert store.subjects.links("id-rejected-2.5y") == []
    assert [kind for kind, _, _ in store.subjects.requests()] == ["retention_purge"] * 3


def test_the_periods_are_configurable_per_category(store: Store) -> None:
    _record(store, "rejected-1.5y", datetime(2028, 7, 1, tzinfo=UTC), accepted=False)
    one_year = RetentionPeriods(not_accepted=PERIODS.not_accepted / 2)
    assert purge(store, one_year, NOW).removed["application_data"] == 1
