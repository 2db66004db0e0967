"""audit: the durable, hash-chained decision log and its store (SQLite or PostgreSQL)."""

from audit.database import make_engine, migrate
from audit.errors import AuditError, IdempotencyConflict, InvalidRecord, StoreUnavailable
from audit.records import (
    CHANNELS,
    ROLES,
    DecisionLike,
    OutcomeLike,
    RulesetLike,
    RulesetVersion,
    StoredDecision,
    VerifyReport,
)
from audit.store import DecisionStore, open_store

__all__ = [
    "CHANNELS",
    "ROLES",
    "AuditError",
    "DecisionLike",
    "DecisionStore",
    "IdempotencyConflict",
    "InvalidRecord",
    "OutcomeLike",
    "RulesetLike",
    "RulesetVersion",
    "StoreUnavailable",
    "StoredDecision",
    "VerifyReport",
    "make_engine",
    "migrate",
    "open_store",
]
