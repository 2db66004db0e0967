"""Recording a re-scoring run: one batch decision per changed application (or every one),
under the new ruleset, made on the single path; a second run records nothing again."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

import matcher
from audit import Store
from broker import BatchRecorder, reproduce
from broker import batch_decisions as batch_decisions_module
from broker.batch_decisions import OutcomeTexts, feature_texts, outcome_texts, people
from broker.rescoring import CHANGES_FILE, PEOPLE, rescore_file
from broker.subject_ids import normalised
from lender_rules import SHIPPED_LENDERS_DIR
from lender_rules.canonical import canonical_json
from tests.audit.conftest import sql, store
from tests.strategies import REFERENCE_DATE, feature_rows, fodselsnummers, personnummers

__all__ = ["sql", "store"]

ON = dt.date(2026, 11, 25)
SHIPPED = matcher.load_ruleset(SHIPPED_LENDERS_DIR)


def stricter() -> matcher.Ruleset:
    """The shipped lenders with every minimum age raised to 30."""
    documents = [dict(d) for d in SHIPPED.documents.values()]
    for document in documents:
        document["requirements"] = [
            r | {"rule": {">=": [{"var": "age"}, 30]}} if r["id"] == "min_age" else r
            for r in document["requirements"]
        ]
    return matcher.ruleset_from_documents(documents)


def batch_decisions(sql: Callable[..., list[Any]], ruleset_hash: str) -> list[tuple[str, int]]:
    return [
        (row[0], row[1])
        for row in sql(
            "SELECT application_id, count(*) FROM decision "
            "WHERE channel = 'batch' AND ruleset_hash = :h GROUP BY application_id",
            h=ruleset_hash,
        )
    ]


def test_apply_records_each_changed_application_once_and_a_rerun_records_none(
    store: Store, sql: Callable[..., list[Any]], tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(1_500, 8, ON).write_parquet(apps)
    new = stricter()
    recorder = BatchRecorder(store, new, per_transaction=100)
    rescore_file(apps, new, SHIPPED, on=ON, out=tmp_path, chunk_rows=400, record=recorder)

    changed = set(pl.read_parquet(tmp_path / CHANGES_FILE)["application_id"])
    assert len(changed) > 50
    recorded = batch_decisions(sql, new.hash)
    assert {app for app, _ in recorded} == changed
    assert {n for _, n in recorded} == {1}
    assert recorder.recorded == len(changed)

    again = BatchRecorder(store, new)
    rescore_file(apps, new, SHIPPED, on=ON, out=tmp_path, chunk_rows=400, record=again)
    assert (again.recorded, again.skipped) == (0, len(changed))
    assert batch_decisions(sql, new.hash) == recorded

    assert store.decisions.verify().ok
    assert store.rulesets.snapshot(new.hash) == new.snapshot()
    reproduced = list(reproduce(store))
    assert len(reproduced) == len(changed)
    assert all(r.ok for r in reproduced)
    one = store.decisions.latest(sorted(changed)[0])
    assert one is not None
    features = pl.read_parquet(apps).filter(pl.col("application_id") == one.application_id)
    row = matcher.feature_frame(features, ON).collect().drop("application_id").row(0, named=True)
    assert one.features == row
    assert one.outcomes == tuple(
        (o.lender_id, o.failed, o.unknown) for o in matcher.evaluate(row, new)
    )
    applicant = features.row(0, named=True)["applicant"]["national_id"]
    links = store.subjects.links(applicant)  # its people are linked: export and erasure find it
    assert [(link.application_id, link.role) for link in links] == [
        (one.application_id, "applicant")
    ]


def test_records_matched_in_blocks_and_written_in_parts_reproduce(
    store: Store, sql: Callable[..., list[Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows matched a block at a time and recorded a part at a time (neither dividing the
    other, nor the chunks) are each recorded once and reproduce on the single path."""
    monkeypatch.setattr(batch_decisions_module, "MATCH_ROWS", 70)
    apps = tmp_path / "apps.parquet"
    matcher.generate(500, 9, ON).write_parquet(apps)
    new = stricter()
    recorder = BatchRecorder(store, new, everything=True, per_transaction=30)
    rescore_file(apps, new, SHIPPED, on=ON, out=tmp_path, chunk_rows=200, record=recorder)
    assert recorder.recorded == 500
    assert {n for _, n in batch_decisions(sql, new.hash)} == {1}
    assert store.decisions.verify().ok
    reproduced = list(reproduce(store))
    assert len(reproduced) == 500
    assert all(r.ok for r in reproduced)


