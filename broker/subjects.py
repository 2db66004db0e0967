"""Data-subject rights: export (access, portability), rectification, erasure, restriction.

A person is named by their national id, in any written form (`broker.subject_ids`); the
store finds their applications by its keyed hash. Someone of whom nothing is held is
`SubjectNotFoundError` (the API answers 404 to admins only).

**Export** is one JSON document (`schemas/subject-export.schema.json`): for each category of
data held, its purpose, legal basis and items, each with the date it will be deleted. The
categories come from `CATEGORY_PROVIDERS`, one function each, so a new kind of data (review
requests, case views) plugs in with one function. Only what is about the person is given:
on an application they share, the other person's part of the payload and of the feature row
is left out (`visible_features`).

**Rectification** records the corrected details (sealed) beside the application: decisions
already made are not rewritten. A new decision with the corrected data is asked for the
usual way: the front end (or the person) posts the corrected application, `POST
/v1/applications`, which is decided and recorded like any other.

**Erasure** erases every application of the person (`broker.erasure`): payload, the
decisions' features and the corrected values and explanations of manual decisions
(redacted, the chain still verifies), rectifications, and the content of review requests.
It keeps the identity checks anti-money-laundering law requires, the record that a review
happened with its verdicts (proof of the decision), and the case views (the access log,
until the application's period ends), each with the reason and the date it goes; records
the erasure (counts, no personal data) and answers what was erased and what was kept.

**Review requests** are made by an application's applicant: their free texts (the
statement, the extension reason, the caseworker's explanations and internal notes) may name
the other person on the application, so only the applicant's export holds them (the
co-applicant's says they are withheld and why); claimed corrections are filtered like
features. Internal notes are exported (`INTERNAL_NOTES_DECISION`).

**Restriction** is stored per person; `broker.restrictions` is the one check every later use
goes through.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from audit import HeldApplication, Store, StoredDecision, SubjectLink, without_free_text
from broker.decisions import explain_stored
from broker.erasure import erase_applications
from broker.errors import SnapshotMissingError, SnapshotTamperedError, SubjectNotFoundError
from broker.retention import RetentionPeriods, held_application
from broker.rulesets import CompiledRulesets
from broker.subject_ids import normalised
from lender_rules.errors import RulesetError
from lender_rules.vocabulary import Language
from matcher import LenderExplanation

EXPORT_SCHEMA_URL = "/v1/schemas/subject-export.json"
EXPORT_SCHEMA_FILE = Path(__file__).parent / "schemas" / "subject-export.schema.json"
AML_REASON = (
    "Identity check kept under anti-money-laundering law (GDPR art. 17(3)(b)); it survives "
    "an erasure request until its period ends."
)
REDACTED_REASON = (
    "Its personal features were erased; the decision itself (outcomes, rules, time) is kept "
    "as proof of what was decided (GDPR art. 17(3)(e))."
)
REVIEW_KEPT_REASON = (
    "Its statement, claimed corrections, explanations and notes were erased; that a person "
    "reviewed the decision, when, and each lender's verdict are kept with the decision as "
    "proof of what was decided (GDPR art. 22(3), 5(2), 17(3)(e))."
)
CASE_VIEW_REASON = (
    "The log of who viewed the case (accountability for access to personal data, GDPR art. "
    "5(2) and 32); it holds nothing about the person but the case, survives an erasure "
    "request, and goes when the application's retention period ends."
)
TEXTS_WITHHELD = (
    "The request was made by the applicant of the application: its free texts (statement, "
    "extension reason, explanations, notes) may hold the applicant's personal data and are "
    "given to the applicant only (GDPR art. 15(4)); ask the data-protection officer."
)
INTERNAL_NOTES_DECISION = (
    "Caseworkers' internal notes are included: the review screen never shows them to the "
    "applicant, but they are personal data about the person and the right of access covers "
    "them (GDPR art. 15; CJEU C-434/16 Nowak); they are erased with the request's content. "
    "On a shared application the free texts are given to its applicant only."
)
_APPLICANT_FEATURES = frozenset(
    {"age", "income", "employment", "employed_months", "citizenship", "years_in_country"}
)
_CO_APPLICANT_FEATURES = frozenset({"co_age", "co_income", "co_employment"})
_OTHER_PERSON = {"applicant": "co_applicant", "co_applicant": "applicant"}


def visible_features(features: dict[str, Any], role: str) -> dict[str, Any]:
    """The feature row without the other person's features (the household's stay)."""
    hidden = _CO_APPLICANT_FEATURES if role == "applicant" else _APPLICANT_FEATURES
    return {name: value for name, value in features.items() if name not in hidden}


@dataclass(frozen=True)
class SubjectContext:
    """What the category providers read: the person's applications and how to explain."""

    store: Store
    compiled: CompiledRulesets
    periods: RetentionPeriods
    links: tuple[SubjectLink, ...]
    histories: dict[str, list[StoredDecision]]
    language: Language
    now: datetime

    def held(self, application_id: str) -> HeldApplication:
        return held_application(application_id, self.histories[application_id])

    @property
    def roles(self) -> dict[str, str]:
        """The person's role (applicant, co_applicant) in each of their applications."""
        return roles_in(self.links)


