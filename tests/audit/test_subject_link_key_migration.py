"""Migration 0011_subject_link_by_application: `subject_link` is keyed by (application_id,
role, subject_hash) and found by person through `ix_subject_link_subject_hash` (a hash index
on PostgreSQL); every stored link is kept, found by person and by application as before, and
still unique; downgrading restores the key by subject hash. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from audit import PersonalKeys, make_engine, open_store
from tests.audit.audit_testkit import migrate

KEYS = PersonalKeys.development()
LINKS = [  # a person on two applications, in two roles
    ("01010112345", "app-1", "applicant"),
    ("02020254321", "app-1", "co_applicant"),
    ("01010112345", "app-2", "co_applicant"),
]
_INSERT = text("INSERT INTO subject_link (subject_hash, application_id, role) VALUES (:h, :a, :r)")


def _key_and_indexes(engine: Engine) -> tuple[list[str], dict[str, list[str]]]:
    found = inspect(engine)
    key = found.get_pk_constraint("subject_link")["constrained_columns"]
    indexes = {i["name"]: i["column_names"] for i in found.get_indexes("subject_link")}
    return key, indexes  # type: ignore[return-value]


def _stored(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT subject_hash, application_id, role FROM subject_link ORDER BY 2, 3")
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_links_are_keyed_by_application_and_found_by_person(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine, "upgrade", "0010_subject_hash_bytes")
    with engine.begin() as connection:
        for number, application_id, role in LINKS:
            connection.execute(
                _INSERT, {"h": KEYS.subject_hash(number), "a": application_id, "r": role}
            )
    before = _stored(engine)
    store = open_store(database_url, keys=KEYS)  # migrates to the newest revision
    try:
        assert [(x.application_id, x.role) for x in store.subjects.links("01010112345")] == [
            ("app-1", "applicant"),
            ("app-2", "co_applicant"),
        ]
        assert [(x.application_id, x.role) for x in store.subjects.links("02020254321")] == [
            ("app-1", "co_applicant")
        ]
        store.subjects.restrict("02020254321", reason="asked", now=datetime.now(UTC))
        assert store.subjects.restricted_among(["app-1", "app-2"]) == {"app-1"}
    finally:
        store.dispose()
    assert _stored(engine) == before
    assert _key_and_indexes(engine) == (
        ["application_id", "role", "subject_hash"],
        {"ix_subject_link_subject_hash": ["subject_hash"]},
    )
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            method = connection.execute(
                text(
                    "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
                    "WHERE c.relname = 'ix_subject_link_subject_hash' "
                    "AND c.relnamespace = current_schema()::regnamespace"
                )
            ).scalar_one()
        assert method == "hash"
    with pytest.raises(IntegrityError), engine.begin() as connection:  # still unique
        connection.execute(_INSERT, {"h": before[0][0], "a": before[0][1], "r": before[0][2]})
    migrate(engine, "downgrade", "0010_subject_hash_bytes")
    assert _stored(engine) == before
    assert _key_and_indexes(engine) == (
        ["subject_hash", "application_id", "role"],
        {"ix_subject_link_application_id": ["application_id"]},
    )
    engine.dispose()
