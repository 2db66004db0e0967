"""Group commit: appends that arrive while one is being written are committed together, and
one failing record does not fail the records batched with it."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import event

from audit import (
    CanonicalText,
    IdempotencyConflict,
    Store,
    StoredDecision,
    StoreUnavailable,
    _append,
    open_store,
)
from audit._append import Append, GroupCommit, _pg_insert
from audit.decisions import _prepare
from lender_rules.canonical import canonical_json
from tests.audit.audit_testkit import a_decision, a_person

Sql = Callable[..., list[Any]]


def _finish(batch: list[Append]) -> None:
    for item in batch:
        item.result = item.fields["name"]
        item.done = True


def _wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "the other threads never queued"
        time.sleep(0.001)


def test_appends_queued_during_a_write_are_written_as_one_batch() -> None:
    batches: list[list[str]] = []
    first_write = threading.Event()
    release = threading.Event()

    def write(batch: list[Append]) -> None:
        batches.append([item.fields["name"] for item in batch])
        if len(batches) == 1:
            first_write.set()
            assert release.wait(10)
        _finish(batch)

    group = GroupCommit(write)
    with ThreadPoolExecutor(6) as pool:
        first = pool.submit(group.submit, Append({"name": "a"}, None))
        assert first_write.wait(10)
        rest = [pool.submit(group.submit, Append({"name": n}, None)) for n in "bcdef"]
        _wait_until(lambda: len(group._queue) == 5)
        release.set()
        results: list[object] = [first.result(), *(future.result() for future in rest)]
    assert batches[0] == ["a"]
    assert sorted(batches[1]) == ["b", "c", "d", "e", "f"]
    assert results == ["a", "b", "c", "d", "e", "f"]


def test_an_error_in_a_write_reaches_every_waiter_of_that_batch() -> None:
    def write(batch: list[Append]) -> None:
        raise RuntimeError("bug")

    group = GroupCommit(write)
    with pytest.raises(RuntimeError, match="bug"):
        group.submit(Append({"name": "a"}, None))
    assert group._leading is False
    assert group._queue == []


def _poison(store: Store, sql: Sql) -> None:
    """Make the database refuse one application's decision, and only that one."""
    if store.engine.dialect.name == "sqlite":
        sql(
            "CREATE TRIGGER poison BEFORE INSERT ON decision "
            "WHEN NEW.application_id = 'poison' BEGIN SELECT RAISE(ABORT, 'refused'); END"
        )
    else:
        sql(
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            "IF NEW.application_id = 'poison' THEN RAISE EXCEPTION 'refused'; END IF; "
            "RETURN NEW; END $$"
        )
        sql(
            "CREATE TRIGGER poison BEFORE INSERT ON decision FOR EACH ROW EXECUTE FUNCTION poison()"
        )


def test_one_refused_record_does_not_fail_the_others(store: Store, sql: Sql) -> None:
    _poison(store, sql)
    names = ["poison" if i % 10 == 5 else f"app-{i}" for i in range(80)]

    def append(name: str) -> StoredDecision | StoreUnavailable:
        try:
            return store.decisions.record(
                application_id=name, channel="api", decision=a_decision(), personal=a_person()
            )
        except StoreUnavailable as error:
            return error

    with ThreadPoolExecutor(8) as pool:
        outcomes = dict(zip(names, pool.map(append, names), strict=True))
    for name, outcome in outcomes.items():
        if name == "poison":
            assert isinstance(outcome, StoreUnavailable)
        else:
            assert isinstance(outcome, StoredDecision), outcome
    assert sql("SELECT count(*) FROM decision")[0][0] == 72
    assert sql("SELECT count(*) FROM personal_data WHERE application_id = 'poison'")[0][0] == 0
    assert store.decisions.verify().ok


def test_a_refused_record_in_a_batch_is_retried_alone(store: Store, sql: Sql) -> None:
    _poison(store, sql)
    items = [
        Append(_fields(key=None, digest=None, application=name), None)
        for name in ("app-1", "poison", "app-2")
    ]
    store.decisions._write_appends(items)
    assert [item.outcome().seq for item in (items[0], items[2])] == [1, 2]
    assert isinstance(items[1].error, StoreUnavailable)
    assert "refused" in items[1].error.cause
    assert store.decisions.verify().ok


