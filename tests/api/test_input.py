"""Bad input is a 4xx that names the field; no input makes a 500."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.national_id import make_fodselsnummer
from tests.api.support import Api, application, fodselsnummer, person, running_api, with_value
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
            response = api.client.post(
                "/v1/applications",
                content=json.dumps(body),
                headers={"X-API-Key": api.frontend_key, "Content-Type": "application/json"},
            )
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


# --- impossible applications: 422 naming the field, nothing stored ---------------------------


def years_ago(years: int, days: int = 0) -> date:
    today = date.today()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        born = date(today.year - years, 3, 1)
    return born - timedelta(days=days)


def nothing_stored(api: Api) -> bool:
    return list(api.service.store.decisions.stream()) == []


IMPOSSIBLE: list[tuple[str, dict[str, Any], str]] = [
    (
        "co-applicant is the applicant",
        application("NO", co_applicant=person("NO")),
        "body.co_applicant.national_id",
    ),
    (
        "co-applicant is the applicant, personnummer written another way",
        application(
            "SE",
            co_applicant=person("SE", national_id=person("SE")["national_id"].replace("-", "")),
        ),
        "body.co_applicant.national_id",
    ),
    (
        "employed longer than the working life",
        with_value(application(), "applicant.employed_months", 720),
        "body.applicant.employed_months",
    ),
    (
        "more years in the country than the age",
        with_value(application(), "applicant.years_in_country", 99),
        "body.applicant.years_in_country",
    ),
    (
        "unemployed with months at an employer",
        application(applicant=person(employment="unemployed", employed_months=6)),
        "body.applicant.employed_months",
    ),
    (
        "student with months at an employer",
        application(applicant=person(employment="student", employed_months=6)),
        "body.applicant.employed_months",
    ),
    (
        "applicant under 18",
        application(
            applicant=person(
                national_id=fodselsnummer(years_ago(18, days=-1)),
                years_in_country=17,
                employed_months=0,
            )
        ),
        "body.applicant.national_id",
    ),
    (
        "co-applicant under 18",
        application(
            co_applicant=person(
                national_id=fodselsnummer(years_ago(17)), years_in_country=17, employed_months=0
            )
        ),
        "body.co_applicant.national_id",
    ),
    (
        "applicant over 120",
        application(
            applicant=person(
                national_id=fodselsnummer(years_ago(121, days=1), start=0),
                employment="retired",
                employed_months=0,
            )
        ),
        "body.applicant.national_id",
    ),
    (
        "synthetic test id outside test mode",
        application(
            applicant=person(national_id=make_fodselsnummer(date(1985, 4, 12), 123, synthetic=True))
        ),
        "body.applicant.national_id",
    ),
    (
        "e-mail not an address",
        with_value(application(), "applicant.email", "kari.example.no"),
        "body.applicant.email",
    ),
    (
        "phone not a phone number",
        with_value(application(), "applicant.phone", "12"),
        "body.applicant.phone",
    ),
    (
        "name only whitespace",
        with_value(application(), "applicant.name", " \t "),
        "body.applicant.name",
    ),
    (
        "name with a control character",
        with_value(application(), "applicant.name", "Kari\x1bNordmann"),
        "body.applicant.name",
    ),
    (
        "citizenship not an ISO 3166-1 code",
        with_value(application(), "applicant.citizenship", "XX"),
        "body.applicant.citizenship",
    ),
]


@pytest.mark.parametrize(
    ("body", "field"),
    [pytest.param(body, field, id=name) for name, body, field in IMPOSSIBLE],
)
def test_an_impossible_application_is_422_naming_the_field_and_nothing_is_stored(
    sqlite_api: Api, body: dict[str, Any], field: str
) -> None:
    response = sqlite_api.post_application(body)

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input"
    assert problems(response) == [field]
    assert nothing_stored(sqlite_api)


def test_synthetic_test_ids_are_accepted_in_demo_and_test_mode(sqlite_url: str) -> None:
    synthetic = make_fodselsnummer(date(1985, 4, 12), 123, synthetic=True)
    with running_api(sqlite_url, synthetic_ids=True) as api:
        response = api.post_application(application(applicant=person(national_id=synthetic)))
    assert response.status_code == 201, response.text


def post_raw(api: Api, raw: bytes, content_type: str | None = "application/json") -> Any:
    headers = {"X-API-Key": api.frontend_key}
    if content_type is not None:
        headers["Content-Type"] = content_type
    return api.client.post("/v1/applications", content=raw, headers=headers)


def test_a_key_given_twice_is_422_at_its_path_not_decided_as_the_last(sqlite_api: Api) -> None:
    text = json.dumps(application("SE"))
    raw = text.replace('"market": "SE"', '"market": "SE", "market": "NO"', 1)
    assert raw != text

    response = post_raw(sqlite_api, raw.encode())

    assert response.status_code == 422, response.text
    assert problems(response) == ["body.market"]
    assert response.json()["problems"][0]["type"] == "duplicate_key"
    assert nothing_stored(sqlite_api)


def test_every_repeated_key_is_named_at_any_depth(sqlite_api: Api) -> None:
    raw = json.dumps(application()).replace('"income": 550000', '"income": 1, "income": 550000')
    raw = raw.replace('"children": 1', '"children": 1, "children": 9')
    response = post_raw(sqlite_api, raw.encode())
    assert response.status_code == 422
    assert sorted(problems(response)) == ["body.applicant.income", "body.household.children"]


def test_a_lone_surrogate_is_422_not_a_500(sqlite_api: Api) -> None:
    raw = json.dumps(application()).replace('"Kari Nordmann"', '"Kari \\ud800"')
    response = post_raw(sqlite_api, raw.encode())
    assert response.status_code == 422, response.text
    assert problems(response) == ["body.applicant.name"]
    raw = json.dumps(application())[:-1] + ', "\\udfff": 1}'
    response = post_raw(sqlite_api, raw.encode())
    assert response.status_code == 422, response.text
    assert problems(response) == ["body.\\udfff"]


def test_a_surrogate_pair_is_a_character(sqlite_api: Api) -> None:
    raw = json.dumps(application()).replace('"Kari Nordmann"', '"Kari \\ud83d\\ude00"')
    assert post_raw(sqlite_api, raw.encode()).status_code == 201


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "application/json; charset=latin-1", "application/json; charset=utf-16"],
)
def test_a_body_not_declared_as_json_in_utf8_is_415(
    sqlite_api: Api, content_type: str | None
) -> None:
    response = post_raw(sqlite_api, json.dumps(application()).encode(), content_type)
    assert response.status_code == 415, response.text
    assert response.json()["error"] == "unsupported_media_type"
    assert nothing_stored(sqlite_api)


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        "application/problem+json",
    ],
)
def test_json_in_utf8_is_read(sqlite_api: Api, content_type: str) -> None:
    response = post_raw(sqlite_api, json.dumps(application()).encode(), content_type)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("raw", [b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1e400}', b"[" * 60_000])
def test_what_python_parses_but_json_does_not_have_is_400(sqlite_api: Api, raw: bytes) -> None:
    response = post_raw(sqlite_api, raw)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "malformed_json"


@pytest.mark.parametrize("raw", [b"[" * 60_000, b'{"market": "NO",}', b"\xff{}", b"{"])
def test_a_malformed_body_is_said_once(sqlite_api: Api, raw: bytes) -> None:
    body = post_raw(sqlite_api, raw).json()
    (problem,) = body["problems"]
    message = problem["message"]
    assert message.count(message[:16]) == 1 and message.count(message[-16:]) == 1, message
    assert message not in body["message"] and body["message"] not in message
