"""Manual review, the caseworker's side: the queue, a case, what-if, assign, extend, decide.

An applicant rejected automatically may ask for a person to look at the decision
(`broker.review_requests`). A caseworker works the request here; every function is one
workflow on the store (`audit.ReviewStore`) and the rulesets by hash:

- `queue`: one page of requests, oldest due first, filtered (one query for the page, one for
  the count, one for the page's lenders);
- `open_case`: the view is recorded first (who saw whose data, when), then the whole case is
  read: the application, every lender's automated outcome explained, the statement and the
  claimed corrections, the history, every view, the manual decision once made;
- `what_if`: the case's features with corrections applied (`matcher.with_corrections`:
  computed features worked out again, the row checked against the feature contract),
  evaluated and explained under the same ruleset as the automated decision (the single path);
- `assign`, `extend` (once, 1..2 months, a reason the applicant sees);
- `decide`: one verdict per contested lender, each with an explanation for the applicant;
  recorded as a manual decision in the decision log (`broker.manual_decisions`), exactly once
  even when two caseworkers decide at the same moment (the other gets `AlreadyDecidedError`).

A request still open when its application is erased is closed as `withdrawn` by the
erasure (`broker.erasure`); the queue leaves it out unless asked for by status, `open_case`
reads it read-only (no personal data or features left to explain), and assign, extend and
decide refuse it (`ReviewWithdrawnError`).

Errors are the broker's (`ReviewNotFoundError`, `ReviewConflictError`,
`AlreadyDecidedError`, `ReviewWithdrawnError`, `ReviewInputError`); the screen shows them,
the API maps them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

import matcher
from audit import (
    ContestedLender,
    ReviewAlreadyDecided,
    ReviewNotFound,
    ReviewStateConflict,
    Store,
    StoredDecision,
    StoredReview,
)
from broker.errors import (
    AlreadyDecidedError,
    ReviewConflictError,
    ReviewErasedError,
    ReviewInputError,
    ReviewNotFoundError,
    ReviewWithdrawnError,
)
from broker.manual_decisions import VERDICTS, Verdict, review_part, verdicts_of
from broker.review_deadlines import MAX_EXTENSION_MONTHS, add_months
from broker.rulesets import CompiledRulesets
from lender_rules.vocabulary import LANGUAGES, Language

ReviewStatus = Literal["received", "in_review", "extended", "decided", "withdrawn"]
REVIEW_STATUSES: tuple[ReviewStatus, ...] = (
    "received",
    "in_review",
    "extended",
    "decided",
    "withdrawn",
)
QUEUE_STATUSES: tuple[ReviewStatus, ...] = tuple(s for s in REVIEW_STATUSES if s != "withdrawn")
"""What the queue lists unless a status is asked for: a withdrawn request needs no work."""
WithdrawalReason = Literal["erasure", "retention"]
"""Why a request was withdrawn: its application was erased at the applicant's request, or
its retention period ended (`broker.erasure`)."""
WITHDRAWAL_REASONS: tuple[WithdrawalReason, ...] = ("erasure", "retention")
MAX_PAGE_SIZE = 200
MAX_TEXT = 10_000  # characters of an explanation, note or reason
MAX_USER = 64


@dataclass(frozen=True)
class CaseSummary:
    """One request as the queue lists it."""

    request_id: str
    application_id: str
    market: str
    status: ReviewStatus
    received_at: datetime
    due_at: datetime
    lenders: tuple[str, ...]  # the contested lenders
    assignee: str | None  # a caseworker's user name
    withdrawn_reason: WithdrawalReason | None = None  # status withdrawn: why


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and how many requests match in all."""

    cases: tuple[CaseSummary, ...]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class LenderView:
    """One lender's outcome, explained (the single path's explanation)."""

    lender_id: str
    lender_name: str
    eligible: bool
    explanation: matcher.LenderExplanation


@dataclass(frozen=True)
class CaseEvent:
    """One step of a case's history: received, assigned, extended (reason), decided."""

    at: datetime
    actor: str
    what: str


@dataclass(frozen=True)
class CaseView:
    """One view of a case: who, when."""

    at: datetime
    viewer: str


@dataclass(frozen=True)
class LenderVerdict:
    """A caseworker's verdict on one contested lender: `explanation` for the applicant (in
    the applicant's language), `note` internal."""

    lender_id: str
    verdict: Verdict
    explanation: str
    note: str


@dataclass(frozen=True)
class ManualDecision:
    """A recorded manual decision."""

    decision_id: str
    reviewer: str
    decided_at: datetime
    corrected: Mapping[str, Any]  # the feature values used (after corrections)
    verdicts: tuple[LenderVerdict, ...]


