"""Feature rows and frames checked against the feature contract before they are evaluated.

The compiler proves the two lowerings agree on every row within the contract
(`matcher.ranges`); these checks make sure that only such rows are evaluated. A row is valid
when every feature is present with its type, is null only where the feature is nullable, is
within its bounds (`matcher.schema`), is not NaN, and holds one of its values where the
feature is a closed list. One row (`check_row`) and one frame (`frame_check`) side by side:
change them together.

A frame is checked in the same pass as it is matched: `bad_bits` is one column, bit i set
when the row's feature i is not valid; `report` turns that column into counts per column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from matcher.errors import BadColumn, FeatureFrameError, FeatureRowError
from matcher.schema import FEATURES, Feature, Type

BAD_BITS = "__lendmatch_bad"

# --- one row ------------------------------------------------------------------------------

_Check = Callable[[Any], str | None]  # the reason a (non-null) value is not valid, or None


def _value_check(feature: Feature) -> _Check:
    low, high, values = feature.low, feature.high, frozenset(feature.values)
    if feature.type is Type.BOOL:
        return lambda v: None if type(v) is bool else "not a bool"
    if feature.type is Type.STR:
        if values:
            return lambda v: None if v in values and type(v) is str else "not one of its values"
        return lambda v: None if type(v) is str else "not a string"

    def number(v: Any) -> str | None:
        kind = type(v)
        if kind is not int and (feature.type is Type.INT or kind is not float):
            return f"not {'an int' if feature.type is Type.INT else 'a number'}"
        if v != v:
            return "NaN"
        if low is not None and high is not None and not low <= v <= high:
            return f"outside {low}..{high}"
        return None

    return number


_ROW_CHECKS: tuple[tuple[str, bool, _Check], ...] = tuple(
    (f.name, f.nullable, _value_check(f)) for f in FEATURES
)
_DATED_CHECKS = tuple(c for c in _ROW_CHECKS if c[0] in ("age", "co_age"))


def check_row(row: Mapping[str, Any]) -> None:
    """`FeatureRowError` naming the first feature of `row` the contract does not allow."""
    _check(row, _ROW_CHECKS)


def check_decision_date_features(row: Mapping[str, Any]) -> None:
    """`check_row` for a row computed from a validated `Application` (`features_of`): the
    model bounds every feature but those that depend on the decision date (the ages: a
    decision dated before a birth gives a negative one), so only those are checked."""
    _check(row, _DATED_CHECKS)


def _check(row: Mapping[str, Any], checks: tuple[tuple[str, bool, _Check], ...]) -> None:
    for name, nullable, check in checks:
        value: Any = row.get(name, _MISSING)
        if value is None:
            if not nullable:
                raise FeatureRowError(name, value, "null, and the feature is never null")
            continue
        if value is _MISSING:
            raise FeatureRowError(name, None, "missing")
        reason = check(value)
        if reason is not None:
            raise FeatureRowError(name, value, reason)


_MISSING = object()


# --- a frame ------------------------------------------------------------------------------


def _violations(feature: Feature) -> list[tuple[pl.Expr, pl.Expr]]:
    """The ways a (non-null) value of the feature's column is not valid, each as (where it
    is, the reason naming the column and the value): the one definition of a valid value,
    shared by the bad-bits column and the rows' reasons."""
    col = pl.col(feature.name)

    def reason(text: str) -> pl.Expr:
        # concat_str, not pl.format: in Polars 2.1.0 pl.format panics over a text column that
        # a filter took no row from a whole chunk of (a collect can split a column in chunks;
        # the bad rows' reasons are worded after such a filter). Null where the value is.
        return pl.concat_str(pl.lit(f"{feature.name}: "), col.cast(pl.String), pl.lit(f" {text}"))

    found: list[tuple[pl.Expr, pl.Expr]] = []
    if feature.type is Type.FLOAT:
        found.append((col.is_nan(), pl.lit(f"{feature.name}: NaN is not a number")))
    if feature.type.is_numeric and feature.low is not None and feature.high is not None:
        outside = (col < feature.low) | (col > feature.high)
        found.append((outside, reason(f"is outside {feature.low}..{feature.high}")))
    elif feature.values:
        allowed = pl.Series(feature.values, dtype=pl.String).implode()
        found.append(
            (col.is_in(allowed).not_(), reason(f"is not one of {', '.join(feature.values)}"))
        )
    return found


