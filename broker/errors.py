"""The errors of the broker's workflows: a small hierarchy, each with the fields a caller needs.

The ways in turn them into answers in one place each: `api.errors` (HTTP status and JSON
body), the CLI (a message and an exit code). Errors of the layers below pass through as they
are: `audit.StoreUnavailable`, `audit.IdempotencyConflict`, `audit.InvalidRecord`,
`lender_rules.errors.RulesetError`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path


class BrokerError(Exception):
    """A workflow could not do what was asked."""


class NoActiveRulesetError(BrokerError):
    """No ruleset has been activated yet, so nothing can be decided."""

    def __init__(self) -> None:
        super().__init__("No ruleset is active.")


class SnapshotMissingError(BrokerError):
    """The store holds no snapshot of a ruleset a decision names."""

    def __init__(self, ruleset_hash: str) -> None:
        super().__init__(f"The store holds no snapshot of ruleset {ruleset_hash}.")
        self.ruleset_hash = ruleset_hash


class SnapshotTamperedError(BrokerError):
    """The snapshot stored for a ruleset does not hash to that ruleset's hash: it was changed
    in the store, so nothing is decided or explained with it."""

    def __init__(self, ruleset_hash: str) -> None:
        super().__init__(
            f"The stored snapshot of ruleset {ruleset_hash} does not match its hash: it was "
            "changed in the store and is not used. Run `lendmatch audit verify`."
        )
        self.ruleset_hash = ruleset_hash


class DecisionNotFoundError(BrokerError):
    """No decision is stored for an application."""

    def __init__(self, application_id: str) -> None:
        super().__init__(f"No decision for application {application_id}.")
        self.application_id = application_id


class BatchInputError(BrokerError):
    """A batch input (a file, or the decision store) cannot be read, or some of its rows
    cannot be matched."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class BatchOutputError(BrokerError):
    """A batch result cannot be written (nothing half-written is left behind)."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class BatchColumnError(BatchInputError):
    """A batch input file lacks a column (or struct field) or has it with the wrong type."""

    def __init__(self, path: Path, column: str, expected: str, found: str | None) -> None:
        what = "missing" if found is None else f"is {found}"
        super().__init__(path, f"column {column} {what}; expected {expected}")
        self.column = column
        self.expected = expected
        self.found = found


class BatchRowError(BatchInputError):
    """A row of a batch input fails validation (raised in strict mode, at the first)."""

    def __init__(self, path: Path | str, row: int, reason: str) -> None:
        super().__init__(path, f"row {row}: {reason}")
        self.row = row
        self.reason = reason


class EngineUnavailableError(BrokerError):
    """A batch engine cannot be used here (its optional dependency is not installed)."""

    def __init__(self, engine: str, install: str) -> None:
        super().__init__(f"The {engine} engine is not installed; install it with: {install}")
        self.engine = engine
        self.install = install


class ReviewNotFoundError(BrokerError):
    """No review request has this id (or it is another client's: not disclosed)."""

    def __init__(self, request_id: str) -> None:
        super().__init__(f"No review request {request_id}.")
        self.request_id = request_id


class ReviewConflictError(BrokerError):
    """A review request cannot do this in its present state; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ReviewAlreadyOpenError(ReviewConflictError):
    """The application already has an open review request (one at a time)."""

    def __init__(self, application_id: str, request_id: str | None) -> None:
        known = f" ({request_id})" if request_id else ""
        super().__init__(
            f"Application {application_id} already has an open review request{known}; "
            "a new one can be made once it is decided."
        )
        self.application_id = application_id
        self.request_id = request_id


class NothingToReviewError(ReviewConflictError):
    """The decision on an application rejected no lender (or every rejection was overridden
    already): there is nothing for a person to review."""

    def __init__(self, application_id: str) -> None:
        super().__init__(
            f"The decision on application {application_id} rejected no lender (or every "
            "rejection was already overridden): there is nothing to review."
        )
        self.application_id = application_id


class AlreadyDecidedError(ReviewConflictError):
    """The review request was decided already: by whom and when."""

    def __init__(self, by: str, at: datetime) -> None:
        super().__init__(f"This case was already decided by {by} at {at.isoformat()}.")
        self.by = by
        self.at = at


class ReviewWithdrawnError(ReviewConflictError):
    """The request was withdrawn (its application erased: an erasure request or the
    retention purge); it can no longer be assigned, extended or decided."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        because = {
            "erasure": " because the application was erased at the applicant's request",
            "retention": " because the application's retention period ended",
        }.get(reason, "")
        super().__init__(f"The review request was withdrawn{because}; it cannot be decided.")


class ReviewErasedError(ReviewConflictError):
    """The application's personal data was erased (an erasure request or the retention
    purge): its case can no longer be shown or decided."""

    def __init__(self) -> None:
        super().__init__(
            "The applicant's personal data on this application was erased; the case can no "
            "longer be shown or decided."
        )


class ReviewInputError(BrokerError):
    """Something given to a review workflow is not valid; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DevelopmentKeysError(BrokerError):
    """Production mode with a public development key of personal data: refused."""

    def __init__(self, settings: list[str]) -> None:
        super().__init__(
            f"LENDMATCH_MODE=production but {' and '.join(settings)} still hold the public "
            "development keys, which anyone can read in lendmatch's source: personal data "
            "would not be protected. Set your own keys (see README, Configuration)."
        )
        self.settings = settings


class SubjectNotFoundError(BrokerError):
    """No application of the person is held (or the id is no national id)."""

    def __init__(self) -> None:
        super().__init__("No data is held about this person.")


class ProcessingRestrictedError(BrokerError):
    """A person on the application has restricted its processing (GDPR art. 18)."""

    def __init__(self, application_id: str) -> None:
        super().__init__(
            f"Processing of application {application_id} is restricted at the request of a "
            "person on it."
        )
        self.application_id = application_id
