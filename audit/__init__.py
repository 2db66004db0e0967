"""audit: the durable, hash-chained decision log and its store (SQLite or PostgreSQL).

`open_store(url)` gives a `Store`: `store.decisions` (`DecisionLog`), `store.rulesets`
(`RulesetStore`), `store.api_keys` (`ApiKeyStore`, keys of named clients),
`store.reviews` (`ReviewStore`, review requests and manual decisions) and
`store.caseworkers` (`CaseworkerStore`, users of the review screen);
`store.verify()` checks everything a decision depends on. Signed checkpoints of the chains'
heads, kept outside the database, are written and read by `write_checkpoint` and
`newest_checkpoint`.
"""

from audit.api_keys import (
    CLIENT_PATTERN,
    DEFAULT_CLIENT,
    DEMO_CLIENT,
    ApiKey,
    ApiKeyStore,
)
from audit.batch_decisions import PER_TRANSACTION as BATCH_PER_TRANSACTION
from audit.batch_decisions import BatchDecisionLog, BatchWritten, BulkRows
from audit.caseworkers import MIN_PASSWORD_LENGTH, USER_NAME_PATTERN, Caseworker, CaseworkerStore
from audit.checkpoints import (
    Checkpoint,
    checkpoint_public_key,
    new_checkpoint_keys,
    newest_checkpoint,
    write_checkpoint,
)
from audit.database import Timeouts, make_engine, migrate
from audit.decisions import CanonicalText, DecisionLog, HeldApplication
from audit.errors import (
    AuditError,
    CheckpointError,
    CheckpointKeyError,
    DataKeyError,
    IdempotencyConflict,
    InvalidRecord,
    ReviewAlreadyDecided,
    ReviewAlreadyOpen,
    ReviewNotFound,
    ReviewStateConflict,
    SnapshotMismatch,
    StoreUnavailable,
)
from audit.ids import time_ordered_id
from audit.personal_keys import DEVELOPMENT_DATA_KEYS, DEVELOPMENT_SUBJECT_KEY, PersonalKeys
from audit.records import (
    AuditReport,
    DecisionLike,
    Finding,
    Heads,
    OutcomeLike,
    RedactionSummary,
    RulesetLike,
    RulesetVersion,
    StoredDecision,
    VerifyReport,
)
from audit.reviews import (
    CaseViewed,
    ContestedLender,
    ReviewEvent,
    ReviewStore,
    ReviewView,
    StoredReview,
    without_free_text,
)
from audit.rulesets import RulesetStore
from audit.store import Store, open_store
from audit.subjects import (
    ApplicationErased,
    Correction,
    ErasureItem,
    IdentityCheck,
    Restriction,
    SubjectLink,
    SubjectStore,
)

__all__ = [
    "BATCH_PER_TRANSACTION",
    "CLIENT_PATTERN",
    "DEFAULT_CLIENT",
    "DEMO_CLIENT",
    "DEVELOPMENT_DATA_KEYS",
    "DEVELOPMENT_SUBJECT_KEY",
    "MIN_PASSWORD_LENGTH",
    "USER_NAME_PATTERN",
    "ApiKey",
    "ApiKeyStore",
    "ApplicationErased",
    "AuditError",
    "AuditReport",
    "BatchDecisionLog",
    "BatchWritten",
    "BulkRows",
    "CanonicalText",
    "CaseViewed",
    "Caseworker",
    "CaseworkerStore",
    "Checkpoint",
    "CheckpointError",
    "CheckpointKeyError",
    "ContestedLender",
    "Correction",
    "DataKeyError",
    "DecisionLike",
    "DecisionLog",
    "ErasureItem",
    "Finding",
    "Heads",
    "HeldApplication",
    "IdempotencyConflict",
    "IdentityCheck",
    "InvalidRecord",
    "OutcomeLike",
    "PersonalKeys",
    "RedactionSummary",
    "Restriction",
    "ReviewAlreadyDecided",
    "ReviewAlreadyOpen",
    "ReviewEvent",
    "ReviewNotFound",
    "ReviewStateConflict",
    "ReviewStore",
    "ReviewView",
    "RulesetLike",
    "RulesetStore",
    "RulesetVersion",
    "SnapshotMismatch",
    "Store",
    "StoreUnavailable",
    "StoredDecision",
    "StoredReview",
    "SubjectLink",
    "SubjectStore",
    "Timeouts",
    "VerifyReport",
    "checkpoint_public_key",
    "make_engine",
    "migrate",
    "new_checkpoint_keys",
    "newest_checkpoint",
    "open_store",
    "time_ordered_id",
    "without_free_text",
    "write_checkpoint",
]
