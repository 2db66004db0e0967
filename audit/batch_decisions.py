"""`BatchDecisionLog`: batch decisions (re-scoring) appended to the chain in bulk.

The same chain as `DecisionLog`'s (`audit._chain`: one payload, one digest, one link), written
by `audit._bulk_append` many records per transaction (COPY on PostgreSQL). Each transaction is
a checkpoint: a run killed midway keeps what it committed, and a run started again records
only the applications not recorded yet under the ruleset (checked under the chain lock).
The caller gives each record's features and outcomes as the canonical JSON texts
(`lender_rules.canonical`) that `DecisionLog.record` would store for them, and, where it
knows them, its people as (role, normalised national id), stored only as keyed hashes
(`subject_link`), as `DecisionLog.record` stores them.
"""

from __future__ import annotations

import gc
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter

from audit import _bulk_append
from audit._bulk_append import BulkRows as BulkRows
from audit._unit import UnitOfWork
from audit.errors import InvalidRecord
from audit.models import DIGEST_LENGTH
from audit.personal_keys import PersonalKeys
from lender_rules.vocabulary import CHANNELS

PER_TRANSACTION = 5_000
"""Records per commit: small enough that the next part is made ready while one is written
(`BatchDecisionLog.append_parts`), large enough that a commit's own cost is small."""
_ID_LENGTH = 64
_SWITCH_INTERVAL = 0.0005
"""Seconds between the interpreter's thread switches while parts are written: the writer
thread needs Python's lock after each answer of the server, and the thread making the next
part ready would otherwise hold it up to 5 ms (Python's default) while the server waits."""
_QUEUED = 2
"""Parts made ready ahead of the writer thread at most (one written, the next waiting): the
work of a part is uneven (the first part of each block of `broker`'s matches its whole
block), so with room for one more part the writer is not left waiting after a slow one."""
_ROLES = ("applicant", "co_applicant")


@dataclass(frozen=True, slots=True)
class BatchWritten:
    """What one `append` did: records appended, and records left out because their
    application already had a decision under the ruleset (or was given twice)."""

    recorded: int
    already: int


def _check(rows: BulkRows) -> None:
    if rows.channel not in CHANNELS:
        raise InvalidRecord("channel", f"must be one of {', '.join(CHANNELS)}")
    if rows.decided_at.tzinfo is None:
        raise InvalidRecord("decided_at", "must be timezone-aware")
    if not isinstance(rows.ruleset_hash, str) or len(rows.ruleset_hash) != DIGEST_LENGTH:
        raise InvalidRecord("ruleset_hash", f"must be {DIGEST_LENGTH} hex digits")
    n = len(rows.application_ids)
    if len(rows.features_json) != n or len(rows.outcomes_json) != n:
        raise InvalidRecord("features_json", "needs one text per application, as outcomes_json")
    if rows.subjects and len(rows.subjects) != n:
        raise InvalidRecord("subjects", "needs one group of people per application, or none")
    if rows.subjects and not _all_people(rows.subjects):
        for index, group in enumerate(rows.subjects):
            for pair in group:
                role, number = pair if isinstance(pair, tuple) and len(pair) == 2 else ("", "")
                if role not in _ROLES or not isinstance(number, str) or not 0 < len(number) <= 64:
                    raise InvalidRecord(
                        f"subjects[{index}]",
                        f"must be pairs (one of {', '.join(_ROLES)}, national id)",
                    )
    if not _all_texts(rows.application_ids, _ID_LENGTH):
        for index, application_id in enumerate(rows.application_ids):
            if not isinstance(application_id, str) or not 0 < len(application_id) <= _ID_LENGTH:
                raise InvalidRecord(
                    f"application_ids[{index}]",
                    f"must be a non-empty string of at most {_ID_LENGTH} characters",
                )
    for name, texts in (
        ("features_json", rows.features_json),
        ("outcomes_json", rows.outcomes_json),
    ):
        if not _all_texts(texts):
            for index, value in enumerate(texts):
                if not isinstance(value, str) or not value:
                    raise InvalidRecord(f"{name}[{index}]", "must be a canonical JSON text")


def _all_people(groups: Sequence[Sequence[tuple[str, str]]]) -> bool:
    """Whether every group holds only pairs (role, national id of 1 to 64 characters); quick."""
    pairs = list(chain.from_iterable(groups))
    if not pairs:
        return True
    if set(map(type, pairs)) != {tuple} or set(map(len, pairs)) != {2}:
        return False
    return set(map(itemgetter(0), pairs)) <= set(_ROLES) and _all_texts(
        list(map(itemgetter(1), pairs)), 64
    )


