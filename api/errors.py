"""Every error the HTTP API answers, and the one place where errors become responses.

Each error is answered as JSON of the shape `ErrorBody`: a stable `error` code, a sentence for
people, and where the input was at fault the `problems`, each naming the field (`field`, as a
dotted path such as `body.applicant.national_id`). Bad input is always a 4xx, never a 500:

- malformed JSON (or not UTF-8): 400 `malformed_json`; a body not declared as JSON in UTF-8
  (no Content-Type, another media type or charset): 415 `unsupported_media_type`;
- a field that does not validate, or a key given twice: 422 `invalid_input`, one problem per
  field;
- a ruleset that does not load: 422 `invalid_ruleset`, every problem in `rule_problems`;
- a body over the limit (64 KiB by default, a ruleset 16 MiB; chunked bodies too): 413
  `body_too_large`;
- no or an unknown `X-API-Key`: 401; a key whose role may not do this: 403;
- no ruleset active yet: 503 `not_ready`; a decision needs a ruleset whose stored snapshot
  no longer matches its hash (changed in the store): 503 `ruleset_tampered`, never the
  changed rules or reasons;
- an unknown application or lender, a person of whom nothing is held (admins only: any other
  key is 403 on every subject route first): 404; an application whose processing a person on
  it has restricted, read with a frontend key: 403 `processing_restricted`;
- an `Idempotency-Key` reused with another body: 409;
- review requests: an unknown one 404; a second open request on an application 409
  `review_already_open`; a decision that rejected no lender 409 `nothing_to_review`; a case
  decided already 409 `already_decided` (who, when); another state conflict 409
  `review_conflict`; a contested lender that did not reject, or a bad correction, 422
  `invalid_input` naming the field (`body.lenders[1]`, `body.corrections.income`);
- the decision store cannot answer: 503 `store_unavailable` (and no decision is reported).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from audit import IdempotencyConflict, InvalidRecord, StoreUnavailable
from broker import (
    AlreadyDecidedError,
    BrokerError,
    DecisionNotFoundError,
    NoActiveRulesetError,
    NothingToReviewError,
    ProcessingRestrictedError,
    ReviewAlreadyOpenError,
    ReviewConflictError,
    ReviewInputError,
    ReviewNotFoundError,
    SnapshotMissingError,
    SnapshotTamperedError,
    SubjectNotFoundError,
)
from lender_rules.errors import Problem, RulesetError
from matcher import FeatureRowError

# --- what an error looks like on the wire -------------------------------------------------


class InputProblem(BaseModel):
    """One field of the request that is wrong."""

    field: str = Field(description="Where: `body.applicant.national_id`, `header.X-API-Key`.")
    loc: list[str | int] = Field(description="The same location as a list of keys and indexes.")
    message: str
    type: str = Field(description="A stable code of the kind of problem, e.g. `missing`.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: str = Field(description="A stable code, e.g. `invalid_input`, `store_unavailable`.")
    message: str
    problems: list[InputProblem] = Field(default_factory=list)
    rule_problems: list[Problem] = Field(default_factory=list)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI `responses` entries of the given error statuses, all `ErrorBody`."""
    return {
        status: {"model": ErrorBody, "description": HTTPStatus(status).phrase}
        for status in statuses
    }


# --- the errors the API raises ---------------------------------------------------------------


