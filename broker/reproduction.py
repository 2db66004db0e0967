"""Reproduce stored decisions: each stored feature row evaluated again under the ruleset
snapshot stored for its hash must give exactly the stored failed and unknown bitmasks.

A manual decision (channel `manual`, `broker.manual_decisions`) is checked further against
the automated decision it reviews: that decision is stored, on the same application, under
the same ruleset; its features with the recorded corrections applied are the manual
decision's features; and every verdict names a lender that decision rejected."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from audit import Store, StoredDecision
from broker.errors import SnapshotMissingError, SnapshotTamperedError
from broker.manual_decisions import verdicts_of
from broker.rulesets import CompiledRulesets
from lender_rules.errors import RulesetError
from matcher import FeatureRowError, Ruleset, evaluate, with_corrections


@dataclass(frozen=True)
class Reproduction:
    """One stored decision re-evaluated: `problem` is None when it reproduces (or when it is
    redacted: its features were erased, so it is skipped)."""

    stored: StoredDecision
    problem: str | None

    @property
    def redacted(self) -> bool:
        return self.stored.redacted

    @property
    def ok(self) -> bool:
        return self.problem is None


def reproduce(store: Store, compiled: CompiledRulesets | None = None) -> Iterator[Reproduction]:
    """Every stored decision in chain order, re-evaluated (streamed; `StoreUnavailable` if the
    store fails on the way)."""
    compiled = compiled if compiled is not None else CompiledRulesets(store)
    broken: dict[str, str] = {}  # ruleset hash -> why it cannot be used
    for stored in store.decisions.stream():
        if stored.redacted:
            yield Reproduction(stored, None)
            continue
        problem = broken.get(stored.ruleset_hash)
        if problem is None:
            try:
                problem = difference(stored, compiled.get(stored.ruleset_hash))
            except SnapshotMissingError:
                problem = broken[stored.ruleset_hash] = "its ruleset snapshot is not stored"
            except SnapshotTamperedError:
                problem = broken[stored.ruleset_hash] = (
                    "its stored ruleset snapshot was changed (it does not match its hash)"
                )
            except RulesetError as error:
                problem = broken[stored.ruleset_hash] = f"its ruleset does not load: {error}"
        if problem is None and stored.channel == "manual":
            problem = review_difference(stored, store.decisions.find(_reviewed(stored)))
        yield Reproduction(stored, problem)


def _reviewed(manual: StoredDecision) -> str:
    return str((manual.review or {}).get("reviews", ""))


def review_difference(manual: StoredDecision, automated: StoredDecision | None) -> str | None:
    """None if a manual decision agrees with the automated decision it reviews, else what
    does not."""
    if manual.review is None:
        return "a manual decision without its review part"
    if automated is None:
        return f"the decision it reviews ({_reviewed(manual)}) is not stored"
    if (automated.application_id, automated.ruleset_hash) != (
        manual.application_id,
        manual.ruleset_hash,
    ):
        return "the decision it reviews is of another application or ruleset"
    try:
        corrected = with_corrections(automated.features, manual.review.get("corrections", {}))
    except FeatureRowError as error:
        return f"its recorded corrections do not apply: {error}"
    if corrected != manual.features:
        return "its features are not the reviewed decision's with the recorded corrections"
    rejected = {lender for lender, failed, unknown in automated.outcomes if failed or unknown}
    stray = sorted(set(verdicts_of(manual)) - rejected)
    if stray:
        return f"verdicts on lenders the reviewed decision did not reject: {', '.join(stray)}"
    return None


def difference(stored: StoredDecision, ruleset: Ruleset) -> str | None:
    """None if re-evaluating the stored features gives the stored bitmasks, else what differs."""
    again = evaluate(stored.features, ruleset)
    want = {lender: (failed, unknown) for lender, failed, unknown in stored.outcomes}
    got = {o.lender_id: (o.failed, o.unknown) for o in again}
    if want == got:
        return None
    return "; ".join(
        f"{lender}: stored {want.get(lender)}, now {got.get(lender)}"
        for lender in sorted(want.keys() | got.keys())
        if want.get(lender) != got.get(lender)
    )
