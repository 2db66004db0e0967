"""DecisionLog: recording and reading decisions, idempotency, personal data and erasure."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import IdempotencyConflict, InvalidRecord, Store, StoredDecision
from audit._chain import personal_digest
from audit.decisions import _outcomes_json
from lender_rules.canonical import canonical_json
from tests.audit.audit_testkit import Decision, Outcome, a_decision, a_person, count

Record = Callable[[int], list[StoredDecision]]
Sql = Callable[..., list[Any]]


def test_a_recorded_decision_reads_back_exactly(store: Store, sql: Sql) -> None:
    decision = a_decision(3)  # debt_to_income is +inf, bitmasks use bit 63
    stored = store.decisions.record(
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
    assert sql("SELECT seq, decision_id FROM decision") == [(1, stored.decision_id)]
    assert store.decisions.latest("app-1") == stored
    assert list(store.decisions.stream()) == [stored]


def test_an_unknown_application_reads_as_none_and_an_empty_log_streams_nothing(
    store: Store,
) -> None:
    assert store.decisions.latest("nobody") is None
    assert list(store.decisions.stream()) == []


def test_latest_gives_the_latest_decision_of_an_application(store: Store) -> None:
    store.decisions.record(
        application_id="app-1", channel="api", decision=a_decision(1), personal=a_person(1)
    )
    again = store.decisions.record(
        application_id="app-1", channel="batch", decision=a_decision(2), personal={}
    )
    assert store.decisions.latest("app-1") == again
    assert [d.channel for d in store.decisions.stream()] == ["api", "batch"]


def test_the_feature_row_is_stored_as_canonical_json(store: Store, sql: Sql) -> None:
    store.decisions.record(
        application_id="app-1", channel="manual", decision=a_decision(0), personal={}
    )
    ((features, outcomes),) = sql("SELECT features_json, outcomes_json FROM decision")
    assert '"debt_to_income":"Infinity"' in features
    assert " " not in features
    assert json.loads(features) == {**a_decision(0).features, "debt_to_income": "Infinity"}
    assert json.loads(outcomes)[1] == ["fjordkreditt", 2**63, 0]


def test_a_stored_infinity_is_valid_json_the_database_can_parse(store: Store, sql: Sql) -> None:
    """+inf (debt_to_income without income) is stored as the string "Infinity": strict JSON
    parsers (and PostgreSQL's jsonb) read the stored row, and it reads back as +inf."""
    store.decisions.record(
        application_id="app-1", channel="api", decision=a_decision(0), personal={}
    )
    ((features,),) = sql("SELECT features_json FROM decision")
    json.loads(features, parse_constant=_not_json)
    if store.engine.dialect.name == "postgresql":
        ((parsed,),) = sql("SELECT CAST(features_json AS jsonb) ->> 'debt_to_income' FROM decision")
        assert parsed == "Infinity"
    (stored,) = store.decisions.stream()
    assert stored.features["debt_to_income"] == float("inf")


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


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
        # keys are unique per client (and looked up by client and key)
        ({"idempotency_key": "k", "client": None}, "client"),
    ],
)
def test_a_decision_that_cannot_be_recorded_is_refused_and_nothing_is_stored(
    store: Store, sql: Sql, change: dict[str, Any], field: str
) -> None:
    arguments: dict[str, Any] = {
        "application_id": "app-1",
        "channel": "api",
        "decision": a_decision(),
        "personal": a_person(),
    }
    arguments.update(change)
    with pytest.raises(InvalidRecord) as raised:
        store.decisions.record(**arguments)
    assert raised.value.field == field
    assert count(sql, "decision") == 0
    assert count(sql, "personal_data") == 0


def test_personal_data_is_kept_apart_from_the_decision(store: Store, sql: Sql) -> None:
    person = a_person(7)
    stored = store.decisions.record(
        application_id="app-7", channel="api", decision=a_decision(7), personal=person
    )
    decision_row = " ".join(str(v) for v in sql("SELECT * FROM decision")[0])
    assert person["national_id"] not in decision_row
    assert store.decisions.personal_data("app-7") == person
    ((salt, sealed, key_id),) = sql("SELECT salt, payload_json, key_id FROM personal_data")
    assert key_id == store.keys.current_key_id
    assert person["name"] not in sealed and person["email"] not in sealed
    clear = store.keys.open(key_id, sealed, "app-7")
    assert json.loads(clear) == person
    assert stored.personal_digest == personal_digest(salt, clear)


