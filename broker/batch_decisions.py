"""Recording re-scored applications as automated decisions (channel `batch`), resumably.

`rescore --apply` hands each chunk's feature rows and changes to a `BatchRecorder`, which
records a decision under the new ruleset for each application whose outcome changed (or every
application, with `everything`). The rows to record are matched together on the batch path
(`matcher.match`, which gives the single-application path's bitmasks for every row the
feature contract allows: an invariant with its property tests), so what is stored
reproduces under the stored ruleset (`lendmatch audit reproduce`, which re-evaluates on the
single path); each outcome lists the lenders of the row's market in ruleset order, as
`matcher.evaluate` does. The ruleset's snapshot is saved before the first record.

Resuming: records are committed `per_transaction` at a time (`DecisionLog.record_many`), each
transaction a checkpoint. Before recording a chunk the recorder asks the store which of its
applications already have a batch decision under the new ruleset hash and skips them, so a
run killed at any point and started again records every application exactly once.

Restricted applications (a person on them restricted processing, `broker.restrictions`) are
not re-scored: they are skipped and counted in `restricted`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import polars as pl

from audit import Store
from broker.restrictions import restricted
from lender_rules.vocabulary import Channel
from matcher import FEATURE_NAMES, Decision, LenderOutcome, Ruleset, match

CHANNEL: Channel = "batch"
PER_TRANSACTION = 500


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class BatchRecorder:
    """Records the decisions of a re-scoring run under `ruleset`; `recorded` counts them."""

    def __init__(
        self,
        store: Store,
        ruleset: Ruleset,
        *,
        everything: bool = False,
        per_transaction: int = PER_TRANSACTION,
        clock: Callable[[], dt.datetime] = _now,
    ) -> None:
        self._store = store
        self._ruleset = ruleset
        self._everything = everything
        self._per_transaction = per_transaction
        self._clock = clock
        self._saved = False
        self.recorded = 0
        self.skipped = 0
        self.restricted = 0  # applications skipped because their processing is restricted

    def __call__(self, features: pl.DataFrame, changes: pl.DataFrame) -> None:
        """Record the applications of one chunk: `features` (with `application_id`) are its
        scored rows, `changes` its changed (application, lender) pairs."""
        if self._everything:
            wanted = features
        else:
            changed = changes.get_column("application_id").unique()
            wanted = features.filter(pl.col("application_id").is_in(changed.implode()))
        if wanted.is_empty():
            return
        if not self._saved:
            self._store.rulesets.save(self._ruleset)
            self._saved = True
        ids = wanted.get_column("application_id").to_list()
        done = self._store.decisions.decided_under(self._ruleset.hash, CHANNEL, ids)
        self.skipped += len(done)
        blocked = restricted(self._store, ids) - done
        self.restricted += len(blocked)
        done |= blocked
        if done:
            wanted = wanted.filter(~pl.col("application_id").is_in(pl.Series(list(done))))
        rows = wanted.select("application_id", *FEATURE_NAMES).to_dicts()
        bits = match(wanted.select(FEATURE_NAMES), self._ruleset)
        lenders = [
            (
                lender.lender_id,
                bits.get_column(f"{lender.lender_id}.failed").to_list(),
                bits.get_column(f"{lender.lender_id}.unknown").to_list(),
            )
            for lender in self._ruleset.lenders
        ]
        decided_at = self._clock()
        decisions = (
            (
                row.pop("application_id"),
                Decision(
                    self._ruleset.hash,
                    decided_at,
                    row,
                    tuple(
                        LenderOutcome(lender_id, int(failed[i]), int(unknown[i]))
                        for lender_id, failed, unknown in lenders
                        if failed[i] is not None
                    ),
                ),
            )
            for i, row in enumerate(rows)
        )
        self.recorded += self._store.decisions.record_many(
            channel=CHANNEL, decisions=decisions, chunk=self._per_transaction
        )
