"""Data-subject rights: encrypted personal payloads, redacted records, subject links,
restrictions, corrections and the record of requests.

- `personal_data.key_id`: the data key a payload is encrypted under (AES-GCM); payloads
  written before this revision stay clear (NULL) until `lendmatch keys rotate-data-key`
  encrypts them.
- `decision_redaction`: the ledger (`audit._ledger`) of decision records whose personal
  columns were redacted; its head is a new row of `ledger_head`.
- `subject_link`: each application's people by the keyed hash of their national id.
- `subject_restriction`, `subject_correction`, `identity_check`, `subject_request`:
  restrictions of processing, rectifications (sealed), identity checks kept under
  anti-money-laundering law (sealed), and what each request or purge did.

Revision ID: 0006_subject_rights
Revises: 0005_caseworkers
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_subject_rights"
down_revision: str | None = "0005_caseworkers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GENESIS_HASH = "0" * 64
_REDACTIONS = "decision_redaction"  # audit._ledger.REDACTIONS, as of this revision


def upgrade() -> None:
    op.add_column("personal_data", sa.Column("key_id", sa.String(length=32), nullable=True))
    op.create_table(
        "decision_redaction",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("decision_seq", sa.BigInteger(), nullable=False),
        sa.Column("payload_digest", sa.String(length=64), nullable=False),
        sa.Column("kept_digest", sa.String(length=64), nullable=False),
        sa.Column("redacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_decision_redaction"),
        sa.UniqueConstraint("decision_seq", name="uq_decision_redaction_decision_seq"),
    )
    ledger_head = sa.table(
        "ledger_head",
        sa.column("name", sa.String()),
        sa.column("seq", sa.BigInteger()),
        sa.column("hash", sa.String()),
    )
    op.bulk_insert(ledger_head, [{"name": _REDACTIONS, "seq": 0, "hash": _GENESIS_HASH}])
    op.create_table(
        "subject_link",
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("subject_hash", "application_id", "role", name="pk_subject_link"),
    )
    op.create_index("ix_subject_link_application_id", "subject_link", ["application_id"])
    op.create_table(
        "subject_restriction",
        sa.Column("subject_hash", sa.String(length=64), nullable=False),
        sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("subject_hash", name="pk_subject_restriction"),
    )
    op.create_table(
        "subject_correction",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("corrections", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subject_correction"),
    )
    op.create_index(
        "ix_subject_correction_application_id", "subject_correction", ["application_id"]
    )
    op.create_table(
        "identity_check",
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("keep_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("identity", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("application_id", "role", name="pk_identity_check"),
    )
    op.create_index("ix_identity_check_keep_until", "identity_check", ["keep_until"])
    op.create_table(
        "subject_request",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("summary_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subject_request"),
    )


def downgrade() -> None:
    op.drop_table("subject_request")
    op.drop_index("ix_identity_check_keep_until", table_name="identity_check")
    op.drop_table("identity_check")
    op.drop_index("ix_subject_correction_application_id", table_name="subject_correction")
    op.drop_table("subject_correction")
    op.drop_table("subject_restriction")
    op.drop_index("ix_subject_link_application_id", table_name="subject_link")
    op.drop_table("subject_link")
    op.execute(sa.text(f"DELETE FROM ledger_head WHERE name = '{_REDACTIONS}'"))
    op.drop_table("decision_redaction")
    with op.batch_alter_table("personal_data") as batch:
        batch.drop_column("key_id")
