"""Migration 0010_subject_hash_bytes: on PostgreSQL the subject hash columns of `subject_link`
and `subject_restriction` compare byte by byte (collation "C"), with every stored link and
restriction kept and found as before; downgrading restores the database's collation. SQLite
is unchanged. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, text

from audit import PersonalKeys, make_engine, open_store
from tests.audit.audit_testkit import migrate

WHEN = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
KEYS = PersonalKeys.development()
PEOPLE = {"01010112345": ("app-1", "applicant"), "02020254321": ("app-2", "co_applicant")}


def _collations(engine: Engine) -> dict[str, str | None]:
    """The collation of each subject hash column (PostgreSQL; None: the database's own)."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT table_name, collation_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND column_name = 'subject_hash' "
                "ORDER BY table_name"
            )
        ).all()
    return {str(table): collation for table, collation in rows}


def test_subject_hashes_compare_byte_by_byte_and_stay_as_they_were(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine, "upgrade", "0009_idempotency_partial")
    with engine.begin() as connection:
        for number, (application_id, role) in PEOPLE.items():
            connection.execute(
                text(
                    "INSERT INTO subject_link (subject_hash, application_id, role) "
                    "VALUES (:h, :a, :r)"
                ),
                {"h": KEYS.subject_hash(number), "a": application_id, "r": role},
            )
        connection.execute(
            text(
                "INSERT INTO subject_restriction (subject_hash, restricted_at, reason) "
                "VALUES (:h, :at, 'asked')"
            ),
            {"h": KEYS.subject_hash("02020254321"), "at": WHEN},
        )
    postgres = engine.dialect.name == "postgresql"
    before = _collations(engine) if postgres else {}
    store = open_store(database_url, keys=KEYS)  # migrates to the newest revision
    try:
        for number, (application_id, role) in PEOPLE.items():
            assert [(link.application_id, link.role) for link in store.subjects.links(number)] == [
                (application_id, role)
            ]
        assert store.subjects.restricted_among(["app-1", "app-2"]) == {"app-2"}
        assert store.subjects.restriction("02020254321") is not None
        assert not store.subjects.restrict("02020254321", reason="again", now=WHEN)
    finally:
        store.dispose()
    if postgres:
        assert before == {"subject_link": None, "subject_restriction": None}
        assert _collations(engine) == {"subject_link": "C", "subject_restriction": "C"}
        migrate(engine, "downgrade", "0009_idempotency_partial")
        assert _collations(engine) == before
    else:
        migrate(engine, "downgrade", "0009_idempotency_partial")
    with engine.connect() as connection:
        kept = connection.execute(
            text("SELECT subject_hash, application_id, role FROM subject_link ORDER BY 2")
        ).all()
    assert [tuple(row) for row in kept] == [
        (KEYS.subject_hash(number), application_id, role)
        for number, (application_id, role) in PEOPLE.items()
    ]
    engine.dispose()