def test_all_records_every_scored_application(
    store: Store, sql: Callable[..., list[Any]], tmp_path: Path
) -> None:
    apps = tmp_path / "apps.parquet"
    matcher.generate(300, 8, ON).write_parquet(apps)
    recorder = BatchRecorder(store, SHIPPED, everything=True)
    rescore_file(apps, SHIPPED, SHIPPED, on=ON, out=tmp_path, record=recorder)
    assert recorder.recorded == 300
    assert len(batch_decisions(sql, SHIPPED.hash)) == 300


def test_bitmasks_not_of_the_scored_rows_are_refused_and_nothing_is_recorded(
    store: Store, sql: Callable[..., list[Any]]
) -> None:
    features = matcher.feature_frame(matcher.generate(20, 3, ON), ON).collect()
    bits = matcher.match(features, SHIPPED).drop("application_id")
    recorder = BatchRecorder(store, SHIPPED, everything=True)
    with pytest.raises(ValueError, match="19 rows of bitmasks for 20 rows"):
        recorder(features, pl.DataFrame(), bits.head(19))
    assert recorder.recorded == 0
    assert batch_decisions(sql, SHIPPED.hash) == []
    recorder(features, pl.DataFrame(), bits)
    assert recorder.recorded == 20


@given(st.lists(feature_rows(), min_size=1, max_size=8))
def test_feature_texts_are_the_canonical_json_of_each_row(rows: list[dict[str, Any]]) -> None:
    frame = pl.DataFrame(rows, schema=matcher.polars_schema(), orient="row")
    assert feature_texts(frame) == [canonical_json(row) for row in rows]


def test_feature_texts_of_rows_that_need_escapes_or_have_no_number() -> None:
    plain = _examples()[0]
    odd = [
        plain | {"debt_to_income": math.inf},
        plain | {"citizenship": 'N"O\\'},
        plain | {"citizenship": "Ø\n\t\u0001"},
        plain | {"debt_to_income": None, "market": None},
        plain | {"debt_to_income": 1e16},
        plain | {"debt_to_income": 2.5e-05},
        plain,
    ]
    frame = pl.DataFrame(odd, schema=matcher.polars_schema(), orient="row")
    assert feature_texts(frame) == [canonical_json(row) for row in odd]


@given(
    st.lists(
        st.floats(allow_nan=False)
        | st.floats(1e-6, 1e18)
        | st.sampled_from([0.0, -0.0, 1e-4, 1e16, 9999999999999998.0, 0.1, None]),
        min_size=1,
        max_size=12,
    )
)
def test_float_features_are_written_in_pythons_shortest_form(values: list[float | None]) -> None:
    """Floats Polars casts to text (magnitudes 1e-4 to 1e16) and the ones `canonical_json`
    writes itself (infinities, exponents, missing) give the same texts as `canonical_json`."""
    rows = [_examples()[0] | {"debt_to_income": value} for value in values]
    frame = pl.DataFrame(rows, schema=matcher.polars_schema(), orient="row")
    assert feature_texts(frame) == [canonical_json(row) for row in rows]


_BITS = st.none() | st.integers(0, 2**64 - 1)


@given(st.lists(st.tuples(_BITS, _BITS, _BITS, _BITS, _BITS, _BITS), max_size=12))
def test_outcome_texts_list_the_lenders_serving_each_row_in_ruleset_order(
    rows: list[tuple[int | None, ...]],
) -> None:
    """Whatever lenders serve a row (none, some, all; grouped by that), its text lists each
    of them in ruleset order with its two bitmasks, as canonical JSON."""
    ids = ["nordbank", "fjord_kreditt", "sparbank"]
    columns = [f"{i}.{kind}" for i in ids for kind in ("failed", "unknown")]
    bits = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.UInt64), orient="row")
    ruleset: Any = SimpleNamespace(lenders=[SimpleNamespace(lender_id=i) for i in ids])
    expected = _texts_by_definition(rows, ids)
    assert outcome_texts(bits, ruleset) == expected


