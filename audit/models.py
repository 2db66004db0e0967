"""The tables of the decision store (SQLModel). The schema itself is owned by the migrations.

`decision` is the append-only, hash-chained log; `personal_data` holds what can be erased;
`chain_head` is the single row that serialises appends; `ruleset_version` and
`ruleset_activation` keep every ruleset snapshot and when it became active;
`personal_erasure` records each erasure of a personal payload (when and why); the
activations and the erasures are hash-chained ledgers (`audit._ledger`) whose heads are the
rows of `ledger_head`; `api_key` holds hashed keys, each of one client; `caseworker` holds
the people who sign in to the review screen (a password hash, never a password).

Reviews (`audit.reviews`): `review_request` is an applicant's request for a person to look at
an automated decision (one open per application: `open_for` holds the application id while
the request is open, NULL once decided, and is unique); `review_lender` the lenders it
contests (and, once decided, each one's verdict, the explanation for the applicant and the
internal note); `review_event` its history; `case_view` every view of the case by a
caseworker. The manual decision itself is a record of the chain (`decision`, channel
`manual`, with its `review_json`).

Data-subject rights (migration 0004): `personal_data` is encrypted (AES-GCM, `key_id` names
the data key); `decision_redaction` is the ledger of redacted records (`audit._redaction`);
`subject_link` finds a person's applications by the keyed hash of their national id;
`subject_restriction` holds restrictions of processing; `subject_correction` rectifications;
`identity_check` the identity checks kept under anti-money-laundering law after their
application's data is gone; `subject_request` records what each
export, erasure, rectification, restriction and retention purge did.

Clients: every API key belongs to a named client (`api_key.client`), and every decision made
through the API records the client of the key that asked (`decision.client`; NULL for
decisions made without one, as batch re-scoring). Idempotency keys are unique per client.
Keys and decisions from before clients existed belong to `DEFAULT_CLIENT`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

DIGEST_LENGTH = 64  # sha256, lower-case hex
GENESIS_HASH = "0" * DIGEST_LENGTH
_SUBJECT_HASH = String(DIGEST_LENGTH).with_variant(
    String(DIGEST_LENGTH, collation="C"), "postgresql"
)
"""A subject hash's column: compared byte by byte on PostgreSQL (migration 0010; SQLite's
text comparison already is)."""
CLIENT_LENGTH = 64
DEFAULT_CLIENT = "default"  # the client of keys and decisions from before clients existed


class DecisionRow(SQLModel, table=True):
    """One automated decision: a link of the chain. Never updated, never deleted."""

    __tablename__ = "decision"
    __table_args__ = (
        # unique among the decisions that have a key (migration 0009): a batch decision adds
        # no index entry
        Index(
            "uq_decision_client_idempotency_key",
            "client",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
            sqlite_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    decision_id: str = Field(sa_column=Column(String(36), nullable=False, unique=True))
    application_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    decided_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ruleset_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    features_json: str = Field(sa_column=Column(Text, nullable=False))
    outcomes_json: str = Field(sa_column=Column(Text, nullable=False))
    personal_digest: str | None = Field(
        default=None, sa_column=Column(String(DIGEST_LENGTH), nullable=True)
    )
    client: str | None = Field(
        default=None, sa_column=Column(String(CLIENT_LENGTH), nullable=True)
    )  # not part of the chained payload: who may read the decision, not what was decided
    idempotency_key: str | None = Field(default=None, sa_column=Column(String(255), nullable=True))
    request_digest: str | None = Field(
        default=None, sa_column=Column(String(DIGEST_LENGTH), nullable=True)
    )
    review_json: str | None = Field(
        default=None, sa_column=Column(Text, nullable=True)
    )  # a manual decision's review (channel `manual`): chained when present (`audit._chain`)
    payload_digest: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    prev_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    record_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))


class PersonalDataRow(SQLModel, table=True):
    """The erasable personal payload of an application (names, national ids, contact)."""

    __tablename__ = "personal_data"

    application_id: str = Field(sa_column=Column(String(64), primary_key=True))
    salt: str = Field(sa_column=Column(String(32), nullable=False))
    payload_json: str = Field(
        sa_column=Column(Text, nullable=False)
    )  # AES-GCM ciphertext (base64) under the data key `key_id`; clear JSON when it is NULL
    key_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ChainHeadRow(SQLModel, table=True):
    """The single row naming the last link of the chain; locked by every append."""

    __tablename__ = "chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="chain_head_single_row"),)

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))


class RulesetVersionRow(SQLModel, table=True):
    """A ruleset snapshot (canonical JSON of every lender file), keyed by its sha256."""

    __tablename__ = "ruleset_version"

    hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), primary_key=True))
    snapshot: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class RulesetActivationRow(SQLModel, table=True):
    """One activation of a ruleset version; the latest activation is the active ruleset."""

    __tablename__ = "ruleset_activation"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    ruleset_hash: str = Field(
        sa_column=Column(String(DIGEST_LENGTH), ForeignKey("ruleset_version.hash"), nullable=False)
    )
    activated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    prev_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    record_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))


class PersonalErasureRow(SQLModel, table=True):
    """One erasure of an application's personal payload: when, why, and up to which of its
    decision records (the payload those records' digests describe is gone on purpose)."""

    __tablename__ = "personal_erasure"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    application_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    decision_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    erased_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    record_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))


