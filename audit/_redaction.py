"""Redacting decision records: personal columns removed, links still verifiable.

A decision record holds the applicant's feature row (age, income, citizenship...), personal
data that erasure and retention must remove, while the chain must still prove what was
decided. The record hash binds only the payload digest (`audit._chain`), so redaction
replaces the personal columns and keeps everything that the link depends on:

- `features_json` becomes `_chain.REDACTED_FEATURES`, `request_digest` (a digest of the
  whole application) becomes NULL; a manual decision's review part (`review_json`) loses
  what it held about the person (`redacted_review`: the corrected values and the
  caseworker's free-text explanations) and keeps who reviewed which decision and each
  lender's verdict, the proof that a person looked at it (GDPR art. 22(3), 5(2)); the
  payload digest, the link fields, the outcomes, the ruleset hash, the client and the
  times stay;
- an entry of the redaction ledger (`decision_redaction`, an `audit._ledger` chain) records
  when and why, the record's payload digest, and `kept_digest`, a digest of every column
  the record kept. A record is redacted only if it verifies first.

`verify` then accepts a redacted record only if the ledger holds an entry for its `seq` with
its payload digest and the digest of what it kept: a redaction nobody recorded, or a kept
column (an outcome, say) changed after the redaction, fails like any changed record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from audit import _chain, _ledger, _rows
from audit.errors import InvalidRecord
from audit.models import DecisionRedactionRow
from audit.records import RedactionSummary
from lender_rules.canonical import canonical_json, sha256_hex

REDACTED_COLUMNS = frozenset({"features_json", "request_digest"})
"""The personal columns of a decision record, removed by a redaction (the review part is
reduced, not removed: what it keeps is part of `kept_digest`)."""
KEPT_REVIEW_FIELDS = ("request_id", "reviews", "reviewer", "language")
KEPT_VERDICT_FIELDS = ("lender_id", "verdict")


def redacted_review(review_json: str | None) -> str | None:
    """A manual decision's review part (format: `broker.manual_decisions`) without personal
    data: who reviewed which decision, in which language, and each lender's verdict; the
    corrections and the explanations (free text) go. None stays None."""
    if review_json is None:
        return None
    part = json.loads(review_json)
    kept: dict[str, Any] = {name: part[name] for name in KEPT_REVIEW_FIELDS if name in part}
    kept["verdicts"] = [
        {name: verdict[name] for name in KEPT_VERDICT_FIELDS if name in verdict}
        for verdict in part.get("verdicts", ())
    ]
    kept["redacted"] = True
    return canonical_json(kept)


def kept_digest(row: _chain.ChainRow) -> str:
    """The digest of every column a redaction keeps (whatever columns the record has)."""
    kept: dict[str, Any] = {}
    for column in fields(row):
        if column.name in REDACTED_COLUMNS:
            continue
        value = getattr(row, column.name)
        kept[column.name] = _chain.utc_text(value) if isinstance(value, datetime) else value
    return sha256_hex(canonical_json(kept))


def entry(
    decision_seq: int, payload_digest: str, kept: str, redacted_at: datetime, reason: str
) -> dict[str, Any]:
    """What a redaction's ledger hash covers."""
    return {
        "decision_seq": decision_seq,
        "payload_digest": payload_digest,
        "kept_digest": kept,
        "redacted_at": _chain.utc_text(redacted_at),
        "reason": reason,
    }


@dataclass(frozen=True)
class Redaction:
    """One recorded redaction, as `verify` compares it with its record."""

    decision_seq: int
    payload_digest: str
    kept_digest: str
    redacted_at: datetime
    reason: str


