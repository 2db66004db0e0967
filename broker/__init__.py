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
    BatchColumnError,
    BatchInputError,
    BatchOutputError,
    BatchRowError,
    BrokerError,
    DecisionNotFoundError,
    DevelopmentKeysError,
    EngineUnavailableError,
    NoActiveRulesetError,
    ProcessingRestrictedError,
    SnapshotMissingError,
    SnapshotTamperedError,
    SubjectNotFoundError,
)
from broker.reproduction import Reproduction, reproduce
from broker.rescoring import Engine, Impact, LenderCounts, local_engine, rescore_file
from broker.rescoring_ray import ray_engine
from broker.restrictions import ensure_unrestricted, restricted
from broker.retention import PurgeReport, RetentionPeriods, purge
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
    "BatchColumnError",
    "BatchInputError",
    "BatchOutputError",
    "BatchRecorder",
    "BatchRowError",
    "BrokerError",
    "CompiledRulesets",
    "DecisionNotFoundError",
    "DevelopmentKeysError",
    "Engine",
    "EngineUnavailableError",
    "Impact",
    "LenderChange",
    "LenderCounts",
    "NoActiveRulesetError",
    "ProcessingRestrictedError",
    "PurgeReport",
    "RecordedDecision",
    "Reproduction",
    "RequirementChange",
    "RetentionPeriods",
    "RulesInForce",
    "RulesetDiff",
    "Settings",
    "SnapshotMissingError",
    "SnapshotTamperedError",
    "SubjectNotFoundError",
    "count_rows",
    "decide_and_record",
    "diff_rulesets",
    "ensure_unrestricted",
    "erase",
    "explain_stored",
    "export",
    "get_settings",
    "lift_restriction",
    "local_engine",
    "match_file",
    "normalised_national_id",
    "people_in_payload",
    "personal_keys",
    "purge",
    "ray_engine",
    "rectify",
    "reproduce",
    "request_digest",
    "rescore_file",
    "restrict",
    "restricted",
    "stored_decision",
    "stored_ruleset",
    "write_atomically",
]
