"""`ReviewStore`: applicants' requests for human review, their history, the views of their
cases, and the manual decision that ends each one.

A request contests some lenders of one automated decision (`review_lender`, one row per
lender, so the queue's lender filter is one indexed query). An application has at most one
open request: `review_request.open_for` holds the application id while the request is open
and NULL once it is decided, under a unique constraint, so two concurrent requests cannot
both be opened.

Deciding is one transaction: a conditional update moves the request to `decided` only if it
is not decided yet (on PostgreSQL the row lock makes a concurrent decider wait and then find
no row to update; on SQLite the write unit already serialises writers), then the manual
decision is appended to the chain (`audit._append.write_batch`, under the chain lock, like
every other record), and the verdicts and the history are written. A second decider updates
no row and gets `ReviewAlreadyDecided` naming who decided and when; nothing of theirs is
written.

The manual decision is a record of the decision log (channel `manual`) with a review part
(`review_json`, chained: see `audit._chain`); it refers to the automated decision it reviews
and never changes it. Internal notes stay in `review_lender`, outside the chain.

The applicant's statement (free text: it may give their name, phone or e-mail) is sealed like
the personal payload (AES-GCM under the current data key, the request id as associated data,
the key id beside it; `key_id` NULL: written clear before sealing, until `lendmatch keys
rotate-data-key`, or erased).

Erasure and the retention purge (`erase_reviews`, in the caller's transaction) empty what a
request holds about its people: the applicant's statement (it may name them, give a phone
or an e-mail), the claimed corrections, the extension reason, and each lender's explanation
and internal note (free text); the request's ids, status, dates, contested lenders and
verdicts stay as the record that a review happened. Case views (who saw the case, when) hold
nothing of the applicant but the request; they are kept as the log of access to their data
until the application's retention period ends (`delete_views`). A request still open then
(received, in review, extended) is closed as `withdrawn` in the same transaction
(`withdraw_open`: status, `withdrawn_reason` erasure | retention, a history event; no
personal data), so it leaves the queue and can no longer be assigned, extended or decided.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from audit import _append, _chain, _rows
from audit._unit import UnitOfWork
from audit.decisions import _prepare as prepare
from audit.errors import (
    ReviewAlreadyDecided,
    ReviewAlreadyOpen,
    ReviewNotFound,
    ReviewStateConflict,
    StoreUnavailable,
)
from audit.models import (
    CaseViewRow,
    DecisionRow,
    ReviewEventRow,
    ReviewLenderRow,
    ReviewRequestRow,
)
from audit.personal_keys import PersonalKeys
from audit.records import DecisionLike, StoredDecision

DECIDED = "decided"
WITHDRAWN = "withdrawn"
CLOSED = (DECIDED, WITHDRAWN)
"""The statuses that end a request: nothing more can be done with it."""
ERASED_STATEMENT = ""
"""The statement of an erased request (a request is never opened without one)."""


@dataclass(frozen=True)
class ContestedLender:
    """A lender a request contests; verdict, explanation and note once decided."""

    lender_id: str
    verdict: str | None = None
    explanation: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class StoredReview:
    """A review request as stored."""

    request_id: str
    application_id: str
    client: str
    automated_decision_id: str
    market: str
    status: str
    language: str
    statement: str
    corrections: dict[str, Any]
    received_at: datetime
    due_at: datetime
    extension_reason: str | None
    assignee: str | None
    decided_by: str | None
    decided_at: datetime | None
    manual_decision_id: str | None
    lenders: tuple[ContestedLender, ...]
    withdrawn_reason: str | None = None  # status `withdrawn`: erasure | retention

    @property
    def erased(self) -> bool:
        """Its statement, corrections and free texts were erased."""
        return self.statement == ERASED_STATEMENT


@dataclass(frozen=True)
class ReviewEvent:
    """One step of a request's history."""

    at: datetime
    actor: str
    what: str