class ApiError(Exception):
    """An error answered with its own status and code."""

    status_code = 500
    code = "internal_error"

    def __init__(self, message: str, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.headers = dict(headers or {})


class UnauthenticatedError(ApiError):
    """The request carries no API key, or one the store does not know."""

    status_code = 401
    code = "unauthenticated"


class ForbiddenError(ApiError):
    """The API key's role may not do this (a frontend key on an admin route)."""

    status_code = 403
    code = "forbidden"


class NotFoundError(ApiError):
    """The addressed application, decision or lender does not exist."""

    status_code = 404
    code = "not_found"


class IdempotencyKeyReusedError(ApiError):
    """The `Idempotency-Key` was used before with a different request body."""

    status_code = 409
    code = "idempotency_key_reused"


class UnsupportedMediaTypeError(ApiError):
    """The request body is not declared as JSON in UTF-8."""

    status_code = 415
    code = "unsupported_media_type"


# --- turning errors into responses -----------------------------------------------------------


def error_response(
    status_code: int,
    code: str,
    message: str,
    *,
    problems: Sequence[InputProblem] = (),
    rule_problems: Sequence[Problem] = (),
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The JSON response of one error."""
    body = ErrorBody(
        error=code, message=message, problems=list(problems), rule_problems=list(rule_problems)
    )
    return JSONResponse(
        body.model_dump(mode="json"), status_code=status_code, headers=dict(headers or {})
    )


def _field_name(loc: Sequence[str | int]) -> str:
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def input_problems(errors: Sequence[Any]) -> list[InputProblem]:
    """Pydantic's (or FastAPI's) error dicts as `InputProblem`s; the input is never echoed."""
    problems = []
    for error in errors:
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        message = str(error.get("msg", "invalid"))
        detail = str((error.get("ctx") or {}).get("error", ""))
        if error.get("type") == "json_invalid" and detail not in message:
            message = f"{message}: {detail}"  # FastAPI's own "JSON decode error" says no more
        problems.append(
            InputProblem(
                field=_field_name(loc),
                loc=loc,
                message=message,
                type=str(error.get("type", "invalid")),
            )
        )
    return problems


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = cast(RequestValidationError, exc).errors()
    problems = input_problems(jsonable_encoder(errors, exclude={"input"}))
    if any(p.type == "json_invalid" for p in problems):
        return error_response(
            400, "malformed_json", "The body is not valid JSON.", problems=problems
        )
    fields = ", ".join(sorted({p.field for p in problems}))
    return error_response(422, "invalid_input", f"Invalid input: {fields}.", problems=problems)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    error = cast(ApiError, exc)
    return error_response(error.status_code, error.code, error.message, headers=error.headers)


async def _on_http_exception(request: Request, exc: Exception) -> JSONResponse:
    http_error = cast(StarletteHTTPException, exc)
    status = HTTPStatus(http_error.status_code)
    code = status.phrase.lower().replace(" ", "_").replace("-", "_")
    message = http_error.detail if isinstance(http_error.detail, str) else status.phrase
    headers = dict(http_error.headers or {})
    if status == HTTPStatus.METHOD_NOT_ALLOWED:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return error_response(status.value, code, message, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path (Starlette names only the first
    route's when several routes share a path)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] != Match.NONE:
            methods |= set(route_methods)
    return sorted(methods)


# The workflow layer's errors: (status, code) of each; the message is the error's own.
BROKER_ERRORS: dict[type[BrokerError], tuple[int, str]] = {
    NoActiveRulesetError: (503, "not_ready"),
    DecisionNotFoundError: (404, NotFoundError.code),
    SnapshotMissingError: (404, NotFoundError.code),
    SnapshotTamperedError: (503, "ruleset_tampered"),
    ReviewNotFoundError: (404, NotFoundError.code),
    ReviewAlreadyOpenError: (409, "review_already_open"),
    NothingToReviewError: (409, "nothing_to_review"),
    AlreadyDecidedError: (409, "already_decided"),
    ReviewConflictError: (409, "review_conflict"),
    SubjectNotFoundError: (404, NotFoundError.code),
    ProcessingRestrictedError: (403, "processing_restricted"),
}


async def _on_broker_error(request: Request, exc: Exception) -> JSONResponse:
    for kind in type(exc).__mro__:
        if kind in BROKER_ERRORS:
            status, code = BROKER_ERRORS[kind]
            return error_response(status, code, str(exc))
    raise exc  # a workflow error no answer was chosen for is a bug: a 500, logged


async def _on_store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    service = getattr(request.app.state, "service", None)
    if service is not None:
        service.metrics.store_failures.inc()
    return error_response(
        503,
        "store_unavailable",
        "The decision store is unavailable; nothing was decided. Retry later.",
        headers={"Retry-After": "1"},
    )


async def _on_idempotency_conflict(request: Request, exc: Exception) -> JSONResponse:
    return error_response(
        409,
        IdempotencyKeyReusedError.code,
        "This Idempotency-Key was already used with a different request body.",
    )


async def _on_ruleset_error(request: Request, exc: Exception) -> JSONResponse:
    problems = cast(RulesetError, exc).problems
    return error_response(
        422,
        "invalid_ruleset",
        f"The ruleset does not load ({len(problems)} problems); the active ruleset stays.",
        rule_problems=problems,
    )


async def _on_invalid_record(request: Request, exc: Exception) -> JSONResponse:
    record_error = cast(InvalidRecord, exc)
    problem = InputProblem(
        field=record_error.field,
        loc=record_error.field.split("."),
        message=record_error.message,
        type="invalid_record",
    )
    return error_response(422, "invalid_input", str(record_error), problems=[problem])


async def _on_feature_row_error(request: Request, exc: Exception) -> JSONResponse:
    feature_error = cast(FeatureRowError, exc)
    problem = InputProblem(
        field=f"features.{feature_error.feature}",
        loc=["features", feature_error.feature],
        message=feature_error.reason,
        type="feature_out_of_contract",
    )
    return error_response(
        422, "invalid_input", f"Invalid input: {feature_error}.", problems=[problem]
    )


def _location(field: str) -> list[str | int]:
    """`lenders[1].name` as `["lenders", 1, "name"]`."""
    loc: list[str | int] = []
    for part in field.split("."):
        name, _, rest = part.partition("[")
        loc.append(name)
        for index in rest.rstrip("]").split("]["):
            if index.isdigit():
                loc.append(int(index))
    return loc


async def _on_review_input_error(request: Request, exc: Exception) -> JSONResponse:
    review_error = cast(ReviewInputError, exc)
    loc: list[str | int] = ["body", *_location(review_error.field)]
    problem = InputProblem(
        field=_field_name(loc), loc=loc, message=review_error.message, type="invalid_review_input"
    )
    return error_response(
        422, "invalid_input", f"Invalid input: {problem.field}.", problems=[problem]
    )


def install_error_handlers(app: FastAPI) -> None:
    """Register every exception handler of the API on `app`."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(BrokerError, _on_broker_error)
    app.add_exception_handler(ReviewInputError, _on_review_input_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(StoreUnavailable, _on_store_unavailable)
    app.add_exception_handler(IdempotencyConflict, _on_idempotency_conflict)
    app.add_exception_handler(RulesetError, _on_ruleset_error)
    app.add_exception_handler(InvalidRecord, _on_invalid_record)
    app.add_exception_handler(FeatureRowError, _on_feature_row_error)
