"""The one table of the rule language's operators.

Each entry says, for one JsonLogic operator: how many operands it takes, which operand types
it accepts and what type it yields, how it is lowered to Python source and to a Polars
expression (on operands known not to be null), how nulls pass through it, and how it reads
in plain words. Adding an operator means adding one entry here.

Null semantics (three-valued, as SQL and Polars): a STRICT operator is null when any operand
is null; `and`/`or` follow Kleene logic; `if` is null when the condition it stops at is null.
`/` and `%` by zero are null, and so is a float result that is NaN.

`%` is JsonLogic's (JavaScript's) remainder: it takes the sign of the dividend
(`{"%": [-1, 2]}` is -1), a finite number modulo an infinite one is that number, and an
infinite number modulo anything is NaN, so null. On floats it is exact (C's `fmod`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from lender_rules.vocabulary import Language
from matcher.errors import OperatorTypeError
from matcher.schema import Type
from matcher.texts import WORDS


class Nulls(enum.Enum):
    """How null operands pass through an operator."""

    STRICT = "strict"
    KLEENE_AND = "kleene_and"
    KLEENE_OR = "kleene_or"
    CONDITIONAL = "conditional"


PyLowering = Callable[[Sequence[str], Sequence[Type]], str]
PlLowering = Callable[[Sequence[pl.Expr], Sequence[Type]], pl.Expr]
Rendering = Callable[[Sequence[str], Sequence[Type], Language], str]
Typing = Callable[[Sequence[Type]], Type]


@dataclass(frozen=True)
class Operator:
    """One operator of the rule language."""

    name: str
    min_args: int
    max_args: int | None
    typing: Typing
    python: PyLowering
    polars: PlLowering
    words: Rendering
    precedence: int  # for parentheses in plain words: higher binds tighter
    nulls: Nulls = Nulls.STRICT
    # The Python lowering names an operand more than once: the driver binds it to a local.
    repeats_operands: bool = False
    # Division and remainder can be null on non-null operands (by zero).
    yields_null: bool = False
    # Polars propagates null through the lowering by itself; otherwise the driver guards.
    polars_null_safe: bool = True
    # Arithmetic: a float result is checked for NaN, which becomes null.
    arithmetic: bool = False

    def __repr__(self) -> str:
        return f"Operator({self.name!r})"


# -- typing -------------------------------------------------------------------------------


def _numeric_result(types: Sequence[Type]) -> Type:
    for t in types:
        if not t.is_numeric:
            raise OperatorTypeError(f"expects numbers, got {_names(types)}")
    return Type.FLOAT if Type.FLOAT in types else Type.INT


def _float_result(types: Sequence[Type]) -> Type:
    _numeric_result(types)
    return Type.FLOAT


def _comparable(types: Sequence[Type]) -> Type:
    if all(t.is_numeric for t in types) or all(t is Type.STR for t in types):
        return Type.BOOL
    raise OperatorTypeError(
        f"compares numbers with numbers or strings with strings, got {_names(types)}"
    )


def _equatable(types: Sequence[Type]) -> Type:
    if all(t.is_numeric for t in types) or len(set(types)) == 1:
        return Type.BOOL
    raise OperatorTypeError(f"compares values of one type, got {_names(types)}")


def _booleans(types: Sequence[Type]) -> Type:
    for t in types:
        if t is not Type.BOOL:
            raise OperatorTypeError(f"expects booleans, got {_names(types)}")
    return Type.BOOL


def _truthiness(types: Sequence[Type]) -> Type:
    return Type.BOOL


def _substring(types: Sequence[Type]) -> Type:
    # The list form of `in` ("a value in a literal list") is typed by the compiler, which
    # sees the literal list; through the table `in` is "a string in a string".
    if list(types) != [Type.STR, Type.STR]:
        raise OperatorTypeError(
            f"expects a value and a literal list, or a string and a string, got {_names(types)}"
        )
    return Type.BOOL


def _names(types: Sequence[Type]) -> str:
    return ", ".join(t.value for t in types)


# -- plain words ---------------------------------------------------------------------------


def _infix(symbol: str) -> Rendering:
    def render(args: Sequence[str], types: Sequence[Type], lang: Language) -> str:
        return f" {symbol} ".join(args)

    return render


def _equality(negated: bool) -> Rendering:
    def render(args: Sequence[str], types: Sequence[Type], lang: Language) -> str:
        if all(t.is_numeric for t in types):
            return f" {'!=' if negated else '='} ".join(args)
        word = WORDS[lang]["is_not" if negated else "is"]
        return f"{args[0]} {word} {args[1]}"

    return render


def _function(name: str) -> Rendering:
    def render(args: Sequence[str], types: Sequence[Type], lang: Language) -> str:
        return f"{name}({', '.join(args)})"

    return render


def _keyword(key: str) -> Rendering:
    def render(args: Sequence[str], types: Sequence[Type], lang: Language) -> str:
        return f" {WORDS[lang][key]} ".join(args)

    return render


def _not_words(negated: bool) -> Rendering:
    def render(args: Sequence[str], types: Sequence[Type], lang: Language) -> str:
        (arg,), (t,) = args, types
        if t is Type.BOOL:
            return f"{WORDS[lang]['not']} {arg}" if negated else arg
        if t is Type.STR:
            return f"{arg} {WORDS[lang]['empty' if negated else 'not_empty']}"
        return f"{arg} {'=' if negated else '!='} 0"

    return render


def _if_words(args: Sequence[str], types: Sequence[Type], lang: Language) -> str:
    w = WORDS[lang]
    parts: list[str] = []
    for i in range(0, len(args) - 1, 2):
        lead = w["if"] if i == 0 else f"{w['else']} {w['if']}"
        parts.append(f"{lead} {args[i]} {w['then']} {args[i + 1]}")
    parts.append(f"{w['else']} {args[-1]}")
    return ", ".join(parts)


def _minus_words(args: Sequence[str], types: Sequence[Type], lang: Language) -> str:
    return f"-{args[0]}" if len(args) == 1 else f"{args[0]} - {args[1]}"


def _in_words(args: Sequence[str], types: Sequence[Type], lang: Language) -> str:
    # The membership form is rendered by the compiler's renderer, which sees the literal list.
    return f"{args[1]} {WORDS[lang]['contains']} {args[0]}"


# -- Python lowering -----------------------------------------------------------------------


def _py_join(symbol: str) -> PyLowering:
    def lower(args: Sequence[str], types: Sequence[Type]) -> str:
        return "(" + f" {symbol} ".join(args) + ")"

    return lower


def _py_chain(symbol: str) -> PyLowering:
    # a < b < c, written out so both lowerings evaluate it the same way
    def lower(args: Sequence[str], types: Sequence[Type]) -> str:
        if len(args) == 2:
            return f"({args[0]} {symbol} {args[1]})"
        return f"({args[0]} {symbol} {args[1]} and {args[1]} {symbol} {args[2]})"

    return lower


def _py_truthy(negated: bool) -> PyLowering:
    def lower(args: Sequence[str], types: Sequence[Type]) -> str:
        (arg,), (t,) = args, types
        if t is Type.BOOL:
            return f"(not {arg})" if negated else arg
        empty = '""' if t is Type.STR else "0"
        return f"({arg} {'==' if negated else '!='} {empty})"

    return lower


def _py_minus(args: Sequence[str], types: Sequence[Type]) -> str:
    return f"(-{args[0]})" if len(args) == 1 else f"({args[0]} - {args[1]})"


def _py_by_nonzero(symbol: str) -> PyLowering:
    def lower(args: Sequence[str], types: Sequence[Type]) -> str:
        return f"(None if {args[1]} == 0 else {args[0]} {symbol} {args[1]})"

    return lower


def _py_modulo(args: Sequence[str], types: Sequence[Type]) -> str:
    # the helpers are the Python lowering's runtime (`matcher.lower_python`)
    helper = "_imod" if all(t is Type.INT for t in types) else "_fmod"
    return f"(None if {args[1]} == 0 else {helper}({args[0]}, {args[1]}))"


def _py_call(name: str) -> PyLowering:
    def lower(args: Sequence[str], types: Sequence[Type]) -> str:
        return f"{name}({', '.join(args)})" if len(args) > 1 else args[0]

    return lower


def _py_in(args: Sequence[str], types: Sequence[Type]) -> str:
    return f"({args[0]} in {args[1]})"


def _py_unused(args: Sequence[str], types: Sequence[Type]) -> str:
    raise AssertionError("lowered by the driver")  # pragma: no cover


# -- Polars lowering -----------------------------------------------------------------------


def _pl_compare(fn: Callable[[pl.Expr, pl.Expr], pl.Expr]) -> PlLowering:
    def lower(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
        if len(args) == 2:
            return fn(args[0], args[1])
        return fn(args[0], args[1]) & fn(args[1], args[2])

    return lower


def _pl_truthy(negated: bool) -> PlLowering:
    def lower(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
        (arg,), (t,) = args, types
        if t is Type.BOOL:
            return arg.not_() if negated else arg
        empty = pl.lit("") if t is Type.STR else pl.lit(0)
        return (arg == empty) if negated else (arg != empty)

    return lower


def _pl_fold(fn: Callable[[pl.Expr, pl.Expr], pl.Expr]) -> PlLowering:
    def lower(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
        out = args[0]
        for arg in args[1:]:
            out = fn(out, arg)
        return out

    return lower


def _pl_plus(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
    if len(args) == 1:
        return args[0]
    return _pl_fold(lambda a, b: a + b)(args, types)


def _pl_minus(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
    return -args[0] if len(args) == 1 else args[0] - args[1]


def _pl_divide(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
    a, b = args
    return pl.when(b != 0).then(a.cast(pl.Float64) / b)


def _pl_modulo(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
    a, b = args
    if all(t is Type.INT for t in types):
        # Polars' `%` takes the sign of the divisor; on magnitudes both conventions agree
        rest = a.abs() % b.abs()
        return pl.when(b != 0).then(pl.when(a < 0).then(-rest).otherwise(rest))
    # Polars' float `%` is a - b * floor(a / b), inexact and NaN for 5 % inf: C's fmod instead
    known = a.is_not_null() & b.is_not_null() & (b != 0)
    return pl.when(known).then(
        pl.map_batches(
            [a.cast(pl.Float64), b.cast(pl.Float64)],
            _fmod_batches,
            return_dtype=pl.Float64,
            is_elementwise=True,
        )
    )


def _fmod_batches(columns: Sequence[pl.Series]) -> pl.Series:
    a, b = (c.to_numpy() for c in columns)
    with np.errstate(invalid="ignore", divide="ignore"):  # inf % x and x % 0 are NaN, as meant
        return pl.Series(np.fmod(a, b))


def _pl_in(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
    # Substring form; the list form is lowered by the driver, which sees the literal list.
    needle, haystack = args
    return haystack.str.contains(needle, literal=True)


def _pl_unused(args: Sequence[pl.Expr], types: Sequence[Type]) -> pl.Expr:
    raise AssertionError("lowered by the driver")  # pragma: no cover


COMPARISON_PRECEDENCE = 4

OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator(
            "==",
            2,
            2,
            _equatable,
            _py_join("=="),
            _pl_compare(lambda a, b: a == b),
            _equality(False),
            COMPARISON_PRECEDENCE,
        ),
        Operator(
            "!=",
            2,
            2,
            _equatable,
            _py_join("!="),
            _pl_compare(lambda a, b: a != b),
            _equality(True),
            COMPARISON_PRECEDENCE,
        ),
        Operator(
            "===",
            2,
            2,
            _equatable,
            _py_join("=="),
            _pl_compare(lambda a, b: a == b),
            _equality(False),
            COMPARISON_PRECEDENCE,
        ),
        Operator(
            "!==",
            2,
            2,
            _equatable,
            _py_join("!="),
            _pl_compare(lambda a, b: a != b),
            _equality(True),
            COMPARISON_PRECEDENCE,
        ),
        Operator(
            "<",
            2,
            3,
            _comparable,
            _py_chain("<"),
            _pl_compare(lambda a, b: a < b),
            _infix("<"),
            COMPARISON_PRECEDENCE,
            repeats_operands=True,
        ),
        Operator(
            "<=",
            2,
            3,
            _comparable,
            _py_chain("<="),
            _pl_compare(lambda a, b: a <= b),
            _infix("<="),
            COMPARISON_PRECEDENCE,
            repeats_operands=True,
        ),
        Operator(
            ">",
            2,
            3,
            _comparable,
            _py_chain(">"),
            _pl_compare(lambda a, b: a > b),
            _infix(">"),
            COMPARISON_PRECEDENCE,
            repeats_operands=True,
        ),
        Operator(
            ">=",
            2,
            3,
            _comparable,
            _py_chain(">="),
            _pl_compare(lambda a, b: a >= b),
            _infix(">="),
            COMPARISON_PRECEDENCE,
            repeats_operands=True,
        ),
        Operator(
            "!",
            1,
            1,
            _truthiness,
            _py_truthy(True),
            _pl_truthy(True),
            _not_words(True),
            3,
        ),
        Operator(
            "!!",
            1,
            1,
            _truthiness,
            _py_truthy(False),
            _pl_truthy(False),
            _not_words(False),
            3,
        ),
        Operator(
            "and",
            1,
            None,
            _booleans,
            _py_join("and"),
            _pl_fold(lambda a, b: a & b),
            _keyword("and"),
            2,
            nulls=Nulls.KLEENE_AND,
        ),
        Operator(
            "or",
            1,
            None,
            _booleans,
            _py_join("or"),
            _pl_fold(lambda a, b: a | b),
            _keyword("or"),
            1,
            nulls=Nulls.KLEENE_OR,
        ),
        Operator(
            "if",
            2,
            None,
            _booleans,
            _py_unused,
            _pl_unused,
            _if_words,
            0,
            nulls=Nulls.CONDITIONAL,
        ),
        Operator(
            "in",
            2,
            2,
            _substring,
            _py_in,
            _pl_in,
            _in_words,
            COMPARISON_PRECEDENCE,
            polars_null_safe=False,
        ),
        Operator(
            "+",
            1,
            None,
            _numeric_result,
            _py_join("+"),
            _pl_plus,
            _infix("+"),
            5,
            arithmetic=True,
        ),
        Operator(
            "-",
            1,
            2,
            _numeric_result,
            _py_minus,
            _pl_minus,
            _minus_words,
            5,
            arithmetic=True,
        ),
        Operator(
            "*",
            2,
            None,
            _numeric_result,
            _py_join("*"),
            _pl_fold(lambda a, b: a * b),
            _infix("*"),
            6,
            arithmetic=True,
        ),
        Operator(
            "/",
            2,
            2,
            _float_result,
            _py_by_nonzero("/"),
            _pl_divide,
            _infix("/"),
            6,
            repeats_operands=True,
            yields_null=True,
            arithmetic=True,
        ),
        Operator(
            "%",
            2,
            2,
            _numeric_result,
            _py_modulo,
            _pl_modulo,
            _infix("%"),
            6,
            repeats_operands=True,
            yields_null=True,
            arithmetic=True,
        ),
        Operator(
            "min",
            1,
            None,
            _numeric_result,
            _py_call("min"),
            lambda args, types: pl.min_horizontal(*args),
            _function("min"),
            9,
            polars_null_safe=False,
            arithmetic=True,
        ),
        Operator(
            "max",
            1,
            None,
            _numeric_result,
            _py_call("max"),
            lambda args, types: pl.max_horizontal(*args),
            _function("max"),
            9,
            polars_null_safe=False,
            arithmetic=True,
        ),
    )
}

COMPARISONS = frozenset({"==", "!=", "===", "!==", "<", "<=", ">", ">="})
