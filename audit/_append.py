"""Appending to the chain: group commit of concurrent appends, and the batch transaction.

Appends wait for one lock (the chain head), so each commit's disk flush would otherwise be
paid one after another. Instead, concurrent callers queue their records; one of them (the
leader) writes everything queued in one transaction and one flush, then wakes the others.
Each caller still returns only after its own record is committed. A lone caller is its own
leader and pays no extra wait. A caller on an event loop (`GroupCommit.submit_future`) parks
no thread: it gets a future, and the group's own writer thread leads the batches that hold
such items; the future is completed only after the commit, and cannot be cancelled once
queued (a request that goes away does not unmake its decision).

Inside the batch transaction the chain lock is taken first, so checking idempotency keys,
upserting the personal payloads (one statement), inserting the records (one statement) and
moving the head cost a fixed number of round trips, however many records the batch holds.

Idempotency keys are scoped per client: a key is looked up, and unique, together with the
client that sent it, so another client's use of the same key is a different request.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from sqlalchemy import Connection, bindparam, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, col, select

from audit import _chain, _rows
from audit.errors import IdempotencyConflict
from audit.models import ChainHeadRow, DecisionRow, PersonalDataRow, SubjectLinkRow
from audit.random_pool import random_bytes
from audit.records import StoredDecision

MAX_BATCH = 64


@dataclass(eq=False)
class Append:
    """One record waiting to be appended, and, once done, what became of it."""

    fields: dict[str, Any]  # the chained decision columns, without personal_digest and chain fields
    personal_json: str | None  # clear: the personal digest is over it
    client: str | None = None  # chained: part of the payload (version 2)
    sealed: tuple[str, str] | None = None  # personal_json sealed: (data key id, ciphertext)
    subjects: tuple[tuple[str, str], ...] = ()  # (role, subject hash) of its people
    done: bool = False
    result: StoredDecision | None = None
    error: BaseException | None = None
    follows: Append | None = field(default=None, repr=False)  # same key earlier in the batch
    future: Future[StoredDecision] | None = field(default=None, repr=False)  # submit_future

    @property
    def key(self) -> tuple[str | None, str] | None:
        """The idempotency key with its client (keys are unique per client), or None."""
        key: str | None = self.fields["idempotency_key"]
        return None if key is None else (self.client, key)

    def settle(self) -> None:
        """Hand the outcome to the future of `GroupCommit.submit_future`, if there is one."""
        if self.future is None or self.future.done():
            return
        if self.error is not None:
            self.future.set_exception(self.error)
        elif self.result is not None:
            self.future.set_result(self.result)
        else:
            self.future.set_exception(RuntimeError("an append finished without an outcome"))

    def outcome(self) -> StoredDecision:
        if self.error is not None:
            raise self.error
        if self.result is None:
            raise RuntimeError("an append finished without an outcome")
        return self.result


class GroupCommit:
    """Leader/follower batching of appends within one process.

    Two ways in, one queue: `submit` blocks its thread until its item is committed (the
    thread leads a batch when no one else does); `submit_future` returns at once with a
    future, and the batch is led by the group's own writer thread (started on first use, one
    per group), so an event loop can await a commit without parking a thread per request.
    Whoever leads writes everything queued (up to `max_batch`) in one transaction; sync and
    future items share batches.
    """

    def __init__(self, write: Callable[[list[Append]], None], max_batch: int = MAX_BATCH) -> None:
        self._write = write  # must finish every item it is given; may raise only on bugs
        self._max_batch = max_batch
        self._condition = threading.Condition()
        self._queue: list[Append] = []
        self._leading = False
        self._writer: ThreadPoolExecutor | None = None  # leads batches of future items
        self._draining = False  # a drain is queued on or running in the writer thread

    def submit(self, item: Append) -> StoredDecision:
        """Queue `item`; return once it is committed (or raise what stopped it)."""
        with self._condition:
            self._queue.append(item)
            while True:
                while self._leading and not item.done:
                    self._condition.wait()
                if item.done:
                    return item.outcome()
                self._lead()

    def submit_future(self, item: Append) -> Future[StoredDecision]:
        """Queue `item`; the future is done once it is committed (or holds what stopped it)."""
        future: Future[StoredDecision] = Future()
        future.set_running_or_notify_cancel()  # queued is as good as written: not cancellable
        item.future = future
        with self._condition:
            self._queue.append(item)
            self._kick()
        return future

    def close(self) -> None:
        """Finish what is queued and stop the writer thread (if it was started)."""
        with self._condition:
            writer, self._writer = self._writer, None
        if writer is not None:
            writer.shutdown(wait=True)

    def _kick(self) -> None:
        """With the condition held: make sure queued future items get a leader."""
        if self._leading or self._draining or not self._futures_queued():
            return
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="group-commit")
        self._draining = True
        self._writer.submit(self._drain)

    def _futures_queued(self) -> bool:
        return any(item.future is not None for item in self._queue)

    def _drain(self) -> None:
        """The writer thread: lead batches while future items are queued and no one else
        leads (a sync leader kicks the writer again when it is done)."""
        with self._condition:
            try:
                while not self._leading and self._futures_queued():
                    self._lead()
            finally:
                self._draining = False
                self._kick()

    def _lead(self) -> None:
        """With the condition held: write one batch, then wake everyone whose item is done."""
        self._leading = True
        batch = self._queue[: self._max_batch]
        del self._queue[: self._max_batch]
        self._condition.release()
        try:
            self._write(batch)
        except BaseException as error:
            for waiting in batch:
                if not waiting.done:
                    waiting.error, waiting.done = error, True
            raise
        finally:
            for done in batch:
                done.settle()
            self._condition.acquire()
            self._leading = False
            self._condition.notify_all()
            self._kick()


def _personal_statements(sqlite: bool) -> tuple[Any, Any]:
    """The subject-link insert and the personal-payload upsert of one dialect, built once
    (executed with a list of rows: SQLAlchemy sends them as one multi-row statement, and its
    compiled form is cached rather than rebuilt for every batch size)."""
    insert_into = sqlite_insert if sqlite else pg_insert
    links = insert_into(SubjectLinkRow).on_conflict_do_nothing()
    statement = insert_into(PersonalDataRow)
    upsert = statement.on_conflict_do_update(
        index_elements=["application_id"],
        set_={
            "payload_json": statement.excluded.payload_json,
            "key_id": statement.excluded.key_id,
            "recorded_at": statement.excluded.recorded_at,
        },
    ).returning(col(PersonalDataRow.application_id), col(PersonalDataRow.salt))
    return links, upsert


_PERSONAL = {sqlite: _personal_statements(sqlite) for sqlite in (True, False)}


def _put_personal(session: Session, items: Sequence[Append], sqlite: bool) -> dict[str, str]:
    """Insert or replace the sealed personal payloads of `items` in one statement (the last
    of an application wins), keeping an application's salt if it has one, and link each
    application to its people (subject hashes, one statement); return each application's
    salt."""
    now = datetime.now(UTC)
    insert_links, upsert = _PERSONAL[sqlite]
    connection = session.connection()
    personal, links = _personal_rows(items, now)
    if links:
        connection.execute(
            insert_links,
            links,
        )
    if not personal:
        return {}
    rows = connection.execute(upsert, personal)
    return {str(row[0]): str(row[1]) for row in rows}


def _personal_rows(
    items: Sequence[Append], now: datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The batch's rows of `personal_data` (each sealed payload with a fresh salt for its
    digest; the last of an application wins) and its links of people to applications, sorted
    so that concurrent batches take their locks in one order. Each row also holds the
    idempotency key of the item it is for (`client`, `idempotency_key`; not columns of
    either table), for the PostgreSQL statements that write it only if that key is not
    stored."""
    sealed = {
        item.fields["application_id"]: (item.sealed, item)
        for item in items
        if item.sealed is not None
    }
    personal = [
        {
            "application_id": application_id,
            "salt": random_bytes(16).hex(),
            "payload_json": ciphertext,
            "key_id": key_id,
            "recorded_at": now,
            "client": item.client,
            "idempotency_key": item.fields["idempotency_key"],
        }
        for application_id, ((key_id, ciphertext), item) in sealed.items()
    ]
    links = sorted(
        {
            (subject_hash, item.fields["application_id"], role, item)
            for item in items
            for role, subject_hash in item.subjects
        },
        key=lambda link: link[:3],
    )
    return personal, [
        {
            "subject_hash": subject,
            "application_id": application,
            "role": role,
            "client": item.client,
            "idempotency_key": item.fields["idempotency_key"],
        }
        for subject, application, role, item in links
    ]


