"""`subject_link` keyed by application first, and found by person through a hash index.

Before, the primary key was (subject_hash, application_id, role), a btree whose first column
is a random 64-digit hash, and `ix_subject_link_application_id` sat beside it. Every link
inserted went in at a random place of that key. For `rescore --apply`, which links one or two
people per record, inserting the links cost the server about 40 % of a record's time, most
of it the upkeep of the two indexes (random leaf pages, their splits and the WAL they write:
a COPY of 66,700 links took 31 ms into the bare table, 216 ms with both indexes).

Now the primary key is (application_id, role, subject_hash): the same three columns, so the
same uniqueness (an application links a person in a role once). The links of a batch whose
application ids ascend (as `generate`'s do) go in at the end of it; ids in no order cost what
the old key did. The key also serves every lookup by application, so
`ix_subject_link_application_id` is dropped. A person's links are found by
`ix_subject_link_subject_hash`: on PostgreSQL a hash index (equality is the only lookup by
subject hash; it keeps a 4-byte hash code per link, not the 64 digits), on SQLite a btree.
Measured on `--apply` (50,000 records): the hash index is what saves the server's time; the
key's new order alone changed nothing measurable.

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
