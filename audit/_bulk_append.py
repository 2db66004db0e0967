"""Appending many batch decisions at once: digests in bulk, rows by COPY, one head move.

A batch is made ready first, outside any transaction (`prepare`): its decision ids, its
payload digests (`_chain.PayloadDigests.digests`: `_chain.payload_digest` computed with the
shared part of the payload written once; none of it depends on where a record lands in the
chain) and its people, flat (`People`). `BatchDecisionLog.append_parts` does that for the
next part while a thread of its own writes the part before, so the client's work overlaps
the server's.

A batch transaction (`write`) takes the chain lock first (`audit._append`'s head lock: the
same row every append locks), so nothing else appends while it runs. Under the lock it asks
which of its applications already have a decision of the channel under the ruleset (and
keeps only the first of an application given twice), so a batch recorded again, or resumed
after a crash, records each application once: idempotent by (application, ruleset), however
many runs overlap. The records are then linked after the head (`_chain.record_hashes`) and
written in one statement (one COPY on PostgreSQL through psycopg's `cursor.copy`, in
COPY's binary format; executemany on SQLite) and the head moved once. `audit verify` walks
them like any other record.

Batch records hold no personal payload (their `personal_digest` is NULL) and no client; their
features are the feature row, as every record's are (redaction removes them). Their people,
when given, are linked by the keyed hash of their national id (`subject_link`): on
PostgreSQL the links already there are read and the others written by one (binary) COPY; on SQLite
one insert that keeps the ones there. So a person's export, erasure and restriction find
them.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, repeat
from typing import Any

from psycopg.errors import UniqueViolation
from sqlalchemy import insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from audit import _append, _chain, _rows
from audit.ids import time_ordered_ids
from audit.models import DecisionRow, SubjectLinkRow

_IN_BATCH = 500  # ids per IN (...) on SQLite
_COLUMN_TYPES = (
    ("seq", "int8"),
    ("decision_id", "varchar"),
    ("application_id", "varchar"),
    ("channel", "varchar"),
    ("decided_at", "timestamptz"),
    ("ruleset_hash", "varchar"),
    ("features_json", "text"),
    ("outcomes_json", "text"),
    ("personal_digest", "varchar"),
    ("client", "varchar"),
    ("idempotency_key", "varchar"),
    ("request_digest", "varchar"),
    ("review_json", "text"),
    ("payload_digest", "varchar"),
    ("prev_hash", "varchar"),
    ("record_hash", "varchar"),
)
"""The decision columns a batch writes, each with its type as the binary COPY sends it."""
_COLUMNS = tuple(name for name, _ in _COLUMN_TYPES)
_TYPES = tuple(kind for _, kind in _COLUMN_TYPES)
_COPY = f"COPY decision ({', '.join(_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_LINKS = "COPY subject_link (subject_hash, application_id, role) FROM STDIN (FORMAT BINARY)"
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


def _decided(session: Session, rows: BulkRows, sqlite: bool, ids_json: str = "") -> set[str]:
    """Which of the applications already have a decision of the channel under the ruleset
    (`ids_json`: `_ids_json` of them, when made already)."""
    found: set[str] = set()
    if not sqlite:
        cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(
            "SELECT application_id FROM decision WHERE ruleset_hash = %s AND channel = %s "
            "AND application_id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
            (rows.ruleset_hash, rows.channel, ids_json or _ids_json(rows.application_ids)),
        )
        found.update(row[0] for row in cursor.fetchall())
        return found
    ids = list(dict.fromkeys(rows.application_ids))
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


def _ids_json(application_ids: Sequence[str]) -> str:
    """The distinct ids as one JSON array: one parameter, quick to send and to read."""
    return json.dumps(list(dict.fromkeys(application_ids)))


@dataclass(frozen=True, slots=True)
class People:
    """The people of a batch's records, flat: for each link the index of its record, the
    person's role and subject hash (`subject_link`'s columns)."""

    records: list[int]
    roles: list[str]
    hashes: list[str]

    @classmethod
    def of(
        cls,
        groups: Sequence[Sequence[tuple[str, str]]],
        hashed: Callable[[list[str]], list[str]] | None = None,
    ) -> People:
        """The (role, value) pairs of each record's group, the values hashed by `hashed`
        (given: national ids to subject hashes) or taken as the hashes they are."""
        records: list[int] = []
        roles: list[str] = []
        values: list[str] = []
        for index, group in enumerate(groups):
            for role, value in group:
                records.append(index)
                roles.append(role)
                values.append(value)
        return cls(records, roles, values if hashed is None else hashed(values))


@dataclass(frozen=True, slots=True)
class Prepared:
    """The records of a `BulkRows` made ready outside the chain lock: their decision ids and
    payload digests, which do not depend on where the records land in the chain, and their
    people."""

    rows: BulkRows
    decided_at: datetime
    decision_ids: list[str]
    payload_digests: list[str]
    people: People
    ids_json: str
    """The applications' ids as `_decided` sends them."""
    links: dict[tuple[str, str, str], None]
    """Every record's links (subject hash, application, role), each once, in order: what
    `_link` writes when every record is new."""


