"""Checking the personal payloads against the decision records, and the erasure ledger.

Each decision record with a personal payload holds `personal_digest = sha256(salt|payload)`.
An application's payload is replaced when it is decided again, so the payload stored now is
the one described by the application's latest record that holds a digest; `check_payloads`
compares the two for every application in one query (streamed, in record order):

- payload and digest differ: the payload was changed, or swapped with another application's;
- no payload: an error, unless the erasure ledger records an erasure of that application up
  to that record or later (then it counts as erased);
- a payload that no record describes was put there by hand;
- a sealed payload that does not open (changed ciphertext, moved from another application:
  the application id is its associated data, or its data key is not configured).

The digest is over the clear canonical payload, not the ciphertext: it says what was
recorded, whatever key seals it now, so rotating data keys never touches the chain; verify
opens each payload to compare.

The erasure ledger (`personal_erasure`, an `audit._ledger` chain) is walked by
`walk_erasures`, so an erasure record cannot be added, changed or removed unnoticed either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, text
from sqlmodel import Session, col, select

from audit import _chain, _ledger
from audit.errors import DataKeyError
from audit.models import DecisionRow, PersonalDataRow, PersonalErasureRow
from audit.personal_keys import PersonalKeys
from audit.records import Finding

_BATCH = 1000


def erasure_entry(
    application_id: str, decision_seq: int, erased_at: datetime, reason: str
) -> dict[str, Any]:
    """What an erasure's ledger hash covers."""
    return {
        "application_id": application_id,
        "decision_seq": decision_seq,
        "erased_at": _chain.utc_text(erased_at),
        "reason": reason,
    }


# The latest record holding a digest, per application, with the payload and the furthest
# record an erasure of that application covers. Plain SQL: the same on SQLite and PostgreSQL.
_LATEST_WITH_PAYLOAD = text(
    """
    SELECT d.seq, d.decision_id, d.application_id, d.personal_digest,
           p.salt, p.payload_json, p.key_id, e.covered
    FROM decision d
    LEFT JOIN personal_data p ON p.application_id = d.application_id
    LEFT JOIN (
        SELECT application_id, max(decision_seq) AS covered
        FROM personal_erasure GROUP BY application_id
    ) e ON e.application_id = d.application_id
    WHERE d.personal_digest IS NOT NULL
      AND NOT EXISTS (
        SELECT 1 FROM decision later
        WHERE later.application_id = d.application_id
          AND later.personal_digest IS NOT NULL
          AND later.seq > d.seq
      )
    ORDER BY d.seq
    """
)

_UNDESCRIBED = text(
    """
    SELECT p.application_id FROM personal_data p
    WHERE NOT EXISTS (
        SELECT 1 FROM decision d
        WHERE d.application_id = p.application_id AND d.personal_digest IS NOT NULL
    )
    ORDER BY p.application_id
    """
)


@dataclass
class PayloadCheck:
    """What `check_payloads` found."""

    payloads: int = 0
    erased: int = 0
    findings: list[Finding] = field(default_factory=list)


def clear_payload(keys: PersonalKeys, row: Any) -> str:
    """The clear JSON of a stored payload (opened with its data key; clear if it has none,
    as payloads stored before encryption); `DataKeyError` if it does not open."""
    if row.key_id is None:
        return str(row.payload_json)
    return keys.open(row.key_id, row.payload_json, row.application_id)


def check_payloads(session: Session, keys: PersonalKeys) -> PayloadCheck:
    """Every application's payload against its latest digest (see the module doc)."""
    check = PayloadCheck()
    result = session.connection().execute(_LATEST_WITH_PAYLOAD.execution_options(yield_per=_BATCH))
    try:
        for row in result:
            where = (
                f"personal payload of application {row.application_id} "
                f"(record {row.seq}, decision {row.decision_id})"
            )
            if row.payload_json is None:
                if row.covered is not None and int(row.covered) >= int(row.seq):
                    check.erased += 1
                else:
                    check.findings.append(
                        Finding(where, "the payload is missing and no erasure of it is recorded")
                    )
                continue
            check.payloads += 1
            try:
                clear = clear_payload(keys, row)
            except DataKeyError as error:
                check.findings.append(Finding(where, f"the payload does not open: {error}"))
                continue
            if _chain.personal_digest(row.salt, clear) != row.personal_digest:
                check.findings.append(
                    Finding(
                        where,
                        "the payload does not match the record's digest: it was changed, or "
                        "swapped with another application's",
                    )
                )
    finally:
        result.close()
    for (application_id,) in session.connection().execute(_UNDESCRIBED):
        check.findings.append(
            Finding(
                f"personal payload of application {application_id}",
                "no decision record describes this payload: it was added outside lendmatch",
            )
        )
    return check


def erase(session: Session, application_id: str, now: datetime, reason: str) -> bool:
    """Delete an application's payload (and its salt) and record the erasure (when, why, up
    to which decision record) in the erasure ledger, in the caller's transaction; False if
    there was nothing to erase."""
    result = session.exec(
        delete(PersonalDataRow).where(col(PersonalDataRow.application_id) == application_id)
    )
    if not result.rowcount:
        return False
    last = session.exec(
        select(func.max(DecisionRow.seq)).where(DecisionRow.application_id == application_id)
    ).one()
    entry = erasure_entry(application_id, int(last or 0), now, reason)
    seq, prev, own = _ledger.append(session, _ledger.ERASURES, entry)
    session.add(
        PersonalErasureRow(
            seq=seq,
            application_id=application_id,
            decision_seq=int(last or 0),
            erased_at=now,
            reason=reason,
            prev_hash=prev,
            record_hash=own,
        )
    )
    session.flush()
    return True


def walk_erasures(session: Session, expected: str | None) -> _ledger.LedgerReport:
    """The erasure ledger walked to its stored head (and to `expected`, if given)."""
    head = _ledger.read_head(session, _ledger.ERASURES)
    rows = session.exec(select(PersonalErasureRow).order_by(col(PersonalErasureRow.seq)))
    entries = (
        _ledger.Entry(
            seq=int(row.seq),
            fields=erasure_entry(
                row.application_id, int(row.decision_seq), row.erased_at, row.reason
            ),
            prev_hash=row.prev_hash,
            record_hash=row.record_hash,
        )
        for row in rows
    )
    return _ledger.walk(_ledger.ERASURES, entries, head, expected)
