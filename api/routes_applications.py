"""`POST /v1/applications` (decide and store) and `GET /v1/applications/{id}/decision`.

Idempotency: the `Idempotency-Key` header is optional but recommended; a front end that may
retry should always send one. A request with a key that was used before with the same body
(compared as data: key order and whitespace do not matter) makes no second decision and gets
the first answer again, status 201 as the first time, with the header `Idempotent-Replayed:
true` (the reasons in the language asked for by the retry). The same key with a different
body is refused with 409. The store compares the request digests under its chain lock, so
this holds for concurrent retries too, across processes.

Every answer is built from what the store holds after the commit (ids, decided_at, features,
per-lender bitmasks, ruleset hash), so the answer to a retry is the answer to the first call,
and `GET .../decision` gives it again later, also after another ruleset has become active.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from email.message import Message
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

import matcher
from api.deps import CallerRole, Language, LanguageDep, ServiceDep
from api.errors import (
    IdempotencyKeyReusedError,
    NotFoundError,
    UnsupportedMediaTypeError,
    error_responses,
)
from audit import StoredDecision
from matcher import Application, LenderExplanation, LenderOutcome

router = APIRouter(prefix="/v1/applications", tags=["applications"])

IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class EligibleLender(BaseModel):
    """A lender the application goes to."""

    lender_id: str
    name: str


class DecisionAnswer(BaseModel):
    """The automated decision on one application: where it goes, and why not elsewhere."""

    application_id: str
    decision_id: str
    ruleset_hash: str = Field(description="Content hash of the ruleset the decision used.")
    decided_at: datetime
    language: Language = Field(description="Language of the reasons' messages.")
    eligible_lenders: list[EligibleLender]
    rejected: list[LenderExplanation] = Field(
        description="Every other lender of the market, with reasons, values, thresholds, hints."
    )


async def application_body(request: Request) -> Application:
    """The request body validated as an `Application` (strict, straight from the JSON)."""
    content_type = request.headers.get("content-type")
    if content_type:
        parsed = Message()
        parsed["content-type"] = content_type
        subtype = parsed.get_content_subtype()
        if parsed.get_content_maintype() != "application" or not (
            subtype == "json" or subtype.endswith("+json")
        ):
            raise UnsupportedMediaTypeError(
                "The body must be JSON (Content-Type: application/json)."
            )
    try:
        return Application.model_validate_json(await request.body())
    except ValidationError as exc:
        errors = exc.errors(include_input=False, include_url=False)
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in errors]
        ) from None


ApplicationBody = Annotated[Application, Depends(application_body)]

APPLICATION_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Application"}}},
    }
}


def request_digest(application: Application) -> str:
    """SHA-256 of the application as canonical JSON: equal data, equal digest."""
    canonical = json.dumps(
        application.model_dump(mode="json"), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def answer(stored: StoredDecision, ruleset: matcher.Ruleset, language: Language) -> DecisionAnswer:
    """The answer for a stored decision, explained under the ruleset it was made with."""
    outcomes = tuple(
        LenderOutcome(lender_id, failed, unknown) for lender_id, failed, unknown in stored.outcomes
    )
    explanations = matcher.explain(stored.features, outcomes, ruleset, lang=language)
    return DecisionAnswer(
        application_id=str(stored.application_id),
        decision_id=str(stored.decision_id),
        ruleset_hash=stored.ruleset_hash,
        decided_at=stored.decided_at,
        language=language,
        eligible_lenders=[
            EligibleLender(lender_id=e.lender_id, name=e.name) for e in explanations if e.eligible
        ],
        rejected=[e for e in explanations if not e.eligible],
    )


@router.post(
    "",
    status_code=201,
    summary="Decide on an application and store the decision",
    openapi_extra=APPLICATION_REQUEST_BODY,
    responses={
        **error_responses(400, 401, 409, 413, 415, 422, 503),
        201: {
            "description": "Decided and stored (also a replay of an earlier request).",
            "headers": {
                "Idempotent-Replayed": {
                    "description": "`true` when this is the stored answer to an earlier request.",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                },
                "Content-Language": {"schema": {"type": "string", "enum": ["en", "nb", "sv"]}},
            },
        },
    },
)
def submit_application(
    application: ApplicationBody,
    service: ServiceDep,
    role: CallerRole,
    language: LanguageDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            pattern=IDEMPOTENCY_KEY_PATTERN,
            description=(
                "Optional, recommended: a unique key per application (e.g. a UUID). A retry "
                "with the same key and body gets the same answer and makes no new decision."
            ),
        ),
    ] = None,
) -> DecisionAnswer:
    """Decide for every lender of the application's market, store the decision, answer.

    The decision is committed to the store before this answers; if the store fails the answer
    is 503 and no decision is reported.
    """
    digest = request_digest(application)
    response.headers["Content-Language"] = language
    ruleset = service.rulesets.active()
    decision = matcher.decide(application, ruleset)
    application_id = str(uuid.uuid4())
    stored = service.store.record_decision(
        application_id=application_id,
        channel="api",
        decision=decision,
        personal=application.model_dump(mode="json"),
        idempotency_key=idempotency_key,
        request_digest=digest,
    )
    if stored.application_id != application_id:
        # The key was used before with this body (the store compared the digests, and raised
        # IdempotencyConflict, a 409, had they differed): the first answer stands.
        return _replay(service, stored, digest, response, language)
    service.metrics.observe_decision(decision.outcomes)
    response.headers["Idempotent-Replayed"] = "false"
    return answer(stored, ruleset, language)


def _replay(
    service: ServiceDep,
    earlier: StoredDecision,
    digest: str,
    response: Response,
    language: Language,
) -> DecisionAnswer:
    if earlier.request_digest != digest:
        raise IdempotencyKeyReusedError(
            "This Idempotency-Key was already used with a different request body."
        )
    response.headers["Idempotent-Replayed"] = "true"
    return answer(earlier, service.rulesets.by_hash(earlier.ruleset_hash), language)


@router.get(
    "/{application_id}/decision",
    summary="Explain a stored decision",
    responses={
        **error_responses(401, 404, 422, 503),
        200: {"headers": {"Content-Language": {"schema": {"type": "string"}}}},
    },
)
def get_decision(
    application_id: uuid.UUID,
    service: ServiceDep,
    role: CallerRole,
    language: LanguageDep,
    response: Response,
) -> DecisionAnswer:
    """The stored decision, explained from its stored features and its stored ruleset snapshot
    (not the ruleset active now)."""
    stored = service.store.get_decision(str(application_id))
    if stored is None:
        raise NotFoundError(f"No decision for application {application_id}.")
    response.headers["Content-Language"] = language
    return answer(stored, service.rulesets.by_hash(stored.ruleset_hash), language)
