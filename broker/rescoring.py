"""Re-scoring: what a rule change does to a file of applications, before or after activation.

Each chunk of the input (`broker.batch.chunks`, the shared streaming loop) gets its features
computed once and evaluated under the baseline and the new ruleset (`matcher.match`, the
Polars lowering). Per (application, lender) each side has an outcome (`Outcome`: eligible,
rejected, missing data, not served); `compare` keeps the pairs whose outcome changed, with the
failed and unknown requirement ids on both sides, and counts per lender what is eligible
before and after. It is a pure function of one frame, so another engine (Ray) can run it on
its own blocks and the results add up the same. The local engine reads the next chunk from
the file while it scores the current one.

`rescore_file` writes, into the output folder: `changes.parquet` (one row per changed pair;
written per chunk and joined by a streaming sink, so memory stays bounded by the chunk), and
`impact.json` (per lender: eligible before and after, newly eligible, newly rejected, the
requirements behind the change; both ruleset hashes; the rule change in words), which follows
`broker/schemas/impact.schema.json`, and `impact.html` (the same figures as a page with
charts, `broker.impact_report`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from broker.batch import FILE_CHUNK_ROWS, Chunk, ChunkParts, chunks
from broker.batch_input import (
    REJECTS_SCHEMA,
    ROW,
    InputShape,
    input_shape,
    validate_features,
    validate_rows,
)
from broker.errors import BatchOutputError, BatchRowError
from broker.impact_report import render_html
from broker.ruleset_diff import diff_rulesets
from lender_rules.vocabulary import OUTCOMES
from matcher import (
    CompiledLender,
    FeatureFrameError,
    Ruleset,
    feature_frame,
    match,
    match_side_by_side,
)

CHANGES_FILE = "changes.parquet"
IMPACT_FILE = "impact.json"
REPORT_FILE = "impact.html"
REJECTS_FILE = "rejects.parquet"
SCHEMA_PATH = Path(__file__).parent / "schemas" / "impact.schema.json"
"""The published JSON Schema of `impact.json`."""
TOP_REASONS = 5
"""How many requirements `impact.json` names per lender and direction."""
PEOPLE = {"applicant": "applicant.national_id", "co_applicant": "co_applicant.national_id"}
"""The columns of a scored chunk's feature rows that name its people's national ids, per
role: there when the chunk was computed from applications (not from a feature frame)."""

OUTCOME = pl.Enum(OUTCOMES)
IDS = pl.List(pl.String)
CHANGES_SCHEMA = pl.Schema(
    {
        "application_id": pl.String(),
        "lender_id": pl.String(),
        "before": OUTCOME,
        "after": OUTCOME,
        "failed_before": IDS,
        "unknown_before": IDS,
        "failed_after": IDS,
        "unknown_after": IDS,
    }
)
"""The columns of `changes.parquet`: the requirement ids are those of each side's ruleset."""


@dataclass(slots=True)
class LenderCounts:
    """Per lender: applications eligible before and after, newly eligible, newly rejected
    (eligible before and not after, whatever the new outcome)."""

    eligible_before: int = 0
    eligible_after: int = 0
    newly_eligible: int = 0
    newly_rejected: int = 0

    def add(self, other: LenderCounts) -> None:
        self.eligible_before += other.eligible_before
        self.eligible_after += other.eligible_after
        self.newly_eligible += other.newly_eligible
        self.newly_rejected += other.newly_rejected


@dataclass(frozen=True, slots=True)
class Comparison:
    """One frame's comparison: counts per lender and the changed (application, lender) pairs;
    `after`, when kept, the new ruleset's bitmasks of the frame's rows, in their order, as
    `matcher.match` gives them (without `application_id`): what `--apply` records, so it
    does not evaluate the rows again."""

    counts: dict[str, LenderCounts]
    changes: pl.DataFrame
    after: pl.DataFrame | None = None


