"""`api.fast_path` against the FastAPI route it stands in for: the same requests, sent to an
app with the fast path and to one without it, get the same answers (status, headers, body
but for the new ids and times), the same metrics, the same idempotency; and the fast path
really answers the ordinary ones."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import api.fast_path
from api import body as api_body
from audit import StoreUnavailable
from matcher.generate import generate
from tests.api.support import Api, application, running_api, with_value
from tests.api.test_access import metric_samples

NEW_EACH_TIME = ("application_id", "decision_id", "decided_at")
HEADERS = ("content-type", "content-language", "idempotent-replayed", "content-length")


@pytest.fixture
def pair(database_url: str, tmp_path: Path) -> Iterator[tuple[Api, Api]]:
    """(the app with the fast path on `database_url`, the app without it on SQLite), with
    their keys known to their caches (as after a first request)."""
    with (
        running_api(database_url) as fast,
        running_api(f"sqlite:///{tmp_path / 'slow.sqlite'}", fast_path=False) as slow,
    ):
        for running in (fast, slow):
            unknown = "/v1/applications/00000000-0000-4000-8000-000000000000/decision"
            for key in (running.frontend_key, running.admin_key):
                assert running.client.get(unknown, headers={"X-API-Key": key}).status_code == 404
        yield fast, slow


@pytest.fixture
def fast_answers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Grows by one each time the fast path (not the route) answers a decision."""
    answered: list[int] = []
    respond = api.fast_path.decide_and_answer

    async def counted(*args: Any, **kwargs: Any) -> Any:
        response = await respond(*args, **kwargs)
        answered.append(1)
        return response

    monkeypatch.setattr(api.fast_path, "decide_and_answer", counted)
    return answered


def post(running: Api, body: bytes, key: str | None, headers: dict[str, str]) -> Any:
    sent = {"Content-Type": "application/json", **headers}
    if key is not None:
        sent["X-API-Key"] = key
    return running.client.post("/v1/applications", content=body, headers=sent)


def seen(response: Any) -> tuple[int, dict[str, str | None], Any]:
    """What must be equal: status, the route's headers, the body without new ids and times."""
    body = response.json()
    if response.status_code == 201:
        body = {name: value for name, value in body.items() if name not in NEW_EACH_TIME}
    return response.status_code, {name: response.headers.get(name) for name in HEADERS}, body


def both(
    pair: tuple[Api, Api], body: bytes, *, key: str | None = "frontend", **headers: str
) -> tuple[Any, Any]:
    fast, slow = pair
    keys = {
        "frontend": (fast.frontend_key, slow.frontend_key),
        "admin": (fast.admin_key, slow.admin_key),
        None: (None, None),
    }.get(key, (key, key))
    return post(fast, body, keys[0], headers), post(slow, body, keys[1], headers)


def same(pair: tuple[Api, Api], body: bytes, **options: Any) -> int:
    fast, slow = both(pair, body, **options)
    assert seen(fast) == seen(slow)
    return int(fast.status_code)


def encoded(data: Any) -> bytes:
    return json.dumps(data).encode()


def test_ordinary_requests_are_answered_by_the_fast_path_as_by_the_route(
    pair: tuple[Api, Api], fast_answers: list[int]
) -> None:
    for body in (application("NO"), application("SE")):
        assert same(pair, encoded(body)) == 201
    assert same(pair, encoded(application()), key="admin") == 201
    for language in ("nb-NO, sv;q=0.8", "sv", "*", "xx, en;q=0.1", "nonsense;;q=x"):
        assert same(pair, encoded(application()), **{"Accept-Language": language}) == 201
    assert same(pair, encoded(application()), **{"Content-Type": "application/json; charset=UTF-8"})
    assert same(pair, encoded(application()), **{"Content-Type": "application/problem+json"})
    assert len(fast_answers) == 10


def test_idempotency_is_the_same_on_both_paths(
    pair: tuple[Api, Api], fast_answers: list[int]
) -> None:
    first = encoded(application())
    assert same(pair, first, **{"Idempotency-Key": "order-1"}) == 201
    fast, slow = both(pair, first, **{"Idempotency-Key": "order-1", "Accept-Language": "nb"})
    assert seen(fast) == seen(slow)
    assert fast.headers["Idempotent-Replayed"] == "true"
    reordered = json.dumps(dict(reversed(list(application().items())))).encode()
    assert same(pair, reordered, **{"Idempotency-Key": "order-1"}) == 201
    other = encoded(with_value(application(), "loan.amount", 90_000))
    assert same(pair, other, **{"Idempotency-Key": "order-1"}) == 409
    assert same(pair, first, key="admin", **{"Idempotency-Key": "order-1"}) == 201
    assert len(fast_answers) == 4  # the 409 is the app's own handler's


