"""The engine: every requirement of every lender in one pass, as bitmasks.

Per (application, lender) it yields a `failed` and an `unknown` bitmask (bit i is requirement
i of that lender). Eligible means both are zero. A lender applies only to applications of its
markets: for others there is no outcome (in frames: null bitmasks).

Two paths, identical outcomes: `decide`/`evaluate` for one application (compiled Python, no
Polars), `match` for frames (Polars expressions, all rows at once). Both evaluate only rows the
feature contract allows (`matcher.feature_checks`): `evaluate` refuses a row with
`FeatureRowError`, `match` a frame with `FeatureFrameError` naming each bad column and its
count of bad rows (checked in the same pass; `valid_rows` sets bad rows aside instead).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import polars as pl

from lender_rules.vocabulary import MARKETS
from matcher import lower_kernel
from matcher.application import Application
from matcher.errors import FeatureFrameError
from matcher.feature_checks import (
    BAD_BITS,
    FrameCheck,
    check_decision_date_features,
    check_row,
    frame_check,
    report,
)
from matcher.features import feature_frame, features_of
from matcher.lower_polars import (
    bits_dtype,
    compared_features,
    feature_codes,
    in_codes,
    lower,
    lower_bits,
    may_be_null,
    shared_subexpressions,
)
from matcher.lower_python import Row, lower_lenders
from matcher.ruleset import Ruleset


class LenderOutcome(NamedTuple):
    """One lender's automated outcome for one application (a named tuple: immutable, and
    built in a fraction of a frozen dataclass's time, fifty times per decision)."""

    lender_id: str
    failed: int
    unknown: int

    @property
    def eligible(self) -> bool:
        return self.failed == 0 and self.unknown == 0


@dataclass(frozen=True)
class Decision:
    """The automated decision on one application: its feature row and every lender's outcome."""

    ruleset_hash: str
    decided_at: dt.datetime
    features: dict[str, Any]
    outcomes: tuple[LenderOutcome, ...]

    @property
    def eligible_lenders(self) -> list[str]:
        return [o.lender_id for o in self.outcomes if o.eligible]


def evaluate(features: Mapping[str, Any], ruleset: Ruleset) -> tuple[LenderOutcome, ...]:
    """Every applicable lender's outcome for one feature row; `FeatureRowError` when the row
    is not one the feature contract allows."""
    row = features if isinstance(features, dict) else dict(features)
    check_row(row)
    return _outcomes(row, ruleset)


def _outcomes(row: dict[str, Any], ruleset: Ruleset) -> tuple[LenderOutcome, ...]:
    by_market = _SINGLE_PLANS.get(ruleset)
    if by_market is None:
        by_market = _SINGLE_PLANS[ruleset] = {}
    market = row["market"]
    evaluate = by_market.get(market)
    if evaluate is None:
        evaluate = by_market[market] = _lower_market(ruleset, market)
    return evaluate(row)


def _lower_market(ruleset: Ruleset, market: str) -> Callable[[Row], tuple[LenderOutcome, ...]]:
    """Every lender of a market in one compiled function: each lender's outcome as its own
    `evaluate` gives it (`tests/matcher/test_engine.py` compares them on generated rows)."""
    lenders = ruleset.for_market(market)
    return lower_lenders(
        [(lender.lender_id, [r.node for r in lender.requirements]) for lender in lenders],
        LenderOutcome,
    )


# Each ruleset's single-path functions by market, compiled at its first decision in the
# market and kept as long as the ruleset (rulesets compare by identity).
_SINGLE_PLANS: weakref.WeakKeyDictionary[
    Ruleset, dict[str, Callable[[Row], tuple[LenderOutcome, ...]]]
] = weakref.WeakKeyDictionary()


def decide(
    application: Application, ruleset: Ruleset, *, decided_at: dt.datetime | None = None
) -> Decision:
    """Decide one application: features at the decision date, then every lender's outcome."""
    when = decided_at or dt.datetime.now(dt.UTC)
    features = features_of(application, when.date())
    check_decision_date_features(features)  # the application model bounds the others
    return Decision(ruleset.hash, when, features, _outcomes(features, ruleset))


def failed_column(lender_id: str) -> str:
    return f"{lender_id}.failed"


def unknown_column(lender_id: str) -> str:
    return f"{lender_id}.unknown"


def match(
    frame: pl.DataFrame | pl.LazyFrame, ruleset: Ruleset, *, on: dt.date | None = None
) -> pl.DataFrame:
    """Evaluate every row against every lender.

    `frame` is either a feature frame (the columns of `matcher.schema`) or applications in the
    nested shape (then features are computed at date `on`, default today). The result has
    `application_id` when the input has it, then `<lender>.failed` and `<lender>.unknown`
    (the narrowest unsigned type with a bit per requirement of the lender; null where the
    lender does not serve the row's market). `to_long` gives them as UInt64.

    A frame with rows the feature contract does not allow is refused (`FeatureFrameError`,
    each bad column with its count of bad rows); `valid_rows` finds them to set aside.
    """
    return match_side_by_side(frame, {"": ruleset}, on=on)