def _stored_by_key(
    session: Session, keys: set[tuple[str | None, str]]
) -> dict[tuple[str | None, str], StoredDecision]:
    if not keys:
        return {}
    rows = session.exec(
        select(DecisionRow).where(
            col(DecisionRow.client).in_({c for c, _ in keys if c is not None}),
            col(DecisionRow.idempotency_key).in_({k for _, k in keys}),
        )
    )
    found = {(row.client, row.idempotency_key): row for row in rows if row.idempotency_key}
    return {key: _rows.to_stored(found[key]) for key in keys if key in found}


def _resolve_duplicate(item: Append, earlier: StoredDecision) -> StoredDecision | BaseException:
    if earlier.request_digest != item.fields["request_digest"]:
        return IdempotencyConflict(earlier.idempotency_key or "", earlier.decision_id)
    return earlier


# Built once: statement construction costs more than the statements on the append path.
_LOCK_HEAD = (
    select(col(ChainHeadRow.seq), col(ChainHeadRow.hash))
    .where(col(ChainHeadRow.id) == 1)
    .with_for_update()
)
_MOVE_HEAD = (
    update(ChainHeadRow)
    .where(col(ChainHeadRow.id) == 1)
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def write_batch(
    connection: Connection, items: Sequence[Append], *, sqlite: bool, commit: bool = False
) -> list[StoredDecision | BaseException]:
    """Append `items` in the caller's transaction on `connection` (begun here if it is not
    yet: on SQLite the write unit's `BEGIN IMMEDIATE`); return each one's outcome, to be
    handed out only once the transaction has committed. With `commit`, the caller has nothing
    more to do in the transaction: on PostgreSQL it is committed here, in the batch's last
    round trip (the caller's own commit then finds nothing to do)."""
    if not connection.in_transaction():
        connection.begin()
    if not sqlite:
        return _write_batch_postgres(connection, items, commit)
    return _write_batch_sqlite(connection, items)


def _sort_out(
    items: Sequence[Append], stored: dict[tuple[str | None, str], StoredDecision]
) -> list[Append]:
    """The items to append: not a replay of a stored key, nor of an earlier item's key in
    the batch (such an item `follows` that one)."""
    fresh: list[Append] = []
    first_with_key: dict[tuple[str | None, str], Append] = {}
    for item in items:
        item.follows = None
        if item.key is not None and item.key in stored:
            pass  # a replay: resolved against the stored record in `outcomes_of`
        elif item.key is not None and item.key in first_with_key:
            item.follows = first_with_key[item.key]
        else:
            if item.key is not None:
                first_with_key[item.key] = item
            fresh.append(item)
    return fresh


def chain_rows(
    fresh: Sequence[Append], salts: dict[str, str], seq: int, prev: str
) -> tuple[list[dict[str, Any]], int, str]:
    """The decision rows of `fresh`, chained after the head (`seq`, `prev`), and the new
    head."""
    for item in fresh:
        item.fields["personal_digest"] = (
            None
            if item.personal_json is None
            else _chain.personal_digest(salts[item.fields["application_id"]], item.personal_json)
        )
    rows: list[dict[str, Any]] = []
    for item in fresh:
        seq += 1
        digest = _chain.payload_digest(**item.fields, client=item.client)
        own = _chain.record_hash(seq, prev, digest)
        rows.append(
            {
                "review_json": None,  # only a manual decision has a review part
                **item.fields,
                "client": item.client,
                "seq": seq,
                "payload_digest": digest,
                "prev_hash": prev,
                "record_hash": own,
            }
        )
        prev = own
    return rows, seq, prev


def outcomes_of(
    items: Sequence[Append],
    fresh: Sequence[Append],
    rows: Sequence[dict[str, Any]],
    stored: dict[tuple[str | None, str], StoredDecision],
) -> list[StoredDecision | BaseException]:
    """Each item's outcome: its new record, or the stored (or earlier) one it replays."""
    new = {
        id(item): _rows.to_stored(SimpleNamespace(**row))
        for item, row in zip(fresh, rows, strict=True)
    }
    result: list[StoredDecision | BaseException] = []
    for item in items:
        if item.key is not None and item.key in stored:
            result.append(_resolve_duplicate(item, stored[item.key]))
        elif item.follows is not None:
            result.append(_resolve_duplicate(item, new[id(item.follows)]))
        else:
            result.append(new[id(item)])
    return result


# PostgreSQL: the batch in two round trips (and, after an idle second, the pool's check of
# the connection), on the driver's connection in pipeline mode: psycopg queues statements and
# waits only where a result is needed. (1) BEGIN, lock the head, look up the idempotency
# keys, link the people and upsert the personal payloads (each only if its item's key is
# not stored: `_insert_unless_stored`) and read their salts; (2) insert the records, move
# the head and (for the group commit) COMMIT. The head's lock is held for one round trip
# less than when the people waited for the keys' answer: with two workers, the other's batch
# waits for it. Each statement is fixed text, so psycopg prepares it on the server after its
# first few uses. The commit is as durable as before (synchronous_commit is not touched).
_PG_LOCK = "SELECT seq, hash FROM chain_head WHERE id = 1 FOR UPDATE"
_PG_MOVE = "UPDATE chain_head SET seq = %(new_seq)s, hash = %(new_hash)s WHERE id = 1"
# the decisions with the batch's (client, key) pairs (given as two arrays, a pair at each
# index): each pair one probe of the key's index on both its columns (by the key alone, its
# second column, a lookup would read the whole index, an entry per keyed decision)
_PG_KEYS = sql.SQL(
    "SELECT {} FROM decision AS d JOIN unnest(%(clients)s::text[], %(keys)s::text[])"
    " AS wanted (client, idempotency_key)"
    " ON d.client = wanted.client AND d.idempotency_key = wanted.idempotency_key"
).format(sql.SQL(", ").join(sql.Identifier("d", c.name) for c in _rows.decision_table().columns))


# The link insert and the personal-payload upsert of a batch, the same on both databases but
# for their placeholders: a link is kept if there; an application's last payload is kept
# (with its salt, if it had one).
_LINK_COLUMNS = ("subject_hash", "application_id", "role")
_LINK_INSERT = f"INSERT INTO subject_link ({', '.join(_LINK_COLUMNS)}) VALUES "
_LINK_CONFLICT = " ON CONFLICT DO NOTHING"
_PERSONAL_COLUMNS = ("application_id", "salt", "payload_json", "key_id", "recorded_at")
_PERSONAL_INSERT = f"INSERT INTO personal_data ({', '.join(_PERSONAL_COLUMNS)}) VALUES "
_PERSONAL_CONFLICT = (
    " ON CONFLICT (application_id) DO UPDATE SET payload_json = excluded.payload_json,"
    " key_id = excluded.key_id, recorded_at = excluded.recorded_at"
)


def _insert_unless_stored(insert: str, columns: Sequence[str], conflict: str) -> str:
    """`insert` (up to its `VALUES`) of one row's `columns` (psycopg placeholders), only when
    the idempotency key of the item the row is for (`client`, `idempotency_key`) is not
    stored: nothing for a replay. The batch holds the chain lock first, so no other writer
    can store that key meanwhile."""
    values = ", ".join(f"%({name})s" for name in columns)
    return (
        f"{insert.removesuffix(' VALUES ')} SELECT {values} WHERE NOT EXISTS (SELECT 1 FROM"
        f" decision WHERE client = %(client)s AND idempotency_key = %(idempotency_key)s){conflict}"
    )


_PG_LINK = _insert_unless_stored(_LINK_INSERT, _LINK_COLUMNS, _LINK_CONFLICT)
_PG_PERSONAL = (
    _insert_unless_stored(_PERSONAL_INSERT, _PERSONAL_COLUMNS, _PERSONAL_CONFLICT)
    + " RETURNING application_id, salt"
)


_PG_INSERTS: dict[tuple[str, ...], bytes] = {}


def _pg_insert(raw: psycopg.Connection[Any], columns: Sequence[str]) -> bytes:
    """The INSERT of decision rows with `columns`, as the bytes psycopg sends: composed once
    per column list (psycopg would otherwise compose an `sql.Composed` again for every row
    of an `executemany`)."""
    key = tuple(columns)
    found = _PG_INSERTS.get(key)
    if found is None:
        found = _PG_INSERTS[key] = (
            sql.SQL("INSERT INTO decision ({}) VALUES ({})")
            .format(
                sql.SQL(", ").join(map(sql.Identifier, columns)),
                sql.SQL(", ").join(map(sql.Placeholder, columns)),
            )
            .as_bytes(raw)
        )
    return found


class ConnectionLostError(OperationalError):
    """The batch's PostgreSQL connection was found gone before any of its statements that
    write were sent: nothing of the batch was written, so it may be written again on another
    connection (`DecisionLog` does, once). Pooled connections are only pinged after lying
    idle (`audit.database.PING_AFTER_IDLE_S`): this is how one that died while in use is
    found."""


def _write_batch_postgres(
    connection: Connection, items: Sequence[Append], commit: bool
) -> list[StoredDecision | BaseException]:
    """`write_batch` on PostgreSQL; a driver error is raised as SQLAlchemy's, as the unit
    of work expects (`ConnectionLostError` when nothing of the batch was written)."""
    raw = connection.connection.dbapi_connection
    if not isinstance(raw, psycopg.Connection):  # pragma: no cover - another driver
        raise TypeError(f"the PostgreSQL append path needs psycopg, not {type(raw)!r}")
    progress = _Progress()
    try:
        return _pipelined(raw, items, commit, progress)
    except psycopg.Error as error:
        if raw.broken:
            connection.invalidate(error)
            if not progress.writing:
                raise ConnectionLostError(
                    "record_decision", None, error, connection_invalidated=True
                ) from error
        raise DBAPIError.instance(
            "record_decision", None, error, psycopg.Error, connection_invalidated=raw.broken
        ) from error


@dataclass
class _Progress:
    writing: bool = False  # a statement that writes may have been sent


def _pipelined(
    raw: psycopg.Connection[Any], items: Sequence[Append], commit: bool, progress: _Progress
) -> list[StoredDecision | BaseException]:
    """The batch in one pipeline. A transaction begun here is begun by a queued `BEGIN` (the
    connection in autocommit meanwhile): psycopg's own would wait for a round trip of its
    own."""
    begin = commit and raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    if begin:
        raw.autocommit = True
    try:
        with raw.pipeline():
            return _batch_in_pipeline(raw, items, commit, begin, progress)
    finally:
        if begin:
            if raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                with contextlib.suppress(psycopg.Error):
                    raw.execute("ROLLBACK")  # failed on the way: nothing of it stays
            with contextlib.suppress(psycopg.Error):
                raw.autocommit = False


def _batch_in_pipeline(
    raw: psycopg.Connection[Any],
    items: Sequence[Append],
    commit: bool,
    begin: bool,
    progress: _Progress,
) -> list[StoredDecision | BaseException]:
    keys = list({item.key for item in items if item.key is not None})  # (client, key)
    # Who is fresh is known only once the keys are looked up, but the people and payloads of
    # the items that may be (each but the later ones of a key given twice in the batch) go in
    # the same round trip, each written only if its key is not stored (`_PG_LINK`,
    # `_PG_PERSONAL`): a replay writes nothing, and the head is locked before they run.
    candidates = _sort_out(items, {})
    now = datetime.now(UTC)
    personal, links = _personal_rows(candidates, now)
    if not begin:  # the caller's transaction: what it holds may be committed after an error
        progress.writing = True
    # one cursor per statement whose result is read, one for all the others (a cursor costs
    # more than the statement it sends)
    with (
        raw.cursor() as writing,
        raw.cursor() as locking,
        raw.cursor() as upserting,
        raw.cursor(row_factory=dict_row) if keys else contextlib.nullcontext() as found,
    ):
        if begin:
            writing.execute("BEGIN")
        locking.execute(_PG_LOCK)  # the chain lock first: then no other writer can use a key
        if found is not None:
            found.execute(_PG_KEYS, {"clients": [c for c, _ in keys], "keys": [k for _, k in keys]})
        if links:
            writing.executemany(_PG_LINK, links)
        if personal:
            upserting.executemany(_PG_PERSONAL, personal, returning=True)
        head = locking.fetchone()  # round trip (1): BEGIN, lock, keys, people, payloads
        if head is None:
            raise RuntimeError("the chain head row is missing")
        rows_found = found.fetchall() if found is not None else []
        salts = _salts(upserting) if personal else {}
        # the lookup joined the batch's very pairs: each row found is one of them
        stored = {
            (row["client"], row["idempotency_key"]): _rows.to_stored(SimpleNamespace(**row))
            for row in rows_found
        }
        # with no key stored the candidates are the fresh items, and their payloads were sent
        fresh = candidates
        if stored:
            fresh = _sort_out(items, stored)
            if not _payloads_written(personal, fresh):
                # an application's payload was sent as a replay's (the same application id
                # twice in the batch, the later a replay): write the fresh items' own, in a
                # round trip
                salts = _pg_personal(raw, fresh)
        rows, seq, prev = chain_rows(fresh, salts, int(head[0]), str(head[1]))
        if rows:
            writing.executemany(_pg_insert(raw, list(rows[0])), rows)
            writing.execute(_PG_MOVE, {"new_seq": seq, "new_hash": prev})
        if commit:
            progress.writing = True
            writing.execute("COMMIT")  # round trip (2), with the inserts, when the pipeline ends
    return outcomes_of(items, fresh, rows, stored)


def _salts(cursor: psycopg.Cursor[Any]) -> dict[str, str]:
    """Each written payload's application id and salt, from an `executemany` that returned
    them (a payload not written, a replay's, returns no row)."""
    salts: dict[str, str] = {}
    while True:
        for application_id, salt in cursor.fetchall():
            salts[str(application_id)] = str(salt)
        if not cursor.nextset():
            return salts


def _payloads_written(sent: Sequence[dict[str, Any]], fresh: Sequence[Append]) -> bool:
    """Whether the payloads `sent` (with `_PG_PERSONAL`) are the fresh items' own: each
    application's last fresh payload, as `_personal_rows(fresh)` would send it."""
    sent_by_application = {row["application_id"]: row["payload_json"] for row in sent}
    needed = {item.fields["application_id"]: item.sealed for item in fresh if item.sealed}
    return all(
        sent_by_application.get(application_id) is sealed[1]
        for application_id, sealed in needed.items()
    )


def _pg_personal(raw: psycopg.Connection[Any], items: Sequence[Append]) -> dict[str, str]:
    """The people and payloads of `items` (all fresh) written, in one round trip."""
    personal, links = _personal_rows(items, datetime.now(UTC))
    with raw.cursor() as linking, raw.cursor() as cursor:
        if links:
            linking.executemany(_PG_LINK, links)
        if not personal:
            return {}
        cursor.executemany(_PG_PERSONAL, personal, returning=True)
        return _salts(cursor)


# SQLite: the same statements as plain SQL on the driver's connection, in the transaction the
# unit began (`BEGIN IMMEDIATE`: the database's write lock is the chain lock). SQLAlchemy's
# statement machinery cost more than SQLite's own work for a batch; its type processors
# still write and read the date-times, so the stored text is the text it would have written.
# Each table's rows go in as one statement of many rows (VALUES (...), (...)), not one
# statement per row: the driver lets go of the interpreter's lock for every statement it
# steps, and under load every step then waited for the event loop's thread to give the lock
# back. A batch is seven statements, whatever its size.
_SQLITE_HEAD = "SELECT seq, hash FROM chain_head WHERE id = 1"
_SQLITE_MOVE = "UPDATE chain_head SET seq = ?, hash = ? WHERE id = 1"
_SQLITE_COLUMNS = tuple(c.name for c in _rows.decision_table().columns)
_SQLITE_KEYS = f"SELECT {', '.join(_SQLITE_COLUMNS)} FROM decision WHERE "  # as _PG_KEYS
# one row of JSON: [[application id, salt], ...] (one step, however many payloads)
_SQLITE_SALTS = (
    "SELECT json_group_array(json_array(application_id, salt)) FROM personal_data"
    " WHERE application_id IN "
)


def _in(count: int) -> str:
    return f"({', '.join('?' * count)})"


# SQLite's default bound on a statement's parameters since 3.32 (builds may raise it)
_SQLITE_PARAMETERS = 32_766


def _insert_rows(
    cursor: sqlite3.Cursor,
    insert: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    conflict: str = "",
) -> None:
    """`insert` (up to `VALUES `) of `rows` (each a value per column), as few statements as
    SQLite's bound on parameters allows: one for any batch the group commit makes."""
    width = len(columns)
    per_statement = _SQLITE_PARAMETERS // width
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        cursor.execute(
            insert + ", ".join([_in(width)] * len(chunk)) + conflict,
            [value for row in chunk for value in row],
        )


def _write_batch_sqlite(
    connection: Connection, items: Sequence[Append]
) -> list[StoredDecision | BaseException]:
    """`write_batch` on SQLite; a driver error is raised as SQLAlchemy's, as the unit of
    work expects."""
    raw = connection.connection.dbapi_connection
    if not isinstance(raw, sqlite3.Connection):  # pragma: no cover - another driver
        raise TypeError(f"the SQLite append path needs sqlite3, not {type(raw)!r}")
    timestamp = _rows.decision_table().c.decided_at.type.dialect_impl(connection.dialect)
    write_time = timestamp.bind_processor(connection.dialect)
    read_time = timestamp.result_processor(connection.dialect, None)
    if write_time is None or read_time is None:  # pragma: no cover - SQLite stores text
        raise TypeError("SQLite's DateTime has no text form")
    cursor = raw.cursor()
    try:
        # The chain lock first (held since BEGIN IMMEDIATE): no other writer can use a key.
        head = cursor.execute(_SQLITE_HEAD).fetchone()
        if head is None:
            raise RuntimeError("the chain head row is missing")
        keys = {item.key for item in items if item.key is not None}
        stored = _sqlite_stored_by_key(cursor, keys, read_time) if keys else {}
        fresh = _sort_out(items, stored)
        personal, links = _personal_rows(fresh, datetime.now(UTC))
        if links:
            _insert_rows(
                cursor,
                _LINK_INSERT,
                _LINK_COLUMNS,
                [[link[name] for name in _LINK_COLUMNS] for link in links],
                _LINK_CONFLICT,
            )
        salts: dict[str, str] = {}
        if personal:  # an application's last payload is kept, with its salt if it had one
            for row in personal:
                row["recorded_at"] = write_time(row["recorded_at"])
            _insert_rows(
                cursor,
                _PERSONAL_INSERT,
                _PERSONAL_COLUMNS,
                [[row[name] for name in _PERSONAL_COLUMNS] for row in personal],
                _PERSONAL_CONFLICT,
            )
            ids = [row["application_id"] for row in personal]
            (found,) = cursor.execute(_SQLITE_SALTS + _in(len(ids)), ids).fetchone()
            salts = {str(application_id): str(salt) for application_id, salt in json.loads(found)}
        rows, seq, prev = chain_rows(fresh, salts, int(head[0]), str(head[1]))
        if rows:
            columns = list(rows[0])
            _insert_rows(
                cursor,
                f"INSERT INTO decision ({', '.join(columns)}) VALUES ",
                columns,
                [
                    [
                        write_time(row[name]) if name == "decided_at" else row[name]
                        for name in columns
                    ]
                    for row in rows
                ],
            )
            cursor.execute(_SQLITE_MOVE, (seq, prev))
    except sqlite3.Error as error:
        raise DBAPIError.instance("record_decision", None, error, sqlite3.Error) from error
    finally:
        cursor.close()
    return outcomes_of(items, fresh, rows, stored)


def _sqlite_keys(clients: int, keys: int) -> str:
    """The decisions of `clients` clients with `keys` keys (placeholders: the clients, then
    the keys), through both columns of the key's index, as `_PG_KEYS`."""
    return f"{_SQLITE_KEYS}client IN {_in(clients)} AND idempotency_key IN {_in(keys)}"


def _sqlite_stored_by_key(
    cursor: sqlite3.Cursor,
    keys: set[tuple[str | None, str]],
    read_time: Callable[[Any], Any],
) -> dict[tuple[str | None, str], StoredDecision]:
    """`_stored_by_key` on the driver's cursor."""
    clients = sorted({client for client, _ in keys if client is not None})
    wanted = sorted({key for _, key in keys})
    found: dict[tuple[str | None, str], StoredDecision] = {}
    for values in cursor.execute(_sqlite_keys(len(clients), len(wanted)), [*clients, *wanted]):
        row = dict(zip(_SQLITE_COLUMNS, values, strict=True))
        key = (row["client"], row["idempotency_key"])
        if key in keys:
            row["decided_at"] = read_time(row["decided_at"])
            found[key] = _rows.to_stored(SimpleNamespace(**row))
    return found