@dataclass(frozen=True)
class ReviewView:
    """One view of a case: who saw it, when."""

    at: datetime
    viewer: str


@dataclass(frozen=True)
class CaseViewed:
    """One view of a case, with the request and application it belongs to."""

    request_id: str
    application_id: str
    at: datetime
    viewer: str


def erase_reviews(session: Session, application_id: str) -> int:
    """Erase the personal content of every request on `application_id` (see the module doc)
    in the caller's transaction; return how many requests held some."""
    rows = session.exec(
        select(ReviewRequestRow).where(
            ReviewRequestRow.application_id == application_id,
            ReviewRequestRow.statement != ERASED_STATEMENT,
        )
    ).all()
    for row in rows:
        row.statement, row.key_id = ERASED_STATEMENT, None
        row.corrections_json, row.extension_reason = "{}", None
        session.add(row)
        session.exec(
            update(ReviewLenderRow)
            .where(col(ReviewLenderRow.request_id) == row.request_id)
            .values(explanation=None, note=None)
        )
        for event in session.exec(
            select(ReviewEventRow).where(ReviewEventRow.request_id == row.request_id)
        ):
            if event.what != without_free_text(event.what):
                event.what = without_free_text(event.what)
                session.add(event)
    session.flush()
    return len(rows)


def withdraw_open(session: Session, application_id: str, *, reason: str, at: datetime) -> list[str]:
    """Close every open request on `application_id` as `withdrawn` because of `reason`
    (erasure | retention), in the caller's transaction, with a history event; return their
    ids. A concurrent decider waits on the row and then finds it closed."""
    request_ids = list(
        session.exec(
            select(ReviewRequestRow.request_id)
            .where(
                ReviewRequestRow.application_id == application_id,
                col(ReviewRequestRow.status).not_in(CLOSED),
            )
            .with_for_update()
        ).all()
    )
    if not request_ids:
        return []
    session.exec(
        update(ReviewRequestRow)
        .where(
            col(ReviewRequestRow.request_id).in_(request_ids),
            col(ReviewRequestRow.status).not_in(CLOSED),
        )
        .values(status=WITHDRAWN, withdrawn_reason=reason, open_for=None)
        .execution_options(synchronize_session=False)
    )
    for request_id in request_ids:
        session.add(
            ReviewEventRow(
                request_id=request_id, at=at, actor="system", what=f"{_WITHDRAWN}{reason}"
            )
        )
    session.flush()
    return request_ids


_EXTENDED = "extended to "
_WITHDRAWN = "withdrawn: "
_BATCH = 1000


def _batches(ids: Sequence[str]) -> Iterator[list[str]]:
    """`ids` without repeats, `_BATCH` at a time (a bounded IN list for any database)."""
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _BATCH):
        yield unique[start : start + _BATCH]


def without_free_text(what: str) -> str:
    """A history event without the free text it may carry (an extension's reason: the date
    stays)."""
    return what.partition(":")[0] if what.startswith(_EXTENDED) else what


def _stored(
    row: ReviewRequestRow, lenders: Sequence[ReviewLenderRow], keys: PersonalKeys
) -> StoredReview:
    return StoredReview(
        request_id=row.request_id,
        application_id=row.application_id,
        client=row.client,
        automated_decision_id=row.automated_decision_id,
        market=row.market,
        status=row.status,
        language=row.language,
        statement=row.statement
        if row.key_id is None
        else keys.open(row.key_id, row.statement, row.request_id),
        corrections=dict(json.loads(row.corrections_json)),
        received_at=_chain.utc(row.received_at),
        due_at=_chain.utc(row.due_at),
        extension_reason=row.extension_reason,
        assignee=row.assignee,
        decided_by=row.decided_by,
        decided_at=None if row.decided_at is None else _chain.utc(row.decided_at),
        manual_decision_id=row.manual_decision_id,
        withdrawn_reason=row.withdrawn_reason,
        lenders=tuple(
            ContestedLender(lender.lender_id, lender.verdict, lender.explanation, lender.note)
            for lender in sorted(lenders, key=lambda lender: lender.lender_id)
        ),
    )


