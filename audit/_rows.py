"""Stored rows of the `decision` table turned into records."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Table
from sqlmodel import SQLModel

from audit import _chain
from audit.records import StoredDecision
from lender_rules.canonical import restore_infinities


def decision_table() -> Table:
    return SQLModel.metadata.tables["decision"]


def to_chain_row(row: Any) -> _chain.ChainRow:
    """The columns `verify` checks, from anything with the decision columns as attributes."""
    return _chain.ChainRow(
        seq=int(row.seq),
        decision_id=row.decision_id,
        application_id=row.application_id,
        channel=row.channel,
        decided_at=_chain.utc(row.decided_at),
        ruleset_hash=row.ruleset_hash,
        features_json=row.features_json,
        outcomes_json=row.outcomes_json,
        personal_digest=row.personal_digest,
        idempotency_key=row.idempotency_key,
        request_digest=row.request_digest,
        payload_digest=row.payload_digest,
        prev_hash=row.prev_hash,
        record_hash=row.record_hash,
        client=row.client,
        review_json=row.review_json,
    )


def to_stored(row: Any) -> StoredDecision:
    """A `StoredDecision` (JSON decoded, +inf restored), from the decision columns.

    +inf is stored as `"Infinity"` (canonical JSON); rows written by lendmatch 0.1 hold the
    bare `Infinity`, which `json.loads` reads as well."""
    outcomes = tuple(
        (str(lender), int(failed), int(unknown))
        for lender, failed, unknown in json.loads(row.outcomes_json)
    )
    redacted = row.features_json == _chain.REDACTED_FEATURES
    return StoredDecision(
        seq=int(row.seq),
        decision_id=row.decision_id,
        application_id=row.application_id,
        channel=row.channel,
        decided_at=_chain.utc(row.decided_at),
        ruleset_hash=row.ruleset_hash,
        features={} if redacted else restore_infinities(json.loads(row.features_json)),
        outcomes=outcomes,
        personal_digest=row.personal_digest,
        idempotency_key=row.idempotency_key,
        request_digest=row.request_digest,
        payload_digest=row.payload_digest,
        prev_hash=row.prev_hash,
        record_hash=row.record_hash,
        client=row.client,
        review=None if row.review_json is None else json.loads(row.review_json),
        redacted=redacted,
    )