@dataclass(slots=True)
class Impact:
    """What a rule change does, summed over everything scored."""

    baseline_hash: str
    new_hash: str
    decision_date: dt.date
    rules_diff: list[str]
    applications: int = 0
    rejected_rows: int = 0
    changes: int = 0
    counts: dict[str, LenderCounts] = field(default_factory=dict)
    newly_rejected_by: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    newly_eligible_by: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    baseline_rulesets: dict[str, int] = field(default_factory=dict)
    """With the stored decisions as baseline: each stored ruleset and its applications
    (`baseline_hash` is then the one of the most)."""

    def add(self, comparison: Comparison, rows: int) -> None:
        self.applications += rows
        self.changes += comparison.changes.height
        for lender_id, counts in comparison.counts.items():
            self.counts.setdefault(lender_id, LenderCounts()).add(counts)

    def to_json(self) -> dict[str, Any]:
        """The figures as `impact.json` holds them (`SCHEMA_PATH`), lenders in id order."""

        def reasons(found: list[tuple[str, int]]) -> list[dict[str, Any]]:
            return [{"requirement_id": r, "applications": n} for r, n in found]

        stored = (
            {
                "baseline_rulesets": [
                    {"ruleset": h, "applications": n}
                    for h, n in sorted(self.baseline_rulesets.items())
                ]
            }
            if self.baseline_rulesets
            else {}
        )
        return stored | {
            "baseline_ruleset": self.baseline_hash,
            "new_ruleset": self.new_hash,
            "decision_date": self.decision_date.isoformat(),
            "applications": self.applications,
            "rejected_rows": self.rejected_rows,
            "changes": self.changes,
            "rules_diff": self.rules_diff,
            "lenders": [
                {
                    "lender_id": lender_id,
                    "eligible_before": counts.eligible_before,
                    "eligible_after": counts.eligible_after,
                    "newly_eligible": counts.newly_eligible,
                    "newly_rejected": counts.newly_rejected,
                    "newly_rejected_by": reasons(self.newly_rejected_by.get(lender_id, [])),
                    "newly_eligible_by": reasons(self.newly_eligible_by.get(lender_id, [])),
                }
                for lender_id, counts in sorted(self.counts.items())
            ],
        }


def features(frame: pl.LazyFrame, on: dt.date) -> pl.LazyFrame:
    """The feature frame of a chunk: computed at `on` from nested applications, or as given."""
    if "applicant" in frame.collect_schema().names():
        return feature_frame(frame, on)
    return frame


