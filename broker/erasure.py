"""Erasing applications, for an erasure request and for the retention purge alike.

An application is one record about its people together (the feature row mixes applicant and
co-applicant), so erasing it for one of them erases it for both; the decision itself stays
(outcomes, ruleset, times: the proof of what was decided), without its features.

Before an application's payload goes, the identity check of each person on it (name and
national id, as checked at the application's first decision) is kept sealed apart while
anti-money-laundering law requires it (`RetentionPeriods.aml`, GDPR art. 17(3)(b)), for the
other person on it too: one person's erasure cannot end another's legal duty.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from audit import ApplicationErased, ErasureItem, HeldApplication, Store
from broker.review import WithdrawalReason

if TYPE_CHECKING:
    from broker.retention import RetentionPeriods

ROLES = ("applicant", "co_applicant")
IDENTITY_FIELDS = ("name", "national_id")
PER_TRANSACTION = 200


def identities(payload: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The identity of each person in an application's payload, by role."""
    found: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        person = (payload or {}).get(role)
        if isinstance(person, dict):
            found[role] = {name: person.get(name) for name in IDENTITY_FIELDS}
    return found


def erase_applications(
    store: Store,
    applications: Iterable[HeldApplication],
    *,
    reason: str,
    withdrawn: WithdrawalReason,
    now: datetime,
    periods: RetentionPeriods,
    per_transaction: int = PER_TRANSACTION,
) -> list[ApplicationErased]:
    """Erase each application, keeping the identity checks still due; `per_transaction`
    applications per commit (a purge stopped half-way leaves whole applications erased or
    not, and the next run finds the rest). A review request still open on an application is
    closed as withdrawn because of `withdrawn` (erasure | retention)."""
    erased: list[ApplicationErased] = []
    pending = list(applications)
    for start in range(0, len(pending), per_transaction):
        chunk = pending[start : start + per_transaction]
        payloads = store.decisions.personal_data_many([held.application_id for held in chunk])
        items = []
        for held in chunk:
            keep_until = periods.identity_until(held.first_decided_at)
            people = identities(payloads.get(held.application_id)) if keep_until > now else {}
            items.append(
                ErasureItem(
                    held.application_id,
                    {
                        role: (identity, held.first_decided_at, keep_until)
                        for role, identity in people.items()
                    },
                )
            )
        erased += store.subjects.erase_applications(
            items, reason=reason, withdrawn=withdrawn, now=now
        )
    return erased
