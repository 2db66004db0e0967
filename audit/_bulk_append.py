"""Appending many batch decisions at once: digests in bulk, rows by COPY, one head move.

A batch transaction (`write`) takes the chain lock first (`audit._append`'s head lock: the
same row every append locks), so nothing else appends while it runs. Under the lock it asks
which of its applications already have a decision of the channel under the ruleset (and
keeps only the first of an application given twice), so a batch recorded again, or resumed
after a crash, records each application once: idempotent by (application, ruleset), however
many runs overlap. The records are then chained exactly as single appends are
(`_chain.PayloadDigests` is `_chain.payload_digest` computed with the shared part of the
payload written once; `_chain.record_hash` links them), written in one statement (COPY on
PostgreSQL through psycopg's `cursor.copy`, executemany on SQLite) and the head moved once.
`audit verify` walks them like any other record.

Batch records hold no personal payload (their `personal_digest` is NULL) and no client; their
features are the feature row, as every record's are (redaction removes them). Their people,
when given, are linked by the keyed hash of their national id (`subject_link`, one
statement), so a person's export, erasure and restriction find them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from audit import _append, _chain, _rows
from audit.models import DecisionRow, SubjectLinkRow

_IN_BATCH = 500  # ids per IN (...) on SQLite
_COLUMNS = (
    "seq",
    "decision_id",
    "application_id",
    "channel",
    "decided_at",
    "ruleset_hash",
    "features_json",
    "outcomes_json",
    "personal_digest",
    "client",
    "idempotency_key",
    "request_digest",
    "review_json",
    "payload_digest",
    "prev_hash",
    "record_hash",
)
_COPY = f"COPY decision ({', '.join(_COLUMNS)}) FROM STDIN"
_VARYING = ("application_id", "decision_id", "features_json", "outcomes_json")


@dataclass(frozen=True, slots=True)
class BulkRows:
    """Records of one batch: a channel, a ruleset and a moment shared by all; per record
    the application id and the canonical JSON texts of its features and outcomes."""

    channel: str
    ruleset_hash: str
    decided_at: datetime
    application_ids: Sequence[str]
    features_json: Sequence[str]
    outcomes_json: Sequence[str]
    subjects: Sequence[Sequence[tuple[str, str]]] = ()
    """Per record, (role, subject hash) of its people, as `subject_link` holds them; empty:
    none given (the applications' people are linked already, or unknown)."""


def _decided(session: Session, rows: BulkRows, sqlite: bool) -> set[str]:
    """Which of the applications already have a decision of the channel under the ruleset."""
    ids = list(dict.fromkeys(rows.application_ids))
    found: set[str] = set()
    if not sqlite:
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(
            "SELECT application_id FROM decision "
            "WHERE ruleset_hash = %s AND channel = %s AND application_id = ANY(%b)",
            (rows.ruleset_hash, rows.channel, ids),  # %b: the ids as a binary text[]
        )
        found.update(row[0] for row in cursor.fetchall())
        return found
    for start in range(0, len(ids), _IN_BATCH):
        found.update(
            session.exec(
                select(DecisionRow.application_id).where(
                    DecisionRow.ruleset_hash == rows.ruleset_hash,
                    DecisionRow.channel == rows.channel,
                    col(DecisionRow.application_id).in_(ids[start : start + _IN_BATCH]),
                )
            ).all()
        )
    return found


def write(session: Session, rows: BulkRows, *, sqlite: bool) -> tuple[int, int]:
    """Append the records of `rows` not recorded yet in the caller's transaction, under the
    chain lock; return (appended, already recorded or given twice)."""
    connection = session.connection()
    head = connection.execute(_append._LOCK_HEAD).one()
    seen = _decided(session, rows, sqlite)
    decided_at = _chain.utc(rows.decided_at)
    digests = _chain.PayloadDigests(
        _VARYING,
        channel=rows.channel,
        decided_at=decided_at,
        ruleset_hash=rows.ruleset_hash,
        personal_digest=None,
        idempotency_key=None,
        request_digest=None,
        client=None,
    )
    digest, link = digests.digest, _chain.record_hash
    channel, ruleset_hash = rows.channel, rows.ruleset_hash
    seq, prev = int(head.seq), str(head.hash)
    fresh: list[tuple[str, str, str]] = []
    links: set[tuple[str, str, str]] = set()
    for index, record in enumerate(
        zip(rows.application_ids, rows.features_json, rows.outcomes_json, strict=True)
    ):
        if record[0] not in seen:
            seen.add(record[0])
            fresh.append(record)
            if rows.subjects:
                links.update((subject, record[0], role) for role, subject in rows.subjects[index])
    if not fresh:
        return 0, len(rows.application_ids)
    with _Rows(connection, sqlite) as put:
        for (application_id, features_json, outcomes_json), decision_id in zip(
            fresh, decision_ids(len(fresh)), strict=True
        ):
            seq += 1
            payload_digest = digest(application_id, decision_id, features_json, outcomes_json)
            own = link(seq, prev, payload_digest)
            put(
                (
                    seq,
                    decision_id,
                    application_id,
                    channel,
                    decided_at,
                    ruleset_hash,
                    features_json,
                    outcomes_json,
                    None,  # personal_digest: no personal payload
                    None,  # client: none for batch decisions (a column default would name one)
                    None,  # idempotency_key
                    None,  # request_digest
                    None,  # review_json
                    payload_digest,
                    prev,
                    own,
                )
            )
            prev = own
    connection.execute(_append._MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    if links:
        _link(session, list(links), sqlite)  # under the chain lock: no other link writer
    return len(fresh), len(rows.application_ids) - len(fresh)


def _link(session: Session, links: list[tuple[str, str, str]], sqlite: bool) -> None:
    """Link applications to their people (subject hash, application, role), keeping links
    that are there already: one statement."""
    if sqlite:
        session.connection().execute(
            sqlite_insert(SubjectLinkRow).on_conflict_do_nothing(),
            [{"subject_hash": h, "application_id": a, "role": r} for h, a, r in links],
        )
        return
    hashes, applications, roles = (list(column) for column in zip(*links, strict=True))
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        "INSERT INTO subject_link (subject_hash, application_id, role) "
        "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[]) ON CONFLICT DO NOTHING",
        (hashes, applications, roles),  # %b: binary arrays, no per-element quoting
    )


def decision_ids(n: int) -> list[str]:
    """`n` random decision ids: version 4 UUIDs in their usual text form, as `uuid.uuid4`
    makes them, from one read of the system's random source."""
    raw = os.urandom(16 * n).hex()
    ids: list[str] = []
    variant = "89ab89ab89ab89ab"  # the variant bits 10xx over the hex digit's value
    for i in range(0, 32 * n, 32):
        ids.append(
            f"{raw[i : i + 8]}-{raw[i + 8 : i + 12]}-4{raw[i + 13 : i + 16]}-"
            f"{variant[int(raw[i + 16], 16)]}{raw[i + 17 : i + 20]}-{raw[i + 20 : i + 32]}"
        )
    return ids


class _Rows:
    """Rows of `decision` written as they are made: streamed to PostgreSQL by COPY (the
    server stores them while the next are hashed), gathered for one executemany on SQLite."""

    def __init__(self, connection: Connection, sqlite: bool) -> None:
        self._connection = connection
        self._sqlite = sqlite
        self._gathered: list[tuple[Any, ...]] = []
        self._copy: Any = None

    def __enter__(self) -> Callable[[tuple[Any, ...]], None]:
        if self._sqlite:
            return self._gathered.append
        cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        self._copy = cursor.copy(_COPY)
        return self._copy.__enter__().write_row  # type: ignore[no-any-return]

    def __exit__(self, *exc_info: Any) -> None:
        if self._copy is not None:
            self._copy.__exit__(*exc_info)
        elif exc_info[0] is None and self._gathered:
            self._connection.execute(
                insert(_rows.decision_table()),
                [dict(zip(_COLUMNS, row, strict=True)) for row in self._gathered],
            )
