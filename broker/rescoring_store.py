"""Re-scoring the applications of the decision store (`rescore --from-db`).

The applications are those with a decision in the store: per application its latest
decision, whose stored feature row is scored again. They are read in pages of `chunk_rows`
in chain order (`DecisionLog.latest_page`: keyset pagination on `seq`, never OFFSET), up to
the chain head seen when the run started, so decisions recorded while it runs (`--apply`)
change nothing it reads and memory stays bounded by a page. `since` keeps the applications
whose latest decision was made on or after a day; `lender_id` those whose latest decision
evaluated that lender.

The baseline is either a ruleset, evaluated on the stored features like any input, or the
stored decisions themselves (`baseline=None`): the before-side is each application's stored
outcome under its own ruleset (no re-evaluation; the failed and unknown requirement ids read
from that ruleset's snapshot). A page then is compared once per stored ruleset it holds, and
the impact names the stored ruleset of the most applications as its baseline, listing all.

Stored feature rows are checked against the feature contract like any feature input
(`batch_input.validate_features`); a row that fails goes to the rejects, its row number being
its position in the run. Everything else (outputs, `--strict`, recording) is the file path's
(`broker.rescoring.Outputs`).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import polars as pl

from audit import Store, StoredDecision
from broker.batch import CHUNK_ROWS
from broker.batch_input import APPLICATION_ID, ROW, validate_features
from broker.rescoring import (
    CHANGES_SCHEMA,
    Comparison,
    Impact,
    LenderCounts,
    Outputs,
    Recorder,
    ScoredChunk,
    compare,
)
from broker.ruleset_diff import diff_rulesets
from broker.rulesets import CompiledRulesets
from matcher import FEATURE_NAMES, Ruleset, polars_schema

SOURCE = "the decision store"
"""How errors name this input."""
_RULESET = "__ruleset_hash"
_SEQ = "__seq"


def rescore_store(
    store: Store,
    new: Ruleset,
    baseline: Ruleset | None,
    *,
    on: dt.date,
    out: Path,
    since: dt.date | None = None,
    lender_id: str | None = None,
    strict: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int], None] = lambda rows: None,
    record: Recorder | None = None,
) -> Impact:
    """Re-score the store's applications (each one's latest decision, filtered by `since`
    and `lender_id`) under `new` against `baseline` (None: their stored decisions), and write
    the outputs of `broker.rescoring.rescore_file` into `out`. `SnapshotMissingError` or
    `SnapshotTamperedError` when a stored decision's ruleset cannot be had."""
    compiled = CompiledRulesets(store)
    impact = Impact(new.hash, new.hash, on, [])
    if baseline is not None:
        impact.baseline_hash = baseline.hash
        impact.rules_diff = diff_rulesets(baseline, new).sentences()
    used: Counter[str] = Counter()
    with Outputs(out, SOURCE, strict=strict, progress=progress, record=record) as outputs:
        start = 0
        for page in pages(store, since=since, lender_id=lender_id, chunk_rows=chunk_rows):
            scored, rulesets = _score_page(page, start, new, baseline, compiled)
            used.update(rulesets)
            outputs.add(scored, impact)
            start += len(page)
        if baseline is None and used:
            main = min(used, key=lambda h: (-used[h], h))
            impact.baseline_hash = main
            impact.rules_diff = diff_rulesets(compiled.get(main), new).sentences()
            impact.baseline_rulesets = dict(used)
        outputs.finish(impact)
    return impact


def count_applications(
    store: Store, *, since: dt.date | None = None, lender_id: str | None = None
) -> int:
    """How many applications `rescore_store` would score now with these filters."""
    return store.decisions.count_latest(
        until_seq=_head_seq(store), since=_start_of(since), lender_id=lender_id
    )


def pages(
    store: Store,
    *,
    since: dt.date | None = None,
    lender_id: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[list[StoredDecision]]:
    """The applications' latest decisions, `chunk_rows` at a time, in chain order, up to the
    chain head of now."""
    until = _head_seq(store)
    after = 0
    while True:
        page = store.decisions.latest_page(
            after_seq=after,
            until_seq=until,
            limit=chunk_rows,
            since=_start_of(since),
            lender_id=lender_id,
        )
        if not page:
            return
        yield page
        after = page[-1].seq


def _head_seq(store: Store) -> int:
    return int(store.decisions.head().split(":", 1)[0])


def _start_of(day: dt.date | None) -> dt.datetime | None:
    return None if day is None else dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _score_page(
    page: Sequence[StoredDecision],
    start: int,
    new: Ruleset,
    baseline: Ruleset | None,
    compiled: CompiledRulesets,
) -> tuple[ScoredChunk, Counter[str]]:
    """One page scored: its stored feature rows checked, then compared with the baseline
    ruleset, or per stored ruleset with the stored outcomes (then also: how many valid rows
    each stored ruleset had)."""
    frame = pl.from_dicts(
        [d.features for d in page], schema=polars_schema(), strict=False
    ).with_columns(
        pl.Series(APPLICATION_ID, [d.application_id for d in page], dtype=pl.String),
        pl.Series(_RULESET, [d.ruleset_hash for d in page], dtype=pl.String),
        pl.Series(_SEQ, [d.seq for d in page], dtype=pl.Int64),
        pl.int_range(start, start + len(page), dtype=pl.UInt64).alias(ROW),
    )
    allowed = validate_features(frame)
    valid = allowed.valid
    used: Counter[str] = Counter()
    if baseline is not None:
        comparison = compare(valid.select(APPLICATION_ID, *FEATURE_NAMES), new, baseline)
    else:
        outcomes = {d.seq: d.outcomes for d in page}
        parts = []
        for (ruleset_hash,), rows in valid.group_by(_RULESET, maintain_order=True):
            stored = compiled.get(str(ruleset_hash))
            bits = _stored_bits(rows, [outcomes[seq] for seq in rows[_SEQ]], stored)
            parts.append(compare(rows.select(APPLICATION_ID, *FEATURE_NAMES), new, stored, bits))
            used[stored.hash] += rows.height
        comparison = _summed(parts)
    scored = valid.drop(ROW, _SEQ, _RULESET)
    return ScoredChunk(start, len(page), scored, comparison, allowed.rejects), used


def _stored_bits(
    rows: pl.DataFrame,
    outcomes: Sequence[tuple[tuple[str, int, int], ...]],
    ruleset: Ruleset,
) -> pl.DataFrame:
    """The stored bitmasks of `rows` as `matcher.match` gives them (null: not served)."""
    by_lender = [{lender: (f, u) for lender, f, u in found} for found in outcomes]
    columns: dict[str, list[int | None]] = {}
    for lender in ruleset.lenders:
        got = [o.get(lender.lender_id) for o in by_lender]
        columns[f"{lender.lender_id}.failed"] = [None if g is None else g[0] for g in got]
        columns[f"{lender.lender_id}.unknown"] = [None if g is None else g[1] for g in got]
    bits = pl.DataFrame(columns, schema={name: pl.UInt64 for name in columns})
    return bits.insert_column(0, rows.get_column(APPLICATION_ID))


def _summed(parts: Sequence[Comparison]) -> Comparison:
    counts: dict[str, LenderCounts] = {}
    for part in parts:
        for lender_id, found in part.counts.items():
            counts.setdefault(lender_id, LenderCounts()).add(found)
    changes = pl.concat([p.changes for p in parts]) if parts else CHANGES_SCHEMA.to_frame()
    return Comparison(counts, changes)
