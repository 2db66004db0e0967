"""A lender's compiled requirements (`CompiledRequirement`, `CompiledLender`): what a
`Ruleset` holds per lender, with what the explanations and hints work out for it.

Apart from `ruleset.py` because these run compiled (`matcher/_native.py`: the explanations
read them per rejected lender), while a `Ruleset` is weak-referenced (the engine's plans).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from lender_rules.vocabulary import DEFAULT_LANGUAGE, Language
from matcher.hints import Analysis
from matcher.ir import Node
from matcher.lower_python import Bits, Row


@dataclass(frozen=True, eq=False)
class CompiledRequirement:
    """One requirement, type-checked, with its position in the lender's bitmask."""

    lender_id: str
    id: str
    index: int
    node: Node
    reason: Mapping[str, str]
    plain_words: Mapping[str, str] = field(repr=False)  # by language
    rule_key: str = field(
        repr=False, default=""
    )  # canonical JSON of the rule: equal rules, equal keys
    # per language, what its reasons are made of (`matcher.reasons`), worked out once
    told: dict[str, Any] = field(default_factory=dict, init=False, repr=False)
    # worked out from the above when made (`__post_init__`)
    bit: int = field(default=0, init=False, repr=False)
    code: str = field(default="", init=False, repr=False)
    """The stable code of the requirement in explanations: `<lender_id>.<id>`."""
    reads_in_order: tuple[str, ...] = field(default=(), init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "bit", 1 << self.index)
        object.__setattr__(self, "code", f"{self.lender_id}.{self.id}")
        object.__setattr__(self, "reads_in_order", tuple(sorted(self.node.features)))

    @property
    def reads(self) -> frozenset[str]:
        """The features the rule reads."""
        return self.node.features

    def plain(self, lang: Language = DEFAULT_LANGUAGE) -> str:
        """The rule in plain words in `lang`, one of LANGUAGES (else `KeyError`).

        `str`, not `Language`, while callers (the CLI's `--lang`) hold a language as a `str`."""
        return self.plain_words[lang]


@dataclass(frozen=True, eq=False)
class CompiledLender:
    """A lender with its requirements compiled twice: Python for one row, Polars for frames."""

    lender_id: str
    name: str
    markets: tuple[str, ...]
    effective_from: dt.date | None
    requirements: tuple[CompiledRequirement, ...]
    evaluate: Callable[[Row], Bits] = field(repr=False)
    # what the hint search has worked out from these requirements, kept as long as they are
    analysis: Analysis = field(default_factory=Analysis, init=False, repr=False)

    def requirement(self, requirement_id: str) -> CompiledRequirement:
        for r in self.requirements:
            if r.id == requirement_id:
                return r
        raise KeyError(requirement_id)
