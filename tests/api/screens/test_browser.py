"""The review screen in Chromium, at 1280 and at 390 px wide: sign in, the queue, a filter,
a case with its reasons and values, what-if changing an outcome without a reload, one lender
overridden and another upheld, confirmed; axe-core finds no serious or critical violation
on the sign-in, queue and case pages; screenshots of the queue and the case page are saved
under test-output/review/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from api.app import create_app
from broker import Settings
from tests.api.screens.browser import chromium, screenshot, serious_violations
from tests.api.screens.conftest import PASSWORD
from tests.api.screens.review_double import ReviewDouble
from tests.api.support import serving

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def live_screen(tmp_path: Path, review: ReviewDouble) -> Iterator[str]:
    """The app served by uvicorn on a free port (SQLite in tmp_path), with kari and sam."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'screen.sqlite'}"))
    with serving(app) as base_url:
        store = app.state.service.store
        store.caseworkers.add("kari", "caseworker", PASSWORD)
        store.caseworkers.add("sam", "supervisor", PASSWORD)
        yield base_url


@pytest.fixture
def page() -> Iterator[Page]:
    with chromium() as browser:
        context = browser.new_context()
        yield context.new_page()
        context.close()


def _no_serious_violations(page: Page, where: str) -> None:
    found = serious_violations(page)
    assert found == [], f"{where}: {found}"


@pytest.mark.parametrize("width", [1280, 390])
def test_a_caseworker_reviews_a_case_from_queue_to_confirmed_decision(
    live_screen: str, page: Page, review: ReviewDouble, width: int
) -> None:
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_screen}/review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    _no_serious_violations(page, "sign-in")
    page.get_by_label("User name").fill("kari")  # by keyboard: type, Tab, type, Enter
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Review queue")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("Overdue")
    _no_serious_violations(page, "queue")
    screenshot(page, f"queue-{width}")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll

    page.get_by_label("Market").select_option("SE")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("r-soon")
    page.get_by_label("Market").select_option("")
    page.get_by_role("button", name="Show").click()
    expect(rows).to_have_count(3)

    page.get_by_role("link", name="r-late", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Case r-late")
    nordbank = page.locator("#outcomes section", has=page.locator("#lender-nordbank"))
    expect(nordbank.locator("table.reasons tbody tr")).to_contain_text(
        ["Income must be at least 600,000 a year."]
    )
    expect(nordbank.locator("table.reasons tbody td").nth(2)).to_have_text("income = 550000")
    expect(nordbank.locator("p.outcome")).to_have_text("Not eligible")
    _no_serious_violations(page, "case")
    screenshot(page, f"case-{width}")

    income = page.get_by_label("income", exact=True)
    expect(income).to_have_value("640000")  # the applicant's claim, prefilled
    page.evaluate("window.notReloaded = true")
    page.get_by_role("button", name="Try these values").click()
    changed = page.locator("#what-if-result p[data-lender='nordbank']")
    expect(changed).to_have_text("Eligible")
    assert page.evaluate("window.notReloaded") is True

    page.locator("#verdict-nordbank-override").check()
    page.get_by_label("Explanation for the applicant").first.fill(
        "Inntekten din er bekreftet; du er godkjent for Nordbank."
    )
    page.locator("#verdict-fjord-uphold").check()
    page.locator("#explanation-fjord").fill("Betalingsanmerkningen er fortsatt registrert.")
    page.locator("#note-fjord").fill("remark still active on 2026-11-30")
    page.get_by_role("button", name="Review the decision").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Confirm the decision")
    page.get_by_role("button", name="Confirm and submit").click()

    expect(page.locator("#decided")).to_contain_text("Decided by kari")
    expect(page.locator("#decision-form")).to_have_count(0)
    (call,) = review.decide_calls
    assert [(v.lender_id, v.verdict) for v in call["verdicts"]] == [
        ("nordbank", "override"),
        ("fjord", "uphold"),
    ]
    assert call["corrections"]["income"] == 640_000
