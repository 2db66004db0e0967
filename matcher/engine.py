"""The engine: every requirement of every lender in one pass, as bitmasks.

Per (application, lender) it yields a `failed` and an `unknown` bitmask (bit i is requirement
i of that lender). Eligible means both are zero. A lender applies only to applications of its
markets: for others there is no outcome (in frames: null bitmasks).

Two paths, identical outcomes: `decide`/`evaluate` for one application (compiled Python, no
Polars), `match` for frames (Polars expressions, all rows at once).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from matcher.ruleset import Ruleset

if TYPE_CHECKING:
    from matcher.application import Application


@dataclass(frozen=True, slots=True)
class LenderOutcome:
    """One lender's automated outcome for one application."""

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
    """Every applicable lender's outcome for one feature row."""
    row = features if isinstance(features, dict) else dict(features)
    return tuple(
        LenderOutcome(lender.lender_id, *lender.evaluate(row))
        for lender in ruleset.for_market(row["market"])
    )


def decide(
    application: Application, ruleset: Ruleset, *, decided_at: dt.datetime | None = None
) -> Decision:
    """Decide one application: features at the decision date, then every lender's outcome."""
    from matcher.features import features_of

    when = decided_at or dt.datetime.now(dt.UTC)
    features = features_of(application, when.date())
    return Decision(ruleset.hash, when, features, evaluate(features, ruleset))


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
    (UInt64; null where the lender does not serve the row's market).
    """
    lazy = frame.lazy()
    names = lazy.collect_schema().names()
    if "applicant" in names:
        from matcher.features import feature_frame

        lazy = feature_frame(lazy, on or dt.date.today())
        names = lazy.collect_schema().names()
    keep = [pl.col("application_id")] if "application_id" in names else []
    outputs: list[pl.Expr] = []
    markets = pl.col("market")
    for lender in ruleset.lenders:
        failed, unknown = lender.bit_expressions
        if set(lender.markets) != {"NO", "SE"}:
            serves = markets.is_in(pl.Series(list(lender.markets), dtype=pl.String).implode())
            failed = pl.when(serves).then(failed)
            unknown = pl.when(serves).then(unknown)
        outputs.append(failed.alias(failed_column(lender.lender_id)))
        outputs.append(unknown.alias(unknown_column(lender.lender_id)))
    # with_columns, not select: a lender whose rules are all literals still gets every row
    columns = [*([k.meta.output_name() for k in keep]), *(o.meta.output_name() for o in outputs)]
    return lazy.with_columns(*outputs).select(columns).collect()


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
            pl.col(failed_column(lender.lender_id)).alias("failed"),
            pl.col(unknown_column(lender.lender_id)).alias("unknown"),
        ).filter(pl.col("failed").is_not_null())
        for lender in ruleset.lenders
    ]
    long = pl.concat(parts)
    eligible = (pl.col("failed") == 0) & (pl.col("unknown") == 0)
    return long.with_columns(eligible.alias("eligible")).select(
        *ids, "lender_id", "eligible", "failed", "unknown"
    )
