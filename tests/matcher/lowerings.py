"""Test helper: a rule or expression evaluated on both lowerings, row by row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from matcher.compiler import compile_rule
from matcher.ir import Node
from matcher.lower_polars import lower
from matcher.lower_python import lower_expression
from matcher.ruleset import Ruleset, ruleset_from_documents
from matcher.schema import Feature, Type, polars_schema


def compiled(
    rule: Any, features: Mapping[str, Feature] | None = None, result: Type | None = None
) -> Node:
    extra = {} if features is None else {"features": features}
    node, problems = compile_rule(rule, file="f", requirement_id="r", result=result, **extra)
    assert problems == [], problems
    assert node is not None
    return node


def both(
    node: Node, rows: list[dict[str, Any]], schema: pl.Schema | None = None
) -> tuple[list[Any], list[Any]]:
    """The node's value on every row: by the Python closure, by the Polars expression."""
    closure = lower_expression(node)
    by_python = [closure(row) for row in rows]
    frame = pl.DataFrame(rows, schema=schema or polars_schema(), orient="row")
    # lazy: Polars 2.1 eager with_columns mis-sizes some when/then results (a Polars bug)
    by_polars = frame.lazy().with_columns(lower(node).alias("v")).collect()["v"].to_list()
    return by_python, by_polars


REASON = {"en": "r", "nb": "r", "sv": "r"}


def lenders(rules: list[list[Any]], markets: list[list[str]]) -> Ruleset:
    """A ruleset of lenders `bank_0`, `bank_1`, ...: lender i has the rules `rules[i]`
    (requirements `r0`, `r1`, ...) and serves the markets `markets[i]`."""
    return ruleset_from_documents(
        [
            {
                "lender_id": f"bank_{i}",
                "name": f"Bank {i}",
                "markets": markets[i],
                "requirements": [
                    {"id": f"r{j}", "rule": rule, "reason": REASON} for j, rule in enumerate(lender)
                ],
            }
            for i, lender in enumerate(rules)
        ]
    )
