"""The hash chain: it verifies, and every tampering made with raw SQL is found at its record."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from audit import Store, StoredDecision
from audit._chain import payload_digest, record_hash
from audit.models import GENESIS_HASH
from lender_rules.canonical import canonical_json
from tests.audit.audit_testkit import Decision, a_decision

Record = Callable[[int], list[StoredDecision]]
Sql = Callable[..., list[Any]]


def test_an_empty_log_verifies_and_its_head_is_genesis(store: Store) -> None:
    report = store.decisions.verify()
    assert (report.ok, report.checked, report.first_bad_seq) == (True, 0, None)
    assert store.decisions.head() == f"0:{GENESIS_HASH}"


def test_appended_records_form_a_chain_that_verifies(store: Store, record: Record) -> None:
    stored = record(5)
    assert [d.seq for d in stored] == [1, 2, 3, 4, 5]
    assert stored[0].prev_hash == GENESIS_HASH
    for before, after in itertools.pairwise(stored):
        assert after.prev_hash == before.record_hash
    report = store.decisions.verify()
    assert report.ok, report.reason
    assert report.checked == 5
    assert store.decisions.head() == f"5:{stored[-1].record_hash}" == report.head


def test_an_updated_payload_is_found_at_its_record(store: Store, record: Record, sql: Sql) -> None:
    stored = record(5)
    sql("UPDATE decision SET features_json = :f WHERE seq = 3", f='{"age":99}')
    report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.first_bad_decision_id == stored[2].decision_id
    assert report.checked == 2


def test_an_updated_bitmask_is_found_at_its_record(store: Store, record: Record, sql: Sql) -> None:
    record(4)
    sql(
        "UPDATE decision SET outcomes_json = replace(outcomes_json, :old, :new) WHERE seq = 2",
        old='["kvartalbank",1,',
        new='["kvartalbank",0,',
    )
    assert store.decisions.verify().first_bad_seq == 2


def test_a_changed_column_outside_the_json_is_found(store: Store, record: Record, sql: Sql) -> None:
    record(3)
    sql("UPDATE decision SET ruleset_hash = :h WHERE seq = 1", h="cd" * 32)
    assert store.decisions.verify().first_bad_seq == 1


def _rewrite(sql: Sql, seq: int, features: dict[str, Any]) -> None:
    """Change record `seq` and recompute its own digests, as a careful forger would."""
    (row,) = sql("SELECT * FROM decision WHERE seq = :s", s=seq)
    fields = row._asdict()
    fields["features_json"] = canonical_json(features)
    if isinstance(fields["decided_at"], str):  # raw SQL on SQLite gives the stored text
        fields["decided_at"] = datetime.fromisoformat(fields["decided_at"])
    digest = payload_digest(
        **{
            k: fields[k]
            for k in (
                "decision_id",
                "application_id",
                "channel",
                "decided_at",
                "ruleset_hash",
                "features_json",
                "outcomes_json",
                "personal_digest",
                "idempotency_key",
                "request_digest",
                "client",
            )
        }
    )
    own = record_hash(seq, fields["prev_hash"], digest)
    sql(
        "UPDATE decision SET features_json = :f, payload_digest = :p, record_hash = :r "
        "WHERE seq = :s",
        f=fields["features_json"],
        p=digest,
        r=own,
        s=seq,
    )


def test_a_record_rewritten_with_recomputed_digests_is_found_at_that_record(
    store: Store, record: Record, sql: Sql
) -> None:
    stored = record(5)
    _rewrite(sql, 3, {"age": 99})
    report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert report.first_bad_decision_id == stored[2].decision_id


def test_a_deleted_record_is_found_at_its_place(store: Store, record: Record, sql: Sql) -> None:
    record(5)
    sql("DELETE FROM decision WHERE seq = 3")
    report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert "missing" in report.reason


def test_a_deleted_first_record_is_found(store: Store, record: Record, sql: Sql) -> None:
    record(3)
    sql("DELETE FROM decision WHERE seq = 1")
    assert store.decisions.verify().first_bad_seq == 1


def test_a_deleted_last_record_is_found_by_the_chain_head(
    store: Store, record: Record, sql: Sql
) -> None:
    record(5)
    sql("DELETE FROM decision WHERE seq = 5")
    report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 5


def test_a_truncation_that_also_rewinds_the_head_is_found_by_the_external_head(
    store: Store, record: Record, sql: Sql
) -> None:
    stored = record(5)
    kept_outside = store.decisions.head()
    sql("DELETE FROM decision WHERE seq = 5")
    sql("UPDATE chain_head SET seq = 4, hash = :h", h=stored[3].record_hash)
    assert store.decisions.verify().ok  # the database alone cannot tell ...
    report = store.decisions.verify(kept_outside)  # ... the head kept outside can
    assert not report.ok
    assert report.first_bad_seq == 5


def test_two_swapped_records_are_found_at_the_first_of_them(
    store: Store, record: Record, sql: Sql
) -> None:
    stored = record(5)
    sql("UPDATE decision SET seq = -1 WHERE seq = 2")
    sql("UPDATE decision SET seq = 2 WHERE seq = 4")
    sql("UPDATE decision SET seq = 4 WHERE seq = -1")
    report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 2
    assert report.first_bad_decision_id == stored[3].decision_id  # the record now at seq 2


def test_two_adjacent_swapped_records_are_found_at_the_first_of_them(
    store: Store, record: Record, sql: Sql
) -> None:
    record(5)
    sql("UPDATE decision SET seq = -1 WHERE seq = 3")
    sql("UPDATE decision SET seq = 3 WHERE seq = 4")
    sql("UPDATE decision SET seq = 4 WHERE seq = -1")
    assert store.decisions.verify().first_bad_seq == 3


def test_swapped_payloads_are_found_at_the_first_of_them(
    store: Store, record: Record, sql: Sql
) -> None:
    record(5)
    (two,) = sql("SELECT features_json, outcomes_json FROM decision WHERE seq = 2")
    (four,) = sql("SELECT features_json, outcomes_json FROM decision WHERE seq = 4")
    for seq, (features, outcomes) in ((2, four), (4, two)):
        sql(
            "UPDATE decision SET features_json = :f, outcomes_json = :o WHERE seq = :s",
            f=features,
            o=outcomes,
            s=seq,
        )
    assert store.decisions.verify().first_bad_seq == 2


def test_a_head_kept_outside_still_verifies_after_more_appends(
    store: Store, record: Record
) -> None:
    record(3)
    kept_outside = store.decisions.head()
    store.decisions.record(
        application_id="later",
        channel="batch",
        decision=_decision(),
        personal={},
    )
    report = store.decisions.verify(kept_outside)
    assert report.ok, report.reason
    assert report.checked == 4
    bare_hash = kept_outside.split(":")[1]
    assert store.decisions.verify(bare_hash).ok


def test_a_log_rewritten_consistently_is_found_only_with_the_external_head(
    store: Store, record: Record, sql: Sql
) -> None:
    record(4)
    kept_outside = store.decisions.head()
    # The forger rewrites record 2 and re-links every later record and the chain head.
    _rewrite(sql, 2, {"age": 18})
    previous = sql("SELECT record_hash FROM decision WHERE seq = 2")[0][0]
    for seq in (3, 4):
        (row,) = sql("SELECT payload_digest FROM decision WHERE seq = :s", s=seq)
        own = record_hash(seq, previous, row[0])
        sql(
            "UPDATE decision SET prev_hash = :p, record_hash = :r WHERE seq = :s",
            p=previous,
            r=own,
            s=seq,
        )
        previous = own
    sql("UPDATE chain_head SET hash = :h", h=previous)
    assert store.decisions.verify().ok
    report = store.decisions.verify(kept_outside)
    assert not report.ok
    assert report.first_bad_seq == 4
    assert "rewritten" in report.reason


def test_an_unknown_external_head_fails(store: Store, record: Record) -> None:
    record(2)
    report = store.decisions.verify("ef" * 32)
    assert not report.ok
    assert report.first_bad_seq is None
    assert not store.decisions.verify("not a head:at all").ok


def test_a_tampered_chain_head_is_found(store: Store, record: Record, sql: Sql) -> None:
    record(3)
    sql("UPDATE chain_head SET hash = :h", h="12" * 32)
    report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 3


def _decision() -> Decision:
    return a_decision(99)


def test_a_decision_moved_to_another_client_is_found(store: Store, sql: Sql) -> None:
    """The client is chained: who may read a decision cannot be changed unnoticed."""
    for n, client in enumerate(("acme", "zenith"), start=1):
        store.decisions.record(
            application_id=f"app-{n}",
            channel="api",
            decision=a_decision(n),
            personal={},
            client=client,
        )
    assert store.decisions.verify().ok
    sql("UPDATE decision SET client = 'zenith' WHERE seq = 1")
    report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 1
