"""The pure core: application -> features -> compiled rules -> outcomes -> reasons.

No I/O beyond reading rule files; never imports FastAPI or SQLModel. Other packages use the
matcher only through the names listed here (`__all__`); its modules are internal.

`compiled` says whether the hot modules run compiled by mypyc (`matcher/_native.py`).
"""

from matcher import _native

# before any submodule is imported: where the compiled modules are looked up first
__path__, compiled = _native.search_path(list(__path__))

from lender_rules.errors import Problem, RulesetError
from matcher.application import Application, Email, Name, Phone, validation_context
from matcher.engine import (
    Decision,
    LenderOutcome,
    decide,
    evaluate,
    match,
    match_side_by_side,
    to_long,
)
from matcher.errors import (
    BadColumn,
    FeatureFrameError,
    FeatureRowError,
    InvalidNationalIdError,
    MatcherError,
    NothingActivatedError,
)
from matcher.explain import explain, explain_frame
from matcher.explanation import Hint, LenderExplanation, Reason
from matcher.feature_checks import row_problems, valid_rows
from matcher.features import (
    BIRTH_DATE_COLUMNS,
    CORRECTABLE_FEATURES,
    feature_frame,
    features_of,
    with_corrections,
)
from matcher.generate import EARLIEST_DECISION_YEAR, LATEST_DECISION_YEAR, generate
from matcher.national_id import birth_dates as national_id_birth_dates
from matcher.national_id import parse as parse_national_id
from matcher.national_id import valid_ids as national_ids_valid
from matcher.ruleset import (
    CompiledLender,
    CompiledRequirement,
    Ruleset,
    in_force,
    load_ruleset,
    ruleset_from_documents,
    ruleset_from_snapshot,
)
from matcher.schema import FEATURE_NAMES, FEATURES, Feature, polars_schema
from matcher.texts import FEATURE_WORDS

__all__ = [
    "BIRTH_DATE_COLUMNS",
    "CORRECTABLE_FEATURES",
    "EARLIEST_DECISION_YEAR",
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_WORDS",
    "LATEST_DECISION_YEAR",
    "Application",
    "BadColumn",
    "CompiledLender",
    "CompiledRequirement",
    "Decision",
    "Email",
    "Feature",
    "FeatureFrameError",
    "FeatureRowError",
    "Hint",
    "InvalidNationalIdError",
    "LenderExplanation",
    "LenderOutcome",
    "MatcherError",
    "Name",
    "NothingActivatedError",
    "Phone",
    "Problem",
    "Reason",
    "Ruleset",
    "RulesetError",
    "compiled",
    "decide",
    "evaluate",
    "explain",
    "explain_frame",
    "feature_frame",
    "features_of",
    "generate",
    "in_force",
    "load_ruleset",
    "match",
    "match_side_by_side",
    "national_id_birth_dates",
    "national_ids_valid",
    "parse_national_id",
    "polars_schema",
    "row_problems",
    "ruleset_from_documents",
    "ruleset_from_snapshot",
    "to_long",
    "valid_rows",
    "validation_context",
    "with_corrections",
]
