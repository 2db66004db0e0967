"""Re-scoring the decision store's applications: each application's latest decision read in
keyset pages; against the stored decisions (no re-evaluation, each under its own ruleset) or
a ruleset; `since` and `lender` select; exactly the expected flips, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import polars as pl
import pytest

import matcher
from audit import Store
from broker import BatchRecorder, count_applications, rescore_store
from broker.rescoring import CHANGES_FILE, IMPACT_FILE, REJECTS_FILE, SCHEMA_PATH
from tests.audit.conftest import sql, store

__all__ = ["sql", "store"]

ON = dt.date(2026, 11, 25)
REASON = {"en": "r", "nb": "r", "sv": "r"}
SAMPLE = matcher.feature_frame(matcher.generate(40, 12, ON), ON).collect()


def lender(lender_id: str, *requirements: tuple[str, Any]) -> dict[str, Any]:
    return {
        "lender_id": lender_id,
        "name": lender_id,
        "markets": ["NO", "SE"],
        "requirements": [{"id": i, "rule": rule, "reason": REASON} for i, rule in requirements],
    }


def min_age(age: int) -> matcher.Ruleset:
    steady = lender("steady", ("no_remarks", {"==": [{"var": "payment_remarks"}, 0]}))
    return matcher.ruleset_from_documents(
        [lender("moving", ("min_age", {">=": [{"var": "age"}, age]})), steady]
    )


OLD, NEW = min_age(25), min_age(30)


def features(age: int) -> dict[str, Any]:
    row = SAMPLE.row(0, named=True)
    row.pop("application_id")
    return row | {"age": age, "payment_remarks": 0}


def decide(
    store: Store,
    application_id: str,
    age: int,
    ruleset: matcher.Ruleset,
    *,
    day: int = 20,
    outcomes: tuple[matcher.LenderOutcome, ...] | None = None,
) -> None:
    """Record a decision of `application_id` (age `age`) under `ruleset`, made on day `day`
    of November 2026; `outcomes` as stored, by default as evaluated."""
    row = features(age)
    decided_at = dt.datetime(2026, 11, day, 12, tzinfo=dt.UTC)
    found = matcher.evaluate(row, ruleset) if outcomes is None else outcomes
    store.rulesets.save(ruleset)
    store.decisions.record(
        application_id=application_id,
        channel="api",
        decision=matcher.Decision(ruleset.hash, decided_at, row, found),
        personal={},
    )


def changes(out: Path) -> list[tuple[str, str, str, str]]:
    found = pl.read_parquet(out / CHANGES_FILE).sort("application_id", "lender_id")
    return [
        (r["application_id"], r["lender_id"], r["before"], r["after"])
        for r in found.iter_rows(named=True)
    ]


def test_the_latest_decisions_against_their_stored_outcomes_flip_exactly_the_moved_threshold(
    store: Store, tmp_path: Path
) -> None:
    for i, age in enumerate([24, 25, 27, 29, 30, 41]):
        decide(store, f"a{age}", age, OLD, day=10 + i)
    decide(store, "a27", 35, OLD, day=21)  # a later decision: its features count, not age 27
    decide(store, "old-rules", 26, min_age(18), day=22)  # decided under another ruleset

    impact = rescore_store(store, NEW, None, on=ON, out=tmp_path, chunk_rows=2)

    assert changes(tmp_path) == [
        ("a25", "moving", "eligible", "rejected"),
        ("a29", "moving", "eligible", "rejected"),
        ("old-rules", "moving", "eligible", "rejected"),
    ]
    failed = pl.read_parquet(tmp_path / CHANGES_FILE)["failed_after"].to_list()
    assert failed == [["min_age"]] * 3
    assert (impact.applications, impact.changes, impact.rejected_rows) == (7, 3, 0)
    report = json.loads((tmp_path / IMPACT_FILE).read_text(encoding="utf-8"))
    jsonschema.validate(report, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    assert report["baseline_ruleset"] == OLD.hash
    assert report["baseline_rulesets"] == sorted(
        [
            {"ruleset": OLD.hash, "applications": 6},
            {"ruleset": min_age(18).hash, "applications": 1},
        ],
        key=lambda r: r["ruleset"],
    )
    assert report["rules_diff"] == ["moving.min_age changed: age >= 25 -> age >= 30"]
    moving = next(item for item in report["lenders"] if item["lender_id"] == "moving")
    assert (moving["eligible_before"], moving["eligible_after"]) == (6, 3)
    assert count_applications(store) == 7


def test_the_stored_baseline_is_the_stored_outcome_not_a_re_evaluation(
    store: Store, tmp_path: Path
) -> None:
    """A stored decision that said "rejected" where OLD would say eligible: against the
    stored decisions it is newly eligible under NEW; against OLD re-evaluated, unchanged."""
    rejected = (
        matcher.LenderOutcome("moving", 1, 0),
        matcher.LenderOutcome("steady", 0, 0),
    )
    decide(store, "kept", 40, OLD, outcomes=rejected)

    rescore_store(store, NEW, None, on=ON, out=tmp_path / "stored")
    rescore_store(store, NEW, OLD, on=ON, out=tmp_path / "ruleset")

    assert changes(tmp_path / "stored") == [("kept", "moving", "rejected", "eligible")]
    stored = pl.read_parquet(tmp_path / "stored" / CHANGES_FILE)
    assert stored["failed_before"].to_list() == [["min_age"]]
    assert changes(tmp_path / "ruleset") == []


def test_since_and_lender_select_the_applications(store: Store, tmp_path: Path) -> None:
    decide(store, "early", 27, OLD, day=5)
    decide(store, "late", 28, OLD, day=25)
    other = matcher.ruleset_from_documents(
        [lender("moving", ("min_age", {">=": [{"var": "age"}, 25]}))]
    )
    decide(store, "moving-only", 26, other, day=26)

    rescore_store(store, NEW, None, on=ON, out=tmp_path / "since", since=dt.date(2026, 11, 25))
    assert {a for a, *_ in changes(tmp_path / "since")} == {"late", "moving-only"}
    rescore_store(store, NEW, OLD, on=ON, out=tmp_path / "lender", lender_id="steady")
    assert {a for a, *_ in changes(tmp_path / "lender")} == {"early", "late"}
    assert count_applications(store, since=dt.date(2026, 11, 25), lender_id="steady") == 1


def test_a_stored_row_outside_the_feature_contract_is_a_reject_and_apply_records_the_flips(
    store: Store, sql: Callable[..., list[Any]], tmp_path: Path
) -> None:
    decide(store, "fine", 27, OLD)
    decide(store, "broken", 27, OLD)
    sql(
        "UPDATE decision SET features_json = replace(features_json, :old, :new) "
        "WHERE application_id = 'broken'",
        old='"age":27',
        new='"age":-1',
    )
    recorder = BatchRecorder(store, NEW)
    impact = rescore_store(store, NEW, None, on=ON, out=tmp_path, record=recorder)

    rejects = pl.read_parquet(tmp_path / REJECTS_FILE)
    assert rejects.select("row", "application_id").rows() == [(1, "broken")]
    assert rejects["reason"].str.starts_with("age: -1 is outside ").to_list() == [True]
    assert changes(tmp_path) == [("fine", "moving", "eligible", "rejected")]
    assert (impact.applications, impact.rejected_rows, recorder.recorded) == (1, 1, 1)
    # the batch decision is recorded after the run started: a second run sees it as latest
    again = rescore_store(store, NEW, None, on=ON, out=tmp_path / "again")
    assert again.changes == 0


@pytest.mark.parametrize("page", [1, 3, 1000])
def test_pages_are_keyset_pages_of_the_latest_decisions(store: Store, page: int) -> None:
    for i in range(7):
        decide(store, f"app-{i % 4}", 20 + i, OLD)
    seen: list[str] = []
    after = 0
    while batch := store.decisions.latest_page(after_seq=after, limit=page):
        seen += [d.application_id for d in batch]
        assert [d.seq for d in batch] == sorted(d.seq for d in batch)
        after = batch[-1].seq
    assert seen == ["app-3", "app-0", "app-1", "app-2"]