def test_a_decision_without_personal_data_keeps_the_stored_one(store: Store, sql: Sql) -> None:
    first = store.decisions.record(
        application_id="app-1", channel="api", decision=a_decision(1), personal=a_person(1)
    )
    same = store.decisions.record(
        application_id="app-1", channel="api", decision=a_decision(1), personal=a_person(1)
    )
    rescored = store.decisions.record(
        application_id="app-1", channel="batch", decision=a_decision(1), personal={}
    )
    assert same.personal_digest == first.personal_digest  # the salt is kept per application
    assert rescored.personal_digest is None
    assert store.decisions.personal_data("app-1") == a_person(1)
    assert count(sql, "personal_data") == 1


def test_erasure_removes_the_personal_payload_and_the_chain_still_verifies(
    store: Store, record: Record, sql: Sql
) -> None:
    stored = record(3)
    assert store.decisions.erase_personal_data("app-2", reason="GDPR art. 17 request") is True
    assert store.decisions.personal_data("app-2") is None
    assert sql("SELECT count(*) FROM personal_data WHERE application_id = 'app-2'")[0][0] == 0
    assert store.decisions.personal_data("app-1") == a_person(1)
    assert store.decisions.latest("app-2") == stored[1]  # the decision and its digests stay
    report = store.decisions.verify()
    assert report.ok, report.reason
    assert store.decisions.erase_personal_data("app-2", reason="again") is False


def test_an_erasure_is_recorded_with_when_why_and_up_to_which_record(
    store: Store, record: Record, sql: Sql
) -> None:
    record(3)
    store.decisions.erase_personal_data("app-2", reason="GDPR art. 17 request")
    ((application_id, decision_seq, reason, erased_at),) = sql(
        "SELECT application_id, decision_seq, reason, erased_at FROM personal_erasure"
    )
    assert (application_id, decision_seq, reason) == ("app-2", 2, "GDPR art. 17 request")
    assert erased_at is not None
    report = store.verify()
    assert report.ok, (report.chain.reason, report.findings)
    assert (report.payloads, report.erased) == (2, 1)
    assert report.heads.erasures.startswith("1:")


@pytest.mark.parametrize("reason", ["", "   "])
def test_an_erasure_needs_a_reason(store: Store, record: Record, reason: str) -> None:
    record(1)
    with pytest.raises(InvalidRecord) as raised:
        store.decisions.erase_personal_data("app-1", reason=reason)
    assert raised.value.field == "reason"
    assert store.decisions.personal_data("app-1") == a_person(1)


def test_the_same_idempotency_key_and_body_return_the_stored_decision(
    store: Store, sql: Sql
) -> None:
    first = store.decisions.record(
        application_id="app-1",
        channel="api",
        decision=a_decision(1),
        personal=a_person(1),
        idempotency_key="key-1",
        request_digest="d1",
    )
    again = store.decisions.record(
        application_id="app-2",
        channel="api",
        decision=a_decision(2),
        personal=a_person(2),
        idempotency_key="key-1",
        request_digest="d1",
    )
    assert again == first
    assert sql("SELECT decision_id, idempotency_key, request_digest FROM decision") == [
        (first.decision_id, "key-1", "d1")
    ]
    assert store.decisions.personal_data("app-2") is None
    assert (first.idempotency_key, first.request_digest) == ("key-1", "d1")


def test_the_same_idempotency_key_with_another_body_is_a_conflict(store: Store, sql: Sql) -> None:
    first = store.decisions.record(
        application_id="app-1",
        channel="api",
        decision=a_decision(1),
        personal=a_person(1),
        idempotency_key="key-1",
        request_digest="d1",
    )
    with pytest.raises(IdempotencyConflict) as raised:
        store.decisions.record(
            application_id="app-2",
            channel="api",
            decision=a_decision(2),
            personal=a_person(2),
            idempotency_key="key-1",
            request_digest="d2",
        )
    assert raised.value.decision_id == first.decision_id
    assert raised.value.key == "key-1"
    assert count(sql, "decision") == 1
    assert count(sql, "personal_data") == 1


