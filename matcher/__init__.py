"""The pure core: application -> features -> compiled rules -> outcomes -> reasons.

No I/O beyond reading rule files; never imports FastAPI or SQLModel.
"""

from lender_rules.errors import Problem, RulesetError
from matcher.application import Application
from matcher.engine import Decision, LenderOutcome, decide, evaluate, match, to_long
from matcher.errors import InvalidNationalIdError, MatcherError, NothingActivatedError
from matcher.explain import Hint, LenderExplanation, Reason, explain
from matcher.features import feature_frame, features_of
from matcher.ruleset import (
    CompiledLender,
    CompiledRequirement,
    Ruleset,
    in_force,
    load_ruleset,
    ruleset_from_documents,
    ruleset_from_snapshot,
)

__all__ = [
    "Application",
    "CompiledLender",
    "CompiledRequirement",
    "Decision",
    "Hint",
    "InvalidNationalIdError",
    "LenderExplanation",
    "LenderOutcome",
    "MatcherError",
    "NothingActivatedError",
    "Problem",
    "Reason",
    "Ruleset",
    "RulesetError",
    "decide",
    "evaluate",
    "explain",
    "feature_frame",
    "features_of",
    "in_force",
    "load_ruleset",
    "match",
    "ruleset_from_documents",
    "ruleset_from_snapshot",
    "to_long",
]
