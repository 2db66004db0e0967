"""Recording re-scored applications as automated decisions (channel `batch`), resumably.

`rescore --apply` hands each chunk's feature rows and changes to a `BatchRecorder`, which
records a decision under the new ruleset for each application whose outcome changed (or every
application, with `everything`). The rows' bitmasks are the batch path's (`matcher.match`,
which gives the single-application path's bitmasks for every row the feature contract
allows: an invariant with its property tests): the ones the re-scoring computed under the
new ruleset (`rescoring.Comparison.after`), or the rows matched together here when the engine
did not keep them (Ray, the store's pages), so what is stored
reproduces under the stored ruleset (`lendmatch audit reproduce`, which re-evaluates on the
single path); each outcome lists the lenders of the row's market in ruleset order, as
`matcher.evaluate` does. The ruleset's snapshot is saved before the first record.

The records are written in bulk (`Store.batch_decisions`, COPY on PostgreSQL): their feature
and outcome texts are built over the whole frame (`feature_texts`, `outcome_texts`), equal
byte for byte to the canonical JSON (`lender_rules.canonical`) the single append writes for
the same row (a property test keeps them equal; a row with a text that needs escaping, or
an infinite or missing number, is written by `canonical_json` itself).

Resuming: records are committed `per_transaction` at a time (a run's first part a fifth of
that, so writing starts sooner), each transaction a checkpoint.
The store leaves out, under the chain lock, every application that already has a batch
decision under the new ruleset hash (counted in `skipped`), so a run killed at any point
and started again (or two runs at once) records every application exactly once.

Restricted applications (a person on them restricted processing, `broker.restrictions`) are
not re-scored: they are skipped and counted in `restricted`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterator

import polars as pl

from audit import BATCH_PER_TRANSACTION as PER_TRANSACTION
from audit import BulkRows, Store
from broker.rescoring import PEOPLE
from broker.restrictions import restricted
from broker.subject_ids import normalised
from lender_rules.canonical import canonical_json
from lender_rules.vocabulary import Channel
from matcher import FEATURE_NAMES, Ruleset, match

CHANNEL: Channel = "batch"
MATCH_ROWS = 25_000
"""Rows matched together (a call of `matcher.match` has a fixed cost of some milliseconds),
then recorded `per_transaction` at a time."""
_PLAIN_TEXT = r"^[ !#-\[\]-~]*$"
"""Printable ASCII without `"` and `\\`: a text canonical JSON writes as it is, in quotes."""


_FIXED_FROM, _FIXED_BELOW = 1e-4, 1e16
"""Floats of these magnitudes Python writes without an exponent, digit for digit as Polars
casts them to text (shortest round-trip form); outside, `canonical_json` writes the row."""


def feature_texts(frame: pl.DataFrame) -> list[str]:
    """Each row of a feature frame (`FEATURE_NAMES`) as canonical JSON: keys sorted, texts
    quoted, integers in decimal, floats in their shortest form. Built over the whole frame;
    rows holding a value that needs more than that (a text to escape, a missing or infinite
    float) are written by `canonical_json`, as the single append writes every row."""
    names = sorted(FEATURE_NAMES)
    schema = frame.schema
    pieces: list[pl.Expr] = []
    slow: list[pl.Expr] = []
    for i, name in enumerate(names):
        column, dtype = pl.col(name), schema[name]
        if dtype == pl.Boolean:
            value = (
                pl.when(column.is_null())
                .then(pl.lit("null"))
                .when(column)
                .then(pl.lit("true"))
                .otherwise(pl.lit("false"))
            )
        elif dtype.is_integer():
            value = column.cast(pl.String).fill_null("null")
        elif dtype == pl.String:
            value = pl.concat_str(pl.lit('"'), column, pl.lit('"')).fill_null("null")
            slow.append(~column.str.contains(_PLAIN_TEXT).fill_null(True))
        elif dtype.is_float():
            magnitude = column.abs()
            value = (
                pl.when(column.is_null())
                .then(pl.lit("null"))
                .when(
                    column.is_finite()
                    & (((magnitude >= _FIXED_FROM) & (magnitude < _FIXED_BELOW)) | (column == 0))
                )
                .then(column.cast(pl.String))  # Python's shortest form there (a test checks)
                .when(column == math.inf)
                .then(pl.lit(canonical_json(math.inf)))
                .when(column == -math.inf)
                .then(pl.lit(canonical_json(-math.inf)))
            )  # otherwise null (NaN; a float Python writes with an exponent): canonical_json
        else:
            raise TypeError(f"feature {name} has no canonical text form for {dtype}")
        pieces += [pl.lit(("{" if i == 0 else ",") + canonical_json(name) + ":"), value]
    pieces.append(pl.lit("}"))
    built = frame.select(
        pl.concat_str(pieces).alias("text"),
        pl.any_horizontal(slow).alias("slow") if slow else pl.lit(False).alias("slow"),
    )
    texts: list[str | None] = built.get_column("text").to_list()
    escaped = set(built.get_column("slow").arg_true().to_list())
    return [
        _canonical_row(frame, i, names) if text is None or i in escaped else text
        for i, text in enumerate(texts)
    ]


def _canonical_row(frame: pl.DataFrame, index: int, names: list[str]) -> str:
    row = frame.row(index, named=True)
    return canonical_json({name: row[name] for name in names})


_NARROW = (pl.UInt8(), pl.UInt16(), pl.UInt32())
"""Bitmask types whose (failed, unknown) pair packs into one UInt64."""
_PAIRS_PER_ROW = 0.25
"""A lender's outcomes are written from its distinct (failed, unknown) pairs when it has
fewer than this many per row (they repeat: a bitmask has few values in practice)."""


def outcome_texts(bits: pl.DataFrame, ruleset: Ruleset) -> list[str]:
    """Each row's outcomes as canonical JSON, `[[lender_id, failed, unknown], ...]` over
    the lenders that serve it (non-null `<lender>.failed` and `.unknown`), in ruleset order:
    the text the single append stores for `matcher.evaluate`'s outcomes."""
    return OutcomeTexts(bits, ruleset).rows(0, bits.height)