def test_one_batch_can_hold_a_key_twice(store: Store, sql: Sql) -> None:
    """Two requests with one key in one batch: the second is the first's replay (or a
    conflict when its body differs), never a second decision."""
    items = [
        Append(_fields(key="k", digest="d1", application="one"), None),
        Append(_fields(key="k", digest="d1", application="two"), None),
        Append(_fields(key="k", digest="d2", application="three"), None),
    ]
    store.decisions._write_appends(items)
    first = items[0].outcome()
    assert items[1].outcome() == first
    with pytest.raises(IdempotencyConflict):
        items[2].outcome()
    assert sql("SELECT count(*) FROM decision")[0][0] == 1


def _fields(*, key: str | None, digest: str | None, application: str) -> dict[str, Any]:
    decision = a_decision()
    return {
        "decision_id": str(uuid.uuid4()),
        "application_id": application,
        "channel": "api",
        "decided_at": decision.decided_at,
        "ruleset_hash": decision.ruleset_hash,
        "features_json": canonical_json(decision.features),
        "outcomes_json": "[]",
        "idempotency_key": key,
        "request_digest": digest,
    }


def test_future_appends_queued_during_a_write_are_one_batch_of_the_writer_thread() -> None:
    batches: list[list[str]] = []
    threads: list[str] = []
    first_write = threading.Event()
    release = threading.Event()

    def write(batch: list[Append]) -> None:
        batches.append([item.fields["name"] for item in batch])
        threads.append(threading.current_thread().name)
        if len(batches) == 1:
            first_write.set()
            assert release.wait(10)
        _finish(batch)

    group = GroupCommit(write)
    first = group.submit_future(Append({"name": "a"}, None))
    assert first_write.wait(10)
    rest = [group.submit_future(Append({"name": n}, None)) for n in "bcdef"]
    assert not any(future.done() for future in rest)  # nothing is answered before its commit
    release.set()
    results = [first.result(10), *(future.result(10) for future in rest)]
    group.close()
    assert batches == [["a"], ["b", "c", "d", "e", "f"]]
    assert results == ["a", "b", "c", "d", "e", "f"]
    assert all(name.startswith("group-commit") for name in threads)


def test_sync_and_future_appends_share_a_batch_whoever_leads() -> None:
    batches: list[list[str]] = []
    first_write = threading.Event()
    release = threading.Event()

    def write(batch: list[Append]) -> None:
        batches.append(sorted(item.fields["name"] for item in batch))
        if len(batches) == 1:
            first_write.set()
            assert release.wait(10)
        _finish(batch)

    group = GroupCommit(write)
    with ThreadPoolExecutor(4) as pool:
        leader = pool.submit(group.submit, Append({"name": "a"}, None))  # a thread leads
        assert first_write.wait(10)
        futures = [group.submit_future(Append({"name": n}, None)) for n in "bc"]
        waiting = pool.submit(group.submit, Append({"name": "d"}, None))
        _wait_until(lambda: len(group._queue) == 3)
        release.set()
        assert leader.result(10) == "a"
        assert waiting.result(10) == "d"
        assert [future.result(10) for future in futures] == ["b", "c"]
    group.close()
    assert batches == [["a"], ["b", "c", "d"]]


