"""The review queue: `GET /review`, filtered by status, lender, market and due date, oldest
due first, a page at a time; "assign to me" and a supervisor's reassignment.

Each request is one page query and one count (`broker.queue`); the marks "overdue" and "due
within 3 days" are computed here from the due date and written as text, not only colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

import broker
from api.deps import ServiceDep
from api.screens.rendering import render
from api.screens.session import CsrfChecked, SignedIn, Supervisor
from audit import Caseworker
from broker import REVIEW_STATUSES, CaseSummary, ReviewStatus
from lender_rules.vocabulary import MARKETS

router = APIRouter(prefix="/review", include_in_schema=False)

PAGE_SIZE = 25
SOON = timedelta(days=3)

Urgency = Literal["overdue", "soon", "none"]


@dataclass(frozen=True)
class QueueRow:
    """A case of the queue as the page shows it."""

    case: CaseSummary
    urgency: Urgency


def urgency(case: CaseSummary, now: datetime) -> Urgency:
    """Overdue, due within 3 days, or neither; a decided or withdrawn case is never urgent."""
    if case.status in ("decided", "withdrawn"):
        return "none"
    if case.due_at < now:
        return "overdue"
    return "soon" if case.due_at - now <= SOON else "none"


def _status(value: str) -> ReviewStatus | None:
    for status in REVIEW_STATUSES:
        if value == status:
            return status
    return None


@router.get("", response_class=HTMLResponse)
def queue_page(
    request: Request,
    service: ServiceDep,
    user: SignedIn,
    status: Annotated[str, Query(max_length=16)] = "",
    lender: Annotated[str, Query(max_length=64)] = "",
    market: Annotated[str, Query(max_length=2)] = "",
    due_before: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> HTMLResponse:
    """The queue page with the filters asked for (an unknown filter value shows everything)."""
    chosen = _status(status)
    due: date | None = None
    try:
        due = date.fromisoformat(due_before) if due_before else None
    except ValueError:
        due = None
    found = broker.queue(
        service.store,
        statuses=None if chosen is None else (chosen,),
        lender=lender or None,
        market=market if market in MARKETS else None,
        due_before=due,
        page=page,
        page_size=PAGE_SIZE,
    )
    now = datetime.now(UTC)
    filters = {
        "status": chosen or "",
        "lender": lender,
        "market": market if market in MARKETS else "",
        "due_before": due.isoformat() if due else "",
    }
    pages = max(1, math.ceil(found.total / found.page_size))

    def page_link(number: int) -> str:
        query = {key: value for key, value in filters.items() if value}
        return f"/review?{urlencode({**query, 'page': number})}"

    return render(
        request,
        "queue.html",
        {
            "user": user,
            "rows": [QueueRow(case, urgency(case, now)) for case in found.cases],
            "total": found.total,
            "page": found.page,
            "pages": pages,
            "previous": page_link(found.page - 1) if found.page > 1 else None,
            "next": page_link(found.page + 1) if found.page < pages else None,
            "filters": filters,
            "statuses": REVIEW_STATUSES,
            "markets": MARKETS,
            "lenders": sorted(
                (lender.lender_id, lender.name) for lender in service.rules.now().lenders
            ),
            "error": request.query_params.get("error", ""),
        },
    )


@router.post("/cases/{request_id}/assign", dependencies=[CsrfChecked], response_model=None)
def assign_to_me(
    request: Request, request_id: str, service: ServiceDep, user: SignedIn
) -> Response:
    """Assign the case to the signed-in caseworker (a case of someone else: supervisors
    only, via reassign)."""
    return _assign(request, service, request_id, user, assignee=user.name, may_reassign=False)


@router.post("/cases/{request_id}/reassign", dependencies=[CsrfChecked], response_model=None)
def reassign(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: Supervisor,
    assignee: Annotated[str, Form(max_length=64)],
) -> Response:
    """A supervisor assigns the case to another caseworker (403 for a caseworker)."""
    return _assign(request, service, request_id, user, assignee=assignee, may_reassign=True)


def _assign(
    request: Request,
    service: ServiceDep,
    request_id: str,
    user: Caseworker,
    *,
    assignee: str,
    may_reassign: bool,
) -> Response:
    target = f"/review/cases/{request_id}"
    if service.store.caseworkers.find(assignee) is None:
        return RedirectResponse(f"{target}?error=unknown_user", status_code=HTTPStatus.SEE_OTHER)
    try:
        broker.assign(
            service.store, request_id, assignee=assignee, by=user.name, may_reassign=may_reassign
        )
    except broker.ReviewNotFoundError:
        return render(request, "not_found.html", {"user": user}, status_code=HTTPStatus.NOT_FOUND)
    except broker.ReviewConflictError:
        return RedirectResponse(f"{target}?error=assigned", status_code=HTTPStatus.SEE_OTHER)
    return RedirectResponse(target, status_code=HTTPStatus.SEE_OTHER)