def match_side_by_side(
    frame: pl.DataFrame | pl.LazyFrame,
    rulesets: Mapping[str, Ruleset],
    *,
    on: dt.date | None = None,
) -> pl.DataFrame:
    """`match` under several rulesets in one pass: for each (prefix, ruleset) of `rulesets`
    the columns `<prefix><lender>.failed` and `<prefix><lender>.unknown`. A rule the rulesets
    share (a lender a rule change left alone) is computed once for all of them, and the
    rows are checked once (re-scoring compares a baseline and new rules this way)."""
    lazy = frame.lazy()
    names = lazy.collect_schema().names()
    if "applicant" in names:
        lazy = feature_frame(lazy, on or dt.date.today())
        names = lazy.collect_schema().names()
    keep = [pl.col("application_id")] if "application_id" in names else []
    check = frame_check(lazy.collect_schema())
    if check.wrong_types:
        raise check.refused(lazy.select(pl.len()).collect().item())
    if check.casts:
        lazy = lazy.with_columns(*check.casts)
    if rulesets and lower_kernel.available():
        return _match_by_kernel(lazy, rulesets, keep)
    narrow: dict[str, pl.Expr] = {}
    shared: dict[str, pl.Expr] = {}
    computed: dict[str, pl.Expr] = {}
    outputs: list[pl.Expr] = []
    for prefix, ruleset in rulesets.items():
        plan = _frame_plan(ruleset)
        narrow |= plan.narrow
        shared |= plan.shared
        computed |= plan.computed
        outputs += [expr.alias(f"{prefix}{name}") for name, expr in plan.outputs]
    # Four stages: the codes of the closed-vocabulary strings and the narrow copies of the
    # integer features many comparisons read, then the sub-expressions several rules
    # share, then each distinct rule and market gate once (with_columns: a
    # literal rule is broadcast to every row) with the rows' check, then every lender's bits
    # from those columns.
    out = (
        lazy.with_columns(*_code_columns(), *narrow.values())
        .with_columns(*shared.values())
        .with_columns(*computed.values(), _bad_bits())
        .select(*keep, *outputs, BAD_BITS)
        .collect()
    )
    bad = out.drop_in_place(BAD_BITS)  # in place: `drop` would plan a query (about 1 ms)
    if bad.max():
        raise FeatureFrameError(report(bad), out.height, int((bad != 0).sum()))
    return out


def _match_by_kernel(
    lazy: pl.LazyFrame, rulesets: Mapping[str, Ruleset], keep: list[pl.Expr]
) -> pl.DataFrame:
    """`match_side_by_side` by the fused kernel (`matcher.lower_kernel`): Polars reads the
    frame and computes the rules the kernel lacks in one pass; the kernel the bitmasks and
    whether a value breaks the contract (a null where none may be, by the columns' null
    counts, before). A frame that does is refused with the rows' check, which
    then runs to tell each bad column and its count (`_bad_bits`)."""
    program = _kernel_program(rulesets)
    read = list(dict.fromkeys([name for name, _ in program.columns] + list(program.not_null)))
    # the code and narrow columns the rules Polars computes read, then those rules
    source = lazy.with_columns(*program.helpers) if program.helpers else lazy
    out = source.with_columns(*program.computed.values()).select(*keep, *read).collect()
    if not any(out.get_column(name).null_count() for name in program.not_null):
        bitmasks, bad = program.run(out)
        if not bad:
            if not keep:
                return bitmasks
            return pl.DataFrame([out.get_column("application_id"), *bitmasks.iter_columns()])
    bits = lazy.with_columns(*_code_columns()).select(_bad_bits()).collect().get_column(BAD_BITS)
    if not bits.max():  # pragma: no cover - the two checks are one contract
        raise AssertionError("the frame kernel's check refused a frame the rows' check allows")
    raise FeatureFrameError(report(bits), out.height, int((bits != 0).sum()))


# Kernel programs, per ruleset, then per (prefix, ruleset) pairs they are matched with
# (weak references: a program lives as long as its rulesets).
_KERNEL_PROGRAMS: weakref.WeakKeyDictionary[Ruleset, dict[Any, lower_kernel.KernelProgram]] = (
    weakref.WeakKeyDictionary()
)
# Combinations kept per ruleset: re-scoring matches one baseline with one new ruleset.
KERNEL_PROGRAMS_KEPT = 8


def _kernel_program(rulesets: Mapping[str, Ruleset]) -> lower_kernel.KernelProgram:
    """The kernel program of these rulesets side by side, built once."""
    pairs = list(rulesets.items())
    first = pairs[0][1]
    key = tuple((prefix, weakref.ref(ruleset)) for prefix, ruleset in pairs)
    kept = _KERNEL_PROGRAMS.setdefault(first, {})
    program = kept.get(key)
    if program is None:
        lenders = [
            lower_kernel.Lender(
                f"{prefix}{failed_column(lender.lender_id)}",
                f"{prefix}{unknown_column(lender.lender_id)}",
                [r.node for r in lender.requirements],
                None if set(lender.markets) == set(MARKETS) else sorted(lender.markets),
            )
            for prefix, ruleset in pairs
            for lender in ruleset.lenders
        ]
        program = lower_kernel.lower_program(lenders, CODES)
        if len(kept) >= KERNEL_PROGRAMS_KEPT:
            kept.clear()
        kept[key] = program
    return program