def prepare(rows: BulkRows, people: People | None = None) -> Prepared:
    """Decision ids and payload digests of every record of `rows` (no database); `people`
    (default: `rows.subjects`, taken as (role, subject hash))."""
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
    ids = time_ordered_ids(len(rows.application_ids))
    found = digests.digests(rows.application_ids, ids, rows.features_json, rows.outcomes_json)
    people = people or People.of(rows.subjects)
    applications = rows.application_ids
    links = dict.fromkeys(
        zip(
            people.hashes,
            map(applications.__getitem__, people.records),
            people.roles,
            strict=True,
        )
    )
    return Prepared(rows, decided_at, ids, found, people, _ids_json(rows.application_ids), links)


@dataclass(slots=True)
class LinksSeen:
    """Whether the last batch's people were linked already (`_link`; None: no batch yet), so
    the next batch of a run reads the links there first or copies its own straight away."""

    last: bool | None = None


def write(
    session: Session,
    rows: BulkRows | Prepared,
    *,
    sqlite: bool,
    links_seen: LinksSeen | None = None,
) -> tuple[int, int]:
    """Append the records of `rows` not recorded yet in the caller's transaction, under the
    chain lock; return (appended, already recorded or given twice). `links_seen`: the run's
    `LinksSeen` (updated), which chooses how the people are linked."""
    prepared = rows if isinstance(rows, Prepared) else prepare(rows)
    given = prepared.rows
    connection = session.connection()
    head = connection.execute(_append._LOCK_HEAD).one()
    seen = _decided(session, given, sqlite, prepared.ids_json)
    n = len(given.application_ids)
    if not seen and len(set(given.application_ids)) == n:
        fresh: Sequence[int] = range(n)  # the usual case: every record is new
    else:
        chosen: list[int] = []
        for index, application_id in enumerate(given.application_ids):
            if application_id not in seen:
                seen.add(application_id)
                chosen.append(index)
        fresh = chosen
    if not fresh:
        return 0, n
    part = _Slice.of(prepared, fresh, int(head.seq), str(head.hash))
    if sqlite:
        connection.execute(insert(_rows.decision_table()), _insert_rows(part))
    else:
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(_COPY) as copy:
            _copy_rows(part, copy)
    seq, prev = part.seq + len(fresh), part.record_hashes[-1]  # linked as they were written
    connection.execute(_append._MOVE_HEAD, {"new_seq": seq, "new_hash": prev})
    links = prepared.people
    if links.records:  # under the chain lock: no other link writer
        if len(fresh) == n:
            wanted = dict(prepared.links)  # made ready outside the lock
        else:
            applications = given.application_ids
            kept = set(fresh)
            wanted = dict.fromkeys(
                (links.hashes[k], applications[index], links.roles[k])
                for k, index in enumerate(links.records)
                if index in kept
            )
        links_seen = links_seen or LinksSeen()
        links_seen.last = _link(session, wanted, sqlite, read_first=links_seen.last is not False)
    return len(fresh), n - len(fresh)


def _link(
    session: Session,
    wanted: dict[tuple[str, str, str], None],
    sqlite: bool,
    *,
    read_first: bool = True,
) -> bool:
    """Link applications to their people (`wanted`: subject hash, application, role; each
    once, in order; consumed), keeping links that are there already; return whether any
    was there.

    On PostgreSQL the links are written by one COPY, which costs the server less than an
    insert that checks each row for a conflict: `read_first`, after reading the links
    already there of the applications (leaving those out), else straight away (the batch
    before found none: a run re-scoring applications not linked yet, where the read costs
    the server ~7% of a record's time and finds nothing). Appends hold the chain lock, so
    no other append links meanwhile; a link there already that the COPY meets (not read
    first, or made by something else in between: re-sealing payloads of 0.1 links its
    people) makes it fail, and the insert that keeps the links there is made instead,
    after its savepoint."""
    if sqlite:
        session.connection().execute(
            sqlite_insert(SubjectLinkRow).on_conflict_do_nothing(),
            [{"subject_hash": h, "application_id": a, "role": r} for h, a, r in wanted],
        )
        return False
    cursor = session.connection().connection.driver_connection.cursor()  # type: ignore[union-attr]
    there = False
    if read_first:
        applications = list(dict.fromkeys(application for _, application, _ in wanted))
        for found in _existing_links(cursor, applications):
            wanted.pop(found, None)
            there = True
    if not wanted:
        return there
    cursor.execute("SAVEPOINT batch_links")
    try:
        with cursor.copy(_COPY_LINKS) as copy:
            copy.set_types(("varchar", "varchar", "varchar"))
            deque(map(copy.write_row, wanted), maxlen=0)
    except UniqueViolation:
        cursor.execute("ROLLBACK TO SAVEPOINT batch_links")
        h, a, r = (list(column) for column in zip(*wanted, strict=True))
        cursor.execute(
            "INSERT INTO subject_link (subject_hash, application_id, role) "
            "SELECT * FROM unnest(%b::text[], %b::text[], %b::text[]) ON CONFLICT DO NOTHING",
            (h, a, r),  # %b: binary arrays, no per-element quoting
        )
        return True
    return there


