"""Access is scoped per client: a frontend key reads only its client's decisions, idempotency
keys are the client's own, and without a valid key the answer is 401 before the body is read.
Demo keys are made once per database."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.api.support import Api, application, running_api, with_value


def test_a_frontend_key_reads_only_its_own_clients_decisions(api: Api) -> None:
    _, acme = api.service.store.api_keys.add(role="frontend", client="acme")
    _, zenith = api.service.store.api_keys.add(role="frontend", client="zenith")
    _, zenith_admin = api.service.store.api_keys.add(role="admin", client="zenith")
    posted = api.post_application(application(), key=acme)
    assert posted.status_code == 201
    path = f"/v1/applications/{posted.json()['application_id']}/decision"

    def read(key: str) -> Any:
        return api.client.get(path, headers={"X-API-Key": key})

    own = read(acme)
    assert own.status_code == 200
    assert own.json()["decision_id"] == posted.json()["decision_id"]
    for other in (zenith, api.frontend_key):  # another client's frontend, the default client's
        refused = read(other)
        assert refused.status_code == 404
        assert refused.json()["error"] == "not_found"
        unknown = api.client.get(
            "/v1/applications/3f2b0f3e-8c1e-4d3a-9a53-2f7f0c4f6a11/decision",
            headers={"X-API-Key": other},
        )
        assert refused.json()["message"].split()[:3] == unknown.json()["message"].split()[:3]
    for admin in (zenith_admin, api.admin_key):  # an admin reads every client's
        assert read(admin).json()["decision_id"] == posted.json()["decision_id"]


def test_idempotency_keys_are_per_client_never_a_replay_of_another_clients(api: Api) -> None:
    _, acme = api.service.store.api_keys.add(role="frontend", client="acme")
    _, zenith = api.service.store.api_keys.add(role="frontend", client="zenith")
    body = application()
    first = api.post_application(body, key=acme, **{"Idempotency-Key": "order-1"})
    other = api.post_application(body, key=zenith, **{"Idempotency-Key": "order-1"})
    other_body = api.post_application(
        with_value(body, "loan.amount", 90_000), key=zenith, **{"Idempotency-Key": "order-2"}
    )
    conflict_elsewhere = api.post_application(
        with_value(body, "loan.amount", 90_000), key=acme, **{"Idempotency-Key": "order-2"}
    )
    retry = api.post_application(body, key=acme, **{"Idempotency-Key": "order-1"})

    assert [r.status_code for r in (first, other, other_body, conflict_elsewhere, retry)] == [
        201
    ] * 5
    assert first.headers["Idempotent-Replayed"] == "false"
    assert other.headers["Idempotent-Replayed"] == "false"
    assert other.json()["decision_id"] != first.json()["decision_id"]
    assert other.json()["application_id"] != first.json()["application_id"]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.json()["decision_id"] == first.json()["decision_id"]
    stored = {d.decision_id: d.client for d in api.service.store.decisions.stream()}
    assert stored[first.json()["decision_id"]] == "acme"
    assert stored[other.json()["decision_id"]] == "zenith"
    assert len(stored) == 4


INVALID_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    ("an invalid field", {"json": with_value(application(), "applicant.national_id", "123")}),
    ("a missing field", {"json": {"market": "NO"}}),
    (
        "malformed JSON",
        {"content": b'{"market": ', "headers": {"Content-Type": "application/json"}},
    ),
    ("not JSON", {"content": b"market=NO", "headers": {"Content-Type": "text/plain"}}),
    ("a bad idempotency key", {"json": application(), "headers": {"Idempotency-Key": "a b"}}),
]


@pytest.mark.parametrize("key", [None, "lmk_0000.not-a-key"])
@pytest.mark.parametrize(
    ("what", "request_args"), INVALID_REQUESTS, ids=[what for what, _ in INVALID_REQUESTS]
)
def test_without_a_valid_key_an_invalid_body_is_401_not_a_validation_answer(
    sqlite_api: Api, key: str | None, what: str, request_args: dict[str, Any]
) -> None:
    headers = dict(request_args.get("headers", {}))
    if key is not None:
        headers["X-API-Key"] = key
    args = {**request_args, "headers": headers}
    response = sqlite_api.client.post("/v1/applications", **args)
    assert response.status_code == 401, what
    assert response.json()["error"] == "unauthenticated"
    assert response.json()["problems"] == []
    with_key = {**headers, "X-API-Key": sqlite_api.frontend_key}
    assert sqlite_api.client.post(
        "/v1/applications", **{**args, "headers": with_key}
    ).status_code in (
        400,
        415,
        422,
    )


def test_without_a_key_a_malformed_application_id_is_401(sqlite_api: Api) -> None:
    response = sqlite_api.client.get("/v1/applications/not-a-uuid/decision")
    assert response.status_code == 401


def test_demo_keys_are_made_once_per_database_and_their_secrets_shown_once(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
        with running_api(sqlite_url, demo_keys=True) as first:
            shown_first = [r.getMessage() for r in caplog.records if "X-API-Key:" in r.getMessage()]
            secrets = [message.rsplit("X-API-Key: ", 1)[1] for message in shown_first]
            assert len(secrets) == 2
            assert {first.service.store.api_keys.role_of(s) for s in secrets} == {
                "frontend",
                "admin",
            }
        caplog.clear()
        with running_api(sqlite_url, demo_keys=True) as second:
            shown_again = [r.getMessage() for r in caplog.records if "X-API-Key:" in r.getMessage()]
            demo = [k for k in second.service.store.api_keys.list_keys() if k.client == "demo"]
            assert shown_again == []
            assert sorted(k.key_id for k in demo) == ["lmk_demo_admin", "lmk_demo_frontend"]
            assert second.post_application(application(), key=secrets[0]).status_code == 201


@pytest.mark.parametrize(
    ("what", "content", "content_type"),
    [
        ("malformed JSON", b'{"lenders": ', "application/json"),
        ("not JSON", b"lenders=1", "text/plain"),
        ("a wrong shape", b'{"lenders": 5}', "application/json"),
    ],
)
def test_a_ruleset_upload_without_a_valid_key_is_401_before_its_body_is_read(
    sqlite_api: Api, what: str, content: bytes, content_type: str
) -> None:
    response = sqlite_api.client.post(
        "/v1/rulesets", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 401, what
    assert response.json()["problems"] == []
