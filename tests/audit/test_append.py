"""Group commit: appends that arrive while one is being written are committed together, and
one failing record does not fail the records batched with it."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from audit import IdempotencyConflict, Store, StoredDecision, StoreUnavailable
from audit._append import Append, GroupCommit
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
