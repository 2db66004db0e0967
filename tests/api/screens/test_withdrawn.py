"""An open review request whose application is erased (POST /v1/subjects/{id}/erasure) is
withdrawn, on SQLite and PostgreSQL: the applicant reads the status and why in their
language, the erasure's answer and the export list it, the queue hides it unless asked for,
and the case page shows it read-only; assigning, extending and deciding it are refused; an
erasure and a decision at the same moment end one way only."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from broker import LenderVerdict, RetentionPeriods, ReviewConflictError, decide, erase
from tests.api.screens.conftest import PASSWORD, csrf_of
from tests.api.screens.html import parse, text
from tests.api.support import Api, application, person, running_api

STATEMENT = "Jeg heter Kari Nordmann, ring +47 912 34 567."


@dataclass(frozen=True)
class Withdrawn:
    api: Api
    request_id: str
    erasure: dict[str, Any]
    national_id: str


def _ask(api: Api, application_id: str) -> str:
    requested = api.client.post(
        f"/v1/applications/{application_id}/review-requests",
        json={"statement": STATEMENT, "language": "nb"},
        headers={"X-API-Key": api.frontend_key},
    )
    assert requested.status_code == 202, requested.text
    return str(requested.json()["request_id"])


@pytest.fixture
def withdrawn(database_url: str) -> Iterator[Withdrawn]:
    """Kari's rejected application with an open review request, then Kari's erasure; an
    unrelated open request (Anna's) stays."""
    with running_api(database_url, synthetic_ids=True) as api:
        api.service.store.caseworkers.add("kari", "caseworker", PASSWORD)
        kari = person(income=250_000)
        decided = api.post_application(application(applicant=kari))
        assert decided.status_code == 201, decided.text
        request_id = _ask(api, decided.json()["application_id"])
        other = api.post_application(
            application("SE", applicant=person("SE", income=150_000, name="Anna Svensson"))
        )
        assert other.status_code == 201, other.text
        _ask(api, other.json()["application_id"])
        erased = api.client.post(
            f"/v1/subjects/{kari['national_id']}/erasure",
            json={},
            headers={"X-API-Key": api.admin_key},
        )
        assert erased.status_code == 200, erased.text
        yield Withdrawn(api, request_id, erased.json(), kari["national_id"])


def _signed_in(api: Api) -> TestClient:
    client = TestClient(api.app)
    token = csrf_of(client, "/review/sign-in")
    answer = client.post(
        "/review/sign-in",
        data={"name": "kari", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return client


def test_the_applicant_reads_withdrawn_and_why_in_their_language(withdrawn: Withdrawn) -> None:
    api = withdrawn.api
    messages = {}
    for language in ("nb", "sv", "en"):
        answer = api.client.get(
            f"/v1/review-requests/{withdrawn.request_id}",
            headers={"X-API-Key": api.frontend_key, "Accept-Language": language},
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert (body["status"], body["withdrawn_reason"]) == ("withdrawn", "erasure")
        assert body["language"] == language
        # nothing of the erased statement: its name, its phone number as written (not
        # "912" alone: the answer's ids and hashes hold such digits by chance)
        assert "Kari" not in answer.text and "912 34 567" not in answer.text
        messages[language] = body["message"]
    assert "slettet" in messages["nb"] and "raderades" in messages["sv"]
    assert "erased at the applicant's request" in messages["en"]
    schema = api.client.get("/openapi.json").json()["components"]["schemas"]
    assert "withdrawn" in str(schema["ReviewRequestAnswer"]["properties"]["status"])
    assert "withdrawn_reason" in schema["ReviewRequestAnswer"]["properties"]


def test_the_erasure_answer_and_the_export_list_the_withdrawn_request(
    withdrawn: Withdrawn,
) -> None:
    api = withdrawn.api
    (erased,) = withdrawn.erasure["erased"]
    assert erased["review_requests_withdrawn"] == [withdrawn.request_id]
    exported = api.client.get(
        f"/v1/subjects/{withdrawn.national_id}/export", headers={"X-API-Key": api.admin_key}
    )
    assert exported.status_code == 200, exported.text
    document = exported.json()
    jsonschema.validate(document, api.client.get("/v1/schemas/subject-export.json").json())
    (category,) = [c for c in document["categories"] if c["category"] == "review_requests"]
    (item,) = category["items"]
    assert (item["request_id"], item["status"], item["withdrawn_reason"]) == (
        withdrawn.request_id,
        "withdrawn",
        "erasure",
    )
    assert item["history"][-1]["what"] == "withdrawn: erasure"


def test_the_queue_hides_a_withdrawn_request_unless_asked_for(withdrawn: Withdrawn) -> None:
    client = _signed_in(withdrawn.api)
    listed = [row[0] for row in parse(client.get("/review").text).table(".//table[@class='queue']")]
    assert withdrawn.request_id not in listed and len(listed) == 1  # Anna's stays
    chosen = parse(client.get("/review?status=withdrawn").text)
    rows = chosen.table(".//table[@class='queue']")
    assert [row[0] for row in rows] == [withdrawn.request_id]
    options = [o.get("value") for o in chosen.all(".//select[@name='status']/option")]
    assert "withdrawn" in options


def test_the_case_page_says_withdrawn_and_why_read_only(withdrawn: Withdrawn) -> None:
    client = _signed_in(withdrawn.api)
    answer = client.get(f"/review/cases/{withdrawn.request_id}")
    assert answer.status_code == 200, answer.text
    page = parse(answer.text)
    assert "the application was erased at the applicant's request" in text(
        page.by_id("withdrawn-reason")
    )
    assert "read-only" in text(page.by_id("withdrawn-notice"))
    assert page.all(".//form[@id='decision-form']") == []
    assert page.all(".//textarea") == [] and page.all(".//input[@type='radio']") == []
    history = [row[2] for row in page.table(".//table[@class='history']")]
    assert history[-1] == "withdrawn: erasure"
    assert "Kari Nordmann" not in answer.text


def test_working_a_withdrawn_case_is_refused_and_changes_nothing(withdrawn: Withdrawn) -> None:
    api = withdrawn.api
    client = _signed_in(api)
    case = f"/review/cases/{withdrawn.request_id}"
    token = csrf_of(client, case)
    verdict = {
        "csrf_token": token,
        "verdict.fjordkreditt": "override",
        "explanation.fjordkreditt": "Ok.",
    }
    for path in ("/decision", "/decision/confirm", "/what-if"):
        refused = client.post(case + path, data=verdict, follow_redirects=False)
        assert refused.status_code == 303, path
        assert refused.headers["location"] == f"{case}?error=withdrawn"
    extended = client.post(
        case + "/extend", data={"csrf_token": token, "months": "1", "reason": "Venter."}
    )
    assert extended.status_code == 422
    assert "can no longer be assigned" in text(parse(extended.text).by_id("case-error"))
    assigned = client.post(case + "/assign", data={"csrf_token": token}, follow_redirects=False)
    assert assigned.status_code == 303 and "error=" in assigned.headers["location"]
    stored = api.service.store.reviews.get(withdrawn.request_id)
    assert stored is not None
    assert (stored.status, stored.assignee, stored.manual_decision_id) == ("withdrawn", None, None)
    assert stored.extension_reason is None
    assert api.service.store.verify().ok


def test_no_new_request_can_be_opened_on_the_erased_application(withdrawn: Withdrawn) -> None:
    """The withdrawn request no longer holds the application's one open slot, but the
    application's data is gone: a new request is a 409 saying so."""
    api = withdrawn.api
    stored = api.service.store.reviews.get(withdrawn.request_id)
    assert stored is not None
    again = api.client.post(
        f"/v1/applications/{stored.application_id}/review-requests",
        json={"statement": "Igjen."},
        headers={"X-API-Key": api.frontend_key},
    )
    assert again.status_code == 409, again.text
    assert "erased" in again.json()["message"]


@pytest.fixture
def open_request(database_url: str) -> Iterator[tuple[Api, str, str]]:
    """Kari's rejected application with an open review request (nothing erased)."""
    with running_api(database_url, synthetic_ids=True) as api:
        kari = person(income=250_000)
        decided = api.post_application(application(applicant=kari))
        assert decided.status_code == 201, decided.text
        yield api, _ask(api, decided.json()["application_id"]), kari["national_id"]


def test_an_erasure_and_a_decision_at_once_end_one_way_only(
    open_request: tuple[Api, str, str],
) -> None:
    """Either the decision is recorded and the erasure then finds nothing open, or the
    request is withdrawn and the decider is refused (409): never both, never neither."""
    api, request_id, national_id = open_request
    store, compiled = api.service.store, api.service.rules.compiled
    contested = store.reviews.get(request_id)
    assert contested is not None
    verdicts = [LenderVerdict(x.lender_id, "uphold", "Kravet står.", "") for x in contested.lenders]
    start = threading.Barrier(2)

    def deciding() -> str:
        start.wait()
        try:
            decide(store, compiled, request_id, reviewer="kari", verdicts=verdicts, corrections={})
        except ReviewConflictError:
            return "refused"
        return "decided"

    def erasing() -> list[str]:
        start.wait()
        answer = erase(
            store, RetentionPeriods(), national_id, reason="asked", now=datetime.now(UTC)
        )
        return [i for item in answer["erased"] for i in item["review_requests_withdrawn"]]

    with ThreadPoolExecutor(2) as pool:
        decider, eraser = pool.submit(deciding), pool.submit(erasing)
        outcome, withdrawn = decider.result(), eraser.result()
    stored = store.reviews.get(request_id)
    assert stored is not None
    if outcome == "decided":
        assert withdrawn == [] and stored.status == "decided"
        assert stored.manual_decision_id is not None
    else:
        assert withdrawn == [request_id] and stored.status == "withdrawn"
        assert stored.manual_decision_id is None
    assert store.verify().ok
