"""The rules decisions are made with: compiled rulesets by hash, and the rules in force today.

`CompiledRulesets` compiles a stored snapshot once and keeps the most recently used ones (a
stored decision is explained and reproduced under the ruleset it names, however old).
`RulesInForce` answers "which rules decide now?": for each lender of the active ruleset, the
newest activated version whose `effective_from` has come (`matcher.in_force`). When that
composition differs from the active ruleset it is saved under its own hash, so the decisions
made with it can be explained and reproduced later.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from audit import SnapshotMismatch, Store
from broker.errors import NoActiveRulesetError, SnapshotMissingError, SnapshotTamperedError
from matcher import Ruleset, in_force, ruleset_from_snapshot


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


class CompiledRulesets:
    """Compiled rulesets by hash, from the store's snapshots; at most `capacity` are kept
    (least recently used out first), so a job reading many historical rulesets stays bounded.
    """

    def __init__(self, store: Store, *, capacity: int = 32) -> None:
        self._store = store
        self._capacity = capacity
        self._lock = threading.Lock()
        self._by_hash: OrderedDict[str, Ruleset] = OrderedDict()

    def get(self, ruleset_hash: str) -> Ruleset:
        """The ruleset with this hash: `SnapshotMissingError` if the store has no snapshot of it,
        `SnapshotTamperedError` if its stored snapshot no longer hashes to it, `RulesetError`
        if its snapshot no longer compiles."""
        with self._lock:
            ruleset = self._by_hash.get(ruleset_hash)
            if ruleset is not None:
                self._by_hash.move_to_end(ruleset_hash)
                return ruleset
        try:
            snapshot = self._store.rulesets.snapshot(ruleset_hash)
        except SnapshotMismatch as error:
            raise SnapshotTamperedError(ruleset_hash) from error
        if snapshot is None:
            raise SnapshotMissingError(ruleset_hash)
        ruleset = ruleset_from_snapshot(snapshot)
        if ruleset.hash != ruleset_hash:  # the text hashed right but is not canonical
            raise SnapshotTamperedError(ruleset_hash)
        self.remember(ruleset)
        return ruleset

    def remember(self, ruleset: Ruleset) -> None:
        """Keep a ruleset compiled here (it was just activated or composed)."""
        with self._lock:
            self._by_hash[ruleset.hash] = ruleset
            self._by_hash.move_to_end(ruleset.hash)
            while len(self._by_hash) > self._capacity:
                self._by_hash.popitem(last=False)

    def __len__(self) -> int:
        return len(self._by_hash)


class RulesInForce:
    """The ruleset decisions are made with now, refreshed from the store.

    The active ruleset is asked of the store again once it is older than `refresh_seconds`, so
    a ruleset activated elsewhere (the CLI, another worker) takes over without a restart.
    """

    def __init__(
        self,
        store: Store,
        *,
        refresh_seconds: float,
        compiled: CompiledRulesets | None = None,
        today: Callable[[], dt.date] = _today,
    ) -> None:
        self._store = store
        self._refresh_seconds = refresh_seconds
        self.compiled = compiled if compiled is not None else CompiledRulesets(store)
        self._today = today
        self._lock = threading.Lock()
        self._active_hash: str | None = None
        self._checked_at = float("-inf")
        self._in_force: tuple[str, dt.date, Ruleset] | None = None

    def now(self) -> Ruleset:
        """The ruleset decisions are made with today; `NoActiveRulesetError` when none is active."""
        if time.monotonic() - self._checked_at >= self._refresh_seconds:
            self._refresh()
        active_hash = self._active_hash
        if active_hash is None:
            raise NoActiveRulesetError()
        today = self._today()
        cached = self._in_force
        if cached is not None and cached[:2] == (active_hash, today):
            return cached[2]
        ruleset = self._compose(active_hash, today)
        self._in_force = (active_hash, today, ruleset)
        return ruleset

    def ready(self) -> Ruleset | None:
        """What `now` would return when that needs no store access and no compiling (for an
        event loop, which must not block); None when `now` has work to do."""
        if time.monotonic() - self._checked_at >= self._refresh_seconds:
            return None
        cached = self._in_force
        if cached is None or cached[:2] != (self._active_hash, self._today()):
            return None
        return cached[2]

    def active_hash(self) -> str | None:
        """The hash of the active ruleset as the store has it now (asks the store)."""
        self._refresh()
        return self._active_hash

    def by_hash(self, ruleset_hash: str) -> Ruleset:
        """The compiled ruleset with this hash (see `CompiledRulesets.get`)."""
        return self.compiled.get(ruleset_hash)

    def activate(self, ruleset: Ruleset) -> None:
        """Snapshot and activate `ruleset` in the store, then use it at once here."""
        self._store.rulesets.activate(ruleset)
        self.compiled.remember(ruleset)
        with self._lock:
            self._active_hash = ruleset.hash
            self._checked_at = time.monotonic()

    def _compose(self, active_hash: str, today: dt.date) -> Ruleset:
        active = self.compiled.get(active_hash)
        if all(
            lender.effective_from is None or lender.effective_from <= today
            for lender in active.lenders
        ):
            return active
        history = self._store.rulesets.activation_history()
        # each ruleset once, at its latest activation, oldest first
        order = list(dict.fromkeys(reversed(history)))[::-1]
        ruleset = in_force([self.compiled.get(h) for h in order], today)
        if ruleset.hash != active.hash:
            self._store.rulesets.save(ruleset)
            self.compiled.remember(ruleset)
        return ruleset

    def _refresh(self) -> None:
        version = self._store.rulesets.active()
        with self._lock:
            self._active_hash = None if version is None else version.hash
            self._checked_at = time.monotonic()


ACTIVE = "active"
"""The reference to the active ruleset in `stored_ruleset`."""


def stored_ruleset(store: Store, reference: str) -> Ruleset:
    """The stored ruleset `reference` names: `ACTIVE`, a hash, or a prefix of exactly one hash.

    `NoActiveRulesetError` when `ACTIVE` is asked and none is; `SnapshotMissingError` when no
    stored ruleset (or more than one) matches."""
    if reference == ACTIVE:
        version = store.rulesets.active()
        if version is None:
            raise NoActiveRulesetError()
        reference = version.hash
    matches = [v.hash for v in store.rulesets.versions() if v.hash.startswith(reference)]
    if len(matches) != 1:
        raise SnapshotMissingError(reference)
    return CompiledRulesets(store).get(matches[0])