def _existing_links(cursor: Any, applications: list[str]) -> list[tuple[str, str, str]]:
    """The links (subject hash, application, role) already there of `applications`."""
    cursor.execute(
        "SELECT subject_hash, application_id, role FROM subject_link "
        "WHERE application_id = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))",
        (json.dumps(applications),),
    )
    return [tuple(row) for row in cursor.fetchall()]


@dataclass(frozen=True, slots=True)
class _Slice:
    """Records `seq + 1`, `seq + 2`, ... of a batch, chained after `prev`, ready to store."""

    rows: BulkRows
    decided_at: datetime
    seq: int
    prev: str
    decision_ids: Sequence[str]
    application_ids: Sequence[str]
    features_json: Sequence[str]
    outcomes_json: Sequence[str]
    payload_digests: Sequence[str]
    record_hashes: list[str] = field(default_factory=list)
    """Filled as the records are linked (`hashes`): in step with the COPY on PostgreSQL."""

    @classmethod
    def of(cls, prepared: Prepared, chosen: Sequence[int], seq: int, prev: str) -> _Slice:
        """The records `chosen` (indexes into `prepared`, in order), chained after the head
        (`seq`, `prev`)."""
        rows = prepared.rows
        columns: list[Sequence[str]] = [
            prepared.decision_ids,
            rows.application_ids,
            rows.features_json,
            rows.outcomes_json,
            prepared.payload_digests,
        ]
        if len(chosen) != len(rows.application_ids):
            columns = [[column[i] for i in chosen] for column in columns]
        ids, applications, features, outcomes, digests = columns
        return cls(
            rows, prepared.decided_at, seq, prev, ids, applications, features, outcomes, digests
        )

    def hashes(self) -> Iterator[str]:
        """Each record's hash, computed (and kept in `record_hashes`) as it is asked for."""
        return _chain.linking(self.seq, self.prev, self.payload_digests, self.record_hashes)

    def prev_hashes(self) -> Iterator[str]:
        """Each record's predecessor's hash: the head's, then `record_hashes` as `hashes`
        fills it (record k's is asked for after record k - 1 is linked)."""
        n = len(self.payload_digests)
        return chain([self.prev], map(self.record_hashes.__getitem__, range(n - 1)))


def _copy_rows(part: _Slice, copy: Any) -> None:
    """Send the records of `part` into `copy` (COPY's binary format: each value sent as it
    is, with its length, so the server neither scans the texts for separators and escapes
    nor parses the numbers and the time). psycopg writes each row in C; the loop over the
    rows is `map`'s. Each record is linked (its record hash computed) as its row is
    written, so the server has the first rows while the rest are linked."""
    n = len(part.decision_ids)
    copy.set_types(_TYPES)
    rows = part.rows
    deque(
        map(
            copy.write_row,
            zip(
                range(part.seq + 1, part.seq + n + 1),
                part.decision_ids,
                part.application_ids,
                repeat(rows.channel),
                repeat(part.decided_at),
                repeat(rows.ruleset_hash),
                part.features_json,
                part.outcomes_json,
                # personal_digest, client (none for batch decisions: a column default would
                # name one), idempotency_key, request_digest, review_json
                *(repeat(None) for _ in range(5)),
                part.payload_digests,
                part.prev_hashes(),  # zip asks for a row's fields in order: prev, then own
                part.hashes(),
            ),
        ),
        maxlen=0,
    )


def _insert_rows(part: _Slice) -> list[dict[str, Any]]:
    """The records of `part` as the rows of an executemany (SQLite)."""
    deque(part.hashes(), maxlen=0)
    prev_hashes = [part.prev, *part.record_hashes[:-1]]
    rows = part.rows
    return [
        dict(
            zip(
                _COLUMNS,
                (
                    part.seq + 1 + k,
                    part.decision_ids[k],
                    part.application_ids[k],
                    rows.channel,
                    part.decided_at,
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
