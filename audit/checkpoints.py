"""Signed checkpoints: the heads of the store's chains, kept outside the database.

A forger with write access to the database can cut records off the end of a chain and move
its head back: every link that remains is intact, so the store alone cannot tell. A
checkpoint closes that gap. It holds the heads of the decision chain, the activation ledger,
the erasure ledger, the redaction ledger and the subject-request ledger (`Heads`;
checkpoints written before these last two existed hold none of them) and when it was
taken, signed with Ed25519 (`cryptography`);
`Store.verify(expected=checkpoint.heads)` then fails if any chain is shorter than the
checkpoint or differs from it.

A checkpoint is one file in a checkpoint folder, never overwritten (created exclusively,
flushed to disk), named `checkpoint-<UTC time>-<decision seq>.json`. Its text is canonical
JSON: `{"checkpoint": {...}, "public_key": ..., "signature": ...}`, where the signature is
over `lendmatch-checkpoint-v1|` followed by the canonical JSON of `checkpoint`. Keys are the
32 raw bytes of an Ed25519 key in standard base64. The private key signs (it stays on the
machine that writes checkpoints); the public key verifies, and must come from somewhere the
forger cannot write: `newest_checkpoint` is given the public key to trust, never the one in
the file.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from audit._chain import parse_head, utc, utc_text
from audit.errors import CheckpointError, CheckpointKeyError
from audit.records import Heads
from lender_rules.canonical import canonical_bytes, canonical_json

VERSION = 1
_SIGNED_TAG = b"lendmatch-checkpoint-v1|"
_PATTERN = "checkpoint-*.json"


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint whose signature was checked: the heads it keeps, when, and its file."""

    heads: Heads
    created_at: datetime
    path: Path

    @property
    def decision_seq(self) -> int:
        return int(self.heads.decisions.partition(":")[0])


def new_checkpoint_keys() -> tuple[str, str]:
    """A fresh Ed25519 key pair: (private key, public key), each base64 of 32 bytes."""
    private = Ed25519PrivateKey.generate()
    return _b64(private.private_bytes_raw()), _b64(private.public_key().public_bytes_raw())


def checkpoint_public_key(private_key: str) -> str:
    """The public key of a private key (both base64); `CheckpointKeyError` if malformed."""
    return _b64(_private(private_key).public_key().public_bytes_raw())


def write_checkpoint(
    directory: Path, heads: Heads, private_key: str, *, now: datetime
) -> Checkpoint:
    """Sign `heads` as of `now` and write them as a new file in `directory` (created if need
    be); an existing file is never replaced (`CheckpointError`)."""
    signer = _private(private_key)
    body = _body(heads, now)
    document = {
        "checkpoint": body,
        "public_key": _b64(signer.public_key().public_bytes_raw()),
        "signature": _b64(signer.sign(_SIGNED_TAG + canonical_bytes(body))),
    }
    seq = int(heads.decisions.partition(":")[0])
    path = directory / f"checkpoint-{utc(now):%Y%m%dT%H%M%S%fZ}-{seq:012d}.json"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as file:
            file.write(canonical_json(document) + "\n")
            file.flush()
            os.fsync(file.fileno())
        _sync_directory(directory)
    except OSError as error:
        raise CheckpointError(path, f"cannot be written: {error.strerror or error}") from error
    return Checkpoint(heads, utc(now), path)


def newest_checkpoint(directory: Path, public_key: str) -> Checkpoint | None:
    """The newest checkpoint in `directory` (by its signed time, then its decision seq), or
    None if there is none. Every checkpoint file there is checked first: one that cannot be
    read or whose signature `public_key` does not verify is refused (`CheckpointError`)."""
    verifier = _public(public_key)
    if not directory.is_dir():
        raise CheckpointError(directory, "is not a folder of checkpoints")
    found = [_read(path, verifier) for path in sorted(directory.glob(_PATTERN))]
    if not found:
        return None
    return max(found, key=lambda c: (c.created_at, c.decision_seq))


def _read(path: Path, verifier: Ed25519PublicKey) -> Checkpoint:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        body = document["checkpoint"]
        signature = base64.b64decode(document["signature"], validate=True)
        heads = Heads(
            decisions=_head(body["decisions"]),
            activations=_head(body["activations"]),
            erasures=_head(body["erasures"]),
            redactions=None if "redactions" not in body else _head(body["redactions"]),
            subject_requests=None
            if "subject_requests" not in body
            else _head(body["subject_requests"]),
        )
        created_at = datetime.fromisoformat(body["created_at"])
        if body.get("v") != VERSION or body != _body(heads, created_at):
            raise ValueError("unknown fields or version")
    except OSError as error:
        raise CheckpointError(path, f"cannot be read: {error.strerror or error}") from error
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise CheckpointError(path, f"is not a lendmatch checkpoint ({error})") from error
    try:
        verifier.verify(signature, _SIGNED_TAG + canonical_bytes(body))
    except InvalidSignature as error:
        raise CheckpointError(
            path, "its signature does not verify with the trusted public key: it is forged"
        ) from error
    return Checkpoint(heads, utc(created_at), path)


def _body(heads: Heads, created_at: datetime) -> dict[str, Any]:
    body: dict[str, Any] = {
        "v": VERSION,
        "created_at": utc_text(created_at),
        "decisions": heads.decisions,
        "activations": heads.activations,
        "erasures": heads.erasures,
    }
    if heads.redactions is not None:  # checkpoints from before redactions have none
        body["redactions"] = heads.redactions
    if heads.subject_requests is not None:  # nor from before requests were chained
        body["subject_requests"] = heads.subject_requests
    return body


def _head(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("a head is a string")
    seq, digest = parse_head(value)
    if seq is None or len(digest) != 64:
        raise ValueError(f"malformed head {value!r}")
    return value


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _raw_key(key: str, kind: str) -> bytes:
    try:
        raw = base64.b64decode(key.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise CheckpointKeyError(kind, "is not base64") from error
    if len(raw) != 32:
        raise CheckpointKeyError(kind, "is not 32 bytes (an Ed25519 key)")
    return raw


def _private(key: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(_raw_key(key, "private key"))


def _public(key: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(_raw_key(key, "public key"))


def _sync_directory(directory: Path) -> None:
    """Flush the folder entry of a new file (where the platform allows it)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
