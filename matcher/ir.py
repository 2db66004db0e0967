"""The typed intermediate form of a rule: what the compiler produces and both lowerings read.

A node knows its type and whether it can be null. Nullability is static: a node is nullable
when it reads a nullable feature without a default, or when its operator can yield null on
non-null operands (division or remainder by zero, a float result that is NaN).

What later stages work out from a node (its compiled Python function, how it moves as a
feature grows) is kept on the node itself, in `Node.derived`: it lives exactly as long as the
node, and so as the ruleset the node belongs to; no module-level cache keeps rules alive.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from matcher.schema import Type

if TYPE_CHECKING:
    from matcher.operators import Operator

Scalar = bool | int | float | str


class Derived:
    """What is worked out from a node once and kept with it; not part of the node's value
    (nodes compare and hash without it). Filled by `matcher.lower_python` (`python`) and
    `matcher.hints` (`directions`) and `matcher.reasons` (`threshold`)."""

    __slots__ = ("directions", "python", "threshold")

    def __init__(self) -> None:
        # the node as a Python function of a feature row
        self.python: Callable[[dict[str, Any]], Any] | None = None
        # per variable: whether the node moves the same way in it for every row, and how
        self.directions: dict[str, tuple[bool, int | None]] = {}
        # the threshold of a requirement's rule, when it does not depend on the row
        # (`matcher.reasons`): a 1-tuple of the value, or of a marker that it does
        self.threshold: tuple[Any] | None = None


@dataclass(frozen=True)
class Const:
    """A literal value."""

    value: Scalar
    type: Type
    path: str
    nullable: bool = False
    derived: Derived = field(default_factory=Derived, init=False, repr=False, compare=False)

    @property
    def features(self) -> frozenset[str]:
        return frozenset()


@dataclass(frozen=True)
class ListConst:
    """A literal list of values of one type: the right-hand side of `in`."""

    values: tuple[Scalar, ...]
    type: Type  # the element type
    path: str
    nullable: bool = False
    derived: Derived = field(default_factory=Derived, init=False, repr=False, compare=False)

    @property
    def features(self) -> frozenset[str]:
        return frozenset()


@dataclass(frozen=True)
class Var:
    """A feature read, optionally with a default that replaces null."""

    name: str
    type: Type
    path: str
    default: Const | None = None
    nullable: bool = False
    derived: Derived = field(default_factory=Derived, init=False, repr=False, compare=False)

    @property
    def features(self) -> frozenset[str]:
        return frozenset({self.name})


@dataclass(frozen=True)
class Call:
    """An operator applied to operands."""

    op: Operator
    args: tuple[Node, ...]
    type: Type
    path: str
    nullable: bool
    features: frozenset[str] = field(default=frozenset())
    nan_to_null: bool = False  # a float result that may be NaN, which becomes null
    derived: Derived = field(default_factory=Derived, init=False, repr=False, compare=False)


Node = Const | ListConst | Var | Call


def walk(node: Node) -> list[Node]:
    """Every node of a tree, parents before children."""
    out: list[Node] = [node]
    if isinstance(node, Call):
        for arg in node.args:
            out.extend(walk(arg))
    return out
