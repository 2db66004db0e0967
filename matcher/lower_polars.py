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

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from matcher.errors import ExpressionRangeError
from matcher.ir import Call, Const, ListConst, Node, Var, walk
from matcher.lower_python import lower_expression
from matcher.operators import COMPARISONS, Nulls
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
    # per integer feature whose bounds fit a narrower type: its column read in that type
    narrow: Mapping[str, tuple[str, pl.DataType]] = field(default_factory=dict)

    def expressions(self) -> list[pl.Expr]:
        """The code columns and the narrow columns."""
        return self.code_expressions() + list(self.narrow_expressions().values())

    def code_expressions(self) -> list[pl.Expr]:
        """The code columns, each computed once from its string column."""
        return [
            _encode(name, values).alias(column) for name, (column, values) in self.columns.items()
        ]

    def narrow_expressions(self) -> dict[str, pl.Expr]:
        """The narrow copies of integer features, by column. The cast wraps a value outside
        the type (no check per value): only a value outside the feature's bounds can be,
        and the frame check refuses the frame that holds it."""
        return {
            column: pl.col(name).cast(dtype, wrap_numerical=True).alias(column)
            for name, (column, dtype) in self.narrow.items()
        }

    def narrowing(self, names: Collection[str]) -> Codes:
        """These codes with narrow copies of only the features `names` (a copy costs a pass
        over the column: worth it for a feature that many comparisons read)."""
        kept = {name: narrow for name, narrow in self.narrow.items() if name in names}
        return replace(self, narrow=kept)

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
    """Codes for every string feature of `features` with a closed list of values, and a
    narrow copy of every integer feature whose bounds fit in 32 bits or fewer."""
    narrow = {
        f.name: (f"__lendmatch_narrow_{f.name}", dtype)
        for f in features
        if f.type is Type.INT and (dtype := narrow_dtype(f.low, f.high)) is not None
    }
    return Codes(
        {
            f.name: (f"__lendmatch_code_{f.name}", tuple(f.values))
            for f in features
            if f.type is Type.STR and 0 < len(f.values) < CODE_NONE
        },
        {f.name: f for f in features},
        narrow,
    )


_NARROW_TYPES: tuple[tuple[pl.DataType, int, int], ...] = (
    (pl.UInt8(), 0, 2**8 - 1),
    (pl.Int8(), -(2**7), 2**7 - 1),
    (pl.UInt16(), 0, 2**16 - 1),
    (pl.Int16(), -(2**15), 2**15 - 1),
    (pl.UInt32(), 0, 2**32 - 1),
    (pl.Int32(), -(2**31), 2**31 - 1),
)


def narrow_dtype(low: float | None, high: float | None) -> pl.DataType | None:
    """The narrowest integer type holding every integer in `low..high`; None when unbounded
    or when only 64 bits hold them."""
    if not isinstance(low, int) or not isinstance(high, int):
        return None
    for dtype, least, most in _NARROW_TYPES:
        if least <= low and high <= most:
            return dtype
    return None


def _fits(value: Any, dtype: pl.DataType) -> bool:
    return type(value) is int and any(
        least <= value <= most for t, least, most in _NARROW_TYPES if t == dtype
    )


# From this many values a closed list is coded by a cast to Enum (one hashed pass over the
# strings, about the cost of the chain's seven equalities), below by the chain of equalities.
ENUM_FROM_VALUES = 7


def _encode(name: str, values: tuple[str, ...]) -> pl.Expr:
    """The code of the column's value: its place in `values`, CODE_NONE for another
    string, null for null."""
    col = pl.col(name)
    if len(values) >= ENUM_FROM_VALUES:
        # a string outside the list is null after the cast (not strict): CODE_NONE
        coded = col.cast(pl.Enum(values), strict=False).to_physical().cast(_CODE)
        return (
            pl.when(col.is_null())
            .then(pl.lit(None, _CODE))
            .otherwise(coded.fill_null(pl.lit(CODE_NONE, _CODE)))
        )
    # One flat when/then chain of string equalities: cheaper than `is_in`, or than a cast to
    # Enum for a short list. `eq_missing` (false, not null, for a null value: the chain's
    # null branch takes it) skips combining validity masks: about a tenth cheaper.
    chain: Any = pl.when(col.eq_missing(values[0])).then(pl.lit(0, _CODE))
    for i, value in enumerate(values[1:], start=1):
        chain = chain.when(col.eq_missing(value)).then(pl.lit(i, _CODE))
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


