"""The unit of work every part of the store shares: one transaction per call.

Each public method of the store (`DecisionLog`, `RulesetStore`, `ApiKeyStore`) opens one
`unit` and does all its work inside it: the transaction commits when the block ends and rolls
back when it raises, so a failed write leaves nothing behind, and any database failure reaches
the caller as `StoreUnavailable` naming the operation. No helper commits on its own.

Writers are serialised differently by the two databases:

- PostgreSQL: a write is a plain READ COMMITTED transaction; whatever must be exclusive takes
  a row lock itself (appends lock the `chain_head` row with `SELECT ... FOR UPDATE`).
- SQLite: a write unit begins with `BEGIN IMMEDIATE` (the `WRITE_LOCK` execution option, read
  by the engine's `begin` hook in `audit.database`), which takes the database's write lock up
  front. Threads of one process first queue on an in-process lock, so they wait in turn
  instead of polling SQLite's busy timeout; other processes still meet `BEGIN IMMEDIATE`.

A `snapshot` unit reads one consistent view (REPEATABLE READ on PostgreSQL; an SQLite read
transaction already is one), so `verify` sees the records and the head as of one moment.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session

from audit.database import WRITE_LOCK
from audit.errors import StoreUnavailable


def describe(error: SQLAlchemyError) -> str:
    """The first line of the driver's message (the part a reader can act on)."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


class UnitOfWork:
    """Transactions on one engine, with the SQLite in-process write lock."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def transaction(
        self, operation: str, *, write: bool = False, snapshot: bool = False
    ) -> Iterator[Connection]:
        """One transaction on a connection of its own: committed when the block ends (if
        one was begun), rolled back when it raises; a database failure is raised as
        `StoreUnavailable(operation, ...)`. For work that writes through the driver (the
        append path), where a `Session` would only cost its own bookkeeping."""
        try:
            with ExitStack() as stack:
                if write and self.sqlite:
                    stack.enter_context(self._write_lock)
                connection = stack.enter_context(self._engine.connect())
                if write:
                    connection.execution_options(**{WRITE_LOCK: True})
                if snapshot and not self.sqlite:
                    connection.execution_options(isolation_level="REPEATABLE READ")
                yield connection
                if connection.in_transaction():
                    connection.commit()
        except SQLAlchemyError as error:
            raise StoreUnavailable(operation, describe(error)) from error

    @contextmanager
    def unit(
        self, operation: str, *, write: bool = False, snapshot: bool = False
    ) -> Iterator[Session]:
        """One transaction (`transaction`) through a `Session`: committed when the block
        ends, rolled back when it raises; a database failure is raised as
        `StoreUnavailable(operation, ...)`."""
        with (
            self.transaction(operation, write=write, snapshot=snapshot) as connection,
            Session(bind=connection, expire_on_commit=False) as session,
        ):
            yield session
            if session.in_transaction():
                session.commit()
