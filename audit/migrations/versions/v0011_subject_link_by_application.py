"""`subject_link` keyed by application first, and found by person through a hash index.

Before, the primary key was (subject_hash, application_id, role), a btree whose first column
is a random 64-digit hash, and `ix_subject_link_application_id` sat beside it. Every link
inserted went in at a random place of that key: for `rescore --apply`, which links one or two
people per record, the key's upkeep (random leaf pages, their splits and the WAL they
write) cost the server about 40 % of a record's time.

Now the primary key is (application_id, role, subject_hash): the same three columns, so the
same uniqueness (an application links a person in a role once), and the links of a batch,
whose application ids ascend, go in at the end of it. It also serves every lookup by
application, so `ix_subject_link_application_id` is dropped. A person's links are found by
`ix_subject_link_subject_hash`: on PostgreSQL a hash index (equality is the only lookup by
subject hash; it keeps a 4-byte hash code per link, not the 64 digits), on SQLite a btree.

Stored links are kept as they are. PostgreSQL rebuilds the key; SQLite copies the table.

Revision ID: 0011_subject_link_by_application
Revises: 0010_subject_hash_bytes
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011_subject_link_by_application"
down_revision: str | None = "0010_subject_hash_bytes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = "pk_subject_link"


def _rekey(columns: list[str]) -> None:
    with op.batch_alter_table("subject_link", recreate="auto") as batch:
        batch.drop_constraint(_KEY, type_="primary")
        batch.create_primary_key(_KEY, columns)


def upgrade() -> None:
    _rekey(["application_id", "role", "subject_hash"])
    op.drop_index("ix_subject_link_application_id", table_name="subject_link")
    op.create_index(
        "ix_subject_link_subject_hash", "subject_link", ["subject_hash"], postgresql_using="hash"
    )


def downgrade() -> None:
    op.drop_index("ix_subject_link_subject_hash", table_name="subject_link")
    op.create_index("ix_subject_link_application_id", "subject_link", ["application_id"])
    _rekey(["subject_hash", "application_id", "role"])
