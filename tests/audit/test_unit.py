"""UnitOfWork: one transaction per unit, rolled back on error, database errors reported as
`StoreUnavailable` naming the operation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from audit import Store, StoreUnavailable
from audit._unit import UnitOfWork
from audit.models import ApiKeyRow
from tests.audit.audit_testkit import count

Sql = Callable[..., list[Any]]


def _key(key_id: str) -> ApiKeyRow:
    return ApiKeyRow(
        key_id=key_id, secret_hash=key_id.ljust(64, "0"), role="admin", created_at=datetime.now(UTC)
    )


def test_a_unit_commits_when_its_block_ends(store: Store, sql: Sql) -> None:
    with UnitOfWork(store.engine).unit("add", write=True) as session:
        session.add(_key("k1"))
    assert sql("SELECT key_id FROM api_key") == [("k1",)]


def test_a_unit_that_raises_leaves_nothing_behind(store: Store, sql: Sql) -> None:
    with pytest.raises(RuntimeError), UnitOfWork(store.engine).unit("add", write=True) as session:
        session.add(_key("k1"))
        session.flush()
        raise RuntimeError("after the insert")
    assert count(sql, "api_key") == 0


def test_a_database_error_is_store_unavailable_naming_the_operation(store: Store) -> None:
    with pytest.raises(StoreUnavailable) as raised, UnitOfWork(store.engine).unit("probe") as s:
        s.connection().execute(text("SELECT * FROM no_such_table"))
    assert raised.value.operation == "probe"
    assert "no_such_table" in raised.value.cause
