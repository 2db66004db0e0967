"""A failing database: every failure is `StoreUnavailable`, nothing is half-written, and the
store works again once the database does."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import make_url, text

from audit import Store, StoredDecision, StoreUnavailable, database, make_engine, open_store
from tests.audit.audit_testkit import Ruleset, a_decision, a_person, postgres_schema
from tests.databases import POSTGRES_URL

Record = Callable[[int], list[StoredDecision]]
Sql = Callable[..., list[Any]]

ONE = Ruleset({"nordbank": {"lender_id": "nordbank", "requirements": []}})
TWO = Ruleset({"sorbank": {"lender_id": "sorbank", "requirements": []}})


def _fail_inserts_into(store: Store, sql: Sql, table: str) -> None:
    """Make every INSERT into `table` fail inside the database, as a full disk would."""
    if store.engine.dialect.name == "sqlite":
        sql(
            f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    else:
        sql(
            "CREATE OR REPLACE FUNCTION fail_insert() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$"
        )
        sql(
            f"CREATE TRIGGER fail_{table} BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION fail_insert()"
        )


def _record_one(store: Store, application_id: str) -> StoredDecision:
    return store.decisions.record(
        application_id=application_id, channel="api", decision=a_decision(), personal=a_person()
    )


def test_a_failed_append_is_store_unavailable_and_leaves_nothing_behind(
    store: Store, record: Record, sql: Sql
) -> None:
    record(2)
    head = store.decisions.head()
    _fail_inserts_into(store, sql, "decision")
    with pytest.raises(StoreUnavailable) as raised:
        _record_one(store, "app-x")
    assert "disk full" in raised.value.cause
    assert raised.value.operation == "record_decision"
    assert sql("SELECT count(*) FROM personal_data WHERE application_id = 'app-x'")[0][0] == 0
    assert sql("SELECT count(*) FROM decision")[0][0] == 2
    assert store.decisions.head() == head
    assert store.decisions.verify().ok

    sql(
        "DROP TRIGGER fail_decision"
        + ("" if store.engine.dialect.name == "sqlite" else " ON decision")
    )
    assert _record_one(store, "app-x").seq == 3
    assert store.decisions.verify().ok


def test_a_dropped_table_makes_the_store_unavailable(store: Store, sql: Sql) -> None:
    sql("DROP TABLE decision")
    with pytest.raises(StoreUnavailable):
        _record_one(store, "app-x")
    assert sql("SELECT count(*) FROM personal_data")[0][0] == 0
    with pytest.raises(StoreUnavailable):
        store.decisions.latest("app-x")
    with pytest.raises(StoreUnavailable):
        store.decisions.verify()


def test_a_failed_activation_keeps_the_active_ruleset(store: Store, sql: Sql) -> None:
    store.rulesets.activate(ONE)
    _fail_inserts_into(store, sql, "ruleset_activation")
    with pytest.raises(StoreUnavailable):
        store.rulesets.activate(TWO)
    assert store.rulesets.active().hash == ONE.hash  # type: ignore[union-attr]
    assert store.rulesets.snapshot(TWO.hash) is None
    assert [v.hash for v in store.rulesets.versions()] == [ONE.hash]


def _unreachable(database_url: str, tmp_path: Path) -> str:
    if database_url.startswith("sqlite"):
        blocked = tmp_path / "blocked.sqlite"
        blocked.mkdir()  # a directory where the database file should be
        return f"sqlite:///{blocked}"
    return make_url(database_url).set(port=1).render_as_string(hide_password=False)


def test_an_unreachable_database_is_unavailable_everywhere(
    database_url: str, tmp_path: Path
) -> None:
    url = _unreachable(database_url, tmp_path)
    with pytest.raises(StoreUnavailable):
        open_store(url)
    store = Store(make_engine(url))
    try:
        assert store.ping() is False
        with pytest.raises(StoreUnavailable):
            _record_one(store, "app-x")
        for read in (
            store.decisions.head,
            store.decisions.verify,
            store.rulesets.active,
            lambda: store.api_keys.role_of("secret"),
            lambda: list(store.decisions.stream()),
        ):
            with pytest.raises(StoreUnavailable):
                read()
    finally:
        store.dispose()


def _named(url: str, name: str) -> str:
    return (
        make_url(url)
        .update_query_dict({"application_name": name})
        .render_as_string(hide_password=False)
    )


@pytest.fixture
def named_postgres_store() -> Iterator[tuple[Store, str]]:
    """A PostgreSQL store whose connections carry an application name of their own."""
    name = f"lendmatch-test-{uuid.uuid4().hex[:12]}"
    with postgres_schema() as url:
        store = open_store(_named(url, name))
        try:
            yield store, name
        finally:
            store.dispose()


def _drop_connections(name: str) -> None:
    """Make PostgreSQL end every connection named `name` (as a restart would)."""
    killer = make_engine(POSTGRES_URL)
    try:
        with killer.begin() as connection:
            killed = connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = :name"
                ),
                {"name": name},
            ).scalar_one()
        assert killed >= 1
    finally:
        killer.dispose()


@pytest.mark.postgres
def test_the_store_recovers_when_postgresql_drops_its_connections(
    named_postgres_store: tuple[Store, str],
) -> None:
    """Dropped while in use (not pinged: used within `PING_AFTER_IDLE_S`), the append's
    connection is found gone at the batch's first round trip, and the batch is written on a
    new one: the caller sees nothing of it."""
    store, name = named_postgres_store
    _record_one(store, "app-1")
    _drop_connections(name)
    assert _record_one(store, "app-2").seq == 2
    assert store.decisions.verify().ok


@pytest.mark.postgres
def test_a_connection_idle_longer_than_the_window_is_pinged_and_replaced(
    named_postgres_store: tuple[Store, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, name = named_postgres_store
    stored = _record_one(store, "app-1")
    _drop_connections(name)
    monkeypatch.setattr(database, "PING_AFTER_IDLE_S", 0.0)  # every pooled one is idle now
    assert store.decisions.latest("app-1") == stored


@pytest.mark.postgres
def test_a_read_on_a_connection_dropped_within_the_window_fails_once_then_works(
    named_postgres_store: tuple[Store, str],
) -> None:
    """The trade of pinging only idle connections: a read meeting a connection that died
    while in use is `StoreUnavailable` (503 at the API), and the pool starts afresh."""
    store, name = named_postgres_store
    stored = _record_one(store, "app-1")
    _drop_connections(name)
    with pytest.raises(StoreUnavailable):
        store.decisions.latest("app-1")
    assert store.decisions.latest("app-1") == stored