def lower(node: Node, codes: Codes | None = None, shared: Shared | None = None) -> pl.Expr:
    """The node as a Polars expression over a feature frame (null where the node is null).

    With `codes`, the frame must have their columns (`Codes.expressions`) and be within
    the bounds of their feature schema; without, nothing is assumed of the features. With
    `shared`, the frame must have its columns (`Shared.expressions`), and a sub-expression
    of the node that is one of them is read from its column."""
    return _Lowering(codes, shared).lower(node)


def node_key(node: Node) -> tuple[Any, ...]:
    """The computation a node stands for, without where it was written (its JSON path):
    equal keys, equal values on every row. Literals are told apart by type and `repr`
    (`1`, `1.0`, `True`; `0.0` and `-0.0`)."""
    if isinstance(node, Const):
        return ("const", node.type, type(node.value), repr(node.value))
    if isinstance(node, ListConst):
        return ("list", node.type, tuple((type(v), repr(v)) for v in node.values))
    if isinstance(node, Var):
        default = None if node.default is None else node_key(node.default)
        return ("var", node.name, node.type, node.nullable, default)
    args = tuple(node_key(a) for a in node.args)
    return ("call", node.op.name, node.type, node.nullable, node.nan_to_null, args)


@dataclass(frozen=True)
class Shared:
    """Sub-expressions that several rules have in common (`age + term_months / 12`, under
    every lender's own age limit), each computed once per frame as a column: per node key,
    the column's name and a node of that key."""

    columns: Mapping[tuple[Any, ...], tuple[str, Node]]

    def expressions(self, codes: Codes | None = None) -> dict[str, pl.Expr]:
        """The shared columns by name, each lowered in full (they read only the frame)."""
        return {name: lower(node, codes) for name, node in self.columns.values()}


def shared_subexpressions(roots: Sequence[Node]) -> Shared:
    """The arithmetic that at least two of the distinct rules `roots` have in common: each
    such sub-expression becomes a column, computed once (the outermost only: what is inside
    it is computed within it). A comparison is not shared: its boolean column costs about
    as much to fill as to compute again. Column names come from the node key, so the same
    sub-expression has the same column in any ruleset."""
    rules = {node_key(r): r for r in roots}
    counts: dict[tuple[Any, ...], int] = {}
    for rule in rules.values():
        for key in {node_key(n) for n in walk(rule) if _arithmetic(n)}:
            counts[key] = counts.get(key, 0) + 1
    found: dict[tuple[Any, ...], tuple[str, Node]] = {}

    def outermost(node: Node) -> None:
        key = node_key(node)
        if _arithmetic(node) and counts[key] >= 2:
            found.setdefault(key, (_column_name("shared", key), node))
        elif isinstance(node, Call):
            for arg in node.args:
                outermost(arg)

    for rule in rules.values():
        outermost(rule)
    return Shared(found)


def _arithmetic(node: Node) -> bool:
    """A number computed from features: a candidate for sharing."""
    return isinstance(node, Call) and bool(node.features) and node.type.is_numeric


def compared_features(roots: Sequence[Node]) -> dict[str, int]:
    """Per integer feature, how many comparisons of the distinct rules `roots` read it
    without a default: where a narrow copy of it pays (`Codes.narrowing`)."""
    counts: dict[str, int] = {}
    for rule in {node_key(r): r for r in roots}.values():
        for node in walk(rule):
            if isinstance(node, Call) and node.op.name in COMPARISONS:
                for arg in node.args:
                    if isinstance(arg, Var) and arg.default is None and arg.type is Type.INT:
                        counts[arg.name] = counts.get(arg.name, 0) + 1
    return counts


def _column_name(kind: str, key: tuple[Any, ...]) -> str:
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
    return f"__lendmatch_{kind}_{digest}"


def may_be_null(node: Node, codes: Codes | None = None) -> bool:
    """Whether the node can be null on a row within the feature schema of `codes` (at most
    `node.nullable`; tighter for a float result that cannot be NaN)."""
    return _Lowering(codes).nullable(node)


