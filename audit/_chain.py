"""Digests and the hash chain: the rules `verify` checks.

A record's payload digest is the sha256 of the canonical JSON (`lender_rules.canonical`) of
its decision payload (every stored column except the chain fields). Its record hash binds the
payload digest to its position and to its predecessor:

    record_hash = sha256("lendmatch-chain-v1|<seq>|<prev_hash>|<payload_digest>")

so a changed payload breaks its own digest, a removed record leaves a gap in `seq`, and a
moved record no longer matches either its position or its predecessor.

lendmatch 0.1 wrote the payload JSON with `\\uXXXX` escapes; every field of a 0.1 payload is
ASCII, so its digests are the same in today's canonical form and old logs still verify
(`tests/audit/test_previous_release.py` checks a store written by 0.1).

A manual decision (channel `manual`) carries a review part (`review_json`: the automated
decision it reviews, who, each contested lender's verdict and the explanation the applicant
got, the corrections used). It is chained only when present, as payload version 3, so every
record without one keeps its digest.
Redaction (erasure, retention): a record's personal columns (its features and request
digest) may be replaced by `REDACTED_FEATURES` and NULL. Its payload digest can then no
longer be recomputed, so `walk` asks `redacted` (given by the caller, `audit._redaction`)
whether the redaction is recorded in the redaction ledger with this record's payload digest
and kept columns; if so the stored payload digest is taken as it is and the link checked as
always. A record redacted without a recorded redaction fails like any changed record.
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import sha256
from itertools import repeat
from json.encoder import encode_basestring as _encode_text
from typing import Any

from audit.models import DEFAULT_CLIENT, GENESIS_HASH
from audit.records import VerifyReport
from lender_rules.canonical import canonical_json, sha256_hex

PAYLOAD_VERSION = 2
"""2: the payload names the decision's client (who may read it). 1: records written before
clients existed (lendmatch 0.1); they verify as version 1 while their client is the default
one (or none), so moving such a record to another client is found too."""
REVIEW_PAYLOAD_VERSION = 3
"""3: version 2 with the review part of a manual decision; only records holding one."""
_CHAIN_TAG = "lendmatch-chain-v1"
REDACTED_FEATURES = '{"redacted":true}'
"""The `features_json` of a redacted record (no feature row is ever this)."""


def utc(moment: datetime) -> datetime:
    """`moment` in UTC; a naive value (SQLite gives those back) is taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utc_text(moment: datetime) -> str:
    return utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def personal_digest(salt: str, payload_json: str) -> str:
    """Digest of a personal payload; the salt is erased with it, so no guess can be checked."""
    return sha256_hex(f"{salt}|{payload_json}")


def payload(
    *,
    decision_id: str,
    application_id: str,
    channel: str,
    decided_at: datetime,
    ruleset_hash: str,
    features_json: str,
    outcomes_json: str,
    personal_digest: str | None,
    idempotency_key: str | None,
    request_digest: str | None,
    client: str | None = None,
    version: int = PAYLOAD_VERSION,
    review_json: str | None = None,
) -> dict[str, object]:
    """The chained payload of a record: what its payload digest is the digest of."""
    built: dict[str, object] = {
        "v": version,
        "decision_id": decision_id,
        "application_id": application_id,
        "channel": channel,
        "decided_at": utc_text(decided_at),
        "ruleset_hash": ruleset_hash,
        "features_json": features_json,
        "outcomes_json": outcomes_json,
        "personal_digest": personal_digest,
        "idempotency_key": idempotency_key,
        "request_digest": request_digest,
    }
    if version >= 2:
        built["client"] = client
    if review_json is not None:
        built["v"] = REVIEW_PAYLOAD_VERSION
        built["review"] = review_json
    return built


def payload_digest(**fields: Any) -> str:
    """The payload digest of a record: sha256 of the canonical JSON of `payload(**fields)`."""
    return sha256_hex(canonical_json(payload(**fields)))


