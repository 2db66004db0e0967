"""Subject hashes compared byte by byte on PostgreSQL: `subject_link.subject_hash` and
`subject_restriction.subject_hash` get the collation `"C"`.

A subject hash is 64 lowercase hex digits (HMAC-SHA256), so no locale has anything to say
about its order; under the database's collation every comparison still went through the
locale's rules (`strcoll`), and `subject_link`'s primary key, whose first column is that
random hash, makes several of them per link inserted (`rescore --apply` inserts one or two
links per record). Under `"C"` they are `memcmp`: the server's CPU per link inserted drops.
The stored values, the keys' uniqueness and every lookup by hash are the same (hex digits
sort alike under any collation). Both columns change together, so the join of a person's
links with their restrictions compares under one collation and can use either index.

PostgreSQL rewrites the two tables and rebuilds their indexes (`ALTER COLUMN ... TYPE`).
SQLite is left as it is: its text comparison is already byte by byte (`BINARY`).

Revision ID: 0010_subject_hash_bytes
Revises: 0009_idempotency_partial
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_subject_hash_bytes"
down_revision: str | None = "0009_idempotency_partial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("subject_link", "subject_restriction")
_LENGTH = 64  # audit.models.DIGEST_LENGTH, as of this revision


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in _TABLES:
        op.alter_column(
            table,
            "subject_hash",
            existing_type=sa.String(_LENGTH),
            type_=sa.String(_LENGTH, collation=collation),
            existing_nullable=False,
        )


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate(None)
