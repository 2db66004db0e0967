"""Signing in and out of the review screen, and picking its language.

`GET /review/sign-in` shows the form (and starts a session holding only a CSRF token);
`POST /review/sign-in` checks the name and password (Argon2, in a worker thread) and starts a
new session for the user; after too many wrong passwords for a name it answers 429 without
checking (`sign_in_throttle`); `POST /review/sign-out` ends it; `POST /review/language` keeps the
language picked. Every POST carries the session's CSRF token.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import ServiceDep
from api.screens.rendering import render
from api.screens.session import CsrfChecked, start_session
from api.screens.sign_in_throttle import SignInThrottle
from lender_rules.vocabulary import LANGUAGES

router = APIRouter(prefix="/review", include_in_schema=False)

HOME = "/review"


def safe_next(target: str | None) -> str:
    """`target` if it is a path of the review screen, else the queue (no open redirect)."""
    if target and target.startswith("/review") and not target.startswith("//"):
        return target
    return HOME


def next_query(path: str) -> str:
    """The sign-in page's query that brings the caseworker back to `path` afterwards."""
    return urlencode({"next": safe_next(path)})


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, next: str = HOME, signed_out: bool = False) -> HTMLResponse:
    """The sign-in form."""
    return render(
        request,
        "sign_in.html",
        {"next": safe_next(next), "name": "", "failed": False, "signed_out": signed_out},
    )


@router.post("/sign-in", dependencies=[CsrfChecked], response_model=None)
def sign_in(
    request: Request,
    service: ServiceDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form()] = HOME,
) -> HTMLResponse | RedirectResponse:
    """Start a session for the user if the password is theirs; the form again otherwise."""
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    locked = throttle.seconds_locked(name)
    if locked:
        return _form_again(
            request, next, name, HTTPStatus.TOO_MANY_REQUESTS, minutes=math.ceil(locked / 60)
        )
    user = service.store.caseworkers.authenticate(name, password)
    if user is None:
        throttle.failed(name)
        return _form_again(request, next, name, HTTPStatus.UNAUTHORIZED)
    throttle.succeeded(name)
    start_session(request, user)
    return RedirectResponse(safe_next(next), status_code=HTTPStatus.SEE_OTHER)


def _form_again(
    request: Request, next: str, name: str, status: HTTPStatus, minutes: int | None = None
) -> HTMLResponse:
    """The sign-in form with why it failed: a wrong password, or locked for `minutes`."""
    context = {
        "next": safe_next(next),
        "name": name,
        "failed": True,
        "locked_minutes": minutes,
        "signed_out": False,
    }
    headers = {"Retry-After": str(minutes * 60)} if minutes else None
    return render(request, "sign_in.html", context, status_code=status, headers=headers)


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request) -> RedirectResponse:
    """End the session."""
    request.session.clear()
    return RedirectResponse(f"{HOME}/sign-in?signed_out=true", status_code=HTTPStatus.SEE_OTHER)


@router.post("/language", dependencies=[CsrfChecked])
def pick_language(
    request: Request,
    language: Annotated[str, Form()],
    next: Annotated[str, Form()] = HOME,
) -> RedirectResponse:
    """Keep the language picked for the screen's labels, then back to the page."""
    if language in LANGUAGES:
        request.session["lang"] = language
    return RedirectResponse(safe_next(next), status_code=HTTPStatus.SEE_OTHER)