class PayloadDigests:
    """`payload_digest` of many records that share every field but a few text fields
    (`varying`), computed fast: the shared payload is built once (`payload`, with a marker
    in each varying field) and written in canonical JSON; a record's payload text is that
    text with its own values, JSON-encoded as `canonical_json` encodes a text, in place of
    the markers. Byte for byte the text `payload_digest` hashes (a test checks).

    `digest(*values)` takes the varying fields' values in the order of `varying`."""

    def __init__(self, varying: tuple[str, ...], **shared: Any) -> None:
        self.varying = varying
        markers = {name: json.dumps(f"\x00{name}\x00") for name in varying}
        marked: dict[str, Any] = {name: f"\x00{name}\x00" for name in varying}
        text = canonical_json(payload(**shared, **marked))
        if any(text.count(marker) != 1 for marker in markers.values()):
            raise ValueError("every varying field must be a text field of the payload")
        order = sorted(varying, key=lambda name: text.index(markers[name]))
        self._slots = [varying.index(name) for name in order]
        self._parts: list[str] = []
        for name in order:
            before, _, text = text.partition(markers[name])
            self._parts.append(before)
        self._parts.append(text)

    def digest(self, *values: str) -> str:
        """The payload digest of the record whose varying fields hold `values` (texts);
        `ValueError` on a text that has no canonical form (a lone surrogate)."""
        parts, slots = self._parts, self._slots
        pieces = [parts[0]]
        for k, slot in enumerate(slots):
            pieces.append(_encode_text(values[slot]))
            pieces.append(parts[k + 1])
        try:
            return hashlib.sha256("".join(pieces).encode("utf-8")).hexdigest()
        except UnicodeEncodeError:
            raise ValueError(
                "a text of the payload (a lone surrogate) has no canonical form"
            ) from None

    def digests(self, *columns: Sequence[str]) -> list[str]:
        """`digest` of each record, the varying fields given as columns in the order of
        `varying`; iterated in C (`map`, `zip`): the shared parts and each field's text
        encoded by `encode_basestring` joined, encoded, hashed. A column whose texts need
        no escape (`_plain`: ids, as a rule) is taken as it is, its quotes joined to the
        shared parts around it."""
        if len({len(column) for column in columns}) > 1:
            raise ValueError("every varying field needs one text per record")
        pieces: list[Iterable[str]] = []
        shared = self._parts[0]
        for k, slot in enumerate(self._slots):
            column = columns[slot]
            if _plain(column):
                pieces += [repeat(shared + '"'), column]
                shared = '"' + self._parts[k + 1]
            else:
                pieces += [repeat(shared), map(_encode_text, column)]
                shared = self._parts[k + 1]
        pieces.append(repeat(shared))
        texts = map("".join, zip(*pieces, strict=False))  # the columns end together; repeat not
        try:
            found = [sha256(text).hexdigest() for text in map(str.encode, texts)]  # UTF-8
        except UnicodeEncodeError:
            raise ValueError(
                "a text of the payload (a lone surrogate) has no canonical form"
            ) from None
        return found


def _plain(texts: Sequence[str]) -> bool:
    """Whether JSON writes each of `texts` as it is between quotes (`encode_basestring`
    escapes nothing of it): no quote, no backslash, no control character. Checked on all
    of them joined (quick for short texts); a column of JSON texts fails at its first."""
    if not texts:
        return True
    if '"' in texts[0] or "\\" in texts[0]:
        return False
    joined = "".join(texts)
    # isprintable: no control character (nor a few characters JSON writes as they are,
    # which then take the long way)
    return '"' not in joined and "\\" not in joined and joined.isprintable()


def record_hashes(seq: int, prev_hash: str, payload_digests: Iterable[str]) -> list[str]:
    """`record_hash` of records `seq + 1`, `seq + 2`, ... chained after `prev_hash`."""
    found: list[str] = []
    deque(linking(seq, prev_hash, payload_digests, found), maxlen=0)
    return found


def linking(
    seq: int, prev_hash: str, payload_digests: Iterable[str], found: list[str]
) -> Iterator[str]:
    """`record_hashes`, one at a time: each record's hash is yielded (and appended to
    `found`) when it is asked for, so a writer can send a record as soon as it is linked."""
    sha256, tag = hashlib.sha256, _CHAIN_TAG
    for digest in payload_digests:
        seq += 1
        prev_hash = sha256(f"{tag}|{seq}|{prev_hash}|{digest}".encode()).hexdigest()
        found.append(prev_hash)
        yield prev_hash


def record_hash(seq: int, prev_hash: str, payload_digest: str) -> str:
    return sha256_hex(f"{_CHAIN_TAG}|{seq}|{prev_hash}|{payload_digest}")


def format_head(seq: int, digest: str) -> str:
    """The external form of a chain head: `<seq>:<record hash>`."""
    return f"{seq}:{digest}"


def parse_head(text: str) -> tuple[int | None, str]:
    """`<seq>:<hash>` or a bare hash; the hash is lower-cased."""
    seq_text, sep, digest = text.strip().partition(":")
    if not sep:
        return None, seq_text.lower()
    return int(seq_text), digest.lower()


@dataclass(frozen=True)
class ChainRow:
    """The stored columns of one record, as `verify` reads them."""

    seq: int
    decision_id: str
    application_id: str
    channel: str
    decided_at: datetime
    ruleset_hash: str
    features_json: str
    outcomes_json: str
    personal_digest: str | None
    idempotency_key: str | None
    request_digest: str | None
    payload_digest: str
    prev_hash: str
    record_hash: str
    client: str | None = None
    review_json: str | None = None

    @property
    def redacted(self) -> bool:
        return self.features_json == REDACTED_FEATURES

    def computed_payload_digest(self) -> str:
        """The digest of the stored payload, in the version it was written in."""
        digest = self._digest(PAYLOAD_VERSION)
        if digest != self.payload_digest and self.client in (None, DEFAULT_CLIENT):
            before_clients = self._digest(1)
            if before_clients == self.payload_digest:
                return before_clients
        return digest

    def _digest(self, version: int) -> str:
        return payload_digest(
            decision_id=self.decision_id,
            application_id=self.application_id,
            channel=self.channel,
            decided_at=self.decided_at,
            ruleset_hash=self.ruleset_hash,
            features_json=self.features_json,
            outcomes_json=self.outcomes_json,
            personal_digest=self.personal_digest,
            idempotency_key=self.idempotency_key,
            request_digest=self.request_digest,
            client=self.client,
            version=version,
            review_json=self.review_json,
        )


