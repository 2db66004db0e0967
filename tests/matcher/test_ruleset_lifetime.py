"""A ruleset lives exactly as long as its users hold it: nothing the matcher derives from it
(compiled expressions, the hint search's analyses, the frame plan) keeps it alive."""

from __future__ import annotations

import datetime as dt
import gc
import weakref

import lender_rules
from matcher import Application, CompiledLender, decide, explain, load_ruleset, match
from matcher.application import applications_frame
from matcher.generate import generate
from matcher.ir import Node

ON = dt.date(2026, 11, 25)
ROUNDS = 200


def _applications() -> list[Application]:
    """Applications of both markets, many of them rejected by some lender on the amount or
    the term, so that explaining them runs the hint search."""
    frame = generate(40, 3, ON)
    return [
        Application.model_validate(row, context={"on": ON})
        for row in frame.drop("application_id").to_dicts()
    ]


def test_dropped_rulesets_leave_no_compiled_lender_alive() -> None:
    apps = _applications()
    frame = applications_frame(apps[:5])
    lenders: list[weakref.ref[CompiledLender]] = []
    rules: list[weakref.ref[Node]] = []  # the compiled rules' trees (the keys of the old caches)
    hints = 0
    for i in range(ROUNDS):
        ruleset = load_ruleset(lender_rules.SHIPPED_LENDERS_DIR)
        lenders.extend(weakref.ref(lender) for lender in ruleset.lenders)
        rules.extend(weakref.ref(r.node) for lender in ruleset.lenders for r in lender.requirements)
        app = apps[i % len(apps)]
        decision = decide(app, ruleset, decided_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
        explanations = explain(decision.features, decision.outcomes, ruleset, "nb")
        hints += sum(e.hint is not None for e in explanations)
        if i % 20 == 0:
            match(frame, ruleset, on=ON)
        del ruleset, decision, explanations
    gc.collect()
    assert hints > 0  # the hint search ran, so its caches were filled
    assert sum(ref() is not None for ref in lenders) == 0
    assert sum(ref() is not None for ref in rules) == 0
