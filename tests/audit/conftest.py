"""Fixtures of the store tests: a fresh database per test, on SQLite and on PostgreSQL.

`database_url` runs each test twice: on a new SQLite file, and on PostgreSQL in a schema of
its own, created for the test and dropped after. PostgreSQL must be reachable at
LENDMATCH_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test);
when it is not, those tests fail, they never skip.
"""

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
    opened = open_store(database_url)
    try:
        yield opened
    finally:
        opened.dispose()


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