def _bad(checked: int, seq: int, reason: str, decision_id: str | None = None) -> VerifyReport:
    return VerifyReport(
        ok=False,
        checked=checked,
        first_bad_seq=seq,
        reason=reason,
        first_bad_decision_id=decision_id,
    )


def walk(
    rows: Iterable[ChainRow],
    head_seq: int,
    head_hash: str,
    expected_head: str | None = None,
    redacted: Callable[[ChainRow], str | None] | None = None,
) -> VerifyReport:
    """Check every link of the chain in `seq` order, then the stored and the expected head.

    `redacted(row)` judges a redacted record: None if its redaction is recorded and matches
    (its stored payload digest then stands), else why not. Without it, a redacted record fails.

    The first wrong record is named: a changed record by its own digests, a removed one by
    the gap it leaves, a record whose successor no longer links to it by that broken link.
    """
    expected_seq: int | None = None
    expected_digest: str | None = None
    if expected_head is not None:
        try:
            expected_seq, expected_digest = parse_head(expected_head)
        except ValueError:
            return VerifyReport(False, 0, None, f"malformed expected head {expected_head!r}")
    expected_found = False

    prev = GENESIS_HASH
    prev_row: ChainRow | None = None
    checked = redactions = 0
    for row in rows:
        want_seq = checked + 1
        if row.seq != want_seq:
            if row.seq > want_seq:
                return _bad(
                    checked,
                    want_seq,
                    f"record {want_seq} is missing: the log jumps from record {want_seq - 1} "
                    f"to record {row.seq} (decision {row.decision_id})",
                )
            return _bad(checked, row.seq, f"record {row.seq} is out of order", row.decision_id)
        if row.redacted:
            problem = "no redaction is recorded" if redacted is None else redacted(row)
            if problem is not None:
                return _bad(
                    checked,
                    row.seq,
                    f"record {row.seq} was redacted but {problem}",
                    row.decision_id,
                )
            digest = row.payload_digest
            redactions += 1
        else:
            digest = row.computed_payload_digest()
        own = record_hash(row.seq, row.prev_hash, digest)
        if row.prev_hash != prev:
            if own == row.record_hash and prev_row is not None:
                # This record is intact and names its original predecessor: the predecessor
                # was rewritten (with recomputed digests) after this record was appended.
                return _bad(
                    checked - 1,
                    prev_row.seq,
                    f"record {prev_row.seq} was changed: record {row.seq} links to a "
                    "different predecessor hash",
                    prev_row.decision_id,
                )
            return _bad(
                checked,
                row.seq,
                f"record {row.seq} does not link to record {row.seq - 1}: it was changed, "
                "or records were reordered",
                row.decision_id,
            )
        if digest != row.payload_digest:
            return _bad(
                checked,
                row.seq,
                f"record {row.seq} was changed: its payload does not match its payload digest",
                row.decision_id,
            )
        if own != row.record_hash:
            return _bad(
                checked,
                row.seq,
                f"record {row.seq} was changed or moved: its record hash does not match",
                row.decision_id,
            )
        checked += 1
        prev = row.record_hash
        prev_row = row
        if expected_digest is not None and row.record_hash == expected_digest:
            if expected_seq is not None and expected_seq != row.seq:
                return _bad(
                    checked,
                    row.seq,
                    f"the expected head names record {expected_seq}, but its hash is that of "
                    f"record {row.seq}",
                    row.decision_id,
                )
            expected_found = True
        elif expected_seq == row.seq:
            return _bad(
                checked - 1,
                row.seq,
                f"record {row.seq} differs from the expected head: the log up to record "
                f"{row.seq} was rewritten",
                row.decision_id,
            )

    last_seq = checked
    if head_seq != last_seq or head_hash != prev:
        if head_seq > last_seq:
            return _bad(
                checked,
                last_seq + 1,
                f"record {last_seq + 1} is missing: the chain head names record {head_seq} "
                f"but the log ends at record {last_seq}",
            )
        return _bad(
            checked,
            last_seq,
            f"the chain head (record {head_seq}) does not match the last record {last_seq}",
        )
    if expected_digest is not None and not expected_found:
        if expected_seq is not None and expected_seq > last_seq:
            return _bad(
                checked,
                last_seq + 1,
                f"record {last_seq + 1} is missing: the expected head names record "
                f"{expected_seq} but the log ends at record {last_seq}",
            )
        return VerifyReport(
            ok=False,
            checked=checked,
            first_bad_seq=None,
            reason="the expected head is not a record of this log: the log was rewritten",
            head=format_head(last_seq, prev),
        )
    return VerifyReport(
        ok=True,
        checked=checked,
        first_bad_seq=None,
        reason=f"{checked} records verified",
        head=format_head(last_seq, prev),
        redacted=redactions,
    )
