"""Manual review, the applicant's side: ask for a person to look at an automated decision,
and read the answer.

`request_review` opens a request on an application's latest automated decision: the
applicant's statement, the lenders contested (by default every lender that rejected it and
was not overridden by an earlier review) and the corrections the applicant claims (feature
name -> value, checked against the feature contract like any feature row). It is due one
calendar month after receipt (`broker.review_deadlines`). An application has one open
request at a time.

`review_status` answers the applicant: the status, the due date (and the reason when it was
extended), and once decided each contested lender's outcome with the caseworker's
explanation; once withdrawn (the application was erased while the request was open), why.
Only the client whose application it is may read it (another's is not found).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from audit import DEFAULT_CLIENT, ReviewAlreadyOpen, Store, StoredReview
from broker.errors import (
    DecisionNotFoundError,
    NothingToReviewError,
    ReviewAlreadyOpenError,
    ReviewErasedError,
    ReviewInputError,
    ReviewNotFoundError,
)
from broker.manual_decisions import Verdict, overridden_lenders, verdicts_of
from broker.review import (
    MAX_TEXT,
    ReviewStatus,
    WithdrawalReason,
    as_language,
    as_status,
    as_withdrawal_reason,
    corrected_features,
)
from broker.review_deadlines import due_date
from broker.rulesets import CompiledRulesets
from lender_rules.vocabulary import Language

_STATUS_TEXTS: dict[ReviewStatus, dict[Language, str]] = {
    "received": {
        "en": "We have received your request. A caseworker will look at it.",
        "nb": "Vi har mottatt forespørselen din. En saksbehandler vil se på den.",
        "sv": "Vi har tagit emot din begäran. En handläggare kommer att titta på den.",
    },
    "in_review": {
        "en": "A caseworker is looking at your request.",
        "nb": "En saksbehandler ser på forespørselen din.",
        "sv": "En handläggare tittar på din begäran.",
    },
    "extended": {
        "en": "We need more time to answer your request; the new due date and why are given.",
        "nb": "Vi trenger mer tid til å svare deg; ny frist og hvorfor står oppgitt.",
        "sv": "Vi behöver mer tid för att svara dig; nytt slutdatum och varför anges.",
    },
    "decided": {
        "en": "A caseworker has decided on your request; the answer for each lender is given.",
        "nb": "En saksbehandler har avgjort forespørselen din; svaret for hver långiver står her.",
        "sv": "En handläggare har beslutat om din begäran; svaret för varje långivare anges.",
    },
    "withdrawn": {
        "en": "Your request was closed without a decision.",
        "nb": "Forespørselen din ble avsluttet uten avgjørelse.",
        "sv": "Din begäran avslutades utan beslut.",
    },
}
_WITHDRAWN_TEXTS: dict[WithdrawalReason, dict[Language, str]] = {
    "erasure": {
        "en": "Your request was withdrawn: the application was erased at the applicant's request.",
        "nb": "Forespørselen din ble trukket tilbake: søknaden ble slettet etter søkerens ønske.",
        "sv": "Din begäran drogs tillbaka: ansökan raderades på sökandens begäran.",
    },
    "retention": {
        "en": "Your request was withdrawn: the retention period of the application ended.",
        "nb": "Forespørselen din ble trukket tilbake: oppbevaringstiden for søknaden er ute.",
        "sv": "Din begäran drogs tillbaka: lagringstiden för ansökan har löpt ut.",
    },
}


@dataclass(frozen=True)
class LenderRuling:
    """A contested lender as the applicant sees it; verdict and explanation once decided
    (`eligible`: the application now goes to this lender)."""

    lender_id: str
    lender_name: str
    verdict: Verdict | None
    eligible: bool | None
    explanation: str | None


@dataclass(frozen=True)
class ReviewRequestStatus:
    """A review request as the applicant sees it."""

    request_id: str
    application_id: str
    status: ReviewStatus
    message: str  # what the status means, in the language asked for
    applicant_language: Language  # the language the caseworker's explanations are in
    received_at: datetime
    due_at: datetime
    extension_reason: str | None
    decided_at: datetime | None
    lenders: tuple[LenderRuling, ...]
    withdrawn_reason: WithdrawalReason | None = None  # status withdrawn: why


def request_review(
    store: Store,
    compiled: CompiledRulesets,
    application_id: str,
    *,
    client: str | None,
    statement: str,
    lenders: Sequence[str] | None,
    corrections: Mapping[str, Any],
    language: Language,
    now: datetime | None = None,
) -> ReviewRequestStatus:
    """Open a review request on the latest automated decision of `client`'s application
    (`client` None: any client's). `DecisionNotFoundError` for an unknown application (or
    another client's), `NothingToReviewError` if no lender rejected it, `ReviewInputError`
    naming the field (statement, `lenders[i]` that did not reject it, `corrections.<feature>`),
    `ReviewAlreadyOpenError` if a request is open already, `ReviewErasedError` if the
    application was erased."""
    automated = store.decisions.latest(application_id, client=client, automated=True)
    if automated is None:
        raise DecisionNotFoundError(application_id)
    if automated.redacted:  # erased: nothing left for a person to look at again
        raise ReviewErasedError()
    overridden = overridden_lenders(store.reviews.manual_decisions(application_id))
    rejecting = [
        lender
        for lender, failed, unknown in automated.outcomes
        if (failed or unknown) and lender not in overridden
    ]
    if not rejecting:
        raise NothingToReviewError(application_id)
    if not isinstance(statement, str) or not statement.strip():
        raise ReviewInputError("statement", "is required")
    if len(statement) > MAX_TEXT:
        raise ReviewInputError("statement", f"must be at most {MAX_TEXT} characters")
    contested = list(dict.fromkeys(lenders)) if lenders else rejecting
    for index, lender in enumerate(contested):
        if lender not in rejecting:
            raise ReviewInputError(
                f"lenders[{index}]",
                f"{lender} did not reject this application, so it cannot be contested",
            )
    corrected_features(automated.features, corrections)
    received = now or datetime.now(UTC)
    try:
        review = store.reviews.create(
            application_id=application_id,
            client=automated.client or DEFAULT_CLIENT,
            automated_decision_id=automated.decision_id,
            market=str(automated.features["market"]),
            language=language,
            statement=statement.strip(),
            corrections=corrections,
            lenders=contested,
            received_at=received,
            due_at=due_date(received),
        )
    except ReviewAlreadyOpen as error:
        raise ReviewAlreadyOpenError(application_id, error.request_id) from error
    return _answer(store, compiled, review, language)


def review_status(
    store: Store,
    compiled: CompiledRulesets,
    request_id: str,
    *,
    client: str | None,
    language: Language,
) -> ReviewRequestStatus:
    """The request as the applicant sees it; `ReviewNotFoundError` if unknown or (with
    `client`) another client's."""
    review = store.reviews.get(request_id)
    if review is None or (client is not None and review.client != client):
        raise ReviewNotFoundError(request_id)
    return _answer(store, compiled, review, language)


def _answer(
    store: Store, compiled: CompiledRulesets, review: StoredReview, language: Language
) -> ReviewRequestStatus:
    automated = store.decisions.find(review.automated_decision_id)
    ruleset = None if automated is None else compiled.get(automated.ruleset_hash)
    manual = (
        None
        if review.manual_decision_id is None
        else store.decisions.find(review.manual_decision_id)
    )
    verdicts = {} if manual is None else verdicts_of(manual)
    rulings = []
    for lender in review.lenders:
        verdict, explanation = verdicts.get(lender.lender_id, (None, None))
        name = lender.lender_id if ruleset is None else ruleset.lender(lender.lender_id).name
        rulings.append(
            LenderRuling(
                lender_id=lender.lender_id,
                lender_name=name,
                verdict="override" if verdict == "override" else ("uphold" if verdict else None),
                eligible=None if verdict is None else verdict == "override",
                explanation=explanation,
            )
        )
    status = as_status(review.status)
    withdrawn = as_withdrawal_reason(review.withdrawn_reason)
    return ReviewRequestStatus(
        request_id=review.request_id,
        application_id=review.application_id,
        status=status,
        message=(_STATUS_TEXTS[status] if withdrawn is None else _WITHDRAWN_TEXTS[withdrawn])[
            language
        ],
        applicant_language=as_language(review.language),
        received_at=review.received_at,
        due_at=review.due_at,
        extension_reason=review.extension_reason,
        decided_at=review.decided_at,
        lenders=tuple(rulings),
        withdrawn_reason=withdrawn,
    )
