"""Fixtures of the HTTP API tests: a fresh database per test and the app running on it.

`database_url` runs a test twice: on a new SQLite file, and on PostgreSQL in a schema of its
own (created for the test, dropped after; PostgreSQL unreachable fails the test, never skips).
`sqlite_url` is for tests of the HTTP layer itself (input handling), where the database is
not what is tested.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.support import Api, running_api


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file."""
    return f"sqlite:///{tmp_path / 'lendmatch.sqlite'}"


@pytest.fixture
def api(database_url: str) -> Iterator[Api]:
    """The API on a fresh database (SQLite and PostgreSQL)."""
    with running_api(database_url) as running:
        yield running


@pytest.fixture
def sqlite_api(sqlite_url: str) -> Iterator[Api]:
    """The API on a fresh SQLite file."""
    with running_api(sqlite_url) as running:
        yield running