class ReviewStore:
    """Review requests, their lenders, history and case views; the manual decisions."""

    def __init__(self, uow: UnitOfWork, keys: PersonalKeys) -> None:
        self._uow = uow
        self._keys = keys

    # -- writing -----------------------------------------------------------------------------

    def create(
        self,
        *,
        application_id: str,
        client: str,
        automated_decision_id: str,
        market: str,
        language: str,
        statement: str,
        corrections: Mapping[str, Any],
        lenders: Sequence[str],
        received_at: datetime,
        due_at: datetime,
    ) -> StoredReview:
        """Open a request (status `received`); `ReviewAlreadyOpen` if the application has an
        open one already (also when two are opened at once)."""
        request_id = str(uuid.uuid4())
        key_id, sealed = self._keys.seal(statement, request_id)
        row = ReviewRequestRow(
            request_id=request_id,
            application_id=application_id,
            open_for=application_id,
            client=client,
            automated_decision_id=automated_decision_id,
            market=market,
            status="received",
            language=language,
            statement=sealed,
            key_id=key_id,
            corrections_json=json.dumps(dict(corrections), sort_keys=True),
            received_at=received_at,
            due_at=due_at,
        )
        contested = [ReviewLenderRow(request_id=row.request_id, lender_id=x) for x in lenders]
        try:
            with self._uow.unit("open_review", write=True) as session:
                existing = self._open_request(session, application_id)
                if existing is not None:
                    raise ReviewAlreadyOpen(application_id, existing)
                session.add(row)
                session.flush()
                session.add_all(contested)
                session.add(
                    ReviewEventRow(
                        request_id=row.request_id,
                        at=received_at,
                        actor="applicant",
                        what="received",
                    )
                )
                session.flush()
                return _stored(row, contested, self._keys)
        except StoreUnavailable as error:
            if isinstance(error.__cause__, IntegrityError):
                raise ReviewAlreadyOpen(application_id, None) from error
            raise

    @staticmethod
    def _open_request(session: Session, application_id: str) -> str | None:
        return session.exec(
            select(ReviewRequestRow.request_id).where(ReviewRequestRow.open_for == application_id)
        ).first()

    def assign(
        self, request_id: str, *, assignee: str, by: str, may_reassign: bool, at: datetime
    ) -> None:
        """Assign the request to `assignee` (`received` becomes `in_review`). A decided
        request, or one assigned to someone else without `may_reassign`, is a
        `ReviewStateConflict`."""
        with self._uow.unit("assign_review", write=True) as session:
            row = self._locked(session, request_id)
            if row.status in CLOSED:
                raise ReviewStateConflict(request_id, f"it is {row.status}")
            if row.assignee not in (None, assignee) and not may_reassign:
                raise ReviewStateConflict(
                    request_id, f"it is assigned to {row.assignee}; only a supervisor reassigns"
                )
            row.assignee = assignee
            if row.status == "received":
                row.status = "in_review"
            session.add(row)
            session.add(
                ReviewEventRow(
                    request_id=request_id, at=at, actor=by, what=f"assigned to {assignee}"
                )
            )

    def extend(
        self, request_id: str, *, due_at: datetime, reason: str, by: str, at: datetime
    ) -> None:
        """Move the due date once (status `extended`), with the reason the applicant sees;
        `ReviewStateConflict` if it was extended before or is decided."""
        with self._uow.unit("extend_review", write=True) as session:
            row = self._locked(session, request_id)
            if row.status in CLOSED:
                raise ReviewStateConflict(request_id, f"it is {row.status}")
            if row.extension_reason is not None:
                raise ReviewStateConflict(request_id, "its deadline was extended once already")
            row.due_at, row.extension_reason, row.status = due_at, reason, "extended"
            session.add(row)
            session.add(
                ReviewEventRow(
                    request_id=request_id,
                    at=at,
                    actor=by,
                    what=f"{_EXTENDED}{_chain.utc(due_at).date().isoformat()}: {reason}",
                )
            )

    def record_view(self, request_id: str, *, viewer: str, at: datetime) -> None:
        """Record that `viewer` saw the case; `ReviewNotFound` if there is no such request."""
        with self._uow.unit("record_case_view", write=True) as session:
            if session.get(ReviewRequestRow, request_id) is None:
                raise ReviewNotFound(request_id)
            session.add(CaseViewRow(request_id=request_id, at=at, viewer=viewer))

    def decide(
        self,
        request_id: str,
        *,
        reviewer: str,
        at: datetime,
        verdicts: Sequence[ContestedLender],
        decision: DecisionLike,
        review: Mapping[str, Any],
    ) -> StoredDecision:
        """Decide the request and append its manual decision (`decision`: the corrected
        features and their bitmasks; `review`: the chained review part) in one transaction;
        `ReviewAlreadyDecided` (by whom, when) if it was decided before, also by a
        concurrent caller."""
        with self._uow.unit("decide_review", write=True) as session:
            request = session.get(ReviewRequestRow, request_id)
            if request is None:
                raise ReviewNotFound(request_id)
            manual = prepare(
                request.application_id,
                "manual",
                decision,
                {},
                None,
                None,
                request.client,
                None,
                review=review,
            )
            moved = session.exec(
                update(ReviewRequestRow)
                .where(
                    col(ReviewRequestRow.request_id) == request_id,
                    col(ReviewRequestRow.status).not_in(CLOSED),
                )
                .values(status=DECIDED, decided_by=reviewer, decided_at=at, open_for=None)
                .execution_options(synchronize_session=False)
            )
            if not moved.rowcount:
                # Read as columns, not through the session's identity map: the other
                # decider's committed values, not what this session last saw.
                status, by, when = session.exec(
                    select(
                        ReviewRequestRow.status,
                        ReviewRequestRow.decided_by,
                        ReviewRequestRow.decided_at,
                    ).where(ReviewRequestRow.request_id == request_id)
                ).one()
                if status == WITHDRAWN:
                    raise ReviewStateConflict(request_id, "it is withdrawn")
                raise ReviewAlreadyDecided(request_id, by or "", _chain.utc(when or at))
            (outcome,) = _append.write_batch(
                session.connection(), [manual], sqlite=self._uow.sqlite
            )
            if isinstance(outcome, BaseException):
                raise outcome
            session.exec(
                update(ReviewRequestRow)
                .where(col(ReviewRequestRow.request_id) == request_id)
                .values(manual_decision_id=outcome.decision_id)
            )
            for verdict in verdicts:
                session.exec(
                    update(ReviewLenderRow)
                    .where(
                        col(ReviewLenderRow.request_id) == request_id,
                        col(ReviewLenderRow.lender_id) == verdict.lender_id,
                    )
                    .values(
                        verdict=verdict.verdict,
                        explanation=verdict.explanation,
                        note=verdict.note,
                    )
                )
            session.add(
                ReviewEventRow(request_id=request_id, at=at, actor=reviewer, what="decided")
            )
            return outcome

    @staticmethod
    def _locked(session: Session, request_id: str) -> ReviewRequestRow:
        row = session.exec(
            select(ReviewRequestRow)
            .where(ReviewRequestRow.request_id == request_id)
            .with_for_update()
        ).first()
        if row is None:
            raise ReviewNotFound(request_id)
        return row

    # -- reading -----------------------------------------------------------------------------

    def get(self, request_id: str) -> StoredReview | None:
        """A request with its lenders, or None."""
        with self._uow.unit("get_review") as session:
            row = session.get(ReviewRequestRow, request_id)
            if row is None:
                return None
            lenders = session.exec(
                select(ReviewLenderRow).where(ReviewLenderRow.request_id == request_id)
            ).all()
            return _stored(row, lenders, self._keys)

    def page(
        self,
        *,
        statuses: Collection[str] | None = None,
        lender: str | None = None,
        market: str | None = None,
        due_before: datetime | None = None,
        offset: int = 0,
        limit: int = 25,
    ) -> tuple[list[StoredReview], int]:
        """One page of requests, oldest due first, and how many match in all: one query for
        the page, one for the count, one for the page's lenders (indexed; no query per row).
        `due_before`: due strictly before this moment."""
        conditions: list[Any] = []
        if statuses is not None:
            conditions.append(col(ReviewRequestRow.status).in_(list(statuses)))
        if market is not None:
            conditions.append(col(ReviewRequestRow.market) == market)
        if due_before is not None:
            conditions.append(col(ReviewRequestRow.due_at) < due_before)
        if lender is not None:
            conditions.append(
                col(ReviewRequestRow.request_id).in_(
                    select(ReviewLenderRow.request_id).where(ReviewLenderRow.lender_id == lender)
                )
            )
        with self._uow.unit("review_queue", snapshot=True) as session:
            rows = session.exec(
                select(ReviewRequestRow)
                .where(*conditions)
                .order_by(col(ReviewRequestRow.due_at), col(ReviewRequestRow.request_id))
                .offset(offset)
                .limit(limit)
            ).all()
            total = session.exec(
                select(func.count()).select_from(ReviewRequestRow).where(*conditions)
            ).one()
            by_request: dict[str, list[ReviewLenderRow]] = {row.request_id: [] for row in rows}
            if rows:
                for lender_row in session.exec(
                    select(ReviewLenderRow).where(
                        col(ReviewLenderRow.request_id).in_(list(by_request))
                    )
                ):
                    by_request[lender_row.request_id].append(lender_row)
            return [_stored(row, by_request[row.request_id], self._keys) for row in rows], int(
                total
            )

    def history(self, request_id: str) -> list[ReviewEvent]:
        """The request's history, oldest first."""
        with self._uow.unit("review_history") as session:
            rows = session.exec(
                select(ReviewEventRow)
                .where(ReviewEventRow.request_id == request_id)
                .order_by(col(ReviewEventRow.id))
            ).all()
            return [ReviewEvent(_chain.utc(r.at), r.actor, r.what) for r in rows]

    def views(self, request_id: str) -> list[ReviewView]:
        """Every view of the case, newest first."""
        with self._uow.unit("case_views") as session:
            rows = session.exec(
                select(CaseViewRow)
                .where(CaseViewRow.request_id == request_id)
                .order_by(col(CaseViewRow.id).desc())
            ).all()
            return [ReviewView(_chain.utc(r.at), r.viewer) for r in rows]

    def of_applications(self, application_ids: Sequence[str]) -> list[StoredReview]:
        """Every request on `application_ids`, with its lenders, oldest first (asked
        `_BATCH` ids at a time)."""
        rows: list[ReviewRequestRow] = []
        by_request: dict[str, list[ReviewLenderRow]] = {}
        with self._uow.unit("reviews_of_applications") as session:
            for ids in _batches(application_ids):
                found = session.exec(
                    select(ReviewRequestRow).where(col(ReviewRequestRow.application_id).in_(ids))
                ).all()
                rows += found
                by_request.update({row.request_id: [] for row in found})
                for lender_row in session.exec(
                    select(ReviewLenderRow).where(
                        col(ReviewLenderRow.request_id).in_([row.request_id for row in found])
                    )
                ):
                    by_request[lender_row.request_id].append(lender_row)
            rows.sort(key=lambda row: (_chain.utc(row.received_at), row.request_id))
            return [_stored(row, by_request[row.request_id], self._keys) for row in rows]

    def unerased(self, application_ids: Sequence[str]) -> int:
        """How many requests on `application_ids` still hold their content."""
        with self._uow.unit("unerased_reviews") as session:
            return sum(
                int(
                    session.exec(
                        select(func.count())
                        .select_from(ReviewRequestRow)
                        .where(
                            col(ReviewRequestRow.application_id).in_(ids),
                            col(ReviewRequestRow.statement) != ERASED_STATEMENT,
                        )
                    ).one()
                )
                for ids in _batches(application_ids)
            )

    def histories(self, request_ids: Sequence[str]) -> dict[str, list[ReviewEvent]]:
        """The history of each of `request_ids`, oldest first."""
        found: dict[str, list[ReviewEvent]] = {request_id: [] for request_id in request_ids}
        with self._uow.unit("review_histories") as session:
            for ids in _batches(list(found)):
                for row in session.exec(
                    select(ReviewEventRow)
                    .where(col(ReviewEventRow.request_id).in_(ids))
                    .order_by(col(ReviewEventRow.id))
                ):
                    event = ReviewEvent(_chain.utc(row.at), row.actor, row.what)
                    found[row.request_id].append(event)
        return found

    def views_of(self, application_ids: Sequence[str]) -> list[CaseViewed]:
        """Every view of a case on `application_ids`, oldest first."""
        rows: list[tuple[CaseViewRow, str]] = []
        with self._uow.unit("case_views_of_applications") as session:
            for ids in _batches(application_ids):
                rows += session.exec(
                    select(CaseViewRow, ReviewRequestRow.application_id)
                    .join(
                        ReviewRequestRow,
                        col(ReviewRequestRow.request_id) == col(CaseViewRow.request_id),
                    )
                    .where(col(ReviewRequestRow.application_id).in_(ids))
                ).all()
        rows.sort(key=lambda found: int(found[0].id or 0))
        return [
            CaseViewed(view.request_id, application_id, _chain.utc(view.at), view.viewer)
            for view, application_id in rows
        ]

    def viewed_applications(self) -> list[str]:
        """The applications whose cases have recorded views."""
        with self._uow.unit("viewed_applications") as session:
            return list(
                session.exec(
                    select(ReviewRequestRow.application_id)
                    .join(
                        CaseViewRow,
                        col(ReviewRequestRow.request_id) == col(CaseViewRow.request_id),
                    )
                    .distinct()
                    .order_by(col(ReviewRequestRow.application_id))
                ).all()
            )

    def delete_views(self, application_ids: Sequence[str], *, dry_run: bool = False) -> int:
        """Delete every view of a case on `application_ids` (one commit); return how many
        (with `dry_run`, how many would go)."""
        done = 0
        with self._uow.unit("delete_case_views", write=not dry_run) as session:
            for ids in _batches(application_ids):
                requests = select(ReviewRequestRow.request_id).where(
                    col(ReviewRequestRow.application_id).in_(ids)
                )
                if dry_run:
                    done += int(
                        session.exec(
                            select(func.count())
                            .select_from(CaseViewRow)
                            .where(col(CaseViewRow.request_id).in_(requests))
                        ).one()
                    )
                else:
                    result = session.exec(
                        delete(CaseViewRow).where(col(CaseViewRow.request_id).in_(requests))
                    )
                    done += int(result.rowcount or 0)
        return done

    def manual_decisions(self, application_id: str) -> list[StoredDecision]:
        """Every manual decision on an application, in chain order."""
        with self._uow.unit("manual_decisions") as session:
            rows = session.exec(
                select(DecisionRow)
                .where(DecisionRow.application_id == application_id)
                .where(DecisionRow.channel == "manual")
                .order_by(col(DecisionRow.seq))
            ).all()
            return [_rows.to_stored(row) for row in rows]
