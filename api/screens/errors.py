"""The review screen's own errors. They become answers in one place, `api.screens.install`:
a redirect to the sign-in page, or an HTML page saying what is refused (never JSON: people
read these)."""

from __future__ import annotations

from typing import Literal

Refusal = Literal["csrf", "role"]


class ScreenError(Exception):
    """An error of the review screen, answered as a page or a redirect."""


class SignInRequiredError(ScreenError):
    """No session (or an ended one): the caseworker must sign in, then comes back to `path`."""

    def __init__(self, path: str) -> None:
        super().__init__(f"sign in to open {path}")
        self.path = path


class ScreenForbiddenError(ScreenError):
    """Refused: a form without the session's CSRF token, or a role that may not do this."""

    def __init__(self, reason: Refusal) -> None:
        super().__init__(f"forbidden: {reason}")
        self.reason = reason
