"""`POST /v1/rulesets` takes a realistic ruleset: its own body limit, problems located by the
index of the document in the upload, the body read as every JSON body is."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from lender_rules import SHIPPED_LENDERS_DIR
from tests.api.support import Api, running_api


def shipped_documents() -> list[dict[str, Any]]:
    return [json.loads(path.read_text()) for path in sorted(SHIPPED_LENDERS_DIR.glob("*.json"))]


def many_lenders(count: int) -> list[dict[str, Any]]:
    """`count` lender documents: the shipped ones again and again, each under its own id."""
    shipped = shipped_documents()
    documents = []
    for i in range(count):
        document = copy.deepcopy(shipped[i % len(shipped)])
        document["lender_id"] = f"{document['lender_id']}_{i}"
        documents.append(document)
    return documents


def post_ruleset(api: Api, raw: bytes, content_type: str = "application/json") -> Any:
    return api.client.post(
        "/v1/rulesets",
        content=raw,
        headers={"X-API-Key": api.admin_key, "Content-Type": content_type},
    )


def test_the_shipped_ruleset_is_larger_than_an_application_body_and_is_accepted(
    sqlite_api: Api,
) -> None:
    raw = json.dumps({"lenders": shipped_documents()}, indent=2, ensure_ascii=False).encode()
    assert len(raw) > sqlite_api.service.settings.max_body_bytes  # as the files are written

    response = post_ruleset(sqlite_api, raw)

    assert response.status_code == 201, response.text
    assert response.json()["active"] is True


def test_a_ruleset_of_a_hundred_lenders_is_accepted(sqlite_api: Api) -> None:
    raw = json.dumps({"lenders": many_lenders(100)}).encode()
    assert len(raw) > 400_000
    response = post_ruleset(sqlite_api, raw)
    assert response.status_code == 201, response.text


def test_a_ruleset_over_its_own_limit_is_413(tmp_path: Path) -> None:
    raw = json.dumps({"lenders": many_lenders(30)}).encode()
    url = f"sqlite:///{tmp_path / 'limit.sqlite'}"
    with running_api(url, max_ruleset_body_bytes=len(raw) - 1) as api:
        response = post_ruleset(api, raw)
        assert response.status_code == 413
        assert response.json()["error"] == "body_too_large"
        assert str(len(raw) - 1) in response.json()["message"]
        assert post_ruleset(
            api, json.dumps({"lenders": many_lenders(29)}).encode()
        ).status_code == (201)


def test_applications_keep_their_own_smaller_limit(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'limit.sqlite'}"
    with running_api(url, max_body_bytes=1000, max_ruleset_body_bytes=10**7) as api:
        response = api.client.post(
            "/v1/applications",
            content=b" " * 1001,
            headers={"X-API-Key": api.frontend_key, "Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert "1000 bytes" in response.json()["message"]


def test_problems_are_located_by_the_index_of_the_document(sqlite_api: Api) -> None:
    documents = shipped_documents()[:4]
    documents[2]["requirements"][1]["rule"] = {">=": [{"var": "agee"}, 18]}
    del documents[3]["lender_id"]
    response = post_ruleset(sqlite_api, json.dumps({"lenders": documents}).encode())

    assert response.status_code == 422
    problems = response.json()["rule_problems"]
    assert {p["file"] for p in problems} == {"lenders[2]", "lenders[3]"}
    (rule_problem,) = [p for p in problems if p["file"] == "lenders[2]"]
    assert rule_problem["requirement_id"] == documents[2]["requirements"][1]["id"]


def test_a_ruleset_with_a_key_given_twice_is_422_at_its_path(sqlite_api: Api) -> None:
    raw = json.dumps({"lenders": shipped_documents()[:2]})
    raw = raw.replace('"name": ', '"name": "Twice", "name": ', 1)
    response = post_ruleset(sqlite_api, raw.encode())
    assert response.status_code == 422, response.text
    assert [p["field"] for p in response.json()["problems"]] == ["body.lenders[0].name"]


def test_a_ruleset_not_declared_as_json_is_415(sqlite_api: Api) -> None:
    raw = json.dumps({"lenders": shipped_documents()}).encode()
    response = sqlite_api.client.post(
        "/v1/rulesets", content=raw, headers={"X-API-Key": sqlite_api.admin_key}
    )
    assert response.status_code == 415
    assert post_ruleset(sqlite_api, raw, "application/json; charset=iso-8859-1").status_code == 415