# The closed-vocabulary string features, read once per frame as small integer codes.
CODES = feature_codes()


@functools.cache
def _code_columns() -> list[pl.Expr]:
    """The code columns (`Codes.code_expressions`), built once."""
    return CODES.code_expressions()


@functools.cache
def _bad_bits() -> pl.Expr:
    """The rows' check (`FrameCheck.bad_bits_with`), built once: it depends only on the
    features of the schema, not on the frame's types."""
    return FrameCheck((), ()).bad_bits_with(CODES.outside())


# An integer feature read by this many comparisons of a ruleset is read in a narrow copy
# (the copy costs about as much as four comparisons save).
NARROW_FROM_READS = 5


@dataclass(frozen=True)
class FramePlan:
    """A ruleset lowered for frames: the columns to compute, first the narrow copies of the
    integer features many comparisons read, and the sub-expressions that several rules
    share, then each distinct rule and market gate once, named from its
    canonical key (so plans of several rulesets share the rules they have in common), then
    each output column from those."""

    narrow: dict[str, pl.Expr]
    shared: dict[str, pl.Expr]
    computed: dict[str, pl.Expr]
    outputs: tuple[tuple[str, pl.Expr], ...]


# Each ruleset's frame plan, for as long as the ruleset is alive (rulesets compare by identity).
_FRAME_PLANS: weakref.WeakKeyDictionary[Ruleset, FramePlan] = weakref.WeakKeyDictionary()


def _frame_plan(ruleset: Ruleset) -> FramePlan:
    """The ruleset's frame plan, built at its first match and kept as long as the ruleset."""
    plan = _FRAME_PLANS.get(ruleset)
    if plan is None:
        plan = _FRAME_PLANS[ruleset] = _build_frame_plan(ruleset)
    return plan


def _build_frame_plan(ruleset: Ruleset) -> FramePlan:
    """Columns to compute (each distinct rule and market gate once), then the bitmasks."""
    computed: dict[str, pl.Expr] = {}
    rules = [r.node for lender in ruleset.lenders for r in lender.requirements]
    shared = shared_subexpressions(rules)
    reads = compared_features(rules)
    codes = CODES.narrowing([name for name, n in reads.items() if n >= NARROW_FROM_READS])

    def column(key: str, expr: pl.Expr) -> pl.Expr:
        name = "__lendmatch_" + hashlib.sha256(key.encode()).hexdigest()[:20]
        computed.setdefault(name, expr.alias(name))
        return pl.col(name)

    outputs: list[tuple[str, pl.Expr]] = []
    for lender in ruleset.lenders:
        gate: pl.Expr | None = None
        serves: pl.Expr | None = None
        if set(lender.markets) != set(MARKETS):
            markets = sorted(lender.markets)
            gate = in_codes(*CODES.columns["market"], markets)
            serves = column("markets:" + ",".join(markets), gate)
        failed, unknown = lower_bits(
            [r.node for r in lender.requirements],
            [column(r.rule_key, lower(r.node, codes, shared)) for r in lender.requirements],
            CODES,
            serves,
        )
        if gate is not None and not any(may_be_null(r.node, CODES) for r in lender.requirements):
            # nothing unknown: one column for every lender of these markets and width
            dtype = bits_dtype(len(lender.requirements))
            key = f"no unknown:{dtype}:markets:{','.join(markets)}"
            unknown = column(key, pl.when(gate).then(pl.lit(0, dtype=dtype)))
        outputs.append((failed_column(lender.lender_id), failed))
        outputs.append((unknown_column(lender.lender_id), unknown))
    return FramePlan(
        codes.narrow_expressions(),
        {name: e.alias(name) for name, e in shared.expressions(codes).items()},
        computed,
        tuple(outputs),
    )


def to_long(wide: pl.DataFrame, ruleset: Ruleset) -> pl.DataFrame:
    """One row per (application, applicable lender): lender_id, eligible, failed, unknown."""
    ids = ["application_id"] if "application_id" in wide.columns else []
    if not ids:
        wide = wide.with_row_index("row")
        ids = ["row"]
    parts = [
        wide.select(
            *ids,
            pl.lit(lender.lender_id).alias("lender_id"),
            pl.col(failed_column(lender.lender_id)).cast(pl.UInt64).alias("failed"),
            pl.col(unknown_column(lender.lender_id)).cast(pl.UInt64).alias("unknown"),
        ).filter(pl.col("failed").is_not_null())
        for lender in ruleset.lenders
    ]
    long = pl.concat(parts)
    eligible = (pl.col("failed") == 0) & (pl.col("unknown") == 0)
    return long.with_columns(eligible.alias("eligible")).select(
        *ids, "lender_id", "eligible", "failed", "unknown"
    )
