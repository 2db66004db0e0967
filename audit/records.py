"""What the store hands out (frozen records) and what it accepts (structural protocols).

The protocols describe `matcher.Decision`, `matcher.LenderOutcome` and `matcher.Ruleset` by
the attributes the store reads, so the store also records plain test doubles.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class OutcomeLike(Protocol):
    """One lender's outcome: bitmasks of failed and unknown requirements (ints < 2**64)."""

    @property
    def lender_id(self) -> str: ...

    @property
    def failed(self) -> int: ...

    @property
    def unknown(self) -> int: ...


class DecisionLike(Protocol):
    """An automated decision as the matcher makes it (`matcher.Decision`)."""

    @property
    def ruleset_hash(self) -> str: ...

    @property
    def decided_at(self) -> datetime: ...

    @property
    def features(self) -> Mapping[str, Any]: ...

    @property
    def outcomes(self) -> Sequence[OutcomeLike]: ...


class RulesetLike(Protocol):
    """A loaded ruleset (`matcher.Ruleset`): its content hash and canonical snapshot."""

    @property
    def hash(self) -> str: ...

    def snapshot(self) -> str: ...


@dataclass(frozen=True)
class StoredDecision:
    """A decision as it was stored: a link of the hash chain."""

    seq: int
    decision_id: str
    application_id: str
    channel: str
    decided_at: datetime  # UTC, timezone-aware
    ruleset_hash: str
    features: dict[str, Any]  # the feature row; debt_to_income may be float('inf')
    outcomes: tuple[tuple[str, int, int], ...]  # (lender_id, failed, unknown) per lender
    personal_digest: str | None
    idempotency_key: str | None
    request_digest: str | None
    payload_digest: str
    prev_hash: str
    record_hash: str
    client: str | None = None  # who asked (the API key's client); None without a client
    review: dict[str, Any] | None = None  # a manual decision's review part (`audit.reviews`)
    redacted: bool = False  # its features were redacted (erasure, retention): `features` is {}


@dataclass(frozen=True)
class VerifyReport:
    """The result of walking the chain: ok, or the first record that is wrong and why."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str
    first_bad_decision_id: str | None = None
    head: str | None = None  # the chain head the walk ended at, as `DecisionLog.head()`
    redacted: int = 0  # records whose personal columns were redacted, as recorded


@dataclass(frozen=True)
class RulesetVersion:
    """A stored ruleset snapshot and whether it is the active one."""

    hash: str
    created_at: datetime
    activated_at: datetime | None  # the latest activation; None if never activated
    active: bool


@dataclass(frozen=True)
class Finding:
    """One thing `verify` found wrong: where (a record, snapshot, activation, payload,
    erasure or checkpoint, named so a person can find it) and why."""

    where: str
    reason: str


@dataclass(frozen=True)
class RedactionSummary:
    """Redacted records grouped by day and reason: how many, when, why."""

    day: str  # ISO date (UTC)
    reason: str
    records: int


@dataclass(frozen=True)
class Heads:
    """The heads of every chain of the store, each `<seq>:<hash>`: what a checkpoint keeps."""

    decisions: str
    activations: str
    erasures: str
    redactions: str | None = None  # None in checkpoints written before redactions existed
    subject_requests: str | None = None  # None in checkpoints written before it was chained


@dataclass(frozen=True)
class AuditReport:
    """Everything `Store.verify` checked: the decision chain (`chain`, the first bad record),
    and every other problem found (`findings`: snapshots, activations, personal payloads,
    erasures). `heads` are the heads verified, ready to be kept in a checkpoint."""

    chain: VerifyReport
    findings: tuple[Finding, ...]
    heads: Heads
    snapshots: int
    activations: int
    payloads: int
    erased: int
    redactions: tuple[RedactionSummary, ...] = ()  # redacted records per day and reason
    subject_requests: int = 0  # recorded data-subject requests and purges, chained

    @property
    def redacted(self) -> int:
        """How many records are redacted (erasure, retention), each recorded."""
        return self.chain.redacted

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.findings
