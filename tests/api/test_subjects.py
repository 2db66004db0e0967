"""Data-subject rights over HTTP, the issue's acceptance (SQLite and PostgreSQL): export holds
everything about the person and nothing about anyone else; after erasure only what the law
keeps remains, no trace of the person is left in any table, the database file or a dump, and
the log still verifies; wrong role 403, unknown subject 404 (admins only); restriction; no
personal data in logs or metric labels."""

from __future__ import annotations

import copy
import json
import logging
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy import create_engine, make_url, text
from sqlmodel import SQLModel

from api.examples import APPLICATIONS
from api.log_redaction import ACCESS_LOGGER, RedactSubjectPaths
from broker import LenderVerdict, ReviewWithdrawnError, decide, extend, open_case
from tests.api.support import Api, running_api

KARI = APPLICATIONS["no-applicant"]["applicant"]  # also the co-applicant of no-with-co-applicant
OLA = APPLICATIONS["no-with-co-applicant"]["applicant"]
ANNA = APPLICATIONS["se-applicant"]["applicant"]
ERIK = APPLICATIONS["se-with-co-applicant"]["applicant"]
UNKNOWN_ID = "15076500565"  # a valid fødselsnummer nobody applied with


def traces(person: dict[str, Any]) -> list[str]:
    """The texts that would betray a person: name, national id, e-mail, phone (as written,
    and digits only)."""
    phone_digits = "".join(c for c in person["phone"] if c.isdigit())
    id_digits = "".join(c for c in person["national_id"] if c.isdigit())
    return [
        person["name"],
        person["national_id"],
        id_digits,
        person["email"],
        person["phone"],
        phone_digits,
    ]


@pytest.fixture
def people(database_url: str) -> Iterator[tuple[Api, dict[str, str]]]:
    """Kari as co-applicant (with Ola) and as applicant; Anna and Erik, unrelated."""
    with running_api(database_url, synthetic_ids=True) as api:
        ids = {}
        for name in (
            "no-with-co-applicant",
            "no-applicant",
            "se-applicant",
            "se-with-co-applicant",
        ):
            answer = api.post_application(APPLICATIONS[name])
            assert answer.status_code == 201, answer.text
            ids[name] = answer.json()["application_id"]
        yield api, ids


def _admin(api: Api) -> dict[str, str]:
    return {"X-API-Key": api.admin_key}


def _export(api: Api, national_id: str) -> dict[str, Any]:
    answer = api.client.get(f"/v1/subjects/{national_id}/export", headers=_admin(api))
    assert answer.status_code == 200, answer.text
    document: dict[str, Any] = answer.json()
    schema = api.client.get("/v1/schemas/subject-export.json").json()
    jsonschema.validate(document, schema)
    return document


