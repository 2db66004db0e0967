"""Store: one engine, the concerns on it, health, and closing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from audit import Store, open_store
from tests.audit.audit_testkit import Ruleset, a_decision

Sql = Callable[..., list[Any]]
ONE = Ruleset({"nordbank": {"lender_id": "nordbank", "requirements": []}})


def test_ping_answers_when_the_database_does(store: Store) -> None:
    assert store.ping() is True


def test_leaving_the_with_block_closes_the_pooled_connections(database_url: str) -> None:
    with open_store(database_url) as store:
        assert store.ping() is True
        assert store.engine.pool.checkedin() >= 1  # type: ignore[attr-defined]
    assert store.engine.pool.checkedin() == 0  # type: ignore[attr-defined]


def test_the_concerns_share_the_stores_engine(store: Store, sql: Sql) -> None:
    key_id, _ = store.api_keys.add("admin")
    store.rulesets.activate(ONE)
    store.decisions.record(
        application_id="app-1", channel="api", decision=a_decision(), personal={}
    )
    assert sql("SELECT key_id FROM api_key") == [(key_id,)]
    assert sql("SELECT ruleset_hash FROM ruleset_activation") == [(ONE.hash,)]
    assert sql("SELECT application_id FROM decision") == [("app-1",)]
