"""Lowering to Polars expressions: the batch path over feature frames.

Every requirement of every lender becomes one boolean expression; a lender's bitmasks are the
sums of its requirements' bits, computed for all rows at once.

Two things make the frame path cheap without changing a single bit of its results:

- **Codes for closed vocabularies.** A string feature with a closed list of values
  (`market`, `employment`, ...) is read once into a `UInt8` code column (its value's place in
  the list; `CODE_NONE` for a value outside it, which the frame check refuses; null stays
  null). A rule's equality with a literal, or membership in a literal list, then compares
  small integers instead of strings (a string `is_in` costs as much as fifty integer
  comparisons). `lower` does this when it is given the `Codes`; without them, it compares the
  strings, as the Python lowering does. The results are the same on every row the feature
  contract allows, nulls included.
- **Nulls only where they can occur.** The compiler marks a node nullable when it may be
  null; for a float result that may be NaN it assumes the worst. Here a float result is NaN
  only where an operand can be infinite (the compiler refuses rules whose finite numbers
  can overflow, `matcher.ranges`), so `age + term_months / 12` is neither NaN-checked nor
  null-guarded, and its requirement has no `unknown` bit to compute. Where a node can be
  null, the expression is exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from matcher.errors import ExpressionRangeError
from matcher.ir import Call, Const, ListConst, Node, Var
from matcher.lower_python import lower_expression
from matcher.operators import Nulls
from matcher.ranges import Interval, call_interval, constant
from matcher.schema import FEATURES, Feature, Type

# The code of a value outside a feature's closed list (rows holding one are refused).
CODE_NONE = 255
_CODE = pl.UInt8()


@dataclass(frozen=True)
class Codes:
    """A frame of the feature schema `features`, its closed-vocabulary string features read
    as small integer codes: per feature, the column holding its code and the values in code
    order (code i is `values[i]`)."""

    columns: Mapping[str, tuple[str, tuple[str, ...]]]
    features: Mapping[str, Feature]

    def expressions(self) -> list[pl.Expr]:
        """The code columns, each computed once from its string column."""
        return [
            _encode(name, values).alias(column) for name, (column, values) in self.columns.items()
        ]

    def outside(self) -> dict[str, pl.Expr]:
        """Per feature, true where the row's (non-null) value is outside the closed list
        (null where the value is null): what the frame check needs."""
        return {
            name: pl.col(column) == pl.lit(CODE_NONE, _CODE)
            for name, (column, _) in self.columns.items()
        }

    def code(self, node: Node) -> tuple[str, tuple[str, ...]] | None:
        """The code column and values when `node` reads a coded feature as it is."""
        if isinstance(node, Var) and node.default is None and node.type is Type.STR:
            return self.columns.get(node.name)
        return None


def feature_codes(features: Sequence[Feature] = FEATURES) -> Codes:
    """Codes for every string feature of `features` with a closed list of values."""
    return Codes(
        {
            f.name: (f"__lendmatch_code_{f.name}", tuple(f.values))
            for f in features
            if f.type is Type.STR and 0 < len(f.values) < CODE_NONE
        },
        {f.name: f for f in features},
    )


def _encode(name: str, values: tuple[str, ...]) -> pl.Expr:
    # One flat when/then chain of string equalities: cheaper than `is_in` or a cast to Enum.
    col = pl.col(name)
    chain: Any = pl.when(col == values[0]).then(pl.lit(0, _CODE))
    for i, value in enumerate(values[1:], start=1):
        chain = chain.when(col == value).then(pl.lit(i, _CODE))
    out: pl.Expr = (
        chain.when(col.is_null()).then(pl.lit(None, _CODE)).otherwise(pl.lit(CODE_NONE, _CODE))
    )
    return out


def in_codes(column: str, values: tuple[str, ...], wanted: Sequence[Any]) -> pl.Expr:
    """True where the coded column's value is one of `wanted`, false where it is another
    value of the closed list, null where it is null: the fewer of `==` or `!=` comparisons."""
    code = pl.col(column)
    inside = sorted({values.index(w) for w in wanted if isinstance(w, str) and w in values})
    if not inside:
        return code == pl.lit(CODE_NONE, _CODE)  # false on every allowed value
    if len(inside) == len(values):
        return code != pl.lit(CODE_NONE, _CODE)
    if len(inside) <= len(values) - len(inside):
        return pl.any_horizontal(*(code == pl.lit(i, _CODE) for i in inside))
    rest = [i for i in range(len(values)) if i not in inside]
    return pl.all_horizontal(*(code != pl.lit(i, _CODE) for i in rest))


def lower(node: Node, codes: Codes | None = None) -> pl.Expr:
    """The node as a Polars expression over a feature frame (null where the node is null).

    With `codes`, the frame must have their columns (`Codes.expressions`) and be within
    the bounds of their feature schema; without, nothing is assumed of the features."""
    return _Lowering(codes).lower(node)


def may_be_null(node: Node, codes: Codes | None = None) -> bool:
    """Whether the node can be null on a row within the feature schema of `codes` (at most
    `node.nullable`; tighter for a float result that cannot be NaN)."""
    return _Lowering(codes).nullable(node)


class _Lowering:
    """One lowering: the codes it may use, and what it has worked out of each node."""

    def __init__(self, codes: Codes | None) -> None:
        self.codes = codes
        self.features: Mapping[str, Feature] = {} if codes is None else codes.features
        self._nullable: dict[int, bool] = {}
        self._intervals: dict[int, Interval | None] = {}

    # -- what a node can be -------------------------------------------------------------

    def nullable(self, node: Node) -> bool:
        if not node.nullable:
            return False
        if not isinstance(node, Call):
            return True
        known = self._nullable.get(id(node))
        if known is None:
            known = self._nullable[id(node)] = (
                self.nan(node) or _divides_by_zero(node) or any(self.nullable(a) for a in node.args)
            )
        return known

    def nan(self, node: Call) -> bool:
        """A float result that is NaN somewhere: only with an infinite operand."""
        return node.nan_to_null and any(self.infinite(a) for a in node.args if a.type.is_numeric)

    def infinite(self, node: Node) -> bool:
        """Whether a number node can be infinite: where its interval is unbounded
        (`debt_to_income` is +inf without income) or not known (no schema given). The
        compiler refuses rules whose finite numbers overflow."""
        interval = self.interval(node)
        return interval is None or interval.infinite

    def interval(self, node: Node) -> Interval | None:
        """The node's interval, worked out as the compiler does (`matcher.ranges`) from the
        feature bounds of the schema; None when not a number or not known."""
        if not node.type.is_numeric:
            return None
        key = id(node)
        if key in self._intervals:
            return self._intervals[key]
        out: Interval | None = None
        if isinstance(node, Const):
            out = constant(node.value)  # type: ignore[arg-type]  # a number: is_numeric
        elif isinstance(node, Var):
            feature = self.features.get(node.name)
            low, high = (None, None) if feature is None else (feature.low, feature.high)
            if feature is not None and feature.type is node.type and None not in (low, high):
                out = Interval(low, high)  # type: ignore[arg-type]  # both known
                if node.default is not None:
                    out = out.union(constant(node.default.value))  # type: ignore[arg-type]
        elif isinstance(node, Call):
            operands = [(a.type, self.interval(a)) for a in node.args]
            if all(i is not None for t, i in operands if t.is_numeric):
                try:
                    out = call_interval(node.op.name, operands, node.type)
                except ExpressionRangeError:
                    out = None
        self._intervals[key] = out
        return out

    # -- expressions --------------------------------------------------------------------

    def lower(self, node: Node) -> pl.Expr:
        if isinstance(node, Const):
            return pl.lit(node.value, dtype=node.type.polars)
        if isinstance(node, ListConst):  # pragma: no cover - only inside `in`, handled below
            raise AssertionError("a literal list outside 'in'")
        if isinstance(node, Var):
            col = pl.col(node.name)
            if node.default is not None:
                col = col.fill_null(pl.lit(node.default.value, dtype=node.type.polars))
            return col
        return self.call(node)

    def call(self, node: Call) -> pl.Expr:
        if not node.features:
            # A subtree of literals is folded to its value, computed by the Python lowering:
            # Polars would not broadcast some scalar results (`is_in` of a literal) to the frame.
            value = lower_expression(node)({})
            return pl.lit(value, dtype=node.type.polars)
        coded = self.coded(node)
        if coded is not None:
            return coded
        op, args = node.op, node.args
        if op.nulls is Nulls.CONDITIONAL:
            return self.conditional(node)
        if op.name == "in" and isinstance(args[1], ListConst):
            needle, values = args[0], args[1]
            dtype = pl.Float64 if needle.type is Type.FLOAT else values.type.polars
            member = self.lower(needle).cast(dtype)
            expr = member.is_in(pl.Series(values.values, dtype=dtype).implode())
            return self.null_if_any_null(expr, [needle])
        operands = [self.lower(a) for a in args]
        shortcut = self.by_literal(node, operands)
        expr = shortcut if shortcut is not None else op.polars(operands, [a.type for a in args])
        if self.nan(node):
            expr = expr.fill_nan(None)
        strict = op.nulls is Nulls.STRICT
        if strict and (not op.polars_null_safe or len(args) == 3):
            expr = self.null_if_any_null(expr, args, operands)
        return expr

    def by_literal(self, node: Call, operands: Sequence[pl.Expr]) -> pl.Expr | None:
        """`/`, or `%` of integers, by a non-zero literal: the operator table's lowering
        without its by-zero guard, and for a dividend that is never negative, Polars' own
        `%` (both conventions agree there). A string in a literal string: membership in its
        substrings. None for anything else."""
        if node.op.name == "in":
            return _substring_of_literal(node, operands)
        divisor = node.args[-1]
        value = divisor.value if isinstance(divisor, Const) else 0
        if not isinstance(value, int | float) or not value or len(node.args) != 2:
            return None
        a, b = operands
        if node.op.name == "/":
            return a.cast(pl.Float64) / b
        if node.op.name != "%" or node.type is not Type.INT:
            return None
        dividend = self.interval(node.args[0])
        if dividend is not None and dividend.low >= 0 and value > 0:
            return a % b
        rest = a.abs() % abs(value)
        return pl.when(a < 0).then(-rest).otherwise(rest)

    def coded(self, node: Call) -> pl.Expr | None:
        """Equality with a string literal, or membership in a literal list, on a coded
        feature: small integers compared instead of strings (null stays null)."""
        if self.codes is None:
            return None
        args, name = node.args, node.op.name
        if name == "in" and isinstance(args[1], ListConst):
            found = self.codes.code(args[0])
            if found is None:
                return None
            return in_codes(*found, args[1].values)
        if name not in ("==", "===", "!=", "!==") or len(args) != 2:
            return None
        for coded, other in (args, reversed(args)):
            found = self.codes.code(coded)
            if found is not None and isinstance(other, Const):
                column, values = found
                code = values.index(other.value) if other.value in values else CODE_NONE
                literal = pl.lit(code, _CODE)
                equal = name in ("==", "===")
                return pl.col(column) == literal if equal else pl.col(column) != literal
        return None

    def null_if_any_null(
        self, expr: pl.Expr, args: Sequence[Node], operands: Sequence[pl.Expr] | None = None
    ) -> pl.Expr:
        exprs = operands if operands is not None else [self.lower(a) for a in args]
        nullable = [e for a, e in zip(args, exprs, strict=True) if self.nullable(a)]
        if not nullable:
            return expr
        any_null = pl.any_horizontal(*(e.is_null() for e in nullable))
        return pl.when(any_null).then(pl.lit(None)).otherwise(expr)

    def conditional(self, node: Call) -> pl.Expr:
        # One flat when/then chain, however many branches; an unknown condition gives null.
        args = node.args
        if node.type is Type.BOOL and not self.nullable(node):
            # nothing can be null: `c ? v : e` is `(c & v) | (~c & e)`, bitmap operations
            # far cheaper than a when/then over booleans
            algebra = self.lower(args[-1])
            for i in range(len(args) - 3, -1, -2):
                cond = self.lower(args[i])
                algebra = (cond & self.lower(args[i + 1])) | (cond.not_() & algebra)
            return algebra
        steps: list[tuple[pl.Expr, pl.Expr]] = []
        for i in range(0, len(args) - 1, 2):
            cond = self.lower(args[i])
            if self.nullable(args[i]):
                steps.append((cond.is_null(), pl.lit(None)))
            steps.append((cond, self.lower(args[i + 1])))
        (first, value), *rest = steps
        chain: Any = pl.when(first).then(value)  # When, Then and ChainedThen: one chain
        for condition, value in rest:
            chain = chain.when(condition).then(value)
        out: pl.Expr = chain.otherwise(self.lower(args[-1]))
        return out


MAX_SUBSTRINGS = 4096


def _substring_of_literal(node: Call, operands: Sequence[pl.Expr]) -> pl.Expr | None:
    """`{"in": [s, "NO,SE,DK"]}`: `s` is one of the literal's substrings (a hashed
    membership, where Polars would search the literal once per row); null guarded by the
    caller, as for the table's lowering."""
    haystack = node.args[1]
    if not isinstance(haystack, Const) or not isinstance(haystack.value, str):
        return None
    text = haystack.value
    if (len(text) + 1) * (len(text) + 2) // 2 > MAX_SUBSTRINGS:
        return None
    pieces = {text[i:j] for i in range(len(text) + 1) for j in range(i, len(text) + 1)}
    return operands[0].is_in(pl.Series(sorted(pieces), dtype=pl.String).implode())


