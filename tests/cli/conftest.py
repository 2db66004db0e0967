"""Fixtures of the command-line tests: the store fixtures of the audit tests (a store on the
test's database, decisions appended, raw SQL for tampering) and `run`, the CLI with
DATABASE_URL set to that database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.audit.conftest import record, sql, store

__all__ = ["record", "run", "sql", "store"]


@pytest.fixture
def run(database_url: str) -> Callable[..., Result]:
    """`lendmatch ARGS...` in process, on the test's database (more environment as keywords)."""
    runner = CliRunner()

    def invoke(*args: str, **env: str) -> Result:
        return runner.invoke(app, list(args), env={"DATABASE_URL": database_url, **env})

    return invoke
