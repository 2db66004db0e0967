"""API keys and roles, rulesets (admin), lenders (public), health, readiness and metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import Metrics
from api.service import ApiKeyCache
from lender_rules import SHIPPED_LENDERS_DIR
from matcher import LenderOutcome
from tests.api.support import Api, application, running_api


def shipped_documents() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(SHIPPED_LENDERS_DIR.glob("*.json"))]


# --- keys and roles -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/applications"),
        ("GET", "/v1/applications/3f2b0f3e-8c1e-4d3a-9a53-2f7f0c4f6a11/decision"),
        ("POST", "/v1/rulesets"),
        ("GET", "/v1/rulesets"),
    ],
)
@pytest.mark.parametrize("key", [None, "", "lmk_0000.not-a-key"])
def test_without_a_known_api_key_it_is_401(
    sqlite_api: Api, method: str, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"X-API-Key": key}
    body = application() if path == "/v1/applications" else {"lenders": shipped_documents()}
    response = sqlite_api.client.request(
        method, path, headers=headers, json=body if method == "POST" else None
    )
    assert response.status_code == 401
    assert response.json()["error"] == "unauthenticated"


def test_a_revoked_key_is_401(sqlite_url: str) -> None:
    with running_api(sqlite_url, api_key_cache_seconds=0) as api:
        key_id, secret = api.service.store.api_keys.add(role="frontend")
        assert api.post_application(application(), key=secret).status_code == 201
        api.service.store.api_keys.revoke(key_id)
        assert api.post_application(application(), key=secret).status_code == 401


def test_a_key_is_remembered_for_the_cache_time_only(sqlite_api: Api) -> None:
    now = [100.0]
    store = sqlite_api.service.store
    cache = ApiKeyCache(store.api_keys, ttl_seconds=5, clock=lambda: now[0])
    key_id, secret = store.api_keys.add(role="admin", client="acme")

    found = cache.find(secret)
    assert found is not None and (found.role, found.client) == ("admin", "acme")
    store.api_keys.revoke(key_id)
    now[0] += 4.9
    assert cache.find(secret) == found
    now[0] += 0.1
    assert cache.find(secret) is None
    assert cache.find("lmk_0.unknown") is None


def test_a_frontend_key_cannot_activate_or_list_rulesets(api: Api) -> None:
    before = api.service.store.rulesets.active()
    headers = {"X-API-Key": api.frontend_key}
    posted = api.client.post(
        "/v1/rulesets", json={"lenders": shipped_documents()[:2]}, headers=headers
    )
    listed = api.client.get("/v1/rulesets", headers=headers)

    assert posted.status_code == listed.status_code == 403
    assert posted.json()["error"] == "forbidden"
    assert api.service.store.rulesets.active() == before


def test_an_admin_key_may_post_applications(api: Api) -> None:
    assert api.post_application(application(), key=api.admin_key).status_code == 201


# --- rulesets -------------------------------------------------------------------------------


def test_an_admin_activates_a_ruleset_and_it_is_used_at_once(api: Api) -> None:
    headers = {"X-API-Key": api.admin_key}
    documents = [d for d in shipped_documents() if "SE" in d["markets"]]
    response = api.client.post("/v1/rulesets", json={"lenders": documents}, headers=headers)

    assert response.status_code == 201, response.text
    version = response.json()
    assert version["active"] is True
    listed = api.client.get("/v1/rulesets", headers=headers).json()
    assert listed["active_hash"] == version["ruleset_hash"]
    assert [v["ruleset_hash"] for v in listed["versions"] if v["active"]] == [
        version["ruleset_hash"]
    ]
    assert len(listed["versions"]) == 2
    lenders = api.client.get("/v1/lenders").json()
    assert {lender["lender_id"] for lender in lenders["lenders"]} == {
        d["lender_id"] for d in documents
    }
    decided = api.post_application(application("NO")).json()
    assert decided["ruleset_hash"] == version["ruleset_hash"]


def test_an_invalid_ruleset_is_422_with_every_problem_and_changes_nothing(api: Api) -> None:
    before = api.service.store.rulesets.active()
    documents = shipped_documents()[:3]
    documents[0]["requirements"][0]["rule"] = {"<=": [{"var": "no_such_feature"}, 5]}
    documents[2]["requirements"][0]["rule"] = {">=": [{"var": "employment"}, 5]}
    response = api.client.post(
        "/v1/rulesets", json={"lenders": documents}, headers={"X-API-Key": api.admin_key}
    )

    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_ruleset"
    located = {(p["file"], p["requirement_id"]) for p in body["rule_problems"]}
    assert ("lenders[0]", documents[0]["requirements"][0]["id"]) in located
    assert ("lenders[2]", documents[2]["requirements"][0]["id"]) in located
    assert api.service.store.rulesets.active() == before
    assert api.post_application(application()).json()["ruleset_hash"] == before.hash  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [{"lenders": []}, {"lenders": "x"}, {"lenders": [{"lender_id": "a"}], "extra": 1}, [1, 2]],
)
def test_a_ruleset_body_of_the_wrong_shape_is_422(sqlite_api: Api, body: Any) -> None:
    response = sqlite_api.client.post(
        "/v1/rulesets", json=body, headers={"X-API-Key": sqlite_api.admin_key}
    )
    assert response.status_code == 422
    assert response.json()["problems"] or response.json()["rule_problems"]


# --- lenders --------------------------------------------------------------------------------


def test_lenders_are_public_and_in_plain_words_in_the_asked_language(sqlite_api: Api) -> None:
    documents = {d["lender_id"]: d for d in shipped_documents()}
    for lang in ("en", "nb", "sv"):
        response = sqlite_api.client.get("/v1/lenders", headers={"Accept-Language": lang})
        assert response.status_code == 200
        body = response.json()
        assert body["language"] == lang
        assert {lender["lender_id"] for lender in body["lenders"]} == set(documents)
        for lender in body["lenders"]:
            document = documents[lender["lender_id"]]
            assert [r["id"] for r in lender["requirements"]] == [
                r["id"] for r in document["requirements"]
            ]
            for shown, written in zip(
                lender["requirements"], document["requirements"], strict=True
            ):
                assert shown["reason"] == written["reason"][lang]
                assert shown["rule"]


def test_one_lender_and_an_unknown_one(sqlite_api: Api) -> None:
    lender_id = shipped_documents()[0]["lender_id"]
    found = sqlite_api.client.get(f"/v1/lenders/{lender_id}")
    missing = sqlite_api.client.get("/v1/lenders/no_such_lender")

    assert found.status_code == 200 and found.json()["lender_id"] == lender_id
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


def test_lenders_filtered_by_market(sqlite_api: Api) -> None:
    body = sqlite_api.client.get("/v1/lenders", params={"market": "SE"}).json()
    assert body["lenders"] and all("SE" in lender["markets"] for lender in body["lenders"])


# --- health, readiness, metrics -------------------------------------------------------------


def test_healthz_and_readyz(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    active = api.service.store.rulesets.active()
    assert ready.status_code == 200
    assert active is not None
    assert ready.json() == {
        "status": "ready",
        "database": True,
        "writable": True,
        "ruleset_hash": active.hash,
    }


def test_readyz_is_503_when_the_database_does_not_answer(sqlite_api: Api) -> None:
    sqlite_api.service.store.engine.dispose()
    sqlite_api.service.store.ping = lambda: False  # type: ignore[method-assign]
    response = sqlite_api.client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["database"] is False


def metric_samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_metrics_count_decisions_by_lender_and_outcome_and_time_requests(api: Api) -> None:
    answer = api.post_application(application("NO")).json()
    samples = metric_samples(api.client.get("/metrics").text)

    for lender in answer["eligible_lenders"]:
        key = (
            "lendmatch_decisions_total",
            (("lender_id", lender["lender_id"]), ("outcome", "eligible")),
        )
        assert samples[key] == 1.0
    counted = sum(
        value for (name, _), value in samples.items() if name == "lendmatch_decisions_total"
    )
    assert counted == len(answer["eligible_lenders"]) + len(answer["rejected"])
    latency = (
        "lendmatch_http_request_duration_seconds_count",
        (("method", "POST"), ("route", "/v1/applications"), ("status", "201")),
    )
    assert samples[latency] == 1.0


def test_decisions_tallied_between_reads_are_counted_once_each() -> None:
    metrics = Metrics()
    rejected = LenderOutcome("fjord", 0b10, 0)
    eligible = LenderOutcome("vidde", 0, 0)
    for _ in range(3):
        metrics.observe_decision((rejected, eligible))

    def counts() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        samples = metric_samples(metrics.render().decode())
        return {key: value for key, value in samples.items() if key[0].endswith("_total")}

    first = counts()
    assert (
        first[("lendmatch_decisions_total", (("lender_id", "fjord"), ("outcome", "failed")))] == 3
    )
    assert first[("lendmatch_applications_total", (("outcome", "matched"),))] == 3
    assert counts() == first  # reading again counts nothing twice
    metrics.observe_decision((rejected, LenderOutcome("vidde", 0, 0b1)))
    again = counts()
    assert (
        again[("lendmatch_decisions_total", (("lender_id", "fjord"), ("outcome", "failed")))] == 4
    )
    assert (
        again[("lendmatch_decisions_total", (("lender_id", "vidde"), ("outcome", "missing")))] == 1
    )
    assert again[("lendmatch_applications_total", (("outcome", "unmatched"),))] == 1


def test_each_app_has_its_own_metrics(tmp_path: Path) -> None:
    with running_api(f"sqlite:///{tmp_path / 'a.sqlite'}") as first:
        first.post_application(application())
        with running_api(f"sqlite:///{tmp_path / 'b.sqlite'}") as second:
            text = second.client.get("/metrics").text
    assert not any(name == "lendmatch_decisions_total" for (name, _labels) in metric_samples(text))


def test_the_openapi_page_and_spec_are_served(sqlite_api: Api) -> None:
    page = sqlite_api.client.get("/docs")
    spec = sqlite_api.client.get("/openapi.json").json()

    assert page.status_code == 200 and "openapi.json" in page.text
    body = spec["paths"]["/v1/applications"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Application"
    }
    application_schema = spec["components"]["schemas"]["Application"]
    assert application_schema["additionalProperties"] is False
    assert set(application_schema["required"]) == {"market", "applicant", "loan", "household"}
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"


def test_the_schema_says_how_an_infinite_value_is_written(sqlite_api: Api) -> None:
    spec = sqlite_api.client.get("/openapi.json").json()
    values = spec["components"]["schemas"]["Reason"]["properties"]["values"]
    assert '"Infinity"' in values["description"]