def invalid(feature: Feature, outside: pl.Expr | None = None) -> pl.Expr:
    """True where the column's value is not valid (null-safe: false where it is null).
    `outside`, for a closed list of values, is where the value is not one of them, already
    computed (the frame path's codes, `matcher.lower_polars`); else the check computes it."""
    terms = _violated(feature, outside)
    if not feature.nullable:
        terms.append(pl.col(feature.name).is_null())
    if not terms:
        return pl.lit(False)
    bad = terms[0]
    for term in terms[1:]:
        bad = bad | term
    return bad.fill_null(False)


def _violated(feature: Feature, outside: pl.Expr | None) -> list[pl.Expr]:
    """Where a (non-null) value of the column is not valid, as `_violations` has it, in as
    few comparisons as give the same answer (null where the value is null): none with an
    infinite bound, and one for an int column (Int64: the contract's type) whose bounds
    start at 0, read as unsigned so that a negative value is above the high bound."""
    if outside is not None and feature.values:
        return [outside]
    if feature.values and len(feature.values) <= _FEW_VALUES:
        col = pl.col(feature.name)  # a few comparisons cost less than a hash lookup
        return [~pl.any_horizontal(col == value for value in feature.values)]
    low, high = feature.low, feature.high
    if not feature.type.is_numeric or low is None or high is None:
        return [where for where, _ in _violations(feature)]
    col = pl.col(feature.name)
    found = [col.is_nan()] if feature.type is Type.FLOAT else []
    if feature.type is Type.INT and low == 0 and 0 <= high < 2**63:
        return [*found, col.reinterpret(signed=False) > high]
    if low != -math.inf:
        found.append(col < low)
    if high != math.inf:
        found.append(col > high)
    return found


_FEW_VALUES = 8
"""Closed lists up to this long are checked by comparing with each value."""


def _row_reason(feature: Feature) -> pl.Expr:
    """Where the column's value is not valid, why (naming the column); else null."""
    col = pl.col(feature.name)
    reason: pl.Expr = pl.lit(None, pl.String)
    for where, text in reversed(_violations(feature)):  # the first that applies wins
        reason = pl.when(where).then(text).otherwise(reason)
    missing = pl.lit(None, pl.String) if feature.nullable else pl.lit(f"{feature.name}: missing")
    return pl.when(col.is_null()).then(missing).otherwise(reason)


@dataclass(frozen=True)
class FrameCheck:
    """How a frame's columns are brought to the contract's types, and what cannot be."""

    casts: tuple[pl.Expr, ...]  # columns of a lossless other type, cast to the contract's
    wrong_types: tuple[BadColumn, ...]  # columns missing or of a type that does not fit

    @property
    def bad_bits(self) -> pl.Expr:
        """One UInt32 column: bit i set where feature i of the row is not valid."""
        return self.bad_bits_with({})

    def bad_bits_with(self, outside: Mapping[str, pl.Expr]) -> pl.Expr:
        """`bad_bits`, taking for the features in `outside` where a value is outside the
        feature's closed list from that expression (see `_bad`)."""
        terms = [
            pl.when(invalid(f, outside.get(f.name)))
            .then(pl.lit(1 << i, pl.UInt32))
            .otherwise(pl.lit(0, pl.UInt32))
            for i, f in enumerate(FEATURES)
        ]
        return pl.sum_horizontal(terms).cast(pl.UInt32).alias(BAD_BITS)

    @property
    def any_bad(self) -> pl.Expr:
        """True where any feature of the row is not valid: `bad_bits != 0`, as one boolean
        (no bits to set and add up where only whether a row is bad matters)."""
        return pl.any_horizontal(invalid(f) for f in FEATURES)

    def refused(self, rows: int) -> FeatureFrameError:
        """The error for a frame whose columns do not fit: every row is bad."""
        wrong = tuple(BadColumn(c.column, rows, c.reason) for c in self.wrong_types)
        return FeatureFrameError(wrong, rows, rows)


