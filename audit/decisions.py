"""`DecisionLog`: the hash-chained decisions and the personal payloads that go with them.

A decision is appended as one commit holding its personal payload (upserted per application,
erasable), the decision record (never updated, never deleted) and the moved chain head. The
chain's rules (payload digest, record hash, what `verify` checks) are in `audit._chain`.

Appends are serialised by the single `chain_head` row: every append transaction locks it
first (`SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the write unit's `BEGIN IMMEDIATE`
already holds the database's write lock, see `audit._unit`), so records get consecutive
`seq` numbers and each links to the one before it, however many processes write. Concurrent
appends of one process are group-committed (`audit._append`): one transaction and one disk
flush for everything queued, each caller still returning only once its own record is
committed. A batch that fails because of one of its records (a constraint, a trigger) is
retried one record at a time, so that record alone fails.

Personal payloads are evidence too: each record holds a salted digest of its application's
payload, and `verify_personal_data` (`audit._personal`) names a payload that was changed,
swapped or deleted. An erasure is recorded (when, why) in a hash-chained ledger, so an erased
payload is reported as erased, not as missing.

Idempotency keys are checked under the chain lock, so two requests with one key never make
two decisions: the second gets the first's stored decision back (or `IdempotencyConflict`
when its request digest differs). Keys are scoped per client: the same key from another
client is another request.

Each decision records the client that asked (the API key's client; none for batch
re-scoring). Lookups may be limited to one client's decisions (`latest(..., client=...)`).
The client is a column beside the chained payload: it says who may read a decision, not
what was decided.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Select, String, Table, Text, column, func, text
from sqlalchemy import select as sa_select
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import col, select

from audit import _append, _chain, _personal, _redaction, _rows
from audit._unit import UnitOfWork
from audit.api_keys import DEFAULT_CLIENT, check_client
from audit.errors import InvalidRecord, StoreUnavailable
from audit.ids import time_ordered_id
from audit.models import (
    DIGEST_LENGTH,
    ChainHeadRow,
    DecisionRow,
    PersonalDataRow,
)
from audit.personal_keys import PersonalKeys
from audit.records import (
    DecisionLike,
    Finding,
    RedactionSummary,
    StoredDecision,
    VerifyReport,
)
from lender_rules.canonical import canonical_json
from lender_rules.vocabulary import CHANNELS

MAX_MASK = 2**64
_ID_LENGTH = 64
_KEY_LENGTH = 255
_BATCH = 1000  # rows fetched per round trip when streaming the log
_ROLES = ("applicant", "co_applicant")


def _check_text(field: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value or len(value) > limit:
        raise InvalidRecord(field, f"must be a non-empty string of at most {limit} characters")


def _json_field(field: str, value: Any) -> str:
    """`value` as canonical JSON, or `InvalidRecord(field)` saying why it cannot be."""
    try:
        return canonical_json(value)
    except TypeError as error:
        raise InvalidRecord(field, f"is not JSON-serialisable: {error}") from error
    except ValueError as error:
        if "NaN" in str(error):
            raise InvalidRecord(field, "NaN cannot be recorded") from error
        raise InvalidRecord(field, f"is not JSON-serialisable: {error}") from error


def _outcomes_json(decision: DecisionLike) -> str:
    rows: list[tuple[str, int, int]] = [
        (outcome.lender_id, outcome.failed, outcome.unknown) for outcome in decision.outcomes
    ]
    plain = True
    for index, (lender_id, failed, unknown) in enumerate(rows):
        if lender_id not in _PLAIN_IDS:
            _check_text(f"outcomes[{index}].lender_id", lender_id, _ID_LENGTH)
            if _PLAIN_ID.fullmatch(lender_id) is None:
                plain = False
            elif len(_PLAIN_IDS) < _PLAIN_IDS_KEPT:
                _PLAIN_IDS.add(lender_id)
        if not (
            type(failed) is int and type(unknown) is int and 0 <= failed < MAX_MASK > unknown >= 0
        ):
            for name, mask in (("failed", failed), ("unknown", unknown)):
                if type(mask) is not int or not 0 <= mask < MAX_MASK:
                    raise InvalidRecord(f"outcomes[{index}].{name}", "must be an int in [0, 2**64)")
    if plain:
        # ids of [a-z0-9_] and ints need no escaping: this is exactly the canonical text,
        # written without the encoder (`json` makes its C encoder anew on every call)
        return "[" + ",".join([f'["{i}",{f},{u}]' for i, f, u in rows]) + "]"
    return _json_field("outcomes", [list(row) for row in rows])


_PLAIN_ID = re.compile(r"[a-z0-9_]+")
# Lender ids already checked and found plain: a ruleset's few dozen ids, seen on every record
# (capped: a caller inventing ids cannot make it grow without end).
_PLAIN_IDS: set[str] = set()
_PLAIN_IDS_KEPT = 10_000


def _prepare(
    application_id: str,
    channel: str,
    decision: DecisionLike,
    personal: Mapping[str, Any] | CanonicalText,
    idempotency_key: str | None,
    request_digest: str | None,
    client: str | None,
    keys: PersonalKeys | None,
    subjects: Sequence[tuple[str, str]] = (),
    review: Mapping[str, Any] | None = None,
) -> _append.Append:
    """Check a decision and turn it into the columns to append (`review`: the review part of
    a manual decision, see `audit.reviews`)."""
    _check_text("application_id", application_id, _ID_LENGTH)
    if client is not None:
        check_client(client)
    if channel not in CHANNELS:
        raise InvalidRecord("channel", f"must be one of {', '.join(CHANNELS)}")
    if decision.decided_at.tzinfo is None:
        raise InvalidRecord("decided_at", "must be timezone-aware")
    if idempotency_key is not None:
        _check_text("idempotency_key", idempotency_key, _KEY_LENGTH)
        if client is None:
            raise InvalidRecord("client", "an idempotency key is unique per client: give one")
    if request_digest is not None:
        _check_text("request_digest", request_digest, DIGEST_LENGTH)
    _check_text("ruleset_hash", decision.ruleset_hash, DIGEST_LENGTH)
    features_json = _json_field("features", dict(decision.features))
    outcomes_json = _outcomes_json(decision)
    if isinstance(personal, CanonicalText):
        personal_json: str | None = personal.text
    else:
        personal_json = _json_field("personal", dict(personal)) if personal else None
    fields: dict[str, Any] = {
        "decision_id": time_ordered_id(),
        "application_id": application_id,
        "channel": channel,
        "decided_at": _chain.utc(decision.decided_at),
        "ruleset_hash": decision.ruleset_hash,
        "features_json": features_json,
        "outcomes_json": outcomes_json,
        "idempotency_key": idempotency_key,
        "request_digest": request_digest,
        "review_json": None if review is None else _json_field("review", dict(review)),
    }
    for index, (role, national_id) in enumerate(subjects):
        if role not in _ROLES:
            raise InvalidRecord(f"subjects[{index}].role", f"must be one of {', '.join(_ROLES)}")
        _check_text(f"subjects[{index}].national_id", national_id, _ID_LENGTH)
    return _append.Append(
        fields,
        personal_json,
        client,
        sealed=None
        if personal_json is None or keys is None
        else keys.seal(personal_json, application_id),
        subjects=tuple(
            (role, keys.subject_hash(national_id))
            for role, national_id in subjects
            if keys is not None
        ),
    )


@dataclass(frozen=True, slots=True)
class CanonicalText:
    """A personal payload given as its canonical JSON text (`canonical_json` of a non-empty
    JSON object), so that it is not serialised twice."""

    text: str


@dataclass(frozen=True)
class HeldApplication:
    """An application of which personal data is held, as retention sees it."""

    application_id: str
    first_decided_at: datetime
    last_decided_at: datetime
    accepted: bool  # its last decision found some lender's requirements met


# The latest record of each application still holding personal data. Plain SQL: the same on
# SQLite and PostgreSQL.
_HELD = text(
    """
    SELECT d.application_id, d.decided_at, d.outcomes_json, f.first_at
    FROM decision d
    JOIN (
        SELECT application_id, max(seq) AS last_seq, min(decided_at) AS first_at
        FROM decision GROUP BY application_id
    ) f ON d.seq = f.last_seq
    WHERE EXISTS (
        SELECT 1 FROM decision r
        WHERE r.application_id = d.application_id AND r.features_json <> :marker
    ) OR EXISTS (SELECT 1 FROM personal_data p WHERE p.application_id = d.application_id)
    ORDER BY d.application_id
    """
).columns(
    column("application_id", String),
    column("decided_at", DateTime(timezone=True)),
    column("outcomes_json", Text),
    column("first_at", DateTime(timezone=True)),
)


def _latest(
    table: Table,
    after_seq: int,
    until_seq: int | None,
    since: datetime | None,
    lender_id: str | None,
) -> Select[Any]:
    """The latest decision of each application among those up to `until_seq`, after
    `after_seq`, filtered (see `DecisionLog.latest_page`)."""
    later = table.alias("later")
    newer = later.c.seq > table.c.seq
    query = sa_select(table).where(table.c.seq > after_seq)
    if until_seq is not None:
        newer = newer & (later.c.seq <= until_seq)
        query = query.where(table.c.seq <= until_seq)
    followed = sa_select(later.c.seq).where(later.c.application_id == table.c.application_id, newer)
    query = query.where(~followed.exists())
    if since is not None:
        query = query.where(table.c.decided_at >= _chain.utc(since))
    if lender_id is not None:
        # outcomes_json is canonical JSON: [["lender",failed,unknown],...]
        query = query.where(table.c.outcomes_json.contains(f'["{lender_id}",', autoescape=True))
    return query


class DecisionLog:
    """Decisions, the chain over them, and the applications' personal payloads."""

    def __init__(self, uow: UnitOfWork, keys: PersonalKeys) -> None:
        self._uow = uow
        self._keys = keys
        self._appends = _append.GroupCommit(self._write_appends)

    # -- appending ---------------------------------------------------------------------------

    def record(
        self,
        *,
        application_id: str,
        channel: str,
        decision: DecisionLike,
        personal: Mapping[str, Any] | CanonicalText,
        idempotency_key: str | None = None,
        request_digest: str | None = None,
        client: str = DEFAULT_CLIENT,
        subjects: Sequence[tuple[str, str]] = (),
    ) -> StoredDecision:
        """Store one decision of `client` durably (personal payload, decision, chain head:
        one commit).

        The personal payload (a mapping, or its canonical JSON already: `CanonicalText`) is
        sealed (AES-GCM, `audit.personal_keys`); `subjects` are the
        application's people as (role, normalised national id), stored only as keyed hashes
        (`subject_link`) so that a person's applications can be found.

        With an idempotency key this client already used for the same `request_digest`,
        nothing is written and the stored decision is returned; with a different digest this
        raises `IdempotencyConflict`.
        """
        item = _prepare(
            application_id,
            channel,
            decision,
            personal,
            idempotency_key,
            request_digest,
            client,
            self._keys,
            subjects,
        )
        return self._appends.submit(item)

    def record_future(
        self,
        *,
        application_id: str,
        channel: str,
        decision: DecisionLike,
        personal: Mapping[str, Any] | CanonicalText,
        idempotency_key: str | None = None,
        request_digest: str | None = None,
        client: str = DEFAULT_CLIENT,
        subjects: Sequence[tuple[str, str]] = (),
    ) -> Future[StoredDecision]:
        """`record` without blocking: the decision is checked and sealed here (`InvalidRecord`
        is raised at once), then queued for the group commit's writer thread; the future is
        done once the decision is committed, with what `record` would have returned or
        raised. For an event loop: `await asyncio.wrap_future(...)` parks no thread.

        `personal` may be given as its canonical JSON text already (`CanonicalText`, made
        with `lender_rules.canonical.canonical_json`), when the caller needed it for a
        request digest anyway."""
        item = _prepare(
            application_id,
            channel,
            decision,
            personal,
            idempotency_key,
            request_digest,
            client,
            self._keys,
            subjects,
        )
        return self._appends.submit_future(item)

    def close(self) -> None:
        """Commit what is queued and stop the group commit's writer thread, if started."""
        self._appends.close()

    def record_many(
        self, *, channel: str, decisions: Iterable[tuple[str, DecisionLike]], chunk: int = 500
    ) -> int:
        """Store many decisions without personal payloads (batch re-scoring), `chunk` per
        transaction; return how many were stored.

        Raises `StoreUnavailable` at the first chunk that fails; the chunks before it stay.
        """
        stored = 0
        pending: list[_append.Append] = []
        for application_id, decision in decisions:
            pending.append(
                _prepare(application_id, channel, decision, {}, None, None, None, self._keys)
            )
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
        """Write `batch` in one transaction; again, once, on another connection when its
        connection was found gone before anything was written (`_append.ConnectionLostError`)."""
        for attempt in (1, 2):
            try:
                # a connection, not a session: the batch writes through the driver
                with self._uow.transaction("record_decision", write=True) as connection:
                    # Looked up on the module at each call: benchmarks/_unchained.py replaces it.
                    return _append.write_batch(
                        connection, batch, sqlite=self._uow.sqlite, commit=True
                    )
            except StoreUnavailable as error:
                if attempt == 2 or not isinstance(error.__cause__, _append.ConnectionLostError):
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    # -- reading -----------------------------------------------------------------------------

    def latest(
        self, application_id: str, *, client: str | None = None, automated: bool = False
    ) -> StoredDecision | None:
        """The latest decision on an application, if any; with `client`, only a decision
        that client asked for (another client's is as good as none); with `automated`, only
        an automated one (a manual decision of a review is left out)."""
        query = select(DecisionRow).where(DecisionRow.application_id == application_id)
        if client is not None:
            query = query.where(DecisionRow.client == client)
        if automated:
            query = query.where(DecisionRow.channel != "manual")
        with self._uow.unit("latest_decision") as session:
            row = session.exec(query.order_by(col(DecisionRow.seq).desc()).limit(1)).first()
            return None if row is None else _rows.to_stored(row)

    def find(self, decision_id: str) -> StoredDecision | None:
        """The decision with this id, if any."""
        with self._uow.unit("find_decision") as session:
            row = session.exec(
                select(DecisionRow).where(DecisionRow.decision_id == decision_id)
            ).first()
            return None if row is None else _rows.to_stored(row)

    def history(self, application_id: str) -> list[StoredDecision]:
        """Every decision on an application, oldest first."""
        with self._uow.unit("decision_history") as session:
            rows = session.exec(
                select(DecisionRow)
                .where(DecisionRow.application_id == application_id)
                .order_by(col(DecisionRow.seq))
            ).all()
            return [_rows.to_stored(row) for row in rows]

    def held(self) -> Iterator[HeldApplication]:
        """Every application of which personal data is still held (a payload, or a record
        not redacted), with its first and last decision times and whether its last decision
        made it eligible for some lender (streamed)."""
        with self._uow.unit("held_applications") as session:
            result = session.connection().execute(
                _HELD.execution_options(yield_per=_BATCH), {"marker": _chain.REDACTED_FEATURES}
            )
            try:
                for row in result:
                    outcomes = json.loads(row.outcomes_json)
                    yield HeldApplication(
                        application_id=row.application_id,
                        first_decided_at=_chain.utc(row.first_at),
                        last_decided_at=_chain.utc(row.decided_at),
                        accepted=any(
                            failed == 0 and unknown == 0 for _, failed, unknown in outcomes
                        ),
                    )
            finally:
                result.close()

    def stream(self) -> Iterator[StoredDecision]:
        """Every stored decision in chain order, streamed (one transaction while it runs)."""
        table = _rows.decision_table()
        with self._uow.unit("stream_decisions") as session:
            result = session.connection().execute(
                sa_select(table).order_by(table.c.seq).execution_options(yield_per=_BATCH)
            )
            try:
                for row in result:
                    yield _rows.to_stored(row)
            finally:
                result.close()

    def latest_page(
        self,
        *,
        after_seq: int = 0,
        until_seq: int | None = None,
        limit: int = _BATCH,
        since: datetime | None = None,
        lender_id: str | None = None,
    ) -> list[StoredDecision]:
        """The next page of applications' latest decisions, in chain order: the decisions
        with `after_seq < seq <= until_seq` that no later decision of their application up to
        `until_seq` follows, at most `limit`. Pass the last page's last `seq` as `after_seq`
        for the next page (keyset pagination: each page is one indexed range read, whatever
        its position), and the same `until_seq` throughout (the head when the job started),
        so decisions recorded while it runs change no page. With `since`, only latest
        decisions made at or after it; with `lender_id`, only those that evaluated that
        lender."""
        table = _rows.decision_table()
        query = _latest(table, after_seq, until_seq, since, lender_id)
        with self._uow.unit("latest_page") as session:
            rows = session.connection().execute(query.order_by(table.c.seq).limit(limit))
            return [_rows.to_stored(row) for row in rows]

    def count_latest(
        self,
        *,
        until_seq: int | None = None,
        since: datetime | None = None,
        lender_id: str | None = None,
    ) -> int:
        """How many applications `latest_page` walks through with these arguments."""
        table = _rows.decision_table()
        query = _latest(table, 0, until_seq, since, lender_id).subquery()
        with self._uow.unit("count_latest") as session:
            counted = session.connection().execute(sa_select(func.count()).select_from(query))
            return int(counted.scalar_one())

    def decided_under(
        self, ruleset_hash: str, channel: str, application_ids: Iterable[str]
    ) -> set[str]:
        """Which of `application_ids` already have a decision of `channel` under
        `ruleset_hash` (a batch run that resumes skips them). Asked `_BATCH` ids at a time."""
        ids = list(application_ids)
        found: set[str] = set()
        with self._uow.unit("decided_under") as session:
            for start in range(0, len(ids), _BATCH):
                found.update(
                    session.exec(
                        select(DecisionRow.application_id).where(
                            DecisionRow.ruleset_hash == ruleset_hash,
                            DecisionRow.channel == channel,
                            col(DecisionRow.application_id).in_(ids[start : start + _BATCH]),
                        )
                    ).all()
                )
        return found

    # -- the chain ---------------------------------------------------------------------------

    def head(self) -> str:
        """The chain head as `<seq>:<record hash>`, to be kept outside the database."""
        with self._uow.unit("head") as session:
            head = session.exec(select(ChainHeadRow).where(ChainHeadRow.id == 1)).one()
            return _chain.format_head(head.seq, head.hash)

    def verify(self, expected_head: str | None = None) -> VerifyReport:
        """Walk the whole chain; name the first changed, removed or reordered record.

        `expected_head` (from `head()`, kept elsewhere) must be a record of this chain: the
        log may have grown since, but what was there must be unchanged.
        """
        table = _rows.decision_table()
        with self._uow.unit("verify", snapshot=True) as session:
            head = session.exec(select(ChainHeadRow).where(ChainHeadRow.id == 1)).one()
            judge = _redaction.Judge(_redaction.load(session))
            result = session.connection().execute(
                sa_select(table).order_by(table.c.seq).execution_options(yield_per=_BATCH)
            )
            try:
                rows = (_rows.to_chain_row(row) for row in result)
                return _chain.walk(rows, head.seq, head.hash, expected_head, judge)
            finally:
                result.close()

    def redact(self, application_id: str, *, reason: str, now: datetime) -> int:
        """Redact the personal columns (features, request digest) of every record of an
        application not redacted yet, recording each redaction (when, why) in the redaction
        ledger, in one commit; return how many records were redacted. The chain keeps
        verifying (`audit._redaction`). A record that does not verify is not redacted:
        `InvalidRecord` names it and nothing is redacted."""
        _check_text("reason", reason.strip() if isinstance(reason, str) else reason, 1000)
        with self._uow.unit("redact", write=True) as session:
            return _redaction.redact_application(session, application_id, _chain.utc(now), reason)

    def redactions(self) -> tuple[RedactionSummary, ...]:
        """The recorded redactions per day and reason."""
        with self._uow.unit("redactions") as session:
            return _redaction.summarise(_redaction.load(session))

    # -- personal data -----------------------------------------------------------------------

    def personal_data(self, application_id: str) -> dict[str, Any] | None:
        """The stored personal payload of an application (None if never stored or erased)."""
        with self._uow.unit("personal_data") as session:
            row = session.get(PersonalDataRow, application_id)
        if row is None:
            return None
        return dict(json.loads(_personal.clear_payload(self._keys, row)))

    def personal_data_many(self, application_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored personal payloads of `application_ids` that have one (one query)."""
        with self._uow.unit("personal_data_many") as session:
            rows = session.exec(
                select(PersonalDataRow).where(
                    col(PersonalDataRow.application_id).in_(list(application_ids))
                )
            ).all()
        return {
            row.application_id: dict(json.loads(_personal.clear_payload(self._keys, row)))
            for row in rows
        }

    def erase_personal_data(self, application_id: str, *, reason: str) -> bool:
        """Delete the personal payload (and its salt) and record the erasure (when, why, up
        to which decision record) in the erasure ledger, in one commit; decisions and the
        chain stay intact and keep verifying. False if there was nothing to erase."""
        _check_text("reason", reason.strip() if isinstance(reason, str) else reason, 1000)
        with self._uow.unit("erase_personal_data", write=True) as session:
            return _personal.erase(session, application_id, datetime.now(UTC), reason)

    def verify_personal_data(
        self, expected_erasures: str | None = None
    ) -> tuple[list[Finding], int, int, str]:
        """Check each application's personal payload against the salted digest in its latest
        record holding one, and walk the erasure ledger (to `expected_erasures`, a head kept
        elsewhere, if given). A changed or swapped payload, a missing one without a recorded
        erasure, and a payload of no decision are findings. Returns the findings, the number
        of payloads checked, the number erased, and the erasure head reached."""
        with self._uow.unit("verify_personal_data", snapshot=True) as session:
            check = _personal.check_payloads(session, self._keys)
            report = _personal.walk_erasures(session, expected_erasures)
        findings = list(check.findings)
        if report.finding is not None:
            findings.append(report.finding)
        return findings, check.payloads, check.erased, report.head

    def verify_redactions(self, expected: str | None = None) -> tuple[Finding | None, str]:
        """Walk the redaction ledger (to `expected`, a head kept elsewhere, if given): the
        first problem found, if any, and the head reached."""
        with self._uow.unit("verify_redactions", snapshot=True) as session:
            report = _redaction.walk_ledger(session, expected)
        return report.finding, report.head
