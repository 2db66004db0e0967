"""Bad batch input: a missing or mistyped column is refused before any work, naming it; rows
outside the application's bounds, with NaN, or with a bad national id go to rejects.parquet
with the reason (strict: the first stops the run); the other rows are scored."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import matcher
from broker import BatchColumnError, BatchRowError
from broker.batch_input import ROW, _application_checks, input_shape, validate_rows
from broker.rescoring import CHANGES_FILE, IMPACT_FILE, REJECTS_FILE, rescore_file
from lender_rules import SHIPPED_LENDERS_DIR

ON = dt.date(2026, 11, 25)
SHIPPED = matcher.load_ruleset(SHIPPED_LENDERS_DIR)
APPS = matcher.generate(40, 9, ON)


def written(tmp_path: Path, frame: pl.DataFrame) -> Path:
    path = tmp_path / "apps.parquet"
    frame.write_parquet(path)
    return path


@pytest.mark.parametrize(
    ("change", "column", "found"),
    [
        (lambda f: f.drop("loan"), "loan", None),
        (lambda f: f.drop("application_id"), "application_id", None),
        (
            lambda f: (
                f.with_columns(pl.col("applicant").struct.field("income").alias("x"))
                .with_columns(pl.col("applicant").struct.with_fields(pl.lit(None).alias("income")))
                .drop("x")
            ),
            "applicant.income",
            "Null",
        ),
        (
            lambda f: f.with_columns(
                pl.col("loan").struct.with_fields(pl.field("amount").cast(pl.Float64))
            ),
            "loan.amount",
            "Float64",
        ),
        (
            lambda f: f.with_columns(pl.col("market").cast(pl.Categorical).to_physical()),
            "market",
            "UInt32",
        ),
    ],
)
def test_a_missing_or_mistyped_column_is_refused_before_any_work(
    tmp_path: Path, change: Any, column: str, found: str | None
) -> None:
    apps = written(tmp_path, change(APPS))
    out = tmp_path / "out"
    with pytest.raises(BatchColumnError) as refused:
        rescore_file(apps, SHIPPED, SHIPPED, on=ON, out=out)
    assert (refused.value.column, refused.value.found) == (column, found)
    assert refused.value.path == apps
    assert not out.exists()


def test_a_missing_struct_field_is_named_with_its_path(tmp_path: Path) -> None:
    person = APPS.schema["applicant"]
    assert isinstance(person, pl.Struct)
    kept = [f.name for f in person.fields if f.name != "secured_debt"]
    frame = APPS.unnest("applicant").select(
        "application_id",
        "market",
        pl.struct(kept).alias("applicant"),
        "co_applicant",
        "loan",
        "household",
    )
    with pytest.raises(BatchColumnError, match=r"column applicant\.secured_debt missing"):
        input_shape(written(tmp_path, frame))


def test_a_feature_frame_with_a_mistyped_feature_is_refused(tmp_path: Path) -> None:
    features = matcher.feature_frame(APPS, ON).collect()
    apps = written(tmp_path, features.with_columns(pl.col("age").cast(pl.String)))
    with pytest.raises(BatchColumnError) as refused:
        input_shape(apps)
    assert (refused.value.column, refused.value.expected, refused.value.found) == (
        "age",
        "an integer",
        "String",
    )
    assert input_shape(written(tmp_path, features)) == "features"


def broken_applications() -> tuple[pl.DataFrame, dict[int, str]]:
    """APPS with some rows broken, and the reason expected for each broken row."""
    rows = APPS.to_dicts()
    rows[3]["loan"]["amount"] = 10
    rows[7]["applicant"]["payment_remarks"] = 101
    rows[8]["applicant"]["national_id"] = rows[8]["applicant"]["national_id"][:-1] + (
        "0" if rows[8]["applicant"]["national_id"][-1] != "0" else "1"
    )
    rows[12]["household"]["housing"] = "castle"
    rows[20]["applicant"]["income"] = None
    expected = {
        3: "loan.amount: 10 is below the minimum 1000",
        7: "applicant.payment_remarks: 101 is above the maximum 100",
        12: "household.housing: castle is not one of own, rent, parents, other",
        20: "applicant.income: missing",
    }
    return pl.DataFrame(rows, schema=APPS.schema), expected


def test_bad_rows_go_to_rejects_with_the_reason_and_the_rest_are_scored(tmp_path: Path) -> None:
    frame, expected = broken_applications()
    out = tmp_path / "out"
    impact = rescore_file(written(tmp_path, frame), SHIPPED, SHIPPED, on=ON, out=out, chunk_rows=16)
    rejects = pl.read_parquet(out / REJECTS_FILE)
    assert rejects["row"].to_list() == [3, 7, 8, 12, 20]
    assert rejects["application_id"].to_list() == [
        APPS["application_id"][i] for i in (3, 7, 8, 12, 20)
    ]
    reasons = dict(zip(rejects["row"].to_list(), rejects["reason"].to_list(), strict=True))
    assert {row: reasons[row] for row in expected} == expected
    assert reasons[8].startswith("applicant.national_id: invalid ")
    assert (impact.applications, impact.rejected_rows) == (35, 5)
    report = json.loads((out / IMPACT_FILE).read_text(encoding="utf-8"))
    assert (report["applications"], report["rejected_rows"]) == (35, 5)
    assert pl.read_parquet(out / CHANGES_FILE).height == 0


def test_nan_and_null_features_are_rejected_rows(tmp_path: Path) -> None:
    features = matcher.feature_frame(APPS, ON).collect()
    dti = features["debt_to_income"].to_list()
    dti[2] = float("nan")
    employment = features["employment"].to_list()
    employment[5] = None
    broken = features.with_columns(
        pl.Series("debt_to_income", dti), pl.Series("employment", employment, dtype=pl.String)
    )
    out = tmp_path / "out"
    impact = rescore_file(written(tmp_path, broken), SHIPPED, SHIPPED, on=ON, out=out)
    rejects = pl.read_parquet(out / REJECTS_FILE)
    assert rejects.select("row", "reason").rows() == [
        (2, "debt_to_income: NaN is not a number"),
        (5, "employment: missing"),
    ]
    assert impact.applications == 38


def test_strict_stops_at_the_first_bad_row(tmp_path: Path) -> None:
    frame, _ = broken_applications()
    with pytest.raises(BatchRowError) as stopped:
        rescore_file(
            written(tmp_path, frame), SHIPPED, SHIPPED, on=ON, out=tmp_path / "out", strict=True
        )
    assert (stopped.value.row, stopped.value.reason) == (
        3,
        "loan.amount: 10 is below the minimum 1000",
    )


def test_feature_rows_outside_the_contract_are_the_rows_the_matcher_refuses(
    tmp_path: Path,
) -> None:
    features = matcher.feature_frame(APPS, ON).collect()
    broken = features.with_columns(
        pl.when(pl.int_range(pl.len()) == 4).then(-3).otherwise(pl.col("age")).alias("age"),
        pl.when(pl.int_range(pl.len()) == 9)
        .then(pl.lit("moon"))
        .otherwise(pl.col("market"))
        .alias("market"),
    )
    out = tmp_path / "out"
    rescore_file(written(tmp_path, broken), SHIPPED, SHIPPED, on=ON, out=out)
    rejects = pl.read_parquet(out / REJECTS_FILE)
    mask, _ = matcher.valid_rows(broken)
    assert rejects["row"].to_list() == [i for i, ok in enumerate(mask) if not ok] == [4, 9]
    reasons = rejects["reason"].to_list()
    assert reasons[0].startswith("age: -3 is outside ")
    assert reasons[1] == "market: moon is not one of NO, SE"


def test_a_bad_co_applicant_national_id_is_a_reject_naming_the_co_applicant(
    tmp_path: Path,
) -> None:
    rows = APPS.to_dicts()
    with_co = [i for i, row in enumerate(rows) if row["co_applicant"] is not None]
    i = with_co[0]
    number = rows[i]["co_applicant"]["national_id"]
    rows[i]["co_applicant"]["national_id"] = number[:-1] + ("0" if number[-1] != "0" else "1")
    out = tmp_path / "out"
    frame = pl.DataFrame(rows, schema=APPS.schema)
    rescore_file(written(tmp_path, frame), SHIPPED, SHIPPED, on=ON, out=out)
    rejects = pl.read_parquet(out / REJECTS_FILE)
    assert rejects["row"].to_list() == [i]
    assert rejects["reason"][0].startswith("co_applicant.national_id: invalid ")


_BREAKS: list[tuple[str, str, Any]] = [
    ("loan", "amount", 10),
    ("loan", "amount", 6_000_000),
    ("loan", "term_months", None),
    ("loan", "purpose", "yacht"),
    ("applicant", "payment_remarks", 101),
    ("applicant", "income", -1),
    ("applicant", "income", None),
    ("applicant", "name", ""),
    ("applicant", "name", "å" * 201),
    ("applicant", "name", "å" * 150),  # more bytes than the longest name, not more characters
    ("co_applicant", "phone", "ø" * 20),
    ("applicant", "phone", "9" * 33),
    ("applicant", "citizenship", "XX"),
    ("applicant", "employment", None),
    ("co_applicant", "years_in_country", 121),
    ("co_applicant", "employment", "pirate"),
    ("co_applicant", "name", None),
    ("household", "children", 21),
    ("household", "housing", "castle"),
]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(APPS) - 1), st.integers(0, len(_BREAKS) - 1)), max_size=25
    )
)
def test_rows_checked_in_one_pass_get_the_reasons_of_checking_every_row(
    breaks: list[tuple[int, int]],
) -> None:
    """`validate_rows` words the reasons only of the rows its one boolean pass finds failing;
    the rejects and their reasons are those of wording every check on every row."""
    rows = APPS.to_dicts()
    for i, k in breaks:
        struct, field, value = _BREAKS[k]
        if rows[i][struct] is not None:
            rows[i][struct][field] = value
    frame = pl.DataFrame(rows, schema=APPS.schema).with_row_index(ROW)
    checked = validate_rows(frame, "applications", ON)
    checks = [*_application_checks()]
    every_row = frame.select(
        ROW,
        pl.concat_list(pl.when(c.failed).then(c.reason) for c in checks)
        .list.drop_nulls()
        .list.join("; ")
        .alias("reason"),
    ).filter(pl.col("reason") != "")
    assert checked.rejects.select(ROW, "reason").rows() == every_row.rows()
    assert checked.valid.height + checked.rejects.height == frame.height
    assert checked.valid[ROW].to_list() == sorted(
        set(range(frame.height)) - set(every_row[ROW].to_list())
    )


def test_bad_rows_only_after_a_clean_chunk_are_worded() -> None:
    """A frame in two chunks (a Parquet file's row groups), the first clean: the bad rows of
    the second are worded after a filter that takes no row of the first (Polars 2.1.0's
    `pl.format` panicked there; `concat_str` words them)."""
    rows = APPS.to_dicts()
    rows[-2]["loan"]["purpose"] = "yacht"
    rows[-1]["loan"]["amount"] = 10
    half = len(rows) // 2
    frame = pl.concat(
        [pl.DataFrame(part, schema=APPS.schema) for part in (rows[:half], rows[half:])],
        rechunk=False,
    ).with_row_index(ROW)
    assert frame.get_column("loan").n_chunks() == 2
    checked = validate_rows(frame, "applications", ON)
    assert checked.rejects.select(ROW, "reason").rows() == [
        (
            len(rows) - 2,
            "loan.purpose: yacht is not one of refinance, consumer, car, renovation, other",
        ),
        (len(rows) - 1, "loan.amount: 10 is below the minimum 1000"),
    ]
