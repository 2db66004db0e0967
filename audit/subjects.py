"""`SubjectStore`: what the store holds per person, found by the keyed hash of their id.

The workflows of data-subject rights (`broker.subjects`) go through here:

- `links(national_id)`: the person's applications and their role on each (`subject_link`:
  an HMAC of the normalised national id, never the id itself);
- restrictions of processing (`subject_restriction`), looked up per application
  (`restricted_among`) so that every later use of an application can ask in one query;
- rectifications (`subject_correction`, sealed like the payload);
- identity checks kept under anti-money-laundering law (`identity_check`, sealed);
- `erase_applications`: applications' personal data erased in one commit (payload with
  its erasure recorded, records redacted, the content of review requests, corrections,
  links), keeping the identity checks the caller names;
- the record of each request carried out (`subject_request`: counts and ids, no personal
  data), a ledger (`audit._ledger`): `verify_requests` finds a record changed, removed or
  reordered, or cut back behind a checkpoint's head.

Every method is one transaction (`audit._unit`). National ids are passed in normalised
(`broker.subject_ids`); the store hashes them with `PersonalKeys.subject_hash`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from audit import _chain, _ledger, _personal, _redaction, reviews
from audit._unit import UnitOfWork
from audit.models import (
    IdentityCheckRow,
    SubjectCorrectionRow,
    SubjectLinkRow,
    SubjectRequestRow,
    SubjectRestrictionRow,
)
from audit.personal_keys import PersonalKeys
from audit.records import Finding
from lender_rules.canonical import canonical_json

_BATCH = 1000


@dataclass(frozen=True)
class SubjectLink:
    """One application of a person, and their role on it."""

    application_id: str
    role: str  # applicant, co_applicant


@dataclass(frozen=True)
class Restriction:
    """A restriction of processing of a person's applications."""

    restricted_at: datetime
    reason: str


@dataclass(frozen=True)
class Correction:
    """A rectification of an application's personal details (the corrected values)."""

    application_id: str
    recorded_at: datetime
    corrections: dict[str, Any]


@dataclass(frozen=True)
class IdentityCheck:
    """An identity check kept under anti-money-laundering law."""

    application_id: str
    role: str
    checked_at: datetime
    keep_until: datetime
    identity: dict[str, Any]


@dataclass(frozen=True)
class ApplicationErased:
    """What `erase_application` removed from one application."""

    application_id: str
    payload: bool  # its personal payload was erased (the erasure recorded)
    records_redacted: int
    corrections: int
    identity_checks_kept: int
    review_requests: int = 0  # requests whose statement, corrections and free texts went
    review_requests_withdrawn: tuple[str, ...] = ()  # open requests closed as withdrawn


@dataclass(frozen=True)
class ErasureItem:
    """One application to erase, and the identity checks to keep of its people: role ->
    (identity, checked at, keep until)."""

    application_id: str
    keep_identities: Mapping[str, tuple[dict[str, Any], datetime, datetime]]


def request_entry(kind: str, done_at: datetime, summary_json: str) -> dict[str, Any]:
    """What a request record's ledger hash covers."""
    return {"kind": kind, "done_at": _chain.utc_text(done_at), "summary": summary_json}


