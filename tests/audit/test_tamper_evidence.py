"""Store.verify covers everything a decision depends on; heads kept elsewhere catch cut logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audit import Store, StoredDecision
from tests.audit.audit_testkit import Ruleset

Record = Callable[[int], list[StoredDecision]]
Sql = Callable[..., list[Any]]

ONE = Ruleset({"nordbank": {"lender_id": "nordbank", "requirements": []}})
TWO = Ruleset({"sorbank": {"lender_id": "sorbank", "requirements": []}})


def test_an_intact_store_verifies_and_reports_its_heads(store: Store, record: Record) -> None:
    store.rulesets.activate(ONE)
    store.rulesets.activate(TWO)
    store.rulesets.activate(ONE)
    stored = record(2)
    report = store.verify()
    assert report.ok, (report.chain.reason, report.findings)
    assert (report.snapshots, report.activations, report.payloads, report.erased) == (2, 3, 2, 0)
    assert report.heads.decisions == f"2:{stored[-1].record_hash}"
    assert report.heads.activations.startswith("3:")
    assert store.rulesets.activation_history() == [ONE.hash, TWO.hash, ONE.hash]


def test_an_activation_cut_with_its_head_moved_back_is_found_against_kept_heads(
    store: Store, record: Record, sql: Sql
) -> None:
    store.rulesets.activate(ONE)
    store.rulesets.activate(TWO)
    record(1)
    kept = store.verify().heads
    ((digest,),) = sql("SELECT record_hash FROM ruleset_activation WHERE seq = 1")
    sql("DELETE FROM ruleset_activation WHERE seq = 2")
    sql("UPDATE ledger_head SET seq = 1, hash = :h WHERE name = 'ruleset_activation'", h=digest)
    assert store.verify().ok  # the store alone cannot tell
    report = store.verify(kept)
    assert [(f.where, f.reason) for f in report.findings] == [
        (
            "the activation log",
            "activations were cut: the checkpoint names activation 2 but the log ends at "
            "activation 1",
        )
    ]


def test_a_payload_no_decision_describes_is_named(store: Store, record: Record, sql: Sql) -> None:
    record(1)
    sql(
        "INSERT INTO personal_data (application_id, salt, payload_json, recorded_at) "
        "SELECT 'app-x', salt, payload_json, recorded_at FROM personal_data"
    )
    (finding,) = store.verify().findings
    assert finding.where == "personal payload of application app-x"


def test_a_payload_replaced_by_a_later_decision_is_checked_against_the_later_digest(
    store: Store, record: Record
) -> None:
    record(2)
    record(1)  # app-1 decided again: its payload is stored again, under the same salt
    report = store.verify()
    assert report.ok, report.findings
    assert report.payloads == 2
