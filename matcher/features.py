"""The feature row (README.md, "Features"), computed two ways, side by side.

- `features_of`: one `Application` in plain Python (the single-application hot path).
- `feature_frame`: a frame of applications in the nested shape (struct columns ``applicant``,
  ``co_applicant`` (nullable), ``loan``, ``household``; string ``market``) with Polars
  expressions only.

Both give the columns of `matcher.schema.FEATURES`, in that order and with those types; a
property test keeps them equal row by row. When you change one, change the other next to it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

import polars as pl

from matcher.application import APPLICATION_FRAME_SCHEMA, Application
from matcher.errors import FeatureRowError
from matcher.feature_checks import check_row
from matcher.national_id import (
    age_expr,
    age_on_ymd,
    birth_ymd,
    birth_ymd_from_parts,
    id_parts_exprs,
)
from matcher.schema import FEATURE_NAMES, polars_schema

APPLICATION_ID = "application_id"
BIRTH_DATE_COLUMNS = {
    "applicant": "__lendmatch_applicant_born",
    "co_applicant": "__lendmatch_co_applicant_born",
}
"""Columns that `feature_frame` takes each person's birth date from (YYYYMMDD integers, as
`matcher.national_id.birth_dates` gives them) where a frame holds them, instead of reading
the national ids again: a batch that has just checked the ids has them at hand."""


# --- one application, plain Python -------------------------------------------------------


def debt_to_income(existing_debt: int, amount: int, total_income: int) -> float:
    """(existing_debt + amount) / total_income; +inf when total_income is 0."""
    if total_income == 0:
        return math.inf
    return (existing_debt + amount) / total_income


def features_of(app: Application, on: date) -> dict[str, Any]:
    """The feature row of one (validated) application at decision date `on`."""
    market = app.market
    a = app.applicant
    co = app.co_applicant
    loan = app.loan
    household = app.household
    existing_debt = a.unsecured_debt + a.secured_debt
    remarks = a.payment_remarks
    if co is None:
        co_age: int | None = None
        co_income = 0
        co_employment: str | None = None
    else:
        year, month, day = birth_ymd(co.national_id, market, on=on)
        co_age = age_on_ymd(year, month, day, on)
        co_income = co.income
        co_employment = co.employment
        existing_debt += co.unsecured_debt + co.secured_debt
        remarks += co.payment_remarks
    total_income = a.income + co_income
    # the birth date unpacked, not passed with `*`: compiled, that would make a tuple of it
    year, month, day = birth_ymd(a.national_id, market, on=on)
    return {
        "market": market,
        "age": age_on_ymd(year, month, day, on),
        "has_co_applicant": co is not None,
        "co_age": co_age,
        "income": a.income,
        "co_income": co_income,
        "total_income": total_income,
        "employment": a.employment,
        "employed_months": a.employed_months,
        "co_employment": co_employment,
        "amount": loan.amount,
        "term_months": loan.term_months,
        "purpose": loan.purpose,
        "existing_debt": existing_debt,
        "debt_to_income": debt_to_income(existing_debt, loan.amount, total_income),
        "payment_remarks": remarks,
        "housing": household.housing,
        "housing_cost": household.housing_cost,
        "children": household.children,
        "years_in_country": a.years_in_country,
        "citizenship": a.citizenship,
    }


def with_loan(features: Mapping[str, Any], *, amount: int, term_months: int) -> dict[str, Any]:
    """A copy of a feature row with another amount and term, debt_to_income recomputed."""
    row = dict(features)
    set_loan(row, amount=amount, term_months=term_months)
    return row


def set_loan(row: dict[str, Any], *, amount: int, term_months: int) -> dict[str, Any]:
    """`with_loan` in place (for searches that try many amounts on one scratch row)."""
    row["amount"] = amount
    row["term_months"] = term_months
    row["debt_to_income"] = debt_to_income(row["existing_debt"], amount, row["total_income"])
    return row


CORRECTABLE_FEATURES: tuple[str, ...] = tuple(
    name for name in FEATURE_NAMES if name not in ("market", "total_income", "debt_to_income")
)
"""The features a reviewer may correct: every one but the market (it chooses the lenders)
and those computed from others (total_income, debt_to_income: correct their inputs)."""


def with_corrections(features: Mapping[str, Any], corrections: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a feature row with `corrections` (feature name -> value) applied and the
    computed features (total_income, debt_to_income) worked out again from them.

    `FeatureRowError` naming the first correction that is not a correctable feature, or whose
    value the feature contract does not allow (the row is checked as any row evaluated)."""
    row = dict(features)
    for name, value in corrections.items():
        if name not in CORRECTABLE_FEATURES:
            reason = "not a feature" if name not in FEATURE_NAMES else "cannot be corrected"
            raise FeatureRowError(name, value, reason)
        row[name] = value
    check_row(row)  # the corrected values have their types and bounds before they are used
    row["total_income"] = row["income"] + row["co_income"]
    row["debt_to_income"] = debt_to_income(row["existing_debt"], row["amount"], row["total_income"])
    check_row(row)
    return row


