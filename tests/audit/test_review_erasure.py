"""Erasing an application's review requests: the statement, claimed corrections, extension
reason, explanations and notes go (from the review tables and from the manual decision's
chained review part); the record that a review happened, its verdicts and the case views
stay; the chain still verifies and a verdict changed afterwards is found. SQLite and
PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from audit import ContestedLender, ErasureItem, PersonalKeys, Store, StoredDecision, open_store
from tests.audit.audit_testkit import a_decision, a_person

Sql = Callable[..., list[Any]]
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STATEMENT = "Jeg heter Åse Ødegård, ring 912 34 567 eller ase@example.no."
SECRET_TEXTS = (STATEMENT, "Åse Ødegård", "912 34 567", "ase@example.no", "lønnsslipp fra Åse")


def _reviewed(store: Store, application_id: str) -> tuple[str, StoredDecision]:
    """An application with a decided review: extended, viewed, decided with notes."""
    automated = store.decisions.record(
        application_id=application_id,
        channel="api",
        decision=a_decision(1),
        personal=a_person(1),
    )
    request = store.reviews.create(
        application_id=application_id,
        client="default",
        automated_decision_id=automated.decision_id,
        market="NO",
        language="nb",
        statement=STATEMENT,
        corrections={"income": 700_000},
        lenders=("fjordkreditt", "kvartalbank"),
        received_at=T0,
        due_at=T0 + timedelta(days=30),
    )
    store.reviews.extend(
        request.request_id,
        due_at=T0 + timedelta(days=60),
        reason="Vi venter på lønnsslipp fra Åse Ødegård.",
        by="saksbehandler",
        at=T0 + timedelta(days=1),
    )
    store.reviews.record_view(request.request_id, viewer="saksbehandler", at=T0)
    manual = store.reviews.decide(
        request.request_id,
        reviewer="saksbehandler",
        at=T0 + timedelta(days=2),
        verdicts=(
            ContestedLender("fjordkreditt", "override", "Åse Ødegård, 912 34 567.", "ok"),
            ContestedLender("kvartalbank", "uphold", "Kravet står.", "lønnsslipp fra Åse"),
        ),
        decision=a_decision(1, income=700_000),
        review={
            "request_id": request.request_id,
            "reviews": automated.decision_id,
            "reviewer": "saksbehandler",
            "language": "nb",
            "corrections": {"income": 700_000},
            "verdicts": [
                {"lender_id": "fjordkreditt", "verdict": "override", "explanation": "Åse Ødegård"},
                {"lender_id": "kvartalbank", "verdict": "uphold", "explanation": "Kravet står."},
            ],
        },
    )
    return request.request_id, manual


def _every_review_row(sql: Sql) -> str:
    return "\n".join(
        repr(row)
        for table in ("review_request", "review_lender", "review_event", "case_view", "decision")
        for row in sql(f"SELECT * FROM {table}")
    )


def test_erasure_empties_review_requests_and_keeps_their_verdicts_and_views(
    store: Store, sql: Sql
) -> None:
    request_id, manual = _reviewed(store, "app-1")
    _reviewed(store, "app-2")  # someone else's review stays whole
    (erased,) = store.subjects.erase_applications(
        [ErasureItem("app-1", {})], reason="erasure request", now=T0 + timedelta(days=3)
    )
    assert (erased.records_redacted, erased.review_requests) == (2, 1)

    review = store.reviews.get(request_id)
    assert review is not None and review.erased
    assert (review.statement, review.corrections, review.extension_reason) == ("", {}, None)
    assert [(x.lender_id, x.verdict, x.explanation, x.note) for x in review.lenders] == [
        ("fjordkreditt", "override", None, None),
        ("kvartalbank", "uphold", None, None),
    ]
    assert review.status == "decided" and review.manual_decision_id == manual.decision_id
    assert [e.what for e in store.reviews.history(request_id)] == [
        "received",
        "extended to 2027-01-01",
        "decided",
    ]
    assert [(v.application_id, v.viewer) for v in store.reviews.views_of(["app-1"])] == [
        ("app-1", "saksbehandler")
    ]
    (chained,) = [d for d in store.decisions.history("app-1") if d.channel == "manual"]
    assert chained.redacted and chained.review == {
        "request_id": request_id,
        "reviews": manual.review["reviews"] if manual.review else None,
        "reviewer": "saksbehandler",
        "language": "nb",
        "verdicts": [
            {"lender_id": "fjordkreditt", "verdict": "override"},
            {"lender_id": "kvartalbank", "verdict": "uphold"},
        ],
        "redacted": True,
    }
    report = store.verify()
    assert report.ok, report
    assert report.redacted == 2

    mine = sql("SELECT r.statement FROM review_request r WHERE r.application_id = 'app-1'") + sql(
        "SELECT review_json FROM decision WHERE application_id = 'app-1'"
    )
    for text in SECRET_TEXTS:
        assert text not in repr(mine), text
    (others,) = store.reviews.of_applications(["app-2"])
    assert others.statement == STATEMENT  # someone else's, untouched

    again = store.subjects.erase_applications(
        [ErasureItem("app-1", {})], reason="erasure request", now=T0 + timedelta(days=4)
    )
    assert (again[0].records_redacted, again[0].review_requests) == (0, 0)


def test_a_verdict_changed_after_the_redaction_fails_verify(store: Store, sql: Sql) -> None:
    _reviewed(store, "app-1")
    store.subjects.erase_applications(
        [ErasureItem("app-1", {})], reason="erasure request", now=T0 + timedelta(days=3)
    )
    ((seq, review_json),) = sql(
        "SELECT seq, review_json FROM decision WHERE channel = 'manual' AND application_id = 'app-1'"
    )
    changed = review_json.replace('"uphold"', '"override"')
    assert json.loads(changed) != json.loads(review_json)
    sql("UPDATE decision SET review_json = :changed WHERE seq = :seq", changed=changed, seq=seq)
    report = store.verify()
    assert not report.ok
    assert report.chain.first_bad_seq == seq
    assert "changed after its redaction" in (report.chain.reason or "")


def test_case_views_are_deleted_per_application(store: Store) -> None:
    _reviewed(store, "app-1")
    _reviewed(store, "app-2")
    assert store.reviews.viewed_applications() == ["app-1", "app-2"]
    assert store.reviews.delete_views(["app-1"], dry_run=True) == 1
    assert store.reviews.viewed_applications() == ["app-1", "app-2"]
    assert store.reviews.delete_views(["app-1"]) == 1
    assert store.reviews.delete_views(["app-1"]) == 0
    assert store.reviews.viewed_applications() == ["app-2"]


def test_the_statement_is_sealed_at_rest_and_rotation_reseals_it_but_not_an_erased_one(
    store: Store, sql: Sql, database_url: str
) -> None:
    request_id, _ = _reviewed(store, "app-1")
    erased_id, _ = _reviewed(store, "app-2")
    store.subjects.erase_applications(
        [ErasureItem("app-2", {})], reason="erasure request", now=T0 + timedelta(days=3)
    )
    assert STATEMENT not in _every_review_row(sql)
    assert store.reviews.get(request_id).statement == STATEMENT  # type: ignore[union-attr]
    sql(  # as written before statements were sealed
        "UPDATE review_request SET key_id = NULL, statement = :s WHERE request_id = :r",
        s=STATEMENT,
        r=request_id,
    )
    assert STATEMENT in _every_review_row(sql)
    old = PersonalKeys.development()
    rotated = PersonalKeys(old.subject_key, (("k2", bytes(range(32))), *old.data_keys))
    with open_store(database_url, keys=rotated) as new:
        list(new.rotate_data_key())
        assert dict(sql("SELECT request_id, key_id FROM review_request")) == {
            request_id: "k2",
            erased_id: None,
        }
        assert STATEMENT not in _every_review_row(sql)
        assert new.reviews.get(request_id).statement == STATEMENT  # type: ignore[union-attr]
        assert new.reviews.get(erased_id).erased  # type: ignore[union-attr]
        assert list(new.rotate_data_key()) == [(0, 0)]


def test_reading_by_many_application_ids_finds_them_across_batches(store: Store) -> None:
    _reviewed(store, "app-1")
    _reviewed(store, "app-2")
    ids = ["app-1", *(f"none-{i}" for i in range(2500)), "app-2"]
    found = store.reviews.of_applications(ids)  # both received at T0: then by request id
    assert sorted(r.application_id for r in found) == ["app-1", "app-2"]
    assert [r.request_id for r in found] == sorted(r.request_id for r in found)
    assert [v.application_id for v in store.reviews.views_of(ids)] == ["app-1", "app-2"]
    assert store.reviews.unerased(ids) == 2
    assert store.reviews.delete_views(ids, dry_run=True) == 2
    assert store.reviews.delete_views(ids) == 2
    assert store.reviews.views_of(ids) == []
