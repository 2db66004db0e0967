"""Fixtures of the command-line tests: a store on the test's database (SQLite and PostgreSQL),
decisions appended to it, and raw SQL for tampering."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import text

from audit import Store, StoredDecision, open_store
from tests.audit.audit_testkit import a_decision, a_person


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A migrated, empty store on the test's database."""
    with open_store(database_url) as opened:
        yield opened


@pytest.fixture
def record(store: Store) -> Callable[[int], list[StoredDecision]]:
    """Append `n` distinct decisions (applications app-1 .. app-n) and return them."""

    def append(n: int) -> list[StoredDecision]:
        return [
            store.decisions.record(
                application_id=f"app-{i}",
                channel="api",
                decision=a_decision(i),
                personal=a_person(i),
            )
            for i in range(1, n + 1)
        ]

    return append


@pytest.fixture
def sql(store: Store) -> Callable[..., list[Any]]:
    """Run raw SQL on the store's database in its own committed transaction (tampering)."""

    def run(statement: str, **params: Any) -> list[Any]:
        with store.engine.begin() as connection:
            result = connection.execute(text(statement), params)
            return list(result.all()) if result.returns_rows else []

    return run
