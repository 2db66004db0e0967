"""The review store: one open request per application, the queue's filters and order, the
history and views, and exactly one manual decision per request, chained and verifying."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from audit import (
    ContestedLender,
    ReviewAlreadyDecided,
    ReviewAlreadyOpen,
    ReviewStateConflict,
    Store,
    StoredDecision,
    StoredReview,
    open_store,
)
from tests.audit.audit_testkit import a_decision

Sql = Callable[..., list[Any]]
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def open_request(
    store: Store,
    decision: StoredDecision,
    *,
    lenders: tuple[str, ...] = ("fjordkreditt", "kvartalbank"),
    market: str = "NO",
    received: datetime = T0,
    due: datetime = T0 + timedelta(days=30),
) -> StoredReview:
    return store.reviews.create(
        application_id=decision.application_id,
        client="default",
        automated_decision_id=decision.decision_id,
        market=market,
        language="nb",
        statement="Inntekten min er høyere.",
        corrections={"income": 700_000},
        lenders=lenders,
        received_at=received,
        due_at=due,
    )


def decide(store: Store, request: StoredReview, reviewer: str) -> StoredDecision:
    return store.reviews.decide(
        request.request_id,
        reviewer=reviewer,
        at=datetime.now(UTC),
        verdicts=(
            ContestedLender("fjordkreditt", "override", "Vi har sett på inntekten.", "ok"),
            ContestedLender("kvartalbank", "uphold", "Kravet står.", "intern"),
        ),
        decision=a_decision(7, income=700_000),
        review={"request_id": request.request_id, "reviewer": reviewer},
    )


def test_a_request_is_stored_with_its_lenders_and_a_received_event(
    store: Store, record: Callable[[int], list[StoredDecision]]
) -> None:
    (decision,) = record(1)
    request = open_request(store, decision)
    again = store.reviews.get(request.request_id)
    assert again == request
    assert again.status == "received"
    assert [lender.lender_id for lender in again.lenders] == ["fjordkreditt", "kvartalbank"]
    assert again.corrections == {"income": 700_000}
    assert [(e.actor, e.what) for e in store.reviews.history(request.request_id)] == [
        ("applicant", "received")
    ]
    assert store.reviews.get("no-such-request") is None


def test_an_application_has_one_open_request_until_it_is_decided(
    store: Store, record: Callable[[int], list[StoredDecision]]
) -> None:
    (decision,) = record(1)
    first = open_request(store, decision)
    with pytest.raises(ReviewAlreadyOpen) as refused:
        open_request(store, decision)
    assert refused.value.request_id == first.request_id
    decide(store, first, "kari")
    second = open_request(store, decision)
    assert second.request_id != first.request_id


def test_the_queue_is_oldest_due_first_and_filters_by_status_lender_market_and_due(
    store: Store, record: Callable[[int], list[StoredDecision]]
) -> None:
    decisions = record(4)
    due = [T0 + timedelta(days=d) for d in (20, 5, 12, 30)]
    lenders = [("fjordkreditt",), ("kvartalbank",), ("fjordkreditt", "kvartalbank"), ("x",)]
    markets = ["NO", "SE", "NO", "NO"]
    made = [
        open_request(store, d, lenders=lenders[i], market=markets[i], due=due[i])
        for i, d in enumerate(decisions)
    ]
    store.reviews.assign(made[0].request_id, assignee="kari", by="kari", may_reassign=False, at=T0)

    def ids(**filters: Any) -> list[int]:
        page, total = store.reviews.page(**filters)
        assert total == len(page)
        return [made.index(next(m for m in made if m.request_id == r.request_id)) for r in page]

    assert ids() == [1, 2, 0, 3]
    assert ids(lender="fjordkreditt") == [2, 0]
    assert ids(market="NO") == [2, 0, 3]
    assert ids(statuses=["in_review"]) == [0]
    assert ids(statuses=["received", "decided"]) == [1, 2, 3]
    assert ids(due_before=T0 + timedelta(days=12)) == [1]
    page, total = store.reviews.page(offset=1, limit=2)
    assert total == 4
    assert [r.request_id for r in page] == [made[2].request_id, made[0].request_id]
    assert page[0].lenders == (ContestedLender("fjordkreditt"), ContestedLender("kvartalbank"))


def test_assigning_to_someone_else_needs_may_reassign(
    store: Store, record: Callable[[int], list[StoredDecision]]
) -> None:
    (decision,) = record(1)
    request = open_request(store, decision)
    store.reviews.assign(request.request_id, assignee="kari", by="kari", may_reassign=False, at=T0)
    with pytest.raises(ReviewStateConflict, match="assigned to kari"):
        store.reviews.assign(
            request.request_id, assignee="ola", by="ola", may_reassign=False, at=T0
        )
    store.reviews.assign(request.request_id, assignee="ola", by="sjef", may_reassign=True, at=T0)
    stored = store.reviews.get(request.request_id)
    assert stored is not None
    assert (stored.assignee, stored.status) == ("ola", "in_review")


def test_a_deadline_is_extended_once(
    store: Store, record: Callable[[int], list[StoredDecision]]
) -> None:
    (decision,) = record(1)
    request = open_request(store, decision)
    later = request.due_at + timedelta(days=30)
    store.reviews.extend(
        request.request_id, due_at=later, reason="Trenger mer tid.", by="kari", at=T0
    )
    stored = store.reviews.get(request.request_id)
    assert stored is not None
    assert (stored.status, stored.due_at, stored.extension_reason) == (
        "extended",
        later,
        "Trenger mer tid.",
    )
    with pytest.raises(ReviewStateConflict, match="extended once"):
        store.reviews.extend(request.request_id, due_at=later, reason="igjen", by="kari", at=T0)


def test_views_are_listed_newest_first(
    store: Store, record: Callable[[int], list[StoredDecision]]
) -> None:
    (decision,) = record(1)
    request = open_request(store, decision)
    store.reviews.record_view(request.request_id, viewer="kari", at=T0)
    store.reviews.record_view(request.request_id, viewer="ola", at=T0 + timedelta(hours=1))
    assert [(v.viewer, v.at) for v in store.reviews.views(request.request_id)] == [
        ("ola", T0 + timedelta(hours=1)),
        ("kari", T0),
    ]


def test_the_manual_decision_is_a_chained_record_that_verifies_and_is_tamper_evident(
    store: Store, record: Callable[[int], list[StoredDecision]], sql: Sql
) -> None:
    (decision,) = record(1)
    request = open_request(store, decision)
    manual = decide(store, request, "kari")
    assert (manual.channel, manual.application_id, manual.seq) == (
        "manual",
        decision.application_id,
        2,
    )
    assert manual.review == {"request_id": request.request_id, "reviewer": "kari"}
    assert store.reviews.manual_decisions(decision.application_id) == [manual]
    assert store.decisions.latest(decision.application_id, automated=True) == decision
    stored = store.reviews.get(request.request_id)
    assert stored is not None
    assert (stored.status, stored.decided_by, stored.manual_decision_id) == (
        "decided",
        "kari",
        manual.decision_id,
    )
    assert stored.lenders[0] == ContestedLender(
        "fjordkreditt", "override", "Vi har sett på inntekten.", "ok"
    )
    assert store.verify().ok
    sql(
        "UPDATE decision SET review_json = :review WHERE seq = 2",
        review='{"request_id":"x","reviewer":"mallory"}',
    )
    report = store.verify()
    assert (report.chain.ok, report.chain.first_bad_seq) == (False, 2)


def test_two_deciders_at_once_record_exactly_one_manual_decision(database_url: str) -> None:
    """Two stores (as two processes) decide the same request at the same moment."""
    with open_store(database_url) as first, open_store(database_url) as second:
        decision = first.decisions.record(
            application_id="app-1", channel="api", decision=a_decision(1), personal={}
        )
        request = open_request(first, decision)
        start = threading.Barrier(2)
        results: dict[str, StoredDecision | BaseException] = {}

        def run(store: Store, reviewer: str) -> None:
            start.wait()
            try:
                results[reviewer] = decide(store, request, reviewer)
            except ReviewAlreadyDecided as error:
                results[reviewer] = error

        threads = [
            threading.Thread(target=run, args=(first, "kari")),
            threading.Thread(target=run, args=(second, "ola")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        decided = [r for r in results.values() if isinstance(r, StoredDecision)]
        refused = [r for r in results.values() if isinstance(r, ReviewAlreadyDecided)]
        assert (len(decided), len(refused)) == (1, 1)
        winner = next(name for name, r in results.items() if isinstance(r, StoredDecision))
        assert refused[0].by == winner
        assert len(first.reviews.manual_decisions("app-1")) == 1
        assert first.verify().ok


def test_a_queue_page_takes_the_same_few_queries_however_many_cases_it_shows(
    store: Store, record: Callable[[int], list[StoredDecision]]
) -> None:
    """No query per case: the page, the count and the page's lenders."""
    for decision in record(30):
        open_request(store, decision)
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        small, _ = store.reviews.page(limit=2)
        small_queries = len(selects)
        selects.clear()
        large, total = store.reviews.page(limit=30, lender="kvartalbank", market="NO")
    finally:
        event.remove(store.engine, "before_cursor_execute", count)
    assert (len(small), len(large), total) == (2, 30, 30)
    assert small_queries == len(selects) == 3