def _texts_by_definition(rows: Sequence[Sequence[int | None]], ids: list[str]) -> list[str]:
    """Each row's outcomes text as its definition says: the lenders serving it (both
    bitmasks given) in ruleset order with their bitmasks, as canonical JSON."""
    return [
        canonical_json(
            [
                [i, row[2 * k], row[2 * k + 1]]
                for k, i in enumerate(ids)
                if row[2 * k] is not None and row[2 * k + 1] is not None
            ]
        )
        for row in rows
    ]


_NARROW_BITS = st.none() | st.sampled_from([0, 1, 5, 255, 2**16 - 1, 2**32 - 1])


@given(
    st.lists(
        st.tuples(*[_NARROW_BITS] * 6),
        min_size=1,
        max_size=60,
    ),
    st.sampled_from([pl.UInt8, pl.UInt16, pl.UInt32]),
)
def test_outcome_texts_of_narrow_bitmasks_repeated_across_rows(
    rows: list[tuple[int | None, ...]], narrow: Any
) -> None:
    """Bitmasks of up to 32 bits whose values repeat (as they do: a lender's rows have few
    (failed, unknown) pairs) are written from their distinct pairs: the same texts, also
    beside a lender whose bitmasks are 64 bits wide."""
    ids = ["nordbank", "fjord_kreditt", "sparbank"]
    limit = {pl.UInt8: 2**8 - 1, pl.UInt16: 2**16 - 1, pl.UInt32: 2**32 - 1}[narrow]
    rows = [tuple(None if v is None else min(v, limit) for v in row) for row in rows]
    schema = {
        f"{i}.{kind}": pl.UInt64 if i == "sparbank" else narrow
        for i in ids
        for kind in ("failed", "unknown")
    }
    bits = pl.DataFrame(rows, schema=schema, orient="row")
    ruleset: Any = SimpleNamespace(lenders=[SimpleNamespace(lender_id=i) for i in ids])
    expected = _texts_by_definition(rows, ids)
    assert outcome_texts(bits, ruleset) == expected
    block = OutcomeTexts(bits, ruleset)  # a part at a time, the pairs' texts made once
    assert [text for at in range(0, len(rows), 7) for text in block.rows(at, 7)] == expected


@functools.cache
def _examples() -> list[dict[str, Any]]:
    apps = matcher.generate(20, 5, ON)
    return matcher.feature_frame(apps, ON).collect().select(matcher.FEATURE_NAMES).to_dicts()


def test_outcome_texts_are_what_the_single_path_records() -> None:
    rows = _examples()
    ruleset = stricter()
    frame = pl.DataFrame(rows, schema=matcher.polars_schema(), orient="row")
    texts = outcome_texts(matcher.match(frame, ruleset), ruleset)
    assert texts == [
        canonical_json([[o.lender_id, o.failed, o.unknown] for o in matcher.evaluate(row, ruleset)])
        for row in rows
    ]
    assert {text.count("[[") for text in texts} == {1}  # every row is served by some lender


@given(
    st.lists(
        st.tuples(st.just("SE"), personnummers()) | st.tuples(st.just("NO"), fodselsnummers()),
        min_size=1,
        max_size=6,
    ),
    st.one_of(st.none(), personnummers()),
)
def test_people_are_the_national_ids_normalised_as_the_single_path_does(
    ids: list[tuple[str, str]], co_applicant: str | None
) -> None:
    on = REFERENCE_DATE
    frame = pl.DataFrame(
        {
            "market": [market for market, _ in ids],
            PEOPLE["applicant"]: [number for _, number in ids],
            PEOPLE["co_applicant"]: [co_applicant if m == "SE" else None for m, _ in ids],
        }
    )
    expected = [
        tuple(
            (role, normalised(number, market, on) or number)
            for role, number in (("applicant", applicant), ("co_applicant", co))
            if number is not None
        )
        for (market, applicant), co in zip(
            ids, frame.get_column(PEOPLE["co_applicant"]).to_list(), strict=True
        )
    ]
    assert people(frame, on) == expected
    assert people(frame.drop(PEOPLE["co_applicant"]), on) == [
        tuple(pair for pair in group if pair[0] == "applicant") for group in expected
    ]
    assert people(frame.drop(PEOPLE["applicant"]), on) == [
        tuple(pair for pair in group if pair[0] == "co_applicant") for group in expected
    ]
    assert people(frame.drop(*PEOPLE.values()), on) == []