def roles_in(links: Iterable[SubjectLink]) -> dict[str, str]:
    """Application id -> the person's role in it."""
    return {link.application_id: link.role for link in links}


def _application_data(context: SubjectContext) -> dict[str, Any]:
    items = []
    for link in context.links:
        payload = context.store.decisions.personal_data(link.application_id)
        if payload is None:
            continue
        payload.pop(_OTHER_PERSON[link.role], None)
        items.append(
            {
                "application_id": link.application_id,
                "role": link.role,
                "data": payload,
                "delete_on": context.periods.delete_on(context.held(link.application_id)),
            }
        )
    return {
        "category": "application_data",
        "purpose": "Matching the loan application with partner lenders and forwarding it.",
        "legal_basis": "GDPR art. 6(1)(b): steps at the applicant's request before a contract.",
        "items": items,
    }


_EXPLANATIONS = TypeAdapter(list[LenderExplanation])


def _explained(context: SubjectContext, stored: StoredDecision, role: str) -> list[Any]:
    """Every lender's outcome with its reasons, the other person's values left out; none if
    the decision's ruleset cannot be used (its outcomes are given all the same)."""
    try:
        ruleset = context.compiled.get(stored.ruleset_hash)
    except (SnapshotMissingError, SnapshotTamperedError, RulesetError):
        return []
    lenders: list[dict[str, Any]] = _EXPLANATIONS.dump_python(
        explain_stored(stored, ruleset, context.language), mode="json"
    )
    for lender in lenders:
        for reason in lender["reasons"]:
            reason["values"] = visible_features(reason["values"], role)
    return lenders


def _decisions(context: SubjectContext) -> dict[str, Any]:
    items = []
    for link in context.links:
        held = context.held(link.application_id)
        for stored in context.histories[link.application_id]:
            lenders = [] if stored.redacted else _explained(context, stored, link.role)
            items.append(
                {
                    "application_id": link.application_id,
                    "role": link.role,
                    "decision_id": stored.decision_id,
                    "decided_at": stored.decided_at,
                    "channel": stored.channel,
                    "ruleset_hash": stored.ruleset_hash,
                    "redacted": stored.redacted,
                    "features": visible_features(stored.features, link.role),
                    "lenders": lenders,
                    "outcomes": [
                        {"lender_id": lender, "eligible": not failed and not unknown}
                        for lender, failed, unknown in stored.outcomes
                    ],
                    "delete_on": None if stored.redacted else context.periods.delete_on(held),
                    "kept_because": REDACTED_REASON if stored.redacted else None,
                }
            )
    return {
        "category": "automated_decisions",
        "purpose": (
            "Automated eligibility decisions, their explanations, and the proof of what was "
            "decided under which rules (GDPR art. 22)."
        ),
        "legal_basis": (
            "GDPR art. 6(1)(b) and 6(1)(c); after an erasure the decision is kept without "
            "personal features for legal claims (art. 17(3)(e))."
        ),
        "items": items,
    }


def _corrections(context: SubjectContext) -> dict[str, Any]:
    roles = context.roles
    items = [
        {
            "application_id": correction.application_id,
            "role": roles[correction.application_id],
            "recorded_at": correction.recorded_at,
            "corrections": correction.corrections,
            "delete_on": context.periods.delete_on(context.held(correction.application_id)),
        }
        for correction in context.store.subjects.corrections(list(roles))
    ]
    return {
        "category": "rectifications",
        "purpose": "Corrections of personal details asked for by the person (GDPR art. 16).",
        "legal_basis": "GDPR art. 6(1)(c): a legal obligation.",
        "items": items,
    }


