"""The applicant's side of manual review: `POST /v1/applications/{id}/review-requests` and
`GET /v1/review-requests/{id}`.

An applicant rejected automatically by a lender may ask for a person to look at the decision
(GDPR art. 22(3)): their statement, optionally the lenders contested (by default every
lender that rejected the application) and the corrected facts they claim, each a feature of
the application with its new value (`income`, `employment`, `existing_debt`, ... ; the
feature contract, README "Features"). The answer is 202 with the request's id, status and
due date (one calendar month from receipt). One open request per application (a second is
409 `review_already_open`); an unknown application 404; a decision that rejected no lender
409 `nothing_to_review`; a contested lender that did not reject it, or a correction the
feature contract does not allow, 422 naming the field.

`GET /v1/review-requests/{id}` answers the status (received, in_review, extended: with the
new due date and the reason, decided: with each contested lender's outcome and the
caseworker's explanation, written in the applicant's language; withdrawn: the application was
erased while the request was open, `withdrawn_reason` says why). The status message is in the
language of `Accept-Language`.

Access as for decisions: the frontend key of the client whose application it is (another
client's application or request is 404, as an unknown one); an admin key reaches all. The
workflows are `broker.request_review` and `broker.review_status`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import Caller, authenticated
from api.body import json_body, validated
from api.deps import ServiceDep
from api.errors import error_responses
from api.language import LanguageDep
from broker import (
    MAX_EXTENSION_MONTHS,
    ReviewRequestStatus,
    ReviewStatus,
    Verdict,
    WithdrawalReason,
    request_review,
    review_status,
)
from lender_rules.vocabulary import LANGUAGES, Language

router = APIRouter(tags=["reviews"], dependencies=[authenticated])

MAX_STATEMENT = 10_000
MAX_LENDERS = 64


class ReviewRequestBody(BaseModel):
    """An applicant's request for a person to review the automated decision."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "statement": "My yearly income is 550 000, not 250 000: see my payslip.",
                    "lenders": ["fjordkreditt"],
                    "corrections": {"income": 550000},
                    "language": "en",
                }
            ]
        },
    )

    statement: str = Field(
        min_length=1, max_length=MAX_STATEMENT, description="The applicant's point of view."
    )
    lenders: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_LENDERS,
        description="The lenders contested; by default every lender that rejected it.",
    )
    corrections: dict[str, Any] = Field(
        default_factory=dict,
        max_length=64,
        description=(
            "Corrected facts the applicant claims: feature name -> new value (the feature "
            "contract; total_income and debt_to_income are worked out from the others)."
        ),
    )
    language: Language | None = Field(
        default=None,
        description="The applicant's language for the answer; by default Accept-Language's.",
    )


async def review_request_body(request: Request) -> ReviewRequestBody:
    """The request body validated as a `ReviewRequestBody` (JSON read by `api.body`)."""
    return validated(ReviewRequestBody, await json_body(request))


ReviewRequestBodyDep = Annotated[ReviewRequestBody, Depends(review_request_body)]

REVIEW_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ReviewRequestBody"}}
        },
    }
}


class ContestedLenderAnswer(BaseModel):
    """A contested lender; its outcome and the caseworker's explanation once decided."""

    lender_id: str
    name: str
    verdict: Verdict | None = Field(
        description="`override`: the application now counts as eligible; `uphold`: not."
    )
    eligible: bool | None = Field(description="Eligible for this lender after the review.")
    explanation: str | None = Field(
        description="The caseworker's explanation, in `explanation_language`."
    )


class ReviewRequestAnswer(BaseModel):
    """A review request as the applicant sees it."""

    request_id: str
    application_id: str
    status: ReviewStatus
    message: str = Field(description="What the status means, in `language`.")
    language: Language = Field(description="The language of `message`.")
    explanation_language: Language = Field(
        description="The applicant's language: the caseworker's explanations are in it."
    )
    received_at: datetime
    due_at: datetime = Field(
        description=(
            "When the answer is due: one calendar month from receipt, once extended by up to "
            f"{MAX_EXTENSION_MONTHS} months."
        )
    )
    extension_reason: str | None = Field(description="Why the due date was extended.")
    decided_at: datetime | None
    withdrawn_reason: WithdrawalReason | None = Field(
        default=None,
        description=(
            "Status `withdrawn`: the request was still open when its application was erased, "
            "at the applicant's request (`erasure`) or at the end of its retention period "
            "(`retention`); `message` says so in `language`."
        ),
    )
    lenders: list[ContestedLenderAnswer]


def _answer(status: ReviewRequestStatus, language: Language) -> ReviewRequestAnswer:
    return ReviewRequestAnswer(
        request_id=status.request_id,
        application_id=status.application_id,
        status=status.status,
        message=status.message,
        language=language,
        explanation_language=status.applicant_language,
        received_at=status.received_at,
        due_at=status.due_at,
        extension_reason=status.extension_reason,
        decided_at=status.decided_at,
        withdrawn_reason=status.withdrawn_reason,
        lenders=[
            ContestedLenderAnswer(
                lender_id=r.lender_id,
                name=r.lender_name,
                verdict=r.verdict,
                eligible=r.eligible,
                explanation=r.explanation,
            )
            for r in status.lenders
        ],
    )


CONTENT_LANGUAGE = {"Content-Language": {"schema": {"type": "string", "enum": list(LANGUAGES)}}}


@router.post(
    "/v1/applications/{application_id}/review-requests",
    status_code=202,
    summary="Ask for a person to review the automated decision",
    openapi_extra=REVIEW_REQUEST_BODY,
    responses={
        **error_responses(400, 401, 404, 409, 413, 415, 422, 503),
        202: {"description": "Received; due one month from now.", "headers": CONTENT_LANGUAGE},
    },
)
def submit_review_request(
    application_id: uuid.UUID,
    body: ReviewRequestBodyDep,
    service: ServiceDep,
    caller: Caller,
    language: LanguageDep,
    response: Response,
) -> ReviewRequestAnswer:
    """Open a review request on the application's automated decision (stored before this
    answers)."""
    status = request_review(
        service.store,
        service.rules.compiled,
        str(application_id),
        client=caller.readable_client,
        statement=body.statement,
        lenders=body.lenders,
        corrections=body.corrections,
        language=body.language or language,
    )
    response.headers["Content-Language"] = language
    return _answer(status, language)


@router.get(
    "/v1/review-requests/{request_id}",
    summary="The status of a review request, and its outcome once decided",
    responses={
        **error_responses(401, 404, 422, 503),
        200: {"headers": CONTENT_LANGUAGE},
    },
)
def get_review_request(
    request_id: uuid.UUID,
    service: ServiceDep,
    caller: Caller,
    language: LanguageDep,
    response: Response,
) -> ReviewRequestAnswer:
    """The request's status; once decided, each contested lender's outcome and explanation."""
    status = review_status(
        service.store,
        service.rules.compiled,
        str(request_id),
        client=caller.readable_client,
        language=language,
    )
    response.headers["Content-Language"] = language
    return _answer(status, language)