def test_an_error_in_a_write_reaches_every_future_of_that_batch_and_the_next_are_written() -> None:
    calls: list[int] = []

    def write(batch: list[Append]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("bug")
        _finish(batch)

    group = GroupCommit(write)
    failed = group.submit_future(Append({"name": "a"}, None))
    with pytest.raises(RuntimeError, match="bug"):
        failed.result(10)
    assert group.submit_future(Append({"name": "b"}, None)).result(10) == "b"
    group.close()
    assert group._leading is False
    assert group._queue == []


def test_a_future_append_cannot_be_cancelled_once_queued() -> None:
    """An awaiting request that goes away (cancelled) does not unmake its decision."""
    release = threading.Event()

    def write(batch: list[Append]) -> None:
        assert release.wait(10)
        _finish(batch)

    group = GroupCommit(write)
    future = group.submit_future(Append({"name": "a"}, None))
    assert future.cancel() is False
    release.set()
    assert future.result(10) == "a"
    group.close()


def test_record_future_stores_chains_and_keeps_idempotency_per_client(store: Store) -> None:
    """Concurrent future appends with one key make one decision; another body with that key
    is a conflict; another client's use of the key is its own decision; the chain verifies."""
    person = a_person()
    digest = "a" * 64

    def submit(application: str, client: str = "shop", request_digest: str = digest) -> Any:
        return store.decisions.record_future(
            application_id=application,
            channel="api",
            decision=a_decision(),
            personal=person,
            idempotency_key="key-1",
            request_digest=request_digest,
            client=client,
        )

    futures = [submit(f"app-{i}") for i in range(20)]
    stored = [future.result(30) for future in futures]
    assert len({s.decision_id for s in stored}) == 1
    with pytest.raises(IdempotencyConflict):
        submit("app-other", request_digest="b" * 64).result(30)
    other_client = submit("app-x", client="bank").result(30)
    assert other_client.decision_id != stored[0].decision_id
    assert store.decisions.head().startswith("2:")
    assert store.decisions.verify().ok


def test_record_future_takes_the_payload_as_canonical_text_with_the_same_digest(
    store: Store,
) -> None:
    person = a_person(3)
    as_text = store.decisions.record_future(
        application_id="app-text",
        channel="api",
        decision=a_decision(),
        personal=CanonicalText(canonical_json(person)),
    ).result(30)
    as_mapping = store.decisions.record(
        application_id="app-map", channel="api", decision=a_decision(), personal=person
    )
    report = store.verify()
    assert report.ok, report
    assert as_text.seq + 1 == as_mapping.seq


def _stored_with_key(store: Store, key: str) -> StoredDecision:
    """A decision stored by an earlier batch under `key` (request digest "body")."""
    return store.decisions.record(
        application_id="earlier",
        channel="api",
        decision=a_decision(),
        personal=a_person(),
        idempotency_key=key,
        request_digest="body",
    )


def _prepared(store: Store, application: str, person: int, key: str | None = None) -> Append:
    """An append of `application` with person `person`'s payload and link (digest "body")."""
    return _prepare(
        application, "api", a_decision(person), a_person(person), key, "body", "default",
        store.decisions._keys, [("applicant", f"0101901234{person}")],
    )  # fmt: skip


def test_one_batch_with_people_payloads_and_replays_is_stored_whole(store: Store, sql: Sql) -> None:
    """The batch path of both databases (PostgreSQL: pipelined on the driver's connection):
    people linked, payloads sealed and salted once per application (its last payload kept),
    a key stored by an earlier batch replayed, one record per fresh item, the chain whole."""
    decisions = store.decisions
    earlier = _stored_with_key(store, "old")

    items = [
        _prepared(store, "one", 1),
        _prepared(store, "two", 2),
        _prepared(store, "one", 3),  # the same application again: its last payload is kept
        _prepared(store, "replay", 4, key="old"),
    ]
    decisions._write_appends(items)
    one, two, again = (item.outcome() for item in items[:3])
    assert [one.seq, two.seq, again.seq] == [2, 3, 4]
    assert items[3].outcome() == earlier
    assert sql("SELECT count(*) FROM decision")[0][0] == 4
    assert decisions.personal_data("one") == a_person(3)
    assert decisions.personal_data("two") == a_person(2)
    assert decisions.personal_data("replay") is None
    links = sql("SELECT application_id, role FROM subject_link ORDER BY application_id")
    assert [tuple(row) for row in links] == [("one", "applicant")] * 2 + [("two", "applicant")]
    salts = sql("SELECT count(DISTINCT salt) FROM personal_data WHERE application_id = 'one'")
    assert salts[0][0] == 1
    assert decisions.verify().ok
    findings, *_ = decisions.verify_personal_data()
    assert findings == []


def test_a_replay_of_an_application_also_fresh_in_the_batch_writes_the_fresh_ones_people(
    store: Store, sql: Sql
) -> None:
    """PostgreSQL writes people and payloads in the batch's first round trip, before it
    knows which keys are stored, each only if its key is not: an application given twice
    in a batch, the later a replay of a stored key, is written with the fresh item's payload
    and people (a round trip more), and nothing of the replay's."""
    decisions = store.decisions
    earlier = _stored_with_key(store, "old")

    items = [_prepared(store, "shared", 1), _prepared(store, "shared", 4, key="old")]
    decisions._write_appends(items)
    assert items[0].outcome().seq == 2
    assert items[1].outcome() == earlier
    assert decisions.personal_data("shared") == a_person(1)
    links = sql("SELECT count(*) FROM subject_link WHERE application_id = 'shared'")
    assert links[0][0] == 1
    assert decisions.verify().ok
    findings, *_ = decisions.verify_personal_data()
    assert findings == []


def test_an_idempotency_key_is_looked_up_through_both_columns_of_its_index(store: Store) -> None:
    """The key lookup of a batch and PostgreSQL's written-unless-stored check name the client
    and the key, so each reads a few entries of the (client, key) index; by the key alone
    (its second column) it would read the whole index, one entry per keyed decision."""
    with store.decisions._uow.engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        if isinstance(raw, sqlite3.Connection):
            plan = " ".join(
                str(row[-1])
                for row in raw.execute(
                    "EXPLAIN QUERY PLAN " + _append._sqlite_keys(1, 2), ["c", "k1", "k2"]
                )
            )
            assert "uq_decision_client_idempotency_key (client=? AND idempotency_key=?)" in plan
            return
        cursor = raw.cursor()
        cursor.execute("SET enable_seqscan = off")  # an empty table: a scan would do as well
        statements = [
            (_append._PG_KEYS, {"clients": ["c"], "keys": ["k1", "k2"]}),
            (_append._PG_PERSONAL, {**dict.fromkeys(_append._PERSONAL_COLUMNS, "x"), "recorded_at": datetime.now(UTC), "client": "c", "idempotency_key": "k"}),
            (_append._PG_LINK, {**dict.fromkeys(_append._LINK_COLUMNS, "x"), "client": "c", "idempotency_key": "k"}),
        ]  # fmt: skip
        for statement, parameters in statements:
            text = statement if isinstance(statement, str) else statement.as_string(raw)
            cursor.execute("EXPLAIN " + text, parameters)
            plan = "\n".join(str(row[0]) for row in cursor.fetchall())
            conditions = [line for line in plan.splitlines() if "Index Cond:" in line]
            assert any("client" in c and "idempotency_key" in c for c in conditions), plan
        connection.rollback()


def test_the_postgresql_insert_is_composed_once_per_column_list() -> None:
    columns = ["seq", "decision_id"]
    first = _pg_insert(cast(Any, None), columns)  # identifiers need no connection to quote
    assert first == b'INSERT INTO decision ("seq", "decision_id") VALUES (%(seq)s, %(decision_id)s)'
    assert _pg_insert(cast(Any, None), list(columns)) is first


def test_sqlite_appends_store_date_times_in_sqlalchemys_text_form(tmp_path: Path) -> None:
    """SQLite's batch path writes on the driver's connection: the date-times stored are the
    text SQLAlchemy writes (UTC, no offset, microseconds), and a replay reads them back."""
    store = open_store(f"sqlite:///{tmp_path / 'lendmatch.sqlite'}")
    try:
        moment = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=1)))
        decision = dataclasses.replace(a_decision(), decided_at=moment)
        arguments: dict[str, Any] = {
            "channel": "api",
            "decision": decision,
            "personal": a_person(),
            "idempotency_key": "k",
            "request_digest": "body",
        }
        first = store.decisions.record(application_id="first", **arguments)
        replayed = store.decisions.record(application_id="second", **arguments)
        with store.engine.connect() as connection:
            decided = connection.exec_driver_sql("SELECT decided_at FROM decision").all()
            recorded = connection.exec_driver_sql("SELECT recorded_at FROM personal_data").all()
    finally:
        store.dispose()
    assert [row[0] for row in decided] == ["2026-01-02 02:04:05.000006"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", recorded[0][0])
    assert first.decided_at == moment
    assert replayed == first


def test_a_sqlite_batch_beyond_the_parameter_bound_is_split_and_stored_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each table's rows go in as one many-row statement, split where SQLite's bound on a
    statement's parameters would be passed (made 40 here, in SQLite too: 2 decision rows a
    statement)."""
    monkeypatch.setattr(_append, "_SQLITE_PARAMETERS", 40)
    store = open_store(f"sqlite:///{tmp_path / 'lendmatch.sqlite'}")
    event.listen(
        store.engine,
        "connect",
        lambda connection, _record: connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 40),
    )
    store.engine.dispose()  # the connections made from now on have the bound
    try:
        decisions = store.decisions

        def prepared(n: int) -> Append:
            return _prepare(
                f"app-{n}", "api", a_decision(n), a_person(n), None, "body", "default",
                decisions._keys, [("applicant", f"0101901234{n}")],
            )  # fmt: skip

        items = [prepared(n) for n in range(7)]
        decisions._write_appends(items)
        assert [item.outcome().seq for item in items] == list(range(1, 8))
        assert [decisions.personal_data(f"app-{n}") for n in range(7)] == [
            a_person(n) for n in range(7)
        ]
        assert decisions.verify().ok
        findings, *_ = decisions.verify_personal_data()
        assert findings == []
    finally:
        store.dispose()
