"""The feature row: features_of (plain Python) and feature_frame (Polars) agree and are right."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.application import Application, applications_frame
from matcher.features import (
    BIRTH_DATE_COLUMNS,
    debt_to_income,
    feature_frame,
    features_of,
    with_loan,
)
from matcher.national_id import birth_dates as national_id_birth_dates
from matcher.national_id import make_fodselsnummer, make_personnummer
from matcher.schema import FEATURE_NAMES, polars_schema
from tests.strategies import dated_applications

ON = date(2026, 11, 25)


def person(national_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "national_id": national_id,
        "name": "Ola Nordmann",
        "email": None,
        "phone": None,
        "citizenship": "NO",
        "years_in_country": 30,
        "employment": "permanent",
        "employed_months": 48,
        "income": 600_000,
        "unsecured_debt": 50_000,
        "secured_debt": 1_000_000,
        "payment_remarks": 1,
    } | changes


def make_app(**changes: Any) -> Application:
    data = {
        "market": "NO",
        "applicant": person("15038512363", citizenship="PL", years_in_country=7),  # 1985-03-15
        "co_applicant": None,
        "loan": {"amount": 200_000, "term_months": 84, "purpose": "renovation"},
        "household": {"housing": "own", "housing_cost": 12_000, "children": 3},
    } | changes
    return Application.model_validate(data, context={"on": ON})


def frame_row(app: Application, on: date = ON) -> dict[str, Any]:
    (row,) = feature_frame(applications_frame([app]), on).collect().to_dicts()
    return row


CO_ID = make_fodselsnummer(date(1990, 11, 25), 301, d_number=True)  # D-number; birthday on ON


def test_features_of_a_single_applicant() -> None:
    assert features_of(make_app(), ON) == {
        "market": "NO",
        "age": 41,
        "has_co_applicant": False,
        "co_age": None,
        "income": 600_000,
        "co_income": 0,
        "total_income": 600_000,
        "employment": "permanent",
        "employed_months": 48,
        "co_employment": None,
        "amount": 200_000,
        "term_months": 84,
        "purpose": "renovation",
        "existing_debt": 1_050_000,
        "debt_to_income": 1_250_000 / 600_000,
        "payment_remarks": 1,
        "housing": "own",
        "housing_cost": 12_000,
        "children": 3,
        "years_in_country": 7,
        "citizenship": "PL",
    }


def test_a_co_applicant_adds_income_debt_and_remarks() -> None:
    co = person(CO_ID, income=300_000, unsecured_debt=5_000, secured_debt=0, payment_remarks=2)
    co |= {"employment": "temporary", "citizenship": "SE", "years_in_country": 1}
    row = features_of(make_app(co_applicant=co), ON)
    assert row["has_co_applicant"] is True
    assert row["co_age"] == 36  # born 1990-11-25, the decision date is the 36th birthday
    assert row["co_income"] == 300_000
    assert row["total_income"] == 900_000
    assert row["co_employment"] == "temporary"
    assert row["existing_debt"] == 1_055_000
    assert row["debt_to_income"] == 1_255_000 / 900_000
    assert row["payment_remarks"] == 3
    assert (row["citizenship"], row["years_in_country"]) == ("PL", 7)  # the applicant's


def test_debt_to_income_is_infinite_without_income() -> None:
    row = features_of(make_app(applicant=person("15038512363", income=0)), ON)
    assert row["total_income"] == 0
    assert row["debt_to_income"] == math.inf
    assert frame_row(make_app(applicant=person("15038512363", income=0)))["debt_to_income"] == (
        math.inf
    )
    assert debt_to_income(0, 1_000, 0) == math.inf


def test_age_is_taken_at_the_decision_date() -> None:
    app = make_app()
    assert features_of(app, date(2026, 3, 14))["age"] == 40
    assert features_of(app, date(2026, 3, 15))["age"] == 41
    assert frame_row(app, date(2026, 3, 14))["age"] == 40
    assert frame_row(app, date(2026, 3, 15))["age"] == 41


def test_swedish_ages_in_every_personnummer_form() -> None:
    born = date(1990, 7, 14)
    for form in ("short", "compact", "long"):
        number = make_personnummer(born, 42, on=ON, samordningsnummer=True, form=form)
        app = make_app(market="SE", applicant=person(number))
        assert features_of(app, ON)["age"] == 36
        assert frame_row(app)["age"] == 36
    centenarian = make_app(
        market="SE", applicant=person(make_personnummer(date(1920, 1, 1), 7, on=ON))
    )
    assert features_of(centenarian, ON)["age"] == 106
    assert frame_row(centenarian)["age"] == 106


def test_features_of_lists_the_schema_features_in_order() -> None:
    assert tuple(features_of(make_app(), ON)) == FEATURE_NAMES


def test_feature_frame_has_the_schema_columns_and_types() -> None:
    frame = feature_frame(applications_frame([make_app()]), ON)
    assert frame.collect_schema() == polars_schema()


def test_feature_frame_passes_application_id_through_first() -> None:
    apps = applications_frame([make_app(), make_app()], application_ids=["x1", "x2"])
    out = feature_frame(apps.lazy(), ON).collect()
    assert out.columns == ["application_id", *FEATURE_NAMES]
    assert out["application_id"].to_list() == ["x1", "x2"]
    assert out.drop("application_id").schema == polars_schema()


def test_feature_frame_accepts_a_frame_built_without_a_schema() -> None:
    apps = pl.DataFrame([make_app().model_dump()])  # co_applicant and email have dtype Null
    assert apps.schema["co_applicant"] == pl.Null
    assert feature_frame(apps, ON).collect().to_dicts() == [features_of(make_app(), ON)]


def test_a_null_co_applicant_has_no_co_features_whatever_its_fields_hold() -> None:
    import pyarrow as pa

    co = applications_frame([make_app(co_applicant=person(CO_ID, employment="retired"))])
    two = pl.concat([co, co]).with_columns(  # the second's struct null over its fields
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("co_applicant")).alias("co_applicant")
    )
    table = pl.concat([co, co]).to_arrow()
    index = table.schema.get_field_index("co_applicant")
    fields = table.column(index).combine_chunks()
    # in Arrow, a null struct over fields that hold values
    hidden = pa.StructArray.from_arrays(
        [fields.field(k) for k in range(fields.type.num_fields)],
        fields=list(fields.type),
        mask=pa.array([False, True]),
    )
    assert hidden.field(fields.type.get_field_index("employment")).null_count == 0
    from_arrow = pl.from_arrow(table.set_column(index, "co_applicant", hidden))
    assert isinstance(from_arrow, pl.DataFrame)
    alone = features_of(make_app(), ON)
    for apps in (two, from_arrow):
        rows = feature_frame(apps, ON).collect().to_dicts()
        assert rows[0]["co_employment"] == "retired"
        assert rows[1] == alone


def test_feature_frame_accepts_narrower_integer_fields() -> None:
    apps = applications_frame([make_app()])
    narrow = apps.with_columns(
        pl.col("loan").cast(
            pl.Struct({"amount": pl.Int32, "term_months": pl.Int16, "purpose": pl.String})
        )
    )
    out = feature_frame(narrow, ON).collect()
    assert out.schema == polars_schema()
    assert out.row(0, named=True) == features_of(make_app(), ON)


def test_with_loan_changes_amount_and_term_and_recomputes_debt_to_income() -> None:
    row = features_of(make_app(), ON)
    changed = with_loan(row, amount=50_000, term_months=24)
    assert changed["amount"] == 50_000
    assert changed["term_months"] == 24
    assert changed["debt_to_income"] == 1_100_000 / 600_000
    assert row["amount"] == 200_000  # the original is untouched
    assert {
        k: v for k, v in changed.items() if k not in ("amount", "term_months", "debt_to_income")
    } == {k: v for k, v in row.items() if k not in ("amount", "term_months", "debt_to_income")}
    no_income = features_of(make_app(applicant=person("15038512363", income=0)), ON)
    assert with_loan(no_income, amount=1_000, term_months=12)["debt_to_income"] == math.inf


@given(st.lists(dated_applications(), min_size=1, max_size=8))
def test_features_of_equals_feature_frame_row_by_row(dated: list[tuple[Application, date]]) -> None:
    on = max(d for _, d in dated)  # every application is valid on the latest date
    apps = [app for app, _ in dated]
    frame_rows = feature_frame(applications_frame(apps), on).collect().to_dicts()
    assert frame_rows == [features_of(app, on) for app in apps]


@given(dated_applications())
def test_features_of_equals_feature_frame_on_the_applications_own_date(
    dated: tuple[Application, date],
) -> None:
    """The strategy often draws births on the decision date's day and on 29 February."""
    app, on = dated
    assert frame_row(app, on) == features_of(app, on)


