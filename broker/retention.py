"""Retention: how long what is held about an application is kept, and the purge.

The periods (settings, per category; defaults from the privacy policy):

- **an application no lender accepted**: 2 years after its last decision;
- **an application some lender accepted**: 5 years after the customer's obligations end.
  The broker is never told when a loan is repaid, so the period runs from the application's
  last decision; "accepted" means its last decision found at least one lender's
  requirements met (no failed and no unknown requirement): the application was forwarded
  and may have become a loan;
- **identity checks** (anti-money-laundering law): 5 years after the check (the
  application's first decision). They survive an erasure request and the application's own
  period, sealed apart (`identity_check`), and go when their time is up.

Review requests follow their application: their content (statement, claimed corrections,
explanations, notes) is erased with it, and the record that a review happened stays with
the decision. Case views (the access log) are kept past an erasure request and deleted when
their application's period ends.

`purge(store, periods, now)` erases every application past its period (its payload, the
personal columns of its records, the content of its review requests, corrections, links;
`broker.erasure`), keeping the identity checks still within theirs, then deletes the
identity checks past theirs and the case views of applications past theirs. It is idempotent
(what is gone is not found again), records what it did (`subject_request`, kind
`retention_purge`, counts only), and with `dry_run` only counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from audit import HeldApplication, Store, StoredDecision
from broker.erasure import erase_applications
from broker.settings import Settings

CATEGORIES = ("application_data", "review_requests", "case_views", "identity_checks")


@dataclass(frozen=True)
class RetentionPeriods:
    """How long each category is kept."""

    not_accepted: timedelta = timedelta(days=730)
    customer: timedelta = timedelta(days=1827)
    aml: timedelta = timedelta(days=1827)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPeriods:
        return cls(
            not_accepted=timedelta(days=settings.retention_not_accepted_days),
            customer=timedelta(days=settings.retention_customer_days),
            aml=timedelta(days=settings.retention_aml_days),
        )

    def delete_on(self, held: HeldApplication) -> datetime:
        """When the application's data goes."""
        period = self.customer if held.accepted else self.not_accepted
        return held.last_decided_at + period

    def identity_until(self, checked_at: datetime) -> datetime:
        """How long an identity check made at `checked_at` is kept."""
        return checked_at + self.aml


@dataclass
class PurgeReport:
    """What a purge removed (or, in a dry run, would remove), per category."""

    dry_run: bool
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    records_redacted: int = 0
    identity_checks_kept: int = 0
    review_requests_withdrawn: int = 0  # open requests closed as withdrawn


def _views_due(store: Store, periods: RetentionPeriods, now: datetime) -> list[str]:
    """The applications whose case views are past their period (erased ones included: the
    decisions, kept, still say when the application's period ends)."""
    due = []
    for application_id in store.reviews.viewed_applications():
        history = store.decisions.history(application_id)
        if history and periods.delete_on(held_application(application_id, history)) <= now:
            due.append(application_id)
    return due


def held_application(application_id: str, history: Sequence[StoredDecision]) -> HeldApplication:
    """An application's retention view from its decisions (oldest first)."""
    last = history[-1]
    return HeldApplication(
        application_id=application_id,
        first_decided_at=history[0].decided_at,
        last_decided_at=last.decided_at,
        accepted=any(not failed and not unknown for _, failed, unknown in last.outcomes),
    )


def purge(
    store: Store, periods: RetentionPeriods, now: datetime, *, dry_run: bool = False
) -> PurgeReport:
    """Apply the retention periods at `now` (see the module doc)."""
    report = PurgeReport(dry_run=dry_run)
    due = [held for held in store.decisions.held() if periods.delete_on(held) <= now]
    if dry_run:
        report.removed["application_data"] = len(due)
        report.removed["review_requests"] = store.reviews.unerased(
            [held.application_id for held in due]
        )
    else:
        erased = erase_applications(
            store,
            due,
            reason="retention period ended",
            withdrawn="retention",
            now=now,
            periods=periods,
        )
        report.removed["application_data"] = len(erased)
        report.records_redacted = sum(e.records_redacted for e in erased)
        report.identity_checks_kept = sum(e.identity_checks_kept for e in erased)
        report.removed["review_requests"] = sum(e.review_requests for e in erased)
        report.review_requests_withdrawn = sum(len(e.review_requests_withdrawn) for e in erased)
    report.removed["case_views"] = store.reviews.delete_views(
        _views_due(store, periods, now), dry_run=dry_run
    )
    report.removed["identity_checks"] = store.subjects.purge_identity_checks(now, dry_run=dry_run)
    if not dry_run:
        store.subjects.record_request(
            "retention_purge",
            {
                "removed": report.removed,
                "records_redacted": report.records_redacted,
                "identity_checks_kept": report.identity_checks_kept,
                "review_requests_withdrawn": report.review_requests_withdrawn,
            },
            now,
        )
    return report