class SubjectStore:
    """Links, restrictions, corrections, identity checks and the record of requests."""

    def __init__(self, uow: UnitOfWork, keys: PersonalKeys) -> None:
        self._uow = uow
        self._keys = keys

    # -- finding a person --------------------------------------------------------------------

    def links(self, national_id: str) -> list[SubjectLink]:
        """The person's applications (normalised national id), in application id order."""
        subject = self._keys.subject_hash(national_id)
        with self._uow.unit("subject_links") as session:
            rows = session.exec(
                select(SubjectLinkRow)
                .where(SubjectLinkRow.subject_hash == subject)
                .order_by(col(SubjectLinkRow.application_id), col(SubjectLinkRow.role))
            ).all()
        return [SubjectLink(row.application_id, row.role) for row in rows]

    # -- restriction of processing -----------------------------------------------------------

    def restrict(self, national_id: str, *, reason: str, now: datetime) -> bool:
        """Restrict processing of the person's applications; False if already restricted."""
        subject = self._keys.subject_hash(national_id)
        with self._uow.unit("restrict", write=True) as session:
            if session.get(SubjectRestrictionRow, subject) is not None:
                return False
            session.add(
                SubjectRestrictionRow(subject_hash=subject, restricted_at=now, reason=reason)
            )
            return True

    def lift(self, national_id: str) -> bool:
        """Lift the person's restriction; False if there was none."""
        subject = self._keys.subject_hash(national_id)
        with self._uow.unit("lift_restriction", write=True) as session:
            result = session.exec(
                delete(SubjectRestrictionRow).where(
                    col(SubjectRestrictionRow.subject_hash) == subject
                )
            )
            return bool(result.rowcount)

    def restriction(self, national_id: str) -> Restriction | None:
        subject = self._keys.subject_hash(national_id)
        with self._uow.unit("restriction") as session:
            row = session.get(SubjectRestrictionRow, subject)
        return None if row is None else Restriction(_chain.utc(row.restricted_at), row.reason)

    def restricted_among(self, application_ids: Iterable[str]) -> set[str]:
        """Which of `application_ids` have a person whose processing is restricted. One
        query however many ids are asked about: the applications of the restricted people
        (few: a restriction is a person's request) are read and intersected with them."""
        with self._uow.unit("restricted_among") as session:
            held = session.exec(
                select(SubjectLinkRow.application_id).join(
                    SubjectRestrictionRow,
                    col(SubjectRestrictionRow.subject_hash) == col(SubjectLinkRow.subject_hash),
                )
            ).all()
        return set(held).intersection(application_ids)

    # -- rectification -----------------------------------------------------------------------

    def correct(self, application_id: str, corrections: Mapping[str, Any], now: datetime) -> None:
        """Record corrected personal details of an application (sealed)."""
        key_id, sealed = self._keys.seal(canonical_json(dict(corrections)), application_id)
        with self._uow.unit("correct", write=True) as session:
            session.add(
                SubjectCorrectionRow(
                    application_id=application_id,
                    recorded_at=now,
                    key_id=key_id,
                    corrections=sealed,
                )
            )

    def corrections(self, application_ids: Sequence[str]) -> list[Correction]:
        """Every correction of `application_ids`, oldest first."""
        with self._uow.unit("corrections") as session:
            rows = session.exec(
                select(SubjectCorrectionRow)
                .where(col(SubjectCorrectionRow.application_id).in_(list(application_ids)))
                .order_by(col(SubjectCorrectionRow.id))
            ).all()
        return [
            Correction(
                row.application_id,
                _chain.utc(row.recorded_at),
                json.loads(self._keys.open(row.key_id, row.corrections, row.application_id)),
            )
            for row in rows
        ]

    # -- identity checks (anti-money-laundering law) -----------------------------------------

    def identity_checks(self, application_ids: Sequence[str]) -> list[IdentityCheck]:
        with self._uow.unit("identity_checks") as session:
            rows = session.exec(
                select(IdentityCheckRow)
                .where(col(IdentityCheckRow.application_id).in_(list(application_ids)))
                .order_by(col(IdentityCheckRow.application_id), col(IdentityCheckRow.role))
            ).all()
        return [
            IdentityCheck(
                row.application_id,
                row.role,
                _chain.utc(row.checked_at),
                _chain.utc(row.keep_until),
                json.loads(
                    self._keys.open(row.key_id, row.identity, f"{row.application_id}|{row.role}")
                ),
            )
            for row in rows
        ]

    def purge_identity_checks(self, now: datetime, *, dry_run: bool = False) -> int:
        """Delete the identity checks kept until before `now`, and the links of their
        applications that nothing else needs; return how many."""
        with self._uow.unit("purge_identity_checks", write=not dry_run) as session:
            due = session.exec(
                select(IdentityCheckRow).where(col(IdentityCheckRow.keep_until) < now)
            ).all()
            if dry_run:
                return len(due)
            for row in due:
                session.delete(row)
                session.exec(
                    delete(SubjectLinkRow).where(
                        col(SubjectLinkRow.application_id) == row.application_id,
                        col(SubjectLinkRow.role) == row.role,
                    )
                )
            return len(due)

    # -- erasure -----------------------------------------------------------------------------

    def erase_applications(
        self,
        items: Sequence[ErasureItem],
        *,
        reason: str,
        now: datetime,
        withdrawn: str = "erasure",
    ) -> list[ApplicationErased]:
        """Erase the personal data of each application of `items`, all in one commit: its
        payload (the erasure recorded in the erasure ledger), the personal columns of its
        records (redacted, recorded in the redaction ledger), the content of its review
        requests (`audit.reviews.erase_reviews`; an open one is closed as withdrawn
        because of `withdrawn`, erasure | retention: `audit.reviews.withdraw_open`), its
        corrections, and the links
        of its people, except the people of its `keep_identities`, whose identity checks are
        kept sealed, and their links with them."""
        with self._uow.unit("erase_applications", write=True) as session:
            # The open requests first, in one order: their row locks come before the ledger
            # and chain locks below, as a concurrent decider takes them (no deadlock).
            closed = {
                application_id: reviews.withdraw_open(
                    session, application_id, reason=withdrawn, at=now
                )
                for application_id in sorted({item.application_id for item in items})
            }
            return [
                self._erase(session, item, reason, closed[item.application_id], now)
                for item in items
            ]

    def _erase(
        self, session: Session, item: ErasureItem, reason: str, closed: list[str], now: datetime
    ) -> ApplicationErased:
        application_id = item.application_id
        payload = _personal.erase(session, application_id, now, reason)
        redacted = _redaction.redact_application(session, application_id, now, reason)
        requests = reviews.erase_reviews(session, application_id)
        corrections = session.exec(
            delete(SubjectCorrectionRow).where(
                col(SubjectCorrectionRow.application_id) == application_id
            )
        ).rowcount
        kept = 0
        for role, (identity, checked_at, keep_until) in item.keep_identities.items():
            if session.get(IdentityCheckRow, (application_id, role)) is not None:
                continue
            key_id, sealed = self._keys.seal(canonical_json(identity), f"{application_id}|{role}")
            session.add(
                IdentityCheckRow(
                    application_id=application_id,
                    role=role,
                    checked_at=checked_at,
                    keep_until=keep_until,
                    key_id=key_id,
                    identity=sealed,
                )
            )
            kept += 1
        session.flush()
        kept_roles = set(
            session.exec(
                select(IdentityCheckRow.role).where(
                    IdentityCheckRow.application_id == application_id
                )
            ).all()
        )
        session.exec(
            delete(SubjectLinkRow).where(
                col(SubjectLinkRow.application_id) == application_id,
                col(SubjectLinkRow.role).not_in(sorted(kept_roles)),
            )
        )
        return ApplicationErased(
            application_id, payload, redacted, int(corrections or 0), kept, requests, tuple(closed)
        )

    # -- the record of requests --------------------------------------------------------------

    def record_request(self, kind: str, summary: Mapping[str, Any], now: datetime) -> None:
        """Record that a request (`kind`) was carried out, and what it did (no personal
        data: counts, application ids, categories), chained onto the request ledger."""
        summary_json = canonical_json(summary)
        with self._uow.unit("record_request", write=True) as session:
            seq, prev, own = _ledger.append(
                session, _ledger.SUBJECT_REQUESTS, request_entry(kind, now, summary_json)
            )
            session.add(
                SubjectRequestRow(
                    kind=kind,
                    done_at=now,
                    summary_json=summary_json,
                    seq=seq,
                    prev_hash=prev,
                    record_hash=own,
                )
            )

    def verify_requests(self, expected: str | None = None) -> tuple[Finding | None, str]:
        """Walk the request ledger (to `expected`, a head kept elsewhere, if given): the
        first problem found, if any, and the head reached (`<seq>:<hash>`)."""
        with self._uow.unit("verify_subject_requests", snapshot=True) as session:
            head = _ledger.read_head(session, _ledger.SUBJECT_REQUESTS)
            rows = session.exec(select(SubjectRequestRow).order_by(col(SubjectRequestRow.seq)))
            report = _ledger.walk(
                _ledger.SUBJECT_REQUESTS,
                (
                    _ledger.Entry(
                        int(row.seq),
                        request_entry(row.kind, row.done_at, row.summary_json),
                        row.prev_hash,
                        row.record_hash,
                    )
                    for row in rows
                ),
                head,
                expected,
            )
        return report.finding, report.head

    def requests(self) -> list[tuple[str, datetime, dict[str, Any]]]:
        """Every recorded request: kind, when, what it did."""
        with self._uow.unit("subject_requests") as session:
            rows = session.exec(select(SubjectRequestRow).order_by(col(SubjectRequestRow.seq)))
            return [
                (row.kind, _chain.utc(row.done_at), json.loads(row.summary_json)) for row in rows
            ]