def _identity_checks(context: SubjectContext) -> dict[str, Any]:
    mine = {(link.application_id, link.role) for link in context.links}
    items = [
        {
            "application_id": check.application_id,
            "role": check.role,
            "checked_at": check.checked_at,
            "identity": check.identity,
            "reason": AML_REASON,
            "delete_on": check.keep_until,
        }
        for check in context.store.subjects.identity_checks([a for a, _ in mine])
        if (check.application_id, check.role) in mine
    ]
    return {
        "category": "identity_checks",
        "purpose": "Customer due diligence under anti-money-laundering law.",
        "legal_basis": "GDPR art. 6(1)(c); anti-money-laundering law (at least 5 years).",
        "items": items,
    }


def _review_requests(context: SubjectContext) -> dict[str, Any]:
    roles = context.roles
    requests = context.store.reviews.of_applications(list(roles))
    histories = context.store.reviews.histories([r.request_id for r in requests])
    items = []
    for request in requests:
        role = roles[request.application_id]
        own_words = role == "applicant"  # free texts: the applicant's (TEXTS_WITHHELD)
        shown = own_words and not request.erased
        items.append(
            {
                "application_id": request.application_id,
                "role": role,
                "request_id": request.request_id,
                "received_at": request.received_at,
                "status": request.status,
                "withdrawn_reason": request.withdrawn_reason,
                "due_at": request.due_at,
                "extension_reason": request.extension_reason if own_words else None,
                "statement": request.statement if shown else None,
                "withheld": None if own_words else TEXTS_WITHHELD,
                "claimed_corrections": visible_features(request.corrections, role),
                "decided_at": request.decided_at,
                "decided_by": request.decided_by,
                "manual_decision_id": request.manual_decision_id,
                "lenders": [
                    {
                        "lender_id": lender.lender_id,
                        "verdict": lender.verdict,
                        "explanation": lender.explanation if own_words else None,
                        "internal_note": lender.note if own_words else None,
                    }
                    for lender in request.lenders
                ],
                "history": [
                    {
                        "at": event.at,
                        "actor": event.actor,
                        "what": event.what if own_words else without_free_text(event.what),
                    }
                    for event in histories[request.request_id]
                ],
                "erased": request.erased,
                "delete_on": None
                if request.erased
                else context.periods.delete_on(context.held(request.application_id)),
                "kept_because": REVIEW_KEPT_REASON if request.erased else None,
            }
        )
    return {
        "category": "review_requests",
        "purpose": (
            "The person's requests for a human to look at an automated decision again: their "
            "statement, the lenders contested, the corrections claimed, the due dates, and "
            "each lender's verdict with the caseworker's explanation. " + INTERNAL_NOTES_DECISION
        ),
        "legal_basis": (
            "GDPR art. 22(3) and 6(1)(c); after an erasure or the retention period the record "
            "that a review happened and its verdicts are kept without personal content "
            "(art. 5(2), 17(3)(e))."
        ),
        "items": items,
    }


def _case_views(context: SubjectContext) -> dict[str, Any]:
    roles = context.roles
    items = [
        {
            "application_id": view.application_id,
            "role": roles[view.application_id],
            "request_id": view.request_id,
            "viewed_at": view.at,
            "viewer": view.viewer,
            "delete_on": context.periods.delete_on(context.held(view.application_id)),
            "kept_because": CASE_VIEW_REASON,
        }
        for view in context.store.reviews.views_of(list(roles))
    ]
    return {
        "category": "case_views",
        "purpose": "Who at the broker viewed the person's review case, and when.",
        "legal_basis": (
            "GDPR art. 6(1)(c) with art. 5(2) and 32: the log of access to personal data."
        ),
        "items": items,
    }


CategoryProvider = Callable[[SubjectContext], dict[str, Any]]
CATEGORY_PROVIDERS: tuple[CategoryProvider, ...] = (
    _application_data,
    _decisions,
    _corrections,
    _identity_checks,
    _review_requests,
    _case_views,
)
"""One function per category of data held about a person; the export lists them in order."""


def _context(
    store: Store,
    compiled: CompiledRulesets,
    periods: RetentionPeriods,
    national_id: str,
    now: datetime,
    language: Language = "en",
) -> tuple[str, SubjectContext]:
    number = normalised(national_id)
    links = tuple(store.subjects.links(number)) if number is not None else ()
    if number is None or not links:
        raise SubjectNotFoundError()
    histories = {
        link.application_id: store.decisions.history(link.application_id) for link in links
    }
    return number, SubjectContext(store, compiled, periods, links, histories, language, now)