@pytest.mark.parametrize("on", [date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 1)])
def test_leap_day_birthdays_agree_around_29_february(on: date) -> None:
    app = make_app(
        applicant=person(make_fodselsnummer(date(2000, 2, 29), 556), years_in_country=20)
    )
    expected = {date(2028, 2, 28): 27, date(2028, 2, 29): 28, date(2028, 3, 1): 28}[on]
    assert features_of(app, on)["age"] == expected
    assert frame_row(app, on)["age"] == expected
    assert features_of(app, date(2027, 2, 28))["age"] == 26
    assert frame_row(app, date(2027, 3, 1))["age"] == 27


@given(st.lists(dated_applications(), min_size=1, max_size=8))
def test_feature_frame_with_the_birth_dates_of_the_ids_equals_reading_the_ids(
    dated: list[tuple[Application, date]],
) -> None:
    """Ages taken from `BIRTH_DATE_COLUMNS` (the ids' birth dates, as a batch that has just
    checked them has them) are those `feature_frame` reads from the ids, and `features_of`'s."""
    on = max(d for _, d in dated)
    apps = [app for app, _ in dated]
    frame = applications_frame(apps)
    births = [
        national_id_birth_dates(
            frame, pl.col(role).struct.field("national_id"), pl.col("market"), on=on
        ).alias(column)
        for role, column in BIRTH_DATE_COLUMNS.items()
    ]
    with_births = feature_frame(frame.with_columns(births), on).collect()
    assert with_births.equals(feature_frame(frame, on).collect())
    assert with_births.to_dicts() == [features_of(app, on) for app in apps]
