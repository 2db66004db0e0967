"""The broker's workflows, between the ways in (`api`, `cli`) and the core (`matcher`, `audit`).

The rules in force and compiled rulesets by hash, decide-and-record, reproduce, the streaming
batch loop; later review, re-scoring, subject rights and forwarding. Never imports FastAPI,
Starlette, Typer or rich: it raises its own errors (`broker.errors`), and the ways in turn
them into answers.
"""

from broker.batch import CHUNK_ROWS, count_rows, match_file, write_atomically
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
    EngineUnavailableError,
    NoActiveRulesetError,
    ReviewConflictError,
    ReviewInputError,
    ReviewNotFoundError,
    SnapshotMissingError,
    SnapshotTamperedError,
)
from broker.reproduction import Reproduction, reproduce
from broker.rescoring import Engine, Impact, LenderCounts, local_engine, rescore_file
from broker.rescoring_ray import ray_engine
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
    Verdict,
    assign,
    decide,
    extend,
    open_case,
    queue,
    what_if,
)
from broker.ruleset_diff import LenderChange, RequirementChange, RulesetDiff, diff_rulesets
from broker.rulesets import ACTIVE, CompiledRulesets, RulesInForce, stored_ruleset
from broker.settings import Settings, get_settings

__all__ = [
    "ACTIVE",
    "CHUNK_ROWS",
    "REVIEW_STATUSES",
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
    "Engine",
    "EngineUnavailableError",
    "Impact",
    "LenderChange",
    "LenderCounts",
    "LenderVerdict",
    "LenderView",
    "ManualDecision",
    "NoActiveRulesetError",
    "QueuePage",
    "RecordedDecision",
    "Reproduction",
    "RequirementChange",
    "ReviewConflictError",
    "ReviewInputError",
    "ReviewNotFoundError",
    "ReviewStatus",
    "RulesInForce",
    "RulesetDiff",
    "Settings",
    "SnapshotMissingError",
    "SnapshotTamperedError",
    "Verdict",
    "assign",
    "count_rows",
    "decide",
    "decide_and_record",
    "diff_rulesets",
    "explain_stored",
    "extend",
    "get_settings",
    "local_engine",
    "match_file",
    "open_case",
    "queue",
    "ray_engine",
    "reproduce",
    "request_digest",
    "rescore_file",
    "stored_decision",
    "stored_ruleset",
    "what_if",
    "write_atomically",
]
