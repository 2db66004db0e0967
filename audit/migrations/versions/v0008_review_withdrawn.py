"""`review_request` gains `withdrawn_reason`: an open request whose application is erased (an
erasure request or the retention purge) is closed as `withdrawn`, and this says why
(`erasure` or `retention`; NULL for every other status). No personal data.

Revision ID: 0008_review_withdrawn
Revises: 0007_subject_request_ledger
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_review_withdrawn"
down_revision: str | None = "0007_subject_request_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("review_request") as batch:
        batch.add_column(sa.Column("withdrawn_reason", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("review_request") as batch:
        batch.drop_column("withdrawn_reason")