class DecisionRedactionRow(SQLModel, table=True):
    """One redacted decision record: when, why, and the digests that keep it verifiable
    (`audit._redaction`): its payload digest, and a digest of the columns it kept."""

    __tablename__ = "decision_redaction"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    decision_seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    payload_digest: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    kept_digest: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    redacted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    record_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))


class SubjectLinkRow(SQLModel, table=True):
    """An application's link to a person, by the keyed hash (HMAC) of their national id and
    their role on it (applicant, co_applicant): no national id is stored in clear."""

    __tablename__ = "subject_link"
    __table_args__ = (
        # migration 0011: keyed by application first (a batch's ids ascend: its links go in
        # at the end of the key), found by person through a hash index on PostgreSQL (the
        # btree led by random hashes made links ~40% of the server's time per --apply record)
        PrimaryKeyConstraint("application_id", "role", "subject_hash", name="pk_subject_link"),
        Index("ix_subject_link_subject_hash", "subject_hash", postgresql_using="hash"),
    )

    subject_hash: str = Field(sa_column=Column(_SUBJECT_HASH, nullable=False))
    application_id: str = Field(sa_column=Column(String(64), nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))


class SubjectRestrictionRow(SQLModel, table=True):
    """A restriction of processing (GDPR art. 18) of one person's applications, by keyed hash."""

    __tablename__ = "subject_restriction"

    subject_hash: str = Field(sa_column=Column(_SUBJECT_HASH, primary_key=True))
    restricted_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))


class SubjectCorrectionRow(SQLModel, table=True):
    """A rectification of one application's personal details (GDPR art. 16): the corrected
    values, encrypted like the payload; the decisions already made are left as they were."""

    __tablename__ = "subject_correction"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    application_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    key_id: str = Field(sa_column=Column(String(32), nullable=False))
    corrections: str = Field(sa_column=Column(Text, nullable=False))  # ciphertext (base64)


class IdentityCheckRow(SQLModel, table=True):
    """The identity check of one person on one application (name and national id, sealed),
    kept under anti-money-laundering law until `keep_until`, also after an erasure."""

    __tablename__ = "identity_check"

    application_id: str = Field(sa_column=Column(String(64), primary_key=True))
    role: str = Field(sa_column=Column(String(16), primary_key=True))
    checked_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    keep_until: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, index=True)
    )
    key_id: str = Field(sa_column=Column(String(32), nullable=False))
    identity: str = Field(sa_column=Column(Text, nullable=False))  # ciphertext (base64)


class SubjectRequestRow(SQLModel, table=True):
    """A data-subject request or retention purge carried out: what kind, when, and what was
    done (counts and application ids; never the erased data); chained (`audit._ledger`)."""

    __tablename__ = "subject_request"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    kind: str = Field(sa_column=Column(String(32), nullable=False))
    done_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    summary_json: str = Field(sa_column=Column(Text, nullable=False))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False, unique=True))
    prev_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))
    record_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))


