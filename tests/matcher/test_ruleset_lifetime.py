"""A ruleset lives exactly as long as its users hold it: nothing the matcher derives from it
(compiled expressions, the hint search's analyses, the frame plan) keeps it alive."""

from __future__ import annotations

import datetime as dt
import gc
import weakref

import lender_rules
from matcher import Application, CompiledLender, Ruleset, decide, explain, load_ruleset, match
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


def _compiled_lenders() -> int:
    """The compiled lenders alive in this process (counted by the garbage collector: they
    run compiled, `matcher/_native.py`, and mypyc's classes take no weak references)."""
    gc.collect()
    return sum(isinstance(o, CompiledLender) for o in gc.get_objects())


def test_dropped_rulesets_leave_no_compiled_lender_alive() -> None:
    apps = _applications()
    frame = applications_frame(apps[:5])
    alive_before = _compiled_lenders()  # other tests' rulesets, held by their modules
    rulesets: list[weakref.ref[Ruleset]] = []
    rules: list[weakref.ref[Node]] = []  # the compiled rules' trees (the keys of the old caches)
    hints = 0
    made = 0
    for i in range(ROUNDS):
        ruleset = load_ruleset(lender_rules.SHIPPED_LENDERS_DIR)
        rulesets.append(weakref.ref(ruleset))
        made += len(ruleset.lenders)
        rules.extend(weakref.ref(r.node) for lender in ruleset.lenders for r in lender.requirements)
        app = apps[i % len(apps)]
        decision = decide(app, ruleset, decided_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
        explanations = explain(decision.features, decision.outcomes, ruleset, "nb")
        hints += sum(e.hint is not None for e in explanations)
        if i % 20 == 0:
            match(frame, ruleset, on=ON)
        del ruleset, decision, explanations
    assert hints > 0  # the hint search ran, so its caches were filled
    assert made == ROUNDS * 15
    assert _compiled_lenders() == alive_before
    assert sum(ref() is not None for ref in rulesets) == 0
    assert sum(ref() is not None for ref in rules) == 0
