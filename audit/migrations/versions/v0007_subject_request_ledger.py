"""The record of data-subject requests becomes a ledger: `subject_request` gains `seq`,
`prev_hash` and `record_hash`, the requests already recorded are chained here in the order
they were made (their `id`), and `ledger_head` gets the ledger's head. From this revision on
`lendmatch audit verify` finds a changed, removed or reordered request record. The chaining
rules are `audit._ledger`'s and `audit.subjects.request_entry`'s (the code that verifies
them). `review_request` gains `key_id`: from now on the applicant's statement is sealed
(statements written before stay clear, key id NULL, until `lendmatch keys
rotate-data-key`).

Revision ID: 0007_subject_request_ledger
Revises: 0006_subject_rights
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from audit import _ledger
from audit.subjects import request_entry

revision: str = "0007_subject_request_ledger"
down_revision: str | None = "0006_subject_rights"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GENESIS_HASH = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("subject_request") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("record_hash", sa.String(length=64), nullable=True))

    request = sa.table(
        "subject_request",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("done_at", sa.DateTime(timezone=True)),
        sa.column("summary_json", sa.Text()),
        sa.column("seq", sa.BigInteger()),
        sa.column("prev_hash", sa.String()),
        sa.column("record_hash", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(request.c.id, request.c.kind, request.c.done_at, request.c.summary_json).order_by(
            request.c.id
        )
    ).all()
    seq, prev = 0, _GENESIS_HASH
    for row in rows:
        seq += 1
        entry = request_entry(row.kind, row.done_at, row.summary_json)
        own = _ledger.entry_hash(_ledger.SUBJECT_REQUESTS, seq, prev, entry)
        connection.execute(
            request.update()
            .where(request.c.id == row.id)
            .values(seq=seq, prev_hash=prev, record_hash=own)
        )
        prev = own

    with op.batch_alter_table("subject_request") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("record_hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_subject_request_seq", ["seq"])

    with op.batch_alter_table("review_request") as batch:
        batch.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))

    ledger_head = sa.table(
        "ledger_head",
        sa.column("name", sa.String()),
        sa.column("seq", sa.BigInteger()),
        sa.column("hash", sa.String()),
    )
    op.bulk_insert(ledger_head, [{"name": _ledger.SUBJECT_REQUESTS, "seq": seq, "hash": prev}])


def downgrade() -> None:
    with op.batch_alter_table("review_request") as batch:
        batch.drop_column("key_id")
    op.execute(sa.text(f"DELETE FROM ledger_head WHERE name = '{_ledger.SUBJECT_REQUESTS}'"))
    with op.batch_alter_table("subject_request") as batch:
        batch.drop_constraint("uq_subject_request_seq", type_="unique")
        batch.drop_column("record_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
