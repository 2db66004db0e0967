"""The applicant's review API: every status code of `POST .../review-requests` and
`GET /v1/review-requests/{id}`, on SQLite and PostgreSQL; a decided review read back in the
applicant's language, and its override in `GET .../decision`."""

from __future__ import annotations

import uuid
from typing import Any

from broker import LenderVerdict, decide, extend
from tests.api.support import Api, application

STATEMENT = "Inntekten min er 550 000 kroner, ikke 250 000."


def rejected_application(api: Api, *, key: str | None = None, income: int = 250_000) -> Any:
    body = application()
    body["applicant"]["income"] = income
    response = api.post_application(body, key=key)
    assert response.status_code == 201
    return response.json()


def ask(api: Api, application_id: str, body: Any, *, key: str | None = None, **headers: str) -> Any:
    return api.client.post(
        f"/v1/applications/{application_id}/review-requests",
        json=body,
        headers={"X-API-Key": key or api.frontend_key, **headers},
    )


def read(api: Api, request_id: str, *, key: str | None = None, **headers: str) -> Any:
    return api.client.get(
        f"/v1/review-requests/{request_id}",
        headers={"X-API-Key": key or api.frontend_key, **headers},
    )


def problem_fields(response: Any) -> list[str]:
    return [problem["field"] for problem in response.json()["problems"]]


def test_a_request_is_accepted_with_its_id_status_and_due_date(api: Api) -> None:
    decision = rejected_application(api)
    response = ask(
        api, decision["application_id"], {"statement": STATEMENT, "corrections": {"income": 550000}}
    )
    assert response.status_code == 202
    answer = response.json()
    assert answer["status"] == "received"
    assert answer["application_id"] == decision["application_id"]
    uuid.UUID(answer["request_id"])
    assert answer["due_at"][:10] > answer["received_at"][:10]
    assert sorted(lender["lender_id"] for lender in answer["lenders"]) == sorted(
        lender["lender_id"] for lender in decision["rejected"]
    )
    assert read(api, answer["request_id"]).json() == answer


def test_a_second_open_request_is_409(api: Api) -> None:
    decision = rejected_application(api)
    first = ask(api, decision["application_id"], {"statement": STATEMENT})
    second = ask(api, decision["application_id"], {"statement": STATEMENT})
    assert (first.status_code, second.status_code) == (202, 409)
    assert second.json()["error"] == "review_already_open"
    assert first.json()["request_id"] in second.json()["message"]


def test_an_unknown_or_another_clients_application_is_404(api: Api) -> None:
    decision = rejected_application(api)
    _, other_key = api.service.store.api_keys.add(role="frontend", client="other")
    unknown = ask(api, str(uuid.uuid4()), {"statement": STATEMENT})
    others = ask(api, decision["application_id"], {"statement": STATEMENT}, key=other_key)
    assert (unknown.status_code, others.status_code) == (404, 404)
    assert unknown.json()["error"] == others.json()["error"] == "not_found"


def test_a_decision_without_a_rejection_is_409_saying_so(api: Api) -> None:
    decision = rejected_application(api, income=550_000)
    assert decision["rejected"] == []
    response = ask(api, decision["application_id"], {"statement": STATEMENT})
    assert response.status_code == 409
    assert response.json()["error"] == "nothing_to_review"
    assert "rejected no lender" in response.json()["message"]


def test_bad_input_is_422_naming_the_field(api: Api) -> None:
    application_id = rejected_application(api)["application_id"]
    cases: list[tuple[Any, str]] = [
        ({"statement": STATEMENT, "lenders": ["lingonbanken"]}, "body.lenders[0]"),
        ({"statement": STATEMENT, "corrections": {"income": -5}}, "body.corrections.income"),
        ({"statement": STATEMENT, "corrections": {"salary": 1}}, "body.corrections.salary"),
        ({"statement": ""}, "body.statement"),
        ({"lenders": None}, "body.statement"),
        ({"statement": STATEMENT, "language": "de"}, "body.language"),
        ({"statement": STATEMENT, "surprise": 1}, "body.surprise"),
    ]
    for body, field in cases:
        response = ask(api, application_id, body)
        assert response.status_code == 422, body
        assert response.json()["error"] == "invalid_input"
        assert problem_fields(response) == [field], body
    assert ask(api, "not-a-uuid", {"statement": STATEMENT}).status_code == 422
    assert ask(api, application_id, {"statement": STATEMENT}).status_code == 202  # none stored


