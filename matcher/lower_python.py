"""Lowering to plain Python: the single-application path.

The typed tree becomes Python source, compiled once per lender into one function of a
feature row (a dict) that returns the (failed, unknown) bitmasks. No Polars, no tree walk at
evaluation time: one application against fifty lenders takes microseconds.

Safety: the source is generated from the checked tree only. Feature names come from the
schema and are read with repr() keys, constants are written with repr(), and nothing from a
rule file is spliced in as code.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from matcher.ir import Call, Const, ListConst, Node, Var
from matcher.operators import Nulls

Row = dict[str, Any]
Bits = tuple[int, int]


def _and3(*values: bool | None) -> bool | None:
    unknown = False
    for v in values:
        if v is False:
            return False
        if v is None:
            unknown = True
    return None if unknown else True


def _or3(*values: bool | None) -> bool | None:
    unknown = False
    for v in values:
        if v is True:
            return True
        if v is None:
            unknown = True
    return None if unknown else False


def _imod(a: int, b: int) -> int:
    """JsonLogic's `%` on integers: the sign of the dividend (Python's takes the divisor's)."""
    rest = abs(a) % abs(b)
    return -rest if a < 0 else rest


def _fmod(a: float, b: float) -> float:
    """JsonLogic's `%` on floats: C's fmod, NaN (so null) for an infinite dividend."""
    if math.isinf(a):
        return math.nan
    return math.fmod(a, b)


_RUNTIME: dict[str, Any] = {
    "_and3": _and3,
    "_or3": _or3,
    "_imod": _imod,
    "_fmod": _fmod,
}


class _Source:
    """Generates one expression per node; temporaries are bound with `:=`."""

    def __init__(self) -> None:
        self.count = 0
        self.features: dict[str, str] = {}  # feature name -> its local variable

    def local(self, feature: str) -> str:
        """The local variable a feature is read into once (`f_<name>`; names that are not
        identifiers, in schemas other than the application's, get a number)."""
        if feature not in self.features:
            safe = feature.isidentifier() and feature.isascii()
            self.features[feature] = f"f_{feature}" if safe else f"f__{len(self.features)}"
        return self.features[feature]

    def fresh(self) -> str:
        self.count += 1
        return f"t{self.count}"

    def expr(self, node: Node) -> str:
        if isinstance(node, Const):
            return repr(node.value)
        if isinstance(node, ListConst):
            return repr(tuple(node.values))
        if isinstance(node, Var):
            local = self.local(node.name)
            if node.default is None:
                return local
            return f"({local} if {local} is not None else {node.default.value!r})"
        return self.call(node)

    def call(self, node: Call) -> str:
        op = node.op
        args = node.args
        if op.nulls is Nulls.CONDITIONAL:
            return self.conditional(node)
        if op.nulls in (Nulls.KLEENE_AND, Nulls.KLEENE_OR):
            parts = [self.expr(a) for a in args]
            if node.nullable:
                helper = "_and3" if op.nulls is Nulls.KLEENE_AND else "_or3"
                return f"{helper}({', '.join(parts)})"
            word = " and " if op.nulls is Nulls.KLEENE_AND else " or "
            return "(" + word.join(parts) + ")"
        names: list[str] = []
        guards: list[str] = []
        for arg in args:
            source = self.expr(arg)
            simple = isinstance(arg, (Const, ListConst)) or (
                isinstance(arg, Var) and arg.default is None
            )
            if arg.nullable or (op.repeats_operands and not simple):
                name = self.fresh()
                guards.append(f"({name} := {source}) is None")
                names.append(name)
            else:
                names.append(source)
        core = op.python(names, [a.type for a in args])
        if node.nan_to_null:
            core = self._nan_to_null(core) if not op.yields_null else self._nan_guard(core)
        if guards:
            return f"(None if {' or '.join(guards)} else {core})"
        return core

    def _nan_to_null(self, core: str) -> str:
        # NaN (the one value unequal to itself) as null, written out rather than called: the
        # single path evaluates a score of these per decision, and a call costs more
        name = self.fresh()
        return f"(None if ({name} := {core}) != {name} else {name})"

    def _nan_guard(self, core: str) -> str:
        name = self.fresh()
        return f"(None if ({name} := {core}) is None or {name} != {name} else {name})"

    def conditional(self, node: Call) -> str:
        # One flat chain, `a if c1 else b if c2 else e`, however many branches: Python's
        # parser refuses more than 200 nested parentheses. An unknown condition stops the
        # chain with None.
        args = node.args
        parts: list[str] = []
        for i in range(0, len(args) - 1, 2):
            cond, then = args[i], args[i + 1]
            cond_src, then_src = self.expr(cond), self.expr(then)
            if cond.nullable:
                name = self.fresh()
                parts.append(f"None if ({name} := {cond_src}) is None else {then_src} if {name}")
            else:
                parts.append(f"{then_src} if {cond_src}")
        return "(" + " else ".join([*parts, self.expr(args[-1])]) + ")"