class LedgerHeadRow(SQLModel, table=True):
    """The head of one ledger (`ruleset_activation`, `personal_erasure`); locked by appends."""

    __tablename__ = "ledger_head"

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False))


class ApiKeyRow(SQLModel, table=True):
    """An API key: only the sha256 of its secret is stored."""

    __tablename__ = "api_key"

    key_id: str = Field(sa_column=Column(String(32), primary_key=True))
    secret_hash: str = Field(sa_column=Column(String(DIGEST_LENGTH), nullable=False, unique=True))
    client: str = Field(
        default=DEFAULT_CLIENT, sa_column=Column(String(CLIENT_LENGTH), nullable=False)
    )
    role: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )


REVIEW_STATUS_LENGTH = 16
USER_LENGTH = 64  # a caseworker's user name


class ReviewRequestRow(SQLModel, table=True):
    """An applicant's request for human review of an automated decision."""

    __tablename__ = "review_request"
    __table_args__ = (
        Index("ix_review_request_status_due", "status", "due_at"),
        Index("ix_review_request_market_due", "market", "due_at"),
        Index("ix_review_request_due", "due_at"),
        UniqueConstraint("open_for", name="uq_review_request_open_for"),
        UniqueConstraint("manual_decision_id", name="uq_review_request_manual_decision"),
    )

    request_id: str = Field(sa_column=Column(String(36), primary_key=True))
    application_id: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    open_for: str | None = Field(
        default=None, sa_column=Column(String(64), nullable=True)
    )  # the application id while the request is open: one open request per application
    client: str = Field(sa_column=Column(String(CLIENT_LENGTH), nullable=False))
    automated_decision_id: str = Field(sa_column=Column(String(36), nullable=False))
    market: str = Field(sa_column=Column(String(2), nullable=False))
    status: str = Field(sa_column=Column(String(REVIEW_STATUS_LENGTH), nullable=False))
    language: str = Field(sa_column=Column(String(8), nullable=False))
    statement: str = Field(sa_column=Column(Text, nullable=False))  # sealed (base64)
    key_id: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    corrections_json: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    due_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    extension_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    assignee: str | None = Field(default=None, sa_column=Column(String(USER_LENGTH), nullable=True))
    decided_by: str | None = Field(
        default=None, sa_column=Column(String(USER_LENGTH), nullable=True)
    )
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    manual_decision_id: str | None = Field(
        default=None, sa_column=Column(String(36), nullable=True)
    )
    withdrawn_reason: str | None = Field(
        default=None, sa_column=Column(String(16), nullable=True)
    )  # status `withdrawn`: why (erasure | retention)


class ReviewLenderRow(SQLModel, table=True):
    """A lender a review request contests, and once decided its verdict."""

    __tablename__ = "review_lender"
    __table_args__ = (Index("ix_review_lender_lender", "lender_id", "request_id"),)

    request_id: str = Field(
        sa_column=Column(String(36), ForeignKey("review_request.request_id"), primary_key=True)
    )
    lender_id: str = Field(sa_column=Column(String(64), primary_key=True))
    verdict: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    explanation: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ReviewEventRow(SQLModel, table=True):
    """One step of a review request's history: received, assigned, extended, decided."""

    __tablename__ = "review_event"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    request_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("review_request.request_id"), nullable=False, index=True
        )
    )
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(String(USER_LENGTH), nullable=False))
    what: str = Field(sa_column=Column(Text, nullable=False))


class CaseViewRow(SQLModel, table=True):
    """One view of a review case by a caseworker: who saw whose data, when."""

    __tablename__ = "case_view"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    request_id: str = Field(
        sa_column=Column(
            String(36), ForeignKey("review_request.request_id"), nullable=False, index=True
        )
    )
    at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    viewer: str = Field(sa_column=Column(String(USER_LENGTH), nullable=False))


class CaseworkerRow(SQLModel, table=True):
    """A person who signs in to the review screen: only an Argon2 hash of the password."""

    __tablename__ = "caseworker"

    name: str = Field(sa_column=Column(String(USER_LENGTH), primary_key=True))
    password_hash: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    disabled_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
