"""A stand-in for the review workflows of `broker` (`queue`, `open_case`, `what_if`,
`assign`, `extend`, `decide`), in memory, with the interface's shapes and errors.

The screen's page and security tests put it in place of the workflows (`install`), so they
test the screen (routes, templates, sessions, forms) on cases whose content they control;
`test_real_backend.py` and the browser flow `test_review_flow.py` run the screen on the
real workflows and store.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

import broker
from broker import (
    AlreadyDecidedError,
    Case,
    CaseEvent,
    CaseSummary,
    CaseView,
    LenderVerdict,
    LenderView,
    ManualDecision,
    QueuePage,
    ReviewConflictError,
    ReviewInputError,
    ReviewNotFoundError,
)
from matcher import LenderExplanation, Reason

INCOME_FLOOR = 600_000  # nordbank's requirement in these cases


def _nordbank(income: int) -> LenderView:
    eligible = income >= INCOME_FLOOR
    reasons = (
        []
        if eligible
        else [
            Reason(
                code="nordbank.min_income",
                kind="failed",
                message="Income must be at least 600,000 a year.",
                rule="income is at least 600,000",
                values={"income": income},
                threshold=INCOME_FLOOR,
            )
        ]
    )
    return LenderView(
        lender_id="nordbank",
        lender_name="Nordbank ASA",
        eligible=eligible,
        explanation=LenderExplanation(
            lender_id="nordbank", name="Nordbank ASA", eligible=eligible, reasons=reasons
        ),
    )


def _fjord(remarks: int) -> LenderView:
    eligible = remarks == 0
    reasons = (
        []
        if eligible
        else [
            Reason(
                code="fjord.no_remarks",
                kind="failed",
                message="No payment remarks are allowed.",
                rule="payment_remarks equals 0",
                values={"payment_remarks": remarks},
                threshold=0,
            )
        ]
    )
    return LenderView(
        lender_id="fjord",
        lender_name="Fjordkreditt",
        eligible=eligible,
        explanation=LenderExplanation(
            lender_id="fjord", name="Fjordkreditt", eligible=eligible, reasons=reasons
        ),
    )


def _outcomes(features: Mapping[str, Any]) -> tuple[LenderView, ...]:
    return (_nordbank(int(features["income"])), _fjord(int(features["payment_remarks"])))


class ReviewDouble:
    """Review requests in memory: `cases` by request id; the calls it received."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.lock = threading.Lock()
        self.cases: dict[str, Case] = {}
        self.queue_calls: list[dict[str, Any]] = []
        self.decide_calls: list[dict[str, Any]] = []

    def add(
        self,
        request_id: str,
        *,
        due_in: timedelta,
        status: broker.ReviewStatus = "received",
        market: str = "NO",
        assignee: str | None = None,
    ) -> Case:
        features = {"market": market, "income": 550_000, "payment_remarks": 1, "age": 40}
        case = Case(
            summary=CaseSummary(
                request_id=request_id,
                application_id=f"app-{request_id}",
                market=market,
                status=status,
                received_at=self.now - timedelta(days=3),
                due_at=self.now + due_in,
                lenders=("nordbank", "fjord"),
                assignee=assignee,
            ),
            statement="My income rose to 640 000 in October; the remark was paid.",
            claimed_corrections={"income": 640_000},
            applicant_language="nb",
            extension_reason=None,
            personal={
                "name": "Kari Nordmann",
                "national_id": "01018512345",
                "address": {"city": "Bergen"},
            },
            features=features,
            ruleset_hash="a" * 64,
            automated_decision_id=f"dec-{request_id}",
            outcomes=_outcomes(features),
            history=(
                CaseEvent(at=self.now - timedelta(days=3), actor="applicant", what="received"),
            ),
            views=(),
            decision=None,
        )
        self.cases[request_id] = case
        return case

    def _case(self, request_id: str) -> Case:
        if request_id not in self.cases:
            raise ReviewNotFoundError(request_id)
        return self.cases[request_id]

    def queue(
        self,
        store: object,
        *,
        statuses: Collection[broker.ReviewStatus] | None = None,
        lender: str | None = None,
        market: str | None = None,
        due_before: date | None = None,
        page: int = 1,
        page_size: int = 25,
    ) -> QueuePage:
        self.queue_calls.append(
            {"statuses": statuses, "lender": lender, "market": market, "due_before": due_before}
        )
        found = [
            case.summary
            for case in self.cases.values()
            if (statuses is None or case.summary.status in statuses)
            and (lender is None or lender in case.summary.lenders)
            and (market is None or case.summary.market == market)
            and (due_before is None or case.summary.due_at.date() <= due_before)
        ]
        found.sort(key=lambda summary: summary.due_at)
        start = (page - 1) * page_size
        return QueuePage(
            cases=tuple(found[start : start + page_size]),
            total=len(found),
            page=page,
            page_size=page_size,
        )

    def open_case(
        self, store: object, rulesets: object, request_id: str, *, viewer: str, language: str
    ) -> Case:
        with self.lock:
            case = self._case(request_id)
            case = dataclasses.replace(
                case, views=(CaseView(at=datetime.now(UTC), viewer=viewer), *case.views)
            )
            self.cases[request_id] = case
            return case

    def what_if(
        self,
        store: object,
        rulesets: object,
        request_id: str,
        corrections: Mapping[str, Any],
        *,
        language: str,
    ) -> tuple[LenderView, ...]:
        case = self._case(request_id)
        income = corrections.get("income", case.features["income"])
        if not 0 <= int(income) <= 100_000_000:
            raise ReviewInputError("corrections.income", "must be between 0 and 100000000")
        return _outcomes({**case.features, **corrections})

    def assign(
        self, store: object, request_id: str, *, assignee: str, by: str, may_reassign: bool
    ) -> None:
        with self.lock:
            case = self._case(request_id)
            current = case.summary.assignee
            if current is not None and current != assignee and not may_reassign:
                raise ReviewConflictError(f"The case is assigned to {current}.")
            summary = dataclasses.replace(
                case.summary,
                assignee=assignee,
                status="in_review" if case.summary.status == "received" else case.summary.status,
            )
            self.cases[request_id] = dataclasses.replace(case, summary=summary)

    def extend(self, store: object, request_id: str, *, months: int, reason: str, by: str) -> None:
        with self.lock:
            case = self._case(request_id)
            if case.extension_reason is not None:
                raise ReviewConflictError("The deadline was already extended once.")
            summary = dataclasses.replace(
                case.summary,
                status="extended",
                due_at=case.summary.due_at + timedelta(days=30 * months),
            )
            self.cases[request_id] = dataclasses.replace(
                case, summary=summary, extension_reason=reason
            )

    def decide(
        self,
        store: object,
        rulesets: object,
        request_id: str,
        *,
        reviewer: str,
        verdicts: Sequence[LenderVerdict],
        corrections: Mapping[str, Any],
    ) -> ManualDecision:
        with self.lock:
            case = self._case(request_id)
            if case.decision is not None:
                raise AlreadyDecidedError(by=case.decision.reviewer, at=case.decision.decided_at)
            self.decide_calls.append(
                {
                    "reviewer": reviewer,
                    "verdicts": tuple(verdicts),
                    "corrections": dict(corrections),
                }
            )
            decision = ManualDecision(
                decision_id=f"manual-{request_id}",
                reviewer=reviewer,
                decided_at=datetime.now(UTC),
                corrected={**case.features, **corrections},
                verdicts=tuple(verdicts),
            )
            self.cases[request_id] = dataclasses.replace(
                case,
                decision=decision,
                summary=dataclasses.replace(case.summary, status="decided"),
            )
            return decision

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Put this double in place of the review workflows of `broker` for one test."""
        for name in ("queue", "open_case", "what_if", "assign", "extend", "decide"):
            monkeypatch.setattr(broker, name, getattr(self, name))
