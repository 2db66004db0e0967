"""The record of data-subject requests is a ledger: each request chained, `verify` counts
them and finds one changed, removed or cut back behind a checkpoint; requests recorded
before the ledger existed are chained by the migration. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import text

from audit import Store, make_engine, open_store
from audit.database import alembic_config

Sql = Callable[..., list[Any]]
WHEN = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)


def _three(store: Store) -> None:
    store.subjects.record_request("export", {"applications": 2}, WHEN)
    store.subjects.record_request("erasure", {"applications": 2, "records_redacted": 4}, WHEN)
    store.subjects.record_request("retention_purge", {"removed": {"case_views": 1}}, WHEN)


def test_recorded_requests_are_chained_and_counted_by_verify(store: Store) -> None:
    _three(store)
    report = store.verify()
    assert report.ok, report
    assert report.subject_requests == 3
    assert report.heads.subject_requests is not None
    assert report.heads.subject_requests.startswith("3:")
    assert [kind for kind, _, _ in store.subjects.requests()] == [
        "export",
        "erasure",
        "retention_purge",
    ]


def test_a_changed_request_record_fails_verify(store: Store, sql: Sql) -> None:
    _three(store)
    sql("UPDATE subject_request SET summary_json = :s WHERE seq = 2", s='{"applications":0}')
    report = store.verify()
    assert not report.ok
    assert [(f.where, f.reason) for f in report.findings] == [
        ("subject request 2", "subject request 2 was changed: its hash does not match")
    ]


def test_a_removed_request_record_fails_verify(store: Store, sql: Sql) -> None:
    _three(store)
    sql("DELETE FROM subject_request WHERE seq = 2")
    (finding,) = store.verify().findings
    assert (finding.where, finding.reason) == (
        "subject request 2",
        "subject request 2 is missing or out of order",
    )


def test_a_cut_tail_with_its_head_moved_back_is_caught_by_a_checkpoints_head(
    store: Store, sql: Sql
) -> None:
    _three(store)
    heads = store.verify().heads
    ((hash_2,),) = sql("SELECT record_hash FROM subject_request WHERE seq = 2")
    sql("DELETE FROM subject_request WHERE seq = 3")
    sql("UPDATE ledger_head SET seq = 2, hash = :h WHERE name = 'subject_request'", h=hash_2)
    assert store.verify().ok  # the database alone cannot tell
    (finding,) = store.verify(heads).findings
    assert finding.where == "the subject request log"
    assert "subject requests were cut" in finding.reason


def test_requests_recorded_before_the_ledger_are_chained_by_the_migration(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006_subject_rights")
    with engine.begin() as connection:
        for kind in ("export", "erasure"):
            connection.execute(
                text(
                    "INSERT INTO subject_request (kind, done_at, summary_json) "
                    "VALUES (:kind, :at, '{}')"
                ),
                {"kind": kind, "at": WHEN},
            )
    engine.dispose()
    store = open_store(database_url)
    try:
        store.subjects.record_request("retention_purge", {}, WHEN)
        report = store.verify()
        assert report.ok, report
        assert report.subject_requests == 3
        assert [kind for kind, _, _ in store.subjects.requests()] == [
            "export",
            "erasure",
            "retention_purge",
        ]
        with store.engine.begin() as connection:
            connection.execute(text("UPDATE subject_request SET kind = 'export' WHERE seq = 2"))
        assert not store.verify().ok
    finally:
        store.dispose()
