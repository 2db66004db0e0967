"""The broker's workflows, between the ways in (`api`, `cli`) and the core (`matcher`, `audit`).

The rules in force and compiled rulesets by hash, decide-and-record, reproduce, the streaming
batch loop, re-scoring, manual review (`review`: the caseworker's side; `review_requests`:
the applicant's); later subject rights and forwarding. Never imports FastAPI,
Starlette, Typer or rich: it raises its own errors (`broker.errors`), and the ways in turn
them into answers.
"""

from broker.batch import CHUNK_ROWS, FILE_CHUNK_ROWS, count_rows, match_file, write_atomically
from broker.batch_decisions import BatchRecorder
from broker.decisions import (
    RecordedDecision,
    decide_and_record,
    explain_stored,
    request_digest,
    stored_decision,
)
from broker.errors import (
    AlreadyDecidedError,
    BatchColumnError,
    BatchInputError,
    BatchOutputError,
    BatchRowError,
    BrokerError,
    DecisionNotFoundError,
    DevelopmentKeysError,
    EngineUnavailableError,
    NoActiveRulesetError,
    NothingToReviewError,
    ProcessingRestrictedError,
    ReviewAlreadyOpenError,
    ReviewConflictError,
    ReviewInputError,
    ReviewNotFoundError,
    SnapshotMissingError,
    SnapshotTamperedError,
    SubjectNotFoundError,
)
from broker.manual_decisions import VERDICTS, Verdict, overridden_lenders
from broker.reproduction import Reproduction, reproduce
from broker.rescoring import Engine, Impact, LenderCounts, local_engine, rescore_file
from broker.rescoring_ray import ray_engine
from broker.rescoring_store import count_applications, rescore_store
from broker.restrictions import ensure_unrestricted, restricted
from broker.retention import PurgeReport, RetentionPeriods, purge
from broker.review import (
    REVIEW_STATUSES,
    Case,
    CaseEvent,
    CaseSummary,
    CaseView,
    LenderVerdict,
    LenderView,
    ManualDecision,
    QueuePage,
    ReviewStatus,
    assign,
    decide,
    extend,
    open_case,
    queue,
    what_if,
)
from broker.review_deadlines import MAX_EXTENSION_MONTHS, add_months, due_date
from broker.review_requests import (
    LenderRuling,
    ReviewRequestStatus,
    request_review,
    review_status,
)
from broker.ruleset_diff import LenderChange, RequirementChange, RulesetDiff, diff_rulesets
from broker.rulesets import ACTIVE, CompiledRulesets, RulesInForce, stored_ruleset
from broker.settings import Settings, get_settings, personal_keys
from broker.subject_ids import normalised as normalised_national_id
from broker.subject_ids import people_in_payload
from broker.subjects import (
    CATEGORY_PROVIDERS,
    EXPORT_SCHEMA_FILE,
    EXPORT_SCHEMA_URL,
    erase,
    export,
    lift_restriction,
    rectify,
    restrict,
)

__all__ = [
    "ACTIVE",
    "CATEGORY_PROVIDERS",
    "CHUNK_ROWS",
    "EXPORT_SCHEMA_FILE",
    "EXPORT_SCHEMA_URL",
    "FILE_CHUNK_ROWS",
    "MAX_EXTENSION_MONTHS",
    "REVIEW_STATUSES",
    "VERDICTS",
    "AlreadyDecidedError",
    "BatchColumnError",
    "BatchInputError",
    "BatchOutputError",
    "BatchRecorder",
    "BatchRowError",
    "BrokerError",
    "Case",
    "CaseEvent",
    "CaseSummary",
    "CaseView",
    "CompiledRulesets",
    "DecisionNotFoundError",
    "DevelopmentKeysError",
    "Engine",
    "EngineUnavailableError",
    "Impact",
    "LenderChange",
    "LenderCounts",
    "LenderRuling",
    "LenderVerdict",
    "LenderView",
    "ManualDecision",
    "NoActiveRulesetError",
    "NothingToReviewError",
    "ProcessingRestrictedError",
    "PurgeReport",
    "QueuePage",
    "RecordedDecision",
    "Reproduction",
    "RequirementChange",
    "RetentionPeriods",
    "ReviewAlreadyOpenError",
    "ReviewConflictError",
    "ReviewInputError",
    "ReviewNotFoundError",
    "ReviewRequestStatus",
    "ReviewStatus",
    "RulesInForce",
    "RulesetDiff",
    "Settings",
    "SnapshotMissingError",
    "SnapshotTamperedError",
    "SubjectNotFoundError",
    "Verdict",
    "add_months",
    "assign",
    "count_applications",
    "count_rows",
    "decide",
    "decide_and_record",
    "diff_rulesets",
    "due_date",
    "ensure_unrestricted",
    "erase",
    "explain_stored",
    "export",
    "extend",
    "get_settings",
    "lift_restriction",
    "local_engine",
    "match_file",
    "normalised_national_id",
    "open_case",
    "overridden_lenders",
    "people_in_payload",
    "personal_keys",
    "purge",
    "queue",
    "ray_engine",
    "rectify",
    "reproduce",
    "request_digest",
    "request_review",
    "rescore_file",
    "rescore_store",
    "restrict",
    "restricted",
    "review_status",
    "stored_decision",
    "stored_ruleset",
    "what_if",
    "write_atomically",
]
