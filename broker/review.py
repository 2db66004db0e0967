"""TEMPORARY (engineer 9b's branch only): the interface of the review backend as fixed in the
brief of issue 9, so that the caseworker screen can be built and type-checked before engineer
9a's `broker/review.py` is merged. Every function raises `NotImplementedError`; the merge
replaces this whole file with 9a's implementation (same names and shapes).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from audit import Store
from broker.rulesets import CompiledRulesets
from lender_rules.vocabulary import Language
from matcher import LenderExplanation

ReviewStatus = Literal["received", "in_review", "extended", "decided"]
REVIEW_STATUSES: tuple[ReviewStatus, ...] = ("received", "in_review", "extended", "decided")
Verdict = Literal["uphold", "override"]


@dataclass(frozen=True)
class CaseSummary:
    request_id: str
    application_id: str
    market: str
    status: ReviewStatus
    received_at: datetime
    due_at: datetime
    lenders: tuple[str, ...]
    assignee: str | None


@dataclass(frozen=True)
class QueuePage:
    cases: tuple[CaseSummary, ...]
    total: int
    page: int
    page_size: int


@dataclass(frozen=True)
class LenderView:
    lender_id: str
    lender_name: str
    eligible: bool
    explanation: LenderExplanation


@dataclass(frozen=True)
class CaseEvent:
    at: datetime
    actor: str
    what: str


@dataclass(frozen=True)
class CaseView:
    at: datetime
    viewer: str


@dataclass(frozen=True)
class LenderVerdict:
    lender_id: str
    verdict: Verdict
    explanation: str
    note: str


@dataclass(frozen=True)
class ManualDecision:
    decision_id: str
    reviewer: str
    decided_at: datetime
    corrected: Mapping[str, Any]
    verdicts: tuple[LenderVerdict, ...]


@dataclass(frozen=True)
class Case:
    summary: CaseSummary
    statement: str
    claimed_corrections: Mapping[str, Any]
    applicant_language: Language
    extension_reason: str | None
    personal: Mapping[str, Any] | None
    features: Mapping[str, Any]
    ruleset_hash: str
    automated_decision_id: str
    outcomes: tuple[LenderView, ...]
    history: tuple[CaseEvent, ...]
    views: tuple[CaseView, ...]
    decision: ManualDecision | None


_PENDING = "the review backend (engineer 9a's broker/review.py) is not merged yet"


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
    raise NotImplementedError(_PENDING)


def open_case(
    store: Store, rulesets: CompiledRulesets, request_id: str, *, viewer: str, language: Language
) -> Case:
    raise NotImplementedError(_PENDING)


def what_if(
    store: Store,
    rulesets: CompiledRulesets,
    request_id: str,
    corrections: Mapping[str, Any],
    *,
    language: Language,
) -> tuple[LenderView, ...]:
    raise NotImplementedError(_PENDING)


def assign(store: Store, request_id: str, *, assignee: str, by: str, may_reassign: bool) -> None:
    raise NotImplementedError(_PENDING)


def extend(store: Store, request_id: str, *, months: int, reason: str, by: str) -> None:
    raise NotImplementedError(_PENDING)


def decide(
    store: Store,
    rulesets: CompiledRulesets,
    request_id: str,
    *,
    reviewer: str,
    verdicts: Sequence[LenderVerdict],
    corrections: Mapping[str, Any],
) -> ManualDecision:
    raise NotImplementedError(_PENDING)
