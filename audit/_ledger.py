"""Ledgers: the small hash chains beside the decision log, for what a decision depends on.

Three things change what a stored decision means or holds without breaking its link: which
ruleset was active from when (`ruleset_activation`), whether its personal payload was erased
on purpose (`personal_erasure`), and whether its personal columns were redacted on purpose
(`decision_redaction`, `audit._redaction`). A fourth records what the broker did for people's
rights (`subject_request`: exports, erasures, purges..., counts only, `audit.subjects`), so
the record of a request cannot be changed or dropped unseen. Each is a table whose rows are
chained like decisions:

    record_hash = sha256("<tag>|<seq>|<prev_hash>|<sha256 of the entry's canonical JSON>")

with `seq` counting from 1 and the first `prev_hash` the all-zero genesis hash. The head of
each ledger (its last seq and hash) is a row of `ledger_head`, locked by every append (as
`chain_head` is for decisions), so entries get consecutive numbers across processes.
`walk` finds a changed, removed or reordered entry, a head that does not match the last
entry, and, given a head kept elsewhere (a signed checkpoint), a ledger cut back behind it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from audit._chain import format_head, parse_head
from audit.models import GENESIS_HASH, LedgerHeadRow
from audit.records import Finding
from lender_rules.canonical import canonical_json, sha256_hex

ACTIVATIONS = "ruleset_activation"
ERASURES = "personal_erasure"
REDACTIONS = "decision_redaction"
SUBJECT_REQUESTS = "subject_request"
_TAGS = {
    ACTIVATIONS: "lendmatch-activation-v1",
    ERASURES: "lendmatch-erasure-v1",
    REDACTIONS: "lendmatch-redaction-v1",
    SUBJECT_REQUESTS: "lendmatch-subject-request-v1",
}
_NOUNS = {
    ACTIVATIONS: "activation",
    ERASURES: "erasure",
    REDACTIONS: "redaction",
    SUBJECT_REQUESTS: "subject request",
}


def entry_hash(ledger: str, seq: int, prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The record hash of one entry of `ledger` at `seq` after `prev_hash`."""
    return sha256_hex(f"{_TAGS[ledger]}|{seq}|{prev_hash}|{sha256_hex(canonical_json(entry))}")


@dataclass(frozen=True)
class Entry:
    """One stored entry as `walk` reads it: its chained fields and its chain columns."""

    seq: int
    fields: Mapping[str, Any]
    prev_hash: str
    record_hash: str


def lock_head(session: Session, ledger: str) -> tuple[int, str]:
    """The ledger's head (seq, hash), locked until the transaction ends."""
    row = session.exec(
        select(LedgerHeadRow).where(LedgerHeadRow.name == ledger).with_for_update()
    ).one()
    return int(row.seq), row.hash


def read_head(session: Session, ledger: str) -> tuple[int, str]:
    row = session.exec(select(LedgerHeadRow).where(LedgerHeadRow.name == ledger)).one()
    return int(row.seq), row.hash


_MOVE_HEAD = (
    update(LedgerHeadRow)
    .where(col(LedgerHeadRow.name) == bindparam("ledger"))
    .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
)


def append(session: Session, ledger: str, entry: Mapping[str, Any]) -> tuple[int, str, str]:
    """Chain `entry` onto the ledger (the caller inserts its row with the returned
    seq, prev_hash and record_hash, in the same transaction)."""
    seq, prev = lock_head(session, ledger)
    seq += 1
    own = entry_hash(ledger, seq, prev, entry)
    session.connection().execute(_MOVE_HEAD, {"ledger": ledger, "new_seq": seq, "new_hash": own})
    return seq, prev, own


@dataclass(frozen=True)
class LedgerReport:
    """A ledger walked: how many entries held, the head reached, the first problem if any."""

    ledger: str
    checked: int
    head: str
    finding: Finding | None


def walk(
    ledger: str,
    entries: Iterable[Entry],
    head: tuple[int, str],
    expected: str | None = None,
) -> LedgerReport:
    """Check every entry in `seq` order, then the stored head and `expected` (a head kept
    elsewhere, `<seq>:<hash>`: the ledger must still hold that entry unchanged)."""
    noun = _NOUNS[ledger]
    prev, checked = GENESIS_HASH, 0
    want: tuple[int, str] | None = None
    if expected is not None:
        want_seq, want_hash = parse_head(expected)
        if want_seq is None:
            raise ValueError(f"a kept {noun} head names its seq: {expected!r}")
        want = (want_seq, want_hash)

    def bad(seq: int | None, reason: str) -> LedgerReport:
        where = f"the {noun} log" if seq is None else f"{noun} {seq}"
        return LedgerReport(ledger, checked, format_head(checked, prev), Finding(where, reason))

    for entry in entries:
        if entry.seq != checked + 1:
            return bad(checked + 1, f"{noun} {checked + 1} is missing or out of order")
        if entry.prev_hash != prev:
            return bad(entry.seq, f"it does not link to {noun} {entry.seq - 1}")
        if entry_hash(ledger, entry.seq, entry.prev_hash, entry.fields) != entry.record_hash:
            return bad(entry.seq, f"{noun} {entry.seq} was changed: its hash does not match")
        if want is not None and want[0] == entry.seq and want[1] != entry.record_hash:
            return bad(entry.seq, f"{noun} {entry.seq} differs from the checkpoint's")
        checked, prev = entry.seq, entry.record_hash
    if head != (checked, prev):
        return bad(
            None,
            f"the {noun} log's head names {noun} {head[0]} but the log ends at {noun} {checked}",
        )
    if want is not None and want[0] > checked:
        return bad(
            None,
            f"{noun}s were cut: the checkpoint names {noun} {want[0]} but the log ends at "
            f"{noun} {checked}",
        )
    return LedgerReport(ledger, checked, format_head(checked, prev), None)
