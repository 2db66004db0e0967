"""Migration 0008_review_withdrawn: a review request left open by an erasure made before it
is withdrawn, with the reason its application's erasure gives (the purge's: retention;
otherwise: erasure) and a history event; open requests of applications not erased, and
decided ones, stay as they were. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import text

from audit import make_engine, open_store
from audit.database import alembic_config

WHEN = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
ERASED = WHEN + timedelta(days=3)


def _request(connection: object, request_id: str, application_id: str, status: str) -> None:
    connection.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO review_request (request_id, application_id, open_for, client, "
            "automated_decision_id, market, status, language, statement, corrections_json, "
            "received_at, due_at) VALUES (:r, :a, :o, 'default', :d, 'NO', :s, 'nb', '', '{}', "
            ":at, :due)"
        ),
        {
            "r": request_id,
            "a": application_id,
            "o": None if status == "decided" else application_id,
            "d": f"decision-{application_id}",
            "s": status,
            "at": WHEN,
            "due": WHEN + timedelta(days=30),
        },
    )


def _erasure(connection: object, seq: int, application_id: str, reason: str) -> None:
    connection.execute(  # type: ignore[attr-defined]
        text(
            "INSERT INTO personal_erasure (seq, application_id, decision_seq, erased_at, reason, "
            "prev_hash, record_hash) VALUES (:seq, :a, 1, :at, :reason, :h, :h)"
        ),
        {"seq": seq, "a": application_id, "at": ERASED, "reason": reason, "h": "0" * 64},
    )


def test_requests_left_open_by_an_earlier_erasure_are_withdrawn(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007_subject_request_ledger")
    with engine.begin() as connection:
        _request(connection, "r-asked", "a-asked", "in_review")
        _request(connection, "r-purged", "a-purged", "extended")
        _request(connection, "r-kept", "a-kept", "received")
        _request(connection, "r-decided", "a-decided", "decided")
        _erasure(connection, 1, "a-asked", "erasure request of the person")
        _erasure(connection, 2, "a-purged", "retention period ended")
        _erasure(connection, 3, "a-decided", "erasure request of the person")
    engine.dispose()
    store = open_store(database_url)  # migrates to the newest revision
    try:
        found = {
            request_id: (review.status, review.withdrawn_reason)
            for request_id in ("r-asked", "r-purged", "r-kept", "r-decided")
            if (review := store.reviews.get(request_id)) is not None
        }
        assert found == {
            "r-asked": ("withdrawn", "erasure"),
            "r-purged": ("withdrawn", "retention"),
            "r-kept": ("received", None),
            "r-decided": ("decided", None),
        }
        (event,) = store.reviews.history("r-purged")
        assert (event.at, event.actor, event.what) == (ERASED, "system", "withdrawn: retention")
        assert store.reviews.history("r-kept") == []
        withdrawn, _ = store.reviews.page(statuses=["withdrawn"])
        assert sorted(r.request_id for r in withdrawn) == ["r-asked", "r-purged"]
    finally:
        store.dispose()
