"""Redacted decision records: the personal columns go, every link still verifies, and a
redaction nobody recorded (or a kept column changed after one) is found. SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from audit import InvalidRecord, RedactionSummary, Store, StoredDecision

Record = Callable[[int], list[StoredDecision]]
Sql = Callable[..., list[Any]]
WHEN = datetime(2026, 11, 30, 12, tzinfo=UTC)


def test_a_redacted_record_loses_its_features_and_the_chain_still_verifies(
    store: Store, record: Record, sql: Sql
) -> None:
    stored = record(3)
    assert store.decisions.redact("app-2", reason="erasure request", now=WHEN) == 1
    ((features, request_digest, payload_digest, record_hash),) = sql(
        "SELECT features_json, request_digest, payload_digest, record_hash FROM decision "
        "WHERE seq = 2"
    )
    assert "income" not in features
    assert request_digest is None
    assert (payload_digest, record_hash) == (stored[1].payload_digest, stored[1].record_hash)
    report = store.verify()
    assert report.ok, report
    assert report.chain.checked == 3
    assert report.redacted == 1
    assert report.redactions == (RedactionSummary("2026-11-30", "erasure request", 1),)
    latest = store.decisions.latest("app-2")
    assert latest is not None and latest.redacted and latest.features == {}
    assert latest.outcomes == stored[1].outcomes


def test_redacting_twice_redacts_nothing_more(store: Store, record: Record) -> None:
    record(2)
    assert store.decisions.redact("app-1", reason="retention", now=WHEN) == 1
    assert store.decisions.redact("app-1", reason="retention", now=WHEN) == 0
    assert store.verify().redacted == 1


def test_a_redaction_that_is_not_recorded_fails_verify(
    store: Store, record: Record, sql: Sql
) -> None:
    record(3)
    sql("UPDATE decision SET features_json = :marker WHERE seq = 2", marker='{"redacted":true}')
    report = store.verify()
    assert not report.ok
    assert report.chain.first_bad_seq == 2
    assert report.chain.reason == "record 2 was redacted but no redaction of it is recorded"


def test_a_kept_column_changed_after_a_redaction_fails_verify(
    store: Store, record: Record, sql: Sql
) -> None:
    record(3)
    store.decisions.redact("app-2", reason="erasure request", now=WHEN)
    sql("UPDATE decision SET outcomes_json = '[]' WHERE seq = 2")
    report = store.verify()
    assert report.chain.first_bad_seq == 2
    assert report.chain.reason == (
        "record 2 was redacted but the columns it kept were changed after its redaction"
    )


def test_a_removed_redaction_entry_fails_verify(store: Store, record: Record, sql: Sql) -> None:
    record(3)
    store.decisions.redact("app-2", reason="erasure request", now=WHEN)
    sql("DELETE FROM decision_redaction")
    report = store.verify()
    assert report.chain.first_bad_seq == 2
    assert [finding.where for finding in report.findings] == ["the redaction log"]


def test_a_changed_record_is_not_redacted(store: Store, record: Record, sql: Sql) -> None:
    record(2)
    sql("UPDATE decision SET outcomes_json = '[]' WHERE seq = 1")
    with pytest.raises(InvalidRecord, match="record 1"):
        store.decisions.redact("app-1", reason="erasure request", now=WHEN)
    assert store.decisions.latest("app-1") is not None
    assert not store.decisions.latest("app-1").redacted  # type: ignore[union-attr]


def test_a_checkpoint_holds_the_redaction_head_and_catches_a_cut_ledger(
    store: Store, record: Record, sql: Sql
) -> None:
    record(3)
    store.decisions.redact("app-1", reason="erasure request", now=WHEN)
    store.decisions.redact("app-2", reason="erasure request", now=WHEN)
    heads = store.verify().heads
    assert heads.redactions is not None and heads.redactions.startswith("2:")
    assert store.verify(heads).ok
    ((hash_1,),) = sql("SELECT record_hash FROM decision_redaction WHERE seq = 1")
    sql("DELETE FROM decision_redaction WHERE seq = 2")
    sql("UPDATE ledger_head SET seq = 1, hash = :h WHERE name = 'decision_redaction'", h=hash_1)
    findings = store.verify(heads).findings
    assert [f.where for f in findings] == ["the redaction log"]
    assert "redactions were cut" in findings[0].reason
