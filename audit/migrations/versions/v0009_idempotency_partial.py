"""Idempotency keys: unique per client through a partial index over the decisions that have
one (`WHERE idempotency_key IS NOT NULL`) instead of a unique constraint over every decision.

The uniqueness is the same: a decision without an idempotency key (every batch decision, and
an API decision asked without one) was never constrained, since NULLs are distinct. What
changes is the cost of an append: a batch decision no longer adds an entry of NULLs to the
index, so `rescore --apply`'s bulk COPY maintains one index fewer per record. Single appends
look keys up as before (`audit._append`: `idempotency_key = ANY(...)`, which the partial
index serves).

On SQLite the constraint can only be dropped by rebuilding the table (Alembic's batch mode,
as 0003 does); the triggers on `decision` are kept across the rebuild. Existing rows are kept.

Revision ID: 0009_idempotency_partial
Revises: 0008_review_withdrawn
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_idempotency_partial"
down_revision: str | None = "0008_review_withdrawn"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "uq_decision_client_idempotency_key"
_HAS_KEY = sa.text("idempotency_key IS NOT NULL")


def _rebuild(change: str) -> None:
    """SQLite: rebuild `decision` with the unique constraint dropped or added again, keeping
    its triggers."""
    bind = op.get_bind()
    triggers = [
        row[0]
        for row in bind.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'decision'"
        )
    ]
    with op.batch_alter_table("decision", recreate="always") as batch:
        if change == "drop":
            batch.drop_constraint(_NAME, type_="unique")
        else:
            batch.create_unique_constraint(_NAME, ["client", "idempotency_key"])
    for trigger in triggers:
        bind.exec_driver_sql(trigger)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("drop")
    else:
        op.drop_constraint(_NAME, "decision", type_="unique")
    op.create_index(
        _NAME,
        "decision",
        ["client", "idempotency_key"],
        unique=True,
        postgresql_where=_HAS_KEY,
        sqlite_where=_HAS_KEY,
    )


def downgrade() -> None:
    op.drop_index(_NAME, table_name="decision")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild("add")
    else:
        op.create_unique_constraint(_NAME, "decision", ["client", "idempotency_key"])