def _category(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    (category,) = [c for c in document["categories"] if c["category"] == name]
    assert category["purpose"] and category["legal_basis"]
    items: list[dict[str, Any]] = category["items"]
    return items


def test_export_holds_everything_about_the_person_and_nothing_about_anyone_else(
    people: tuple[Api, dict[str, str]],
) -> None:
    api, ids = people
    shared, own = ids["no-with-co-applicant"], ids["no-applicant"]
    document = _export(api, KARI["national_id"])
    assert document["subject"] == {"national_id": KARI["national_id"]}
    data = {
        (i["application_id"], i["role"]): i["data"] for i in _category(document, "application_data")
    }
    assert set(data) == {(shared, "co_applicant"), (own, "applicant")}
    assert data[(shared, "co_applicant")]["co_applicant"]["name"] == KARI["name"]
    assert "applicant" not in data[(shared, "co_applicant")]  # Ola's part is left out
    assert data[(own, "applicant")]["applicant"]["email"] == KARI["email"]
    decisions = {i["application_id"]: i for i in _category(document, "automated_decisions")}
    assert set(decisions) == {shared, own}
    assert "age" not in decisions[shared]["features"]  # Ola's age
    assert decisions[shared]["features"]["co_age"] is not None  # Kari's
    assert decisions[own]["features"]["age"] is not None
    for decision in decisions.values():
        assert {o["lender_id"] for o in decision["outcomes"]} == {
            lender["lender_id"] for lender in decision["lenders"]
        }
        accepted = any(o["eligible"] for o in decision["outcomes"])
        period = timedelta(days=1827 if accepted else 730)
        decided = datetime.fromisoformat(decision["decided_at"])
        assert datetime.fromisoformat(decision["delete_on"]) == decided + period
    text_of_export = json.dumps(document, ensure_ascii=False)
    for other in (OLA, ANNA, ERIK):
        for trace in traces(other):
            assert trace not in text_of_export
    spaced = _export(api, "218586 41206")  # any written form finds the same person
    assert spaced["categories"] == document["categories"]


def _rows_of_every_table(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return "\n".join(
                repr(row)
                for table in SQLModel.metadata.sorted_tables
                for row in connection.execute(text(f"SELECT * FROM {table.name}"))
            )
    finally:
        engine.dispose()


def _database_bytes(database_url: str) -> bytes:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    schema = str(url.query["options"]).removeprefix("-csearch_path=")
    plain = url.difference_update_query(["options"]).set(drivername="postgresql")
    dump = subprocess.run(
        ["pg_dump", "--schema", schema, plain.render_as_string(hide_password=False)],
        check=True,
        capture_output=True,
    )
    return dump.stdout


def _assert_no_trace(database_url: str, person: dict[str, Any], held: str) -> None:
    """No trace of `person` in any row, the file or dump, which do hold `held` (an
    application id: the copy is a real one)."""
    rows = _rows_of_every_table(database_url)
    stored = _database_bytes(database_url)
    assert held in rows and held.encode() in stored
    for trace in traces(person):
        assert trace not in rows, trace
        assert trace.encode() not in stored, trace


def test_a_copy_of_the_database_reveals_no_personal_details(
    people: tuple[Api, dict[str, str]], database_url: str
) -> None:
    people[0].service.store.dispose()  # everything written through to the file
    for person in (KARI, OLA, ANNA, ERIK):
        _assert_no_trace(database_url, person, people[1]["no-applicant"])


def test_after_erasure_only_what_the_law_keeps_remains_and_the_log_verifies(
    people: tuple[Api, dict[str, str]], database_url: str
) -> None:
    api, ids = people
    shared, own = ids["no-with-co-applicant"], ids["no-applicant"]
    answer = api.client.post(
        f"/v1/subjects/{KARI['national_id']}/erasure",
        headers=_admin(api),
        json={"reason": "the applicant asked"},
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert {e["application_id"]: e["personal_data"] for e in result["erased"]} == {
        shared: True,
        own: True,
    }
    assert all(e["decision_features_redacted"] == 1 for e in result["erased"])
    assert {(k["application_id"], k["role"]) for k in result["kept"]} == {
        (shared, "co_applicant"),
        (own, "applicant"),
    }
    assert all("anti-money-laundering" in k["reason"] and k["delete_on"] for k in result["kept"])

    document = _export(api, KARI["national_id"])
    assert _category(document, "application_data") == []
    assert _category(document, "rectifications") == []
    decisions = _category(document, "automated_decisions")
    assert len(decisions) == 2
    assert all(d["redacted"] and d["features"] == {} and d["kept_because"] for d in decisions)
    checks = _category(document, "identity_checks")
    assert {c["identity"]["national_id"] for c in checks} == {KARI["national_id"]}
    assert all(c["reason"] and c["delete_on"] for c in checks)

    report = api.service.store.verify()
    assert report.ok, report
    assert report.redacted == 2
    assert [(r.reason, r.records) for r in report.redactions] == [("the applicant asked", 2)]
    api.service.store.dispose()
    _assert_no_trace(database_url, KARI, own)
    assert _category(_export(api, ANNA["national_id"]), "application_data")  # others untouched


def test_a_wrong_role_is_403_and_an_unknown_subject_404_for_admins_only(
    people: tuple[Api, dict[str, str]],
) -> None:
    api, _ = people
    routes = [
        ("GET", "export", None),
        ("POST", "rectification", {"email": "kari@example.com"}),
        ("POST", "erasure", {}),
        ("POST", "restriction", {"reason": "contested"}),
        ("DELETE", "restriction", None),
    ]
    for method, route, body in routes:
        answers = {
            who: api.client.request(
                method,
                f"/v1/subjects/{who}/{route}",
                headers={"X-API-Key": api.frontend_key},
                json=body,
            )
            for who in (KARI["national_id"], UNKNOWN_ID, "not-an-id")
        }
        assert {a.status_code for a in answers.values()} == {403}, route
        assert len({a.text for a in answers.values()}) == 1  # the same answer for everyone
        assert api.client.request(method, f"/v1/subjects/{UNKNOWN_ID}/{route}").status_code == 401
        for who in (UNKNOWN_ID, "not-an-id"):
            found = api.client.request(
                method, f"/v1/subjects/{who}/{route}", headers=_admin(api), json=body
            )
            assert (found.status_code, found.json()["error"]) == (404, "not_found"), route
    assert api.client.get("/v1/schemas/subject-export.json").json()["title"]


def test_rectification_is_recorded_and_decisions_are_not_rewritten(
    people: tuple[Api, dict[str, str]],
) -> None:
    api, ids = people
    before = _category(_export(api, KARI["national_id"]), "automated_decisions")
    answer = api.client.post(
        f"/v1/subjects/{KARI['national_id']}/rectification",
        headers=_admin(api),
        json={"email": "kari@nytt.example.no"},
    )
    assert answer.status_code == 200, answer.text
    assert sorted(answer.json()["corrected_applications"]) == sorted(
        [ids["no-with-co-applicant"], ids["no-applicant"]]
    )
    document = _export(api, KARI["national_id"])
    corrections = _category(document, "rectifications")
    assert {(c["role"], c["corrections"][c["role"]]["email"]) for c in corrections} == {
        ("co_applicant", "kari@nytt.example.no"),
        ("applicant", "kari@nytt.example.no"),
    }
    assert _category(document, "automated_decisions") == before
    for wrong, field in (
        ({}, "body"),
        ({"email": "not an address"}, "body.email"),
        ({"phone": "12"}, "body.phone"),
        ({"name": "Kari", "national_id": "x"}, "body.national_id"),
    ):
        refused = api.client.post(
            f"/v1/subjects/{KARI['national_id']}/rectification", headers=_admin(api), json=wrong
        )
        assert refused.status_code == 422, wrong
        assert [p["field"] for p in refused.json()["problems"]] == [field], refused.json()
    corrected = copy.deepcopy(APPLICATIONS["no-applicant"])
    corrected["applicant"]["email"] = "kari@nytt.example.no"
    assert api.post_application(corrected).status_code == 201  # a new decision, corrected


def test_a_restricted_persons_decisions_are_not_shown_outside_the_case(
    people: tuple[Api, dict[str, str]],
) -> None:
    api, ids = people
    path = f"/v1/applications/{ids['no-applicant']}/decision"
    frontend = {"X-API-Key": api.frontend_key}
    assert api.client.get(path, headers=frontend).status_code == 200
    restricted = api.client.post(
        f"/v1/subjects/{KARI['national_id']}/restriction",
        headers=_admin(api),
        json={"reason": "accuracy contested"},
    )
    assert restricted.json() == {"restricted": True, "changed": True}
    refused = api.client.get(path, headers=frontend)
    assert (refused.status_code, refused.json()["error"]) == (403, "processing_restricted")
    assert api.client.get(path, headers=_admin(api)).status_code == 200  # the case itself
    other = f"/v1/applications/{ids['se-applicant']}/decision"
    assert api.client.get(other, headers=frontend).status_code == 200
    assert _export(api, KARI["national_id"])["restriction"]["reason"] == "accuracy contested"
    lifted = api.client.delete(
        f"/v1/subjects/{KARI['national_id']}/restriction", headers=_admin(api)
    )
    assert lifted.json() == {"restricted": False, "changed": True}
    assert api.client.get(path, headers=frontend).status_code == 200


def test_no_personal_data_in_logs_or_metric_labels(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with running_api(sqlite_url, synthetic_ids=True) as api:
        for name in ("no-with-co-applicant", "no-applicant"):
            api.post_application(APPLICATIONS[name])
        _export(api, KARI["national_id"])
        api.client.post(f"/v1/subjects/{KARI['national_id']}/erasure", headers=_admin(api))
        metrics = api.client.get("/metrics").text
        access = logging.getLogger(ACCESS_LOGGER)
        assert any(isinstance(f, RedactSubjectPaths) for f in access.filters)
        record = access.makeRecord(
            ACCESS_LOGGER,
            logging.INFO,
            __file__,
            0,
            '%s - "%s %s HTTP/%s" %d',
            ("127.0.0.1:5000", "GET", f"/v1/subjects/{KARI['national_id']}/export", "1.1", 200),
            None,
        )
        for log_filter in access.filters:
            log_filter.filter(record)
    server_side = [r for r in caplog.records if not r.name.startswith("httpx")]  # not the client
    logged = "\n".join(r.getMessage() for r in server_side) + record.getMessage()
    assert "/v1/subjects/{national_id}/export" in record.getMessage()
    for person in (KARI, OLA):
        for trace in traces(person):
            assert trace not in logged
            assert trace not in metrics


CASEWORKER = "saksbehandler"


def _ask_review(api: Api, application_id: str, statement: str, corrections: Any) -> str:
    decision = api.client.get(
        f"/v1/applications/{application_id}/decision", headers={"X-API-Key": api.frontend_key}
    ).json()
    contested = sorted(lender["lender_id"] for lender in decision["rejected"])[:1]
    assert contested, "the example must be rejected by some lender"
    answer = api.client.post(
        f"/v1/applications/{application_id}/review-requests",
        json={"statement": statement, "lenders": contested, "corrections": corrections},
        headers={"X-API-Key": api.frontend_key},
    )
    assert answer.status_code == 202, answer.text
    request_id: str = answer.json()["request_id"]
    return request_id


def _work_case(api: Api, request_id: str, explanation: str, note: str) -> None:
    """A caseworker opens the case (a view is recorded) and upholds every contested lender."""
    case = open_case(
        api.service.store, api.service.rules.compiled, request_id, viewer=CASEWORKER, language="en"
    )
    decide(
        api.service.store,
        api.service.rules.compiled,
        request_id,
        reviewer=CASEWORKER,
        verdicts=[
            LenderVerdict(lender, "uphold", explanation, note) for lender in case.summary.lenders
        ],
        corrections={},
    )


@pytest.fixture
def reviewed(database_url: str) -> Iterator[tuple[Api, dict[str, str]]]:
    """The people of `people` (incomes lowered, so that some lender says no), with review
    requests written full of personal details: Kari's on her own application (decided, the
    caseworker's explanation and note naming her), Ola's on the application Kari shares with
    him (naming both), and Anna's (unrelated)."""
    with running_api(database_url, synthetic_ids=True) as api:
        ids = {}
        for name in (
            "no-with-co-applicant",
            "no-applicant",
            "se-applicant",
            "se-with-co-applicant",
        ):
            body = copy.deepcopy(APPLICATIONS[name])
            body["applicant"]["income"] = 150_000
            answer = api.post_application(body)
            assert answer.status_code == 201, answer.text
            ids[name] = answer.json()["application_id"]
        yield _with_reviews(api, ids)


def _with_reviews(api: Api, ids: dict[str, str]) -> tuple[Api, dict[str, str]]:
    ids["kari-review"] = _ask_review(
        api,
        ids["no-applicant"],
        f"Jeg er {KARI['name']} ({KARI['national_id']}), ring {KARI['phone']} eller skriv til "
        f"{KARI['email']}.",
        {"income": 900_000},
    )
    _work_case(api, ids["kari-review"], f"Hei {KARI['name']}, kravet står.", KARI["phone"])
    ids["ola-review"] = _ask_review(
        api,
        ids["no-with-co-applicant"],
        f"Jeg er {OLA['name']}, {OLA['phone']}; min samboer {KARI['name']} har {KARI['email']}.",
        {"income": 800_000, "co_income": 700_000},
    )
    extend(
        api.service.store,
        ids["ola-review"],
        months=1,
        reason=f"Venter på lønnsslipp fra {OLA['name']}.",
        by=CASEWORKER,
    )
    _work_case(api, ids["ola-review"], "Kravet står.", f"{OLA['name']} ringte")
    ids["anna-review"] = _ask_review(
        api, ids["se-applicant"], f"Jag heter {ANNA['name']}, {ANNA['email']}.", {}
    )
    api.service.store.reviews.record_view(
        ids["anna-review"], viewer=CASEWORKER, at=datetime.now().astimezone()
    )
    return api, ids


def test_export_holds_the_persons_review_requests_and_case_views_and_nobody_elses(
    reviewed: tuple[Api, dict[str, str]],
) -> None:
    api, ids = reviewed
    shared, own = ids["no-with-co-applicant"], ids["no-applicant"]
    document = _export(api, KARI["national_id"])
    requests = {r["request_id"]: r for r in _category(document, "review_requests")}
    assert set(requests) == {ids["kari-review"], ids["ola-review"]}
    mine, olas = requests[ids["kari-review"]], requests[ids["ola-review"]]
    assert (mine["application_id"], mine["role"]) == (own, "applicant")
    assert (olas["application_id"], olas["role"]) == (shared, "co_applicant")
    assert KARI["email"] in mine["statement"] and mine["withheld"] is None
    assert olas["statement"] is None and olas["withheld"]  # Ola's words, not hers
    assert [(x["verdict"], x["explanation"], x["internal_note"]) for x in olas["lenders"]] == [
        ("uphold", None, None)  # the caseworker's texts are Ola's too
    ]
    assert mine["claimed_corrections"] == {"income": 900_000}
    assert olas["claimed_corrections"] == {"co_income": 700_000}  # Ola's income left out
    assert mine["status"] == "decided" and mine["decided_by"] == CASEWORKER
    assert mine["manual_decision_id"] and mine["due_at"] > mine["received_at"]
    assert [(x["verdict"], x["explanation"], x["internal_note"]) for x in mine["lenders"]] == [
        ("uphold", f"Hei {KARI['name']}, kravet står.", KARI["phone"])
    ]
    assert [event["what"] for event in mine["history"]] == ["received", "decided"]
    assert olas["extension_reason"] is None  # the caseworker's words to Ola
    assert [event["what"][:12] for event in olas["history"]] == [
        "received",
        "extended to ",
        "decided",
    ]
    assert all(":" not in event["what"] for event in olas["history"])
    assert not mine["erased"] and mine["delete_on"] and mine["kept_because"] is None
    views = _category(document, "case_views")
    assert {(v["request_id"], v["application_id"], v["role"], v["viewer"]) for v in views} == {
        (ids["kari-review"], own, "applicant", CASEWORKER),
        (ids["ola-review"], shared, "co_applicant", CASEWORKER),
    }
    assert all(v["viewed_at"] and v["delete_on"] and v["kept_because"] for v in views)
    (category,) = [c for c in document["categories"] if c["category"] == "review_requests"]
    assert "internal notes are included" in category["purpose"]
    text_of_export = json.dumps(document, ensure_ascii=False)
    for other in (OLA, ANNA, ERIK):
        for trace in traces(other):
            assert trace not in text_of_export, trace
    assert ids["anna-review"] not in text_of_export
    olas_own = _category(_export(api, OLA["national_id"]), "review_requests")
    (olas_request,) = olas_own
    assert olas_request["role"] == "applicant" and olas_request["withheld"] is None
    assert olas_request["statement"].startswith(f"Jeg er {OLA['name']}")


def test_after_erasure_no_trace_is_left_in_review_requests_and_the_log_verifies(
    reviewed: tuple[Api, dict[str, str]], database_url: str
) -> None:
    api, ids = reviewed
    shared, own = ids["no-with-co-applicant"], ids["no-applicant"]
    answer = api.client.post(
        f"/v1/subjects/{KARI['national_id']}/erasure",
        headers=_admin(api),
        json={"reason": "the applicant asked"},
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert {e["application_id"]: e["review_requests"] for e in result["erased"]} == {
        shared: 1,
        own: 1,
    }
    assert {e["application_id"]: e["decision_features_redacted"] for e in result["erased"]} == {
        shared: 2,  # the automated decision and the manual one
        own: 2,
    }
    kept = {(k["category"], k["application_id"]) for k in result["kept"]}
    assert kept >= {
        ("review_requests", own),
        ("review_requests", shared),
        ("case_views", own),
        ("case_views", shared),
    }
    assert all(k["reason"] for k in result["kept"])

    document = _export(api, KARI["national_id"])
    requests = _category(document, "review_requests")
    assert len(requests) == 2
    for request in requests:
        assert request["erased"] and request["kept_because"] and request["delete_on"] is None
        assert request["statement"] is None and request["claimed_corrections"] == {}
        assert [
            (x["verdict"], x["explanation"], x["internal_note"]) for x in request["lenders"]
        ] == [("uphold", None, None)]
    assert len(_category(document, "case_views")) == 2  # the access log, kept until its date
    status = api.client.get(
        f"/v1/review-requests/{ids['kari-review']}", headers={"X-API-Key": api.frontend_key}
    )
    assert status.status_code == 200 and status.json()["status"] == "decided"

    report = api.service.store.verify()
    assert report.ok, report
    assert report.redacted == 4
    assert [(r.reason, r.records) for r in report.redactions] == [("the applicant asked", 4)]
    api.service.store.dispose()
    _assert_no_trace(database_url, KARI, own)
    _assert_no_trace(database_url, OLA, own)  # the shared application went for both
    anna = _category(_export(api, ANNA["national_id"]), "review_requests")
    assert ANNA["name"] in anna[0]["statement"]  # others untouched


def test_a_copy_of_the_database_reveals_no_review_statement(
    reviewed: tuple[Api, dict[str, str]], database_url: str
) -> None:
    """Anna's statement gives her name and e-mail; it is sealed like the payload. (Kari's
    and Ola's cases also hold the caseworker's explanations and notes, free text kept clear
    until an erasure: see the erasure test.)"""
    api, ids = reviewed
    api.service.store.dispose()
    _assert_no_trace(database_url, ANNA, ids["anna-review"])
    _assert_no_trace(database_url, ERIK, ids["anna-review"])


def test_an_open_review_of_an_erased_application_is_withdrawn(
    reviewed: tuple[Api, dict[str, str]],
) -> None:
    api, ids = reviewed
    request_id = ids["anna-review"]  # open, not decided
    erased = api.client.post(
        f"/v1/subjects/{ANNA['national_id']}/erasure", headers=_admin(api), json={}
    )
    assert erased.status_code == 200, erased.text
    withdrawn = [i for item in erased.json()["erased"] for i in item["review_requests_withdrawn"]]
    assert withdrawn == [request_id]
    case = open_case(
        api.service.store,
        api.service.rules.compiled,
        request_id,
        viewer=CASEWORKER,
        language="en",
    )
    assert (case.summary.status, case.summary.withdrawn_reason) == ("withdrawn", "erasure")
    assert case.personal is None and case.outcomes == () and case.decision is None
    (lender,) = api.service.store.reviews.get(request_id).lenders  # type: ignore[union-attr]
    with pytest.raises(ReviewWithdrawnError):
        decide(
            api.service.store,
            api.service.rules.compiled,
            request_id,
            reviewer=CASEWORKER,
            verdicts=[LenderVerdict(lender.lender_id, "uphold", "x", "")],
            corrections={},
        )
    status = api.client.get(
        f"/v1/review-requests/{request_id}", headers={"X-API-Key": api.frontend_key}
    )
    assert status.status_code == 200, status.text
    assert (status.json()["status"], status.json()["withdrawn_reason"]) == ("withdrawn", "erasure")
    assert ANNA["name"] not in status.text