class _Lowering:
    """One lowering: the codes it may use, and what it has worked out of each node."""

    def __init__(self, codes: Codes | None, shared: Shared | None = None) -> None:
        self.codes = codes
        self.shared = shared
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
        if self.shared is not None:
            found = self.shared.columns.get(node_key(node))
            if found is not None:
                return pl.col(found[0])
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
        operands = self.narrowed(node) or [self.lower(a) for a in args]
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

    def narrowed(self, node: Call) -> list[pl.Expr] | None:
        """A comparison of integer features (read without a default, all of one narrow
        type), or of their remainders by a positive literal, with integer literals that fit
        that type: the operands in that type (fewer bytes to read, the same order and the
        same remainders). None for anything else."""
        if self.codes is None or node.op.name not in COMPARISONS:
            return None
        reads = [None if isinstance(a, Const) else self.narrow_read(a) for a in node.args]
        dtypes = {read[1] for read in reads if read is not None}
        if len(dtypes) != 1 or any(
            read is None and not isinstance(arg, Const)
            for arg, read in zip(node.args, reads, strict=True)
        ):
            return None
        (dtype,) = dtypes
        operands: list[pl.Expr] = []
        for arg, read in zip(node.args, reads, strict=True):
            if read is not None:
                operands.append(read[0])
            elif isinstance(arg, Const) and _fits(arg.value, dtype):
                operands.append(pl.lit(arg.value, dtype=dtype))
            else:
                return None
        return operands

    def narrow_read(self, node: Node) -> tuple[pl.Expr, pl.DataType] | None:
        """An integer feature read without a default, in its narrow copy; or its remainder
        by a positive literal of that type when the feature is never negative (Polars' `%`
        and JsonLogic's agree there, and the remainder fits the type)."""
        narrow = {} if self.codes is None else self.codes.narrow
        if isinstance(node, Var):
            if node.default is None and node.type is Type.INT and node.name in narrow:
                column, dtype = narrow[node.name]
                return pl.col(column), dtype
            return None
        if not isinstance(node, Call) or node.op.name != "%" or len(node.args) != 2:
            return None
        dividend, divisor = node.args
        read = self.narrow_read(dividend) if isinstance(dividend, Var) else None
        feature = self.features.get(dividend.name) if isinstance(dividend, Var) else None
        if read is None or feature is None or feature.low is None or feature.low < 0:
            return None
        if not isinstance(divisor, Const) or not _fits(divisor.value, read[1]):
            return None
        if divisor.value <= 0:  # type: ignore[operator]  # an int: it fits
            return None
        return read[0] % pl.lit(divisor.value, dtype=read[1]), read[1]

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
    return operands[0].is_in(pl.Series(sorted(substrings(text)), dtype=pl.String).implode())


def substrings(text: str) -> set[str]:
    """Every substring of `text`, the empty one too: the strings `{"in": [s, text]}` holds
    for."""
    return {text[i:j] for i in range(len(text) + 1) for j in range(i, len(text) + 1)}


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
    nodes: Sequence[Node],
    passed: Sequence[pl.Expr],
    codes: Codes | None = None,
    serves: pl.Expr | None = None,
) -> tuple[pl.Expr, pl.Expr]:
    """The (failed, unknown) bitmask expressions of a lender's requirements.

    Bit i is requirement i, in the narrowest unsigned type that holds them all, folded with
    `|`. `passed[i]` is requirement i's boolean expression (`match` passes a column computed
    once for every lender that has the same rule, lowered with `codes`). A requirement that
    cannot be null (`may_be_null`) has no unknown bit to compute.

    With `serves` (true where the lender serves the row's market), both bitmasks are null
    where it is not true; an unknown bitmask with no bit to compute is left as zero
    everywhere. The gate is put on the first bit's term only: `|` is null where an operand
    is, and one term gated costs far less than the whole fold gated.
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
    if serves is not None:
        failed = _gated(failed or [zero], serves)
        unknown = _gated(unknown, serves)
    return _fold_or(failed, zero), _fold_or(unknown, zero)


def _gated(terms: list[pl.Expr], serves: pl.Expr) -> list[pl.Expr]:
    """The terms with the first null where `serves` is not true (none: none)."""
    if not terms:
        return terms
    first: pl.Expr = pl.when(serves).then(terms[0])
    return [first, *terms[1:]]


def _fold_or(terms: list[pl.Expr], zero: pl.Expr) -> pl.Expr:
    if not terms:
        return zero
    out = terms[0]
    for term in terms[1:]:
        out = out | term
    return out