def _compile(source: str, name: str, constants: dict[str, Any] | None = None) -> Callable[..., Any]:
    namespace = dict(_RUNTIME) | (constants or {})
    exec(compile(source, f"<lendmatch {name}>", "exec"), namespace)
    fn: Callable[..., Any] = namespace[name]
    return fn


def _preamble(features: dict[str, str]) -> list[str]:
    return [f"    {local} = r[{name!r}]" for name, local in sorted(features.items())]


def _bits(gen: _Source, nodes: Sequence[Node]) -> list[str]:
    """The statements that set `f` and `u` to the (failed, unknown) bits of `nodes`."""
    body: list[str] = ["    f = 0", "    u = 0"]
    for i, node in enumerate(nodes):
        bit = 1 << i
        source = gen.expr(node)
        if node.nullable:
            body.append(f"    v = {source}")
            body.append(f"    if v is None:\n        u |= {bit}")
            body.append(f"    elif not v:\n        f |= {bit}")
        else:
            body.append(f"    if not {source}:\n        f |= {bit}")
    return body


def lower_requirements(nodes: Sequence[Node], name: str = "lender") -> Callable[[Row], Bits]:
    """One function of a feature row giving (failed, unknown): bit i is requirement i."""
    gen = _Source()
    body = [*_bits(gen, nodes), "    return f, u"]
    lines = [f"def {name}(r):", *_preamble(gen.features), *body]
    fn: Callable[[Row], Bits] = _compile("\n".join(lines) + "\n", name)
    return fn


T = TypeVar("T", bound=tuple[Any, ...])


def lower_lenders(
    lenders: Sequence[tuple[str, Sequence[Node]]], outcome: type[T]
) -> Callable[[Row], tuple[T, ...]]:
    """One function of a feature row giving `outcome((lender_id, failed, unknown))` of each
    of `lenders` (its id and requirements, bit i is requirement i), in their order: what
    `lower_requirements` gives each lender, with every feature read from the row once for
    all of them and no call per lender (the single path's decision, fifty lenders a row).
    `outcome` is a tuple type (a named tuple), built as `tuple.__new__` builds it."""
    gen = _Source()
    body: list[str] = []
    constants: dict[str, Any] = {"_outcome": outcome, "_new": tuple.__new__}
    for k, (lender_id, nodes) in enumerate(lenders):
        constants[f"_id{k}"] = lender_id
        # an outcome is a value: the lender's "eligible" one is built once and shared
        constants[f"_eligible{k}"] = tuple.__new__(outcome, (lender_id, 0, 0))
        body += _bits(gen, nodes)
        body.append(f"    o{k} = _new(_outcome, (_id{k}, f, u)) if f or u else _eligible{k}")
    done = "".join(f"o{k}, " for k in range(len(lenders)))
    lines = ["def lenders(r):", *_preamble(gen.features), *body, f"    return ({done})"]
    fn: Callable[[Row], tuple[T, ...]] = _compile("\n".join(lines) + "\n", "lenders", constants)
    return fn


def expression_function(node: Node) -> Callable[[Row], Any]:
    """`lower_expression(node)`, compiled once and kept on the node (`node.derived`), so it
    lives exactly as long as the node."""
    derived = node.derived
    if derived.python is None:
        derived.python = lower_expression(node)
    return derived.python


def lower_expression(node: Node) -> Callable[[Row], Any]:
    """One function of a feature row giving the node's value (None when null)."""
    gen = _Source()
    source = gen.expr(node)
    lines = ["def expression(r):", *_preamble(gen.features), f"    return {source}"]
    return _compile("\n".join(lines) + "\n", "expression")
