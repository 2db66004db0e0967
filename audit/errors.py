"""Errors of the decision store: one small hierarchy, each with the fields a caller needs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


class AuditError(Exception):
    """Base class of every error raised by the `audit` package."""


class StoreUnavailable(AuditError):  # noqa: N818  (name fixed by the store contract)
    """The database failed; nothing of the attempted write was stored."""

    def __init__(self, operation: str, cause: str) -> None:
        self.operation = operation
        self.cause = cause
        super().__init__(f"decision store unavailable during {operation}: {cause}")


class IdempotencyConflict(AuditError):  # noqa: N818  (name fixed by the store contract)
    """The idempotency key was already used for a request with a different body."""

    def __init__(self, key: str, decision_id: str) -> None:
        self.key = key
        self.decision_id = decision_id
        super().__init__(
            f"idempotency key {key!r} was already used for a different request "
            f"(decision {decision_id})"
        )


class InvalidRecord(AuditError):  # noqa: N818  (named like its siblings)
    """A value handed to the store cannot be recorded as it is; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")


class SnapshotMismatch(AuditError):  # noqa: N818  (named like its siblings)
    """A stored ruleset snapshot does not hash to the hash it is stored under: it was changed."""

    def __init__(self, ruleset_hash: str, actual_hash: str) -> None:
        self.ruleset_hash = ruleset_hash
        self.actual_hash = actual_hash
        super().__init__(
            f"the snapshot stored for ruleset {ruleset_hash} was changed: it hashes to "
            f"{actual_hash}"
        )


class CheckpointError(AuditError):
    """A checkpoint file cannot be written or read, or it is refused (a forged signature);
    `path` names it."""

    def __init__(self, path: Path, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"checkpoint {path}: {message}")


class CheckpointKeyError(AuditError):
    """A checkpoint key (`kind`: private key or public key) is not an Ed25519 key in base64."""

    def __init__(self, kind: str, message: str) -> None:
        self.kind = kind
        self.message = message
        super().__init__(f"the checkpoint {kind} {message}")


class ReviewNotFound(AuditError):  # noqa: N818  (named like its siblings)
    """No review request has this id."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        super().__init__(f"no review request {request_id}")


class ReviewAlreadyOpen(AuditError):  # noqa: N818  (named like its siblings)
    """The application already has an open review request (one at a time)."""

    def __init__(self, application_id: str, request_id: str | None) -> None:
        self.application_id = application_id
        self.request_id = request_id
        super().__init__(
            f"application {application_id} already has an open review request"
            + (f" ({request_id})" if request_id else "")
        )


class ReviewStateConflict(AuditError):  # noqa: N818  (named like its siblings)
    """A review request is not in a state that allows this (`message` says why)."""

    def __init__(self, request_id: str, message: str) -> None:
        self.request_id = request_id
        self.message = message
        super().__init__(f"review request {request_id}: {message}")


class ReviewAlreadyDecided(AuditError):  # noqa: N818  (named like its siblings)
    """A review request was already decided: by whom and when."""

    def __init__(self, request_id: str, by: str, at: datetime) -> None:
        self.request_id = request_id
        self.by = by
        self.at = at
        super().__init__(f"review request {request_id} was decided by {by} at {at.isoformat()}")


class DataKeyError(AuditError):
    """A key protecting personal data is malformed or missing, or a sealed value does not open
    with it; `setting` names where the key comes from."""

    def __init__(self, setting: str, message: str) -> None:
        self.setting = setting
        self.message = message
        super().__init__(f"{setting} {message}")
