"""`RulesetStore`: every ruleset snapshot the service has used, and which one is active.

A ruleset is stored by its hash (the sha256 of its canonical snapshot) and never changed, so
any decision can later be explained and reproduced under the rules it was made with. Each
activation is a row of its own: the active ruleset is the latest activated one, and the
activation history keeps a hash activated twice twice. Activating the active ruleset again
changes nothing.

Both are tamper-evident: a snapshot is checked against its hash whenever it is handed out
(`SnapshotMismatch`), and the activations are a hash-chained ledger (`audit._ledger`), so
`verify` names a changed snapshot and a changed, removed or reordered activation.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from audit import _chain, _ledger
from audit._unit import UnitOfWork
from audit.errors import InvalidRecord, SnapshotMismatch
from audit.models import RulesetActivationRow, RulesetVersionRow
from audit.records import Finding, RulesetLike, RulesetVersion
from lender_rules.canonical import sha256_hex


def _checked_snapshot(ruleset: RulesetLike) -> str:
    """The ruleset's snapshot, once it is known to hash to the ruleset's hash."""
    snapshot = ruleset.snapshot()
    if sha256_hex(snapshot) != ruleset.hash:
        raise InvalidRecord("ruleset.hash", "is not the sha256 of the ruleset's snapshot")
    return snapshot


def _activation_entry(ruleset_hash: str, activated_at: datetime) -> dict[str, str]:
    """What an activation's ledger hash covers."""
    return {"ruleset_hash": ruleset_hash, "activated_at": _chain.utc_text(activated_at)}


def _latest_activation(session: Session) -> RulesetActivationRow | None:
    return session.exec(
        select(RulesetActivationRow).order_by(col(RulesetActivationRow.id).desc()).limit(1)
    ).first()


def _version(row: RulesetVersionRow, activated_at: datetime | None, active: bool) -> RulesetVersion:
    return RulesetVersion(
        hash=row.hash,
        created_at=_chain.utc(row.created_at),
        activated_at=None if activated_at is None else _chain.utc(activated_at),
        active=active,
    )


