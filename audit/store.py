"""`DecisionStore`: the durable, hash-chained decision log and what goes with it.

Every public method is one unit of work (one transaction) and turns any database failure into
`StoreUnavailable`; a failed write leaves nothing behind. Appends are serialised by the single
`chain_head` row: `SELECT ... FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` (plus an in-process
lock, so waiting threads queue instead of polling) on SQLite. Concurrent appends of one process
are group-committed (see `audit._append`), so a commit's disk flush is shared, not queued for.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlmodel import Session, col, select

from audit import _append, _chain, _rows, _rulesets
from audit.database import WRITE_LOCK, make_engine, migrate
from audit.errors import InvalidRecord, StoreUnavailable
from audit.models import DIGEST_LENGTH, ApiKeyRow, ChainHeadRow, DecisionRow, PersonalDataRow
from audit.records import (
    CHANNELS,
    ROLES,
    DecisionLike,
    RulesetLike,
    RulesetVersion,
    StoredDecision,
    VerifyReport,
)

MAX_MASK = 2**64
_ID_LENGTH = 64
_KEY_LENGTH = 255
_DIGEST_LENGTH = DIGEST_LENGTH
_BATCH = 1000


def _describe(error: SQLAlchemyError) -> str:
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


def _now() -> datetime:
    return datetime.now(UTC)


def _check_text(field: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidRecord(field, f"must be a non-empty string of at most {limit} characters")


def _outcomes_json(decision: DecisionLike) -> str:
    rows: list[list[Any]] = []
    for index, outcome in enumerate(decision.outcomes):
        _check_text(f"outcomes[{index}].lender_id", outcome.lender_id, _ID_LENGTH)
        for name, mask in (("failed", outcome.failed), ("unknown", outcome.unknown)):
            if type(mask) is not int or not 0 <= mask < MAX_MASK:
                raise InvalidRecord(f"outcomes[{index}].{name}", "must be an int in [0, 2**64)")
        rows.append([outcome.lender_id, outcome.failed, outcome.unknown])
    return _chain.canonical_json(rows)


def _json_field(field: str, value: Any) -> str:
    if _chain.has_nan(value):
        raise InvalidRecord(field, "NaN cannot be recorded")
    try:
        return _chain.canonical_json(value)
    except (TypeError, ValueError) as error:
        raise InvalidRecord(field, f"is not JSON-serialisable: {error}") from error


def _prepare(
    application_id: str,
    channel: str,
    decision: DecisionLike,
    personal: Mapping[str, Any],
    idempotency_key: str | None,
    request_digest: str | None,
) -> _append.Append:
    """Check a decision and turn it into the columns to append."""
    _check_text("application_id", application_id, _ID_LENGTH)
    if channel not in CHANNELS:
        raise InvalidRecord("channel", f"must be one of {', '.join(CHANNELS)}")
    if decision.decided_at.tzinfo is None:
        raise InvalidRecord("decided_at", "must be timezone-aware")
    if idempotency_key is not None:
        _check_text("idempotency_key", idempotency_key, _KEY_LENGTH)
    if request_digest is not None:
        _check_text("request_digest", request_digest, _DIGEST_LENGTH)
    _check_text("ruleset_hash", decision.ruleset_hash, _DIGEST_LENGTH)
    features_json = _json_field("features", dict(decision.features))
    outcomes_json = _outcomes_json(decision)
    personal_json = _json_field("personal", dict(personal)) if personal else None
    fields: dict[str, Any] = {
        "decision_id": str(uuid.uuid4()),
        "application_id": application_id,
        "channel": channel,
        "decided_at": _chain.utc(decision.decided_at),
        "ruleset_hash": decision.ruleset_hash,
        "features_json": features_json,
        "outcomes_json": outcomes_json,
        "idempotency_key": idempotency_key,
        "request_digest": request_digest,
    }
    return _append.Append(fields, personal_json)


class DecisionStore:
    """The decision log, personal data, ruleset versions and API keys on one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._write_lock = threading.Lock()
        self._appends = _append.GroupCommit(self._write_appends)

    @property
    def engine(self) -> Engine:
        return self._engine

    @contextmanager
    def _unit(
        self, operation: str, *, write: bool = False, snapshot: bool = False
    ) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        try:
            with ExitStack() as stack:
                if write and self._sqlite:
                    stack.enter_context(self._write_lock)
                connection = stack.enter_context(self._engine.connect())
                if write:
                    connection.execution_options(**{WRITE_LOCK: True})
                if snapshot and not self._sqlite:
                    connection.execution_options(isolation_level="REPEATABLE READ")
                session = stack.enter_context(Session(bind=connection, expire_on_commit=False))
                yield session
                if session.in_transaction():
                    session.commit()
        except SQLAlchemyError as error:
            raise StoreUnavailable(operation, _describe(error)) from error

    # -- decisions ---------------------------------------------------------------------------

    def record_decision(
        self,
        *,
        application_id: str,
        channel: str,
        decision: DecisionLike,
        personal: Mapping[str, Any],
        idempotency_key: str | None = None,
        request_digest: str | None = None,
    ) -> StoredDecision:
        """Store one decision durably (personal payload, decision, chain head: one commit).

        With an idempotency key already used for the same `request_digest`, nothing is
        written and the stored decision is returned; with a different digest this raises
        `IdempotencyConflict`.
        """
        item = _prepare(
            application_id, channel, decision, personal, idempotency_key, request_digest
        )
        return self._appends.submit(item)

    def record_decisions(
        self, *, channel: str, decisions: Iterable[tuple[str, DecisionLike]], chunk: int = 500
    ) -> int:
        """Store many decisions without personal payloads (batch re-scoring), `chunk` per
        transaction; return how many were stored.

        Raises `StoreUnavailable` at the first chunk that fails; the chunks before it stay.
        """
        stored = 0
        pending: list[_append.Append] = []
        for application_id, decision in decisions:
            pending.append(_prepare(application_id, channel, decision, {}, None, None))
            if len(pending) >= chunk:
                stored += len(self._commit_appends(pending))
                pending = []
        if pending:
            stored += len(self._commit_appends(pending))
        return stored

    def _write_appends(self, batch: list[_append.Append]) -> None:
        """Commit a batch of appends; finish every item with its record or its error."""
        outcomes: list[StoredDecision | BaseException]
        try:
            outcomes = self._commit_appends(batch)
        except StoreUnavailable as error:
            if len(batch) > 1 and not isinstance(
                error.__cause__, OperationalError | InterfaceError
            ):
                # Something in one record failed the batch: commit each on its own instead.
                for item in batch:
                    self._write_appends([item])
                return
            outcomes = [error] * len(batch)
        for item, outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                item.error = outcome
            else:
                item.result = outcome
            item.done = True

    def _commit_appends(self, batch: list[_append.Append]) -> list[StoredDecision | BaseException]:
        with self._unit("record_decision", write=True) as session:
            return _append.write_batch(session, batch, sqlite=self._sqlite)

    def find_by_idempotency_key(self, key: str) -> StoredDecision | None:
        """The decision stored under this idempotency key, if any."""
        with self._unit("find_by_idempotency_key") as session:
            row = session.exec(
                select(DecisionRow).where(DecisionRow.idempotency_key == key)
            ).first()
            return None if row is None else _rows.to_stored(row)

    def get_decision(self, application_id: str) -> StoredDecision | None:
        """The latest decision on an application, if any."""
        with self._unit("get_decision") as session:
            row = session.exec(
                select(DecisionRow)
                .where(DecisionRow.application_id == application_id)
                .order_by(col(DecisionRow.seq).desc())
                .limit(1)
            ).first()
            return None if row is None else _rows.to_stored(row)

    def get_decision_by_id(self, decision_id: str) -> StoredDecision | None:
        """One decision by its decision id, if stored."""
        with self._unit("get_decision_by_id") as session:
            row = session.exec(
                select(DecisionRow).where(DecisionRow.decision_id == decision_id)
            ).first()
            return None if row is None else _rows.to_stored(row)

    def iter_decisions(self) -> Iterator[StoredDecision]:
        """Every stored decision in chain order, streamed."""
        table = _rows.decision_table()
        with self._unit("iter_decisions") as session:
            result = session.connection().execute(
                sa_select(table).order_by(table.c.seq).execution_options(yield_per=_BATCH)
            )
            try:
                for row in result:
                    yield _rows.to_stored(row)
            finally:
                result.close()

    # -- the chain ---------------------------------------------------------------------------

    def head(self) -> str:
        """The chain head as `<seq>:<record hash>`, to be kept outside the database."""
        with self._unit("head") as session:
            head = session.exec(select(ChainHeadRow).where(ChainHeadRow.id == 1)).one()
            return _chain.format_head(head.seq, head.hash)

    def verify(self, expected_head: str | None = None) -> VerifyReport:
        """Walk the whole chain; name the first changed, removed or reordered record.

        `expected_head` (from `head()`, kept elsewhere) must be a record of this chain: the
        log may have grown since, but what was there must be unchanged.
        """
        table = _rows.decision_table()
        with self._unit("verify", snapshot=True) as session:
            head = session.exec(select(ChainHeadRow).where(ChainHeadRow.id == 1)).one()
            result = session.connection().execute(
                sa_select(table).order_by(table.c.seq).execution_options(yield_per=_BATCH)
            )
            try:
                rows = (_rows.to_chain_row(row) for row in result)
                return _chain.walk(rows, head.seq, head.hash, expected_head)
            finally:
                result.close()

    # -- personal data -----------------------------------------------------------------------

    def get_personal_data(self, application_id: str) -> dict[str, Any] | None:
        """The stored personal payload of an application (None if never stored or erased)."""
        with self._unit("get_personal_data") as session:
            row = session.get(PersonalDataRow, application_id)
            return None if row is None else dict(json.loads(row.payload_json))

    def erase_personal_data(self, application_id: str) -> bool:
        """Delete the personal payload (and its salt); decisions and the chain stay intact."""
        with self._unit("erase_personal_data", write=True) as session:
            result = session.exec(
                delete(PersonalDataRow).where(col(PersonalDataRow.application_id) == application_id)
            )
            return bool(result.rowcount)

    # -- rulesets ----------------------------------------------------------------------------

    def activate_ruleset(self, ruleset: RulesetLike) -> RulesetVersion:
        """Store the ruleset's snapshot and make it the active one, atomically.

        Activating the ruleset that is already active changes nothing.
        """
        snapshot = ruleset.snapshot()
        if _chain.sha256_hex(snapshot) != ruleset.hash:
            raise InvalidRecord("ruleset.hash", "is not the sha256 of the ruleset's snapshot")
        with self._unit("activate_ruleset", write=True) as session:
            return _rulesets.activate(session, ruleset.hash, snapshot, sqlite=self._sqlite)

    def save_ruleset(self, ruleset: RulesetLike) -> None:
        """Store a ruleset's snapshot without activating it (the rules in force on a day,
        composed from activated versions by their effective_from dates, are saved so that
        the decisions made under them can be explained and reproduced)."""
        snapshot = ruleset.snapshot()
        if _chain.sha256_hex(snapshot) != ruleset.hash:
            raise InvalidRecord("ruleset.hash", "is not the sha256 of the ruleset's snapshot")
        with self._unit("save_ruleset", write=True) as session:
            _rulesets.save(session, ruleset.hash, snapshot, sqlite=self._sqlite)

    def activation_history(self) -> list[str]:
        """The ruleset hashes in the order they were activated, oldest first."""
        with self._unit("activation_history") as session:
            return _rulesets.activations(session)

    def active_ruleset_version(self) -> RulesetVersion | None:
        """The active ruleset version (the latest activated), if any."""
        with self._unit("active_ruleset_version") as session:
            return _rulesets.active(session)

    def ruleset_snapshot(self, ruleset_hash: str) -> str | None:
        """The canonical snapshot stored for a ruleset hash."""
        with self._unit("ruleset_snapshot") as session:
            return _rulesets.snapshot(session, ruleset_hash)

    def list_ruleset_versions(self) -> list[RulesetVersion]:
        """Every stored ruleset version, oldest first."""
        with self._unit("list_ruleset_versions") as session:
            return _rulesets.versions(session)

    # -- API keys ----------------------------------------------------------------------------

    def add_api_key(self, role: str) -> tuple[str, str]:
        """Create a key; return (key id, secret). Only the secret's sha256 is stored."""
        if role not in ROLES:
            raise InvalidRecord("role", f"must be one of {', '.join(ROLES)}")
        key_id = f"lmk_{secrets.token_hex(8)}"
        secret = f"{key_id}.{secrets.token_urlsafe(32)}"
        with self._unit("add_api_key", write=True) as session:
            session.add(
                ApiKeyRow(
                    key_id=key_id,
                    secret_hash=_chain.sha256_hex(secret),
                    role=role,
                    created_at=_now(),
                )
            )
        return key_id, secret

    def role_of_api_key(self, secret: str) -> str | None:
        """The role of a valid, unrevoked key; None for anything else."""
        with self._unit("role_of_api_key") as session:
            row = session.exec(
                select(ApiKeyRow).where(ApiKeyRow.secret_hash == _chain.sha256_hex(secret))
            ).first()
            if row is None or row.revoked_at is not None:
                return None
            return row.role

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke a key by its id; False if there is no such unrevoked key."""
        with self._unit("revoke_api_key", write=True) as session:
            row = session.get(ApiKeyRow, key_id)
            if row is None or row.revoked_at is not None:
                return False
            row.revoked_at = _now()
            session.add(row)
            return True

    # -- health ------------------------------------------------------------------------------

    def ping(self) -> bool:
        """True if the database answers."""
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()


def open_store(url: str) -> DecisionStore:
    """An engine for `url`, the schema migrated to the newest revision, and a store on it."""
    engine = make_engine(url)
    try:
        migrate(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        raise StoreUnavailable("migrate", _describe(error)) from error
    return DecisionStore(engine)
