"""Too many wrong passwords lock a user name out of the review screen for a while."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.screens.sign_in_throttle import SignInThrottle
from tests.api.screens.conftest import PASSWORD, csrf_of, screen_api
from tests.api.screens.html import parse, text
from tests.api.support import Api


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_name_is_locked_after_the_allowed_failures_until_the_lockout_passes() -> None:
    clock = Clock()
    throttle = SignInThrottle(attempts=3, lockout_seconds=600, clock=clock)
    for _ in range(2):
        throttle.failed("Kari")
        assert throttle.seconds_locked("kari") == 0
    throttle.failed("KARI")  # the case of the name gives no extra tries
    assert throttle.seconds_locked("kari") == 600
    assert throttle.seconds_locked("sam") == 0
    clock.now += 599.5
    assert throttle.seconds_locked("kari") == 1
    clock.now += 0.5
    assert throttle.seconds_locked("kari") == 0
    throttle.failed("kari")  # the window passed: counting starts again
    assert throttle.seconds_locked("kari") == 0


def test_a_success_clears_the_count() -> None:
    throttle = SignInThrottle(attempts=2, lockout_seconds=60, clock=Clock())
    throttle.failed("kari")
    throttle.succeeded("kari")
    throttle.failed("kari")
    assert throttle.seconds_locked("kari") == 0


def test_made_up_names_cannot_grow_the_memory() -> None:
    throttle = SignInThrottle(attempts=1, lockout_seconds=60, clock=Clock(), max_names=100)
    for number in range(1000):
        throttle.failed(f"name-{number}")
    assert throttle.seconds_locked("name-999") == 60
    assert throttle.seconds_locked("name-0") == 0  # forgotten, oldest first
    assert len(throttle._failures) == 100


@pytest.fixture
def strict_screen(sqlite_url: str) -> Iterator[Api]:
    yield from screen_api(sqlite_url, review_sign_in_attempts=2)


def _sign_in(screen: Api, name: str, password: str) -> tuple[int, str, str | None]:
    token = csrf_of(screen.client, "/review/sign-in")
    answer = screen.client.post(
        "/review/sign-in",
        data={"name": name, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    alert = parse(answer.text).all(".//*[@role='alert']") if answer.status_code != 303 else []
    return answer.status_code, text(alert[0]) if alert else "", answer.headers.get("retry-after")


def test_the_screen_refuses_even_the_right_password_once_the_name_is_locked(
    strict_screen: Api,
) -> None:
    assert _sign_in(strict_screen, "kari", "wrong")[0] == 401
    assert _sign_in(strict_screen, "kari", "wrong")[0] == 401
    status, alert, retry_after = _sign_in(strict_screen, "kari", PASSWORD)
    assert status == 429
    assert alert == "Too many wrong passwords for this user name. Try again in 15 min."
    assert retry_after == "900"
    assert strict_screen.client.get("/review", follow_redirects=False).status_code == 303
    # another user is not locked out by kari's failures
    assert _sign_in(strict_screen, "sam", PASSWORD)[0] == 303
