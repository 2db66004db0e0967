"""The case page: `GET /review/cases/{id}` shows the application, every lender's automated
outcome explained, the applicant's statement and claimed corrections, the history and who
viewed the case (opening it records the view: `broker.open_case`).

On the page:
- what-if (`POST .../what-if`): corrected values (prefilled with the applicant's claims)
  give every lender's outcome under the same ruleset (`broker.what_if`). With script, the
  outcomes are replaced in place (the answer is only the outcomes' fragment when the request
  says `X-Requested-With: fetch`); without, the whole page comes back with them.
- the decision (`POST .../decision`): per contested lender uphold or override, an explanation
  for the applicant and an internal note; it is shown back read-only for confirmation, and
  `POST .../decision/confirm` records it (`broker.decide`), with the corrected values used.
  A case decided meanwhile by someone else says by whom and when.
- the deadline extended once (`POST .../extend`), with a reason the applicant sees.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from http import HTTPStatus
from typing import Annotated, Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

import broker
from api.deps import ServiceDep, service_of
from api.screens.rendering import render
from api.screens.session import CsrfChecked, ScreenLanguage, SignedIn
from audit import Caseworker
from broker import VERDICTS, Case, LenderVerdict, LenderView
from lender_rules.vocabulary import Language
from matcher import CORRECTABLE_FEATURES, FEATURES

router = APIRouter(prefix="/review/cases", include_in_schema=False)

CORRECTABLE: tuple[str, ...] = CORRECTABLE_FEATURES
"""The features a caseworker may correct (every one but the market and the computed ones)."""

_FEATURES = {feature.name: feature for feature in FEATURES}
CORRECTION_PREFIX = "correct."
CORRECTIONS_FIELD = "corrections"  # how the workflows name a correction: corrections.income


class CorrectionError(Exception):
    """A corrected value typed on the page is not of its feature's type."""

    def __init__(self, feature: str) -> None:
        self.field = f"{CORRECTIONS_FIELD}.{feature}"
        super().__init__(self.field)


def corrections_of(form: FormData) -> dict[str, Any]:
    """The corrected values of the form (`correct.<feature>`), typed; empty fields skipped."""
    corrections: dict[str, Any] = {}
    for name in CORRECTABLE:
        raw = form.get(CORRECTION_PREFIX + name)
        if not isinstance(raw, str) or not raw.strip():
            continue
        raw = raw.strip()
        feature = _FEATURES[name]
        kind = feature.type.value
        if kind in ("int", "float"):
            try:
                corrections[name] = int(raw) if kind == "int" else float(raw)
            except ValueError:
                raise CorrectionError(name) from None
        elif kind == "bool":
            if raw not in ("true", "false"):
                raise CorrectionError(name)
            corrections[name] = raw == "true"
        elif feature.values and raw not in feature.values:
            raise CorrectionError(name)
        else:
            corrections[name] = raw
    return corrections


