"""`review_request` gains `withdrawn_reason`: an open request whose application is erased (an
erasure request or the retention purge) is closed as `withdrawn`, and this says why
(`erasure` or `retention`; NULL for every other status). No personal data.

Requests left open by an erasure made before this revision are withdrawn here, each with a
history event at the time of its application's erasure: `retention` when the purge erased it
(`personal_erasure.reason` is the purge's), `erasure` otherwise.

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


PURGE_REASON = "retention period ended"  # what `broker.retention.purge` records as its reason
_CLOSED = ("decided", "withdrawn")


def upgrade() -> None:
    with op.batch_alter_table("review_request") as batch:
        batch.add_column(sa.Column("withdrawn_reason", sa.String(length=16), nullable=True))

    request = sa.table(
        "review_request",
        sa.column("request_id", sa.String()),
        sa.column("application_id", sa.String()),
        sa.column("status", sa.String()),
        sa.column("open_for", sa.String()),
        sa.column("withdrawn_reason", sa.String()),
    )
    erasure = sa.table(
        "personal_erasure",
        sa.column("application_id", sa.String()),
        sa.column("erased_at", sa.DateTime(timezone=True)),
        sa.column("reason", sa.Text()),
    )
    event = sa.table(
        "review_event",
        sa.column("request_id", sa.String()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("what", sa.String()),
    )
    connection = op.get_bind()
    left_open = connection.execute(
        sa.select(request.c.request_id, erasure.c.erased_at, erasure.c.reason)
        .join(erasure, erasure.c.application_id == request.c.application_id)
        .where(request.c.status.not_in(_CLOSED))
        .order_by(request.c.request_id, erasure.c.erased_at)
    ).all()
    first = {row.request_id: row for row in reversed(left_open)}  # its first erasure
    for request_id, row in sorted(first.items()):
        reason = "retention" if row.reason == PURGE_REASON else "erasure"
        connection.execute(
            sa.update(request)
            .where(request.c.request_id == request_id)
            .values(status="withdrawn", withdrawn_reason=reason, open_for=None)
        )
        connection.execute(
            sa.insert(event).values(
                request_id=request_id, at=row.erased_at, actor="system", what=f"withdrawn: {reason}"
            )
        )


def downgrade() -> None:
    """Withdrawn requests become `received` again (closed: `open_for` stays NULL)."""
    request = sa.table(
        "review_request", sa.column("status", sa.String()), sa.column("withdrawn_reason")
    )
    op.get_bind().execute(
        sa.update(request).where(request.c.status == "withdrawn").values(status="received")
    )
    with op.batch_alter_table("review_request") as batch:
        batch.drop_column("withdrawn_reason")
