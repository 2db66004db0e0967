"""DecisionStore: recording and reading decisions, idempotency, erasure, keys, rulesets."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from audit_testkit import Decision, Outcome, Ruleset, a_decision, a_person

from audit import DecisionStore, IdempotencyConflict, InvalidRecord, StoredDecision
from audit._chain import personal_digest

Record = Callable[[int], list[StoredDecision]]
Sql = Callable[..., list[Any]]


def _count(sql: Sql, table: str) -> int:
    return int(sql(f"SELECT count(*) FROM {table}")[0][0])


def test_a_recorded_decision_reads_back_exactly(store: DecisionStore) -> None:
    decision = a_decision(3)  # debt_to_income is +inf, bitmasks use bit 63
    stored = store.record_decision(
        application_id="app-1", channel="api", decision=decision, personal=a_person(1)
    )
    assert stored.seq == 1
    assert stored.features == decision.features
    assert stored.features["debt_to_income"] == float("inf")
    assert stored.outcomes == (
        ("nordbank", 0, 0),
        ("fjordkreditt", 2**63 | 3, 0),
        ("kvartalbank", 1, 2**64 - 1),
    )
    assert stored.decided_at == decision.decided_at
    assert stored.decided_at.utcoffset() is not None
    for read in (
        store.get_decision("app-1"),
        store.get_decision_by_id(stored.decision_id),
        next(store.iter_decisions()),
    ):
        assert read == stored


def test_unknown_decisions_read_as_none(store: DecisionStore) -> None:
    assert store.get_decision("nobody") is None
    assert store.get_decision_by_id("00000000-0000-0000-0000-000000000000") is None
    assert store.find_by_idempotency_key("nope") is None
    assert list(store.iter_decisions()) == []


def test_get_decision_gives_the_latest_decision_of_an_application(store: DecisionStore) -> None:
    store.record_decision(
        application_id="app-1", channel="api", decision=a_decision(1), personal=a_person(1)
    )
    again = store.record_decision(
        application_id="app-1", channel="batch", decision=a_decision(2), personal={}
    )
    assert store.get_decision("app-1") == again
    assert [d.channel for d in store.iter_decisions()] == ["api", "batch"]


def test_the_feature_row_is_stored_as_canonical_json(store: DecisionStore, sql: Sql) -> None:
    store.record_decision(
        application_id="app-1", channel="manual", decision=a_decision(0), personal={}
    )
    ((features, outcomes),) = sql("SELECT features_json, outcomes_json FROM decision")
    assert '"debt_to_income":Infinity' in features
    assert " " not in features
    assert json.loads(features) == a_decision(0).features
    assert json.loads(outcomes)[1] == ["fjordkreditt", 2**63, 0]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "web"}, "channel"),
        ({"application_id": ""}, "application_id"),
        ({"application_id": "x" * 65}, "application_id"),
        ({"decision": replace(a_decision(), decided_at=datetime(2026, 1, 1))}, "decided_at"),
        ({"decision": replace(a_decision(), features={"x": float("nan")})}, "features"),
        ({"decision": replace(a_decision(), features={"x": {1, 2}})}, "features"),
        (
            {"decision": replace(a_decision(), outcomes=(Outcome("a", 2**64, 0),))},
            "outcomes[0].failed",
        ),
        (
            {"decision": replace(a_decision(), outcomes=(Outcome("a", 0, -1),))},
            "outcomes[0].unknown",
        ),
        (
            {"decision": replace(a_decision(), outcomes=(Outcome("a", True, 0),))},
            "outcomes[0].failed",
        ),
        ({"personal": {"when": datetime(2026, 1, 1)}}, "personal"),
        ({"idempotency_key": ""}, "idempotency_key"),
    ],
)
def test_a_decision_that_cannot_be_recorded_is_refused_and_nothing_is_stored(
    store: DecisionStore, sql: Sql, change: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {
        "application_id": "app-1",
        "channel": "api",
        "decision": a_decision(),
        "personal": a_person(),
    }
    arguments.update(change)
    with pytest.raises(InvalidRecord) as raised:
        store.record_decision(**arguments)
    assert raised.value.field == field
    assert _count(sql, "decision") == 0
    assert _count(sql, "personal_data") == 0


def test_personal_data_is_kept_apart_from_the_decision(store: DecisionStore, sql: Sql) -> None:
    person = a_person(7)
    stored = store.record_decision(
        application_id="app-7", channel="api", decision=a_decision(7), personal=person
    )
    decision_row = " ".join(str(v) for v in sql("SELECT * FROM decision")[0])
    assert person["national_id"] not in decision_row
    assert store.get_personal_data("app-7") == person
    ((salt, payload),) = sql("SELECT salt, payload_json FROM personal_data")
    assert stored.personal_digest == personal_digest(salt, payload)


def test_a_decision_without_personal_data_keeps_the_stored_one(
    store: DecisionStore, sql: Sql
) -> None:
    first = store.record_decision(
        application_id="app-1", channel="api", decision=a_decision(1), personal=a_person(1)
    )
    same = store.record_decision(
        application_id="app-1", channel="api", decision=a_decision(1), personal=a_person(1)
    )
    rescored = store.record_decision(
        application_id="app-1", channel="batch", decision=a_decision(1), personal={}
    )
    assert same.personal_digest == first.personal_digest  # the salt is kept per application
    assert rescored.personal_digest is None
    assert store.get_personal_data("app-1") == a_person(1)
    assert _count(sql, "personal_data") == 1


def test_erasure_removes_the_personal_payload_and_the_chain_still_verifies(
    store: DecisionStore, record: Record, sql: Sql
) -> None:
    stored = record(3)
    assert store.erase_personal_data("app-2") is True
    assert store.get_personal_data("app-2") is None
    assert sql("SELECT count(*) FROM personal_data WHERE application_id = 'app-2'")[0][0] == 0
    assert store.get_personal_data("app-1") == a_person(1)
    assert store.get_decision("app-2") == stored[1]  # the decision and its digests stay
    report = store.verify()
    assert report.ok, report.reason
    assert store.erase_personal_data("app-2") is False


def test_the_same_idempotency_key_and_body_return_the_stored_decision(
    store: DecisionStore, sql: Sql
) -> None:
    first = store.record_decision(
        application_id="app-1",
        channel="api",
        decision=a_decision(1),
        personal=a_person(1),
        idempotency_key="key-1",
        request_digest="d1",
    )
    again = store.record_decision(
        application_id="app-2",
        channel="api",
        decision=a_decision(2),
        personal=a_person(2),
        idempotency_key="key-1",
        request_digest="d1",
    )
    assert again == first
    assert store.find_by_idempotency_key("key-1") == first
    assert _count(sql, "decision") == 1
    assert store.get_personal_data("app-2") is None
    assert (first.idempotency_key, first.request_digest) == ("key-1", "d1")


def test_the_same_idempotency_key_with_another_body_is_a_conflict(
    store: DecisionStore, sql: Sql
) -> None:
    first = store.record_decision(
        application_id="app-1",
        channel="api",
        decision=a_decision(1),
        personal=a_person(1),
        idempotency_key="key-1",
        request_digest="d1",
    )
    with pytest.raises(IdempotencyConflict) as raised:
        store.record_decision(
            application_id="app-2",
            channel="api",
            decision=a_decision(2),
            personal=a_person(2),
            idempotency_key="key-1",
            request_digest="d2",
        )
    assert raised.value.decision_id == first.decision_id
    assert raised.value.key == "key-1"
    assert _count(sql, "decision") == 1
    assert _count(sql, "personal_data") == 1


def test_api_keys_are_stored_hashed_and_give_their_role(store: DecisionStore, sql: Sql) -> None:
    key_id, secret = store.add_api_key("frontend")
    admin_id, admin_secret = store.add_api_key("admin")
    assert store.role_of_api_key(secret) == "frontend"
    assert store.role_of_api_key(admin_secret) == "admin"
    assert store.role_of_api_key(secret + "x") is None
    assert store.role_of_api_key("") is None
    table = repr(sql("SELECT * FROM api_key"))
    assert secret not in table
    assert secret.split(".", 1)[1] not in table
    assert key_id in table
    assert store.revoke_api_key(key_id) is True
    assert store.role_of_api_key(secret) is None
    assert store.revoke_api_key(key_id) is False
    assert store.role_of_api_key(admin_secret) == "admin"
    assert admin_id != key_id


def test_an_unknown_role_is_refused(store: DecisionStore) -> None:
    with pytest.raises(InvalidRecord) as raised:
        store.add_api_key("root")
    assert raised.value.field == "role"


ONE = Ruleset({"nordbank": {"lender_id": "nordbank", "requirements": []}})
TWO = Ruleset({"sorbank": {"lender_id": "sorbank", "requirements": []}})


def test_activating_a_ruleset_stores_its_snapshot_and_makes_it_active(
    store: DecisionStore,
) -> None:
    assert store.active_ruleset_version() is None
    assert store.list_ruleset_versions() == []
    version = store.activate_ruleset(ONE)
    assert (version.hash, version.active) == (ONE.hash, True)
    assert store.active_ruleset_version() == version
    assert store.ruleset_snapshot(ONE.hash) == ONE.snapshot()
    assert store.ruleset_snapshot("00" * 32) is None
    assert store.list_ruleset_versions() == [version]


def test_activating_the_active_ruleset_again_changes_nothing(
    store: DecisionStore, sql: Sql
) -> None:
    first = store.activate_ruleset(ONE)
    again = store.activate_ruleset(ONE)
    assert again == first
    assert _count(sql, "ruleset_activation") == 1
    assert _count(sql, "ruleset_version") == 1


def test_an_older_ruleset_can_be_activated_again(store: DecisionStore) -> None:
    store.activate_ruleset(ONE)
    store.activate_ruleset(TWO)
    assert store.active_ruleset_version().hash == TWO.hash  # type: ignore[union-attr]
    versions = {v.hash: v.active for v in store.list_ruleset_versions()}
    assert versions == {ONE.hash: False, TWO.hash: True}
    store.activate_ruleset(ONE)
    assert store.active_ruleset_version().hash == ONE.hash  # type: ignore[union-attr]
    assert store.ruleset_snapshot(TWO.hash) == TWO.snapshot()


def test_a_ruleset_whose_hash_is_not_its_snapshots_is_refused(
    store: DecisionStore, sql: Sql
) -> None:
    class Forged(Ruleset):
        @property
        def hash(self) -> str:
            return "00" * 32

    with pytest.raises(InvalidRecord):
        store.activate_ruleset(Forged(ONE.documents))
    assert _count(sql, "ruleset_version") == 0


def test_a_real_ruleset_snapshot_round_trips(store: DecisionStore) -> None:
    import matcher

    ruleset = matcher.ruleset_from_documents([LENDER])
    store.activate_ruleset(ruleset)
    snapshot = store.ruleset_snapshot(ruleset.hash)
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


def test_ping_answers_when_the_database_does(store: DecisionStore) -> None:
    assert store.ping() is True


def test_stored_decisions_are_frozen(store: DecisionStore) -> None:
    stored = store.record_decision(
        application_id="a",
        channel="api",
        decision=Decision("ab" * 32, a_decision().decided_at, {}, ()),
        personal={},
    )
    with pytest.raises(AttributeError):
        stored.seq = 2  # type: ignore[misc]


def test_many_decisions_are_stored_in_chunks_and_chain_on(
    store: DecisionStore, record: Record, sql: Sql
) -> None:
    record(2)
    stored = store.record_decisions(
        channel="batch",
        decisions=((f"app-{i}", a_decision(i)) for i in range(1, 12)),
        chunk=5,
    )
    assert stored == 11
    assert _count(sql, "decision") == 13
    assert [d.channel for d in store.iter_decisions()] == ["api"] * 2 + ["batch"] * 11
    report = store.verify()
    assert report.ok, report.reason
    assert report.checked == 13


def test_many_decisions_are_checked_like_one(store: DecisionStore, sql: Sql) -> None:
    bad = replace(a_decision(), outcomes=(Outcome("a", -1, 0),))
    with pytest.raises(InvalidRecord):
        store.record_decisions(channel="batch", decisions=[("app-1", bad)])
    assert _count(sql, "decision") == 0
