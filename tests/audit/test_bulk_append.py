"""Batch decisions appended in bulk (`store.batch_decisions`, `audit._bulk_append`): chained
exactly as single appends are (`audit verify` walks them alike and finds them changed),
idempotent by (application, ruleset) under the chain lock; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audit import BulkRows, InvalidRecord, Store, StoreUnavailable, _bulk_append
from audit._chain import PayloadDigests, linking, payload_digest, record_hash, record_hashes
from audit.ids import time_ordered_ids
from audit.models import GENESIS_HASH
from lender_rules.canonical import canonical_json
from tests.audit.audit_testkit import RULESET_HASH, a_decision, a_person, count

WHEN = datetime(2026, 11, 25, 12, 30, 1, 123456, tzinfo=UTC)


def _shared(channel: str) -> dict[str, Any]:
    """The payload fields a batch's records share, as `PayloadDigests` takes them (but the
    client)."""
    return {
        "channel": channel,
        "decided_at": WHEN,
        "ruleset_hash": RULESET_HASH,
        "personal_digest": None,
        "idempotency_key": None,
        "request_digest": None,
    }


def rows(*application_ids: str, ruleset_hash: str = RULESET_HASH) -> BulkRows:
    """Batch records of `application_ids`, each with a feature row and outcomes of its own."""
    return BulkRows(
        channel="batch",
        ruleset_hash=ruleset_hash,
        decided_at=WHEN,
        application_ids=list(application_ids),
        features_json=[
            canonical_json({"age": 20 + i, "market": "NO", "note": 'Ø "q" \\ \n'})
            for i, _ in enumerate(application_ids)
        ],
        outcomes_json=[
            canonical_json([["nordbank", i, 0], ["fjordkreditt", 0, 2**64 - 1]])
            for i, _ in enumerate(application_ids)
        ],
    )


def test_bulk_records_chain_after_and_before_single_ones_and_verify(store: Store) -> None:
    first = store.decisions.record(
        application_id="app-api-1", channel="api", decision=a_decision(1), personal=a_person(1)
    )
    written = store.batch_decisions.append(rows("a", "b", "c", "d", "e"), per_transaction=2)
    last = store.decisions.record(
        application_id="app-api-2", channel="api", decision=a_decision(2), personal=a_person(2)
    )
    assert (written.recorded, written.already) == (5, 0)
    assert (first.seq, last.seq) == (1, 7)
    report = store.verify()
    assert report.ok, report.chain.reason
    assert report.chain.checked == 7

    stored = store.decisions.history("c")
    assert len(stored) == 1
    record = stored[0]
    assert (record.seq, record.channel, record.ruleset_hash) == (4, "batch", RULESET_HASH)
    assert record.decided_at == WHEN
    assert record.features == {"age": 22, "market": "NO", "note": 'Ø "q" \\ \n'}
    assert record.outcomes == (("nordbank", 2, 0), ("fjordkreditt", 0, 2**64 - 1))
    assert (record.client, record.personal_digest, record.idempotency_key) == (None, None, None)
    assert uuid.UUID(record.decision_id).version == 7
    assert record.payload_digest == payload_digest(
        decision_id=record.decision_id,
        application_id="c",
        channel="batch",
        decided_at=WHEN,
        ruleset_hash=RULESET_HASH,
        features_json=rows("a", "b", "c").features_json[2],
        outcomes_json=rows("a", "b", "c").outcomes_json[2],
        personal_digest=None,
        idempotency_key=None,
        request_digest=None,
        client=None,
    )


def test_each_application_is_recorded_once_per_ruleset(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    assert store.batch_decisions.append(rows("a", "b", "a")).recorded == 2
    again = store.batch_decisions.append(rows("b", "c", "a", "c"), per_transaction=1)
    assert (again.recorded, again.already) == (1, 3)
    other_rules = store.batch_decisions.append(rows("a", ruleset_hash="cd" * 32))
    assert other_rules.recorded == 1
    counted = sql(
        "SELECT application_id, ruleset_hash, count(*) FROM decision "
        "GROUP BY application_id, ruleset_hash ORDER BY application_id, ruleset_hash"
    )
    assert [tuple(row) for row in counted] == [
        ("a", RULESET_HASH, 1),
        ("a", "cd" * 32, 1),
        ("b", RULESET_HASH, 1),
        ("c", RULESET_HASH, 1),
    ]
    assert store.verify().ok


def test_a_bulk_record_changed_afterwards_is_found_by_verify(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    store.batch_decisions.append(rows("a", "b", "c"))
    features = json.dumps({"age": 99, "market": "NO", "note": ""}, separators=(",", ":"))
    sql("UPDATE decision SET features_json = :f WHERE application_id = 'b'", f=features)
    report = store.decisions.verify()
    assert not report.ok
    assert report.first_bad_seq == 2
    assert report.reason == "record 2 was changed: its payload does not match its payload digest"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"channel": "carrier-pigeon"}, "channel"),
        ({"decided_at": datetime(2026, 11, 25)}, "decided_at"),
        ({"ruleset_hash": "short"}, "ruleset_hash"),
        ({"application_ids": ["a", "x" * 65]}, "application_ids[1]"),
        ({"application_ids": ["a", ""]}, "application_ids[1]"),
        ({"features_json": ["{}"]}, "features_json"),
        ({"outcomes_json": ["[]", ""]}, "outcomes_json[1]"),
        ({"subjects": [(("applicant", "1"),), (("boss", "2"),)]}, "subjects[1]"),
        ({"subjects": [(), (("applicant", "1"), ("co_applicant", "x" * 65))]}, "subjects[1]"),
        ({"subjects": [(("applicant",),), ()]}, "subjects[0]"),
        ({"subjects": [(("applicant", 7),), ()]}, "subjects[0]"),
        ({"subjects": [()]}, "subjects"),
    ],
)
def test_an_invalid_batch_is_refused_naming_the_field_and_nothing_is_stored(
    store: Store, sql: Callable[..., list[Any]], change: dict[str, Any], field: str
) -> None:
    good = rows("a", "b")
    bad = BulkRows(**{name: getattr(good, name) for name in good.__slots__} | change)
    with pytest.raises(InvalidRecord) as refused:
        store.batch_decisions.append(bad)
    assert refused.value.field == field
    assert count(sql, "decision") == 0
    assert store.decisions.head().startswith("0:")


_TEXTS = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@given(
    application_id=_TEXTS,
    features_json=_TEXTS,
    outcomes_json=_TEXTS,
    channel=st.sampled_from(["batch", "api"]),
    client=st.none() | _TEXTS,
)
def test_payload_digests_equal_payload_digest_for_any_texts(
    application_id: str, features_json: str, outcomes_json: str, channel: str, client: str | None
) -> None:
    shared = _shared(channel) | {"client": client}
    varying = ("application_id", "decision_id", "features_json", "outcomes_json")
    decision_id = str(uuid.uuid4())
    fast = PayloadDigests(varying, **shared)
    assert fast.digest(application_id, decision_id, features_json, outcomes_json) == (
        payload_digest(
            application_id=application_id,
            decision_id=decision_id,
            features_json=features_json,
            outcomes_json=outcomes_json,
            **shared,
        )
    )


def test_payload_digests_refuse_a_lone_surrogate_and_a_field_the_payload_lacks() -> None:
    shared = _shared("batch")
    fast = PayloadDigests(
        ("application_id", "decision_id", "features_json", "outcomes_json"), **shared
    )
    with pytest.raises(ValueError, match="lone surrogate"):
        fast.digest("a", "b", "{}", "\ud800")
    with pytest.raises(ValueError, match="text field"):  # version 1 payloads name no client
        PayloadDigests(
            ("client",),
            **shared,
            version=1,
            application_id="a",
            decision_id="b",
            features_json="{}",
            outcomes_json="[]",
        )


def test_the_people_of_bulk_records_are_linked_by_keyed_hash_only(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    people = [
        (("applicant", "01019012345"),),
        (("applicant", "01019012345"), ("co_applicant", "199001011234")),
        (),
    ]
    given = rows("a", "b", "c")
    written = store.batch_decisions.append(
        BulkRows(**{name: getattr(given, name) for name in given.__slots__} | {"subjects": people})
    )
    assert written.recorded == 3
    assert [link.application_id for link in store.subjects.links("01019012345")] == ["a", "b"]
    assert [(x.application_id, x.role) for x in store.subjects.links("199001011234")] == [
        ("b", "co_applicant")
    ]
    stored = sql("SELECT subject_hash FROM subject_link")
    assert len(stored) == 3
    assert not any("01019012345" in row[0] or "199001011234" in row[0] for row in stored)
    again = store.batch_decisions.append(
        BulkRows(**{name: getattr(given, name) for name in given.__slots__} | {"subjects": people})
    )
    assert (again.recorded, count(sql, "subject_link")) == (0, 3)


def test_links_already_there_are_kept_and_the_missing_ones_added(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    """A batch under another ruleset records the same applications again: the links their
    first decisions made stay (none twice), a person new to an application is linked."""
    first = rows("a", "b")
    store.batch_decisions.append(
        BulkRows(
            **{name: getattr(first, name) for name in first.__slots__}
            | {"subjects": [(("applicant", "01019012345"),), (("applicant", "02029012345"),)]}
        )
    )
    second = rows("a", "b", "c", ruleset_hash="cd" * 32)
    written = store.batch_decisions.append(
        BulkRows(
            **{name: getattr(second, name) for name in second.__slots__}
            | {
                "subjects": [
                    (("applicant", "01019012345"),),
                    (("applicant", "02029012345"), ("co_applicant", "03039012345")),
                    (("applicant", "01019012345"), ("applicant", "01019012345")),
                ]
            }
        )
    )
    assert written.recorded == 3
    assert count(sql, "subject_link") == 4
    assert [x.application_id for x in store.subjects.links("01019012345")] == ["a", "c"]
    assert [(x.application_id, x.role) for x in store.subjects.links("03039012345")] == [
        ("b", "co_applicant")
    ]
    assert store.verify().ok


@given(
    records=st.lists(st.tuples(_TEXTS, _TEXTS, _TEXTS), max_size=8),
    client=st.none() | _TEXTS,
)
def test_payload_digests_of_many_records_equal_payload_digest_of_each(
    records: list[tuple[str, str, str]], client: str | None
) -> None:
    shared = _shared("batch") | {"client": client}
    ids = time_ordered_ids(len(records))
    fast = PayloadDigests(
        ("application_id", "decision_id", "features_json", "outcomes_json"), **shared
    )
    columns = [[record[k] for record in records] for k in range(3)]
    assert fast.digests(columns[0], ids, columns[1], columns[2]) == [
        payload_digest(
            application_id=application_id,
            decision_id=decision_id,
            features_json=features_json,
            outcomes_json=outcomes_json,
            **shared,
        )
        for (application_id, features_json, outcomes_json), decision_id in zip(
            records, ids, strict=True
        )
    ]


@pytest.mark.parametrize(
    "odd",
    [None, 'q"uote', "back\\slash", "tab\t", "nul\x00", "del\x7f", "line\u2028", "Øre", "\ud800"],
)
def test_payload_digests_of_plain_ids_and_one_odd_one_equal_payload_digest(
    odd: str | None,
) -> None:
    """Ids that need no escape are written as they are, between quotes; one that does (or
    a character JSON writes as it is but is not printable) among them changes nothing;
    a lone surrogate is refused."""
    shared = _shared("batch")
    fast = PayloadDigests(
        ("application_id", "decision_id", "features_json", "outcomes_json"), **shared
    )
    applications = [f"app-{i}" for i in range(50)]
    if odd is not None:
        applications[37] = odd
    ids = time_ordered_ids(len(applications))
    features = [canonical_json({"age": i, "market": "NO"}) for i in range(50)]
    outcomes = ["[]"] * 50
    expected = [
        payload_digest(application_id=a, decision_id=d, features_json=f, outcomes_json=o, **shared)
        for a, d, f, o in zip(applications, ids, features, outcomes, strict=True)
        if odd != "\ud800"
    ]
    if odd == "\ud800":
        with pytest.raises(ValueError, match="lone surrogate"):
            fast.digests(applications, ids, features, outcomes)
    else:
        assert fast.digests(applications, ids, features, outcomes) == expected


@given(seq=st.integers(0, 2**40), digests=st.lists(st.text("0123456789abcdef"), max_size=6))
def test_record_hashes_chain_record_hash(seq: int, digests: list[str]) -> None:
    prev, expected = GENESIS_HASH, []
    for k, digest in enumerate(digests, start=seq + 1):
        prev = record_hash(k, prev, digest)
        expected.append(prev)
    assert record_hashes(seq, GENESIS_HASH, digests) == expected
    found: list[str] = []
    linked = linking(seq, GENESIS_HASH, digests, found)
    for k, own in enumerate(linked):  # one at a time, each kept as it is made
        assert own == expected[k]
        assert found == expected[: k + 1]
    assert found == expected


def test_bulk_records_whose_texts_hold_copy_separators_are_stored_as_given(store: Store) -> None:
    """Tabs, newlines, carriage returns and backslashes in any text (COPY's separators and
    escape) are stored as they are, among many plain ones (more than one of the CSV writer's
    batches)."""
    odd = ["a\tb", "c\nd", "e\\f", "g\rh\\N", "\\."]
    many = [f"plain-{i}" for i in range(5_003)]
    given_rows = rows(*odd, *many)
    given_rows = BulkRows(
        channel="batch",
        ruleset_hash=RULESET_HASH,
        decided_at=WHEN,
        application_ids=given_rows.application_ids,
        features_json=[text.replace('"q"', '"\t\\\\N"') for text in given_rows.features_json],
        outcomes_json=given_rows.outcomes_json,
    )
    written = store.batch_decisions.append(given_rows)
    assert (written.recorded, written.already) == (len(odd) + len(many), 0)
    report = store.verify()
    assert report.ok, report.chain.reason
    for index, application_id in enumerate([*odd, many[-1]]):
        (record,) = store.decisions.history(application_id)
        position = given_rows.application_ids.index(application_id)
        assert record.features == json.loads(given_rows.features_json[position]), index
        assert record.decided_at == WHEN


def test_parts_are_committed_in_order_and_an_invalid_part_stops_the_run_before_it(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    """`append_parts` writes each part in a transaction of its own while the next is made
    ready: an invalid part raises before anything of it is written, the parts before it stay
    committed, in order, and the chain verifies; the run started again records the rest."""
    bad = rows("x")
    parts = [
        rows("a", "b"),
        rows("c"),
        BulkRows(**{name: getattr(bad, name) for name in bad.__slots__} | {"channel": "pigeon"}),
        rows("d"),
    ]
    with pytest.raises(InvalidRecord) as refused:
        store.batch_decisions.append_parts(iter(parts))
    assert refused.value.field == "channel"
    stored = sql("SELECT seq, application_id FROM decision ORDER BY seq")
    assert [tuple(row) for row in stored] == [(1, "a"), (2, "b"), (3, "c")]
    assert store.verify().ok
    again = store.batch_decisions.append_parts([rows("a", "b"), rows("c", "d")])
    assert (again.recorded, again.already) == (1, 3)
    assert store.decisions.head().startswith("4:")
    assert store.verify().ok


def test_a_failure_while_parts_are_made_ready_keeps_the_parts_written_before(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    def parts() -> Any:
        yield rows("a", "b")
        yield rows("c")
        raise RuntimeError("the input ended early")

    with pytest.raises(RuntimeError, match="ended early"):
        store.batch_decisions.append_parts(parts())
    assert count(sql, "decision") == 3
    assert store.verify().ok


def test_a_part_that_fails_to_be_written_stops_the_run_and_nothing_after_it_is_written(
    store: Store, sql: Callable[..., list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parts are made ready ahead of the writer: when writing one fails, its error is
    raised, the parts before it stay committed and none after it is written, however many
    were ready; the run started again records the rest."""
    write = _bulk_append.write
    calls: list[int] = []

    def failing_second(*args: Any, **kwargs: Any) -> tuple[int, int]:
        calls.append(len(calls))
        if len(calls) == 2:
            raise StoreUnavailable("record_batch_decisions", "the connection was lost")
        return write(*args, **kwargs)

    monkeypatch.setattr(_bulk_append, "write", failing_second)
    parts = [rows("a"), rows("b"), rows("c"), rows("d"), rows("e")]
    with pytest.raises(StoreUnavailable):
        store.batch_decisions.append_parts(iter(parts))
    assert calls == [0, 1]
    stored = sql("SELECT seq, application_id FROM decision ORDER BY seq")
    assert [tuple(row) for row in stored] == [(1, "a")]
    assert store.verify().ok
    monkeypatch.setattr(_bulk_append, "write", write)
    again = store.batch_decisions.append_parts(parts)
    assert (again.recorded, again.already) == (4, 1)
    assert store.verify().ok


