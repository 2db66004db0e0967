"""Fixtures of the review screen's tests: the app on a fresh SQLite file with a caseworker
and a supervisor, the review workflows stood in for by `ReviewDouble`, and sign-in."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.screens.html import parse
from tests.api.screens.review_double import ReviewDouble
from tests.api.support import Api, running_api

PASSWORD = "a long enough secret phrase"


@pytest.fixture
def review(monkeypatch: pytest.MonkeyPatch) -> ReviewDouble:
    """Three cases: one overdue (r-late), one due in 2 days (r-soon), one due in 20 (r-later)."""
    double = ReviewDouble(datetime.now(UTC))
    double.add("r-later", due_in=timedelta(days=20))
    double.add("r-late", due_in=timedelta(days=-1))
    double.add("r-soon", due_in=timedelta(days=2), market="SE")
    double.install(monkeypatch)
    return double


def screen_api(sqlite_url: str, **settings: Any) -> Iterator[Api]:
    with running_api(sqlite_url, **settings) as api:
        api.service.store.caseworkers.add("kari", "caseworker", PASSWORD)
        api.service.store.caseworkers.add("sam", "supervisor", PASSWORD)
        yield api


@pytest.fixture
def screen(sqlite_url: str, review: ReviewDouble) -> Iterator[Api]:
    """The app with two users of the screen: kari (caseworker) and sam (supervisor)."""
    yield from screen_api(sqlite_url)


def csrf_of(client: TestClient, path: str) -> str:
    """The CSRF token of the first form on the page at `path`."""
    page = parse(client.get(path).text)
    return page.all(".//input[@name='csrf_token']")[0].get("value") or ""


@pytest.fixture
def sign_in(screen: Api) -> Callable[..., TestClient]:
    """Sign `name` in on the screen's client (kari by default); the client keeps the cookie."""

    def signed_in(name: str = "kari") -> TestClient:
        client = screen.client
        token = csrf_of(client, "/review/sign-in")
        answer = client.post(
            "/review/sign-in",
            data={"name": name, "password": PASSWORD, "csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return client

    return signed_in
