"""The caseworker's review screen at `/review`: server-rendered pages (Jinja2), no JS framework.

`install_screens(app, settings)` adds what the screen needs to the app: the signed session
cookie (`session`), the count of wrong passwords (`sign_in_throttle`), its routers
(`sign_in`, `queue`, `case`), its static files (`/review/static`, from `api/static`, no CDN),
and the one place its errors become answers:
no session is a redirect to the sign-in page, a missing or wrong CSRF token or a role that
may not do something is a 403 page. The workflows are `broker`'s (`queue`, `open_case`,
`what_if`, `assign`, `extend`, `decide`); the texts are `texts.CATALOGUE` (en, nb, sv).
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from api.screens import case, queue, sign_in
from api.screens.errors import ScreenForbiddenError, SignInRequiredError
from api.screens.rendering import render
from api.screens.session import SCREEN_PATH, session_middleware_options
from api.screens.sign_in_throttle import SignInThrottle
from broker import Settings

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

__all__ = ["install_screens"]


async def _on_sign_in_required(request: Request, exc: Exception) -> Response:
    path = exc.path if isinstance(exc, SignInRequiredError) else SCREEN_PATH
    return RedirectResponse(
        f"{SCREEN_PATH}/sign-in?{sign_in.next_query(path)}", status_code=HTTPStatus.SEE_OTHER
    )


async def _on_forbidden(request: Request, exc: Exception) -> Response:
    reason = exc.reason if isinstance(exc, ScreenForbiddenError) else "role"
    return render(request, "forbidden.html", {"reason": reason}, status_code=HTTPStatus.FORBIDDEN)


def install_screens(app: FastAPI, settings: Settings) -> None:
    """Add the review screen to `app`: session cookie, routes, static files, error pages."""
    app.add_middleware(SessionMiddleware, **session_middleware_options(settings))
    app.state.sign_in_throttle = SignInThrottle(
        settings.review_sign_in_attempts, settings.review_sign_in_lockout_seconds
    )
    app.add_exception_handler(SignInRequiredError, _on_sign_in_required)
    app.add_exception_handler(ScreenForbiddenError, _on_forbidden)
    app.mount(f"{SCREEN_PATH}/static", StaticFiles(directory=STATIC_DIR), name="review-static")
    for router in (sign_in.router, queue.router, case.router):
        app.include_router(router)
