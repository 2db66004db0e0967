"""`Store`: the decision store on one engine, one concern per attribute.

`store.decisions` is the hash-chained decision log with the personal payloads
(`audit.decisions`), `store.batch_decisions` appends batch decisions to it in bulk
(`audit.batch_decisions`), `store.rulesets` the ruleset snapshots and activations
(`audit.rulesets`), `store.api_keys` the hashed API keys (`audit.api_keys`),
`store.reviews` the applicants' review requests and their manual decisions
(`audit.reviews`),
`store.caseworkers` the users of the review screen (`audit.caseworkers`),
`store.subjects` what is held per person (`audit.subjects`). They share one
`UnitOfWork` (`audit._unit`): every call is one transaction on that engine, and any database
failure is `StoreUnavailable`. `verify` checks all of them: everything a decision depends
on. `open_store` builds the engine and migrates the schema first.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from audit import _rotation
from audit._rotation import People
from audit._unit import UnitOfWork, describe
from audit.api_keys import ApiKeyStore
from audit.batch_decisions import BatchDecisionLog
from audit.caseworkers import CaseworkerStore
from audit.database import Timeouts, can_write, make_engine, migrate
from audit.decisions import DecisionLog
from audit.errors import StoreUnavailable
from audit.personal_keys import PersonalKeys
from audit.records import AuditReport, Heads
from audit.reviews import ReviewStore
from audit.rulesets import RulesetStore
from audit.subjects import SubjectStore


class Store:
    """The decision store: one engine, one concern per attribute."""

    def __init__(self, engine: Engine, keys: PersonalKeys | None = None) -> None:
        uow = UnitOfWork(engine)
        self._uow = uow
        self._engine = engine
        self.keys = keys if keys is not None else PersonalKeys.development()
        self.decisions = DecisionLog(uow, self.keys)
        self.batch_decisions = BatchDecisionLog(uow, self.keys)
        self.rulesets = RulesetStore(uow)
        self.api_keys = ApiKeyStore(uow)
        self.reviews = ReviewStore(uow, self.keys)
        self.caseworkers = CaseworkerStore(uow)
        self.subjects = SubjectStore(uow, self.keys)

    @property
    def engine(self) -> Engine:
        return self._engine

    def verify(self, expected: Heads | None = None) -> AuditReport:
        """Check everything a decision depends on: the decision chain, every ruleset
        snapshot against its hash, the activation ledger, every personal payload against its
        record's digest, the erasure, redaction and subject-request ledgers. With `expected` (the
        heads of a checkpoint kept outside the database) each chain must still hold its head
        unchanged: a log cut back behind it, or rewritten, fails."""
        chain = self.decisions.verify(None if expected is None else expected.decisions)
        ruleset_findings, snapshots, activations = self.rulesets.verify(
            None if expected is None else expected.activations
        )
        payload_findings, payloads, erased, erasures = self.decisions.verify_personal_data(
            None if expected is None else expected.erasures
        )
        redaction_finding, redactions = self.decisions.verify_redactions(
            None if expected is None else expected.redactions
        )
        if redaction_finding is not None:
            payload_findings.append(redaction_finding)
        request_finding, requests = self.subjects.verify_requests(
            None if expected is None else expected.subject_requests
        )
        if request_finding is not None:
            payload_findings.append(request_finding)
        return AuditReport(
            chain=chain,
            findings=(*ruleset_findings, *payload_findings),
            heads=Heads(
                decisions=chain.head or self.decisions.head(),
                activations=activations,
                erasures=erasures,
                redactions=redactions,
                subject_requests=requests,
            ),
            snapshots=snapshots,
            activations=int(activations.partition(":")[0]),
            payloads=payloads,
            erased=erased,
            redactions=self.decisions.redactions(),
            subject_requests=int(requests.partition(":")[0]),
        )

    def rotate_data_key(
        self, *, batch: int = 500, people: People | None = None
    ) -> Iterator[tuple[int, int]]:
        """Re-seal every personal payload, correction and identity check not sealed under
        the current data key (payloads stored clear before encryption included; `people`
        names the people of such a payload, who are linked to it as it is sealed), `batch`
        per commit; yield (done so far, left) after each. Resumable (`audit._rotation`)."""
        return _rotation.rotate(self._uow, self.keys, batch=batch, people=people)

    def ping(self) -> bool:
        """True if the database answers."""
        try:
            with self._engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def writable(self) -> bool:
        """True if a decision could be appended now (its locks are free); writes nothing."""
        return can_write(self._engine)

    def dispose(self) -> None:
        """Finish queued appends, then close every pooled connection."""
        self.decisions.close()
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.dispose()


def open_store(
    url: str, timeouts: Timeouts | None = None, keys: PersonalKeys | None = None
) -> Store:
    """An engine for `url` (PostgreSQL sessions bounded by `timeouts`), the schema migrated
    to the newest revision, and a store on it whose personal data is protected by `keys`
    (the public development keys when None: tests and demos); `StoreUnavailable` if the
    database cannot be reached or migrated."""
    engine = make_engine(url, timeouts)
    try:
        migrate(engine)
    except SQLAlchemyError as error:
        engine.dispose()
        raise StoreUnavailable("migrate", describe(error)) from error
    return Store(engine, keys)