@dataclass(frozen=True)
class Case:
    """Everything a caseworker sees of one request."""

    summary: CaseSummary
    statement: str
    claimed_corrections: Mapping[str, Any]  # feature name -> claimed value
    applicant_language: Language  # en | nb | sv
    extension_reason: str | None
    personal: Mapping[str, Any] | None  # names, ids, contact; None if erased
    features: Mapping[str, Any]  # the values the automated decision used
    ruleset_hash: str
    automated_decision_id: str
    outcomes: tuple[LenderView, ...]  # every lender of the automated decision
    history: tuple[CaseEvent, ...]
    views: tuple[CaseView, ...]  # newest first
    decision: ManualDecision | None


# --- reading ----------------------------------------------------------------------------------


def as_status(value: str) -> ReviewStatus:
    for status in REVIEW_STATUSES:
        if status == value:
            return status
    raise ValueError(f"unknown review status {value!r} in the store")


def as_withdrawal_reason(value: str | None) -> WithdrawalReason | None:
    for reason in WITHDRAWAL_REASONS:
        if reason == value:
            return reason
    if value is None:
        return None
    raise ValueError(f"unknown withdrawal reason {value!r} in the store")


def as_language(value: str) -> Language:
    for language in LANGUAGES:
        if language == value:
            return language
    raise ValueError(f"unknown language {value!r} in the store")


def _summary(review: StoredReview) -> CaseSummary:
    return CaseSummary(
        request_id=review.request_id,
        application_id=review.application_id,
        market=review.market,
        status=as_status(review.status),
        received_at=review.received_at,
        due_at=review.due_at,
        lenders=tuple(lender.lender_id for lender in review.lenders),
        assignee=review.assignee,
        withdrawn_reason=as_withdrawal_reason(review.withdrawn_reason),
    )


def queue(
    store: Store,
    *,
    statuses: Collection[ReviewStatus] | None = None,
    lender: str | None = None,
    market: str | None = None,
    due_before: date | None = None,
    page: int = 1,
    page_size: int = 25,
) -> QueuePage:
    """One page of review requests, oldest due first; `statuses` None: `QUEUE_STATUSES`
    (not the withdrawn). `due_before`: due on or before that day (UTC). `ReviewInputError`
    for a page below 1 or a size outside 1..200."""
    if page < 1:
        raise ReviewInputError("page", "must be 1 or more")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ReviewInputError("page_size", f"must be within 1..{MAX_PAGE_SIZE}")
    if statuses is not None:
        for status in statuses:
            if status not in REVIEW_STATUSES:
                raise ReviewInputError("statuses", f"{status!r} is not a review status")
    until = (
        None
        if due_before is None
        else datetime.combine(due_before + timedelta(days=1), time(), tzinfo=UTC)
    )
    reviews, total = store.reviews.page(
        statuses=list(QUEUE_STATUSES if statuses is None else statuses),
        lender=lender,
        market=market,
        due_before=until,
        offset=(page - 1) * page_size,
        limit=page_size,
    )
    return QueuePage(tuple(_summary(r) for r in reviews), total, page, page_size)


def _review(store: Store, request_id: str) -> StoredReview:
    review = store.reviews.get(request_id)
    if review is None:
        raise ReviewNotFoundError(request_id)
    return review


def _automated(store: Store, review: StoredReview) -> StoredDecision:
    automated = store.decisions.find(review.automated_decision_id)
    if automated is None:  # the store keeps every decision: only a damaged store gets here
        raise ReviewNotFoundError(review.request_id)
    if automated.redacted:  # erased (request or retention) while the review was open
        raise ReviewErasedError()
    return automated


def _views(
    features: Mapping[str, Any],
    outcomes: Sequence[matcher.LenderOutcome],
    ruleset: matcher.Ruleset,
    language: Language,
) -> tuple[LenderView, ...]:
    return tuple(
        LenderView(e.lender_id, e.name, e.eligible, e)
        for e in matcher.explain(features, outcomes, ruleset, lang=language)
    )


def _manual(store: Store, review: StoredReview) -> ManualDecision | None:
    if review.manual_decision_id is None:
        return None
    stored = store.decisions.find(review.manual_decision_id)
    if stored is None:
        return None
    chained = verdicts_of(stored)
    notes = {lender.lender_id: lender.note or "" for lender in review.lenders}
    return ManualDecision(
        decision_id=stored.decision_id,
        reviewer=str((stored.review or {}).get("reviewer", review.decided_by or "")),
        decided_at=stored.decided_at,
        corrected=stored.features,
        verdicts=tuple(
            LenderVerdict(
                lender,
                "override" if verdict == "override" else "uphold",
                text,
                notes.get(lender, ""),
            )
            for lender, (verdict, text) in chained.items()
        ),
    )