class RulesetStore:
    """Ruleset snapshots by hash, and their activations."""

    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    def _insert_snapshot(
        self, session: Session, ruleset_hash: str, snapshot: str, now: datetime
    ) -> None:
        """Insert the snapshot unless its hash is already stored."""
        insert = sqlite_insert if self._uow.sqlite else pg_insert
        session.connection().execute(
            insert(RulesetVersionRow)
            .values(hash=ruleset_hash, snapshot=snapshot, created_at=now)
            .on_conflict_do_nothing(index_elements=["hash"])
        )

    def activate(self, ruleset: RulesetLike) -> RulesetVersion:
        """Store the ruleset's snapshot and make it the active one, atomically.

        Activating the ruleset that is already active changes nothing.
        """
        snapshot = _checked_snapshot(ruleset)
        with self._uow.unit("activate_ruleset", write=True) as session:
            now = datetime.now(UTC)
            self._insert_snapshot(session, ruleset.hash, snapshot, now)
            row = session.exec(
                select(RulesetVersionRow).where(RulesetVersionRow.hash == ruleset.hash)
            ).one()
            if row.snapshot != snapshot:
                raise InvalidRecord(
                    "ruleset.snapshot", "differs from the snapshot stored for its hash"
                )
            latest = _latest_activation(session)
            if latest is not None and latest.ruleset_hash == ruleset.hash:
                return _version(row, latest.activated_at, active=True)
            entry = _activation_entry(ruleset.hash, now)
            seq, prev, own = _ledger.append(session, _ledger.ACTIVATIONS, entry)
            session.add(
                RulesetActivationRow(
                    ruleset_hash=ruleset.hash,
                    activated_at=now,
                    seq=seq,
                    prev_hash=prev,
                    record_hash=own,
                )
            )
            session.flush()
            return _version(row, now, active=True)

    def save(self, ruleset: RulesetLike) -> None:
        """Store a ruleset's snapshot without activating it (the rules in force on a day,
        composed from activated versions by their effective_from dates, are saved so that
        the decisions made under them can be explained and reproduced)."""
        snapshot = _checked_snapshot(ruleset)
        with self._uow.unit("save_ruleset", write=True) as session:
            self._insert_snapshot(session, ruleset.hash, snapshot, datetime.now(UTC))

    def activation_history(self) -> list[str]:
        """The ruleset hashes in the order they were activated, oldest first (a hash
        activated twice appears twice)."""
        with self._uow.unit("activation_history") as session:
            return list(
                session.exec(
                    select(RulesetActivationRow.ruleset_hash).order_by(col(RulesetActivationRow.id))
                ).all()
            )

    def active(self) -> RulesetVersion | None:
        """The active ruleset version (the latest activated), if any."""
        with self._uow.unit("active_ruleset") as session:
            latest = _latest_activation(session)
            if latest is None:
                return None
            row = session.exec(
                select(RulesetVersionRow).where(RulesetVersionRow.hash == latest.ruleset_hash)
            ).one()
            return _version(row, latest.activated_at, active=True)

    def snapshot(self, ruleset_hash: str) -> str | None:
        """The canonical snapshot stored for a ruleset hash (None if none is stored), checked
        against that hash: `SnapshotMismatch` if it was changed."""
        with self._uow.unit("ruleset_snapshot") as session:
            row = session.exec(
                select(RulesetVersionRow).where(RulesetVersionRow.hash == ruleset_hash)
            ).first()
        if row is None:
            return None
        actual = sha256_hex(row.snapshot)
        if actual != ruleset_hash:
            raise SnapshotMismatch(ruleset_hash, actual)
        return row.snapshot

    def versions(self) -> list[RulesetVersion]:
        """Every stored ruleset version, oldest first, with its latest activation."""
        with self._uow.unit("ruleset_versions") as session:
            latest = _latest_activation(session)
            last_activations = dict(
                session.exec(
                    select(
                        RulesetActivationRow.ruleset_hash,
                        func.max(RulesetActivationRow.activated_at),
                    ).group_by(RulesetActivationRow.ruleset_hash)
                ).all()
            )
            rows = session.exec(
                select(RulesetVersionRow).order_by(
                    col(RulesetVersionRow.created_at), col(RulesetVersionRow.hash)
                )
            ).all()
            return [
                _version(
                    row,
                    last_activations.get(row.hash),
                    active=latest is not None and latest.ruleset_hash == row.hash,
                )
                for row in rows
            ]

    def verify(self, expected_activations: str | None = None) -> tuple[list[Finding], int, str]:
        """Check every stored snapshot against its hash and walk the activation ledger (to
        `expected_activations`, a head kept elsewhere, if given): the problems found, the
        number of snapshots, and the activation head reached (`<seq>:<hash>`)."""
        findings: list[Finding] = []
        snapshots = 0
        with self._uow.unit("verify_rulesets", snapshot=True) as session:
            for ruleset_hash, snapshot in session.exec(
                select(RulesetVersionRow.hash, RulesetVersionRow.snapshot).order_by(
                    col(RulesetVersionRow.created_at), col(RulesetVersionRow.hash)
                )
            ):
                snapshots += 1
                actual = sha256_hex(snapshot)
                if actual != ruleset_hash:
                    findings.append(
                        Finding(
                            f"ruleset snapshot {ruleset_hash}",
                            f"the snapshot was changed: it hashes to {actual}",
                        )
                    )
            head = _ledger.read_head(session, _ledger.ACTIVATIONS)
            rows = session.exec(
                select(RulesetActivationRow).order_by(col(RulesetActivationRow.seq))
            )
            entries = (
                _ledger.Entry(
                    seq=int(row.seq),
                    fields=_activation_entry(row.ruleset_hash, row.activated_at),
                    prev_hash=row.prev_hash,
                    record_hash=row.record_hash,
                )
                for row in rows
            )
            report = _ledger.walk(_ledger.ACTIVATIONS, entries, head, expected_activations)
        if report.finding is not None:
            findings.append(report.finding)
        return findings, snapshots, report.head
