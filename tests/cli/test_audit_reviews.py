"""`lendmatch audit verify` and `audit reproduce` cover manual decisions: a review's manual
decision is a record of the chain that verifies and reproduces, and one that does not agree
with the decision it reviews is named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import matcher
from audit import ContestedLender, Store
from broker import (
    LenderVerdict,
    RulesInForce,
    decide,
    decide_and_record,
    request_review,
)
from cli import options
from lender_rules import SHIPPED_LENDERS_DIR
from tests.api.support import application

Run = Callable[..., Any]
SHIPPED = matcher.load_ruleset(SHIPPED_LENDERS_DIR)


def _reviewed(store: Store) -> tuple[str, list[str]]:
    """A rejected application with an open review request: (request id, contested lenders)."""
    store.rulesets.activate(SHIPPED)
    rules = RulesInForce(store, refresh_seconds=0)
    body = application()
    body["applicant"]["income"] = 250_000
    app = matcher.Application.model_validate(
        body, context=matcher.validation_context(synthetic_ids=True)
    )
    recorded = decide_and_record(store, rules, app)
    contested = sorted(lender for lender, failed, _ in recorded.stored.outcomes if failed)[:2]
    request = request_review(
        store,
        rules.compiled,
        recorded.stored.application_id,
        client=None,
        statement="Inntekten er høyere.",
        lenders=contested,
        corrections={"income": 550_000},
        language="nb",
    )
    return request.request_id, contested


def test_a_manual_decision_verifies_and_reproduces(run: Run, store: Store) -> None:
    request_id, contested = _reviewed(store)
    decide(
        store,
        RulesInForce(store, refresh_seconds=0).compiled,
        request_id,
        reviewer="kari",
        verdicts=[
            LenderVerdict(contested[0], "override", "Inntekten er dokumentert.", ""),
            LenderVerdict(contested[1], "uphold", "Kravet står.", ""),
        ],
        corrections={"income": 550_000},
    )
    verified = run("audit", "verify")
    assert verified.exit_code == 0, verified.output
    assert verified.stdout.startswith("ok: 2 records verified")
    reproduced = run("audit", "reproduce")
    assert reproduced.exit_code == 0, reproduced.output
    assert reproduced.stdout.startswith("ok: 2 decisions reproduce")


def test_reproduce_names_a_manual_decision_that_disagrees_with_the_decision_it_reviews(
    run: Run, store: Store
) -> None:
    request_id, contested = _reviewed(store)
    review = store.reviews.get(request_id)
    assert review is not None
    automated = store.decisions.find(review.automated_decision_id)
    assert automated is not None
    features = dict(automated.features, age=60)  # not what the recorded corrections give
    manual = store.reviews.decide(
        request_id,
        reviewer="kari",
        at=datetime.now(UTC),
        verdicts=[ContestedLender(lender, "uphold", "Står.", "") for lender in contested],
        decision=matcher.Decision(
            SHIPPED.hash, datetime.now(UTC), features, matcher.evaluate(features, SHIPPED)
        ),
        review={
            "request_id": request_id,
            "reviews": automated.decision_id,
            "reviewer": "kari",
            "language": "nb",
            "corrections": {"income": 550_000},
            "verdicts": [
                {"lender_id": lender, "verdict": "uphold", "explanation": "Står."}
                for lender in contested
            ],
        },
    )
    assert run("audit", "verify").exit_code == 0  # the chain itself is intact
    reproduced = run("audit", "reproduce")
    assert reproduced.exit_code == options.EXIT_PROBLEM
    assert f"record 2 (decision {manual.decision_id}" in reproduced.stderr
    assert "not the reviewed decision's with the recorded corrections" in reproduced.stderr
