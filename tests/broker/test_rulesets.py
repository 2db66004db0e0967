"""The rules decisions are made with: compiled rulesets by hash (bounded), the rules in force."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

import matcher
from audit import Store, open_store
from broker import (
    CompiledRulesets,
    NoActiveRulesetError,
    RulesInForce,
    SnapshotMissingError,
    SnapshotTamperedError,
)
from lender_rules import SHIPPED_LENDERS_DIR

SHIPPED = matcher.load_ruleset(SHIPPED_LENDERS_DIR)
SHIPPED_REASON = next(iter(SHIPPED.documents.values()))["requirements"][0]["reason"]["en"]


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with open_store(database_url) as opened:
        yield opened


def _variant(n: int, **changes: Any) -> matcher.Ruleset:
    """The shipped ruleset with the first lender renamed (a different hash per `n`)."""
    documents = [copy.deepcopy(SHIPPED.documents[k]) for k in sorted(SHIPPED.documents)]
    documents[0]["name"] = f"{documents[0]['name']} v{n}"
    documents[0].update(changes)
    return matcher.ruleset_from_documents(documents)


def test_a_stored_snapshot_is_compiled_once_and_kept(store: Store) -> None:
    store.rulesets.save(SHIPPED)
    compiled = CompiledRulesets(store)
    first = compiled.get(SHIPPED.hash)
    assert first.hash == SHIPPED.hash
    assert compiled.get(SHIPPED.hash) is first


def test_at_most_capacity_rulesets_stay_compiled(store: Store) -> None:
    compiled = CompiledRulesets(store, capacity=2)
    rulesets = [_variant(n) for n in range(3)]
    for ruleset in rulesets:
        compiled.remember(ruleset)
    assert len(compiled) == 2
    store.rulesets.save(rulesets[0])
    assert compiled.get(rulesets[0].hash) is not rulesets[0]  # compiled again from the store


def test_an_unknown_hash_is_a_missing_snapshot(store: Store) -> None:
    with pytest.raises(SnapshotMissingError) as raised:
        CompiledRulesets(store).get("ab" * 32)
    assert raised.value.ruleset_hash == "ab" * 32


def test_nothing_is_in_force_before_an_activation(store: Store) -> None:
    rules = RulesInForce(store, refresh_seconds=0)
    assert rules.active_hash() is None
    with pytest.raises(NoActiveRulesetError):
        rules.now()


def test_a_version_decides_from_its_effective_date(store: Store) -> None:
    today = dt.date(2026, 11, 30)
    rules = RulesInForce(store, refresh_seconds=0, today=lambda: today)
    rules.activate(SHIPPED)
    ahead = _variant(1, effective_from="2026-12-01")
    rules.activate(ahead)
    assert rules.now().hash == SHIPPED.hash  # the change is not in force yet
    today = dt.date(2026, 12, 1)
    assert rules.now().hash == ahead.hash


def test_an_activation_elsewhere_is_picked_up(store: Store) -> None:
    rules = RulesInForce(store, refresh_seconds=0)
    rules.activate(SHIPPED)
    other = _variant(2)
    store.rulesets.activate(other)  # the CLI or another worker
    assert rules.now().hash == other.hash


def _tamper(store: Store, ruleset_hash: str, old: str, new: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE ruleset_version SET snapshot = replace(snapshot, :old, :new) WHERE hash = :h"
            ),
            {"old": old, "new": new, "h": ruleset_hash},
        )


def test_a_snapshot_changed_in_the_store_is_refused_naming_its_hash(store: Store) -> None:
    store.rulesets.save(SHIPPED)
    _tamper(store, SHIPPED.hash, SHIPPED_REASON, "Forged reason.")
    with pytest.raises(SnapshotTamperedError) as raised:
        CompiledRulesets(store).get(SHIPPED.hash)
    assert raised.value.ruleset_hash == SHIPPED.hash
    assert SHIPPED.hash in str(raised.value)


def test_the_rules_in_force_refuse_a_changed_active_snapshot(store: Store) -> None:
    store.rulesets.activate(SHIPPED)
    _tamper(store, SHIPPED.hash, SHIPPED_REASON, "Forged reason.")
    with pytest.raises(SnapshotTamperedError):
        RulesInForce(store, refresh_seconds=0).now()
