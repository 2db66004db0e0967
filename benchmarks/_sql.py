"""The typed rule IR (matcher/ir.py) translated to SQL, for the DuckDB peer of the benchmark.

The translation follows matcher/operators.py and matcher/lower_polars.py exactly, so that the
bitmasks DuckDB computes can be checked equal to lendmatch's:

- three-valued nulls: a strict operator is null when an operand is null (SQL comparisons and
  arithmetic already are; `min`/`max` and the 3-operand comparisons are guarded explicitly,
  because DuckDB's LEAST/GREATEST skip nulls and `a < b AND b < c` can be false with a null);
- `and`/`or` are Kleene in SQL as in Polars;
- `if` is null when the condition it stops at is null (a SQL CASE would fall through);
- `/` and `%` by zero are null; `%` is floored like Python and Polars (DuckDB's truncates);
- a float result the compiler marks `nan_to_null` (it may be NaN) is null when it is NaN;
- float literals are DOUBLE (a bare `0.35` would be DECIMAL in DuckDB), integers BIGINT.

Per lender the query computes `<lender>.failed` and `<lender>.unknown` as UBIGINT bitmasks
(bit i = requirement i), null for rows of a market the lender does not serve, as
`matcher.match` does.
"""

from __future__ import annotations

from collections.abc import Sequence

from matcher.ir import Call, Const, ListConst, Node, Scalar, Var
from matcher.operators import Nulls
from matcher.ruleset import CompiledLender, Ruleset
from matcher.schema import Type

__all__ = ["lender_columns", "match_query", "to_sql"]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Scalar, type_: Type) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if type_ is Type.FLOAT or isinstance(value, float):
        return f"CAST({float(value)!r} AS DOUBLE)"
    return f"CAST({int(value)} AS BIGINT)"


def _null_if_any_null(expr: str, args: Sequence[Node], operands: Sequence[str]) -> str:
    nullable = [sql for node, sql in zip(args, operands, strict=True) if node.nullable]
    if not nullable:
        return expr
    test = " OR ".join(f"{sql} IS NULL" for sql in nullable)
    return f"(CASE WHEN {test} THEN NULL ELSE {expr} END)"


def _nan_to_null(expr: str) -> str:
    return f"(CASE WHEN isnan({expr}) THEN NULL ELSE {expr} END)"


def to_sql(node: Node) -> str:
    """The node as a SQL expression over the feature table (NULL where the node is null)."""
    if isinstance(node, Const):
        return _literal(node.value, node.type)
    if isinstance(node, ListConst):  # pragma: no cover - only inside `in`, handled below
        raise AssertionError("a literal list outside 'in'")
    if isinstance(node, Var):
        column = _ident(node.name)
        if node.default is not None:
            return f"COALESCE({column}, {_literal(node.default.value, node.type)})"
        return column
    return _call(node)


def _call(node: Call) -> str:
    op, args = node.op, node.args
    name = op.name
    if op.nulls is Nulls.CONDITIONAL:
        return _conditional(node)
    if name == "in" and isinstance(args[1], ListConst):
        needle, values = args[0], args[1]
        element = Type.FLOAT if needle.type is Type.FLOAT else values.type
        items = ", ".join(_literal(v, element) for v in values.values)
        return f"({to_sql(needle)} IN ({items}))"  # NULL IN (...) is NULL
    operands = [to_sql(a) for a in args]
    types = [a.type for a in args]
    expr = _operator(name, operands, types)
    if node.nan_to_null:
        expr = _nan_to_null(expr)
    if name in {"min", "max"} or (op.nulls is Nulls.STRICT and len(args) == 3):
        expr = _null_if_any_null(expr, args, operands)
    return expr


