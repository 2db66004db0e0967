"""Engines and migrations: SQLite settings, the schema equals the models, migrating is safe."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from audit import (
    make_engine,
    migrate,
    models,  # noqa: F401  (registers the tables)
)
from audit.database import alembic_config
from broker import get_settings

TABLES = (
    "decision",
    "personal_data",
    "chain_head",
    "ruleset_version",
    "ruleset_activation",
    "personal_erasure",
    "ledger_head",
    "review_request",
    "review_lender",
    "review_event",
    "case_view",
    "api_key",
    "caseworker",
    "decision_redaction",
    "subject_link",
    "subject_restriction",
    "subject_correction",
    "subject_request",
    "identity_check",
)


@pytest.fixture
def engine(database_url: str) -> Engine:
    return make_engine(database_url)


def test_migrating_twice_reaches_head_once(engine: Engine) -> None:
    migrate(engine)
    migrate(engine)
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
        assert connection.execute(text("SELECT id, seq FROM chain_head")).all() == [(1, 0)]
    engine.dispose()


def test_the_migrated_schema_equals_the_models(engine: Engine) -> None:
    migrate(engine)
    metadata = MetaData()
    for name in TABLES:
        SQLModel.metadata.tables[name].to_metadata(metadata)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_concurrent_migrations_of_a_new_database_both_succeed(engine: Engine) -> None:
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: migrate(engine), range(2)))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM chain_head")).scalar_one() == 1
    engine.dispose()


def test_there_is_only_one_chain_head_row(engine: Engine) -> None:
    migrate(engine)
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(text("INSERT INTO chain_head (id, seq, hash) VALUES (2, 0, 'x')"))
    engine.dispose()


def test_sqlite_is_durable_and_waits_for_locks(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "audit.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        pragma = {
            name: connection.execute(text(f"PRAGMA {name}")).scalar_one()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert path.parent.is_dir()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,  # FULL
        "foreign_keys": 1,
        "busy_timeout": 30_000,
    }
    engine.dispose()


def test_the_database_url_comes_from_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("LENDMATCH_DATABASE_URL", raising=False)
    assert get_settings().database_url == "sqlite:///./lendmatch.sqlite"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@db/lendmatch")
    assert get_settings().database_url == "postgresql+psycopg://postgres@db/lendmatch"


def test_the_first_revision_downgrades_to_an_empty_database(engine: Engine) -> None:
    from alembic import command

    migrate(engine)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert context.get_current_revision() is None
        tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
        assert tables == set()
    engine.dispose()


def test_idempotency_keys_are_unique_per_client_and_decisions_without_one_are_not_indexed(
    engine: Engine,
) -> None:
    """Migration 0009: (client, idempotency_key) is unique among the decisions that have a
    key; any number have none."""
    migrate(engine)
    insert = text(
        "INSERT INTO decision (seq, decision_id, application_id, channel, decided_at, "
        "ruleset_hash, features_json, outcomes_json, client, idempotency_key, payload_digest, "
        "prev_hash, record_hash) VALUES (:seq, :id, 'app', 'api', '2026-12-01 00:00:00+00', "
        "'h', '{}', '[]', :client, :key, 'p', 'p', 'r')"
    )
    with engine.begin() as connection:
        for seq, client, key in [
            (1, "shop", "k1"),
            (2, "bank", "k1"),
            (3, None, None),
            (4, None, None),
            (5, "shop", None),
            (6, "shop", None),
        ]:
            connection.execute(insert, {"seq": seq, "id": f"d{seq}", "client": client, "key": key})
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert, {"seq": 7, "id": "d7", "client": "shop", "key": "k1"})
    with engine.connect() as connection:
        indexes = {i["name"]: i for i in inspect(connection).get_indexes("decision")}
    assert indexes["uq_decision_client_idempotency_key"]["unique"]
    engine.dispose()