# --- many applications, Polars expressions -----------------------------------------------


def _id_parts(role: str) -> list[pl.Expr]:
    """Stage 1: the parts of the national id of `role` that its age needs, as columns."""
    national_id = pl.col(role).struct.field("national_id")
    parts = id_parts_exprs(national_id, pl.col("market").cast(pl.String))
    return [expr.alias(f"__{role}_{name}") for name, expr in parts.items()]


def _age(role: str, on: date) -> pl.Expr:
    """Stage 2: the age of `role` from the columns of `_id_parts`."""
    head, is_no, long_se, plus = (
        pl.col(f"__{role}_{n}") for n in ("head", "is_no", "long_se", "plus")
    )
    return age_expr(*birth_ymd_from_parts(head, is_no, long_se, plus, on=on), on=on)


def _age_from_birth(born: pl.Expr, on: date) -> pl.Expr:
    """`age_on` of a birth date given as the integer YYYYMMDD."""
    on_mmdd = on.month * 100 + on.day
    year, mmdd = born.cast(pl.Int64) // 10_000, born.cast(pl.Int64) % 10_000
    return pl.lit(on.year, pl.Int64) - year - (mmdd > on_mmdd).cast(pl.Int64)


def feature_frame(apps: pl.DataFrame | pl.LazyFrame, on: date) -> pl.LazyFrame:
    """The feature rows of a frame of applications at decision date `on` (lazy).

    The input has the nested shape of `Application` as struct columns; an
    ``application_id`` column, if present, is passed through as the first column. National
    ids are assumed valid (as every `Application` is); an invalid one gives an undefined
    age. A person's age comes from the column `BIRTH_DATE_COLUMNS[role]` where the frame
    holds it (the birth dates of those ids), else from the national id.
    """
    lazy = apps.lazy()
    input_schema = lazy.collect_schema()
    from_ids = [role for role, born in BIRTH_DATE_COLUMNS.items() if born not in input_schema]

    def age(role: str) -> pl.Expr:
        if role in from_ids:
            return _age(role, on)
        return _age_from_birth(pl.col(BIRTH_DATE_COLUMNS[role]), on)

    market = pl.col("market").cast(pl.String)
    a = pl.col("applicant")
    co = pl.col("co_applicant")
    loan = pl.col("loan")
    household = pl.col("household")

    def field(struct: pl.Expr, name: str) -> pl.Expr:
        return struct.struct.field(name).cast(pl.Int64)

    has_co = co.is_not_null()
    co_income = pl.when(has_co).then(field(co, "income")).otherwise(0)
    total_income = field(a, "income") + co_income
    amount = field(loan, "amount")
    existing_debt = (
        field(a, "unsecured_debt")
        + field(a, "secured_debt")
        + pl.when(has_co).then(field(co, "unsecured_debt") + field(co, "secured_debt")).otherwise(0)
    )
    remarks = field(a, "payment_remarks") + pl.when(has_co).then(
        field(co, "payment_remarks")
    ).otherwise(0)
    dti = (
        pl.when(total_income == 0)
        .then(pl.lit(math.inf))
        .otherwise((existing_debt + amount).cast(pl.Float64) / total_income.cast(pl.Float64))
    )
    exprs: dict[str, pl.Expr] = {
        "market": market,
        "age": age("applicant"),
        "has_co_applicant": has_co,
        "co_age": pl.when(has_co).then(age("co_applicant")),
        "income": field(a, "income"),
        "co_income": co_income,
        "total_income": total_income,
        "employment": a.struct.field("employment"),
        "employed_months": field(a, "employed_months"),
        # a null struct's fields are null in Polars (its nulls are carried into them), so
        # the field as it is: `when(has_co).then(...)` made the same values with a validity
        # of its own beside the field's views, which each chunk's Arrow export (the frame
        # kernel's read) then realigned bit by bit (0.1 ms a chunk of 100,000 rows)
        "co_employment": co.struct.field("employment"),
        "amount": amount,
        "term_months": field(loan, "term_months"),
        "purpose": loan.struct.field("purpose"),
        "existing_debt": existing_debt,
        "debt_to_income": dti,
        "payment_remarks": remarks,
        "housing": household.struct.field("housing"),
        "housing_cost": field(household, "housing_cost"),
        "children": field(household, "children"),
        "years_in_country": field(a, "years_in_country"),
        "citizenship": a.struct.field("citizenship"),
    }
    schema = polars_schema()
    columns = [exprs[name].cast(schema[name]).alias(name) for name in FEATURE_NAMES]
    if APPLICATION_ID in input_schema:
        columns.insert(0, pl.col(APPLICATION_ID))
    if (
        input_schema.get("co_applicant") == pl.Null
    ):  # a frame made without a schema, no co-applicants
        lazy = lazy.with_columns(
            pl.col("co_applicant").cast(APPLICATION_FRAME_SCHEMA["co_applicant"])
        )
    return lazy.with_columns(*(part for role in from_ids for part in _id_parts(role))).select(
        columns
    )
