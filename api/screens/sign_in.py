"""Signing in and out of the review screen, and picking its language.

`GET /review/sign-in` shows the form (and starts a session holding only a CSRF token);
`POST /review/sign-in` checks the name and password (Argon2, in a worker thread) and starts a
new session for the user; `POST /review/sign-out` ends it; `POST /review/language` keeps the
language picked. Every POST carries the session's CSRF token.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import ServiceDep
from api.screens.rendering import render
from api.screens.session import CsrfChecked, start_session
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
    user = service.store.caseworkers.authenticate(name, password)
    if user is None:
        return render(
            request,
            "sign_in.html",
            {"next": safe_next(next), "name": name, "failed": True, "signed_out": False},
            status_code=HTTPStatus.UNAUTHORIZED,
        )
    start_session(request, user)
    return RedirectResponse(safe_next(next), status_code=HTTPStatus.SEE_OTHER)


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
