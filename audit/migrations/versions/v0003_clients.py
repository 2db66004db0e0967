"""Clients: every API key belongs to a named client; decisions record theirs; idempotency
keys are unique per client.

- `api_key.client` (not null): keys from before this revision belong to the client
  `default` (`audit.models.DEFAULT_CLIENT`).
- `decision.client` (null for decisions made without a client, as batch re-scoring):
  decisions from before this revision belong to `default` too. The column is filled by its
  server default as it is added; no existing row is updated.
- The unique constraint on `decision.idempotency_key` becomes one on
  `(client, idempotency_key)`: the same key from two clients is two requests.

On SQLite a unique constraint can only be dropped by rebuilding the table (Alembic's batch
mode); any trigger on `decision` is kept across the rebuild.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEFAULT_CLIENT = "default"  # audit.models.DEFAULT_CLIENT, as of this revision


def _client_column() -> sa.Column[str]:
    return sa.Column("client", sa.String(length=64), nullable=True, server_default=_DEFAULT_CLIENT)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"

    op.add_column(
        "api_key",
        sa.Column("client", sa.String(length=64), nullable=False, server_default=_DEFAULT_CLIENT),
    )
    if sqlite:
        triggers = [
            row[0]
            for row in bind.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'decision'"
            )
        ]
        with op.batch_alter_table("decision", recreate="always") as batch:
            batch.add_column(_client_column())
            batch.drop_constraint("uq_decision_idempotency_key", type_="unique")
            batch.create_unique_constraint(
                "uq_decision_client_idempotency_key", ["client", "idempotency_key"]
            )
        for trigger in triggers:
            bind.exec_driver_sql(trigger)
        return
    op.alter_column("api_key", "client", server_default=None)
    op.add_column("decision", _client_column())
    op.alter_column("decision", "client", server_default=None)
    op.drop_constraint("uq_decision_idempotency_key", "decision", type_="unique")
    op.create_unique_constraint(
        "uq_decision_client_idempotency_key", "decision", ["client", "idempotency_key"]
    )


def downgrade() -> None:
    with op.batch_alter_table("decision") as batch:
        batch.drop_constraint("uq_decision_client_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_decision_idempotency_key", ["idempotency_key"])
        batch.drop_column("client")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("client")