def compare(
    features: pl.DataFrame,
    new: Ruleset,
    baseline: Ruleset,
    baseline_bits: pl.DataFrame | None = None,
) -> Comparison:
    """Evaluate a feature frame (with `application_id`) under both rulesets and compare.
    `baseline_bits`, when given, are the baseline's bitmasks of these rows as `match` gives
    them (`application_id`, `<lender>.failed`, `<lender>.unknown`; null: not served), e.g.
    as stored, instead of evaluating the baseline again."""
    if baseline_bits is None:
        wide = match_side_by_side(features, {"b:": baseline, "a:": new})
    else:
        wide = pl.concat(
            [
                baseline_bits.rename(lambda c: f"b:{c}" if c != "application_id" else c),
                match(features, new).drop("application_id").rename("a:{}".format),
            ],
            how="horizontal",
        )
    old = {lender.lender_id: lender for lender in baseline.lenders}
    now = {lender.lender_id: lender for lender in new.lenders}
    sides = {
        lender_id: (_Side("b:", old.get(lender_id)), _Side("a:", now.get(lender_id)))
        for lender_id in sorted(old.keys() | now.keys())
    }
    # A lender the change left alone, both sides evaluated: the same outcomes, counted once.
    alike = {
        lender_id
        for lender_id, (b, a) in sides.items()
        if baseline_bits is None and b.lender is not None and b.same_rules(a.lender)
    }
    # each side's outcome as a code once per lender, then counts in one pass, then the
    # changed rows of the lenders that have any (usually few)
    codes = wide.select(
        side.code().alias(f"{lender_id}:{i}")
        for lender_id, pair in sides.items()
        for i, side in enumerate(pair[1:] if lender_id in alike else pair)
    )
    eligible = _CODES["eligible"]
    sums: list[pl.Expr] = []
    for lender_id in sides:
        if lender_id in alike:
            sums += [(pl.col(f"{lender_id}:0") == eligible).sum()]
            continue
        before, after = pl.col(f"{lender_id}:0"), pl.col(f"{lender_id}:1")
        was, is_ = before == eligible, after == eligible
        sums += [was.sum(), is_.sum(), (is_ & ~was).sum(), (was & ~is_).sum()]
        sums.append((before != after).sum())
    totals = iter(codes.select(e.alias(str(i)) for i, e in enumerate(sums)).row(0) if sums else ())
    counts: dict[str, LenderCounts] = {}
    parts: list[pl.DataFrame] = []
    for lender_id, (b, a) in sides.items():
        if lender_id in alike:
            both = int(next(totals) or 0)
            counts[lender_id] = LenderCounts(both, both, 0, 0)
            continue
        counts[lender_id] = LenderCounts(*(int(next(totals) or 0) for _ in range(4)))
        if not next(totals):
            continue
        before, after = pl.col(f"{lender_id}:0"), pl.col(f"{lender_id}:1")
        changed = codes.select(before != after).to_series()
        columns = ["application_id", *(c for side in (b, a) for c in side.columns())]
        rows = pl.concat(
            [wide.select(columns).filter(changed), codes.select(before, after).filter(changed)],
            how="horizontal",
        )
        parts.append(
            rows.select(
                "application_id",
                pl.lit(lender_id).alias("lender_id"),
                _outcome(before).alias("before"),
                _outcome(after).alias("after"),
            ).with_columns(
                b.ids(rows, "failed").alias("failed_before"),
                b.ids(rows, "unknown").alias("unknown_before"),
                a.ids(rows, "failed").alias("failed_after"),
                a.ids(rows, "unknown").alias("unknown_after"),
            )
        )
    changes = pl.concat(parts) if parts else CHANGES_SCHEMA.to_frame()
    kept = [c for lender in new.lenders for c in _Side("a:", lender).columns()]
    bits = wide.select(pl.col(c).alias(c.removeprefix("a:")) for c in kept)
    return Comparison(counts, changes.cast(dict(CHANGES_SCHEMA)), bits)  # type: ignore[arg-type]


_CODES = {outcome: i for i, outcome in enumerate(OUTCOMES)}
"""Each outcome as a small integer while counting; named only in the changed rows."""


def _outcome(code: pl.Expr) -> pl.Expr:
    return code.replace_strict(list(_CODES.values()), list(_CODES), return_dtype=OUTCOME)


