"""A lender version activated ahead of its `effective_from` decides from that date on."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import matcher
from tests.api.support import Api, application

CLOSED = {
    "id": "closed_to_new_customers",
    "rule": False,
    "reason": {"en": "Closed.", "nb": "Stengt.", "sv": "Stängd."},
}


def _upload_with_future_change(
    api: Api, lender_id: str, on: str, renamed_now: str | None = None
) -> dict[str, Any]:
    active = api.service.rules.now()
    documents = [copy.deepcopy(active.documents[k]) for k in sorted(active.documents)]
    for doc in documents:
        if doc["lender_id"] == lender_id:
            doc["requirements"].append(CLOSED)
            doc["effective_from"] = on
        if doc["lender_id"] == renamed_now:
            doc["name"] += " (new name)"
            doc.pop("effective_from", None)
    response = api.client.post(
        "/v1/rulesets", json={"lenders": documents}, headers={"X-API-Key": api.admin_key}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _outcome(api: Api, answer: dict[str, Any], lender_id: str) -> dict[str, Any] | None:
    for rejected in answer["rejected"]:
        if rejected["lender_id"] == lender_id:
            return dict(rejected)
    return None


def test_the_version_in_force_on_the_decision_date_decides(api: Api) -> None:
    lender_id = sorted(lender.lender_id for lender in api.service.rules.now().for_market("NO"))[0]
    before = api.post_application(application("NO")).json()
    _upload_with_future_change(api, lender_id, "2099-01-01")

    meanwhile = api.post_application(application("NO")).json()
    # until the date, the rules in force are exactly the earlier ones
    assert meanwhile["ruleset_hash"] == before["ruleset_hash"]
    assert meanwhile["ruleset_hash"] != api.service.rules.active_hash()
    closed = _outcome(api, meanwhile, lender_id)
    assert closed is None or all(
        r["code"] != f"{lender_id}.closed_to_new_customers" for r in closed["reasons"]
    )
    # the rules in force were stored, so the decision explains itself later
    stored = api.client.get(
        f"/v1/applications/{meanwhile['application_id']}/decision",
        headers={"X-API-Key": api.frontend_key},
    )
    assert stored.status_code == 200, stored.text
    assert stored.json()["ruleset_hash"] == meanwhile["ruleset_hash"]
    snapshot = api.service.store.rulesets.snapshot(meanwhile["ruleset_hash"])
    assert snapshot is not None
    assert matcher.ruleset_from_snapshot(snapshot).hash == meanwhile["ruleset_hash"]

    api.service.rules._today = lambda: dt.date(2099, 1, 1)
    on_the_day = api.post_application(application("NO")).json()
    assert on_the_day["ruleset_hash"] == api.service.rules.active_hash()
    closed = _outcome(api, on_the_day, lender_id)
    assert closed is not None
    assert f"{lender_id}.closed_to_new_customers" in [r["code"] for r in closed["reasons"]]


def test_rules_in_force_mixing_versions_are_saved_and_explain_later(api: Api) -> None:
    lenders = sorted(lender.lender_id for lender in api.service.rules.now().for_market("NO"))
    before = api.post_application(application("NO")).json()
    _upload_with_future_change(api, lenders[0], "2099-01-01", renamed_now=lenders[1])

    meanwhile = api.post_application(application("NO")).json()
    assert meanwhile["ruleset_hash"] not in (
        before["ruleset_hash"],
        api.service.rules.active_hash(),
    )
    snapshot = api.service.store.rulesets.snapshot(meanwhile["ruleset_hash"])
    assert snapshot is not None
    in_force = matcher.ruleset_from_snapshot(snapshot)
    assert in_force.lender(lenders[1]).name.endswith("(new name)")
    assert [r.id for r in in_force.lender(lenders[0]).requirements][-1] != "closed_to_new_customers"
    stored = api.client.get(
        f"/v1/applications/{meanwhile['application_id']}/decision",
        headers={"X-API-Key": api.frontend_key},
    )
    assert stored.status_code == 200
    assert stored.json()["rejected"] == meanwhile["rejected"]
