"""Engines and schema migration for the decision store (SQLite by default, PostgreSQL too).

On PostgreSQL an engine may bound how long any statement runs and how long it waits for a
lock (`Timeouts`): the service sets both, so a request meeting a locked table fails with
`StoreUnavailable` (503) instead of hanging; commands leave them off (a batch or `verify` may
run long). Migrations always run without them. `can_write` is the readiness probe: it takes
the locks an append takes, within a short bound, and rolls back.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError

MIGRATIONS = Path(__file__).parent / "migrations"

# Execution option asking the SQLite `begin` hook to take the write lock at BEGIN.
WRITE_LOCK = "lendmatch_write_lock"

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 5
_MIGRATION_LOCK_ID = 0x6C656E646D61  # "lendma": one advisory lock id for schema upgrades
WRITE_PROBE_TIMEOUT_MS = 1_000
# The tables an append writes: a lock on any of them that blocks an insert blocks decisions.
_APPEND_TABLES = "chain_head, personal_data, decision"


@dataclass(frozen=True)
class Timeouts:
    """PostgreSQL statement and lock timeouts of an engine's sessions, in ms (0: none)."""

    statement_ms: int = 0
    lock_ms: int = 0


def make_engine(url: str, timeouts: Timeouts | None = None) -> Engine:
    """An engine for `url`, tuned for the decision log.

    SQLite: WAL journal, `synchronous=FULL` (a commit is on disk before it returns), a busy
    timeout, foreign keys on, parent directories of the file created. Transactions are begun
    by us, not by the driver, so a write can take the lock at `BEGIN IMMEDIATE`.
    PostgreSQL: connections idle for a while are checked before use (`PING_AFTER_IDLE_S`), so
    the store recovers after a restart;
    each session gets `timeouts` and, unless the URL names one, an `application_name` naming
    this process (`lendmatch[<pid>]`, as `pg_stat_activity` shows it).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            # the append path's statements differ by their number of rows (audit._append)
            connect_args={"check_same_thread": False, "cached_statements": 512},
            pool_size=16,
            max_overflow=16,
        )
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
        if "application_name" not in parsed.query:
            connect_args["application_name"] = f"lendmatch[{os.getpid()}]"
    postgres = parsed.get_backend_name() == "postgresql"
    engine = create_engine(
        parsed,
        connect_args=connect_args,
        pool_pre_ping=not postgres,  # PostgreSQL: `_ping_when_idle` instead
        pool_use_lifo=postgres,  # the connection used last is taken first: it is the live one
        pool_size=16,
        max_overflow=16,
    )
    if engine.dialect.name == "postgresql":
        _configure_postgres(engine, timeouts or Timeouts())
        _ping_when_idle(engine)
    return engine


# A pooled PostgreSQL connection is checked with a round trip when it is taken from the pool
# after lying there longer than this (and when it is new); one in use all the time is not.
# Pinging at every checkout cost the append path a fourth round trip a batch (bench_api:
# PostgreSQL ~10 % more requests/s without it). A connection that died in the meantime is
# found by the statement that uses it: the append path writes its batch again on a new
# connection when it was lost before anything was written (`audit._append.ConnectionLostError`);
# elsewhere the operation fails with `StoreUnavailable` and the next one gets a new connection.
PING_AFTER_IDLE_S = 1.0
_RETURNED_AT = "lendmatch_returned_at"


def _ping_when_idle(engine: Engine) -> None:
    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at <= PING_AFTER_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the pool replaces the connection and tries again
            raise DisconnectionError(f"a pooled connection is gone: {error}") from error

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()


def _configure_postgres(engine: Engine, timeouts: Timeouts) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            # Session settings (not SET LOCAL): they outlive every transaction of the session.
            cursor.execute(f"SET statement_timeout = {int(timeouts.statement_ms)}")
            cursor.execute(f"SET lock_timeout = {int(timeouts.lock_ms)}")
        finally:
            cursor.close()
        dbapi_connection.commit()


def can_write(engine: Engine) -> bool:
    """True if an append could take its locks now (waiting at most WRITE_PROBE_TIMEOUT_MS);
    nothing is written. PostgreSQL: the locks an insert takes on the append's tables;
    SQLite: the database's write lock."""
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # On the driver's connection (autocommit there): the shorter busy timeout must
                # be in force before BEGIN, and is restored before the connection is pooled.
                raw = connection.connection.dbapi_connection
                if raw is None:
                    return False
                raw.execute(f"PRAGMA busy_timeout = {WRITE_PROBE_TIMEOUT_MS}")
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    raw.execute("ROLLBACK")
                finally:
                    raw.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
                return True
            with connection.begin() as transaction:
                connection.exec_driver_sql(f"SET LOCAL lock_timeout = {WRITE_PROBE_TIMEOUT_MS}")
                connection.exec_driver_sql(f"LOCK TABLE {_APPEND_TABLES} IN ROW EXCLUSIVE MODE")
                transaction.rollback()
            return True
    except (SQLAlchemyError, sqlite3.Error):
        return False


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: the `begin` hook below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
            # Erased and re-sealed values are overwritten, not left in free pages: a copy of
            # the file must not hold what was erased (or stored clear before encryption).
            cursor.execute("PRAGMA secure_delete = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(WRITE_LOCK):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


def alembic_config() -> Config:
    """The Alembic configuration of the store, built in code (there is no alembic.ini)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Upgrade the schema to the newest revision, in one transaction.

    Concurrent callers (several service processes starting at once) are serialised: by an
    advisory lock on PostgreSQL, by the write lock on SQLite.
    """
    config = alembic_config()
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_LOCK: True})
        with connection.begin():
            if connection.dialect.name == "postgresql":
                # A migration may wait for another process's and may take long: no timeouts.
                connection.exec_driver_sql("SET LOCAL lock_timeout = 0")
                connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