def test_every_refused_request_gets_the_routes_answer(
    pair: tuple[Api, Api], fast_answers: list[int]
) -> None:
    body = encoded(application())
    refused = [
        same(pair, body, key=None),
        same(pair, body, key="lmk_not_a_key"),
        same(pair, body, **{"Content-Type": "text/plain"}),
        same(pair, body, **{"Content-Type": "application/json; charset=latin-1"}),
        same(pair, body, **{"Idempotency-Key": "with space"}),
        same(pair, body, **{"Idempotency-Key": "x" * 256}),
        same(pair, body, **{"Accept-Language": "en" + ", en" * 400}),
        same(pair, b'{"market": "NO",'),
        same(pair, b"\xff\xfe"),
        same(pair, b'{"market": NaN}'),
        same(pair, b'{"market": "NO", "market": "SE"}'),
        same(pair, b'{"market": "\\ud800"}'),
        same(pair, encoded(with_value(application(), "applicant.national_id", "123"))),
        same(pair, encoded(with_value(application(), "loan.amount", "150000"))),
        same(pair, encoded([application()])),
        same(pair, b""),
        same(pair, encoded({**application(), "padding": "x" * 70_000})),
    ]
    expected = [401, 401, 415, 415, 422, 422, 422, 400, 400, 400, 422, 422, 422, 422, 422, 400]
    assert refused == [*expected, 413]
    assert fast_answers == []


def test_a_header_given_twice_is_left_to_the_route(
    pair: tuple[Api, Api], fast_answers: list[int]
) -> None:
    fast, slow = pair
    body = encoded(application())
    answers = [
        running.client.post(
            "/v1/applications",
            content=body,
            headers=[
                ("X-API-Key", running.frontend_key),
                ("Content-Type", "application/json"),
                ("Accept-Language", "sv"),
                ("Accept-Language", "nb"),
            ],
        )
        for running in (fast, slow)
    ]
    assert seen(answers[0]) == seen(answers[1])
    assert fast_answers == []


def test_a_store_failure_is_the_same_503_and_counted(
    pair: tuple[Api, Api], fast_answers: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(**_: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_exception(StoreUnavailable("record_decision", "the database went away"))
        return future

    for running in pair:
        monkeypatch.setattr(running.service.store.decisions, "record_future", failing)
    assert same(pair, encoded(application())) == 503
    fast, slow = (metric_samples(running.client.get("/metrics").text) for running in pair)
    assert fast[("lendmatch_store_failures_total", ())] == 1.0
    assert slow[("lendmatch_store_failures_total", ())] == 1.0
    assert fast_answers == []


def test_the_metrics_are_the_same_on_both_paths(
    pair: tuple[Api, Api], fast_answers: list[int]
) -> None:
    for body in (application("NO"), application("SE"), application("NO")):
        same(pair, encoded(body))
    same(pair, b"{}")
    fast, slow = (metric_samples(running.client.get("/metrics").text) for running in pair)

    def counts(samples: dict[Any, float]) -> dict[Any, float]:
        return {
            key: value
            for key, value in samples.items()
            if key[0].startswith("lendmatch_")
            and (key[0].endswith("_total") or key[0].endswith("_count"))
        }

    assert counts(fast) == counts(slow)
    latency = (
        "lendmatch_http_request_duration_seconds_count",
        (("method", "POST"), ("route", "/v1/applications"), ("status", "201")),
    )
    assert fast[latency] == 3.0
    assert len(fast_answers) == 3


GENERATED = generate(200, seed=12, on=date.today()).drop("application_id").to_dicts()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.sampled_from(GENERATED),
    language=st.sampled_from([None, "en", "nb", "sv", "sv-SE;q=0.5, nb;q=0.9"]),
)
def test_generated_applications_get_the_same_answer_on_both_paths(
    pair: tuple[Api, Api], body: dict[str, Any], language: str | None
) -> None:
    headers = {} if language is None else {"Accept-Language": language}
    assert same(pair, encoded(body), **headers) == 201


@pytest.mark.parametrize("content_type", sorted(api_body.PLAIN_JSON))
def test_the_content_types_accepted_at_once_pass_the_full_check(
    content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(api_body, "PLAIN_JSON", frozenset())
    for written in (content_type, content_type.upper(), content_type.title()):
        api_body.check_media_type(written)  # raises if the full check refused it
