"""The reason one requirement gives when it does not pass: its code, kind, message and
rule in plain words, the applicant's values of what the rule reads, and the threshold that
applied to them (`threshold`), as `matcher.explain` puts them in an explanation.

What a requirement's reasons are made of in each language is worked out once, when its
lender is compiled (`prepare`), not by the first applicant it rejects.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from lender_rules.vocabulary import LANGUAGES, Language
from matcher.compiled_lender import CompiledRequirement
from matcher.explanation import Reason, Value
from matcher.ir import Call, Const, ListConst, Node, Var
from matcher.lower_python import Row, expression_function
from matcher.operators import COMPARISONS


def prepare(requirement: CompiledRequirement) -> None:
    """Work out what the requirement's reasons are made of in every language (`_told`): the
    threshold's plan compiles the functions it evaluates, a cost no request should pay."""
    for lang in LANGUAGES:
        if lang not in requirement.told:
            _told(requirement, lang)


def _json_value(value: Any) -> Value:
    if isinstance(value, float) and not math.isfinite(value):
        return "Infinity" if value > 0 else ("-Infinity" if value < 0 else None)
    return value  # type: ignore[no-any-return]


def reason(requirement: CompiledRequirement, row: Row, kind: str, lang: Language) -> Reason:
    """The reason for one requirement, a record of its own (its values and threshold
    list too) in each explanation, made from what `_told` worked out once. Not kept by
    values: a kept reason was one record shared by every answer it was given in, and saved
    about 0.1 us while keeping three more objects alive for the garbage collector."""
    # typed: `told` holds Any (compiled_lender cannot import `_Told`), and a `_Told` read as
    # Any has its fields looked up by name and its `reads` iterated as any iterable
    parts: _Told | None = requirement.told.get(lang)
    if parts is None:
        parts = _told(requirement, lang)
    values: dict[str, Value] = {}
    for name in parts.reads:
        value = row.get(name)
        values[name] = _json_value(value) if isinstance(value, float) else value
    threshold = parts.threshold
    if isinstance(threshold, _Dynamic):
        threshold = threshold.of(row)
    elif isinstance(threshold, list):
        threshold = list(threshold)  # the answer's own list
    # positional: a call by keyword costs more than building the record (the single path
    # builds one per reason); the order is the fields'
    return Reason(
        parts.code,
        "failed" if kind == "failed" else "missing",
        parts.message,
        parts.rule,
        values,
        threshold,
    )


class _Told:
    """What the reasons of one requirement in one language are made of, worked out when
    its lender is compiled (`prepare`; kept on the requirement, `CompiledRequirement.told`).
    A class, not a named tuple: compiled, its fields are read directly."""

    def __init__(
        self, code: str, message: str, rule: str, reads: tuple[str, ...], threshold: Any
    ) -> None:
        self.code = code
        self.message = message
        self.rule = rule
        self.reads = reads  # the features the rule reads, in order
        self.threshold = threshold  # where it does not depend on the row, else a `_Dynamic`


def _told(requirement: CompiledRequirement, lang: Language) -> _Told:
    parts = requirement.told[lang] = _Told(
        requirement.code,
        requirement.reason[lang],
        requirement.plain_words[lang],
        requirement.reads_in_order,
        _threshold_planned(requirement),
    )
    return parts


def _threshold_planned(requirement: CompiledRequirement) -> Any:
    """`threshold` of a requirement where it does not depend on the row, else a `_Dynamic`
    giving it from the row (worked out once, kept on its node)."""
    known = requirement.node.derived.threshold
    if known is None:
        known = requirement.node.derived.threshold = (_threshold_plan(requirement.node),)
    return known[0]


class _Dynamic:
    """A threshold that depends on the row: `of(row)` is `threshold(node, row)`."""

    __slots__ = ("of",)

    def __init__(self, of: Callable[[Row], Value | list[Value]]) -> None:
        self.of = of


def _threshold_plan(node: Node) -> Any:
    """The threshold of a rule when it does not depend on the row, else a `_Dynamic`: for a
    comparison, its other side's compiled function (as `threshold` chooses the side)."""
    if isinstance(node, Call) and node.op.name == "if":
        # the branch the row's values choose, each branch's threshold planned as a rule's
        args = node.args
        branches = [
            (expression_function(args[i]), _threshold_plan(args[i + 1]))
            for i in range(0, len(args) - 1, 2)
        ]
        otherwise = _threshold_plan(args[-1])

        def chosen(row: Row) -> Value | list[Value]:
            for condition, plan in branches:
                holds = condition(row)
                if holds is None:
                    return None
                if holds:
                    return plan.of(row) if isinstance(plan, _Dynamic) else plan
            return otherwise.of(row) if isinstance(otherwise, _Dynamic) else otherwise

        return _Dynamic(chosen)
    if isinstance(node, Call) and node.op.name in COMPARISONS:
        args = node.args
        if len(args) == 3:
            if all(isinstance(a, Const) for a in (args[0], args[2])):
                return threshold(node, {})
            low, high = args[0], args[2]
            return _Dynamic(lambda row: [_evaluated(low, row), _evaluated(high, row)])
        if not any(isinstance(a, Const) for a in args):
            # the side `threshold` gives: neither is a literal
            subject = 1 if isinstance(args[1], Var) and not isinstance(args[0], Var) else 0
            side = expression_function(args[1 - subject])
            return _Dynamic(lambda row: _json_value(side(row)))
    return threshold(node, {})


def threshold(node: Node, row: Row) -> Value | list[Value]:
    """The value this applicant was measured against, evaluated from the rule and the row:
    the other side of a comparison (its right-hand side when neither side is one feature
    read as it is), [low, high] of a "between", the list of an `in`; through an `if`, that of
    the branch the row's values choose ("temporary employment needs 12 months": 12 for a
    temporary employee). None where there is no one such value (`and`, `or`, a branch that
    is a constant, a condition that is unknown)."""
    while isinstance(node, Call) and node.op.name == "if":
        args = node.args
        for i in range(0, len(args) - 1, 2):
            chosen = expression_function(args[i])(row)
            if chosen is None:
                return None
            if chosen:
                node = args[i + 1]
                break
        else:
            node = args[-1]
    if not isinstance(node, Call):
        return None
    name, args = node.op.name, node.args
    if name == "in" and isinstance(args[1], ListConst):
        return list(args[1].values)
    if name not in COMPARISONS:
        return None
    if len(args) == 3:
        return [_evaluated(args[0], row), _evaluated(args[2], row)]
    subject = 1 if isinstance(args[1], Var) and not isinstance(args[0], Var) else 0
    if isinstance(args[0], Const):
        subject = 1
    return _evaluated(args[1 - subject], row)


def _evaluated(node: Node, row: Row) -> Value:
    if isinstance(node, Const):
        return node.value
    return _json_value(expression_function(node)(row))
