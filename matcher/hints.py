"""What would pass: the exact range of amounts (or terms) a lender would accept, everything
else unchanged.

The lender's requirements are a boolean combination of comparisons ("atoms"). When every atom
that depends on the amount compares one expression that is monotone in the amount with
values that do not depend on it, each atom changes truth at most at a few points, and each
such point is found exactly by search over whole amounts on the very same compiled code the
engine runs. Between consecutive points every requirement is constant, so evaluating the
lender once per segment gives the exact set of accepted amounts as intervals. A rule that
is a congruence as a whole ("amount % 1000 == 0") is met by trying, in each segment, its
first value that satisfies it; the intervals then step by 1,000.
Where monotonicity cannot be shown (other uses of `%`, a product of two amount-dependent
values, ...), no hint is given rather than a guess.

Closed forms stand in for the search where one exists: the variable itself compared with a
value crosses it at ceil(c) and floor(c) + 1, and debt_to_income = (existing_debt + amount) /
total_income reaches c at amount = c * total_income - existing_debt. A closed form only
guesses: `from_guess` moves the guess on the exact function until it is the first point
where the comparison holds (the search's own answer; differential tests keep them equal).
For other affine operands the search's first interpolation step is that solution.
What depends only on the lender's rules (the atoms, how each is solved, the memo's key, the
points where the variable itself crosses a literal) is worked out once per lender and
variable.

Where every requirement that moves with the variable is one inequality of its operand (`a <=
amount <= b`, `debt_to_income <= 5`; a congruence aside), a segment's outcome is told by the
crossings: each comparison holds on one side of its crossing, the operand being monotone (what
the segments already rest on), so the requirements are not evaluated on each segment;
without a congruence, the accepted interval is the intersection of where each holds. An `if`
whose conditions do not move with the variable, each branch such an inequality or not moving
("10 <= term <= 120 when refinancing, else 10 <= term <= 60"), is told the same way by the
branch the row chooses. Other rules (`or`, `==`, an `if` whose condition moves) are
evaluated there as before; a differential test keeps both equal.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from matcher.application import AMOUNT_MAX, AMOUNT_MIN, TERM_MAX, TERM_MIN
from matcher.features import debt_to_income, set_loan
from matcher.ir import Call, Const, ListConst, Node, Var, walk
from matcher.lower_python import Bits, Row, expression_function, lower_requirements
from matcher.operators import COMPARISONS
from matcher.schema import FEATURES_BY_NAME, Type

if TYPE_CHECKING:
    from matcher.compiled_lender import CompiledLender

Interval = tuple[int, int]
Direction = int | None  # +1 increasing, -1 decreasing, 0 independent, None unknown

LOAN_FEATURES = frozenset({"amount", "term_months", "debt_to_income"})


def _value(node: Node, row: Row) -> Any:
    return expression_function(node)(row)


def prepare(node: Node) -> None:
    """Compile, ahead of the first explanation, what the search evaluates in a rule."""
    for sub in walk(node):
        if isinstance(sub, Call) and sub.type is not Type.BOOL:
            expression_function(sub)
        if isinstance(sub, Call) and sub.features & LOAN_FEATURES:
            for arg in sub.args:
                if not isinstance(arg, ListConst):
                    expression_function(arg)


def depends(node: Node, variable: str) -> bool:
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


def _row_free(node: Node) -> bool:
    """Whether the node's direction can be told without the row: no debt_to_income (which
    stands still without income), no product or quotient by something not literal."""
    for sub in walk(node):
        if isinstance(sub, Var) and sub.name == "debt_to_income":
            return False
        factors = sub.args if isinstance(sub, Call) and sub.op.name in ("*", "/") else ()
        if sum(not isinstance(a, Const) for a in factors) > 1:
            return False
    return True


def direction(node: Node, variable: str, row: Row) -> Direction:
    """How a numeric node moves as `variable` grows, other features as in `row` (worked out
    once per node, and kept on it, where the row does not matter: `_movement`)."""
    known = _movement(node, variable)
    return known[1] if known[0] else _direction(node, variable, row)


def _movement(node: Node, variable: str) -> tuple[bool, Direction]:
    """Whether a node moves the same way in `variable` for every row (`_row_free`), and
    then how (None otherwise); worked out once per node, and kept on it. No row is read:
    in a row-free node, what is evaluated to tell the direction is a literal (the other
    factors of a product, the divisor of a quotient), or the node does not move."""
    known = node.derived.directions.get(variable)
    if known is None:
        free = _row_free(node)
        known = (free, _direction(node, variable, _NO_ROW) if free else None)
        node.derived.directions[variable] = known
    return known


_NO_ROW: Row = {}


def _direction(node: Node, variable: str, row: Row) -> Direction:
    if isinstance(node, Var):  # `depends` for a feature read, without building its set
        if node.name == variable:
            return 1
        if node.name != "debt_to_income" or variable != "amount":
            return 0
        # debt_to_income = (existing_debt + amount) / total_income
        return 1 if row["total_income"] > 0 else 0
    if not depends(node, variable):
        return 0
    if not isinstance(node, Call):
        return 0
    name, args = node.op.name, node.args
    dirs = [direction(a, variable, row) for a in args]
    if name in ("+", "min", "max"):
        return _combine(dirs)
    if name == "-":
        if len(dirs) == 1:  # negation: the operand's direction reversed, or unknown
            return None if dirs[0] is None else -dirs[0]
        return _combine([dirs[0], None if dirs[1] is None else -dirs[1]])
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


Relation = str  # operand >= value, >, <=, <, or "both" (==, !=, in, truthiness)
Against = tuple[Node | None, Any, Relation]  # the value's node (None: a literal), literal
Comparison = tuple[Node, tuple[Against, ...]]
"""An operand that depends on the variable, and what it is compared with, and how."""

_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}

Congruence = tuple[int, int]  # (k, r): the variable must be r modulo k
Shape = tuple[list[Comparison], Congruence | None]


Moving = tuple[int, Callable[[Row], Bits], tuple[int, ...]]
Split = tuple[int, int, int]
Solver = Callable[[Row], "Accepted | None"]


@dataclass
class Analysis:
    """What the search works out once per lender and variable, from the lender's rules alone:
    kept on the lender (`CompiledLender.analysis`), so it lives exactly as long as the lender."""

    shapes: dict[str, Shape | None] = field(default_factory=dict)
    moving: dict[str, Moving] = field(default_factory=dict)
    split: Split | None = None
    # by variable, then the bits of the requirements left out
    plans: dict[str, dict[int, Plan | Any]] = field(default_factory=dict)
    atoms: dict[str, list[AtomPlan] | None] = field(default_factory=dict)
    fixed: dict[tuple[str, Interval], Fixed | None] = field(default_factory=dict)
    truths: dict[str, Truths | None] = field(default_factory=dict)
    # per variable and domain: `_search` written out for the lender's told shape (`_solver`),
    # None where the shape is another
    solvers: dict[str, dict[Interval, Solver | None]] = field(default_factory=dict)
    # the messages of hints already given when no (amount, term) would do (`matcher.explain`),
    # by what they are a function of (bounded: at most MEMO_SIZE, the oldest dropped first)
    hints: dict[tuple[Any, ...], str] = field(default_factory=dict)
    # the messages of hints already given from the amounts and terms each alone would take
    # (`matcher.explain`), by what they are a function of (bounded likewise), where the
    # message does not name the applied amount; for those that do (a term hint, "... for
    # 250,000"): the message in the pieces around the amount, by the same key
    told_hints: dict[tuple[Any, ...], str] = field(default_factory=dict)
    told_parts: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    # per variable: the features the search's answer depends on, and answers already found
    # for their values (bounded: at most MEMO_SIZE each, the oldest dropped first)
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # per requirement: what a hint for it asks the search for (`loan_asks`)
    asks: tuple[int, ...] | None = None
    memo: dict[tuple[str, int], dict[tuple[Any, ...], Accepted | None]] = field(
        default_factory=dict
    )
    # the answers those memos hold, each once (`_shared`; bounded likewise)
    answers: dict[Accepted | None, Accepted | None] = field(default_factory=dict)


MEMO_SIZE = 512
"""Answers kept per lender, variable and left-out requirements: applicants share ages,
purposes and markets, so the terms a lender takes are mostly found once."""

K = TypeVar("K")
V = TypeVar("V")


def remember(memo: dict[K, V], key: K, value: V, limit: int = MEMO_SIZE) -> V:
    """`value`, kept in `memo` by `key`: a memo holds at most `limit` entries, the oldest
    dropped first (`make_room`)."""
    make_room(memo, limit)
    memo[key] = value
    return value


def make_room(memo: dict[Any, Any], limit: int = MEMO_SIZE) -> None:
    """When `memo` holds `limit` entries, drop its oldest quarter at once. One at a time,
    each drop would cost more than the last: a dict keeps the slots of removed entries
    until it is resized, and finding the oldest (`next(iter(memo))`) walks past every one of
    them (a full memo of 4,096 entries took 1.2 us per new entry, 0.16 us this way)."""
    if len(memo) >= limit:
        for old in list(itertools.islice(memo, max(limit // 4, 1))):
            del memo[old]


def comparisons(lender: CompiledLender, variable: str) -> Shape | None:
    """The comparisons of a lender's rules that depend on `variable`, and the congruence a
    requirement may impose on it ("amount % 1000 == 0"); the rules' shape only, so it is
    worked out once per lender. None when a rule depends on the variable in a way the search
    cannot handle."""
    shapes = lender.analysis.shapes
    if variable not in shapes:
        out: list[Comparison] = []
        congruences = {_congruence(r.node, variable) for r in lender.requirements} - {None}
        ok = len(congruences) <= 1 and all(
            _congruence(r.node, variable) is not None or _collect(r.node, variable, out)
            for r in lender.requirements
        )
        congruence = next(iter(congruences), None)
        shapes[variable] = (out, congruence) if ok else None
    return shapes[variable]


def _congruence(rule: Node, variable: str) -> Congruence | None:
    """(k, r) when a whole rule says `variable % k == r` (k > 0, 0 <= r < k, literals)."""
    if not (isinstance(rule, Call) and rule.op.name in ("==", "===")):
        return None
    for mod, rest in ((rule.args[0], rule.args[1]), (rule.args[1], rule.args[0])):
        if (
            isinstance(mod, Call)
            and mod.op.name == "%"
            and isinstance(mod.args[0], Var)
            and mod.args[0].name == variable
            and mod.args[0].default is None
            and isinstance(mod.args[1], Const)
            and mod.args[1].type is Type.INT
            and isinstance(rest, Const)
            and rest.type is Type.INT
        ):
            k, r = int(mod.args[1].value), int(rest.value)
            if k > 0 and 0 <= r < k:
                return (k, r)
    return None


def _collect(node: Node, variable: str, out: list[Comparison]) -> bool:
    if not depends(node, variable):
        return True
    if not isinstance(node, Call):
        return False
    name, args = node.op.name, node.args
    if (node.type is Type.BOOL and name in ("and", "or", "if")) or (
        name in COMPARISONS | {"!", "!!"} and all(a.type is Type.BOOL for a in args)
    ):
        return all(_collect(a, variable, out) for a in args)
    if name in ("!", "!!"):
        out.append((args[0], ((None, 0, "both"),)))
        return True
    if name == "in" and isinstance(args[1], ListConst):
        out.append((args[0], tuple((None, v, "both") for v in args[1].values)))
        return True
    if name in COMPARISONS:
        moving = [i for i, a in enumerate(args) if depends(a, variable)]
        if len(moving) != 1:
            return False
        (i,) = moving
        if name not in _FLIP:  # ==, !=, ===, !==
            out.append((args[i], ((args[1 - i], None, "both"),)))
            return True
        # args[i-1] op args[i] op args[i+1]: the operand against its neighbours
        against: list[Against] = []
        if i > 0:
            against.append((args[i - 1], None, _FLIP[name]))
        if i + 1 < len(args):
            against.append((args[i + 1], None, name))
        out.append((args[i], tuple(against)))
        return True
    return False


# Which crossings can change a comparison's truth: where the operand reaches the value
# (first x with g >= c, or g <= c when g decreases) and where it passes it (g > c, g < c).
_REACH, _PASS = "reach", "pass"
_CROSSINGS: dict[tuple[int, Relation], tuple[str, ...]] = {
    (1, ">="): (_REACH,), (1, ">"): (_PASS,), (1, "<="): (_PASS,), (1, "<"): (_REACH,),
    (-1, ">="): (_PASS,), (-1, ">"): (_REACH,), (-1, "<="): (_REACH,), (-1, "<"): (_PASS,),
    (1, "both"): (_REACH, _PASS), (-1, "both"): (_REACH, _PASS),
}  # fmt: skip


class _Operand:
    """A monotone operand as a function of the variable, evaluated at most once per point."""

    def __init__(self, operand: Node, row: Row, with_value: Callable[[Row, int], Row]) -> None:
        self.seen: dict[int, Any] = {}
        function = expression_function(operand)
        if isinstance(operand, Var) and operand.name == "debt_to_income":
            # as the row's own debt_to_income is computed (features.set_loan), without the row
            debt, income = row["existing_debt"], row["total_income"]
            self.at: Callable[[int], Any] = lambda x: debt_to_income(debt, x, income)
        else:
            self.at = lambda x: function(with_value(row, x))

    def __call__(self, x: int) -> Any:
        seen = self.seen
        if x not in seen:
            seen[x] = self.at(x)
        return seen[x]


def _reached(value: Any, c: Any, how: str) -> bool:
    if how == ">=":
        return bool(value >= c)
    if how == ">":
        return bool(value > c)
    if how == "<=":
        return bool(value <= c)
    return bool(value < c)


def _first(low: int, high: int, g: Callable[[int], Any], c: Any, how: str) -> int | None:
    """The least x in [low, high] where g(x) `how` c holds (false, then true as x grows, g
    being monotone); high + 1 if nowhere; None where g is unknown at a point it is asked.

    Exact: every step evaluates the same compiled code the engine runs. Interpolation makes
    it a few evaluations for the usual affine g; steps alternate with bisection, so it never
    takes more than about twice the evaluations of plain bisection."""
    g_high = g(high)
    if g_high is None:
        return None
    if not _reached(g_high, c, how):
        return high + 1
    g_low = g(low)
    if g_low is None:
        return None
    if _reached(g_low, c, how):
        return low
    lo, hi = low, high  # not reached at lo, reached at hi
    interpolate = True
    while hi - lo > 1:
        g_lo, g_hi = g(lo), g(hi)
        if interpolate and g_hi != g_lo:
            x = lo + int((c - g_lo) * (hi - lo) / (g_hi - g_lo))
            x = min(max(x, lo + 1), hi - 1)
            probes = [x, x + 1] if x + 1 < hi else [x]
        else:
            probes = [(lo + hi) // 2]
        interpolate = not interpolate
        for x in probes:
            value = g(x)
            if value is None:
                return None
            if _reached(value, c, how):
                hi = min(hi, x)
            else:
                lo = max(lo, x)
    return hi


def split(lender: CompiledLender) -> Split:
    """The bits of the requirements that read the amount (or debt_to_income) and not the
    term, the term and not the amount, and both: worked out once per lender."""
    if lender.analysis.split is None:
        amount = term = both = 0
        for r in lender.requirements:
            a, t = depends(r.node, "amount"), depends(r.node, "term_months")
            both |= r.bit if a and t else 0
            amount |= r.bit if a and not t else 0
            term |= r.bit if t and not a else 0
        lender.analysis.split = (amount, term, both)
    return lender.analysis.split


AMOUNTS: Interval = (AMOUNT_MIN, AMOUNT_MAX)
TERMS: Interval = (TERM_MIN, TERM_MAX)
"""The domains a hint searches (the application's bounds), defined once for the searches
worked out at load (`prepare_lender`) and those a hint asks for (`matcher.explain`). A
search's kept answers are keyed by a domain's bounds, not by the tuple (see `accepted`)."""


def prepare_lender(lender: CompiledLender) -> None:
    """Work out, when the lender is compiled, what the search would otherwise work out for
    the first applicant who needs it (`matcher.pairs.options` asks for each variable over
    its whole domain, with the other variable's requirements left out): each variable's
    moving requirements (a compiled function), its plan and its solver. No request then
    pays for them: they cost up to a few hundred microseconds a lender."""
    amount_bits, term_bits, both = split(lender)
    _asks(lender)
    for variable, domain, others in (
        ("amount", AMOUNTS, term_bits),
        ("term_months", TERMS, amount_bits),
    ):
        if comparisons(lender, variable) is None:
            continue
        moving_requirements(lender, variable)
        ignore = 0 if both else others
        plans = lender.analysis.plans.get(variable)
        if plans is None or ignore not in plans:
            _plan_of(lender, variable, ignore)
        solvers = lender.analysis.solvers.get(variable)
        if solvers is None or domain not in solvers:
            _solver(lender, variable, domain)


def moving_requirements(lender: CompiledLender, variable: str) -> Moving:
    """The bits of the requirements that depend on `variable`, a function evaluating just
    those (compiled once per lender; between two tries only they can change), and the
    lender's bit of each of them (the function's bit i is the i-th of these)."""
    known = lender.analysis.moving.get(variable)
    if known is None:
        moving = [r for r in lender.requirements if depends(r.node, variable)]
        mask = sum(r.bit for r in moving)
        function = lower_requirements([r.node for r in moving], name="moving")
        known = (mask, function, tuple(r.bit for r in moving))
        lender.analysis.moving[variable] = known
    return known


def _lender_bits(bits: int, of: tuple[int, ...]) -> int:
    """The lender's bits of the moving requirements' function's `bits` (bit i is of[i])."""
    out = 0
    bits &= (1 << len(of)) - 1
    while bits:
        low = bits & -bits
        out |= of[low.bit_length() - 1]
        bits ^= low
    return out


Accepted = tuple[tuple[Interval, ...], int, int]
"""Intervals [low, high] of accepted values; the step between accepted values within them
(1, or k when a requirement says `variable % k == r`: then low and high are such values);
and, when no value is accepted, the lender's bits of the requirements in the way: those that
failed at every value tried, or where no one did, each that failed at some value. A value:
tuples all through, so an answer kept is shared by every key it answers (`_shared`), and
what is kept by it (`matcher.explain`'s hint messages) holds the answer itself."""


def accepted(
    lender: CompiledLender,
    row: Row,
    variable: str,
    domain: Interval,
    with_value: Callable[[Row, int], Row] | None = None,
    *,
    bits: Bits | None = None,
    ignore: int = 0,
) -> Accepted | None:
    """The values of `variable` within `domain` at which the lender accepts, or None when
    that cannot be computed exactly. `bits` are the lender's (failed, unknown) at `row` when
    already known; requirements in `ignore` are left out (they read another variable, which
    the caller varies on its own)."""
    plans = lender.analysis.plans.get(variable)  # by variable, then bits: no key to build
    plan = plans.get(ignore) if plans is not None else None
    if plan is None:
        plan = _plan_of(lender, variable, ignore)
    if plan is _UNSEARCHABLE:
        return None
    planned: Plan = plan
    step, residue, outside, names, memo = planned
    failed, unknown = lender.evaluate(row) if bits is None else bits
    fixed = (failed | unknown) & outside
    if fixed:
        return (), step, fixed  # a requirement the variable does not touch fails whatever it is
    if names is None:  # answers not kept: their features have too many combinations
        return _search(lender, row, variable, domain, with_value, step, residue)
    # What follows depends only on the values of the features the moving requirements read
    # (the variable aside): an answer found for the same values is the answer.
    values: list[Any] = [row[name] for name in names]  # a loop: `*map` costs more compiled
    # the domain's bounds, not the domain: compiled, a tuple[int, int] argument arrives
    # unboxed, and appending it would make a new tuple for every key (one more object
    # alive per answer kept)
    values.append(domain[0])
    values.append(domain[1])
    key = tuple(values)
    found = memo.get(key, _UNSEARCHABLE)
    if found is not _UNSEARCHABLE:
        return found  # type: ignore[no-any-return]
    answer = _shared(
        lender.analysis.answers,
        _search(lender, row, variable, domain, with_value, step, residue),
    )
    return remember(memo, key, answer)


def _shared(
    answers: dict[Accepted | None, Accepted | None], found: Accepted | None
) -> Accepted | None:
    """`found`, or the equal answer already kept (per lender, at most `MEMO_SIZE`): most
    kept answers are equal to another ("a term of 12 to 96 months" for many ages and
    purposes: 465 distinct among 2,831 kept in the single-path benchmark's 5,200
    applications), and one kept once, not per key, is fewer objects alive, so fewer
    garbage collections.

    Typed `Accepted | None`, never narrowed to `Accepted`, on purpose: compiled, a value of
    a fixed-length tuple type is held unboxed, and passing or returning one makes a new
    tuple each time, so the answer kept would be a copy, not the one shared."""
    known = answers.get(found, _UNSEARCHABLE)
    if known is _UNSEARCHABLE:
        return remember(answers, found, found)
    return known  # type: ignore[no-any-return]


Plan = tuple[int, int, int, tuple[str, ...] | None, dict[tuple[Any, ...], "Accepted | None"]]
"""What `accepted` needs of a lender for one variable and left-out requirements, worked out
once: the congruence's step and residue, the bits of the requirements that do not move with
the variable and are not left out, the features the memo's key is made of (None: answers
are not kept, their values having more than `FEW_COMBINATIONS` combinations), and the memo
(`Analysis.memo`'s for the variable and bits)."""

FEW_COMBINATIONS = 4 * MEMO_SIZE
"""Answers are kept only where the values they depend on have at most this many
combinations, by the features' bounds: an income or a debt is nearly unique per applicant,
so a kept answer that depends on one would rarely be given again, and would only fill
memory that the garbage collector then walks."""


def combinations(names: Iterable[str]) -> float:
    """How many combinations of values the features `names` can have in a row (nulls
    included), by their types and bounds; inf with a float feature or one not in the schema."""
    out: float = 1.0
    for name in names:
        feature = FEATURES_BY_NAME.get(name)
        if feature is None or feature.type is Type.FLOAT:
            return math.inf
        null = int(feature.nullable)
        if feature.type is Type.BOOL:
            out *= 2 + null
        elif feature.type is Type.STR:
            out *= (len(feature.values) or _COUNTRY_CODES) + null
        elif feature.low is None or feature.high is None:
            return math.inf
        else:
            out *= int(feature.high - feature.low) + 1 + null
    return out


_COUNTRY_CODES = 256  # at most: ISO 3166-1 alpha-2 codes, a string feature without a list

_UNSEARCHABLE: Any = object()  # a plan where no search is possible; a memo's miss


def _plan_of(lender: CompiledLender, variable: str, ignore: int) -> Plan | Any:
    """`_plan`, worked out once per lender, variable and left-out requirements."""
    plan = lender.analysis.plans.setdefault(variable, {})[ignore] = _plan(lender, variable, ignore)
    return plan


def _plan(lender: CompiledLender, variable: str, ignore: int) -> Plan | Any:
    shape = comparisons(lender, variable)
    if shape is None:
        return _UNSEARCHABLE
    step, residue = shape[1] or (1, 0)
    moving = moving_requirements(lender, variable)[0]
    names = _key(lender, variable)
    kept = combinations(names) <= FEW_COMBINATIONS
    memo = lender.analysis.memo.setdefault((variable, ignore), {})
    return step, residue, ~moving & ~ignore, names if kept else None, memo


def _key(lender: CompiledLender, variable: str) -> tuple[str, ...]:
    """The features whose values decide the search for `variable`: those the requirements
    that move with it read, debt_to_income standing for what it is computed from."""
    known = lender.analysis.keys.get(variable)
    if known is None:
        reads: set[str] = set()
        for r in lender.requirements:
            if depends(r.node, variable):
                reads |= r.reads
        if "debt_to_income" in reads:
            reads |= {"existing_debt", "total_income", "amount"}
        known = tuple(sorted(reads - {variable, "debt_to_income"}))
        lender.analysis.keys[variable] = known
    return known


def _search(
    lender: CompiledLender,
    row: Row,
    variable: str,
    domain: Interval,
    with_value: Callable[[Row, int], Row] | None,
    step: int,
    residue: int,
) -> Accepted | None:
    if with_value is None:  # rows as `trial` makes them: the search written out may answer
        solvers = lender.analysis.solvers.get(variable)  # by variable, then domain
        solver = _UNSEARCHABLE if solvers is None else solvers.get(domain, _UNSEARCHABLE)
        if solver is _UNSEARCHABLE:
            solver = _solver(lender, variable, domain)
        if solver is not None:
            return solver(row)  # type: ignore[no-any-return]
        with_value = trial(row, variable)
    return _searched(lender, row, variable, domain, with_value, step, residue)


def _searched(
    lender: CompiledLender,
    row: Row,
    variable: str,
    domain: Interval,
    with_value: Callable[[Row, int], Row],
    step: int,
    residue: int,
) -> Accepted | None:
    """`_search` worked out from the crossings found for this row (apart from `_search`,
    whose usual answer, a solver's, then makes none of this function's closures)."""
    _, evaluate, moving_bits = moving_requirements(lender, variable)
    fixed = _fixed(lender, variable, domain)
    if fixed is None:
        return None
    atoms = _resolved(fixed[1], variable, row)
    if atoms is None:
        return None
    low, high = domain
    points = set(fixed[0])
    truths = _truths(lender, variable)
    # per atom, where each comparison of it changes truth and which way (`Truths`), for
    # the atoms `truths` reads: theirs only where the rules are all such comparisons
    crossed: dict[int, list[tuple[int, bool]]] = dict(fixed[2]) if truths is not None else {}
    for index, kind, operand, crossings in atoms:
        entries: list[tuple[int, bool]] = []
        if kind is _IDENTITY:
            for c, hows, relation in crossings:
                entries += _identity_crossings(c, hows, relation, domain)
            points.update(point for point, _ in entries)
        else:
            g = None if kind is _DEBT_TO_INCOME else _Operand(operand, row, with_value)
            for c, hows, relation in crossings:
                start = low
                for how in hows:
                    # where g passes c is at or after where it reaches c
                    if g is None:
                        debt, income = row["existing_debt"], row["total_income"]
                        found = _first_debt_to_income(start, high, c, how, debt, income)
                    else:
                        found = _first(start, high, g, c, how)
                    if found is None:
                        return None
                    points.add(found)
                    entries.append((found, _rising(how, relation)))
                    start = min(found, high)
        if truths is not None:
            crossed[index] = entries
    told = _told_atoms(truths, row) if truths is not None else []
    if truths is not None and step == 1 and low <= high:
        return _told(told, crossed, domain, moving_bits)
    # every point is within [low, high + 1]: the crossings are clamped there
    if truths is None:

        def failing(first: int) -> int:
            f, u = evaluate(with_value(row, first))
            return f | u

    else:

        def failing(first: int) -> int:
            # every moving requirement is one comparison whose crossings are known (of the
            # branch the row chooses): it holds at `first` as they say (the congruence is met
            # there), none is unknown (but a branch or condition that does not move)
            f = 0
            for bit, index in told:
                if index < 0:
                    if index == _NOWHERE:
                        f |= bit
                    continue
                for point, rising in crossed[index]:
                    if (first >= point) is not rising:
                        f |= bit
                        break
            return f

    return _segments(sorted(points), step, residue, failing, moving_bits)


def _segments(
    bounds: list[int],
    step: int,
    residue: int,
    failing: Callable[[int], int],
    moving_bits: tuple[int, ...],
) -> Accepted:
    """The accepted values from the segments between consecutive `bounds`: every requirement
    but the congruence is constant on [start, end - 1], so the segment's first value that
    meets the congruence is tried (`failing`: the moving requirements' bits that fail
    there); accepted segments are joined where they meet."""
    intervals: list[Interval] = []
    always, seen = -1, 0
    for start, end in itertools.pairwise(bounds):
        if step == 1:
            first, last = start, end - 1
        else:
            first = start + (residue - start) % step
            last = end - 1 - (end - 1 - residue) % step
            if first > last:
                continue
        f = failing(first)
        if f:
            always &= f
            seen |= f
            continue
        if intervals and first - intervals[-1][1] == step:
            intervals[-1] = (intervals[-1][0], last)
        else:
            intervals.append((first, last))
    if intervals:
        return tuple(intervals), step, 0
    return (), step, _lender_bits(always if always > 0 else seen, moving_bits)


def _told(
    told: list[tuple[int, int]],
    crossed: dict[int, list[tuple[int, bool]]],
    domain: Interval,
    of: tuple[int, ...],
) -> Accepted:
    """`_search`'s answer without a congruence, told by the crossings alone: each requirement
    holds on one interval [a, b) of the domain (from its crossings on, before them), the
    lender accepts on their intersection, and when that is empty, the requirements in the
    way are those that hold nowhere in the domain (failing on every segment), or where none
    does, each that fails somewhere: as the segments, every one tried, would say. `told` is
    `_told_atoms`' answer for the row."""
    low, end = domain[0], domain[1] + 1
    held: list[tuple[int, int, int]] = []
    for bit, index in told:  # a loop: `(bit, *pair)` would make a list and three tuples
        if index >= 0:
            a, b = _holds(crossed[index], low, end)
            held.append((bit, a, b))
        elif index == _EVERYWHERE:
            held.append((bit, low, end))
        else:
            held.append((bit, end, low))
    return _intersection(held, low, end, of)


def _holds(crossings: list[tuple[int, bool]], low: int, end: int) -> tuple[int, int]:
    """Where a comparison holds within [low, end), as [a, b): from the crossings where it
    starts to hold on (`rising`), before those where it stops."""
    a, b = low, end
    for point, rising in crossings:
        if rising:
            a = max(a, point)
        else:
            b = min(b, point)
    return a, b


def _intersection(
    held: list[tuple[int, int, int]], low: int, end: int, of: tuple[int, ...]
) -> Accepted:
    """`_told`'s answer from where each requirement (its bit) holds, [a, b) within [low,
    end): their intersection, or when it is empty the requirements in the way."""
    start, stop = low, end  # where every requirement holds
    nowhere = somewhere = 0
    for bit, a, b in held:
        if a >= b:
            nowhere |= bit
        elif a > low or b < end:
            somewhere |= bit
        if a > start:
            start = a
        if b < stop:
            stop = b
    if start < stop:
        return ((start, stop - 1),), 1, 0
    return (), 1, _lender_bits(nowhere or somewhere, of)


def _solver(lender: CompiledLender, variable: str, domain: Interval) -> Solver | None:
    """`_search` for a lender, variable and domain, written out once, where its shape is the
    common told one (`_told`, no congruence): every moving requirement one inequality of
    the variable itself against literals, or of debt_to_income (the amount moving) against
    literals; None otherwise (the search then works it out each time). Kept per lender."""
    solver = _told_solver(lender, variable, domain)
    return remember(lender.analysis.solvers.setdefault(variable, {}), domain, solver)


def _told_solver(lender: CompiledLender, variable: str, domain: Interval) -> Solver | None:
    shape = comparisons(lender, variable)
    if shape is None or domain[0] > domain[1]:
        return None
    fixed = _fixed(lender, variable, domain)
    truths = _truths(lender, variable)
    if fixed is None or truths is None:
        return None
    points, rest, crossed = fixed
    if not all(
        (kind is _DEBT_TO_INCOME and all(f is None and c is not None for f, c, _ in against))
        or (kind is not _DEBT_TO_INCOME and free and d)
        for _, (kind, _, free, d, against) in rest
    ):
        return None
    step, residue = shape[1] or (1, 0)
    moving_bits = moving_requirements(lender, variable)[2]
    low, high = domain
    end = high + 1
    # per requirement whose atom no row moves: its bit and where it holds, [a, b)
    held: list[tuple[int, int, int]] = []
    solved: dict[int, int] = {}  # atom index: its requirement's bit, for those solved per row
    rest_indices = {index for index, _ in rest}
    # per `if` (`Choice`): its bit, and per branch where it holds, [a, b), or its function
    # of the row where it does not move; only where no row moves its branches' atoms
    choices: list[tuple[int, Choice[tuple[int, int] | Callable[[Row], Any]]]] = []
    for bit, told in truths:
        if not isinstance(told, int):
            if any(
                isinstance(branch, int) and branch in rest_indices for branch in _branches(told)
            ):
                return None
            conditions, otherwise = told
            choices.append(
                (
                    bit,
                    (
                        tuple((c, _held(branch, crossed, low, end)) for c, branch in conditions),
                        _held(otherwise, crossed, low, end),
                    ),
                )
            )
        elif told in rest_indices:
            solved[told] = bit
        else:
            a, b = _holds(crossed[told], low, end)
            held.append((bit, a, b))
    # per atom a row moves: its bit, how its crossings are found, and per value compared
    # with (a function of the row, or None and a literal) the crossings wanted: the
    # condition, whether it is where the operand reaches the value, and whether the
    # comparison holds from there on
    atoms = [
        (
            solved[index],
            kind,
            operand,
            # what the operand's compiled function reads, and the search's scratch row sets
            tuple(sorted(operand.features | _LOAN_ROW)) if kind is _SEARCHED else (),
            [
                (
                    function,
                    c,
                    [
                        (how, how in _REACHED, _rising(how, relation))
                        for how in _HOWS[(d or 1, relation)]
                    ],
                )
                for function, c, relation in against
            ],
            *_kept_crossings(kind, operand, variable, against),
        )
        for index, (kind, operand, _, d, against) in rest
    ]
    by_income = any(kind is _DEBT_TO_INCOME for _, kind, *_ in atoms)
    # debt_to_income against one literal with one crossing ("debt_to_income <= 5", the usual
    # atom): its bit, the literal, the crossing's condition and whether it holds from there
    # on, found directly rather than by `holds` (where each atom holds is independent of
    # the others, and `where` is read as a set)
    ratios = [
        (bit, comparisons[0][1], *comparisons[0][2][0][::2])
        for bit, kind, _, _, comparisons, _, _ in atoms
        if kind is _DEBT_TO_INCOME and len(comparisons) == 1 and len(comparisons[0][2]) == 1
    ]
    if ratios:
        simple = {bit for bit, *_ in ratios}
        atoms = [atom for atom in atoms if atom[1] is not _DEBT_TO_INCOME or atom[0] not in simple]
    ceil, floor = math.ceil, math.floor

    def holds(
        kind: str,
        g: _Operand | None,
        comparisons: list[tuple[Callable[[Row], Any] | None, Any, list[tuple[str, bool, bool]]]],
        row: Row,
        debt: Any,
        income: Any,
    ) -> tuple[int, int] | None:
        """Where an atom's comparisons all hold, [a, b), from their crossings; None where
        one cannot be found (`_resolved`, `_first`)."""
        a, b = low, end
        found: int | None
        for function, c, steps in comparisons:
            if function is not None:
                c = function(row)
                if c is None:  # `_resolved`: a value compared with is unknown
                    return None
            first = low
            for how, reach, rising in steps:
                if kind is _IDENTITY:  # `_identity_crossings`
                    found = ceil(c) if reach else floor(c) + 1
                    found = low if found < low else end if found > end else found
                elif g is not None:
                    found = _first(first, high, g, c, how)
                    if found is None:
                        return None
                    first = found if found < high else high
                else:
                    found = _first_debt_to_income(first, high, c, how, debt, income)
                    if found is None:
                        return None
                    first = found if found < high else high
                if rising:
                    if found > a:
                        a = found
                elif found < b:
                    b = found
        return a, b

    def solve(row: Row) -> Accepted | None:
        debt, income = row["existing_debt"], row["total_income"]
        if by_income and not income > 0:  # debt_to_income does not move: no direction
            return None
        where = held.copy()
        for bit, c, how, rising in ratios:  # `holds` of such an atom, written out
            found = _first_debt_to_income(low, high, c, how, debt, income)
            if found is None:
                return None
            where.append((bit, found, end) if rising else (bit, low, found))
        for bit, choice in choices:
            branch = _choose(choice, row)
            if isinstance(branch, tuple):
                a, b = branch  # unpacked: `(bit, *branch)` makes a list and three tuples
                where.append((bit, a, b))
            elif branch is not None and branch(row):  # `_told_atoms`' `_EVERYWHERE`
                where.append((bit, low, end))
            else:
                where.append((bit, end, low))
        for bit, kind, operand, reads, comparisons, kept, names in atoms:
            if kept is not None:
                # one feature's value is the key as it is: no tuple made and kept
                key = row[names[0]] if len(names) == 1 else tuple([row[name] for name in names])
                known = kept.get(key, _UNSEARCHABLE)
                if known is not _UNSEARCHABLE:
                    if known is None:
                        return None
                    a, b = known
                    where.append((bit, a, b))
                    continue
            g = None
            if reads:  # `_Operand` on a scratch row of just what it reads
                scratch = {name: row[name] for name in reads}
                g = _Operand(
                    operand,
                    scratch,
                    trial(scratch, variable)
                    if "debt_to_income" in operand.features
                    else _setting(scratch, variable),
                )
            held_here = holds(kind, g, comparisons, row, debt, income)
            if kept is not None:
                remember(kept, key, held_here)
            if held_here is None:
                return None
            a, b = held_here
            where.append((bit, a, b))
        if step == 1:
            return _intersection(where, low, end, moving_bits)
        return _held_segments(where, points, step, residue, moving_bits)

    return solve


def _held_segments(
    where: list[tuple[int, int, int]],
    points: frozenset[int],
    step: int,
    residue: int,
    moving_bits: tuple[int, ...],
) -> Accepted:
    """`_search`'s segments, each requirement (its bit) holding on its [a, b) of `where`,
    with a congruence (`step`, `residue`); `points` are the lender's own crossings (apart
    from the solver, which then makes no closure per row)."""
    bounds = set(points)
    for _, a, b in where:
        bounds.add(a)
        bounds.add(b)

    def failing(first: int) -> int:
        f = 0
        for bit, a, b in where:
            if not a <= first < b:
                f |= bit
        return f

    return _segments(sorted(bounds), step, residue, failing, moving_bits)


def _kept_crossings(
    kind: str,
    operand: Node,
    variable: str,
    against: tuple[tuple[Callable[[Row], Any] | None, Any, Relation], ...],
) -> tuple[dict[Any, tuple[int, int] | None] | None, tuple[str, ...]]:
    """For an atom `_solver` searches with `_first` against literals only: where it holds
    is a function of the values of the other features its operand reads (the age in
    "age + term / 12 <= 70"), so it is kept by them (a tuple of them, or the one value;
    at most MEMO_SIZE, the oldest dropped first), with their names; where those have few
    combinations (`FEW_COMBINATIONS`) and the operand does not read debt_to_income (which
    moves with the loan's other features). Else (None, ())."""
    names = tuple(sorted(operand.features - {variable}))
    if (
        kind is not _SEARCHED
        or "debt_to_income" in operand.features
        or any(function is not None for function, _, _ in against)
        or combinations(names) > FEW_COMBINATIONS
    ):
        return None, ()
    return {}, names


def _branches(choice: Choice[B]) -> list[B]:
    return [branch for _, branch in choice[0]] + [choice[1]]


def _held(
    branch: Branch, crossed: dict[int, list[tuple[int, bool]]], low: int, end: int
) -> tuple[int, int] | Callable[[Row], Any]:
    """Where a branch of an `if` holds within [low, end) when its atom's crossings are
    known for every row; the branch's function of the row where it does not move."""
    return _holds(crossed[branch], low, end) if isinstance(branch, int) else branch


_LOAN_ROW = frozenset({"amount", "term_months", "existing_debt", "total_income"})
"""What `features.set_loan` reads and sets of a row (debt_to_income aside: it sets it)."""

_REACHED = frozenset({">=", "<="})  # a crossing where the operand reaches the value


def _hows(d: int, relation: Relation) -> tuple[str, ...]:
    """The conditions whose first holding point are the crossings of an operand moving in
    direction d compared by `relation`: >= / > (reach / pass) increasing, <= / < decreasing."""
    return tuple(
        (">=" if crossing == _REACH else ">") if d > 0 else ("<=" if crossing == _REACH else "<")
        for crossing in _CROSSINGS[(d, relation)]
    )


_HOWS = {key: _hows(*key) for key in _CROSSINGS}

AtomPlan = tuple[
    str, Node, bool, Direction, tuple[tuple[Callable[[Row], Any] | None, Any, Relation], ...]
]
"""An atom of the search as worked out once per lender and variable: how its crossings are
found, its operand, whether its direction holds for every row and which, and what it is
compared with (a function of the row, or None and a literal) and how."""


def _atom_plans(lender: CompiledLender, variable: str) -> list[AtomPlan] | None:
    plans = lender.analysis.atoms
    if variable not in plans:
        shape = comparisons(lender, variable)
        if shape is None:
            plans[variable] = None
        else:
            out: list[AtomPlan] = []
            for operand, against in shape[0]:
                free, d = _movement(operand, variable)
                # a literal compared with is kept as its value: no function to call per row
                values = tuple(
                    (None, node.value, relation)
                    if isinstance(node, Const)
                    else (None if node is None else expression_function(node), literal, relation)
                    for node, literal, relation in against
                )
                out.append((_kind(operand, variable), operand, free, d, values))
            plans[variable] = out
    return plans[variable]


Fixed = tuple[frozenset[int], list[tuple[int, AtomPlan]], dict[int, list[tuple[int, bool]]]]
"""The points of a search that no row moves (the domain's ends, and where the variable itself
crosses a literal); the atoms left to resolve for each row, with their index; and the
crossings of the others by index (each point with `_rising`)."""


def _fixed(lender: CompiledLender, variable: str, domain: Interval) -> Fixed | None:
    """`Fixed` for a lender, variable and domain, worked out once (the crossings of the
    variable compared with a literal are ceil(c) and floor(c) + 1, as `_search` finds them);
    None when a rule depends on `variable` in a way the search cannot handle."""
    known = lender.analysis.fixed
    key = (variable, domain)
    if key not in known:
        plans = _atom_plans(lender, variable)
        make_room(known)
        if plans is None:
            known[key] = None
            return None
        low, high = domain
        points = {low, high + 1}
        rest: list[tuple[int, AtomPlan]] = []
        crossed: dict[int, list[tuple[int, bool]]] = {}
        for index, plan in enumerate(plans):
            kind, _, free, d, against = plan
            if not (
                kind is _IDENTITY
                and free
                and d
                and all(f is None and c is not None for f, c, _ in against)
            ):
                rest.append((index, plan))
                continue
            entries = crossed[index] = []
            for _, c, relation in against:
                entries += _identity_crossings(c, _HOWS[(d, relation)], relation, domain)
            points.update(point for point, _ in entries)
        known[key] = (frozenset(points), rest, crossed)
    return known[key]


def _identity_crossings(
    c: Any, hows: tuple[str, ...], relation: Relation, domain: Interval
) -> list[tuple[int, bool]]:
    """Where the variable itself meets each of `hows` against `c` (it reaches c at ceil(c),
    passes it after floor(c)), within [low, high + 1] of `domain`, each with `_rising`."""
    low, high = domain
    return [
        (
            min(max(math.ceil(c) if how in _REACHED else math.floor(c) + 1, low), high + 1),
            _rising(how, relation),
        )
        for how in hows
    ]


def _rising(how: str, relation: Relation) -> bool:
    """Whether a comparison by `relation` holds from its crossing on (else before it), the
    crossing being the first point where the operand meets `how` (`_hows`): increasing
    operands (>=, >) make >= and > hold from there, decreasing ones (<=, <) <= and <."""
    return (how in (">=", ">")) == (relation in (">=", ">"))


B = TypeVar("B")
Choice = tuple[tuple[tuple[Callable[[Row], Any], B], ...], B]
"""An `if` whose conditions do not move with the variable: each condition (a function of
the row) with its branch, and the else branch."""

Branch = int | Callable[[Row], Any]
"""A branch of such an `if`: the index of its atom where it is one inequality of the
variable's operand, else (it does not move with the variable) its function of the row."""

Truths = list[tuple[int, int | Choice[Branch]]]
"""When every requirement that moves with a variable (the congruence aside) is one
inequality of the variable's operand with values that do not move (`a <= x`, `a <= x <= b`),
or an `if` whose conditions do not move and whose branches are each such an inequality or do
not move ("10 <= term <= 120 when refinancing, else 10 <= term <= 60"): per requirement,
its bit in the moving requirements' function and its atom's index (or the `if`'s `Choice`).
Then its truth at any point is that of its comparisons (of the branch the row chooses), each
told by which side of its crossing the point is on (the operand being monotone, as the
search's segments already assume)."""

_EVERYWHERE, _NOWHERE = -1, -2
"""`_told_atoms`' index for a requirement that holds at every value (a branch that does not
move and holds), and for one that holds at none (a branch that does not move and fails or is
unknown, or a condition that is unknown: the `if` is then unknown, as it is lowered)."""


def _choose(choice: Choice[B], row: Row) -> B | None:
    """The branch of an `if` that the row's values choose; None where a condition is
    unknown (the lowered `if` is then unknown)."""
    conditions, otherwise = choice
    for condition, branch in conditions:
        holds = condition(row)
        if holds is None:
            return None
        if holds:
            return branch
    return otherwise


def _told_atoms(truths: Truths, row: Row) -> list[tuple[int, int]]:
    """Per requirement of `truths`, its bit and the atom whose truth is its own at `row`, or
    `_EVERYWHERE` or `_NOWHERE`."""
    out: list[tuple[int, int]] = []
    for bit, told in truths:
        if not isinstance(told, int):
            branch = _choose(told, row)
            if isinstance(branch, int):
                told = branch
            else:  # the lowered requirement fails where its value is false or unknown
                told = _EVERYWHERE if branch is not None and branch(row) else _NOWHERE
        out.append((bit, told))
    return out


def _truths(lender: CompiledLender, variable: str) -> Truths | None:
    """`Truths` of a lender and variable, worked out once; None where a requirement is not
    one such comparison (the search then evaluates the requirements on each segment)."""
    known = lender.analysis.truths
    if variable not in known:
        known[variable] = _truths_of(lender, variable)
    return known[variable]


def _truths_of(lender: CompiledLender, variable: str) -> Truths | None:
    if _atom_plans(lender, variable) is None:
        return None
    out: Truths = []
    index = 0  # atoms are numbered as `comparisons` collects them: requirement by requirement
    moving = [r for r in lender.requirements if depends(r.node, variable)]
    for position, r in enumerate(moving):
        node = r.node
        if _congruence(node, variable) is not None:
            continue  # met at every value the search tries
        told = _told_of(node, variable, index)
        if told is None:
            return None
        out.append((1 << position, told))
        found: list[Comparison] = []
        _collect(node, variable, found)
        index += len(found)
    return out


def _told_of(node: Node, variable: str, index: int) -> int | Choice[Branch] | None:
    """What `Truths` keeps of a requirement whose atoms are numbered from `index`: that
    index where it is one inequality of the variable's operand, the `if`'s `Choice` where it
    is such an `if`, else None."""
    if _inequality(node, variable):
        return index
    if not (isinstance(node, Call) and node.op.name == "if"):
        return None
    args = node.args
    conditions: list[Callable[[Row], Any]] = []
    branches: list[Branch] = []
    for i, arg in enumerate(args):
        condition = i % 2 == 0 and i < len(args) - 1
        if not depends(arg, variable):
            (conditions if condition else branches).append(expression_function(arg))
        elif condition or not _inequality(arg, variable):
            return None
        else:  # `_collect` numbers the atoms of the branches in order, one each here
            branches.append(index)
            index += 1
    return tuple(zip(conditions, branches[:-1], strict=True)), branches[-1]


def _inequality(node: Node, variable: str) -> bool:
    """Whether `node` is one inequality of the variable's operand: one atom, which is an
    operand of the comparison itself (`a <= x <= b`, not `(x <= a) == true`)."""
    if not (
        isinstance(node, Call)
        and node.op.name in _FLIP
        and all(a.type is not Type.BOOL for a in node.args)
    ):
        return False
    found: list[Comparison] = []
    return (
        _collect(node, variable, found)
        and len(found) == 1
        and any(found[0][0] is a for a in node.args)
    )


Resolved = list[tuple[int, str, Node, list[tuple[Any, tuple[str, ...], Relation]]]]


def _resolved(plans: list[tuple[int, AtomPlan]], variable: str, row: Row) -> Resolved | None:
    """The atoms of the search for `row` (those `_fixed` leaves): per atom, its index, how
    its crossings are found, its operand, and each value it is compared with (worked out for
    the row), the conditions whose first holding points are wanted and the relation; None
    when a rule depends on the variable in a way the search cannot handle (no direction, or
    a value compared with is unknown)."""
    out: Resolved = []
    for index, (kind, operand, free, d, against) in plans:
        if kind is _DEBT_TO_INCOME:  # `direction` of debt_to_income as the amount grows
            d = 1 if row["total_income"] > 0 else 0
        elif not free:
            d = direction(operand, variable, row)
        if not d:
            return None
        crossings: list[tuple[Any, tuple[str, ...], Relation]] = []
        for function, literal, relation in against:
            value = literal if function is None else function(row)
            if value is None:
                return None
            crossings.append((value, _HOWS[(d, relation)], relation))
        out.append((index, kind, operand, crossings))
    return out


# How an operand's crossings are found: the variable itself (its crossings are ceil(c) and
# floor(c) + 1), debt_to_income as the amount moves (solved for the amount, then checked on
# the exact function), anything else by `_first`'s search.
_IDENTITY, _DEBT_TO_INCOME, _SEARCHED = "identity", "debt_to_income", "searched"


def _kind(operand: Node, variable: str) -> str:
    if isinstance(operand, Var):
        if operand.name == variable:
            return _IDENTITY
        if operand.name == "debt_to_income" and variable == "amount":
            return _DEBT_TO_INCOME
    return _SEARCHED


def _debt_to_income_of(debt: Any, income: Any) -> Callable[[int], float]:
    """debt_to_income as a function of the amount, as `features.set_loan` computes it."""
    return lambda x: debt_to_income(debt, x, income)


WALK = 8
"""Steps a closed form's guess may be moved by, checking the exact function, before the
search takes over (float rounding moves the guess by one or two at most)."""
_WALK_STEPS = range(WALK)


def _first_debt_to_income(
    low: int, high: int, c: Any, how: str, debt: Any, income: Any
) -> int | None:
    """`_first` for g = debt_to_income as the amount moves, with total income > 0 (else g
    does not move and there is no search): (existing_debt + x) / total_income reaches c at
    x = c * total_income - existing_debt. That is the guess; `from_guess` makes it exact
    (written out here, g being known: the search's function is made only when the walk
    does not settle)."""
    target = c * income - debt
    if not math.isfinite(target) or how not in (">=", ">"):
        return _first(low, high, _debt_to_income_of(debt, income), c, how)
    strict = how == ">"
    guess = math.floor(target) + 1 if strict else math.ceil(target)
    if not income:
        return from_guess(guess, low, high, _debt_to_income_of(debt, income), c, how)
    # `from_guess` with g written out: (debt + x) / income, as `features.debt_to_income`,
    # compared by `how` (> where strict, else >=)
    x: int = low if guess < low else guess
    if x > high + 1:
        x = high + 1
    for _ in _WALK_STEPS:
        if x > low and (
            (debt + (x - 1)) / income > c if strict else (debt + (x - 1)) / income >= c
        ):
            x -= 1
        elif x <= high and not ((debt + x) / income > c if strict else (debt + x) / income >= c):
            x += 1
        else:
            return x
    return _first(low, high, _debt_to_income_of(debt, income), c, how)


def from_guess(
    guess: int, low: int, high: int, g: Callable[[int], Any], c: Any, how: str
) -> int | None:
    """`_first(low, high, g, c, how)` from a guess of its answer: the guess is moved while
    the exact function says it is not the first x where g(x) `how` c holds (g monotone: it
    is when it holds there and not at x - 1); after WALK moves, the search decides."""
    x = min(max(guess, low), high + 1)
    for _ in range(WALK):
        if x > low:
            before = g(x - 1)
            if before is None:
                return None
            if _reached(before, c, how):
                x -= 1
                continue
        if x <= high:
            here = g(x)
            if here is None:
                return None
            if not _reached(here, c, how):
                x += 1
                continue
        return x
    return _first(low, high, g, c, how)


ASK_AMOUNT = 1
ASK_TERM = 2
"""What a hint asks the search for (bits): the amounts, the terms."""


def loan_asks(lender: CompiledLender, failing: int) -> int | None:
    """What a hint for the requirements of `failing` (bits) asks the search for: the
    amounts (`ASK_AMOUNT`) where one of them reads the amount or debt_to_income, the terms
    (`ASK_TERM`) where one reads the term; None where one reads none of the three (no hint
    can help). From each requirement's own (`_asks`): nothing made per call."""
    asks = lender.analysis.asks or _asks(lender)
    out = 0
    while failing:
        low = failing & -failing
        ask = asks[low.bit_length() - 1]
        if not ask:
            return None
        out |= ask
        failing ^= low
    return out


def _asks(lender: CompiledLender) -> tuple[int, ...]:
    """Per requirement, in order, what a hint for it alone asks for (`loan_asks`); worked
    out once per lender."""
    asks = []
    for r in lender.requirements:
        reads = r.reads
        amount = "amount" in reads or "debt_to_income" in reads
        asks.append((ASK_AMOUNT if amount else 0) | (ASK_TERM if "term_months" in reads else 0))
    lender.analysis.asks = tuple(asks)
    return lender.analysis.asks


def _setting(scratch: Row, variable: str) -> Callable[[Row, int], Row]:
    """`trial` for what does not read debt_to_income (the one feature `features.set_loan`
    computes): only the variable changes, on `scratch` itself."""

    def with_value(_row: Row, value: int) -> Row:
        scratch[variable] = value
        return scratch

    return with_value


def trial(row: Row, variable: str) -> Callable[[Row, int], Row]:
    """Rows with another amount (or term), all else as in `row`: one scratch row, changed in
    place for each value tried (the search keeps no row between two tries)."""
    scratch = dict(row)
    amount, term = row["amount"], row["term_months"]
    if variable == "amount":
        return lambda _row, value: set_loan(scratch, amount=value, term_months=term)
    return lambda _row, value: set_loan(scratch, amount=amount, term_months=value)
