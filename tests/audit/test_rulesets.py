"""RulesetStore: snapshots by hash, activation, the active version and the history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from audit import InvalidRecord, SnapshotMismatch, Store
from tests.audit.audit_testkit import Ruleset, count

Sql = Callable[..., list[Any]]


ONE = Ruleset({"nordbank": {"lender_id": "nordbank", "requirements": []}})
TWO = Ruleset({"sorbank": {"lender_id": "sorbank", "requirements": []}})


def test_activating_a_ruleset_stores_its_snapshot_and_makes_it_active(
    store: Store,
) -> None:
    assert store.rulesets.active() is None
    assert store.rulesets.versions() == []
    version = store.rulesets.activate(ONE)
    assert (version.hash, version.active) == (ONE.hash, True)
    assert store.rulesets.active() == version
    assert store.rulesets.snapshot(ONE.hash) == ONE.snapshot()
    assert store.rulesets.snapshot("00" * 32) is None
    assert store.rulesets.versions() == [version]


def test_activating_the_active_ruleset_again_changes_nothing(store: Store, sql: Sql) -> None:
    first = store.rulesets.activate(ONE)
    again = store.rulesets.activate(ONE)
    assert again == first
    assert count(sql, "ruleset_activation") == 1
    assert count(sql, "ruleset_version") == 1


def test_an_older_ruleset_can_be_activated_again(store: Store) -> None:
    store.rulesets.activate(ONE)
    store.rulesets.activate(TWO)
    assert store.rulesets.active().hash == TWO.hash  # type: ignore[union-attr]
    versions = {v.hash: v.active for v in store.rulesets.versions()}
    assert versions == {ONE.hash: False, TWO.hash: True}
    store.rulesets.activate(ONE)
    assert store.rulesets.active().hash == ONE.hash  # type: ignore[union-attr]
    assert store.rulesets.snapshot(TWO.hash) == TWO.snapshot()


def test_a_ruleset_whose_hash_is_not_its_snapshots_is_refused(store: Store, sql: Sql) -> None:
    class Forged(Ruleset):
        @property
        def hash(self) -> str:
            return "00" * 32

    with pytest.raises(InvalidRecord):
        store.rulesets.activate(Forged(ONE.documents))
    assert count(sql, "ruleset_version") == 0


def test_a_snapshot_changed_in_the_database_is_never_handed_out(store: Store, sql: Sql) -> None:
    store.rulesets.activate(ONE)
    sql(
        "UPDATE ruleset_version SET snapshot = replace(snapshot, 'nordbank', 'forgedbank')",
    )
    with pytest.raises(SnapshotMismatch) as raised:
        store.rulesets.snapshot(ONE.hash)
    assert raised.value.ruleset_hash == ONE.hash
    assert ONE.hash in str(raised.value)


def test_a_real_ruleset_snapshot_round_trips(store: Store) -> None:
    import matcher

    ruleset = matcher.ruleset_from_documents([LENDER])
    store.rulesets.activate(ruleset)
    snapshot = store.rulesets.snapshot(ruleset.hash)
    assert snapshot is not None
    assert matcher.ruleset_from_snapshot(snapshot).hash == ruleset.hash


LENDER: dict[str, Any] = {
    "lender_id": "nordbank",
    "name": "Nordbank ASA",
    "markets": ["NO"],
    "requirements": [
        {
            "id": "min_age",
            "rule": {">=": [{"var": "age"}, 23]},
            "reason": {"en": "At least 23.", "nb": "Minst 23.", "sv": "Minst 23."},
        }
    ],
}
