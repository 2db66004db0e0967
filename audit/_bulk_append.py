"""Appending many batch decisions at once: digests in bulk, rows by COPY, one head move.

A batch transaction (`write`) takes the chain lock first (`audit._append`'s head lock: the
same row every append locks), so nothing else appends while it runs. Under the lock it asks
which of its applications already have a decision of the channel under the ruleset (and
keeps only the first of an application given twice), so a batch recorded again, or resumed
after a crash, records each application once: idempotent by (application, ruleset), however
many runs overlap. The records are then chained exactly as single appends are
(`_chain.PayloadDigests.digests` is `_chain.payload_digest` computed with the shared part of
the payload written once; `_chain.record_hashes` links them), `_SLICE` at a time, written in
one statement (one COPY on PostgreSQL through psycopg's `cursor.copy`, each slice's lines of
its text format built in Polars and sent while the next slice is hashed; executemany on
SQLite) and the head moved once.
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

import polars as pl
from sqlalchemy import Connection, insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from audit import _append, _chain, _rows
from audit.models import DecisionRow, SubjectLinkRow

_IN_BATCH = 500  # ids per IN (...) on SQLite
_SLICE = 5_000  # records hashed and stored at a time
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
    seq, prev = int(head.seq), str(head.hash)
    fresh: list[int] = []
    hashes: list[str] = []
    applications: list[str] = []
    roles: list[str] = []
    for index, application_id in enumerate(rows.application_ids):
        if application_id not in seen:
            seen.add(application_id)
            fresh.append(index)
            if rows.subjects:
                for role, subject in rows.subjects[index]:
                    hashes.append(subject)
                    applications.append(application_id)
                    roles.append(role)
    if not fresh:
        return 0, len(rows.application_ids)
    with _Rows(connection, rows, decided_at, sqlite) as put:
        for start in range(0, len(fresh), _SLICE):  # stored while the next slice is hashed
            chosen = fresh[start : start + _SLICE]
            application_ids = [rows.application_ids[i] for i in chosen]
            features = [rows.features_json[i] for i in chosen]
            outcomes = [rows.outcomes_json[i] for i in chosen]
            ids = decision_ids(len(chosen))
            payload_digests = digests.digests(application_ids, ids, features, outcomes)
            record_hashes = _chain.record_hashes(seq, prev, payload_digests)
            put(
                _Slice(
                    seq,
                    prev,
                    ids,
                    application_ids,
                    features,
                    outcomes,
                    payload_digests,
                    record_hashes,
                )
            )
            seq, prev = seq + len(chosen), record_hashes[-1]
    connection.execute(_append._MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    if hashes:  # under the chain lock: no other link writer
        _link(session, hashes, applications, roles, sqlite)
    return len(fresh), len(rows.application_ids) - len(fresh)


def _link(
    session: Session, hashes: list[str], applications: list[str], roles: list[str], sqlite: bool
) -> None:
    """Link applications to their people (subject hash, application, role), keeping links
    that are there already (and one of a link given twice): one statement."""
    if sqlite:
        session.connection().execute(
            sqlite_insert(SubjectLinkRow).on_conflict_do_nothing(),
            [
                {"subject_hash": h, "application_id": a, "role": r}
                for h, a, r in dict.fromkeys(zip(hashes, applications, roles, strict=True))
            ],
        )
        return
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


@dataclass(frozen=True, slots=True)
class _Slice:
    """Records `seq + 1`, `seq + 2`, ... of a batch, chained after `prev`, ready to store."""

    seq: int
    prev: str
    decision_ids: list[str]
    application_ids: list[str]
    features_json: list[str]
    outcomes_json: list[str]
    payload_digests: list[str]
    record_hashes: list[str]


_COPY_TEXT = ["\\", "\t", "\n", "\r"]
_COPY_ESCAPED = ["\\\\", "\\t", "\\n", "\\r"]
"""COPY's text format: a backslash, tab, newline or carriage return in a value escaped
(the backslash first, so the escapes' own backslashes stay as they are)."""


def _copy_text(part: _Slice, rows: BulkRows, decided_at: datetime) -> bytes:
    """The records of `part` as lines of COPY's text format, built over the slice."""
    n = len(part.decision_ids)
    frame = pl.DataFrame(
        {
            "seq": pl.int_range(part.seq + 1, part.seq + n + 1, eager=True),
            "decision_id": part.decision_ids,
            "application_id": part.application_ids,
            "features_json": part.features_json,
            "outcomes_json": part.outcomes_json,
            "payload_digest": part.payload_digests,
            "prev_hash": [part.prev, *part.record_hashes[:-1]],
            "record_hash": part.record_hashes,
        }
    )

    def value(name: str) -> pl.Expr:
        escaped = pl.col(name)
        for raw, written in zip(_COPY_TEXT, _COPY_ESCAPED, strict=True):  # the backslash first
            escaped = escaped.str.replace_all(raw, written, literal=True)
        return escaped

    def plain(name: str) -> pl.Expr:  # digits, hex digits and dashes: nothing to escape
        return pl.col(name).cast(pl.String)

    def shared(text: str) -> pl.Expr:
        for raw, written in zip(_COPY_TEXT, _COPY_ESCAPED, strict=True):
            text = text.replace(raw, written)
        return pl.lit(text)

    line = pl.concat_str(
        [
            plain("seq"),
            plain("decision_id"),
            value("application_id"),
            shared(rows.channel),
            shared(decided_at.isoformat()),
            shared(rows.ruleset_hash),
            value("features_json"),
            value("outcomes_json"),
            # personal_digest, client (none for batch decisions: a column default would
            # name one), idempotency_key, request_digest, review_json
            pl.lit("\\N\t\\N\t\\N\t\\N\t\\N"),
            plain("payload_digest"),
            value("prev_hash"),
            plain("record_hash"),
        ],
        separator="\t",
    )
    lines: bytes = frame.select(line.str.join("\n").cast(pl.Binary)).item()  # UTF-8
    return lines + b"\n"


def _insert_rows(part: _Slice, rows: BulkRows, decided_at: datetime) -> list[dict[str, Any]]:
    """The records of `part` as the rows of an executemany (SQLite)."""
    prev_hashes = [part.prev, *part.record_hashes[:-1]]
    return [
        dict(
            zip(
                _COLUMNS,
                (
                    part.seq + 1 + k,
                    part.decision_ids[k],
                    part.application_ids[k],
                    rows.channel,
                    decided_at,
                    rows.ruleset_hash,
                    part.features_json[k],
                    part.outcomes_json[k],
                    None,  # personal_digest: no personal payload
                    None,  # client: none for batch decisions
                    None,  # idempotency_key
                    None,  # request_digest
                    None,  # review_json
                    part.payload_digests[k],
                    prev_hashes[k],
                    part.record_hashes[k],
                ),
                strict=True,
            )
        )
        for k in range(len(part.decision_ids))
    ]


class _Rows:
    """Slices of records written as they are made: streamed to PostgreSQL by one COPY (the
    server stores a slice while the next is hashed), gathered for one executemany on SQLite."""

    def __init__(
        self, connection: Connection, rows: BulkRows, decided_at: datetime, sqlite: bool
    ) -> None:
        self._connection = connection
        self._rows = rows
        self._decided_at = decided_at
        self._sqlite = sqlite
        self._gathered: list[dict[str, Any]] = []
        self._copying: Any = None
        self._copy: Any = None

    def __enter__(self) -> Callable[[_Slice], None]:
        if not self._sqlite:
            cursor = self._connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            self._copying = cursor.copy(_COPY)
            self._copy = self._copying.__enter__()
        return self._put

    def _put(self, part: _Slice) -> None:
        if self._copy is not None:
            self._copy.write(_copy_text(part, self._rows, self._decided_at))
        else:
            self._gathered += _insert_rows(part, self._rows, self._decided_at)

    def __exit__(self, *exc_info: Any) -> None:
        if self._copy is not None:
            self._copying.__exit__(*exc_info)
        elif exc_info[0] is None and self._gathered:
            self._connection.execute(insert(_rows.decision_table()), self._gathered)
