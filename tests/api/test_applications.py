"""POST /v1/applications and GET /v1/applications/{id}/decision, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text

import matcher
from matcher import LenderOutcome
from matcher.engine import evaluate
from tests.api.support import Api, application, with_value

ANSWER_KEYS = {
    "application_id",
    "decision_id",
    "ruleset_hash",
    "decided_at",
    "language",
    "eligible_lenders",
    "rejected",
}


def decision_count(api: Api) -> int:
    with api.service.store.engine.connect() as connection:
        return int(connection.execute(text("SELECT count(*) FROM decision")).scalar_one())


def market_lenders(api: Api, market: str) -> set[str]:
    return {lender.lender_id for lender in api.service.rules.now().for_market(market)}


def test_post_answers_201_with_every_lender_of_the_market_and_stores_it(api: Api) -> None:
    response = api.post_application(application("NO"))

    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == ANSWER_KEYS
    assert response.headers["Content-Language"] == "en"
    assert response.headers["Idempotent-Replayed"] == "false"
    eligible = {lender["lender_id"] for lender in body["eligible_lenders"]}
    rejected = {lender["lender_id"] for lender in body["rejected"]}
    assert eligible.isdisjoint(rejected)
    assert eligible | rejected == market_lenders(api, "NO")
    for explanation in body["rejected"]:
        assert explanation["eligible"] is False
        assert explanation["reasons"], explanation
        for reason in explanation["reasons"]:
            assert reason["kind"] in ("failed", "missing")
            assert reason["message"]
    active = api.service.store.rulesets.active()
    assert active is not None and body["ruleset_hash"] == active.hash

    stored = api.service.store.decisions.latest(body["application_id"])
    assert stored is not None
    assert stored.decision_id == body["decision_id"]
    assert stored.channel == "api"
    for made in (body["application_id"], body["decision_id"]):  # time-ordered: audit.ids
        assert (uuid.UUID(made).version, str(uuid.UUID(made))) == (7, made)
    failing = {lender_id for lender_id, failed, unknown in stored.outcomes if failed or unknown}
    assert failing == rejected
    assert decision_count(api) == 1


def test_reasons_carry_values_and_thresholds_of_the_stored_features(api: Api) -> None:
    """An amount far above every lender's limit is refused with the amount and the limit."""
    body = api.post_application(with_value(application("NO"), "loan.amount", 5_000_000)).json()
    reasons = [r for lender in body["rejected"] for r in lender["reasons"]]
    assert any(
        r["values"].get("amount") == 5_000_000 and r["threshold"] is not None for r in reasons
    ), reasons


def test_the_answer_follows_accept_language(api: Api) -> None:
    ruleset = api.service.rules.now()
    body = application("NO", loan={"amount": 5_000_000, "term_months": 60, "purpose": "other"})
    answers = {
        lang: api.post_application(body, **{"Accept-Language": header}).json()
        for lang, header in (("nb", "nb-NO, en;q=0.5"), ("sv", "da, sv;q=0.9, en;q=0.1"))
    }
    for lang, answer in answers.items():
        assert answer["language"] == lang
        for explanation in answer["rejected"]:
            lender = ruleset.lender(explanation["lender_id"])
            for reason in explanation["reasons"]:
                if reason["kind"] == "failed":
                    lender_id, requirement_id = reason["code"].split(".", 1)
                    assert lender_id == lender.lender_id
                    requirement = lender.requirement(requirement_id)
                    assert reason["message"] == requirement.reason[lang]
                    assert reason["rule"] == requirement.plain(lang)


def test_same_idempotency_key_and_body_replays_the_answer_and_decides_once(api: Api) -> None:
    body = application("NO")
    first = api.post_application(body, **{"Idempotency-Key": "order-1"})
    reordered = json.loads(json.dumps(body, sort_keys=True))  # same data, other key order
    second = api.post_application(reordered, **{"Idempotency-Key": "order-1"})

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert decision_count(api) == 1


def test_same_idempotency_key_with_another_body_is_409(api: Api) -> None:
    body = application("NO")
    assert api.post_application(body, **{"Idempotency-Key": "k-7"}).status_code == 201
    other = with_value(body, "loan.amount", 151_000)
    response = api.post_application(other, **{"Idempotency-Key": "k-7"})

    assert response.status_code == 409
    assert response.json()["error"] == "idempotency_key_reused"
    assert decision_count(api) == 1


def test_without_idempotency_key_every_post_is_a_new_decision(api: Api) -> None:
    body = application("SE")
    ids = {api.post_application(body).json()["application_id"] for _ in range(3)}
    assert len(ids) == 3
    assert decision_count(api) == 3


def test_get_decision_gives_the_answer_again(api: Api) -> None:
    posted = api.post_application(application("NO")).json()
    response = api.client.get(
        f"/v1/applications/{posted['application_id']}/decision",
        headers={"X-API-Key": api.admin_key},
    )
    assert response.status_code == 200
    assert response.json() == posted


def tighter(document: dict[str, Any]) -> dict[str, Any]:
    """The lender document with every numeric constant of its rules scaled, so outcomes move."""

    def scale(node: Any) -> Any:
        if isinstance(node, bool):
            return node
        if isinstance(node, int | float):
            return node * 2 if node else 1
        if isinstance(node, list):
            return [scale(item) for item in node]
        if isinstance(node, dict):
            return {key: scale(value) for key, value in node.items()}
        return node

    changed: dict[str, Any] = json.loads(json.dumps(document))
    for requirement in changed["requirements"]:
        requirement["rule"] = scale(requirement["rule"])
    return changed


def test_a_stored_decision_is_explained_under_its_own_ruleset_after_another_is_activated(
    api: Api,
) -> None:
    before = api.post_application(
        application("NO", loan={"amount": 400_000, "term_months": 120, "purpose": "refinance"})
    ).json()
    old = api.service.rules.now()
    documents = [tighter(dict(document)) for document in old.documents.values()]
    activated = api.client.post(
        "/v1/rulesets", json={"lenders": documents}, headers={"X-API-Key": api.admin_key}
    )
    assert activated.status_code == 201, activated.text
    new_hash = activated.json()["ruleset_hash"]
    assert new_hash != old.hash

    again = api.client.get(
        f"/v1/applications/{before['application_id']}/decision",
        headers={"X-API-Key": api.frontend_key},
    ).json()
    assert again == before
    assert again["ruleset_hash"] == old.hash

    stored = api.service.store.decisions.latest(before["application_id"])
    assert stored is not None
    recomputed = evaluate(
        stored.features,
        matcher.ruleset_from_snapshot(api.service.store.rulesets.snapshot(old.hash) or ""),
    )
    assert recomputed == tuple(LenderOutcome(*outcome) for outcome in stored.outcomes)

    after = api.post_application(application("NO")).json()
    assert after["ruleset_hash"] == new_hash


def test_decision_of_an_unknown_application_is_404(api: Api) -> None:
    response = api.client.get(
        f"/v1/applications/{uuid.uuid4()}/decision", headers={"X-API-Key": api.frontend_key}
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_decision_of_a_malformed_application_id_is_422_naming_it(sqlite_api: Api) -> None:
    response = sqlite_api.client.get(
        "/v1/applications/not-a-uuid/decision", headers={"X-API-Key": sqlite_api.frontend_key}
    )
    assert response.status_code == 422
    assert [p["field"] for p in response.json()["problems"]] == ["path.application_id"]
