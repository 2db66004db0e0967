"""Lowering to Polars expressions: the batch path over feature frames.

Every requirement of every lender becomes one boolean expression; a lender's bitmasks are the
sums of its requirements' bits, computed for all rows at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from matcher.ir import Call, Const, ListConst, Node, Var
from matcher.lower_python import lower_expression
from matcher.operators import Nulls
from matcher.schema import Type


def lower(node: Node) -> pl.Expr:
    """The node as a Polars expression over a feature frame (null where the node is null)."""
    if isinstance(node, Const):
        return pl.lit(node.value, dtype=node.type.polars)
    if isinstance(node, ListConst):  # pragma: no cover - only inside `in`, handled below
        raise AssertionError("a literal list outside 'in'")
    if isinstance(node, Var):
        col = pl.col(node.name)
        if node.default is not None:
            col = col.fill_null(pl.lit(node.default.value, dtype=node.type.polars))
        return col
    return _call(node)


def _call(node: Call) -> pl.Expr:
    if not node.features:
        # A subtree of literals is folded to its value, computed by the Python lowering:
        # Polars would not broadcast some scalar results (`is_in` of a literal) to the frame.
        value = lower_expression(node)({})
        return pl.lit(value, dtype=node.type.polars)
    op, args = node.op, node.args
    if op.nulls is Nulls.CONDITIONAL:
        return _conditional(node)
    if op.name == "in" and isinstance(args[1], ListConst):
        needle, values = args[0], args[1]
        dtype = pl.Float64 if needle.type is Type.FLOAT else values.type.polars
        expr = lower(needle).cast(dtype).is_in(pl.Series(values.values, dtype=dtype).implode())
        return _null_if_any_null(expr, [needle])
    operands = [lower(a) for a in args]
    expr = op.polars(operands, [a.type for a in args])
    if node.nan_to_null:
        expr = expr.fill_nan(None)
    strict = op.nulls is Nulls.STRICT
    if strict and (not op.polars_null_safe or len(args) == 3):
        expr = _null_if_any_null(expr, args, operands)
    return expr


def _null_if_any_null(
    expr: pl.Expr, args: Sequence[Node], operands: Sequence[pl.Expr] | None = None
) -> pl.Expr:
    exprs = operands if operands is not None else [lower(a) for a in args]
    nullable = [e for a, e in zip(args, exprs, strict=True) if a.nullable]
    if not nullable:
        return expr
    any_null = pl.any_horizontal(*(e.is_null() for e in nullable))
    return pl.when(any_null).then(pl.lit(None)).otherwise(expr)


def _conditional(node: Call) -> pl.Expr:
    # One flat when/then chain, however many branches; an unknown condition gives null.
    args = node.args
    steps: list[tuple[pl.Expr, pl.Expr]] = []
    for i in range(0, len(args) - 1, 2):
        cond = lower(args[i])
        if args[i].nullable:
            steps.append((cond.is_null(), pl.lit(None)))
        steps.append((cond, lower(args[i + 1])))
    (first, value), *rest = steps
    chain: Any = pl.when(first).then(value)  # When, Then and ChainedThen: one chain
    for condition, value in rest:
        chain = chain.when(condition).then(value)
    out: pl.Expr = chain.otherwise(lower(args[-1]))
    return out


def bits_dtype(count: int) -> pl.DataType:
    """The narrowest unsigned integer with a bit per requirement."""
    for bits, dtype in ((8, pl.UInt8()), (16, pl.UInt16()), (32, pl.UInt32())):
        if count <= bits:
            return dtype
    return pl.UInt64()


def lower_bits(nodes: Sequence[Node], passed: Sequence[pl.Expr]) -> tuple[pl.Expr, pl.Expr]:
    """The (failed, unknown) bitmask expressions of a lender's requirements.

    Bit i is requirement i, in the narrowest unsigned type that holds them all, folded with
    `|`. `passed[i]` is requirement i's boolean expression (`match` passes a column computed
    once for every lender that has the same rule).
    """
    dtype = bits_dtype(len(nodes))
    zero = pl.lit(0, dtype=dtype)
    failed: list[pl.Expr] = []
    unknown: list[pl.Expr] = []
    for i, node in enumerate(nodes):
        bit = pl.lit(1 << i, dtype=dtype)
        result = passed[i]
        if node.nullable:
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
