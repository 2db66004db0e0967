"""audit: the durable, hash-chained decision log and its store (SQLite or PostgreSQL).

`open_store(url)` gives a `Store`: `store.decisions` (`DecisionLog`), `store.rulesets`
(`RulesetStore`) and `store.api_keys` (`ApiKeyStore`) on one engine.
"""

from audit.api_keys import ApiKeyStore
from audit.database import make_engine, migrate
from audit.decisions import DecisionLog
from audit.errors import (
    AuditError,
    IdempotencyConflict,
    InvalidRecord,
    SnapshotMismatch,
    StoreUnavailable,
)
from audit.records import (
    DecisionLike,
    OutcomeLike,
    RulesetLike,
    RulesetVersion,
    StoredDecision,
    VerifyReport,
)
from audit.rulesets import RulesetStore
from audit.store import Store, open_store

__all__ = [
    "ApiKeyStore",
    "AuditError",
    "DecisionLike",
    "DecisionLog",
    "IdempotencyConflict",
    "InvalidRecord",
    "OutcomeLike",
    "RulesetLike",
    "RulesetStore",
    "RulesetVersion",
    "SnapshotMismatch",
    "Store",
    "StoreUnavailable",
    "StoredDecision",
    "VerifyReport",
    "make_engine",
    "migrate",
    "open_store",
]