def export(
    store: Store,
    compiled: CompiledRulesets,
    periods: RetentionPeriods,
    national_id: str,
    *,
    now: datetime,
    language: Language = "en",
) -> dict[str, Any]:
    """Everything held about the person, as one document (see the module doc); the export
    is recorded (no personal data)."""
    number, context = _context(store, compiled, periods, national_id, now, language)
    restriction = store.subjects.restriction(number)
    document = {
        "schema": EXPORT_SCHEMA_URL,
        "generated_at": now,
        "subject": {"national_id": number},
        "restriction": None
        if restriction is None
        else {"restricted_at": restriction.restricted_at, "reason": restriction.reason},
        "categories": [provider(context) for provider in CATEGORY_PROVIDERS],
    }
    store.subjects.record_request("export", {"applications": len(context.links)}, now)
    return document


def rectify(
    store: Store,
    national_id: str,
    corrections: dict[str, Any],
    *,
    now: datetime,
) -> list[str]:
    """Record corrected personal details (`name`, `email`, `phone`) on each of the person's
    applications still holding data; decisions are not rewritten. Returns the applications
    the correction was recorded on."""
    number = normalised(national_id)
    links = store.subjects.links(number) if number is not None else []
    if not links:
        raise SubjectNotFoundError()
    corrected = []
    for link in links:
        if store.decisions.personal_data(link.application_id) is None:
            continue
        store.subjects.correct(link.application_id, {link.role: corrections}, now)
        corrected.append(link.application_id)
    store.subjects.record_request(
        "rectification", {"applications": len(corrected), "fields": sorted(corrections)}, now
    )
    return corrected


def erase(
    store: Store, periods: RetentionPeriods, national_id: str, *, reason: str, now: datetime
) -> dict[str, Any]:
    """Erase what no legal duty keeps; answer what was erased and what was kept (and why,
    and until when)."""
    number = normalised(national_id)
    links = store.subjects.links(number) if number is not None else []
    if not links:
        raise SubjectNotFoundError()
    application_ids = list(dict.fromkeys(link.application_id for link in links))
    held = [held_application(a, store.decisions.history(a)) for a in application_ids]
    erased = erase_applications(
        store, held, reason=reason, withdrawn="erasure", now=now, periods=periods
    )
    mine = {(link.application_id, link.role) for link in links}
    kept = [
        {
            "category": "identity_checks",
            "application_id": check.application_id,
            "role": check.role,
            "reason": AML_REASON,
            "delete_on": check.keep_until,
        }
        for check in store.subjects.identity_checks(application_ids)
        if (check.application_id, check.role) in mine
    ]
    checks_kept = len(kept)
    roles = roles_in(links)
    kept += [
        {
            "category": "review_requests",
            "application_id": request.application_id,
            "role": roles[request.application_id],
            "request_id": request.request_id,
            "reason": REVIEW_KEPT_REASON,
            "delete_on": None,
        }
        for request in store.reviews.of_applications(application_ids)
    ]
    delete_on = {item.application_id: periods.delete_on(item) for item in held}
    kept += [
        {
            "category": "case_views",
            "application_id": view.application_id,
            "role": roles[view.application_id],
            "request_id": view.request_id,
            "reason": CASE_VIEW_REASON,
            "delete_on": delete_on[view.application_id],
        }
        for view in store.reviews.views_of(application_ids)
    ]
    answer = {
        "erased": [
            {
                "application_id": item.application_id,
                "personal_data": item.payload,
                "decision_features_redacted": item.records_redacted,
                "rectifications": item.corrections,
                "review_requests": item.review_requests,
                "review_requests_withdrawn": list(item.review_requests_withdrawn),
            }
            for item in erased
        ],
        "kept": kept,
    }
    store.subjects.record_request(
        "erasure",
        {
            "applications": len(erased),
            "records_redacted": sum(item.records_redacted for item in erased),
            "review_requests_erased": sum(item.review_requests for item in erased),
            "review_requests_withdrawn": sum(
                len(item.review_requests_withdrawn) for item in erased
            ),
            "identity_checks_kept": checks_kept,
        },
        now,
    )
    return answer


def restrict(store: Store, national_id: str, *, reason: str, now: datetime) -> bool:
    """Restrict processing of the person's applications; False if already restricted."""
    number = normalised(national_id)
    if number is None or not store.subjects.links(number):
        raise SubjectNotFoundError()
    done = store.subjects.restrict(number, reason=reason, now=now)
    store.subjects.record_request("restriction", {"restricted": done}, now)
    return done


def lift_restriction(store: Store, national_id: str, *, now: datetime) -> bool:
    """Lift the restriction; False if there was none."""
    number = normalised(national_id)
    if number is None or not store.subjects.links(number):
        raise SubjectNotFoundError()
    done = store.subjects.lift(number)
    store.subjects.record_request("restriction_lifted", {"lifted": done}, now)
    return done
