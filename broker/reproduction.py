"""Reproduce stored decisions: each stored feature row evaluated again under the ruleset
snapshot stored for its hash must give exactly the stored failed and unknown bitmasks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from audit import Store, StoredDecision
from broker.errors import SnapshotMissingError, SnapshotTamperedError
from broker.rulesets import CompiledRulesets
from lender_rules.errors import RulesetError
from matcher import Ruleset, evaluate


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
        yield Reproduction(stored, problem)


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
