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

**Erasure** erases every application of the person (`broker.erasure`), keeps the identity
checks anti-money-laundering law requires, with the reason and the date they go, records the
erasure (counts, no personal data) and answers what was erased and what was kept.

**Restriction** is stored per person; `broker.restrictions` is the one check every later use
goes through.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from audit import HeldApplication, Store, StoredDecision, SubjectLink
from broker.decisions import explain_stored
from broker.erasure import erase_applications
from broker.errors import SnapshotMissingError, SnapshotTamperedError, SubjectNotFoundError
from broker.retention import RetentionPeriods
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


def held_application(application_id: str, history: Sequence[StoredDecision]) -> HeldApplication:
    """An application's retention view from its decisions (oldest first)."""
    last = history[-1]
    return HeldApplication(
        application_id=application_id,
        first_decided_at=history[0].decided_at,
        last_decided_at=last.decided_at,
        accepted=any(not failed and not unknown for _, failed, unknown in last.outcomes),
    )


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
    roles = {link.application_id: link.role for link in context.links}
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


CategoryProvider = Callable[[SubjectContext], dict[str, Any]]
CATEGORY_PROVIDERS: tuple[CategoryProvider, ...] = (
    _application_data,
    _decisions,
    _corrections,
    _identity_checks,
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
    erased = erase_applications(store, held, reason=reason, now=now, periods=periods)
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
    answer = {
        "erased": [
            {
                "application_id": item.application_id,
                "personal_data": item.payload,
                "decision_features_redacted": item.records_redacted,
                "rectifications": item.corrections,
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
            "identity_checks_kept": len(kept),
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