def _divides_by_zero(node: Call) -> bool:
    """`/` or `%` whose divisor is not a non-zero literal (the compiler's rule)."""
    divisor = node.args[-1]
    by_literal = isinstance(divisor, Const) and divisor.value != 0
    return node.op.yields_null and not by_literal


def bits_dtype(count: int) -> pl.DataType:
    """The narrowest unsigned integer with a bit per requirement."""
    for bits, dtype in ((8, pl.UInt8()), (16, pl.UInt16()), (32, pl.UInt32())):
        if count <= bits:
            return dtype
    return pl.UInt64()


def lower_bits(
    nodes: Sequence[Node], passed: Sequence[pl.Expr], codes: Codes | None = None
) -> tuple[pl.Expr, pl.Expr]:
    """The (failed, unknown) bitmask expressions of a lender's requirements.

    Bit i is requirement i, in the narrowest unsigned type that holds them all, folded with
    `|`. `passed[i]` is requirement i's boolean expression (`match` passes a column computed
    once for every lender that has the same rule, lowered with `codes`). A requirement that
    cannot be null (`may_be_null`) has no unknown bit to compute.
    """
    dtype = bits_dtype(len(nodes))
    zero = pl.lit(0, dtype=dtype)
    failed: list[pl.Expr] = []
    unknown: list[pl.Expr] = []
    for i, node in enumerate(nodes):
        bit = pl.lit(1 << i, dtype=dtype)
        result = passed[i]
        if may_be_null(node, codes):
            failed.append(pl.when(result.not_()).then(bit).otherwise(zero))
            unknown.append(pl.when(result.is_null()).then(bit).otherwise(zero))
        else:
            failed.append(pl.when(result).then(zero).otherwise(bit))
    return _fold_or(failed, zero), _fold_or(unknown, zero)


def _fold_or(terms: list[pl.Expr], zero: pl.Expr) -> pl.Expr:
    if not terms:
        return zero
    out = terms[0]
    for term in terms[1:]:
        out = out | term
    return out
