"""Who is using the review screen: the signed session cookie, the CSRF token, the caseworker.

The session is Starlette's `SessionMiddleware`: a cookie holding the session as JSON, signed
with `itsdangerous` (HMAC, with a timestamp) under `review_session_secret`. The cookie is
scoped to `/review`, HttpOnly, SameSite=Lax, Secure when `review_secure_cookie` is on, and
re-signed on every answer with `Max-Age` = `review_idle_seconds`; a cookie signed longer ago
than that is refused by the signer, so a session ends after that long without a request.

What a session holds: `csrf` (a random token put in every form and compared on every POST),
`user` (the caseworker's name, once signed in), `lang` (the screen's language, picked by the
caseworker). Signing in starts a new session (new token), so a token seen before sign-in is
worth nothing after. The user is looked up in the store on every request: a disabled user is
out at once.

API keys open none of this: the screen reads only its cookie, and the JSON API reads only
`X-API-Key` (a session opens no API route).
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import anyio.to_thread
from fastapi import Depends, Request

from api.deps import ServiceDep
from api.language import negotiate_language
from api.screens.errors import ScreenForbiddenError, SignInRequiredError
from audit import Caseworker
from broker import Settings
from lender_rules.vocabulary import LANGUAGES, Language

SESSION_COOKIE = "lendmatch_review"
SCREEN_PATH = "/review"
CSRF_FIELD = "csrf_token"


def session_middleware_options(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of `SessionMiddleware` for the review screen."""
    secret = settings.review_session_secret
    return {
        "secret_key": secret.get_secret_value() if secret else secrets.token_urlsafe(32),
        "session_cookie": SESSION_COOKIE,
        "max_age": settings.review_idle_seconds,
        "path": SCREEN_PATH,
        "same_site": "lax",
        "https_only": settings.review_secure_cookie,
    }


__all__ = [
    "CSRF_FIELD",
    "SCREEN_PATH",
    "SESSION_COOKIE",
    "CsrfChecked",
    "ScreenLanguage",
    "SignedIn",
    "Supervisor",
    "csrf_token",
    "screen_language",
    "session_middleware_options",
    "start_session",
]


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made when the session has none."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def start_session(request: Request, user: Caseworker) -> None:
    """A new session for `user` (new CSRF token), keeping only the language picked."""
    language = request.session.get("lang")
    request.session.clear()
    request.session["user"] = user.name
    if language in LANGUAGES:
        request.session["lang"] = language
    csrf_token(request)


def screen_language(request: Request) -> Language:
    """The language the caseworker picked, else the browser's (Accept-Language)."""
    picked = request.session.get("lang")
    for language in LANGUAGES:
        if picked == language:
            return language
    return negotiate_language(request.headers.get("accept-language"))


ScreenLanguage = Annotated[Language, Depends(screen_language)]


async def signed_in(request: Request, service: ServiceDep) -> Caseworker:
    """The signed-in caseworker; to the sign-in page without a session (or a disabled
    user)."""
    name = request.session.get("user")
    user = None
    if isinstance(name, str):
        user = await anyio.to_thread.run_sync(service.store.caseworkers.find, name)
    if user is None:
        request.session.pop("user", None)
        raise SignInRequiredError(request.url.path)
    return user


SignedIn = Annotated[Caseworker, Depends(signed_in)]


async def csrf_checked(request: Request) -> None:
    """403 unless the form's CSRF token is the session's (for every POST of the screen)."""
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not secrets.compare_digest(sent.encode(), expected.encode())
    ):
        raise ScreenForbiddenError("csrf")


CsrfChecked = Depends(csrf_checked)
"""For a POST route's `dependencies`: the form must carry the session's CSRF token."""


async def supervisor(user: SignedIn) -> Caseworker:
    """403 unless the signed-in user is a supervisor."""
    if not user.is_supervisor:
        raise ScreenForbiddenError("role")
    return user


Supervisor = Annotated[Caseworker, Depends(supervisor)]