def test_stored_decisions_are_frozen(store: Store) -> None:
    stored = store.decisions.record(
        application_id="a",
        channel="api",
        decision=Decision("ab" * 32, a_decision().decided_at, {}, ()),
        personal={},
    )
    with pytest.raises(AttributeError):
        stored.seq = 2  # type: ignore[misc]


def test_many_decisions_are_stored_in_chunks_and_chain_on(
    store: Store, record: Record, sql: Sql
) -> None:
    record(2)
    stored = store.decisions.record_many(
        channel="batch",
        decisions=((f"app-{i}", a_decision(i)) for i in range(1, 12)),
        chunk=5,
    )
    assert stored == 11
    assert count(sql, "decision") == 13
    assert [d.channel for d in store.decisions.stream()] == ["api"] * 2 + ["batch"] * 11
    report = store.decisions.verify()
    assert report.ok, report.reason
    assert report.checked == 13


def test_many_decisions_are_checked_like_one(store: Store, sql: Sql) -> None:
    bad = replace(a_decision(), outcomes=(Outcome("a", -1, 0),))
    with pytest.raises(InvalidRecord):
        store.decisions.record_many(channel="batch", decisions=[("app-1", bad)])
    assert count(sql, "decision") == 0


# --- clients -------------------------------------------------------------------------------


def test_a_decision_records_its_client_and_lookups_can_be_limited_to_it(store: Store) -> None:
    mine = store.decisions.record(
        application_id="app-1",
        channel="api",
        decision=a_decision(1),
        personal=a_person(1),
        client="acme",
    )
    assert mine.client == "acme"
    assert store.decisions.latest("app-1", client="acme") == mine
    assert store.decisions.latest("app-1", client="other") is None
    assert store.decisions.latest("app-1") == mine


def test_batch_decisions_belong_to_no_client(store: Store) -> None:
    store.decisions.record_many(channel="batch", decisions=[("app-1", a_decision(1))])
    assert store.decisions.latest("app-1", client="default") is None
    found = store.decisions.latest("app-1")
    assert found is not None and found.client is None


def test_idempotency_keys_are_scoped_per_client(store: Store, sql: Sql) -> None:
    def record(client: str, digest: str, i: int) -> StoredDecision:
        return store.decisions.record(
            application_id=f"app-{client}-{i}",
            channel="api",
            decision=a_decision(i),
            personal=a_person(i),
            idempotency_key="retry-1",
            request_digest=digest * 64,
            client=client,
        )

    first = record("acme", "a", 1)
    other = record("zenith", "b", 2)  # same key, another client, another body: no conflict
    replay = record("acme", "a", 3)
    assert other.decision_id != first.decision_id
    assert replay == first
    with pytest.raises(IdempotencyConflict):
        record("zenith", "c", 4)
    assert count(sql, "decision") == 2
    assert store.decisions.verify().ok


@pytest.mark.parametrize("client", ["", "Acme", "a b", "-acme", "x" * 65, "acme\n"])
def test_an_invalid_client_name_is_refused_and_nothing_is_stored(
    store: Store, sql: Sql, client: str
) -> None:
    with pytest.raises(InvalidRecord) as raised:
        store.decisions.record(
            application_id="app-1",
            channel="api",
            decision=a_decision(1),
            personal=a_person(1),
            client=client,
        )
    assert raised.value.field == "client"
    assert count(sql, "decision") == count(sql, "personal_data") == 0


LENDER_IDS = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
    st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12),
)


@given(
    st.lists(
        st.tuples(LENDER_IDS, st.integers(0, 2**64 - 1), st.integers(0, 2**64 - 1)), max_size=6
    )
)
def test_the_outcome_column_is_canonical_json_on_its_fast_path_and_off_it(
    outcomes: list[tuple[str, int, int]],
) -> None:
    decision = replace(a_decision(1), outcomes=tuple(Outcome(*o) for o in outcomes))
    assert _outcomes_json(decision) == canonical_json([list(o) for o in outcomes])