def frame_check(schema: pl.Schema) -> FrameCheck:
    """The check of a frame with `schema`: the casts its columns need and the columns whose
    type cannot hold the feature (missing, or e.g. a string for a number)."""
    casts: list[pl.Expr] = []
    wrong: list[BadColumn] = []
    for feature in FEATURES:
        expected = feature.type.polars
        dtype = schema.get(feature.name)
        if dtype is None:
            wrong.append(BadColumn(feature.name, 0, "missing"))
        elif dtype != expected:
            if _widens(dtype, feature):
                casts.append(pl.col(feature.name).cast(expected))
            else:
                wrong.append(BadColumn(feature.name, 0, f"of type {dtype}, not {expected}"))
    return FrameCheck(tuple(casts), tuple(wrong))


def _widens(dtype: pl.DataType, feature: Feature) -> bool:
    if dtype == pl.Null:
        return True  # all null: the null check decides
    if feature.type is Type.INT:
        return dtype.is_integer() and dtype not in (pl.UInt64, pl.Int128)
    if feature.type is Type.FLOAT:
        return dtype in (pl.Float32,) or (dtype.is_integer() and dtype not in (pl.UInt64, pl.Int64))
    return feature.type is Type.STR and dtype in (pl.Categorical, pl.Enum)


def report(bad_bits: pl.Series) -> tuple[BadColumn, ...]:
    """The bad columns (with counts of bad rows) in a column of `bad_bits`."""
    frame = bad_bits.alias("bits").to_frame()
    counts = frame.select(
        [((pl.col("bits") & (1 << i)) != 0).sum().alias(f.name) for i, f in enumerate(FEATURES)]
    ).row(0)
    return tuple(
        BadColumn(f.name, int(n), _reason(f)) for f, n in zip(FEATURES, counts, strict=True) if n
    )


def _reason(feature: Feature) -> str:
    parts = [] if feature.nullable else ["null"]
    if feature.type.is_numeric:
        parts.append(f"outside {feature.low}..{feature.high}")
        if feature.type is Type.FLOAT:
            parts.append("NaN")
    if feature.values:
        parts.append("not one of its values")
    return " or ".join(parts) or "not valid"


def row_problems(frame: pl.DataFrame | pl.LazyFrame) -> pl.Series:
    """Per row of a feature frame, why the contract does not allow it (every bad feature,
    named with its value, joined by "; "), or null for a valid row; the same definition as
    `valid_rows` and `match`'s check. `FeatureFrameError` when a column is missing or of a
    type that cannot hold its feature."""
    lazy = frame.lazy()
    check = frame_check(lazy.collect_schema())
    if check.wrong_types:
        raise check.refused(lazy.select(pl.len()).collect().item())
    checked = lazy.with_columns(*check.casts).with_columns(check.any_bad.alias(_ANY_BAD)).collect()
    bad = checked.get_column(_ANY_BAD)
    problems = pl.repeat(None, checked.height, dtype=pl.String, eager=True).alias("problems")
    if bad.any():  # the reasons only for the bad rows (usually few)
        reasons = pl.concat_list([_row_reason(f) for f in FEATURES]).list.drop_nulls()
        found = checked.filter(bad).select(reasons.list.join("; ")).to_series()
        problems = problems.scatter(bad.arg_true(), found)
    return problems


_ANY_BAD = "__lendmatch_any_bad"


def valid_rows(frame: pl.DataFrame | pl.LazyFrame) -> tuple[pl.Series, tuple[BadColumn, ...]]:
    """A feature frame's valid rows as a boolean mask, and the bad columns with their counts,
    so that a job can set bad rows aside (`frame.filter(mask)`) and report them. A column
    missing or of a type that cannot hold its feature makes every row bad."""
    lazy = frame.lazy()
    check = frame_check(lazy.collect_schema())
    if check.wrong_types:
        rows = lazy.select(pl.len()).collect().item()
        return pl.Series("valid", [False] * rows, dtype=pl.Boolean), check.refused(rows).columns
    bits = lazy.with_columns(*check.casts).select(check.bad_bits).collect()[BAD_BITS]
    return (bits == 0).alias("valid"), report(bits)