def test_two_requests_opened_at_once_leave_one_open(database_url: str) -> None:
    """Two stores (as two processes) open a request on one application at the same moment."""
    with open_store(database_url) as first, open_store(database_url) as second:
        decision = first.decisions.record(
            application_id="app-1", channel="api", decision=a_decision(1), personal={}
        )
        start = threading.Barrier(2)
        results: list[StoredReview | ReviewAlreadyOpen] = []

        def run(store: Store) -> None:
            start.wait()
            try:
                results.append(open_request(store, decision))
            except ReviewAlreadyOpen as error:
                results.append(error)

        threads = [threading.Thread(target=run, args=(s,)) for s in (first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(type(r).__name__ for r in results) == ["ReviewAlreadyOpen", "StoredReview"]
        assert first.reviews.page()[1] == 1


def test_the_queue_filters_search_an_index_on_sqlite(tmp_path: Path) -> None:
    """Each filter of the queue is answered from an index, not by scanning every request."""
    with open_store(f"sqlite:///{tmp_path / 'plan.sqlite'}") as store:
        captured: list[tuple[str, Any]] = []

        def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
            if "FROM review_request" in statement and "count(" not in statement:
                captured.append((statement, parameters))

        event.listen(store.engine, "before_cursor_execute", capture)
        try:
            store.reviews.page(statuses=["received"])
            store.reviews.page(lender="fjordkreditt")
            store.reviews.page(market="NO")
            store.reviews.page(due_before=T0)
        finally:
            event.remove(store.engine, "before_cursor_execute", capture)
        plans = []
        with store.engine.connect() as connection:
            for statement, parameters in captured:
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans.append(" / ".join(str(row[-1]) for row in rows))
    assert len(plans) == 4
    assert "USING INDEX ix_review_request_status_due" in plans[0]
    assert "USING COVERING INDEX ix_review_lender_lender" in plans[1]
    assert "USING INDEX ix_review_request_market_due" in plans[2]
    assert "ix_review_request_due" in plans[3]