def flattened(values: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested personal data as rows of dotted keys (`applicant.name`), in their order."""
    rows: list[tuple[str, Any]] = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows += flattened(value, f"{name}.")
        else:
            rows.append((name, value))
    return rows


def _prefill(case: Case, corrections: Mapping[str, Any] | None) -> dict[str, Any]:
    chosen = case.claimed_corrections if corrections is None else corrections
    return {name: chosen.get(name, "") for name in CORRECTABLE}


def not_found(request: Request, user: Caseworker) -> HTMLResponse:
    """The page saying there is no such review request (404)."""
    return render(request, "not_found.html", {"user": user}, status_code=HTTPStatus.NOT_FOUND)


async def _run_in_thread(
    work: Callable[..., Response], request: Request, user: Caseworker, *args: Any
) -> Response:
    """`work(request, *args)` in a worker thread (the store and the matcher block); the 404
    page for an unknown review request."""
    try:
        return await anyio.to_thread.run_sync(partial(work, request, *args))
    except broker.ReviewNotFoundError:
        return not_found(request, user)
    except broker.ReviewConflictError:  # withdrawn (its application erased): read-only
        return RedirectResponse(
            f"/review/cases/{quote(str(args[0]))}?error=withdrawn", status_code=HTTPStatus.SEE_OTHER
        )


def case_page(
    request: Request,
    case: Case,
    user: Caseworker,
    *,
    corrections: Mapping[str, Any] | None = None,
    what_if: tuple[LenderView, ...] | None = None,
    drafts: Mapping[str, Mapping[str, str]] | None = None,
    error: str = "",
    status_code: int = HTTPStatus.OK,
) -> HTMLResponse:
    """The case page, with what-if outcomes, draft verdicts or an error when there are."""
    return render(
        request,
        "case.html",
        {
            "user": user,
            "case": case,
            "personal": None if case.personal is None else flattened(case.personal),
            "lender_views": sorted(
                case.outcomes, key=lambda view: view.lender_id not in case.summary.lenders
            ),
            "correctable": [_FEATURES[name] for name in CORRECTABLE],
            "prefill": _prefill(case, corrections),
            "what_if": what_if,
            "drafts": drafts or {},
            "error": error or request.query_params.get("error", ""),
            "verdicts": VERDICTS,
            "caseworkers": (
                [
                    u.name
                    for u in service_of(request).store.caseworkers.list_users()
                    if u.disabled_at is None
                ]
                if user.is_supervisor
                else []
            ),
        },
        status_code=status_code,
    )


def _open(service: ServiceDep, request_id: str, user: Caseworker, language: Language) -> Case:
    return broker.open_case(
        service.store,
        service.rules.compiled,
        request_id,
        viewer=user.name,
        language=language,
    )


@router.get("/{request_id}", response_class=HTMLResponse)
def show_case(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: SignedIn,
    language: ScreenLanguage,
) -> HTMLResponse:
    """The case page (the view is recorded)."""
    try:
        case = _open(service, request_id, user, language)
    except broker.ReviewNotFoundError:
        return not_found(request, user)
    return case_page(request, case, user)


@router.post("/{request_id}/what-if", dependencies=[CsrfChecked], response_model=None)
async def try_values(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: SignedIn,
    language: ScreenLanguage,
) -> Response:
    """Every lender's outcome with the corrected values: the fragment for a script, the
    page otherwise."""
    form = await request.form()
    fragment = request.headers.get("x-requested-with") == "fetch"
    return await _run_in_thread(
        _what_if, request, user, request_id, service, user, language, form, fragment
    )


def _what_if(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: Caseworker,
    language: Language,
    form: FormData,
    fragment: bool,
) -> HTMLResponse:
    error = ""
    outcomes: tuple[LenderView, ...] | None = None
    corrections: dict[str, Any] = {}
    try:
        corrections = corrections_of(form)
        outcomes = broker.what_if(
            service.store,
            service.rules.compiled,
            request_id,
            corrections,
            language=language,
        )
    except CorrectionError as bad:
        error = bad.field
    except broker.ReviewInputError as bad:
        error = f"{bad.field}: {bad.message}"
    status = HTTPStatus.UNPROCESSABLE_ENTITY if error else HTTPStatus.OK
    if fragment:
        return render(
            request,
            "what_if.html",
            {"what_if": outcomes, "error": error},
            status_code=status,
        )
    case = _open(service, request_id, user, language)
    return case_page(
        request,
        case,
        user,
        corrections=corrections,
        what_if=outcomes,
        drafts=_drafts(form, case),  # what was typed of the decision is kept
        error=error,
        status_code=status,
    )


def _drafts(form: FormData, case: Case) -> dict[str, dict[str, str]]:
    drafts: dict[str, dict[str, str]] = {}
    for lender_id in case.summary.lenders:
        drafts[lender_id] = {
            key: str(form.get(f"{key}.{lender_id}", "")).strip()
            for key in ("verdict", "explanation", "note")
        }
    return drafts


def _corrections_or_page(
    request: Request,
    case: Case,
    user: Caseworker,
    drafts: dict[str, dict[str, str]],
    form: FormData,
) -> dict[str, Any] | HTMLResponse:
    """The form's corrected values, or the case page again naming the bad one (422)."""
    try:
        return corrections_of(form)
    except CorrectionError as bad:
        return case_page(
            request,
            case,
            user,
            drafts=drafts,
            error=bad.field,
            status_code=HTTPStatus.UNPROCESSABLE_ENTITY,
        )


def _workable(case: Case) -> Case:
    """The case, or `ReviewWithdrawnError` if it was withdrawn (read-only)."""
    if case.summary.status == "withdrawn":
        raise broker.ReviewWithdrawnError(case.summary.withdrawn_reason or "")
    return case


def _missing(drafts: Mapping[str, Mapping[str, str]]) -> str:
    for lender_id, draft in drafts.items():
        if draft["verdict"] not in VERDICTS:
            return f"verdict.{lender_id}"
        if not draft["explanation"]:
            return f"explanation.{lender_id}"
    return ""


@router.post("/{request_id}/decision", dependencies=[CsrfChecked], response_model=None)
async def review_decision(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: SignedIn,
    language: ScreenLanguage,
) -> Response:
    """The decision shown back read-only with a confirm button (or the page with what is
    missing)."""
    form = await request.form()
    return await _run_in_thread(_review, request, user, request_id, service, user, language, form)


def _review(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: Caseworker,
    language: Language,
    form: FormData,
) -> HTMLResponse:
    case = _workable(_open(service, request_id, user, language))
    drafts = _drafts(form, case)
    corrections = _corrections_or_page(request, case, user, drafts, form)
    if isinstance(corrections, HTMLResponse):
        return corrections
    missing = _missing(drafts)
    if missing or case.decision is not None:
        return case_page(
            request,
            case,
            user,
            corrections=corrections,
            drafts=drafts,
            error=missing or "decided",
            status_code=HTTPStatus.UNPROCESSABLE_ENTITY if missing else HTTPStatus.CONFLICT,
        )
    return render(
        request,
        "confirm.html",
        {"user": user, "case": case, "drafts": drafts, "corrections": corrections},
    )


@router.post("/{request_id}/decision/confirm", dependencies=[CsrfChecked], response_model=None)
async def confirm_decision(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: SignedIn,
    language: ScreenLanguage,
) -> Response:
    """Record the manual decision; final. Someone else's decision first: told by whom."""
    form = await request.form()
    return await _run_in_thread(_confirm, request, user, request_id, service, user, language, form)


def _confirm(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: Caseworker,
    language: Language,
    form: FormData,
) -> HTMLResponse | RedirectResponse:
    case = _workable(_open(service, request_id, user, language))
    drafts = _drafts(form, case)
    corrections = _corrections_or_page(request, case, user, drafts, form)
    if isinstance(corrections, HTMLResponse):
        return corrections
    missing = _missing(drafts)
    if missing:
        return case_page(
            request,
            case,
            user,
            corrections=corrections,
            drafts=drafts,
            error=missing,
            status_code=HTTPStatus.UNPROCESSABLE_ENTITY,
        )
    verdicts = [
        LenderVerdict(
            lender_id=lender_id,
            verdict="override" if draft["verdict"] == "override" else "uphold",
            explanation=draft["explanation"],
            note=draft["note"],
        )
        for lender_id, draft in drafts.items()
    ]
    try:
        broker.decide(
            service.store,
            service.rules.compiled,
            request_id,
            reviewer=user.name,
            verdicts=verdicts,
            corrections=corrections,
        )
    except broker.AlreadyDecidedError as decided:
        return render(
            request,
            "already_decided.html",
            {"user": user, "case": case, "by": decided.by, "at": decided.at},
            status_code=HTTPStatus.CONFLICT,
        )
    except broker.ReviewInputError as bad:
        return case_page(
            request,
            case,
            user,
            corrections=corrections,
            drafts=drafts,
            error=f"{bad.field}: {bad.message}",
            status_code=HTTPStatus.UNPROCESSABLE_ENTITY,
        )
    return RedirectResponse(f"/review/cases/{request_id}", status_code=HTTPStatus.SEE_OTHER)


@router.post("/{request_id}/extend", dependencies=[CsrfChecked], response_model=None)
def extend_deadline(
    request: Request,
    request_id: str,
    service: ServiceDep,
    user: SignedIn,
    language: ScreenLanguage,
    months: Annotated[str, Form(max_length=8)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Extend the deadline once by 1 or 2 months, with a reason the applicant sees; a bad
    month count, an empty reason or a second extension gives the case page with why (422)."""
    number = int(months) if months.strip().isdecimal() else 0  # the workflow refuses 0
    try:
        broker.extend(service.store, request_id, months=number, reason=reason, by=user.name)
    except broker.ReviewNotFoundError:
        return not_found(request, user)
    except broker.ReviewInputError as bad:
        error = f"extend.{bad.field}"
    except broker.ReviewWithdrawnError:
        error = "withdrawn"
    except broker.ReviewConflictError:
        error = "extend.again"
    else:
        return RedirectResponse(f"/review/cases/{request_id}", status_code=HTTPStatus.SEE_OTHER)
    case = _open(service, request_id, user, language)
    return case_page(request, case, user, error=error, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)
