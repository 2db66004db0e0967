"""audit: the durable, hash-chained decision log and its store (SQLite or PostgreSQL).

`open_store(url)` gives a `Store`: `store.decisions` (`DecisionLog`), `store.rulesets`
(`RulesetStore`) and `store.api_keys` (`ApiKeyStore`, keys of named clients) on one engine.
"""

from audit.api_keys import (
    CLIENT_PATTERN,
    DEFAULT_CLIENT,
    DEMO_CLIENT,
    ApiKey,
    ApiKeyStore,
)
from audit.database import Timeouts, make_engine, migrate
from audit.decisions import DecisionLog
from audit.errors import AuditError, IdempotencyConflict, InvalidRecord, StoreUnavailable
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
    "CLIENT_PATTERN",
    "DEFAULT_CLIENT",
    "DEMO_CLIENT",
    "ApiKey",
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
    "Store",
    "StoreUnavailable",
    "StoredDecision",
    "Timeouts",
    "VerifyReport",
    "make_engine",
    "migrate",
    "open_store",
]
