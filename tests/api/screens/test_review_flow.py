"""The review screen in Chromium on the real workflows and store, at 1280 and at 390 px: an
application rejected by lenders, the applicant's review request (API), then the caseworker
signs in, opens the queue, filters it, opens the case, sees reasons and values, tries the
claimed corrected income and sees an outcome change without a reload, overrides one lender
and upholds another with explanations in Norwegian, confirms; then the applicant reads the
outcome and explanation in nb through the API, and `lendmatch audit verify` passes with the
manual decision in the chain. axe-core finds no serious or critical violation on the
sign-in, queue and case pages; screenshots of the queue and the case are saved under
test-output/review/."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect
from typer.testing import CliRunner

from api.app import create_app
from audit import Store
from broker import Settings
from cli.main import app as cli
from tests.api.screens.browser import chromium, screenshot, serious_violations
from tests.api.screens.conftest import PASSWORD
from tests.api.support import application, person, serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OVERRIDE_NB = "Inntekten din er bekreftet med lønnsslipp; du er godkjent hos Fjordkreditt."
UPHOLD_NB = "Boutgiftene er fortsatt for høye i forhold til inntekten hos Havbris Kreditt."


@dataclass(frozen=True)
class Live:
    base_url: str
    database_url: str
    store: Store
    frontend_key: str
    request_id: str


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Live]:
    """The app served by uvicorn (SQLite in tmp_path) with kari, and one review request on an
    application that Fjordkreditt and Havbris Kreditt rejected (income 250,000)."""
    database_url = f"sqlite:///{tmp_path / 'flow.sqlite'}"
    app = create_app(Settings(database_url=database_url, synthetic_ids=True))
    with serving(app) as base_url:
        store: Store = app.state.service.store
        store.caseworkers.add("kari", "caseworker", PASSWORD)
        _, key = store.api_keys.add(role="frontend")
        with httpx.Client(base_url=base_url, headers={"X-API-Key": key}) as client:
            decided = client.post(
                "/v1/applications", json=application(applicant=person(income=250_000))
            )
            assert decided.status_code == 201, decided.text
            rejected = {lender["lender_id"] for lender in decided.json()["rejected"]}
            assert {"fjordkreditt", "havbris_kreditt"} <= rejected
            requested = client.post(
                f"/v1/applications/{decided.json()['application_id']}/review-requests",
                json={
                    "statement": "Inntekten min er 550 000 kroner, ikke 250 000.",
                    "lenders": ["fjordkreditt", "havbris_kreditt"],
                    "corrections": {"income": 550_000},
                    "language": "nb",
                },
            )
            assert requested.status_code == 202, requested.text
        yield Live(base_url, database_url, store, key, requested.json()["request_id"])


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium() as browser:
        context = browser.new_context()
        yield context.new_page()
        context.close()


def _accessible(page: Page, where: str) -> None:
    found = serious_violations(page)
    assert found == [], f"{where}: {found}"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_caseworker_overrides_one_lender_and_upholds_another(
    live: Live, page: Page, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live.base_url}/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    _accessible(page, "sign-in")
    page.get_by_label("User name").fill("kari")  # by keyboard: type, Tab, type, Enter
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    _accessible(page, "queue")
    screenshot(page, f"flow-queue-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
    page.get_by_label("Market").select_option("SE")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(0)
    page.get_by_label("Market").select_option("NO")
    page.get_by_label("Lender").select_option("fjordkreditt")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)

    page.get_by_role("link", name=live.request_id).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {live.request_id}")
    fjord = page.locator("#outcomes section", has=page.locator("#lender-fjordkreditt"))
    expect(fjord.locator("p.outcome")).to_have_text("Not eligible")
    expect(fjord.locator("table.reasons tbody tr").first).to_contain_text("debt_to_income")
    expect(fjord.locator("table.reasons tbody tr").first.locator("td").nth(3)).to_have_text("5")
    _accessible(page, "case")
    screenshot(page, f"flow-case-{width}")

    expect(page.locator("#correct-income")).to_have_value("550000")  # the claim, prefilled
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Try these values").click()
    expect(page.locator("#what-if-result p[data-lender='fjordkreditt']")).to_have_text("Eligible")
    assert page.evaluate("window.notReloaded") is True

    page.locator("#verdict-fjordkreditt-override").check()
    page.locator("#explanation-fjordkreditt").fill(OVERRIDE_NB)
    page.locator("#note-fjordkreditt").fill("lønnsslipp oktober sjekket")
    page.locator("#verdict-havbris_kreditt-uphold").check()
    page.locator("#explanation-havbris_kreditt").fill(UPHOLD_NB)
    page.get_by_role("button", name="Review the decision").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Confirm the decision")
    page.get_by_role("button", name="Confirm and submit").click()
    expect(page.locator("#decided")).to_contain_text("Decided by kari")
    expect(page.locator("#decision-form")).to_have_count(0)

    answer = httpx.get(
        f"{live.base_url}/v1/review-requests/{live.request_id}",
        headers={"X-API-Key": live.frontend_key, "Accept-Language": "nb"},
    )
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    assert (seen["status"], seen["language"], seen["explanation_language"]) == (
        "decided",
        "nb",
        "nb",
    )
    by_lender = {
        x["lender_id"]: (x["verdict"], x["eligible"], x["explanation"]) for x in seen["lenders"]
    }
    assert by_lender == {
        "fjordkreditt": ("override", True, OVERRIDE_NB),
        "havbris_kreditt": ("uphold", False, UPHOLD_NB),
    }

    manual = [d for d in live.store.decisions.stream() if d.channel == "manual"]
    assert len(manual) == 1
    verified = CliRunner().invoke(cli, ["audit", "verify"], env={"DATABASE_URL": live.database_url})
    assert verified.exit_code == 0, verified.output