def test_the_interpreters_thread_switch_interval_is_restored_after_parts(store: Store) -> None:
    before = sys.getswitchinterval()
    store.batch_decisions.append_parts([rows("a"), rows("b")])
    bad = rows("c")
    with pytest.raises(InvalidRecord):
        store.batch_decisions.append_parts(
            [BulkRows(**{name: getattr(bad, name) for name in bad.__slots__} | {"channel": "x"})]
        )
    assert sys.getswitchinterval() == before


def test_a_link_made_meanwhile_by_something_else_is_kept_and_the_rest_linked(
    store: Store, sql: Callable[..., list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the links already there are read before the new ones are copied; a link
    that appears in between (re-sealing links outside the chain lock) is kept, and the batch
    still links everyone else (on SQLite: one insert that keeps links there)."""
    first = rows("a")
    store.batch_decisions.append(
        BulkRows(
            **{name: getattr(first, name) for name in first.__slots__}
            | {"subjects": [(("applicant", "01019012345"),)]}
        )
    )
    monkeypatch.setattr(_bulk_append, "_existing_links", lambda cursor, applications: [])
    second = rows("a", "b", ruleset_hash="cd" * 32)
    written = store.batch_decisions.append(
        BulkRows(
            **{name: getattr(second, name) for name in second.__slots__}
            | {"subjects": [(("applicant", "01019012345"),), (("applicant", "02029012345"),)]}
        )
    )
    assert written.recorded == 2
    assert count(sql, "subject_link") == 2
    assert [x.application_id for x in store.subjects.links("02029012345")] == ["b"]
    assert store.verify().ok


def test_a_run_links_everyone_once_whether_its_parts_were_linked_before_or_not(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    """Parts alternate between applications linked already (by a batch under another
    ruleset) and new ones, so a part copies its links straight away after one that found
    none there, and meets links there (and keeps them) after one that found some."""
    person = {app: f"{k + 1:02d}019012345" for k, app in enumerate("abcdef")}

    def batch(apps: str, ruleset_hash: str) -> BulkRows:
        given = rows(*apps, ruleset_hash=ruleset_hash)
        return BulkRows(
            **{name: getattr(given, name) for name in given.__slots__}
            | {"subjects": [(("applicant", person[app]),) for app in apps]}
        )

    store.batch_decisions.append(batch("bd", RULESET_HASH))
    written = store.batch_decisions.append(batch("abcdef", "cd" * 32), per_transaction=1)
    assert written.recorded == 6
    assert count(sql, "subject_link") == 6
    for app, number in person.items():
        assert [link.application_id for link in store.subjects.links(number)] == [app]
    assert store.verify().ok
