"""Test helper: the cases of the JSON Logic compatibility suites (vendored in
`jsonlogic_compat/`), each run through the compiler and both lowerings.

A case's `data` becomes a feature schema of its own: each scalar at a path (`a`, `a.b`, `a.0`)
is a feature of the value's type, bounded by the value. The case is then compiled as an
expression (any result type) against that schema and evaluated on a one-row frame by both
lowerings. Outcomes: "passes" (accepted, both lowerings give the suite's result), "refused"
(the compiler refuses it, with its problems), or "differs" (accepted, but the result is not
the suite's: a documented deviation, or a bug).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from lender_rules.errors import Problem
from matcher.compiler import compile_rule
from matcher.lower_polars import lower
from matcher.lower_python import lower_expression
from matcher.schema import Feature, Type

SUITES = Path(__file__).parent / "jsonlogic_compat" / "suites"


@dataclass(frozen=True)
class Case:
    name: str  # "<suite file>#<description>", unique
    rule: Any
    data: Any
    expected: Any  # the suite's result, or `ERROR` when the suite expects an error

    @property
    def expects_error(self) -> bool:
        return self.expected is ERROR


ERROR = object()


@dataclass(frozen=True)
class Outcome:
    kind: str  # "passes", "refused", "differs"
    problems: tuple[Problem, ...] = ()
    by_python: Any = None
    by_polars: Any = None


def cases() -> Iterator[Case]:
    """Every case of every suite file listed in the suites' index, in order."""
    for file in json.loads((SUITES / "index.json").read_text(encoding="utf-8")):
        seen: dict[str, int] = {}
        for item in json.loads((SUITES / file).read_text(encoding="utf-8")):
            if isinstance(item, str):  # a comment
                continue
            description = item.get("description", json.dumps(item["rule"]))
            seen[description] = seen.get(description, 0) + 1
            suffix = f" ({seen[description]})" if seen[description] > 1 else ""
            expected = ERROR if "error" in item else item.get("result")
            yield Case(f"{file}#{description}{suffix}", item["rule"], item.get("data"), expected)


_TYPES = {bool: Type.BOOL, int: Type.INT, float: Type.FLOAT, str: Type.STR}


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    items = (
        data.items()
        if isinstance(data, dict)
        else enumerate(data)
        if isinstance(data, list)
        else ()
    )
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, dict | list):
            out.update(_flatten(value, f"{name}."))
        elif type(value) in _TYPES:
            out[name] = value
    return out


def _schema(row: dict[str, Any]) -> dict[str, Feature]:
    features: dict[str, Feature] = {}
    for name, value in row.items():
        kind = _TYPES[type(value)]
        bound = value if kind.is_numeric else None
        features[name] = Feature(name, kind, False, "from the case's data", (), bound, bound)
    return features


def run(case: Case) -> Outcome:
    row = _flatten(case.data)
    schema = _schema(row)
    node, problems = compile_rule(
        case.rule, file=case.name, requirement_id=None, path="$", features=schema, result=None
    )
    if node is None:
        return Outcome("refused", tuple(problems))
    by_python = lower_expression(node)(row)
    frame = pl.DataFrame(
        [row] if row else [{"__row": 0}],
        schema={n: f.type.polars for n, f in schema.items()} if row else {"__row": pl.Int64},
    )
    by_polars = frame.lazy().select(lower(node).alias("v")).collect()["v"].to_list()[0]
    same = not case.expects_error and _equal(by_python, case.expected)
    if same and _equal(by_polars, case.expected):
        return Outcome("passes", (), by_python, by_polars)
    return Outcome("differs", (), by_python, by_polars)


def _equal(value: Any, expected: Any) -> bool:
    """JSON equality: numbers by value (1 == 1.0), but a bool is not a number."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return type(value) is type(expected) and value == expected
    if isinstance(expected, int | float) and isinstance(value, int | float):
        return value == expected or (math.isnan(value) and math.isnan(expected))
    return bool(value == expected) and type(value) is type(expected)