def open_case(
    store: Store,
    rulesets: CompiledRulesets,
    request_id: str,
    *,
    viewer: str,
    language: Language,
    now: datetime | None = None,
) -> Case:
    """Record that `viewer` sees the case, then read it (outcomes explained in `language`).
    `ReviewNotFoundError` if there is no such request."""
    try:
        store.reviews.record_view(request_id, viewer=viewer, at=now or datetime.now(UTC))
    except ReviewNotFound as error:
        raise ReviewNotFoundError(request_id) from error
    review = _review(store, request_id)
    if review.status == "withdrawn":
        return _withdrawn_case(store, review)
    automated = _automated(store, review)
    ruleset = rulesets.get(automated.ruleset_hash)
    outcomes = [matcher.LenderOutcome(*o) for o in automated.outcomes]
    return _case(
        store,
        review,
        personal=store.decisions.personal_data(review.application_id),
        features=automated.features,
        ruleset_hash=automated.ruleset_hash,
        outcomes=_views(automated.features, outcomes, ruleset, language),
        decision=_manual(store, review),
    )


def _withdrawn_case(store: Store, review: StoredReview) -> Case:
    """A withdrawn case, read-only: what is left once its application was erased (no
    personal data, no features, so no outcomes to explain), its history and views."""
    automated = store.decisions.find(review.automated_decision_id)
    return _case(
        store,
        review,
        personal=None,
        features={},
        ruleset_hash="" if automated is None else automated.ruleset_hash,
        outcomes=(),
        decision=None,
    )


def _case(
    store: Store,
    review: StoredReview,
    *,
    personal: Mapping[str, Any] | None,
    features: Mapping[str, Any],
    ruleset_hash: str,
    outcomes: tuple[LenderView, ...],
    decision: ManualDecision | None,
) -> Case:
    """The case page of `review`: the request as filed, its history and views, and what the
    caller found of its application."""
    return Case(
        summary=_summary(review),
        statement=review.statement,
        claimed_corrections=review.corrections,
        applicant_language=as_language(review.language),
        extension_reason=review.extension_reason,
        personal=personal,
        features=features,
        ruleset_hash=ruleset_hash,
        automated_decision_id=review.automated_decision_id,
        outcomes=outcomes,
        history=tuple(
            CaseEvent(e.at, e.actor, e.what) for e in store.reviews.history(review.request_id)
        ),
        views=tuple(CaseView(v.at, v.viewer) for v in store.reviews.views(review.request_id)),
        decision=decision,
    )


def corrected_features(
    features: Mapping[str, Any], corrections: Mapping[str, Any], *, field: str = "corrections"
) -> dict[str, Any]:
    """`matcher.with_corrections`, its error as `ReviewInputError` naming `field.<feature>`."""
    try:
        return matcher.with_corrections(features, corrections)
    except matcher.FeatureRowError as error:
        raise ReviewInputError(f"{field}.{error.feature}", error.reason) from error


def what_if(
    store: Store,
    rulesets: CompiledRulesets,
    request_id: str,
    corrections: Mapping[str, Any],
    *,
    language: Language,
) -> tuple[LenderView, ...]:
    """Every lender's outcome and reasons for the case's features with `corrections`
    applied, under the automated decision's ruleset. `ReviewInputError` naming a bad
    correction (`corrections.<feature>`)."""
    review = _review(store, request_id)
    automated = _automated(store, review)
    ruleset = rulesets.get(automated.ruleset_hash)
    row = corrected_features(automated.features, corrections)
    return _views(row, matcher.evaluate(row, ruleset), ruleset, language)


# --- changing ---------------------------------------------------------------------------------


def _text(field: str, value: str, limit: int = MAX_TEXT) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ReviewInputError(field, "is required")
    if len(value) > limit:
        raise ReviewInputError(field, f"must be at most {limit} characters")
    return value.strip()


def assign(
    store: Store,
    request_id: str,
    *,
    assignee: str,
    by: str,
    may_reassign: bool,
    now: datetime | None = None,
) -> None:
    """Assign the case to `assignee` (received becomes in_review). A case assigned to someone
    else needs `may_reassign` (a supervisor); a decided case cannot be assigned:
    `ReviewConflictError` saying why."""
    _text("assignee", assignee, MAX_USER)
    try:
        store.reviews.assign(
            request_id,
            assignee=assignee,
            by=by,
            may_reassign=may_reassign,
            at=now or datetime.now(UTC),
        )
    except ReviewNotFound as error:
        raise ReviewNotFoundError(request_id) from error
    except ReviewStateConflict as error:
        raise ReviewConflictError(f"The case cannot be assigned: {error.message}.") from error