class OutcomeTexts:
    """`outcome_texts` of a frame of bitmasks (`matcher.match`), given a slice at a time
    (`rows`): what the slices share is made once for the frame.

    One concatenation over the rows: each lender's `[id,failed,unknown]` is null where it
    does not serve the row, and the lenders' parts are joined by commas skipping nulls. A
    lender's part is its pair's text looked up among the texts of the frame's distinct
    pairs (made once each, in Python), not two numbers cast to text in every row."""

    def __init__(self, bits: pl.DataFrame, ruleset: Ruleset) -> None:
        ids = [lender.lender_id for lender in ruleset.lenders]
        self._none = not ids
        schema = bits.schema
        packed = [
            k
            for k, lender_id in enumerate(ids)
            if schema[f"{lender_id}.failed"] in _NARROW
            and schema[f"{lender_id}.unknown"] in _NARROW
        ]
        pairs = bits.select(  # null where either bitmask is null: the lender does not serve
            (
                pl.col(f"{ids[k]}.failed").cast(pl.UInt64) * (1 << 32)
                + pl.col(f"{ids[k]}.unknown").cast(pl.UInt64)
            ).alias(f"pair{k}")
            for k in packed
        )
        found = pairs.select(pl.all().unique().drop_nulls().implode()).row(0) if packed else ()
        distinct = {
            k: values
            for k, values in zip(packed, found, strict=True)
            if len(values) < _PAIRS_PER_ROW * bits.height
        }
        parts: list[pl.Expr] = []
        for k, lender_id in enumerate(ids):
            opening = "[" + canonical_json(lender_id) + ","
            values = distinct.get(k)
            if values is not None:
                texts = [f"{opening}{value >> 32},{value & 0xFFFFFFFF}]" for value in values]
                parts.append(
                    pl.col(f"pair{k}").replace_strict(values, texts, return_dtype=pl.String)
                )
            else:
                parts.append(
                    pl.concat_str(
                        pl.lit(opening),
                        pl.col(f"{lender_id}.failed").cast(pl.String),
                        pl.lit(","),
                        pl.col(f"{lender_id}.unknown").cast(pl.String),
                        pl.lit("]"),
                    )
                )
        joined = pl.concat_str(parts, separator=",", ignore_nulls=True)
        self._text = pl.concat_str(pl.lit("["), joined, pl.lit("]"))
        self._frame = pl.concat([bits, pairs], how="horizontal")

    def rows(self, offset: int, length: int) -> list[str]:
        """The texts of rows `offset` to `offset + length` of the frame."""
        part = self._frame.slice(offset, length)
        if self._none or part.height == 0:
            return ["[]"] * part.height
        return part.select(self._text).to_series().to_list()


_NORMAL_FORMS = {"NO": r"^[0-9]{11}$", "SE": r"^[0-9]{12}$"}
"""A national id already in its one written form (`broker.subject_ids`), per market."""


