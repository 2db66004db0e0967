"""Reviews: applicants' requests for human review, their lenders, history and case views;
the manual decision's review part on the chain.

- `decision.review_json` (nullable): the review part of a manual decision (channel
  `manual`), chained when present; every earlier record has none and verifies unchanged.
- `review_request`: one per request; `open_for` is the application id while the request is
  open (NULL once decided) and unique, so an application has at most one open request.
  Indexed for the caseworker queue: (status, due_at), (market, due_at), due_at.
- `review_lender`: the contested lenders (primary key (request_id, lender_id); indexed by
  (lender_id, request_id) for the queue's lender filter) with each verdict once decided.
- `review_event`, `case_view`: a request's history and every view of its case.

Revision ID: 0004_reviews
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004_reviews"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _when(name: str, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("decision", sa.Column("review_json", sa.Text(), nullable=True))
    op.create_table(
        "review_request",
        sa.Column("request_id", sa.String(length=36), primary_key=True),
        sa.Column("application_id", sa.String(length=64), nullable=False),
        sa.Column("open_for", sa.String(length=64), nullable=True),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("automated_decision_id", sa.String(length=36), nullable=False),
        sa.Column("market", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("corrections_json", sa.Text(), nullable=False),
        _when("received_at"),
        _when("due_at"),
        sa.Column("extension_reason", sa.Text(), nullable=True),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        _when("decided_at", nullable=True),
        sa.Column("manual_decision_id", sa.String(length=36), nullable=True),
        sa.UniqueConstraint("open_for", name="uq_review_request_open_for"),
        sa.UniqueConstraint("manual_decision_id", name="uq_review_request_manual_decision"),
    )
    op.create_index("ix_review_request_application_id", "review_request", ["application_id"])
    op.create_index("ix_review_request_status_due", "review_request", ["status", "due_at"])
    op.create_index("ix_review_request_market_due", "review_request", ["market", "due_at"])
    op.create_index("ix_review_request_due", "review_request", ["due_at"])
    op.create_table(
        "review_lender",
        sa.Column(
            "request_id",
            sa.String(length=36),
            sa.ForeignKey("review_request.request_id"),
            primary_key=True,
        ),
        sa.Column("lender_id", sa.String(length=64), primary_key=True),
        sa.Column("verdict", sa.String(length=16), nullable=True),
        sa.Column("explanation", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
    )
    op.create_index("ix_review_lender_lender", "review_lender", ["lender_id", "request_id"])
    for table, who in (("review_event", "actor"), ("case_view", "viewer")):
        columns: list[sa.Column[Any]] = [
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column(
                "request_id",
                sa.String(length=36),
                sa.ForeignKey("review_request.request_id"),
                nullable=False,
            ),
            _when("at"),
            sa.Column(who, sa.String(length=64), nullable=False),
        ]
        if table == "review_event":
            columns.append(sa.Column("what", sa.Text(), nullable=False))
        op.create_table(table, *columns)
        op.create_index(f"ix_{table}_request_id", table, ["request_id"])


def downgrade() -> None:
    for table in ("case_view", "review_event", "review_lender", "review_request"):
        op.drop_table(table)
    with op.batch_alter_table("decision") as batch:
        batch.drop_column("review_json")
