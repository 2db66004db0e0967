"""Caseworkers: the people who sign in to the review screen.

- `caseworker`: a user name, an Argon2 hash of the password (never the password), a role
  (`caseworker` or `supervisor`), when the user was added and, once disabled, when.

Revision ID: 0005_caseworkers
Revises: 0004_reviews
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_caseworkers"
down_revision: str | None = "0004_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "caseworker",
        sa.Column("name", sa.String(length=64), primary_key=True),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('caseworker', 'supervisor')", name="caseworker_role"),
    )


def downgrade() -> None:
    op.drop_table("caseworker")
