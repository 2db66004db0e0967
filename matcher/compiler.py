"""JsonLogic -> the typed intermediate form, checked against the feature schema.

Everything wrong with a rule is found here, when the ruleset loads: evaluation never meets a
malformed rule. Each problem names the file, the requirement id and the JSON path.
"""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping
from typing import Any

from lender_rules.errors import Problem
from matcher.errors import ExpressionRangeError, OperatorTypeError
from matcher.ir import Call, Const, ListConst, Node, Var
from matcher.operators import OPERATORS
from matcher.ranges import Interval, call_interval, constant
from matcher.schema import FEATURES_BY_NAME, Feature, Type

# Integers beyond this are refused: both lowerings must compute the same, and Polars works in
# 64-bit integers and doubles, Python in unbounded integers. (`matcher.ranges` checks what
# expressions compute from them.)
MAX_ABS_CONSTANT = 10**15

# Operations nested deeper than this are refused: the lowerings (and the tools reading rules)
# recurse once per level. The shipped lenders nest 5 deep; an `if` with many branches is one
# level, however many branches it has.
MAX_DEPTH = 32


class _Compiler:
    def __init__(self, file: str, requirement_id: str | None, features: Mapping[str, Feature]):
        self.file = file
        self.requirement_id = requirement_id
        self.features = features
        self.problems: list[Problem] = []
        # each number node's interval, for this compilation only (`matcher.ranges`)
        self.intervals: dict[int, Interval] = {}

    def problem(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, message, self.requirement_id, path))

    def node(self, rule: Any, path: str) -> Node | None:
        if isinstance(rule, bool):
            return Const(rule, Type.BOOL, path)
        if isinstance(rule, int):
            if abs(rule) > MAX_ABS_CONSTANT:
                self.problem(
                    path, f"number {rule} is out of range (at most {MAX_ABS_CONSTANT:.0e})"
                )
                return None
            return self.number(Const(rule, Type.INT, path), constant(rule))
        if isinstance(rule, float):
            if not math.isfinite(rule) or abs(rule) > MAX_ABS_CONSTANT:
                self.problem(path, f"number {rule} is out of range")
                return None
            return self.number(Const(rule, Type.FLOAT, path), constant(rule))
        if isinstance(rule, str):
            return Const(rule, Type.STR, path)
        if rule is None:
            self.problem(path, "null is not a value of the rule language")
            return None
        if isinstance(rule, list):
            self.problem(path, "a list is allowed only as the right-hand side of 'in'")
            return None
        if not isinstance(rule, dict):  # pragma: no cover - json gives no other types
            self.problem(path, f"unexpected value {rule!r}")
            return None
        if len(rule) != 1:
            keys = ", ".join(repr(k) for k in rule) or "none"
            self.problem(path, f"an operation has exactly one operator key, got {keys}")
            return None
        ((name, args),) = rule.items()
        path = f"{path}[{json.dumps(name, ensure_ascii=False)}]"
        if name == "var":
            return self.var(args, path)
        op = OPERATORS.get(name)
        if op is None:
            self.problem(path, f"unsupported operator {name!r}")
            return None
        wrapped = not isinstance(args, list)  # JsonLogic's shorthand for one operand
        if wrapped:
            args = [args]
        if len(args) < op.min_args or (op.max_args is not None and len(args) > op.max_args):
            self.problem(
                path, f"'{name}' takes {_arity(op.min_args, op.max_args)}, got {len(args)}"
            )
            # what is wrong inside the operands too (`{"<=": {"preserve": [1, 2]}}` is one
            # operand, an unsupported operation): the user fixes everything in one pass
            for i, arg in enumerate(args):
                if isinstance(arg, dict):
                    self.node(arg, path if wrapped else f"{path}[{i}]")
            return None
        if name == "if":
            return self.if_(args, path)
        if name == "in" and isinstance(args[1], list):
            return self.membership(args, path)
        operands = [
            self.node(arg, path if wrapped else f"{path}[{i}]") for i, arg in enumerate(args)
        ]
        if any(o is None for o in operands):
            return None
        checked = [o for o in operands if o is not None]
        types = [o.type for o in checked]
        try:
            result = op.typing(types)
        except OperatorTypeError as e:
            self.problem(path, f"'{name}' {e}")
            return None
        # A float operand that is not a literal may be infinite (debt_to_income is +inf
        # without income), and inf - inf is NaN: such a result is checked, NaN becomes null.
        nan_to_null = (
            op.arithmetic
            and result is Type.FLOAT
            and any(o.type is Type.FLOAT and not isinstance(o, Const) for o in checked)
        )
        by_literal = isinstance(checked[-1], Const) and checked[-1].value != 0
        yields_null = op.yields_null and not by_literal  # `/` and `%` by zero only
        nullable = yields_null or nan_to_null or any(o.nullable for o in checked)
        call = Call(op, tuple(checked), result, path, nullable, _features(checked), nan_to_null)
        return self.ranged(call)

    def number(self, node: Node, interval: Interval | None) -> Node:
        if interval is not None:
            self.intervals[id(node)] = interval
        return node

    def ranged(self, call: Call) -> Call | None:
        """The call with its interval noted, or None (and a problem) when it can leave the
        numbers both lowerings compute alike (`matcher.ranges`)."""
        operands = [(a.type, self.intervals.get(id(a))) for a in call.args]
        try:
            interval = call_interval(call.op.name, operands, call.type)
        except ExpressionRangeError as e:
            self.problem(call.path, str(e))
            return None
        self.number(call, interval)
        return call

    def var(self, args: Any, path: str) -> Node | None:
        if isinstance(args, list):
            if not 1 <= len(args) <= 2:
                self.problem(
                    path, f"'var' takes a feature name and an optional default, got {args!r}"
                )
                return None
            name, default = args[0], (args[1] if len(args) == 2 else None)
            has_default = len(args) == 2
        else:
            name, default, has_default = args, None, False
        if not isinstance(name, str):
            self.problem(path, f"'var' needs a feature name, got {name!r}")
            return None
        feature = self.features.get(name)
        if feature is None:
            close = difflib.get_close_matches(name, list(self.features), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            self.problem(path, f"unknown feature {name!r}{hint}")
            return None
        bounds = (
            Interval(feature.low, feature.high)
            if feature.low is not None and feature.high is not None
            else None
        )
        if not has_default:
            return self.number(Var(name, feature.type, path, None, feature.nullable), bounds)
        const = self.node(default, f"{path}[1]")
        if const is None:
            return None
        if not isinstance(const, Const) or not _assignable(const.type, feature.type):
            self.problem(
                f"{path}[1]",
                f"default of {name!r} must be a literal {feature.type.value}, got {default!r}",
            )
            return None
        with_default = self.intervals.get(id(const))
        if bounds is not None and with_default is not None:
            bounds = bounds.union(with_default)
        return self.number(Var(name, feature.type, path, const, False), bounds)

    def if_(self, args: list[Any], path: str) -> Node | None:
        if len(args) % 2 == 0:
            self.problem(path, "'if' needs an else branch (an odd number of operands)")
            return None
        operands = [self.node(arg, f"{path}[{i}]") for i, arg in enumerate(args)]
        if any(o is None for o in operands):
            return None
        checked = [o for o in operands if o is not None]
        for i in range(0, len(checked) - 1, 2):
            if checked[i].type is not Type.BOOL:
                self.problem(
                    f"{path}[{i}]", f"'if' condition must be a bool, got {checked[i].type.value}"
                )
                return None
        branches = [checked[i] for i in range(1, len(checked), 2)] + [checked[-1]]
        types = {b.type for b in branches}
        if len(types) == 1:
            result = types.pop()
        elif all(t.is_numeric for t in types):
            result = Type.FLOAT
        else:
            names = ", ".join(sorted(t.value for t in types))
            self.problem(path, f"'if' branches must have one type, got {names}")
            return None
        nullable = any(o.nullable for o in checked)
        return self.ranged(
            Call(OPERATORS["if"], tuple(checked), result, path, nullable, _features(checked))
        )

    def membership(self, args: list[Any], path: str) -> Node | None:
        needle = self.node(args[0], f"{path}[0]")
        items: list[Const] = []
        for i, item in enumerate(args[1]):
            const = self.node(item, f"{path}[1][{i}]")
            if const is not None and not isinstance(const, Const):
                self.problem(f"{path}[1][{i}]", "the list of 'in' must hold literal values")
                return None
            if const is not None:
                items.append(const)
        if needle is None or len(items) != len(args[1]):
            return None
        if not items:
            self.problem(f"{path}[1]", "the list of 'in' is empty")
            return None
        types = {c.type for c in items}
        element = types.pop() if len(types) == 1 else None
        if element is None and all(t.is_numeric for t in {c.type for c in items}):
            element = Type.FLOAT
        if element is None:
            self.problem(f"{path}[1]", "the list of 'in' must hold values of one type")
            return None
        if not (element == needle.type or (element.is_numeric and needle.type.is_numeric)):
            self.problem(
                path,
                f"'in' looks for a {needle.type.value} in a list of {element.value}",
            )
            return None
        values = ListConst(tuple(c.value for c in items), element, f"{path}[1]")
        if element.is_numeric:
            numbers = [float(c.value) for c in items]  # bools are not numbers here
            self.number(values, Interval(min(numbers), max(numbers)))
        return self.ranged(
            Call(
                OPERATORS["in"], (needle, values), Type.BOOL, path, needle.nullable, needle.features
            )
        )


def _arity(low: int, high: int | None) -> str:
    if high is None:
        return f"at least {low} operand{'s' if low > 1 else ''}"
    if low == high:
        return f"{low} operand{'s' if low > 1 else ''}"
    return f"{low} to {high} operands"


def _assignable(value: Type, target: Type) -> bool:
    return value == target or (value is Type.INT and target is Type.FLOAT)


def _features(nodes: list[Node]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for n in nodes:
        out |= n.features
    return out


def too_deep(rule: Any, path: str, limit: int = MAX_DEPTH) -> str | None:
    """The JSON path of the first operation nested deeper than `limit` levels in `rule`, or
    None. Iterative: it must not itself recurse as deep as the rule goes."""
    stack: list[tuple[Any, str, int]] = [(rule, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, dict):
            depth += 1
            if depth > limit:
                return where
            for key, item in value.items():
                stack.append((item, f"{where}[{json.dumps(key, ensure_ascii=False)}]", depth))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                stack.append((item, f"{where}[{i}]", depth))
    return None


def compile_rule(
    rule: Any,
    *,
    file: str,
    requirement_id: str | None,
    path: str = "$.rule",
    features: Mapping[str, Feature] = FEATURES_BY_NAME,
    result: Type | None = Type.BOOL,
) -> tuple[Node | None, list[Problem]]:
    """Compile one requirement's rule; a requirement's rule must yield a boolean.

    `features` is the feature schema rules read (the application's unless told); `result`
    the type the rule must have (None: any, for expressions)."""
    compiler = _Compiler(file, requirement_id, features)
    deep = too_deep(rule, path)
    if deep is not None:
        compiler.problem(deep, f"operations nested deeper than {MAX_DEPTH} levels")
        return None, compiler.problems
    node = compiler.node(rule, path)
    if node is not None and result is not None and node.type is not result:
        compiler.problem(path, f"a requirement's rule must be a bool, got {node.type.value}")
        node = None
    return node, compiler.problems
