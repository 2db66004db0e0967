"""Restriction of processing (GDPR art. 18): the one check every later use goes through.

While a person's processing is restricted, their applications are stored but not used:
not re-scored (`broker.batch_decisions` skips them and counts them), not shown outside the
case (reading a decision with a frontend key is refused), not forwarded. Every such use asks
here, with the application ids it is about, and the store answers in one query
(`audit.SubjectStore.restricted_among`). Restrictions are set and lifted by
`broker.subjects`. A new application by the person is decided as usual: applying again is
their own request. Forwarding to lenders does not exist yet; when it does, it asks here.
"""

from __future__ import annotations

from collections.abc import Iterable

from audit import Store
from broker.errors import ProcessingRestrictedError


def restricted(store: Store, application_ids: Iterable[str]) -> set[str]:
    """Which of `application_ids` may not be processed now."""
    return store.subjects.restricted_among(application_ids)


def ensure_unrestricted(store: Store, application_id: str) -> None:
    """`ProcessingRestrictedError` if the application may not be processed now."""
    if restricted(store, (application_id,)):
        raise ProcessingRestrictedError(application_id)