@dataclass(frozen=True, slots=True)
class _Side:
    """One lender's columns on one side of the comparison (`lender` None: not in that ruleset)."""

    prefix: str
    lender: CompiledLender | None

    def bits(self, kind: str) -> pl.Expr:
        if self.lender is None:
            return pl.lit(None, dtype=pl.UInt64)
        return pl.col(f"{self.prefix}{self.lender.lender_id}.{kind}").cast(pl.UInt64)

    def columns(self) -> list[str]:
        """The bitmask columns of this side's lender (none when it is not in the ruleset)."""
        if self.lender is None:
            return []
        return [f"{self.prefix}{self.lender.lender_id}.{kind}" for kind in ("failed", "unknown")]

    def code(self) -> pl.Expr:
        """The outcome's code (`_CODES`) per row."""
        if self.lender is None:
            return pl.lit(_CODES["not_served"], dtype=pl.UInt8)
        # compared with 0 as they are (a cast of every bitmask would cost more than the codes)
        failed, unknown = (pl.col(column) for column in self.columns())
        return (
            pl.when(failed.is_null())
            .then(pl.lit(_CODES["not_served"], dtype=pl.UInt8))
            .when(failed != 0)
            .then(pl.lit(_CODES["rejected"], dtype=pl.UInt8))
            .when(unknown != 0)
            .then(pl.lit(_CODES["missing_data"], dtype=pl.UInt8))
            .otherwise(pl.lit(_CODES["eligible"], dtype=pl.UInt8))
        )

    def same_rules(self, other: CompiledLender | None) -> bool:
        """Whether `other` gives this side's lender the same bitmasks on every row: the same
        markets and the same rules in the same order."""
        mine = self.lender
        if mine is None or other is None:
            return False
        return set(mine.markets) == set(other.markets) and [
            r.rule_key for r in mine.requirements
        ] == [r.rule_key for r in other.requirements]

    def ids(self, rows: pl.DataFrame, kind: str) -> pl.Series:
        """Per row of `rows`, the ids of the requirements whose bit is set, in the lender's
        order ([] where the lender does not serve the row or is not in this ruleset). Worked
        out once per distinct bitmask (a lender's rows share few), then joined to the rows."""
        if self.lender is None or not self.lender.requirements:
            return pl.Series([[]] * rows.height, dtype=IDS)
        bits = rows.select(self.bits(kind).alias("bits"))
        masks = bits.get_column("bits").unique().drop_nulls().to_list()
        requirements = self.lender.requirements
        table = pl.DataFrame(
            {"bits": masks, "ids": [[r.id for r in requirements if m & r.bit] for m in masks]},
            schema={"bits": pl.UInt64, "ids": IDS},
        )
        ids = bits.join(table, on="bits", how="left", maintain_order="left").get_column("ids")
        return ids.fill_null(pl.lit([], dtype=IDS))


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """One chunk scored: where it starts in the file, its rows, its valid feature rows (None
    when an engine does not send them back), the comparison and the rejected rows."""

    start: int
    rows: int
    features: pl.DataFrame | None
    comparison: Comparison
    rejects: pl.DataFrame


Engine = Callable[[Path, InputShape, Ruleset, Ruleset, dt.date, int], Iterator[ScoredChunk]]
"""Scores a file chunk by chunk, in file order: (path, shape, new, baseline, on, chunk_rows)."""


def score_rows(
    rows: pl.DataFrame, shape: InputShape, new: Ruleset, baseline: Ruleset, on: dt.date
) -> tuple[pl.DataFrame, Comparison, pl.DataFrame]:
    """One chunk's rows (with their `ROW` index) validated, their features computed and
    checked against the feature contract, scored under both rulesets: (valid feature rows,
    comparison, rejects in row order). Every engine runs this."""
    checked = validate_rows(rows, shape, on)
    del rows  # the input rows are not needed any more (nor kept, when the caller keeps none)
    frame = features(checked.valid.lazy(), on).collect()
    if ROW not in frame.columns:  # computed from applications: same rows, same order
        frame = frame.with_columns(
            checked.valid.get_column(ROW),
            *(  # the people, for `--apply` to link its records to (`PEOPLE`)
                checked.valid.get_column(role).struct.field("national_id").alias(column)
                for role, column in PEOPLE.items()
            ),
        )
    invalid = checked.rejects
    del checked  # the applications, once their features are computed
    allowed = validate_features(frame)
    rejects = pl.concat([invalid, allowed.rejects]).sort(ROW)
    # lazily: the columns keep the file's row groups as chunks beside the one chunk of `ROW`,
    # which an eager drop would first copy into one chunk each
    frame = allowed.valid.lazy().drop(ROW).collect()
    return frame, compare(frame, new, baseline), rejects


