"""Re-sealing personal data under the current data key (`Store.rotate_data_key`).

Four tables hold sealed values, each bound to its own context (the associated data of
AES-GCM): `personal_data.payload_json` (the application id), `subject_correction.corrections`
(the application id), `identity_check.identity` (`<application id>|<role>`) and
`review_request.statement` (the request id; an erased statement, empty, is left alone). Each is
re-sealed in batches, one commit per batch, selecting the rows whose key id is not the
current one (NULL: a payload stored clear before encryption existed). A stopped run leaves
every value sealed under a configured key; the next run selects what is left.

A clear payload from before encryption has no subject links either (they came with
encryption): `link` (from the workflow layer, which knows the payload's shape) names its
people, and they are linked as it is sealed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, SQLModel, col, select

from audit._unit import UnitOfWork
from audit.models import (
    IdentityCheckRow,
    PersonalDataRow,
    ReviewRequestRow,
    SubjectCorrectionRow,
    SubjectLinkRow,
)
from audit.personal_keys import PersonalKeys
from audit.reviews import ERASED_STATEMENT

People = Callable[[dict[str, Any]], Sequence[tuple[str, str]]]
"""(role, normalised national id) of the people in a payload."""


@dataclass(frozen=True)
class _Sealed:
    """A table of sealed values: its row type, the sealed column and the context of a row."""

    table: type[SQLModel]
    column: str
    key_id: Any  # the table's key id column
    context: Callable[[Any], str]
    held: Any = None  # which rows hold a value at all (None: every row)


_TABLES = (
    _Sealed(
        PersonalDataRow, "payload_json", PersonalDataRow.key_id, lambda row: row.application_id
    ),
    _Sealed(
        SubjectCorrectionRow,
        "corrections",
        SubjectCorrectionRow.key_id,
        lambda row: row.application_id,
    ),
    _Sealed(
        IdentityCheckRow,
        "identity",
        IdentityCheckRow.key_id,
        lambda row: f"{row.application_id}|{row.role}",
    ),
    _Sealed(
        ReviewRequestRow,
        "statement",
        ReviewRequestRow.key_id,
        lambda row: row.request_id,
        held=col(ReviewRequestRow.statement) != ERASED_STATEMENT,
    ),
)


def _stale(sealed: _Sealed, current: str) -> Any:
    key_id = col(sealed.key_id)
    stale = key_id.is_(None) | (key_id != current)
    return stale if sealed.held is None else stale & sealed.held


def _link(
    session: Session, keys: PersonalKeys, sqlite: bool, application_id: str, found: Any
) -> None:
    if not found:
        return
    statement = (sqlite_insert if sqlite else pg_insert)(SubjectLinkRow).values(
        [
            {
                "subject_hash": keys.subject_hash(number),
                "application_id": application_id,
                "role": role,
            }
            for role, number in found
        ]
    )
    session.connection().execute(statement.on_conflict_do_nothing())


def rotate(
    uow: UnitOfWork, keys: PersonalKeys, *, batch: int, people: People | None
) -> Iterator[tuple[int, int]]:
    """Re-seal every stale value of every table; yield (done so far, left) per commit."""
    current = keys.current_key_id
    done = 0
    while True:
        with uow.unit("rotate_data_key", write=True) as session:
            rows: list[Any] = []
            for sealed in _TABLES:
                rows = list(
                    session.exec(select(sealed.table).where(_stale(sealed, current)).limit(batch))
                )
                if rows:
                    break
            for row in rows:
                context = sealed.context(row)
                value = getattr(row, sealed.column)
                clear = value if row.key_id is None else keys.open(row.key_id, value, context)
                if row.key_id is None and people is not None and sealed.table is PersonalDataRow:
                    found = people(dict(json.loads(clear)))
                    _link(session, keys, uow.sqlite, row.application_id, found)
                row.key_id, sealed_value = keys.seal(clear, context)
                setattr(row, sealed.column, sealed_value)
                session.add(row)
            session.flush()
            left = sum(
                int(
                    session.exec(
                        select(func.count()).select_from(s.table).where(_stale(s, current))
                    ).one()
                )
                for s in _TABLES
            )
        done += len(rows)
        yield done, left
        if not rows or not left:
            return
