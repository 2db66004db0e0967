"""Concurrent appends: every append is stored exactly once, and the chain stays valid."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest

from audit import Store, StoredDecision, open_store
from tests.audit.audit_testkit import a_decision, a_person, postgres_schema

Sql = Callable[..., list[Any]]
THREADS = 8
PER_THREAD = 25


def test_concurrent_appends_are_each_stored_once_in_a_valid_chain(store: Store, sql: Sql) -> None:
    def append(thread: int) -> list[StoredDecision]:
        return [
            store.decisions.record(
                application_id=f"app-{thread}-{i}",
                channel="api",
                decision=a_decision(thread * 100 + i),
                personal=a_person(thread * 100 + i),
            )
            for i in range(PER_THREAD)
        ]

    with ThreadPoolExecutor(THREADS) as pool:
        answered = [d for batch in pool.map(append, range(THREADS)) for d in batch]

    total = THREADS * PER_THREAD
    assert sorted(d.seq for d in answered) == list(range(1, total + 1))
    rows = sql("SELECT decision_id, count(*) FROM decision GROUP BY decision_id")
    assert {decision_id: n for decision_id, n in rows} == {d.decision_id: 1 for d in answered}
    assert sql("SELECT count(*) FROM personal_data")[0][0] == total
    report = store.decisions.verify()
    assert report.ok, report.reason
    assert report.checked == total
    last = max(answered, key=lambda d: d.seq)
    assert store.decisions.head() == f"{total}:{last.record_hash}"


def test_concurrent_requests_with_one_idempotency_key_make_one_decision(
    store: Store, sql: Sql
) -> None:
    def append(thread: int) -> StoredDecision:
        return store.decisions.record(
            application_id=f"app-{thread}",
            channel="api",
            decision=a_decision(thread),
            personal=a_person(thread),
            idempotency_key="the-key",
            request_digest="the-body",
        )

    with ThreadPoolExecutor(THREADS) as pool:
        answered = list(pool.map(append, range(THREADS * 2)))

    assert len({d.decision_id for d in answered}) == 1
    assert sql("SELECT count(*) FROM decision")[0][0] == 1
    assert sql("SELECT count(*) FROM personal_data")[0][0] == 1
    assert store.decisions.verify().ok


def test_two_stores_on_one_database_append_safely(database_url: str) -> None:
    """Two stores (as two service processes would have) share the database, not a lock."""
    stores = [open_store(database_url), open_store(database_url)]
    try:

        def append(thread: int) -> StoredDecision:
            return stores[thread % 2].decisions.record(
                application_id=f"app-{thread}",
                channel="batch",
                decision=a_decision(thread),
                personal={},
            )

        with ThreadPoolExecutor(THREADS) as pool:
            answered = list(pool.map(append, range(THREADS * 10)))
        assert sorted(d.seq for d in answered) == list(range(1, THREADS * 10 + 1))
        assert stores[0].decisions.verify().ok
    finally:
        for store in stores:
            store.dispose()


def test_two_stores_with_one_idempotency_key_make_one_decision(database_url: str) -> None:
    stores = [open_store(database_url), open_store(database_url)]
    try:

        def append(thread: int) -> StoredDecision:
            return stores[thread % 2].decisions.record(
                application_id=f"app-{thread}",
                channel="api",
                decision=a_decision(thread),
                personal=a_person(thread),
                idempotency_key="the-key",
                request_digest="the-body",
            )

        with ThreadPoolExecutor(THREADS) as pool:
            answered = list(pool.map(append, range(THREADS * 4)))
        assert len({d.decision_id for d in answered}) == 1
        assert len(list(stores[0].decisions.stream())) == 1
        assert stores[1].decisions.verify().ok
    finally:
        for store in stores:
            store.dispose()


@pytest.mark.postgres
def test_a_key_used_by_another_process_while_waiting_for_the_lock_is_replayed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """PostgreSQL only (on SQLite `BEGIN IMMEDIATE` keeps other writers out from the start):
    another process commits the key just before we take the chain lock; we replay it."""
    with postgres_schema() as url:
        ours, theirs = open_store(url), open_store(url)
        try:
            intruded: list[StoredDecision] = []
            execute = psycopg.Cursor.execute

            def intrude(cursor: Any, query: Any, *args: Any, **kwargs: Any) -> Any:
                # The append locks the head on the driver's connection (pipeline mode): the
                # other process commits just before our lock is sent.
                if "FOR UPDATE" in str(query) and not intruding:
                    intruding.append(True)
                    intruded.append(_keyed(theirs, "theirs"))
                return execute(cursor, query, *args, **kwargs)

            intruding: list[bool] = []
            monkeypatch.setattr(psycopg.Cursor, "execute", intrude)
            mine = _keyed(ours, "ours")
            monkeypatch.undo()
            assert intruded
            assert mine == intruded[0]
            assert len(list(ours.decisions.stream())) == 1
            assert ours.decisions.personal_data("ours") is None
            assert ours.decisions.verify().ok
        finally:
            ours.dispose()
            theirs.dispose()


def _keyed(store: Store, application_id: str) -> StoredDecision:
    return store.decisions.record(
        application_id=application_id,
        channel="api",
        decision=a_decision(),
        personal=a_person(),
        idempotency_key="the-key",
        request_digest="the-body",
    )