def people(features: pl.DataFrame, on: dt.date) -> list[tuple[tuple[str, str], ...]]:
    """Per row, (role, normalised national id) of its people, from the national id columns
    a chunk computed from applications carries (`rescoring.PEOPLE`); [] without them (a
    feature frame names no one). Ids already in their written form (as `generate` writes
    them) are taken over the frame; any other is normalised by `broker.subject_ids`."""
    columns = {role: column for role, column in PEOPLE.items() if column in features.columns}
    if not columns:
        return []
    market, raw = pl.col("market"), pl.col("id")
    normal = pl.lit(False)
    for code, form in _NORMAL_FORMS.items():
        normal = normal | ((market == code) & raw.str.contains(form))
    # a Swedish id with its century written (YYYYMMDD-NNNC): the same digits without the dash
    long_se = (market == "SE") & raw.str.contains(r"^[0-9]{8}-[0-9]{4}$")
    # without it (YYMMDD-NNNC, YYMMDD+NNNC, YYMMDDNNNC): the century as `personnummer_year`
    # finds it (the latest year ending in YY whose birthday is not after `on`; 100 years
    # earlier with "+"), then YYYY MMDD NNNC
    short_se = (market == "SE") & raw.str.contains(r"^[0-9]{6}[-+]?[0-9]{4}$")
    yy = raw.str.slice(0, 2).cast(pl.Int64, strict=False)
    month = raw.str.slice(2, 2).cast(pl.Int64, strict=False)
    day = raw.str.slice(4, 2).cast(pl.Int64, strict=False) % 60  # a samordningsnummer: +60
    year = pl.lit(on.year - on.year % 100) + yy
    later = (year > on.year) | ((year == on.year) & (month * 100 + day > on.month * 100 + on.day))
    year = year - pl.when(later).then(100).otherwise(0)
    year = year - pl.when(raw.str.slice(6, 1) == "+").then(100).otherwise(0)
    short_form = pl.concat_str(
        year.cast(pl.String).str.zfill(4), raw.str.slice(2, 4), raw.str.slice(-4, 4)
    )
    markets = features.get_column("market").to_list()
    per_role: list[list[tuple[str, str] | None]] = []
    for role, column in columns.items():
        ids = (
            features.select(pl.col(column).cast(pl.String).alias("id"), market)
            .with_columns(
                pl.when(long_se)
                .then(raw.str.replace("-", "", literal=True))
                .when(short_se)
                .then(short_form)
                .otherwise(raw)
            )
            .with_columns(normal.alias("ok"))
        )
        numbers = ids.get_column("id").to_list()
        for i in ids.get_column("ok").not_().fill_null(False).arg_true().to_list():
            numbers[i] = normalised(numbers[i], markets[i], on) or numbers[i]
        per_role.append([None if number is None else (role, number) for number in numbers])
    # tuples, not a list per row: fewer objects for the garbage collector
    if len(per_role) == 2:  # an applicant and a co-applicant, as a rule: without a loop per row
        return [
            ((first, second) if second is not None else (first,))
            if first is not None
            else (() if second is None else (second,))
            for first, second in zip(*per_role, strict=True)
        ]
    return [tuple(filter(None, row)) for row in zip(*per_role, strict=True)]


def _blocks(rows: pl.DataFrame, per_transaction: int) -> Iterator[tuple[pl.DataFrame, list[int]]]:
    """The rows matched together (`MATCH_ROWS` at a time: a call of `matcher.match` costs
    some milliseconds whatever its rows), each block with the sizes of its parts (one
    commit each, at most `per_transaction` rows), the first part of all a small one (a
    fifth): until it is ready nothing is written, so it is made ready after a small part's
    texts and digests, not a whole part's."""
    small = max(1, per_transaction // 5)
    for k, block in enumerate(rows.iter_slices(max(MATCH_ROWS, per_transaction))):
        first = [small] if k == 0 else []
        parts = -(-block.height // per_transaction)
        yield block, _sizes(block.height, first + [per_transaction] * parts)


def _sizes(height: int, sizes: list[int]) -> list[int]:
    """`sizes` cut to add up to `height`."""
    found: list[int] = []
    for size in sizes:
        if height <= 0:
            break
        found.append(min(size, height))
        height -= size
    return found


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

    def __call__(
        self, features: pl.DataFrame, changes: pl.DataFrame, after: pl.DataFrame | None = None
    ) -> None:
        """Record the applications of one chunk: `features` (with `application_id`) are its
        scored rows, `changes` its changed (application, lender) pairs, `after` (when the
        engine kept them: `rescoring.Comparison.after`) the rows' bitmasks under the ruleset,
        in their order; without them the rows to record are matched here."""
        bits: list[str] = []
        if after is not None:
            if after.height != features.height:
                raise ValueError(f"{after.height} rows of bitmasks for {features.height} rows")
            bits = after.columns
            features = pl.concat([features, after], how="horizontal")
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
        blocked = restricted(self._store, wanted.get_column("application_id").to_list())
        self.restricted += len(blocked)
        if blocked:
            blocked_ids = pl.Series(sorted(blocked), dtype=pl.String).implode()
            wanted = wanted.filter(~pl.col("application_id").is_in(blocked_ids))
            if wanted.is_empty():
                return
        decided_at = self._clock()

        def parts() -> Iterator[BulkRows]:  # made ready while the part before is written
            for block, sizes in _blocks(wanted, self._per_transaction):
                if bits:
                    block_bits = block.select(bits)
                else:
                    block_bits = match(block.select(FEATURE_NAMES), self._ruleset)
                block_people = people(block, decided_at.date())
                block_outcomes = OutcomeTexts(block_bits, self._ruleset)
                offset = 0
                for size in sizes:  # one commit's texts
                    part = block.slice(offset, size)
                    end = offset + part.height
                    yield BulkRows(
                        channel=CHANNEL,
                        ruleset_hash=self._ruleset.hash,
                        decided_at=decided_at,
                        application_ids=part.get_column("application_id").to_list(),
                        features_json=feature_texts(part),
                        outcomes_json=block_outcomes.rows(offset, part.height),
                        subjects=block_people[offset:end],
                    )
                    offset = end

        written = self._store.batch_decisions.append_parts(parts())
        self.recorded += written.recorded
        self.skipped += written.already
