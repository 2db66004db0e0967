"""What would pass: the exact range of amounts (or terms) a lender would accept, everything
else unchanged.

The lender's requirements are a boolean combination of comparisons ("atoms"). When every atom
that depends on the amount compares one expression that is monotone in the amount with
values that do not depend on it, each atom changes truth at most at a few points, and each
such point is found exactly by search over whole amounts on the very same compiled code the
engine runs. Between consecutive points every requirement is constant, so evaluating the
lender once per segment gives the exact set of accepted amounts as intervals.
Where monotonicity cannot be shown (`%`, a product of two amount-dependent values, ...), no
hint is given rather than a guess.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from matcher.ir import Call, ListConst, Node, Var
from matcher.lower_python import Row, lower_expression
from matcher.operators import COMPARISONS
from matcher.ruleset import CompiledLender
from matcher.schema import Type

Interval = tuple[int, int]
Direction = int | None  # +1 increasing, -1 decreasing, 0 independent, None unknown

_EXPRESSIONS: dict[int, tuple[Node, Callable[[Row], Any]]] = {}


def _value(node: Node, row: Row) -> Any:
    cached = _EXPRESSIONS.get(id(node))
    if cached is None or cached[0] is not node:
        cached = (node, lower_expression(node))
        _EXPRESSIONS[id(node)] = cached
    return cached[1](row)


def _depends(node: Node, variable: str) -> bool:
    reads = node.features
    return variable in reads or (variable == "amount" and "debt_to_income" in reads)


def _combine(directions: list[Direction]) -> Direction:
    if any(d is None for d in directions):
        return None
    moving = {d for d in directions if d}
    if len(moving) > 1:
        return None
    return moving.pop() if moving else 0


def _sign(value: Any) -> Direction:
    if value is None:
        return None
    return int(value > 0) - int(value < 0)


def direction(node: Node, variable: str, row: Row) -> Direction:
    """How a numeric node moves as `variable` grows, other features as in `row`."""
    if not _depends(node, variable):
        return 0
    if isinstance(node, Var):
        if node.name == variable:
            return 1
        # debt_to_income = (existing_debt + amount) / total_income
        return 1 if row["total_income"] > 0 else 0
    if not isinstance(node, Call):
        return 0
    name, args = node.op.name, node.args
    dirs = [direction(a, variable, row) for a in args]
    if name in ("+", "min", "max"):
        return _combine(dirs)
    if name == "-":
        return (
            -dirs[0]
            if len(dirs) == 1 and dirs[0] is not None
            else _combine([dirs[0], None if dirs[1] is None else -dirs[1]])
        )
    if name == "*":
        moving = [i for i, d in enumerate(dirs) if d != 0]
        if len(moving) != 1 or dirs[moving[0]] is None:
            return None
        sign = 1
        for i, arg in enumerate(args):
            if i != moving[0]:
                s = _sign(_value(arg, row))
                if s is None:
                    return None
                sign *= s
        d = dirs[moving[0]]
        return None if d is None else d * sign
    if name == "/":
        if dirs[1] != 0 or dirs[0] is None:
            return None
        s = _sign(_value(args[1], row))
        return None if not s else dirs[0] * s
    if name == "if":
        conditions = [dirs[i] for i in range(0, len(args) - 1, 2)]
        if any(c != 0 for c in conditions):
            return None
        return _combine([dirs[i] for i in range(1, len(args), 2)] + [dirs[-1]])
    return None


def _atoms(node: Node, variable: str, row: Row, out: list[tuple[Node, int, list[Any]]]) -> bool:
    """Collect (monotone operand, its direction, the values it is compared with).

    False when an atom depends on `variable` in a way the search cannot handle.
    """
    if not _depends(node, variable):
        return True
    if not isinstance(node, Call):
        return False
    name, args = node.op.name, node.args
    if (node.type is Type.BOOL and name in ("and", "or", "if")) or (
        name in COMPARISONS | {"!", "!!"} and all(a.type is Type.BOOL for a in args)
    ):
        if name == "if" and node.type is not Type.BOOL:
            return False
        return all(_atoms(a, variable, row, out) for a in args)
    if name in ("!", "!!"):
        d = direction(args[0], variable, row)
        if not d:
            return False
        out.append((args[0], d, [0]))
        return True
    if name == "in" and isinstance(args[1], ListConst):
        d = direction(args[0], variable, row)
        if not d:
            return False
        out.append((args[0], d, list(args[1].values)))
        return True
    if name in COMPARISONS:
        dependent = [a for a in args if _depends(a, variable)]
        if len(dependent) != 1:
            return False
        d = direction(dependent[0], variable, row)
        if not d:
            return False
        values = [_value(a, row) for a in args if a is not dependent[0]]
        if any(v is None for v in values):
            return False
        out.append((dependent[0], d, values))
        return True
    return False


def _first(low: int, high: int, test: Callable[[int], bool | None]) -> int | None:
    """The least x in [low, high] with test(x) true, for a test false-then-true; high + 1 if
    none; None when the test is unknown somewhere it is asked."""
    at_high = test(high)
    if at_high is None:
        return None
    if not at_high:
        return high + 1
    lo, hi = low, high  # answer in [lo, hi]
    while lo < hi:
        mid = (lo + hi) // 2
        result = test(mid)
        if result is None:
            return None
        if result:
            hi = mid
        else:
            lo = mid + 1
    return lo


def accepted(
    lender: CompiledLender,
    row: Row,
    variable: str,
    domain: Interval,
    with_value: Callable[[Row, int], Row],
) -> list[Interval] | None:
    """The intervals of `variable` within `domain` at which the lender accepts, or None when
    that cannot be computed exactly."""
    atoms: list[tuple[Node, int, list[Any]]] = []
    for requirement in lender.requirements:
        if not _atoms(requirement.node, variable, row, atoms):
            return None
    low, high = domain
    points = {low, high + 1}
    for operand, d, values in atoms:
        for c in values:
            for test in _crossings(operand, d, c, row, with_value):
                point = _first(low, high, test)
                if point is None:
                    return None
                points.add(point)
    bounds = sorted(p for p in points if low <= p <= high + 1)
    intervals: list[Interval] = []
    for start, end in itertools.pairwise(bounds):
        if lender.evaluate(with_value(row, start)) == (0, 0):
            if intervals and intervals[-1][1] == start - 1:
                intervals[-1] = (intervals[-1][0], end - 1)
            else:
                intervals.append((start, end - 1))
    return intervals


def _crossings(
    operand: Node, direction: int, c: Any, row: Row, with_value: Callable[[Row, int], Row]
) -> list[Callable[[int], bool | None]]:
    """Tests, false then true as x grows, whose first true x are where `operand` reaches and
    passes the value c: the points where a comparison with c can change."""
    ops = (">=", ">") if direction > 0 else ("<=", "<")

    def test(how: str) -> Callable[[int], bool | None]:
        return lambda x: _cmp(_value(operand, with_value(row, x)), c, how)

    return [test(how) for how in ops]


def _cmp(value: Any, c: Any, how: str) -> bool | None:
    if value is None:
        return None
    if how == ">=":
        return bool(value >= c)
    if how == ">":
        return bool(value > c)
    if how == "<=":
        return bool(value <= c)
    return bool(value < c)