def test_without_a_key_it_is_401(api: Api) -> None:
    application_id = rejected_application(api)["application_id"]
    assert (
        api.client.post(
            f"/v1/applications/{application_id}/review-requests", json={"statement": STATEMENT}
        ).status_code
        == 401
    )
    assert api.client.get(f"/v1/review-requests/{uuid.uuid4()}").status_code == 401


def test_an_unknown_or_another_clients_request_is_404(api: Api) -> None:
    application_id = rejected_application(api)["application_id"]
    request_id = ask(api, application_id, {"statement": STATEMENT}).json()["request_id"]
    _, other_key = api.service.store.api_keys.add(role="frontend", client="other")
    assert read(api, str(uuid.uuid4())).status_code == 404
    assert read(api, request_id, key=other_key).status_code == 404
    assert read(api, request_id, key=api.admin_key).status_code == 200
    assert read(api, "not-a-uuid").status_code == 422


def test_an_extension_shows_the_new_due_date_and_the_reason(api: Api) -> None:
    application_id = rejected_application(api)["application_id"]
    first = ask(api, application_id, {"statement": STATEMENT}).json()
    extend(
        api.service.store,
        first["request_id"],
        months=1,
        reason="Vi venter på lønnsslipp.",
        by="kari",
    )
    answer = read(api, first["request_id"]).json()
    assert answer["status"] == "extended"
    assert answer["extension_reason"] == "Vi venter på lønnsslipp."
    assert answer["due_at"] > first["due_at"]


def test_the_applicant_reads_the_outcome_in_their_language_and_the_override_counts(
    api: Api,
) -> None:
    decision = rejected_application(api)
    application_id = decision["application_id"]
    contested = sorted(lender["lender_id"] for lender in decision["rejected"])[:2]
    request_id = ask(
        api,
        application_id,
        {"statement": STATEMENT, "lenders": contested, "corrections": {"income": 550000}},
        **{"Accept-Language": "nb"},
    ).json()["request_id"]
    decide(
        api.service.store,
        api.service.rules.compiled,
        request_id,
        reviewer="kari",
        verdicts=[
            LenderVerdict(contested[0], "override", "Inntekten er dokumentert.", "lønnsslipp ok"),
            LenderVerdict(contested[1], "uphold", "Kravet står ved lag.", ""),
        ],
        corrections={"income": 550000},
    )
    response = read(api, request_id, **{"Accept-Language": "nb-NO, en;q=0.5"})
    assert response.status_code == 200
    assert response.headers["Content-Language"] == "nb"
    answer = response.json()
    assert (answer["status"], answer["language"], answer["explanation_language"]) == (
        "decided",
        "nb",
        "nb",
    )
    assert answer["message"].startswith("En saksbehandler har avgjort")
    assert [
        (x["lender_id"], x["verdict"], x["eligible"], x["explanation"]) for x in answer["lenders"]
    ] == [
        (contested[0], "override", True, "Inntekten er dokumentert."),
        (contested[1], "uphold", False, "Kravet står ved lag."),
    ]
    assert "lønnsslipp ok" not in response.text  # the internal note stays internal

    again = api.client.get(
        f"/v1/applications/{application_id}/decision", headers={"X-API-Key": api.frontend_key}
    ).json()
    assert again["decision_id"] == decision["decision_id"]
    assert {x["lender_id"]: x["by_review"] for x in again["eligible_lenders"]} == {
        contested[0]: True
    }
    assert contested[0] not in [x["lender_id"] for x in again["rejected"]]
    assert contested[1] in [x["lender_id"] for x in again["rejected"]]
    assert api.service.store.verify().ok

    reopened = ask(api, application_id, {"statement": STATEMENT}).json()
    assert contested[0] not in [x["lender_id"] for x in reopened["lenders"]]  # no longer rejected
