"""Ruleset versions inside a store transaction: snapshot, activate, list."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from audit import _chain
from audit.errors import InvalidRecord
from audit.models import RulesetActivationRow, RulesetVersionRow
from audit.records import RulesetVersion


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


def activate(session: Session, ruleset_hash: str, snapshot: str, *, sqlite: bool) -> RulesetVersion:
    """Insert the snapshot (if new) and an activation (unless it is already active)."""
    now = datetime.now(UTC)
    insert = sqlite_insert if sqlite else pg_insert
    session.connection().execute(
        insert(RulesetVersionRow)
        .values(hash=ruleset_hash, snapshot=snapshot, created_at=now)
        .on_conflict_do_nothing(index_elements=["hash"])
    )
    row = session.exec(
        select(RulesetVersionRow).where(RulesetVersionRow.hash == ruleset_hash)
    ).one()
    if row.snapshot != snapshot:
        raise InvalidRecord("ruleset.snapshot", "differs from the snapshot stored for its hash")
    latest = _latest_activation(session)
    if latest is not None and latest.ruleset_hash == ruleset_hash:
        return _version(row, latest.activated_at, active=True)
    session.add(RulesetActivationRow(ruleset_hash=ruleset_hash, activated_at=now))
    session.flush()
    return _version(row, now, active=True)


def save(session: Session, ruleset_hash: str, snapshot: str, *, sqlite: bool) -> None:
    """Insert the snapshot if it is new; no activation."""
    insert = sqlite_insert if sqlite else pg_insert
    session.connection().execute(
        insert(RulesetVersionRow)
        .values(hash=ruleset_hash, snapshot=snapshot, created_at=datetime.now(UTC))
        .on_conflict_do_nothing(index_elements=["hash"])
    )


def activations(session: Session) -> list[str]:
    """The hashes of every activation, oldest first (a hash activated twice appears twice)."""
    return list(
        session.exec(
            select(RulesetActivationRow.ruleset_hash).order_by(col(RulesetActivationRow.id))
        ).all()
    )


def active(session: Session) -> RulesetVersion | None:
    latest = _latest_activation(session)
    if latest is None:
        return None
    row = session.exec(
        select(RulesetVersionRow).where(RulesetVersionRow.hash == latest.ruleset_hash)
    ).one()
    return _version(row, latest.activated_at, active=True)


def snapshot(session: Session, ruleset_hash: str) -> str | None:
    row = session.exec(
        select(RulesetVersionRow).where(RulesetVersionRow.hash == ruleset_hash)
    ).first()
    return None if row is None else row.snapshot


def versions(session: Session) -> list[RulesetVersion]:
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
