"""Data-subject rights over HTTP, for the data-protection officer (an admin key):

- `GET /v1/subjects/{national_id}/export`: everything held about the person, one document
  (JSON Schema at `GET /v1/schemas/subject-export.json`);
- `POST /v1/subjects/{national_id}/rectification`: record corrected details;
- `POST /v1/subjects/{national_id}/erasure`: erase what no legal duty keeps;
- `POST /v1/subjects/{national_id}/restriction` and `DELETE` it (lift).

Any key other than an admin key gets 403 on every one of these routes, before the person is
looked up, so a frontend key cannot learn whether someone ever applied; an admin asking
about a person of whom nothing is held gets 404. The national id in the path is left out of
the access log (`api.log_redaction`) and the metrics (labelled by route template). The
workflows are `broker.subjects`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, Self

from fastapi import APIRouter, Depends, Path, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.auth import AdminRole, authenticated
from api.body import json_body, validated
from api.deps import ServiceDep
from api.errors import error_responses
from api.language import LanguageDep
from broker import (
    EXPORT_SCHEMA_FILE,
    RetentionPeriods,
    erase,
    export,
    lift_restriction,
    rectify,
    restrict,
)
from matcher import Email, Name, Phone

router = APIRouter(prefix="/v1/subjects", tags=["subjects"], dependencies=[authenticated])
schemas = APIRouter(prefix="/v1/schemas", tags=["subjects"])

NationalId = Annotated[
    str,
    Path(description="The person's national id (fødselsnummer or personnummer), any form."),
]


def _now() -> datetime:
    return datetime.now(UTC)


class Rectification(BaseModel):
    """Corrected personal details (at least one)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_dump(exclude_none=True):
            raise ValueError("give at least one of name, email, phone")
        return self


class RectificationAnswer(BaseModel):
    corrected_applications: list[str]
    new_decision: str = Field(
        description="How to have the application decided again with the corrected data."
    )


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="erasure request of the person", min_length=1, max_length=500)


class RestrictionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class RestrictionAnswer(BaseModel):
    restricted: bool
    changed: bool = Field(description="False when it was already so.")


async def _rectification(request: Request, _: AdminRole) -> Rectification:
    return validated(Rectification, await json_body(request))


async def _erasure(request: Request, _: AdminRole) -> ErasureRequest:
    raw = await request.body()
    return validated(ErasureRequest, await json_body(request) if raw else {})


async def _restriction(request: Request, _: AdminRole) -> RestrictionRequest:
    return validated(RestrictionRequest, await json_body(request))


def _periods(service: Any) -> RetentionPeriods:
    return RetentionPeriods.from_settings(service.settings)


@router.get(
    "/{national_id}/export",
    summary="Everything held about a person",
    responses={
        **error_responses(401, 403, 404, 503),
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
    },
)
def export_subject(
    national_id: NationalId, service: ServiceDep, _: AdminRole, language: LanguageDep
) -> JSONResponse:
    """One JSON document (schema: `/v1/schemas/subject-export.json`)."""
    document = export(
        service.store,
        service.rules.compiled,
        _periods(service),
        national_id,
        now=_now(),
        language=language,
    )
    return JSONResponse(jsonable_encoder(document))


@router.post(
    "/{national_id}/rectification",
    summary="Record corrected personal details",
    responses=error_responses(400, 401, 403, 404, 415, 422, 503),
)
def rectify_subject(
    national_id: NationalId,
    service: ServiceDep,
    body: Annotated[Rectification, Depends(_rectification)],
) -> RectificationAnswer:
    """The correction is recorded beside each application; decisions are not rewritten."""
    corrected = rectify(service.store, national_id, body.model_dump(exclude_none=True), now=_now())
    return RectificationAnswer(
        corrected_applications=corrected,
        new_decision=(
            "POST the application with the corrected details to /v1/applications: it is "
            "decided and recorded as a new decision."
        ),
    )


@router.post(
    "/{national_id}/erasure",
    summary="Erase what no legal duty keeps",
    responses=error_responses(400, 401, 403, 404, 415, 422, 503),
)
def erase_subject(
    national_id: NationalId,
    service: ServiceDep,
    body: Annotated[ErasureRequest, Depends(_erasure)],
) -> JSONResponse:
    """What was erased, and what was kept, why and until when."""
    answer = erase(service.store, _periods(service), national_id, reason=body.reason, now=_now())
    return JSONResponse(jsonable_encoder(answer))


@router.post(
    "/{national_id}/restriction",
    summary="Restrict processing of a person's applications",
    responses=error_responses(400, 401, 403, 404, 415, 422, 503),
)
def restrict_subject(
    national_id: NationalId,
    service: ServiceDep,
    body: Annotated[RestrictionRequest, Depends(_restriction)],
) -> RestrictionAnswer:
    changed = restrict(service.store, national_id, reason=body.reason, now=_now())
    return RestrictionAnswer(restricted=True, changed=changed)


@router.delete(
    "/{national_id}/restriction",
    summary="Lift a restriction of processing",
    responses=error_responses(401, 403, 404, 503),
)
def lift_subject_restriction(
    national_id: NationalId, service: ServiceDep, _: AdminRole
) -> RestrictionAnswer:
    changed = lift_restriction(service.store, national_id, now=_now())
    return RestrictionAnswer(restricted=False, changed=changed)


@schemas.get("/subject-export.json", summary="JSON Schema of the subject export")
def subject_export_schema() -> JSONResponse:
    """The JSON Schema a subject export follows (public, stable URL)."""
    return JSONResponse(json.loads(EXPORT_SCHEMA_FILE.read_text(encoding="utf-8")))