def local_engine(
    path: Path, shape: InputShape, new: Ruleset, baseline: Ruleset, on: dt.date, chunk_rows: int
) -> Iterator[ScoredChunk]:
    """This process, one chunk after the other (the shared batch loop); the next chunk is
    read from the file while the current one is scored."""
    for chunk, read in _read_ahead(chunks(path, chunk_rows=chunk_rows)):
        try:
            # the rows are held by `score_rows` alone, which lets them go once it has their
            # features (the next chunk's rows are being read meanwhile)
            scored = ScoredChunk(
                chunk.start,
                chunk.rows,
                *score_rows(
                    read.take().with_row_index(ROW, offset=chunk.start), shape, new, baseline, on
                ),
            )
        except (pl.exceptions.PolarsError, FeatureFrameError) as error:
            raise chunk.error(error) from None
        yield scored
        del scored  # not kept while the next chunk is scored


class _Reading:
    """The rows of a chunk being read in another thread; `take` waits for them and hands
    them on without keeping them (or raises what reading raised)."""

    def __init__(self, future: Future[pl.DataFrame]) -> None:
        self._future: Future[pl.DataFrame] | None = future

    def take(self) -> pl.DataFrame:
        future, self._future = self._future, None
        if future is None:
            raise RuntimeError("the rows of this chunk were already taken")
        return future.result()


def _read_ahead(found: Iterator[Chunk]) -> Iterator[tuple[Chunk, _Reading]]:
    """Each chunk with its rows being read in a thread of its own, the next one's read
    started before the current one is handed on (so at most two chunks' rows are in memory:
    the one being scored and the one being read)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rescore-read") as reader:
        pending: tuple[Chunk, _Reading] | None = None
        for chunk in found:
            following = (chunk, _Reading(reader.submit(chunk.frame.collect)))
            if pending is not None:
                yield pending
            pending = following
        if pending is not None:
            yield pending


def rescore_file(
    applications: Path,
    new: Ruleset,
    baseline: Ruleset,
    *,
    on: dt.date,
    out: Path,
    strict: bool = False,
    chunk_rows: int = FILE_CHUNK_ROWS,
    progress: Callable[[int], None] = lambda rows: None,
    record: Recorder | None = None,
    engine: Engine = local_engine,
) -> Impact:
    """Re-score every application of the file under `new` against `baseline`; write
    `changes.parquet`, `rejects.parquet` (rows that fail validation, with the reason),
    `impact.json` and `impact.html` into the folder `out` (created if missing).

    The file's columns are checked before any work (`BatchColumnError`). With `strict`, the
    first row that fails validation stops the run (`BatchRowError`). `progress(rows)` is called
    after each chunk with the rows it held. `record(features, changes)`, when given, is called
    with each chunk's scored feature rows and its changes before its progress
    (`broker.batch_decisions.BatchRecorder` records them as decisions); it needs an engine
    that sends feature rows back (the local one; the Ray one made with `send_features`).
    `engine` scores the chunks (default: this process; `broker.rescoring_ray` on Ray)."""
    shape = input_shape(applications)
    impact = Impact(baseline.hash, new.hash, on, diff_rulesets(baseline, new).sentences())
    with Outputs(out, applications, strict=strict, progress=progress, record=record) as outputs:
        for scored in engine(applications, shape, new, baseline, on, chunk_rows):
            outputs.add(scored, impact)
            del scored  # not kept while the next chunk is scored
        outputs.finish(impact)
    return impact


Recorder = Callable[[pl.DataFrame, pl.DataFrame, pl.DataFrame | None], None]
"""Records a chunk's scored feature rows, its changes and, when the engine kept them, the
rows' bitmasks under the new ruleset (`Comparison.after`; `broker.batch_decisions`)."""


