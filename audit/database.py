"""Engines and schema migration for the decision store (SQLite by default, PostgreSQL too)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, make_url

MIGRATIONS = Path(__file__).parent / "migrations"

# Execution option asking the SQLite `begin` hook to take the write lock at BEGIN.
WRITE_LOCK = "lendmatch_write_lock"

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 5
_MIGRATION_LOCK_ID = 0x6C656E646D61  # "lendma": one advisory lock id for schema upgrades


def make_engine(url: str) -> Engine:
    """An engine for `url`, tuned for the decision log.

    SQLite: WAL journal, `synchronous=FULL` (a commit is on disk before it returns), a busy
    timeout, foreign keys on, parent directories of the file created. Transactions are begun
    by us, not by the driver, so a write can take the lock at `BEGIN IMMEDIATE`.
    PostgreSQL: connections are checked before use, so the store recovers after a restart.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            parsed,
            connect_args={"check_same_thread": False},
            pool_size=16,
            max_overflow=16,
        )
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT_S
    return create_engine(
        parsed,
        connect_args=connect_args,
        pool_pre_ping=True,
        pool_size=16,
        max_overflow=16,
    )


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
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_ID})")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
