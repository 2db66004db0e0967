"""`GET /v1/lenders` and `GET /v1/lenders/{lender_id}`: each lender's requirements in plain words.

Public, no API key: this is the "meaningful information about the logic involved" that an
applicant is owed (GDPR art. 13-15, 22) and it holds no personal data. It describes the
ruleset active now; a stored decision is explained under its own ruleset by
`GET /v1/applications/{id}/decision`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field

from api.deps import ServiceDep
from api.errors import NotFoundError, error_responses
from api.language import LanguageDep
from lender_rules.vocabulary import DEFAULT_LANGUAGE, Language, Market
from matcher import Ruleset

router = APIRouter(prefix="/v1/lenders", tags=["lenders"])


class RequirementInfo(BaseModel):
    """One requirement of a lender, for an applicant to read."""

    id: str = Field(description="Stable id; a rejection reason's `rule` names it.")
    reason: str = Field(description="Why an application that does not meet it is refused.")
    rule: str = Field(description="The requirement in plain words.")


class LenderInfo(BaseModel):
    """A lender and its base requirements."""

    lender_id: str
    name: str
    markets: list[str]
    requirements: list[RequirementInfo]


class LenderList(BaseModel):
    """Every lender of the active ruleset."""

    ruleset_hash: str
    language: Language
    lenders: list[LenderInfo]


class LenderDetail(LenderInfo):
    """One lender of the active ruleset."""

    ruleset_hash: str
    language: Language


def _lender_infos(ruleset: Ruleset, language: Language) -> list[LenderInfo]:
    return [
        LenderInfo(
            lender_id=lender.lender_id,
            name=lender.name,
            markets=list(lender.markets),
            requirements=[
                RequirementInfo(
                    id=requirement.id,
                    reason=requirement.reason.get(language)
                    or requirement.reason.get(DEFAULT_LANGUAGE, ""),
                    rule=requirement.plain(language),
                )
                for requirement in lender.requirements
            ],
        )
        for lender in ruleset.lenders
    ]


CONTENT_LANGUAGE = {"headers": {"Content-Language": {"schema": {"type": "string"}}}}


@router.get(
    "",
    summary="List lenders and their requirements",
    responses={**error_responses(422, 503), 200: CONTENT_LANGUAGE},
)
def list_lenders(
    service: ServiceDep,
    language: LanguageDep,
    response: Response,
    market: Annotated[Market | None, Query(description="Only lenders of this market.")] = None,
) -> LenderList:
    """Every lender of the active ruleset with its requirements in plain words."""
    ruleset = service.rules.now()
    lenders = _lender_infos(ruleset, language)
    if market is not None:
        lenders = [lender for lender in lenders if market in lender.markets]
    response.headers["Content-Language"] = language
    return LenderList(ruleset_hash=ruleset.hash, language=language, lenders=lenders)


@router.get(
    "/{lender_id}",
    summary="One lender and its requirements",
    responses={**error_responses(404, 422, 503), 200: CONTENT_LANGUAGE},
)
def get_lender(
    lender_id: Annotated[str, Path(max_length=100)],
    service: ServiceDep,
    language: LanguageDep,
    response: Response,
) -> LenderDetail:
    """One lender of the active ruleset with its requirements in plain words."""
    ruleset = service.rules.now()
    for lender in _lender_infos(ruleset, language):
        if lender.lender_id == lender_id:
            response.headers["Content-Language"] = language
            return LenderDetail(**lender.model_dump(), ruleset_hash=ruleset.hash, language=language)
    raise NotFoundError(f"No lender {lender_id!r} in the active ruleset.")
