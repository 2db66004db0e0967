"""Store: one engine, the concerns on it, health, and closing."""

from __future__ import annotations

from audit import Store


def test_ping_answers_when_the_database_does(store: Store) -> None:
    assert store.ping() is True
