"""Security of the review screen: sign-in, the session cookie, CSRF, roles, and the wall
between API keys and sessions."""

from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterator

import itsdangerous
import pytest
from fastapi.testclient import TestClient

from api.screens.session import SESSION_COOKIE
from tests.api.screens.conftest import PASSWORD, csrf_of, screen_api
from tests.api.screens.html import parse, text
from tests.api.screens.review_double import ReviewDouble
from tests.api.support import Api

SECRET = "s" * 40


def test_without_a_session_every_page_redirects_to_sign_in(screen: Api) -> None:
    for path in ("/review", "/review/cases/r-late", "/review?status=received"):
        answer = screen.client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/review/sign-in?next=%2Freview")


def test_an_api_key_never_opens_the_screen(screen: Api) -> None:
    for key in (screen.frontend_key, screen.admin_key):
        answer = screen.client.get("/review", headers={"X-API-Key": key}, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/review/sign-in")


def test_a_session_never_opens_the_api(sign_in: Callable[..., TestClient]) -> None:
    client = sign_in("sam")
    assert client.get("/review").status_code == 200
    assert client.get("/v1/rulesets").status_code == 401
    assert client.post("/v1/rulesets", json={}).status_code == 401


def test_signing_in_sets_a_signed_httponly_lax_cookie_scoped_to_the_screen(screen: Api) -> None:
    token = csrf_of(screen.client, "/review/sign-in")
    answer = screen.client.post(
        "/review/sign-in",
        data={"name": "kari", "password": PASSWORD, "csrf_token": token, "next": "/review?page=1"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/review?page=1"
    cookie = _cookie_attributes(answer.headers["set-cookie"])
    assert cookie["name"] == SESSION_COOKIE
    assert {"httponly", "path", "samesite", "max-age"} <= cookie.keys()
    assert (cookie["path"], cookie["samesite"].lower(), cookie["max-age"]) == (
        "/review",
        "lax",
        "1800",
    )
    assert "secure" not in cookie


@pytest.fixture
def secure_screen(sqlite_url: str, review: object) -> Iterator[Api]:
    yield from screen_api(sqlite_url, review_secure_cookie=True, review_idle_seconds=60)


def test_the_cookie_is_secure_when_the_setting_says_https(secure_screen: Api) -> None:
    answer = secure_screen.client.get("/review/sign-in")
    cookie = _cookie_attributes(answer.headers["set-cookie"])
    assert "secure" in cookie and cookie["max-age"] == "60"


def test_a_wrong_password_is_refused_without_a_session(screen: Api) -> None:
    token = csrf_of(screen.client, "/review/sign-in")
    answer = screen.client.post(
        "/review/sign-in",
        data={"name": "kari", "password": PASSWORD + "x", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 401
    page = parse(answer.text)
    assert text(page.one(".//*[@role='alert']")) == "The user name or password is wrong."
    assert screen.client.get("/review", follow_redirects=False).status_code == 303


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_a_form_without_the_sessions_csrf_token_is_refused(
    sign_in: Callable[..., TestClient], token: str | None
) -> None:
    client = sign_in()
    data = {} if token is None else {"csrf_token": token}
    for path in ("/review/cases/r-late/assign", "/review/sign-out", "/review/language"):
        answer = client.post(path, data={**data, "language": "nb"}, follow_redirects=False)
        assert answer.status_code == 403, path
        assert parse(answer.text).one(".//h1").text == "Not allowed"
    assert client.get("/review").status_code == 200  # still signed in, nothing changed


def test_sign_in_itself_needs_the_csrf_token(screen: Api) -> None:
    answer = screen.client.post(
        "/review/sign-in", data={"name": "kari", "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 403


def test_a_caseworker_may_not_reassign_and_a_supervisor_may(
    sign_in: Callable[..., TestClient], review: ReviewDouble
) -> None:
    client = sign_in("kari")
    token = csrf_of(client, "/review")
    refused = client.post(
        "/review/cases/r-late/reassign",
        data={"csrf_token": token, "assignee": "kari"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert text(parse(refused.text).one(".//*[@role='alert']")).startswith("Your role may not")
    assert review.cases["r-late"].summary.assignee is None
    client = sign_in("sam")
    token = csrf_of(client, "/review")
    allowed = client.post(
        "/review/cases/r-late/reassign",
        data={"csrf_token": token, "assignee": "kari"},
        follow_redirects=False,
    )
    assert allowed.status_code == 303
    assert review.cases["r-late"].summary.assignee == "kari"


def test_signing_out_ends_the_session(sign_in: Callable[..., TestClient]) -> None:
    client = sign_in()
    token = csrf_of(client, "/review")
    answer = client.post("/review/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_a_disabled_user_is_signed_out_at_once(
    screen: Api, sign_in: Callable[..., TestClient]
) -> None:
    client = sign_in()
    screen.service.store.caseworkers.disable("kari")
    assert client.get("/review", follow_redirects=False).status_code == 303


@pytest.fixture
def keyed_screen(sqlite_url: str, review: object) -> Iterator[Api]:
    yield from screen_api(sqlite_url, review_session_secret=SECRET, review_idle_seconds=600)


def _session_cookie(session: dict[str, str], *, signed_at: float) -> str:
    class Signer(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(signed_at)

    data = base64.b64encode(json.dumps(session).encode())
    return Signer(SECRET).sign(data).decode()


def test_a_session_idle_longer_than_the_timeout_is_over(keyed_screen: Api) -> None:
    client = keyed_screen.client
    fresh = _session_cookie({"user": "kari", "csrf": "t"}, signed_at=time.time() - 60)
    client.cookies.set(SESSION_COOKIE, fresh, path="/review")
    assert client.get("/review", follow_redirects=False).status_code == 200
    client.cookies.clear()
    idle = _session_cookie({"user": "kari", "csrf": "t"}, signed_at=time.time() - 601)
    client.cookies.set(SESSION_COOKIE, idle, path="/review")
    assert client.get("/review", follow_redirects=False).status_code == 303


def test_a_cookie_signed_with_another_secret_is_no_session(keyed_screen: Api) -> None:
    forged = itsdangerous.TimestampSigner("another secret" * 3).sign(
        base64.b64encode(json.dumps({"user": "sam"}).encode())
    )
    keyed_screen.client.cookies.set(SESSION_COOKIE, forged.decode(), path="/review")
    assert keyed_screen.client.get("/review", follow_redirects=False).status_code == 303


def test_the_password_is_never_logged(screen: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        token = csrf_of(screen.client, "/review/sign-in")
        for password in (PASSWORD, PASSWORD + "-wrong"):
            screen.client.post(
                "/review/sign-in",
                data={"name": "kari", "password": password, "csrf_token": token},
            )
    assert caplog.records  # something was logged
    assert PASSWORD not in caplog.text


def _cookie_attributes(header: str) -> dict[str, str]:
    first, *attributes = (part.strip() for part in header.split(";"))
    name, _, _ = first.partition("=")
    found = {"name": name}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        found[key.lower()] = value
    return found
