"""Tamper evidence: ruleset activations chained, erasures recorded and chained, ledger heads.

`ruleset_activation` gains `seq`, `prev_hash` and `record_hash`: the activations already
stored are chained here in the order they were made (their `id`), so from this revision on
a changed, removed or reordered activation is found by `lendmatch audit verify`. The new
`personal_erasure` table records each erasure of a personal payload (when, why, up to which
decision record), chained the same way. `ledger_head` holds the head of both ledgers.
The chaining rules are `audit._ledger`'s (the code that verifies them).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from audit import _chain, _ledger

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_GENESIS_HASH = "0" * 64


def upgrade() -> None:
    with op.batch_alter_table("ruleset_activation") as batch:
        batch.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("record_hash", sa.String(length=64), nullable=True))

    activation = sa.table(
        "ruleset_activation",
        sa.column("id", sa.Integer()),
        sa.column("ruleset_hash", sa.String()),
        sa.column("activated_at", sa.DateTime(timezone=True)),
        sa.column("seq", sa.BigInteger()),
        sa.column("prev_hash", sa.String()),
        sa.column("record_hash", sa.String()),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(activation.c.id, activation.c.ruleset_hash, activation.c.activated_at).order_by(
            activation.c.id
        )
    ).all()
    seq, prev = 0, _GENESIS_HASH
    for row in rows:
        seq += 1
        entry = {
            "ruleset_hash": row.ruleset_hash,
            "activated_at": _chain.utc_text(row.activated_at),
        }
        own = _ledger.entry_hash(_ledger.ACTIVATIONS, seq, prev, entry)
        connection.execute(
            activation.update()
            .where(activation.c.id == row.id)
            .values(seq=seq, prev_hash=prev, record_hash=own)
        )
        prev = own

    with op.batch_alter_table("ruleset_activation") as batch:
        batch.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch.alter_column("prev_hash", existing_type=sa.String(length=64), nullable=False)
        batch.alter_column("record_hash", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint("uq_ruleset_activation_seq", ["seq"])

    op.create_table(
        "personal_erasure",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("decision_seq", sa.BigInteger(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("record_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_personal_erasure"),
    )
    op.create_index("ix_personal_erasure_application_id", "personal_erasure", ["application_id"])

    ledger_head = op.create_table(
        "ledger_head",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_ledger_head"),
    )
    op.bulk_insert(
        ledger_head,
        [
            {"name": _ledger.ACTIVATIONS, "seq": seq, "hash": prev},
            {"name": _ledger.ERASURES, "seq": 0, "hash": _GENESIS_HASH},
        ],
    )


def downgrade() -> None:
    op.drop_table("ledger_head")
    op.drop_index("ix_personal_erasure_application_id", table_name="personal_erasure")
    op.drop_table("personal_erasure")
    with op.batch_alter_table("ruleset_activation") as batch:
        batch.drop_constraint("uq_ruleset_activation_seq", type_="unique")
        batch.drop_column("record_hash")
        batch.drop_column("prev_hash")
        batch.drop_column("seq")
