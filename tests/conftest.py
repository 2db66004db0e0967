"""Shared fixtures: hypothesis profiles, and a fresh database per store test.

Hypothesis profiles: `dev` (default, quick) and `ci` (derandomized, thorough).
Choose with the environment variable HYPOTHESIS_PROFILE, e.g. `HYPOTHESIS_PROFILE=ci`.
Tests take their example counts from the profile; a test that sets its own `@settings`
states why.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.databases import postgres_schema

settings.register_profile("ci", derandomize=True, max_examples=500, deadline=None)
settings.register_profile("dev", max_examples=50, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for a store test: an SQLite file, then a PostgreSQL schema
    (created for the test, dropped after; unreachable PostgreSQL fails the test)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'lendmatch.sqlite'}"
    else:
        with postgres_schema() as url:
            yield url
