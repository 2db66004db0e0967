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
Reviews: `GET .../decision` answers the automated decision with every override of a manual
review applied since: an overridden lender is listed among `eligible_lenders` with
`by_review: true` (and no longer among `rejected`); the stored automated decision is not
changed (`broker.stored_decision`).

Access: every route needs an API key, checked before the body is read (a request without a
valid key is 401 whatever its body). A decision belongs to the client of the key that asked
for it; idempotency keys are the client's own (the same key from another client is another
request); a frontend key reads only its client's decisions (another client's application is
404, as an unknown one), an admin key reads every client's.

The workflow itself is `broker.decide_and_record`; this module is its HTTP face.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import BaseModel, Field, TypeAdapter

from api.auth import Caller, authenticated
from api.body import json_bytes, validated_json
from api.deps import ServiceDep
from api.errors import error_responses
from api.examples import openapi_examples
from api.language import LanguageDep
from api.service import Service
from broker import RecordedDecision, decide_and_record_async, stored_decision
from lender_rules.vocabulary import LANGUAGES, Language
from matcher import Application, LenderExplanation, validation_context

PATH = "/v1/applications"
"""Where applications are posted (`api.fast_path` answers ordinary requests there itself)."""

router = APIRouter(prefix=PATH, tags=["applications"], dependencies=[authenticated])

IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class EligibleLender(BaseModel):
    """A lender the application goes to."""

    lender_id: str
    name: str
    by_review: bool = Field(
        default=False,
        description=(
            "True when the automated decision rejected it and a caseworker's review "
            "overrode that: the application counts as eligible for this lender."
        ),
    )


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


async def application_body(request: Request, service: ServiceDep) -> Application:
    """The request body validated as an `Application` (strict; JSON read by `api.body`);
    synthetic test national ids only when the service accepts them (demo and test mode)."""
    context = validation_context(synthetic_ids=service.settings.synthetic_ids)
    return validated_json(Application, await json_bytes(request), context)


ApplicationBody = Annotated[Application, Depends(application_body)]

APPLICATION_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Application"},
                "examples": openapi_examples(),
            }
        },
    }
}


def answer(recorded: RecordedDecision, language: Language) -> DecisionAnswer:
    """The answer for a stored decision, explained under the ruleset it was made with."""
    stored = recorded.stored
    explanations = recorded.explain(language)
    return DecisionAnswer(
        application_id=str(stored.application_id),
        decision_id=str(stored.decision_id),
        ruleset_hash=stored.ruleset_hash,
        decided_at=stored.decided_at,
        language=language,
        eligible_lenders=[
            EligibleLender(
                lender_id=e.lender_id, name=e.name, by_review=e.lender_id in recorded.overridden
            )
            for e in explanations
            if e.eligible or e.lender_id in recorded.overridden
        ],
        rejected=[
            e for e in explanations if not e.eligible and e.lender_id not in recorded.overridden
        ],
    )


_ANSWER = TypeAdapter(DecisionAnswer)


async def decide_and_answer(
    service: Service,
    application: Application,
    *,
    client: str,
    idempotency_key: str | None,
    language: Language,
) -> Response:
    """Decide on a checked application, store the decision, and give the 201 answer (counted
    in the metrics when it is a new one), serialised once, straight from the model: what the
    route and `api.fast_path` both run once a request has passed their checks."""
    recorded = await decide_and_record_async(
        service.store,
        service.rules,
        application,
        channel="api",
        idempotency_key=idempotency_key,
        client=client,
    )
    if recorded.decision is not None:
        service.metrics.observe_decision(recorded.decision.outcomes)
    return Response(
        _ANSWER.dump_json(answer(recorded, language)),
        status_code=201,
        media_type="application/json",
        headers={
            "Content-Language": language,
            "Idempotent-Replayed": "true" if recorded.replayed else "false",
        },
    )


@router.post(
    "",
    status_code=201,
    response_model=DecisionAnswer,
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
                "Content-Language": {"schema": {"type": "string", "enum": list(LANGUAGES)}},
            },
        },
    },
)
async def submit_application(
    application: ApplicationBody,
    service: ServiceDep,
    caller: Caller,
    language: LanguageDep,
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
) -> Response:
    """Decide for every lender of the application's market, store the decision, answer.

    The decision is committed to the store before this answers; if the store fails the answer
    is 503 and no decision is reported.

    On the event loop: the decision and its answer are computed here, and the commit is
    awaited (the store's group commit writes it from its own thread, with every decision
    queued meanwhile), so a request costs no thread-pool hop. The answer is serialised once,
    straight from the model (`DecisionAnswer` is what OpenAPI documents). Ordinary requests
    are answered the same way without the framework's machinery by `api.fast_path`; this
    route answers the others (and documents the route).
    """
    return await decide_and_answer(
        service,
        application,
        client=caller.client,
        idempotency_key=idempotency_key,
        language=language,
    )


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
    caller: Caller,
    language: LanguageDep,
    response: Response,
) -> DecisionAnswer:
    """The stored decision, explained from its stored features and its stored ruleset snapshot
    (not the ruleset active now). A frontend key finds only its own client's applications."""
    recorded = stored_decision(
        service.store,
        service.rules.compiled,
        str(application_id),
        client=caller.readable_client,
    )
    response.headers["Content-Language"] = language
    return answer(recorded, language)