def redact(session: Session, rows: list[_chain.ChainRow], now: datetime, reason: str) -> int:
    """Redact `rows` (intact, not yet redacted records) in the caller's transaction and record
    each redaction in the ledger; return how many were redacted."""
    table = _rows.decision_table()
    for row in rows:
        redacted_row = _chain.ChainRow(
            **{
                **{f.name: getattr(row, f.name) for f in fields(row)},
                "features_json": _chain.REDACTED_FEATURES,
                "request_digest": None,
                "review_json": redacted_review(row.review_json),
            }
        )
        kept = kept_digest(redacted_row)
        fields_ = entry(row.seq, row.payload_digest, kept, now, reason)
        seq, prev, own = _ledger.append(session, _ledger.REDACTIONS, fields_)
        session.connection().execute(
            table.update()
            .where(table.c.seq == row.seq)
            .values(
                features_json=_chain.REDACTED_FEATURES,
                request_digest=None,
                review_json=redacted_row.review_json,
            )
        )
        session.add(
            DecisionRedactionRow(
                seq=seq,
                decision_seq=row.seq,
                payload_digest=row.payload_digest,
                kept_digest=kept,
                redacted_at=now,
                reason=reason,
                prev_hash=prev,
                record_hash=own,
            )
        )
    session.flush()
    return len(rows)


def redact_application(session: Session, application_id: str, now: datetime, reason: str) -> int:
    """Redact every record of an application not redacted yet (see `redact`); a record that
    does not verify is not redacted: `InvalidRecord` names it and nothing is redacted."""
    table = _rows.decision_table()
    found = session.connection().execute(
        sa_select(table)
        .where(
            table.c.application_id == application_id,
            table.c.features_json != _chain.REDACTED_FEATURES,
        )
        .order_by(table.c.seq)
    )
    rows = [_rows.to_chain_row(row) for row in found]
    for row in rows:
        if row.computed_payload_digest() != row.payload_digest:
            raise InvalidRecord(
                f"record {row.seq}",
                "does not match its payload digest; it is not redacted (run "
                "`lendmatch audit verify`)",
            )
    return redact(session, rows, now, reason)


def load(session: Session) -> dict[int, Redaction]:
    """Every recorded redaction by the record it redacted."""
    return {
        int(row.decision_seq): Redaction(
            int(row.decision_seq),
            row.payload_digest,
            row.kept_digest,
            _chain.utc(row.redacted_at),
            row.reason,
        )
        for row in session.exec(select(DecisionRedactionRow))
    }


class Judge:
    """`_chain.walk`'s judge of redacted records, from the recorded redactions."""

    def __init__(self, redactions: dict[int, Redaction]) -> None:
        self._redactions = redactions

    def __call__(self, row: _chain.ChainRow) -> str | None:
        found = self._redactions.get(row.seq)
        if found is None:
            return "no redaction of it is recorded"
        if found.payload_digest != row.payload_digest:
            return "its payload digest differs from the one its redaction recorded"
        if found.kept_digest != kept_digest(row):
            return "the columns it kept were changed after its redaction"
        return None


def summarise(redactions: dict[int, Redaction]) -> tuple[RedactionSummary, ...]:
    """The redactions counted per (day, reason), in order of day."""
    counts: dict[tuple[str, str], int] = {}
    for found in redactions.values():
        key = (found.redacted_at.date().isoformat(), found.reason)
        counts[key] = counts.get(key, 0) + 1
    return tuple(RedactionSummary(day, reason, n) for (day, reason), n in sorted(counts.items()))


def walk_ledger(session: Session, expected: str | None = None) -> _ledger.LedgerReport:
    """The redaction ledger walked to its stored head."""
    head = _ledger.read_head(session, _ledger.REDACTIONS)
    rows = session.exec(select(DecisionRedactionRow).order_by(col(DecisionRedactionRow.seq)))
    entries: Iterator[_ledger.Entry] = (
        _ledger.Entry(
            seq=int(row.seq),
            fields=entry(
                int(row.decision_seq),
                row.payload_digest,
                row.kept_digest,
                row.redacted_at,
                row.reason,
            ),
            prev_hash=row.prev_hash,
            record_hash=row.record_hash,
        )
        for row in rows
    )
    return _ledger.walk(_ledger.REDACTIONS, entries, head, expected)
