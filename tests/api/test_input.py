"""Bad input is a 4xx that names the field; no input makes a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.support import Api, application, running_api, with_value
from tests.strategies import application_dicts


def problems(response: Any) -> list[str]:
    return [problem["field"] for problem in response.json()["problems"]]


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("loan.amount", "150000", "body.loan.amount"),  # a string for an integer
        ("loan.amount", 150_000.0, "body.loan.amount"),  # a float for an integer
        ("loan.amount", -5, "body.loan.amount"),
        ("loan.amount", 10**15, "body.loan.amount"),
        ("loan.amount", 10**40, "body.loan.amount"),
        ("loan.term_months", 0, "body.loan.term_months"),
        ("applicant.income", True, "body.applicant.income"),
        ("applicant.national_id", "01018512345", "body.applicant.national_id"),
        ("applicant.employment", "astronaut", "body.applicant.employment"),
        ("applicant.citizenship", "norway", "body.applicant.citizenship"),
        ("market", "DK", "body.market"),
        ("household", None, "body.household"),
        ("applicant.nickname", "Kari", "body.applicant.nickname"),  # unknown field
    ],
)
def test_an_invalid_field_is_422_naming_it(
    sqlite_api: Api, path: str, value: Any, field: str
) -> None:
    response = sqlite_api.post_application(with_value(application("NO"), path, value))

    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "invalid_input"
    assert field in problems(response)


def test_a_swedish_id_on_a_norwegian_application_names_the_co_applicant(sqlite_api: Api) -> None:
    from tests.api.support import person

    body = application("NO", co_applicant=person("SE"))
    response = sqlite_api.post_application(body)
    assert response.status_code == 422
    assert problems(response) == ["body.co_applicant.national_id"]


def test_a_missing_field_is_named(sqlite_api: Api) -> None:
    body = application()
    del body["loan"]["term_months"]
    response = sqlite_api.post_application(body)
    assert response.status_code == 422
    assert problems(response) == ["body.loan.term_months"]
    assert response.json()["problems"][0]["type"] == "missing"


@pytest.mark.parametrize("raw", [b"{", b'{"market": "NO",}', b"", b"\xff\xfe", b"nul"])
def test_malformed_json_is_400_naming_the_problem(sqlite_api: Api, raw: bytes) -> None:
    response = sqlite_api.client.post(
        "/v1/applications",
        content=raw,
        headers={"X-API-Key": sqlite_api.frontend_key, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "malformed_json"
    assert body["problems"][0]["type"] == "json_invalid"
    assert body["problems"][0]["field"].startswith("body")


@pytest.mark.parametrize("raw", [b"[]", b"42", b'"text"', b"null"])
def test_json_that_is_not_an_object_is_422(sqlite_api: Api, raw: bytes) -> None:
    response = sqlite_api.client.post(
        "/v1/applications",
        content=raw,
        headers={"X-API-Key": sqlite_api.frontend_key, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert problems(response) == ["body"]


def test_a_body_that_is_not_json_is_415(sqlite_api: Api) -> None:
    response = sqlite_api.client.post(
        "/v1/applications",
        content=b"market=NO",
        headers={
            "X-API-Key": sqlite_api.frontend_key,
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert response.status_code == 415


def oversized() -> bytes:
    body = application()
    body["applicant"]["name"] = "x" * (64 * 1024)
    return json.dumps(body).encode()


def test_a_body_over_64_kb_is_413(sqlite_api: Api) -> None:
    response = sqlite_api.client.post(
        "/v1/applications",
        content=oversized(),
        headers={"X-API-Key": sqlite_api.frontend_key, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "body_too_large"


def test_a_chunked_body_over_64_kb_is_413(sqlite_api: Api) -> None:
    data = oversized()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    response = sqlite_api.client.post(
        "/v1/applications",
        content=chunks(),
        headers={"X-API-Key": sqlite_api.frontend_key, "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_a_body_just_under_the_limit_is_read(sqlite_api: Api) -> None:
    body = application()
    padding = 64 * 1024 - len(json.dumps(body).encode()) - 200
    body["applicant"]["nickname"] = "x" * padding  # unknown field: refused, but read
    response = sqlite_api.post_application(body)
    assert response.status_code == 422
    assert "body.applicant.nickname" in problems(response)


def test_a_malformed_idempotency_key_is_422_naming_the_header(sqlite_api: Api) -> None:
    response = sqlite_api.post_application(application(), **{"Idempotency-Key": "x" * 300})
    assert response.status_code == 422
    assert problems(response) == ["header.idempotency-key"]


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("sv", "sv"),
        ("nb-NO,nb;q=0.9,en;q=0.8", "nb"),
        ("no", "nb"),
        ("de, sv;q=0.2, nb;q=0.3", "nb"),
        ("en;q=0, sv;q=0.1", "sv"),
        ("fr", "en"),
        ("*", "en"),
        (";;;q=,,", "en"),
        ("sv;q=abc", "en"),
    ],
)
def test_accept_language_is_negotiated(sqlite_api: Api, header: str, language: str) -> None:
    response = sqlite_api.post_application(application(), **{"Accept-Language": header})
    assert response.status_code == 201
    assert response.json()["language"] == language
    assert response.headers["Content-Language"] == language


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def mutated_applications(draw: st.DrawFn) -> Any:
    """A valid application with one value somewhere replaced by random JSON."""
    body = draw(application_dicts())
    target: Any = body
    while isinstance(target, dict) and target:
        key = draw(st.sampled_from(sorted(target)))
        if draw(st.booleans()) or not isinstance(target[key], dict):
            target[key] = draw(json_values)
            break
        target = target[key]
    return body


def test_random_json_never_gets_a_500(tmp_path: Path) -> None:
    with running_api(f"sqlite:///{tmp_path / 'fuzz.sqlite'}") as api:

        @settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
        @given(st.one_of(json_values, mutated_applications()))
        def post(body: Any) -> None:
            response = api.post_application(body)
            assert response.status_code in (201, 400, 422), response.text
            if response.status_code != 201:
                assert response.json()["problems"]

        post()


def test_random_bytes_never_get_a_500(tmp_path: Path) -> None:
    with running_api(f"sqlite:///{tmp_path / 'bytes.sqlite'}") as api:

        @settings(max_examples=100)
        @given(st.binary(max_size=300))
        def post(raw: bytes) -> None:
            response = api.client.post(
                "/v1/applications",
                content=raw,
                headers={"X-API-Key": api.frontend_key, "Content-Type": "application/json"},
            )
            assert response.status_code in (400, 422), response.text

        post()
