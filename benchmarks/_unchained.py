"""Benchmark only: the API server with the decision store's chain append taken out.

    python benchmarks/_unchained.py <uvicorn arguments>

starts uvicorn exactly as `python -m uvicorn <uvicorn arguments>` would, after replacing
`audit._append.write_batch` (the batch writer `audit.DecisionLog` calls inside its write
transaction) with `write_batch_unchained` below. Nothing in `audit/` or `api/` can reach this
module; it exists so that bench_api.py can measure what the hash chain costs.

`write_batch_unchained` does the work of `write_batch` minus the chain:

- the same transaction (`UnitOfWork.unit(write=True)`: on SQLite the in-process write
  lock and BEGIN IMMEDIATE, on PostgreSQL a plain READ COMMITTED transaction), the same group
  commit (`_append.GroupCommit`, one leader writing up to 64 queued appends in one commit);
- the same idempotency-key lookup, the same personal-data upsert (one statement) and salted
  personal digest, the same decision insert (one executemany);
- but no `SELECT ... FOR UPDATE` of the chain-head row, no payload digest and no record hash
  (sha256 of the canonical JSON payload, sha256 of the link), and no UPDATE of the head.

`seq` comes from a process-local counter seeded once from `max(seq)` (the benchmark server is
one process, and its appends are written by one group-commit leader at a time);
`payload_digest`, `prev_hash` and `record_hash` hold a placeholder (64 `f`s), so a database
written this way fails `audit verify`, as it should.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, func, insert
from sqlalchemy import select as sa_select
from sqlmodel import Session

from audit import _append, _chain, _rows
from audit.records import StoredDecision

PLACEHOLDER_DIGEST = "f" * 64


class _Sequence:
    """`seq` numbers for one process, seeded from the table the first time they are needed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: int | None = None

    def take(self, session: Session, count: int) -> int:
        """Reserve `count` numbers; return the last one used before them."""
        with self._lock:
            if self._last is None:
                table = _rows.decision_table()
                found = session.connection().execute(sa_select(func.max(table.c.seq))).scalar()
                self._last = int(found or 0)
            before = self._last
            self._last += count
            return before


_SEQUENCE = _Sequence()


def write_batch_unchained(
    connection: Connection,
    items: Sequence[_append.Append],
    *,
    sqlite: bool,
    commit: bool = False,
) -> list[StoredDecision | BaseException]:
    """`audit._append.write_batch` without the chain-head lock, the hashes and the head update
    (and through SQLAlchemy on both databases: `commit` is left to the caller's unit, so on
    PostgreSQL this takes more round trips than the shipped pipelined path)."""
    if not connection.in_transaction():
        connection.begin()
    session = Session(bind=connection)  # joins the unit's transaction
    outcomes: dict[int, StoredDecision | BaseException] = {}
    stored = _append._stored_by_key(session, {item.key for item in items if item.key is not None})
    fresh: list[_append.Append] = []
    first_with_key: dict[tuple[str | None, str], _append.Append] = {}
    for index, item in enumerate(items):
        item.follows = None
        if item.key is not None and item.key in stored:
            outcomes[index] = _append._resolve_duplicate(item, stored[item.key])
        elif item.key is not None and item.key in first_with_key:
            item.follows = first_with_key[item.key]
        else:
            if item.key is not None:
                first_with_key[item.key] = item
            fresh.append(item)
    salts = _append._put_personal(session, fresh, sqlite)
    for item in fresh:
        item.fields["personal_digest"] = (
            None
            if item.personal_json is None
            else _chain.personal_digest(salts[item.fields["application_id"]], item.personal_json)
        )
    rows: list[dict[str, Any]] = []
    if fresh:
        seq = _SEQUENCE.take(session, len(fresh))
        for item in fresh:
            seq += 1
            rows.append(
                {
                    **item.fields,
                    "client": item.client,
                    "seq": seq,
                    "payload_digest": PLACEHOLDER_DIGEST,
                    "prev_hash": PLACEHOLDER_DIGEST,
                    "record_hash": PLACEHOLDER_DIGEST,
                }
            )
        session.connection().execute(insert(_rows.decision_table()), rows)
    new = {
        id(item): _rows.to_stored(SimpleNamespace(**row))
        for item, row in zip(fresh, rows, strict=True)
    }
    result: list[StoredDecision | BaseException] = []
    for index, item in enumerate(items):
        if index in outcomes:
            result.append(outcomes[index])
        elif item.follows is not None:
            result.append(_append._resolve_duplicate(item, new[id(item.follows)]))
        else:
            result.append(new[id(item)])
    return result


def install() -> None:
    """Make every `DecisionLog` of this process append without the chain."""
    _append.write_batch = write_batch_unchained


def main(argv: list[str]) -> None:
    install()
    import uvicorn

    uvicorn.main(argv, prog_name="uvicorn")


if __name__ == "__main__":
    main(sys.argv[1:])
