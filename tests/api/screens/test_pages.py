"""The review screen's pages, read with a real HTML parser: the queue (filters, order, marks,
pagination), the case page (reasons, values, thresholds, statement, corrections, history,
views), what-if, the decision with its confirmation, extension, and the three languages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.screens.texts import CATALOGUE
from lender_rules.vocabulary import LANGUAGES
from tests.api.screens.conftest import csrf_of
from tests.api.screens.html import parse, text
from tests.api.screens.review_double import ReviewDouble

Signer = Callable[..., TestClient]


def test_every_text_of_the_screen_is_in_every_language() -> None:
    for key, translations in CATALOGUE.items():
        assert set(translations) == set(LANGUAGES), key
        assert all(value.strip() for value in translations.values()), key


def test_the_queue_lists_cases_oldest_due_first_with_urgency_in_words(sign_in: Signer) -> None:
    page = parse(sign_in().get("/review").text)
    assert page.headers(".//table[@class='queue']") == [
        "Request",
        "Market",
        "Lenders contested",
        "Status",
        "Received",
        "Due",
        "Assigned to",
    ]
    rows = page.table(".//table[@class='queue']")
    assert [row[0] for row in rows] == ["r-late", "r-soon", "r-later"]
    assert [row[1] for row in rows] == ["NO", "SE", "NO"]
    assert rows[0][2] == "nordbank, fjord"
    assert rows[0][3] == "Received"
    assert rows[0][5].endswith("Overdue")
    assert rows[1][5].endswith("Due within 3 days")
    assert not rows[2][5].endswith(("Overdue", "Due within 3 days"))
    assert rows[0][6] == "Nobody Assign to me"
    assert page.unlabelled_fields() == []


def test_the_queue_filters_are_passed_to_the_workflow_and_kept_in_the_form(
    sign_in: Signer, review: ReviewDouble
) -> None:
    client = sign_in()
    answer = client.get("/review?status=received&lender=nordbank&market=SE&due_before=2030-01-31")
    page = parse(answer.text)
    assert [row[0] for row in page.table(".//table[@class='queue']")] == ["r-soon"]
    call = review.queue_calls[-1]
    assert (call["statuses"], call["lender"], call["market"], str(call["due_before"])) == (
        ("received",),
        "nordbank",
        "SE",
        "2030-01-31",
    )
    assert page.field("market").find("./option[@selected]") is not None
    assert page.field("due_before").get("value") == "2030-01-31"


def test_bad_filter_values_show_the_whole_queue_not_an_error(
    sign_in: Signer, review: ReviewDouble
) -> None:
    answer = sign_in().get("/review?status=nonsense&market=XX&due_before=yesterday")
    assert answer.status_code == 200
    assert review.queue_calls[-1] == {
        "statuses": None,
        "lender": None,
        "market": None,
        "due_before": None,
    }


def test_the_queue_pages_through_many_cases(sign_in: Signer, review: ReviewDouble) -> None:
    for i in range(30):
        review.add(f"bulk-{i:02d}", due_in=timedelta(days=40 + i))
    client = sign_in()
    first = parse(client.get("/review").text)
    assert len(first.table(".//table[@class='queue']")) == 25
    assert text(first.one(".//p[@role='status']")) == "Page 1 of 2 · 33"
    next_link = first.one(".//a[@rel='next']").get("href")
    second = parse(client.get(next_link or "").text)
    assert [row[0] for row in second.table(".//table[@class='queue']")] == [
        f"bulk-{i:02d}" for i in range(22, 30)
    ]
    assert second.all(".//a[@rel='next']") == []


def test_assign_to_me_takes_a_case(sign_in: Signer, review: ReviewDouble) -> None:
    client = sign_in()
    token = csrf_of(client, "/review")
    answer = client.post("/review/cases/r-soon/assign", data={"csrf_token": token})
    assert answer.status_code == 200
    assert review.cases["r-soon"].summary.assignee == "kari"
    assert review.cases["r-soon"].summary.status == "in_review"


def test_the_case_page_explains_every_lender_and_records_the_view(
    sign_in: Signer, review: ReviewDouble
) -> None:
    client = sign_in()
    page = parse(client.get("/review/cases/r-late").text)
    assert text(page.one(".//h1")) == "Case r-late"
    reasons = page.table(".//section[@aria-labelledby='lender-nordbank']//table")
    assert reasons == [
        [
            "Income must be at least 600,000 a year.",
            "income is at least 600,000",
            "income = 550000",
            "600000",
        ]
    ]
    outcome = page.one(".//p[@data-lender='nordbank']")
    assert (outcome.get("data-eligible"), text(outcome)) == ("false", "Not eligible")
    assert text(page.by_id("statement")).startswith("My income rose to 640 000")
    features = {row[0]: row[1:] for row in page.table(".//table[@class='features']")}
    assert features["income"] == ["550000", "640000"]
    personal = [text(e) for e in page.by_id("personal")]
    assert personal == [
        "name",
        "Kari Nordmann",
        "national_id",
        "01018512345",
        "address.city",
        "Bergen",
    ]
    assert page.field("correct.income").get("value") == "640000"  # the claim, prefilled
    assert page.label_of("correct.income") == "income"
    assert page.label_of("explanation.nordbank").startswith("Explanation for the applicant")
    assert page.unlabelled_fields() == []
    assert page.table(".//table[@class='history']")[0][1:] == ["applicant", "received"]
    assert [row[1] for row in page.table(".//table[@class='views']")] == ["kari"]
    parse(client.get("/review/cases/r-late").text)
    assert [v.viewer for v in review.cases["r-late"].views] == ["kari", "kari"]


def test_an_unknown_case_is_404_on_every_route(sign_in: Signer) -> None:
    client = sign_in()
    assert client.get("/review/cases/nope").status_code == 404
    token = csrf_of(client, "/review")
    for action in ("what-if", "decision", "decision/confirm", "assign"):
        answer = client.post(f"/review/cases/nope/{action}", data={"csrf_token": token})
        assert answer.status_code == 404, action
        assert text(parse(answer.text).one(".//h1")) == "404"
    extend = {"csrf_token": token, "months": "1", "reason": "r"}
    assert client.post("/review/cases/nope/extend", data=extend).status_code == 404


def test_what_if_answers_the_outcomes_fragment_to_a_script(sign_in: Signer) -> None:
    client = sign_in()
    token = csrf_of(client, "/review/cases/r-late")
    answer = client.post(
        "/review/cases/r-late/what-if",
        data={"csrf_token": token, "correct.income": "640000", "correct.payment_remarks": "1"},
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 200
    fragment = parse(answer.text)
    assert fragment.all(".//h1") == [] and fragment.all(".//header") == []  # a fragment
    outcomes = {
        p.get("data-lender"): p.get("data-eligible") for p in fragment.all(".//p[@data-lender]")
    }
    assert outcomes == {"nordbank": "true", "fjord": "false"}


def test_what_if_without_script_answers_the_whole_page_with_the_values_kept(
    sign_in: Signer,
) -> None:
    client = sign_in()
    token = csrf_of(client, "/review/cases/r-late")
    answer = client.post(
        "/review/cases/r-late/what-if",
        data={"csrf_token": token, "correct.income": "700000", "correct.payment_remarks": "0"},
    )
    page = parse(answer.text)
    assert page.field("correct.income").get("value") == "700000"
    result = page.by_id("what-if-result")
    assert {
        p.get("data-lender"): p.get("data-eligible")
        for p in result.iter("p")
        if p.get("data-lender")
    } == {
        "nordbank": "true",
        "fjord": "true",
    }


@pytest.mark.parametrize(
    ("value", "field"), [("lots", "corrections.income"), ("-5", "corrections.income: must be")]
)
def test_a_bad_corrected_value_is_422_naming_the_field(
    sign_in: Signer, value: str, field: str
) -> None:
    client = sign_in()
    token = csrf_of(client, "/review/cases/r-late")
    answer = client.post(
        "/review/cases/r-late/what-if",
        data={"csrf_token": token, "correct.income": value},
        headers={"X-Requested-With": "fetch"},
    )
    assert answer.status_code == 422
    assert text(parse(answer.text).one(".//*[@role='alert']")).startswith(field)


def _decision_form(token: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "correct.income": "640000",
        "verdict.nordbank": "override",
        "explanation.nordbank": "Inntekten din er bekreftet; du er godkjent for Nordbank.",
        "note.nordbank": "payslip Oct 2026 checked",
        "verdict.fjord": "uphold",
        "explanation.fjord": "Betalingsanmerkningen er fortsatt registrert.",
        "note.fjord": "",
    }


def test_a_decision_without_an_explanation_is_refused_naming_the_lender(sign_in: Signer) -> None:
    client = sign_in()
    form = _decision_form(csrf_of(client, "/review/cases/r-late"))
    form["explanation.fjord"] = " "
    answer = client.post("/review/cases/r-late/decision", data=form)
    assert answer.status_code == 422
    page = parse(answer.text)
    assert text(page.by_id("case-error")).endswith("explanation.fjord")
    assert page.field("explanation.nordbank").text == form["explanation.nordbank"]


def test_a_decision_is_confirmed_then_recorded_then_read_only(
    sign_in: Signer, review: ReviewDouble
) -> None:
    client = sign_in()
    form = _decision_form(csrf_of(client, "/review/cases/r-late"))
    confirm = client.post("/review/cases/r-late/decision", data=form)
    assert confirm.status_code == 200
    page = parse(confirm.text)
    assert page.table(".//table[@class='verdicts']") == [
        [
            "nordbank",
            "Override: eligible for this lender",
            form["explanation.nordbank"],
            form["note.nordbank"],
        ],
        ["fjord", "Uphold the rejection", form["explanation.fjord"], ""],
    ]
    assert review.decide_calls == []  # not before the confirmation
    hidden = {
        e.get("name"): e.get("value")
        for e in page.all(".//form[@action='/review/cases/r-late/decision/confirm']//input")
    }
    answer = client.post("/review/cases/r-late/decision/confirm", data=hidden)
    assert answer.status_code == 200  # redirected to the case page
    (call,) = review.decide_calls
    assert call["reviewer"] == "kari"
    assert call["corrections"] == {"income": 640_000}
    assert [(v.lender_id, v.verdict) for v in call["verdicts"]] == [
        ("nordbank", "override"),
        ("fjord", "uphold"),
    ]
    page = parse(answer.text)
    assert page.all(".//form[@id='decision-form']") == []
    assert page.all(".//textarea") == []
    assert text(page.by_id("decided")).startswith("Decided by kari")
    again = client.post("/review/cases/r-late/decision/confirm", data=hidden)
    assert again.status_code == 409
    assert text(parse(again.text).by_id("already-decided")).startswith(
        "This case was already decided by kari at"
    )


def test_the_deadline_is_extended_once_with_a_reason(sign_in: Signer, review: ReviewDouble) -> None:
    client = sign_in()
    token = csrf_of(client, "/review/cases/r-soon")
    before = review.cases["r-soon"].summary.due_at
    first = client.post(
        "/review/cases/r-soon/extend",
        data={"csrf_token": token, "months": "2", "reason": "We wait for your bank's statement."},
    )
    page = parse(first.text)
    assert review.cases["r-soon"].summary.due_at == before + timedelta(days=60)
    assert page.all(".//form[@action='/review/cases/r-soon/extend']") == []
    second = client.post(
        "/review/cases/r-soon/extend",
        data={"csrf_token": token, "months": "1", "reason": "again"},
        follow_redirects=False,
    )
    assert second.status_code == 422
    assert text(parse(second.text).one(".//*[@id='case-error']")).startswith(
        "The deadline was not extended"
    )
    assert review.cases["r-soon"].extension_reason == "We wait for your bank's statement."


@pytest.mark.parametrize(
    ("language", "title", "sign_out"),
    [
        ("nb", "Vurderingskø", "Logg ut"),
        ("sv", "Prövningskö", "Logga ut"),
        ("en", "Review queue", "Sign out"),
    ],
)
def test_the_caseworker_picks_the_screens_language(
    sign_in: Signer, language: str, title: str, sign_out: str
) -> None:
    client = sign_in()
    token = csrf_of(client, "/review")
    answer = client.post(
        "/review/language", data={"csrf_token": token, "language": language, "next": "/review"}
    )
    page = parse(answer.text)
    assert page.root.get("lang") == language
    assert text(page.one(".//h1")) == title
    assert text(page.one(".//form[@action='/review/sign-out']//button")) == sign_out


@pytest.mark.parametrize(
    ("language", "income", "remarks"),
    [("nb", "inntekt", "betalingsanmerkninger"), ("sv", "inkomst", "betalningsanmärkningar")],
)
def test_the_what_if_fields_are_labelled_in_the_screens_language(
    sign_in: Signer, language: str, income: str, remarks: str
) -> None:
    client = sign_in()
    token = csrf_of(client, "/review")
    client.post("/review/language", data={"csrf_token": token, "language": language})
    page = parse(client.get("/review/cases/r-late").text)
    assert page.label_of("correct.income") == income
    assert page.label_of("correct.payment_remarks") == remarks


def test_change_on_the_confirmation_brings_back_the_form_as_typed(sign_in: Signer) -> None:
    client = sign_in()
    form = _decision_form(csrf_of(client, "/review/cases/r-late"))
    page = parse(client.post("/review/cases/r-late/decision", data=form).text)
    hidden = {
        e.get("name"): e.get("value")
        for e in page.all(".//form[@action='/review/cases/r-late/what-if']//input")
    }
    back = parse(client.post("/review/cases/r-late/what-if", data=hidden).text)
    assert back.field("explanation.nordbank").text == form["explanation.nordbank"]
    assert back.one(".//input[@id='verdict-fjord-uphold']").get("checked") is not None
    assert back.field("correct.income").get("value") == "640000"


def test_only_a_supervisor_gets_the_reassign_form_listing_active_users(
    sign_in: Signer,
) -> None:
    caseworker = parse(sign_in("kari").get("/review/cases/r-late").text)
    assert caseworker.all(".//form[@action='/review/cases/r-late/reassign']") == []
    supervisor = parse(sign_in("sam").get("/review/cases/r-late").text)
    options = supervisor.field("assignee").findall("./option")
    assert [o.get("value") for o in options] == ["kari", "sam"]
    assert supervisor.label_of("assignee") == "Reassign to"


def test_the_pages_load_only_their_own_static_files_which_are_served(sign_in: Signer) -> None:
    client = sign_in()
    for path in ("/review/sign-in", "/review", "/review/cases/r-late"):
        page = parse(client.get(path).text)
        sources = [e.get("src") for e in page.all(".//script")] + [
            e.get("href") for e in page.all(".//link")
        ]
        assert sources and all(s and s.startswith("/review/static/") for s in sources), path
        for source in sources:
            assert client.get(source or "").status_code == 200, source