def _all_texts(values: Sequence[object], longest: int | None = None) -> bool:
    """Whether every value is a non-empty `str` (of at most `longest` characters); quick
    (loops in C), so a large batch is checked in milliseconds."""
    if not values:
        return True
    if set(map(type, values)) != {str}:
        return False
    if longest is None:
        return all(values)  # a non-empty text is true
    return all(values) and max(map(len, values)) <= longest  # type: ignore[arg-type]


def _slices(rows: BulkRows, size: int) -> Iterator[BulkRows]:
    for start in range(0, len(rows.application_ids), size):
        end = start + size
        yield BulkRows(
            rows.channel,
            rows.ruleset_hash,
            rows.decided_at,
            rows.application_ids[start:end],
            rows.features_json[start:end],
            rows.outcomes_json[start:end],
            rows.subjects[start:end],
        )


class BatchDecisionLog:
    """Batch decisions appended in bulk to the decision chain."""

    def __init__(self, uow: UnitOfWork, keys: PersonalKeys) -> None:
        self._uow = uow
        self._keys = keys

    def append(self, rows: BulkRows, *, per_transaction: int = PER_TRANSACTION) -> BatchWritten:
        """Append a decision for each application of `rows` that has none of the channel
        under the ruleset yet, `per_transaction` records per commit (each a checkpoint).

        Nothing is written when a value is invalid (`InvalidRecord` names it); a database
        failure raises `StoreUnavailable` and keeps the transactions committed before it."""
        _check(rows)
        return self.append_parts(_slices(rows, max(1, per_transaction)), checked=True)

    def append_parts(self, parts: Iterable[BulkRows], *, checked: bool = False) -> BatchWritten:
        """Append the records of each part in a transaction of its own (each a checkpoint),
        in order; return when the last has committed.

        On PostgreSQL the parts are written by a thread of their own while this one makes the
        next part ready (runs `parts`, checks it, hashes its people and payloads): the client's
        work overlaps the server's, with at most `_QUEUED` parts handed to the writer and not
        yet written. A part with an invalid value raises `InvalidRecord` before it is written
        (the parts before it are written and stay committed); a database failure raises
        `StoreUnavailable` once the parts handed over before it have ended, and nothing
        after the failed part is written.

        Python's cyclic garbage collector is paused meanwhile (enabled again after, as it
        was): the many small objects of the parts (the people's tuples, the rows' lists) set
        off a collection every few hundred records, which cost ~4% of the client's CPU per
        record and find nothing (a part holds no cycle: its objects are freed as it ends)."""
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._append_parts(parts, checked)
        finally:
            if collecting:
                gc.enable()

    def _append_parts(self, parts: Iterable[BulkRows], checked: bool) -> BatchWritten:
        recorded = already = 0
        seen = _bulk_append.LinksSeen()  # the run's parts link their people as the last did
        if self._uow.sqlite:  # one process holds SQLite's write lock: nothing to overlap
            for part in parts:
                written, skipped = self._write(self._prepare(part, checked), seen)
                recorded += written
                already += skipped
            return BatchWritten(recorded, already)
        interval = sys.getswitchinterval()
        sys.setswitchinterval(min(interval, _SWITCH_INTERVAL))
        try:
            with ThreadPoolExecutor(1, thread_name_prefix="batch-decisions") as writer:
                pending: deque[Future[tuple[int, int]]] = deque()
                for part in parts:
                    prepared = self._prepare(part, checked)
                    while len(pending) >= _QUEUED:
                        written, skipped = pending.popleft().result()
                        recorded += written
                        already += skipped
                    after = pending[-1] if pending else None
                    pending.append(writer.submit(self._write_after, after, prepared, seen))
                while pending:
                    written, skipped = pending.popleft().result()
                    recorded += written
                    already += skipped
        finally:
            sys.setswitchinterval(interval)
        return BatchWritten(recorded, already)

    def _prepare(self, rows: BulkRows, checked: bool) -> _bulk_append.Prepared:
        if not checked:
            _check(rows)
        people = _bulk_append.People.of(rows.subjects, self._keys.subject_hashes)
        return _bulk_append.prepare(rows, people)  # national ids stored only as keyed hashes

    def _write_after(
        self,
        before: Future[tuple[int, int]] | None,
        prepared: _bulk_append.Prepared,
        seen: _bulk_append.LinksSeen,
    ) -> tuple[int, int]:
        """`_write`, in the writer thread, unless the part written before failed (its error
        is raised from its own future): nothing is written after a failed part."""
        if before is not None and before.exception() is not None:
            return 0, 0
        return self._write(prepared, seen)

    def _write(
        self, prepared: _bulk_append.Prepared, seen: _bulk_append.LinksSeen
    ) -> tuple[int, int]:
        with self._uow.unit("record_batch_decisions", write=True) as session:
            return _bulk_append.write(session, prepared, sqlite=self._uow.sqlite, links_seen=seen)
