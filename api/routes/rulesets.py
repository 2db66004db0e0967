"""`POST /v1/rulesets` (admin): validate, snapshot and activate a ruleset; `GET /v1/rulesets`.

A ruleset that does not load changes nothing: the answer is 422 with every problem (file,
requirement id, JSON path), and the active ruleset stays active. In the problems, `file` names
the lender document by its place in the body (`lenders[2]`). The body is read as every JSON
body is (`api.body`: JSON in UTF-8, no key twice), within its own size limit
(`LENDMATCH_MAX_RULESET_BODY_BYTES`, megabytes: a ruleset is larger than an application).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

import matcher
from api.auth import AdminRole, authenticated
from api.body import json_body, validated
from api.deps import ServiceDep
from api.errors import error_responses
from audit import RulesetVersion

router = APIRouter(prefix="/v1/rulesets", tags=["rulesets"], dependencies=[authenticated])


MAX_LENDERS = 1000


class RulesetUpload(BaseModel):
    """A whole ruleset: every lender document, as in `lender_rules/lenders/<id>.json`."""

    model_config = ConfigDict(extra="forbid")

    lenders: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_LENDERS)


async def ruleset_body(request: Request) -> RulesetUpload:
    """The request body validated as a `RulesetUpload` (JSON read by `api.body`)."""
    return validated(RulesetUpload, await json_body(request))


RulesetBody = Annotated[RulesetUpload, Depends(ruleset_body)]

RULESET_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RulesetUpload"}}},
    }
}


class RulesetVersionInfo(BaseModel):
    """A ruleset version the store holds."""

    ruleset_hash: str
    created_at: datetime = Field(description="When its snapshot was first stored.")
    activated_at: datetime | None = Field(description="When it was last made active.")
    active: bool


class RulesetVersions(BaseModel):
    """Every ruleset version, newest activation first."""

    active_hash: str | None
    versions: list[RulesetVersionInfo]


@router.post(
    "",
    status_code=201,
    summary="Validate, snapshot and activate a ruleset (admin)",
    openapi_extra=RULESET_REQUEST_BODY,
    responses=error_responses(400, 401, 403, 413, 415, 422, 503),
)
def activate_ruleset(
    upload: RulesetBody, service: ServiceDep, role: AdminRole
) -> RulesetVersionInfo:
    """Compile the lender documents; if every one loads, store a snapshot and make it active."""
    ruleset = matcher.ruleset_from_documents(upload.lenders, listed_as="lenders")
    service.rules.activate(ruleset)
    return _version_of(service, ruleset.hash)


@router.get(
    "",
    summary="List ruleset versions (admin)",
    responses=error_responses(401, 403, 503),
)
def list_rulesets(service: ServiceDep, role: AdminRole) -> RulesetVersions:
    """Every ruleset version the store holds, and which one is active."""
    return RulesetVersions(
        active_hash=service.rules.active_hash(),
        versions=[_version(v) for v in service.store.rulesets.versions()],
    )


def _version(record: RulesetVersion) -> RulesetVersionInfo:
    return RulesetVersionInfo(
        ruleset_hash=record.hash,
        created_at=record.created_at,
        activated_at=record.activated_at,
        active=record.active,
    )


def _version_of(service: ServiceDep, ruleset_hash: str) -> RulesetVersionInfo:
    for record in service.store.rulesets.versions():
        if record.hash == ruleset_hash:
            return _version(record)
    raise LookupError(ruleset_hash)  # the store just activated it