def extend(
    store: Store,
    request_id: str,
    *,
    months: int,
    reason: str,
    by: str,
    now: datetime | None = None,
) -> None:
    """Extend the deadline once by 1..2 calendar months, with a reason the applicant sees."""
    if type(months) is not int or not 1 <= months <= MAX_EXTENSION_MONTHS:
        raise ReviewInputError("months", f"must be a whole number within 1..{MAX_EXTENSION_MONTHS}")
    reason = _text("reason", reason)
    review = _review(store, request_id)
    if review.status == "withdrawn":
        raise ReviewWithdrawnError(review.withdrawn_reason or "")
    try:
        store.reviews.extend(
            request_id,
            due_at=add_months(review.due_at, months),
            reason=reason,
            by=by,
            at=now or datetime.now(UTC),
        )
    except ReviewStateConflict as error:
        raise ReviewConflictError(f"The deadline cannot be extended: {error.message}.") from error


def _checked_verdicts(
    review: StoredReview, verdicts: Sequence[LenderVerdict]
) -> list[LenderVerdict]:
    contested = [lender.lender_id for lender in review.lenders]
    given: dict[str, LenderVerdict] = {}
    for index, verdict in enumerate(verdicts):
        where = f"verdicts[{index}]"
        if verdict.lender_id not in contested:
            raise ReviewInputError(f"{where}.lender_id", f"{verdict.lender_id} is not contested")
        if verdict.lender_id in given:
            raise ReviewInputError(f"{where}.lender_id", f"{verdict.lender_id} is given twice")
        if verdict.verdict not in VERDICTS:
            raise ReviewInputError(f"{where}.verdict", f"must be one of {', '.join(VERDICTS)}")
        given[verdict.lender_id] = LenderVerdict(
            verdict.lender_id,
            verdict.verdict,
            _text(f"{where}.explanation", verdict.explanation),
            verdict.note.strip() if isinstance(verdict.note, str) else "",
        )
        if len(given[verdict.lender_id].note) > MAX_TEXT:
            raise ReviewInputError(f"{where}.note", f"must be at most {MAX_TEXT} characters")
    missing = [lender for lender in contested if lender not in given]
    if missing:
        raise ReviewInputError("verdicts", f"no verdict for {', '.join(missing)}")
    return [given[lender] for lender in contested]


def decide(
    store: Store,
    rulesets: CompiledRulesets,
    request_id: str,
    *,
    reviewer: str,
    verdicts: Sequence[LenderVerdict],
    corrections: Mapping[str, Any],
    now: datetime | None = None,
) -> ManualDecision:
    """Decide the case: one verdict per contested lender, each with an explanation for the
    applicant. Recorded as a manual decision in the decision log, referring to the automated
    one, with the corrected features and their outcomes under the same ruleset. Final: a
    second decide, even a concurrent one, raises `AlreadyDecidedError` (by whom, when)."""
    reviewer = _text("reviewer", reviewer, MAX_USER)
    review = _review(store, request_id)
    if review.status == "decided":
        raise AlreadyDecidedError(review.decided_by or "", review.decided_at or review.due_at)
    if review.status == "withdrawn":
        raise ReviewWithdrawnError(review.withdrawn_reason or "")
    checked = _checked_verdicts(review, verdicts)
    automated = _automated(store, review)
    ruleset = rulesets.get(automated.ruleset_hash)
    row = corrected_features(automated.features, corrections)
    at = now or datetime.now(UTC)
    manual = matcher.Decision(
        ruleset_hash=automated.ruleset_hash,
        decided_at=at,
        features=row,
        outcomes=matcher.evaluate(row, ruleset),
    )
    part = review_part(
        request_id=request_id,
        reviews=automated.decision_id,
        reviewer=reviewer,
        language=review.language,
        corrections=corrections,
        verdicts=[(v.lender_id, v.verdict, v.explanation) for v in checked],
    )
    try:
        stored = store.reviews.decide(
            request_id,
            reviewer=reviewer,
            at=at,
            verdicts=[
                ContestedLender(v.lender_id, v.verdict, v.explanation, v.note) for v in checked
            ],
            decision=manual,
            review=part,
        )
    except ReviewAlreadyDecided as error:
        raise AlreadyDecidedError(error.by, error.at) from error
    except ReviewNotFound as error:
        raise ReviewNotFoundError(request_id) from error
    except ReviewStateConflict as error:  # withdrawn meanwhile (its application erased)
        raise ReviewWithdrawnError("") from error
    return ManualDecision(
        stored.decision_id, reviewer, stored.decided_at, stored.features, tuple(checked)
    )
