"""Manual review workflows: requests (applicant side) and the caseworker's queue, case,
what-if, assign, extend and decide; the manual decision in the chain; overrides read back."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import matcher
from audit import Store, open_store
from broker import (
    AlreadyDecidedError,
    CompiledRulesets,
    DecisionNotFoundError,
    LenderVerdict,
    ManualDecision,
    NothingToReviewError,
    RecordedDecision,
    ReviewAlreadyOpenError,
    ReviewConflictError,
    ReviewInputError,
    ReviewNotFoundError,
    RulesInForce,
    assign,
    decide,
    decide_and_record,
    extend,
    open_case,
    queue,
    reproduce,
    request_review,
    review_status,
    stored_decision,
    what_if,
)
from lender_rules import SHIPPED_LENDERS_DIR
from tests.api.support import application

SHIPPED = matcher.load_ruleset(SHIPPED_LENDERS_DIR)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@dataclass
class Desk:
    store: Store
    rules: RulesInForce

    @property
    def compiled(self) -> CompiledRulesets:
        return self.rules.compiled

    def apply(self, income: int = 250_000, client: str = "default") -> RecordedDecision:
        """Decide an application (income 250 000 fails every Norwegian lender's debt ratio;
        550 000 passes them all)."""
        body = application()
        body["applicant"]["income"] = income
        app = matcher.Application.model_validate(
            body, context=matcher.validation_context(synthetic_ids=True)
        )
        return decide_and_record(self.store, self.rules, app, client=client)

    def request(self, application_id: str, **given: Any) -> str:
        arguments: dict[str, Any] = {
            "client": None,
            "statement": "Inntekten min er 550 000, ikke 250 000.",
            "lenders": None,
            "corrections": {"income": 550_000},
            "language": "nb",
            "now": NOW,
        }
        arguments.update(given)
        return request_review(self.store, self.compiled, application_id, **arguments).request_id


@pytest.fixture
def desk(database_url: str) -> Iterator[Desk]:
    with open_store(database_url) as store:
        store.rulesets.activate(SHIPPED)
        yield Desk(store, RulesInForce(store, refresh_seconds=0))


def rejecting(recorded: RecordedDecision) -> list[str]:
    return [lender for lender, failed, unknown in recorded.stored.outcomes if failed or unknown]


def test_a_request_contests_every_rejecting_lender_and_is_due_in_a_month(desk: Desk) -> None:
    recorded = desk.apply()
    request_id = desk.request(recorded.stored.application_id)
    status = review_status(desk.store, desk.compiled, request_id, client="default", language="en")
    assert status.status == "received"
    assert status.due_at == datetime(2026, 12, 30, 12, 0, tzinfo=UTC)
    assert [lender.lender_id for lender in status.lenders] == sorted(rejecting(recorded))
    assert status.lenders[0].lender_name == SHIPPED.lender(status.lenders[0].lender_id).name
    assert (status.lenders[0].verdict, status.lenders[0].eligible) == (None, None)


def test_requests_are_refused_with_the_reason(desk: Desk) -> None:
    recorded = desk.apply()
    application_id = recorded.stored.application_id
    with pytest.raises(DecisionNotFoundError):
        desk.request("no-such-application")
    with pytest.raises(DecisionNotFoundError):
        desk.request(application_id, client="someone-else")
    with pytest.raises(NothingToReviewError, match="rejected no lender"):
        desk.request(desk.apply(income=550_000).stored.application_id)
    with pytest.raises(ReviewInputError) as bad_lender:
        desk.request(application_id, lenders=[rejecting(recorded)[0], "lingonbanken"])
    assert bad_lender.value.field == "lenders[1]"
    assert "lingonbanken" in bad_lender.value.message
    with pytest.raises(ReviewInputError) as bad_income:
        desk.request(application_id, corrections={"income": "a lot"})
    assert bad_income.value.field == "corrections.income"
    with pytest.raises(ReviewInputError) as derived:
        desk.request(application_id, corrections={"debt_to_income": 1.0})
    assert derived.value.field == "corrections.debt_to_income"
    with pytest.raises(ReviewInputError) as unknown:
        desk.request(application_id, corrections={"salary": 1})
    assert unknown.value.field == "corrections.salary"
    with pytest.raises(ReviewInputError) as empty:
        desk.request(application_id, statement="  ")
    assert empty.value.field == "statement"
    first = desk.request(application_id)
    with pytest.raises(ReviewAlreadyOpenError) as again:
        desk.request(application_id)
    assert again.value.request_id == first


def test_the_queue_filters_and_pages_oldest_due_first(desk: Desk) -> None:
    ids = [
        desk.request(desk.apply().stored.application_id, now=datetime(2026, 11, d, tzinfo=UTC))
        for d in (20, 3, 11)
    ]
    page = queue(desk.store, page=1, page_size=2)
    assert (page.total, [c.request_id for c in page.cases]) == (3, [ids[1], ids[2]])
    assert [c.request_id for c in queue(desk.store, page=2, page_size=2).cases] == [ids[0]]
    assert queue(desk.store, due_before=date(2026, 12, 11)).total == 2
    assert queue(desk.store, market="SE").total == 0
    assert queue(desk.store, lender="fjordkreditt").total == 3
    assign(desk.store, ids[2], assignee="kari", by="kari", may_reassign=False)
    in_review = queue(desk.store, statuses=["in_review"])
    assert [(c.request_id, c.assignee) for c in in_review.cases] == [(ids[2], "kari")]
    with pytest.raises(ReviewInputError):
        queue(desk.store, page=0)


def test_opening_a_case_records_the_view_and_shows_everything(desk: Desk) -> None:
    recorded = desk.apply()
    request_id = desk.request(recorded.stored.application_id)
    open_case(desk.store, desk.compiled, request_id, viewer="kari", language="en")
    case = open_case(desk.store, desk.compiled, request_id, viewer="ola", language="sv")
    assert [view.viewer for view in case.views] == ["ola", "kari"]
    assert case.statement.startswith("Inntekten")
    assert case.claimed_corrections == {"income": 550_000}
    assert case.applicant_language == "nb"
    assert case.personal is not None and case.personal["applicant"]["name"] == "Kari Nordmann"
    assert case.features["income"] == 250_000
    assert case.ruleset_hash == SHIPPED.hash
    assert case.automated_decision_id == recorded.stored.decision_id
    assert {v.lender_id for v in case.outcomes if not v.eligible} == set(rejecting(recorded))
    rejected = next(v for v in case.outcomes if not v.eligible)
    assert rejected.explanation.reasons[0].code.endswith("max_debt_to_income")
    assert [event.what for event in case.history] == ["received"]
    assert case.decision is None
    with pytest.raises(ReviewNotFoundError):
        open_case(desk.store, desk.compiled, "nope", viewer="kari", language="en")


def test_what_if_evaluates_corrections_under_the_same_ruleset(desk: Desk) -> None:
    request_id = desk.request(desk.apply().stored.application_id)
    before = what_if(desk.store, desk.compiled, request_id, {}, language="nb")
    after = what_if(desk.store, desk.compiled, request_id, {"income": 550_000}, language="nb")
    assert not any(view.eligible for view in before)
    assert all(view.eligible for view in after)
    with pytest.raises(ReviewInputError) as bad:
        what_if(desk.store, desk.compiled, request_id, {"children": -1}, language="nb")
    assert bad.value.field == "corrections.children"


def test_assigning_and_extending_follow_the_rules(desk: Desk) -> None:
    request_id = desk.request(desk.apply().stored.application_id)
    assign(desk.store, request_id, assignee="kari", by="kari", may_reassign=False)
    with pytest.raises(ReviewConflictError, match="assigned to kari"):
        assign(desk.store, request_id, assignee="ola", by="ola", may_reassign=False)
    with pytest.raises(ReviewInputError) as months:
        extend(desk.store, request_id, months=3, reason="x", by="kari")
    assert months.value.field == "months"
    extend(desk.store, request_id, months=2, reason="Vi venter på lønnsslipp.", by="kari")
    status = review_status(desk.store, desk.compiled, request_id, client=None, language="nb")
    assert (status.status, status.due_at, status.extension_reason) == (
        "extended",
        datetime(2027, 2, 28, 12, 0, tzinfo=UTC),  # 30 Dec + 2 months: no 30 Feb
        "Vi venter på lønnsslipp.",
    )
    with pytest.raises(ReviewConflictError, match="once"):
        extend(desk.store, request_id, months=1, reason="igjen", by="kari")


def verdicts(lenders: list[str], override: str) -> list[LenderVerdict]:
    return [
        LenderVerdict(
            lender,
            "override" if lender == override else "uphold",
            "Inntekten er dokumentert." if lender == override else "Kravet står ved lag.",
            f"intern notat {lender}",
        )
        for lender in lenders
    ]


def test_a_decision_is_chained_final_and_read_back_by_the_applicant_and_the_front_end(
    desk: Desk,
) -> None:
    recorded = desk.apply()
    application_id = recorded.stored.application_id
    contested = sorted(rejecting(recorded))[:2]
    request_id = desk.request(application_id, lenders=contested)
    chosen = contested[0]
    with pytest.raises(ReviewInputError, match="no verdict"):
        decide(
            desk.store,
            desk.compiled,
            request_id,
            reviewer="kari",
            verdicts=verdicts(contested, chosen)[:1],
            corrections={},
        )
    made = decide(
        desk.store,
        desk.compiled,
        request_id,
        reviewer="kari",
        verdicts=verdicts(contested, chosen),
        corrections={"income": 550_000},
    )
    assert made.corrected["income"] == 550_000
    with pytest.raises(AlreadyDecidedError) as again:
        decide(
            desk.store,
            desk.compiled,
            request_id,
            reviewer="ola",
            verdicts=verdicts(contested, chosen),
            corrections={},
        )
    assert again.value.by == "kari"

    status = review_status(desk.store, desk.compiled, request_id, client="default", language="nb")
    assert status.status == "decided"
    assert [(r.lender_id, r.verdict, r.eligible, r.explanation) for r in status.lenders] == [
        (chosen, "override", True, "Inntekten er dokumentert."),
        (contested[1], "uphold", False, "Kravet står ved lag."),
    ]
    case = open_case(desk.store, desk.compiled, request_id, viewer="kari", language="en")
    assert case.decision == made
    assert case.decision.verdicts[0].note == f"intern notat {chosen}"

    read = stored_decision(desk.store, desk.compiled, application_id, client="default")
    assert read.stored == recorded.stored  # the automated decision is not changed
    assert read.overridden == frozenset({chosen})

    manual = desk.store.decisions.find(made.decision_id)
    assert manual is not None and manual.channel == "manual"
    assert manual.review is not None and manual.review["reviews"] == recorded.stored.decision_id
    assert "intern notat" not in str(manual.review)
    assert desk.store.verify().ok
    assert all(r.ok for r in reproduce(desk.store, desk.compiled))


def test_two_caseworkers_deciding_at_once_record_one_decision(database_url: str) -> None:
    with open_store(database_url) as first, open_store(database_url) as second:
        first.rulesets.activate(SHIPPED)
        desk = Desk(first, RulesInForce(first, refresh_seconds=0))
        recorded = desk.apply()
        contested = sorted(rejecting(recorded))[:2]
        request_id = desk.request(recorded.stored.application_id, lenders=contested)
        start = threading.Barrier(2)
        results: dict[str, ManualDecision | AlreadyDecidedError] = {}

        def run(store: Store, reviewer: str) -> None:
            compiled = CompiledRulesets(store)
            start.wait()
            try:
                results[reviewer] = decide(
                    store,
                    compiled,
                    request_id,
                    reviewer=reviewer,
                    verdicts=verdicts(contested, contested[0]),
                    corrections={},
                )
            except AlreadyDecidedError as error:
                results[reviewer] = error

        threads = [
            threading.Thread(target=run, args=(first, "kari")),
            threading.Thread(target=run, args=(second, "ola")),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        made = [r for r in results.values() if isinstance(r, ManualDecision)]
        refused = [r for r in results.values() if isinstance(r, AlreadyDecidedError)]
        assert (len(made), len(refused)) == (1, 1)
        assert refused[0].by == made[0].reviewer
        manuals = first.reviews.manual_decisions(recorded.stored.application_id)
        assert [m.decision_id for m in manuals] == [made[0].decision_id]
        assert first.verify().ok


def test_a_decision_written_by_0_1_can_be_reviewed_and_the_store_still_verifies(
    tmp_path: Path,
) -> None:
    copy = tmp_path / "store.sqlite"
    shutil.copyfile(Path(__file__).parents[1] / "fixtures" / "store_v0_1.sqlite", copy)
    with open_store(f"sqlite:///{copy}") as store:
        compiled = CompiledRulesets(store)
        old = next(d for d in store.decisions.stream() if any(f or u for _, f, u in d.outcomes))
        status = request_review(
            store,
            compiled,
            old.application_id,
            client=None,
            statement="Please look again.",
            lenders=None,
            corrections={},
            language="en",
        )
        decide(
            store,
            compiled,
            status.request_id,
            reviewer="kari",
            verdicts=[
                LenderVerdict(r.lender_id, "uphold", "The requirement stands.", "")
                for r in status.lenders
            ],
            corrections={},
        )
        assert store.verify().ok
        assert all(r.ok for r in reproduce(store, compiled))
