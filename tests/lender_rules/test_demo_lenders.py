"""The shipped demo lenders: enough of them, both markets, every operator, realistic rules."""

from __future__ import annotations

from pathlib import Path

from matcher import load_ruleset
from matcher.ir import Call, ListConst, Node, Var, walk
from matcher.operators import OPERATORS

SHIPPED = load_ruleset(Path(__file__).parents[2] / "lender_rules" / "lenders")


def _nodes() -> list[Node]:
    return [n for lender in SHIPPED.lenders for r in lender.requirements for n in walk(r.node)]


def test_at_least_twelve_lenders_for_both_markets() -> None:
    assert len(SHIPPED.lenders) >= 12
    for market in ("NO", "SE"):
        assert len(SHIPPED.for_market(market)) >= 6


def test_together_they_use_every_operator_and_form() -> None:
    calls = [n for n in _nodes() if isinstance(n, Call)]
    assert {c.op.name for c in calls} == set(OPERATORS)
    comparisons = [c for c in calls if c.op.name in ("<", "<=", ">", ">=")]
    assert any(len(c.args) == 3 for c in comparisons), "the between form"
    assert any(c.op.name == "if" and len(c.args) >= 5 for c in calls), "a chained if"
    ins = [c for c in calls if c.op.name == "in"]
    assert any(isinstance(c.args[1], ListConst) for c in ins), "in over a list"
    assert any(not isinstance(c.args[1], ListConst) for c in ins), "in as substring"
    variables = [n for n in _nodes() if isinstance(n, Var)]
    assert any(v.default is not None for v in variables), "var with a default"


def test_every_norwegian_lender_caps_debt_at_five_times_income() -> None:
    for lender in SHIPPED.for_market("NO"):
        reads = {f for r in lender.requirements for f in r.reads}
        assert "debt_to_income" in reads, lender.lender_id