def _operator(name: str, a: Sequence[str], types: Sequence[Type]) -> str:
    if name in {"==", "==="}:
        return f"({a[0]} = {a[1]})"
    if name in {"!=", "!=="}:
        return f"({a[0]} <> {a[1]})"
    if name in {"<", "<=", ">", ">="}:
        if len(a) == 2:
            return f"({a[0]} {name} {a[1]})"
        return f"({a[0]} {name} {a[1]} AND {a[1]} {name} {a[2]})"
    if name in {"!", "!!"}:
        negated = name == "!"
        (t,) = types
        if t is Type.BOOL:
            return f"(NOT {a[0]})" if negated else a[0]
        empty = "''" if t is Type.STR else "0"
        return f"({a[0]} {'=' if negated else '<>'} {empty})"
    if name == "and":
        return "(" + " AND ".join(a) + ")"
    if name == "or":
        return "(" + " OR ".join(a) + ")"
    if name == "in":  # substring: a string in a string
        return f"contains({a[1]}, {a[0]})"
    if name == "+":
        return a[0] if len(a) == 1 else "(" + " + ".join(a) + ")"
    if name == "-":
        return f"(-{a[0]})" if len(a) == 1 else f"({a[0]} - {a[1]})"
    if name == "*":
        return "(" + " * ".join(a) + ")"
    if name == "/":
        return f"(CASE WHEN {a[1]} <> 0 THEN CAST({a[0]} AS DOUBLE) / {a[1]} END)"
    if name == "%":
        # floored remainder, as Python and Polars: ((a % b) + b) % b
        return f"(CASE WHEN {a[1]} <> 0 THEN (({a[0]} % {a[1]}) + {a[1]}) % {a[1]} END)"
    if name == "min":
        return a[0] if len(a) == 1 else f"LEAST({', '.join(a)})"
    if name == "max":
        return a[0] if len(a) == 1 else f"GREATEST({', '.join(a)})"
    raise ValueError(f"operator {name!r} has no SQL translation yet: add it here")


def _conditional(node: Call) -> str:
    args = node.args
    branches: list[str] = []
    for i in range(0, len(args) - 1, 2):
        cond, then = args[i], args[i + 1]
        c = to_sql(cond)
        if cond.nullable:
            branches.append(f"WHEN {c} IS NULL THEN NULL")
        branches.append(f"WHEN {c} THEN {to_sql(then)}")
    return f"(CASE {' '.join(branches)} ELSE {to_sql(args[-1])} END)"


def _bit(i: int) -> str:
    return f"CAST({1 << i} AS UBIGINT)"


def lender_columns(lender: CompiledLender) -> tuple[str, str]:
    """The (failed, unknown) bitmask expressions of one lender, NULL outside its markets."""
    zero = "CAST(0 AS UBIGINT)"
    failed: list[str] = []
    unknown: list[str] = []
    for i, requirement in enumerate(lender.requirements):
        passed = to_sql(requirement.node)
        if requirement.node.nullable:
            failed.append(f"(CASE WHEN NOT {passed} THEN {_bit(i)} ELSE {zero} END)")
            unknown.append(f"(CASE WHEN {passed} IS NULL THEN {_bit(i)} ELSE {zero} END)")
        else:
            failed.append(f"(CASE WHEN {passed} THEN {zero} ELSE {_bit(i)} END)")
    failed_sql = " + ".join(failed) if failed else zero
    unknown_sql = " + ".join(unknown) if unknown else zero
    if set(lender.markets) != {"NO", "SE"}:
        markets = ", ".join(_literal(m, Type.STR) for m in lender.markets)
        serves = f'"market" IN ({markets})'
        failed_sql = f"CASE WHEN {serves} THEN {failed_sql} END"
        unknown_sql = f"CASE WHEN {serves} THEN {unknown_sql} END"
    return f"CAST({failed_sql} AS UBIGINT)", f"CAST({unknown_sql} AS UBIGINT)"


def match_query(ruleset: Ruleset, table: str, *, keep: Sequence[str] = ()) -> str:
    """One SELECT computing every lender's bitmasks over `table`, with the columns `matcher.match`
    gives (`<lender>.failed`, `<lender>.unknown`, after the `keep` columns)."""
    columns = [_ident(c) for c in keep]
    for lender in ruleset.lenders:
        failed, unknown = lender_columns(lender)
        columns.append(f"{failed} AS {_ident(lender.lender_id + '.failed')}")
        columns.append(f"{unknown} AS {_ident(lender.lender_id + '.unknown')}")
    return "SELECT\n  " + ",\n  ".join(columns) + f"\nFROM {_ident(table)}"
