"""Decide and record: one application decided under the rules in force, stored, explained.

The store commits a decision before anyone is told of it; every answer is built from what the
store holds after the commit (ids, decided_at, features, bitmasks, ruleset hash), so a retry
gets the first answer and a stored decision is explained the same way later, under the ruleset
it was made with (not the one active then).

Idempotency: a caller may give an idempotency key with the request. The store compares the
request digests under its chain lock: the same key with the same application (equal as data)
makes no second decision and returns the stored one (`replayed`); the same key with another
application raises `audit.IdempotencyConflict`. Keys are scoped per client: the same key
from another client is another request.

Clients: each decision records the client that asked; `stored_decision` with a client finds
only that client's decisions (another client's application is not found).

Reviews: `stored_decision` reads the latest automated decision and the lenders manual
reviews overrode since (`overridden`, from the manual decisions in the log,
`broker.manual_decisions`): an overridden lender counts as eligible from then on. The
automated decision itself is never changed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import matcher
from audit import DEFAULT_CLIENT, CanonicalText, Store, StoredDecision, time_ordered_id
from broker.errors import DecisionNotFoundError
from broker.manual_decisions import overridden_lenders
from broker.restrictions import ensure_unrestricted
from broker.rulesets import CompiledRulesets, RulesInForce
from broker.subject_ids import people
from lender_rules.canonical import canonical_json, digest, sha256_hex
from lender_rules.vocabulary import Channel, Language
from matcher import (
    Application,
    Decision,
    LenderExplanation,
    LenderOutcome,
    Ruleset,
    decide,
)


@dataclass(frozen=True)
class RecordedDecision:
    """A decision as stored, with the ruleset it was made under.

    `decision` is the matcher's fresh decision, or None when this is the stored answer to an
    earlier request with the same idempotency key (`replayed`).
    """

    stored: StoredDecision
    ruleset: Ruleset
    decision: Decision | None
    overridden: frozenset[str] = frozenset()  # lenders a manual review made eligible

    @property
    def replayed(self) -> bool:
        return self.decision is None

    def explain(self, language: Language) -> list[LenderExplanation]:
        """Every lender's outcome with reasons, values, thresholds and hints."""
        return explain_stored(self.stored, self.ruleset, language)


def request_digest(application: Application) -> str:
    """SHA-256 of the application as canonical JSON: equal data, equal digest."""
    return digest(application.model_dump(mode="json"))


def _append(
    application: Application,
    decision: Decision,
    channel: Channel,
    idempotency_key: str | None,
    client: str,
) -> dict[str, Any]:
    """The arguments of `DecisionLog.record` / `record_future` for a new decision: a new
    application id, the application serialised once (its canonical text is the personal
    payload, and its SHA-256 the request digest: `request_digest(application)`) and its
    people."""
    personal = canonical_json(application.model_dump(mode="json"))
    return {
        "application_id": time_ordered_id(),
        "channel": channel,
        "decision": decision,
        "personal": CanonicalText(personal),
        "idempotency_key": idempotency_key,
        "request_digest": sha256_hex(personal),
        "client": client,
        "subjects": people(application, decision.decided_at.date()),
    }


def decide_and_record(
    store: Store,
    rules: RulesInForce,
    application: Application,
    *,
    channel: Channel = "api",
    idempotency_key: str | None = None,
    client: str = DEFAULT_CLIENT,
) -> RecordedDecision:
    """Decide `application` for every lender of its market and store it durably as a
    decision of `client` (an idempotency key is `client`'s own).

    Raises `NoActiveRulesetError`, `audit.StoreUnavailable` (nothing decided), or
    `audit.IdempotencyConflict` (the key was used with another application).
    """
    ruleset = rules.now()
    decision = decide(application, ruleset)
    append = _append(application, decision, channel, idempotency_key, client)
    stored = store.decisions.record(**append)
    if stored.application_id != append["application_id"]:
        # The key was used before with this application: the first decision stands.
        return RecordedDecision(stored, rules.by_hash(stored.ruleset_hash), None)
    return RecordedDecision(stored, ruleset, decision)


async def decide_and_record_async(
    store: Store,
    rules: RulesInForce,
    application: Application,
    *,
    channel: Channel = "api",
    idempotency_key: str | None = None,
    client: str = DEFAULT_CLIENT,
) -> RecordedDecision:
    """`decide_and_record` for an event loop: the decision (tens of microseconds) is made on
    the loop, the commit awaited without parking a thread (`DecisionLog.record_future`: the
    group commit's writer thread commits it, with every other append queued meanwhile). Only
    what may touch the store besides the append (a due refresh of the rules in force, the
    ruleset of a replayed decision) runs in a thread. Same guarantees, same errors."""
    ready = rules.ready()
    ruleset = ready if ready is not None else await asyncio.to_thread(rules.now)
    decision = decide(application, ruleset)
    append = _append(application, decision, channel, idempotency_key, client)
    stored = await asyncio.wrap_future(store.decisions.record_future(**append))
    if stored.application_id != append["application_id"]:
        replayed = await asyncio.to_thread(rules.by_hash, stored.ruleset_hash)
        return RecordedDecision(stored, replayed, None)
    return RecordedDecision(stored, ruleset, decision)


def stored_decision(
    store: Store, compiled: CompiledRulesets, application_id: str, *, client: str | None = None
) -> RecordedDecision:
    """The latest stored automated decision on an application, with the ruleset it was made
    under and the lenders manual reviews overrode; with `client`, only a decision that client
    asked for. `DecisionNotFoundError` if there is none (also when the application is another
    client's: its existence is not disclosed). Asked for a client (outside the case),
    `ProcessingRestrictedError` while a person on the application has restricted its
    processing (`broker.restrictions`)."""
    stored = store.decisions.latest(application_id, client=client, automated=True)
    if stored is None:
        raise DecisionNotFoundError(application_id)
    if client is not None:
        ensure_unrestricted(store, application_id)
    overridden = overridden_lenders(store.reviews.manual_decisions(application_id))
    return RecordedDecision(stored, compiled.get(stored.ruleset_hash), None, overridden)


def explain_stored(
    stored: StoredDecision, ruleset: Ruleset, language: Language
) -> list[LenderExplanation]:
    """A stored decision explained from its stored features and bitmasks under `ruleset`."""
    outcomes = tuple(
        LenderOutcome(lender_id, failed, unknown) for lender_id, failed, unknown in stored.outcomes
    )
    return matcher.explain(stored.features, outcomes, ruleset, lang=language)
