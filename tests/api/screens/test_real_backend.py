"""The review screen on the real review workflows and store, on SQLite and PostgreSQL: the
queue and case pages of an applicant's request, what-if, a decision recorded in the chain and
read by the applicant in nb, and two caseworkers confirming at once: exactly one decision,
the other told who decided."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from tests.api.screens.conftest import PASSWORD, csrf_of
from tests.api.screens.html import parse, text
from tests.api.support import Api, application, person, running_api


@dataclass(frozen=True)
class Reviewed:
    api: Api
    request_id: str


@pytest.fixture
def reviewed(database_url: str) -> Iterator[Reviewed]:
    """An application Fjordkreditt and Havbris Kreditt rejected, and its review request."""
    with running_api(database_url, synthetic_ids=True) as api:
        api.service.store.caseworkers.add("kari", "caseworker", PASSWORD)
        api.service.store.caseworkers.add("sam", "supervisor", PASSWORD)
        decided = api.post_application(application(applicant=person(income=250_000)))
        assert decided.status_code == 201, decided.text
        requested = api.client.post(
            f"/v1/applications/{decided.json()['application_id']}/review-requests",
            json={
                "statement": "Inntekten min er 550 000 kroner.",
                "lenders": ["fjordkreditt", "havbris_kreditt"],
                "corrections": {"income": 550_000},
                "language": "nb",
            },
            headers={"X-API-Key": api.frontend_key},
        )
        assert requested.status_code == 202, requested.text
        yield Reviewed(api, requested.json()["request_id"])


def _signed_in(api: Api, name: str) -> TestClient:
    client = TestClient(api.app)
    token = csrf_of(client, "/review/sign-in")
    answer = client.post(
        "/review/sign-in",
        data={"name": name, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    return client


def _decision(token: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "correct.income": "550000",
        "verdict.fjordkreditt": "override",
        "explanation.fjordkreditt": "Inntekten er bekreftet.",
        "note.fjordkreditt": "",
        "verdict.havbris_kreditt": "uphold",
        "explanation.havbris_kreditt": "Boutgiftene er for høye.",
        "note.havbris_kreditt": "",
    }


def test_the_screen_shows_decides_and_the_applicant_reads_it(reviewed: Reviewed) -> None:
    api, request_id = reviewed.api, reviewed.request_id
    kari = _signed_in(api, "kari")
    queue = parse(kari.get("/review").text)
    (row,) = queue.table(".//table[@class='queue']")
    assert row[0] == request_id and row[2] == "fjordkreditt, havbris_kreditt"
    page = parse(kari.get(f"/review/cases/{request_id}").text)
    fjord = page.one(".//section[@aria-labelledby='lender-fjordkreditt']")
    assert fjord.find(".//p[@data-lender]").get("data-eligible") == "false"
    assert page.field("correct.income").get("value") == "550000"
    assert [r[1] for r in page.table(".//table[@class='views']")] == ["kari"]
    token = csrf_of(kari, f"/review/cases/{request_id}")
    tried = parse(
        kari.post(
            f"/review/cases/{request_id}/what-if",
            data={"csrf_token": token, "correct.income": "550000"},
            headers={"X-Requested-With": "fetch"},
        ).text
    )
    assert tried.one(".//p[@data-lender='fjordkreditt']").get("data-eligible") == "true"
    done = kari.post(f"/review/cases/{request_id}/decision/confirm", data=_decision(token))
    assert done.status_code == 200
    assert text(parse(done.text).by_id("decided")).startswith("Decided by kari")
    seen = api.client.get(
        f"/v1/review-requests/{request_id}",
        headers={"X-API-Key": api.frontend_key, "Accept-Language": "nb"},
    ).json()
    assert {x["lender_id"]: (x["verdict"], x["explanation"]) for x in seen["lenders"]} == {
        "fjordkreditt": ("override", "Inntekten er bekreftet."),
        "havbris_kreditt": ("uphold", "Boutgiftene er for høye."),
    }
    report = api.service.store.verify()
    assert report.ok
    assert [d.channel for d in api.service.store.decisions.stream()] == ["api", "manual"]


def test_two_caseworkers_confirming_at_once_record_one_decision(reviewed: Reviewed) -> None:
    api, request_id = reviewed.api, reviewed.request_id
    clients = {name: _signed_in(api, name) for name in ("kari", "sam")}
    forms = {
        name: _decision(csrf_of(c, f"/review/cases/{request_id}")) for name, c in clients.items()
    }

    def confirm(name: str) -> tuple[str, int, str]:
        answer = clients[name].post(
            f"/review/cases/{request_id}/decision/confirm", data=forms[name], follow_redirects=False
        )
        return name, answer.status_code, answer.text

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(confirm, ["kari", "sam"]))
    statuses = sorted(status for _, status, _ in answers)
    assert statuses == [303, 409]
    (winner,) = [name for name, status, _ in answers if status == 303]
    (loser_page,) = [page for _, status, page in answers if status == 409]
    assert text(parse(loser_page).by_id("already-decided")).startswith(
        f"This case was already decided by {winner} at"
    )
    manual = [d for d in api.service.store.decisions.stream() if d.channel == "manual"]
    assert len(manual) == 1
    assert api.service.store.verify().ok


@pytest.mark.parametrize(
    ("months", "reason"), [("3", "Vi venter på lønnsslipp."), ("x", "Grunn"), ("1", "  ")]
)
def test_a_bad_extension_gives_the_case_page_with_why(
    reviewed: Reviewed, months: str, reason: str
) -> None:
    api, request_id = reviewed.api, reviewed.request_id
    kari = _signed_in(api, "kari")
    token = csrf_of(kari, f"/review/cases/{request_id}")
    answer = kari.post(
        f"/review/cases/{request_id}/extend",
        data={"csrf_token": token, "months": months, "reason": reason},
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    alert = text(parse(answer.text).one(".//*[@id='case-error']"))
    assert alert.startswith("The deadline was not extended: give 1 or 2 months and a reason")
    status = api.client.get(
        f"/v1/review-requests/{request_id}", headers={"X-API-Key": api.frontend_key}
    ).json()
    assert status["status"] == "received"  # nothing changed