class Outputs:
    """The outputs of a re-scoring run in the folder `out`, fed chunk by chunk (`add`) and
    written at the end (`finish`); used as a context manager, the parts of a run that failed
    are removed. `source` names the input in errors (a file, or the decision store)."""

    def __init__(
        self,
        out: Path,
        source: Path | str,
        *,
        strict: bool = False,
        progress: Callable[[int], None] = lambda rows: None,
        record: Recorder | None = None,
    ) -> None:
        _make_folder(out)
        self._out = out
        self._source = source
        self._strict = strict
        self._progress = progress
        self._record = record
        self._changes = ChunkParts(out / CHANGES_FILE, CHANGES_SCHEMA)
        self._rejects = ChunkParts(out / REJECTS_FILE, REJECTS_SCHEMA)
        self._newly_rejected_by: Counter[tuple[str, str]] = Counter()
        self._newly_eligible_by: Counter[tuple[str, str]] = Counter()

    def __enter__(self) -> Outputs:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._changes.discard()
        self._rejects.discard()

    def add(self, scored: ScoredChunk, impact: Impact) -> None:
        """One scored chunk: rejects checked (strict), recorded, kept, counted."""
        if self._strict and scored.rejects.height:
            first = scored.rejects.row(0, named=True)
            raise BatchRowError(self._source, first[ROW], first["reason"])
        if self._record is not None and scored.features is not None:
            comparison = scored.comparison
            self._record(scored.features, comparison.changes, comparison.after)
        self._changes.add(scored.start, scored.comparison.changes)
        _count_reasons(scored.comparison.changes, "after", self._newly_rejected_by)
        _count_reasons(scored.comparison.changes, "before", self._newly_eligible_by)
        self._rejects.add(scored.start, scored.rejects)
        impact.add(scored.comparison, scored.rows - scored.rejects.height)
        self._progress(scored.rows)

    def finish(self, impact: Impact) -> None:
        """Write `changes.parquet`, `rejects.parquet`, `impact.json` and `impact.html`."""
        impact.rejected_rows = self._rejects.rows
        impact.newly_rejected_by = _top(self._newly_rejected_by)
        impact.newly_eligible_by = _top(self._newly_eligible_by)
        self._changes.finish()
        self._rejects.finish()
        report = impact.to_json()
        _write_text(self._out / IMPACT_FILE, json.dumps(report, indent=2, ensure_ascii=False))
        _write_text(self._out / REPORT_FILE, render_html(report))


def _count_reasons(changes: pl.DataFrame, side: str, counts: Counter[tuple[str, str]]) -> None:
    """Add to `counts`, per (lender, requirement), the changed pairs of one chunk whose other
    side is eligible and whose `side` fails or lacks data for that requirement: for newly
    rejected, what the new rules refuse them for (`side="after"`); for newly eligible, what
    the old rules refused them for. Counted chunk by chunk, so the written changes are
    never read back."""
    other = "before" if side == "after" else "after"
    eligible = "eligible"
    failed, unknown = f"failed_{side}", f"unknown_{side}"
    counted = (
        changes.lazy()
        .filter((pl.col(other) == eligible) & (pl.col(side) != eligible))
        # the pairs share few lists of requirements: each counted once, then its ids
        .group_by("lender_id", failed, unknown)
        .agg(pl.len().alias("n"))
        .select("lender_id", pl.concat_list(failed, unknown).alias("id"), "n")
        .explode("id")
        .drop_nulls("id")
        .group_by("lender_id", "id")
        .agg(pl.col("n").sum())
        .collect()
    )
    for lender_id, requirement_id, n in counted.iter_rows():
        counts[(lender_id, requirement_id)] += int(n)


def _top(counts: Counter[tuple[str, str]]) -> dict[str, list[tuple[str, int]]]:
    """Per lender, the `TOP_REASONS` requirements counted most often (ties by id)."""
    top: dict[str, list[tuple[str, int]]] = {}
    for (lender_id, requirement_id), n in sorted(
        counts.items(), key=lambda item: (item[0][0], -item[1], item[0][1])
    ):
        found = top.setdefault(lender_id, [])
        if len(found) < TOP_REASONS:
            found.append((requirement_id, n))
    return top


def _make_folder(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BatchOutputError(out, f"could not create: {error.strerror or error}") from None


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        temporary.write_text(text + "\n", encoding="utf-8")
        temporary.replace(path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise BatchOutputError(path, f"could not write: {error.strerror or error}") from None
