"""The loan application as the HTTP API accepts it: strict pydantic models.

The shape is a contract (other modules code against it); the bounds are module constants so
that tests, the generator and the API documentation use the same numbers. The model holds only
what the applicant stated: derived values such as age are computed at decision time by
`matcher.features`.

National identity numbers are checked against the application's market (fødselsnummer for
NO, personnummer for SE) for the applicant and the co-applicant; an invalid one is a
validation error located at its field path, e.g. ``applicant.national_id``. The check needs a
reference date for 10-digit personnummer and for "born in the future": it is
``context={"on": date}`` when given to `model_validate`, else today.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Self

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from lender_rules.vocabulary import Employment, Housing, Market, Purpose
from matcher.errors import InvalidNationalIdError
from matcher.national_id import parse

AMOUNT_MIN = 1_000
AMOUNT_MAX = 5_000_000
TERM_MIN = 1
TERM_MAX = 360
INCOME_MIN = 0
INCOME_MAX = 100_000_000
DEBT_MIN = 0
DEBT_MAX = 1_000_000_000
PAYMENT_REMARKS_MIN = 0
PAYMENT_REMARKS_MAX = 100
HOUSING_COST_MIN = 0
HOUSING_COST_MAX = 1_000_000
CHILDREN_MIN = 0
CHILDREN_MAX = 20
YEARS_IN_COUNTRY_MIN = 0
YEARS_IN_COUNTRY_MAX = 120
EMPLOYED_MONTHS_MIN = 0
EMPLOYED_MONTHS_MAX = 720
NAME_MIN_LENGTH = 1
NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 320
PHONE_MAX_LENGTH = 32

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)


class Person(BaseModel):
    """An applicant or co-applicant, as stated on the application."""

    model_config = _STRICT

    national_id: Annotated[str, Field(min_length=1, max_length=13)]
    name: Annotated[str, Field(min_length=NAME_MIN_LENGTH, max_length=NAME_MAX_LENGTH)]
    email: Annotated[str | None, Field(max_length=EMAIL_MAX_LENGTH)] = None
    phone: Annotated[str | None, Field(max_length=PHONE_MAX_LENGTH)] = None
    citizenship: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]  # ISO 3166-1 alpha-2
    years_in_country: Annotated[int, Field(ge=YEARS_IN_COUNTRY_MIN, le=YEARS_IN_COUNTRY_MAX)]
    employment: Employment
    employed_months: Annotated[int, Field(ge=EMPLOYED_MONTHS_MIN, le=EMPLOYED_MONTHS_MAX)]
    income: Annotated[int, Field(ge=INCOME_MIN, le=INCOME_MAX)]  # gross yearly
    unsecured_debt: Annotated[int, Field(ge=DEBT_MIN, le=DEBT_MAX)]
    secured_debt: Annotated[int, Field(ge=DEBT_MIN, le=DEBT_MAX)]
    payment_remarks: Annotated[int, Field(ge=PAYMENT_REMARKS_MIN, le=PAYMENT_REMARKS_MAX)]


class Loan(BaseModel):
    """What is applied for."""

    model_config = _STRICT

    amount: Annotated[int, Field(ge=AMOUNT_MIN, le=AMOUNT_MAX)]
    term_months: Annotated[int, Field(ge=TERM_MIN, le=TERM_MAX)]
    purpose: Purpose


class Household(BaseModel):
    """The applicant's household."""

    model_config = _STRICT

    housing: Housing
    housing_cost: Annotated[int, Field(ge=HOUSING_COST_MIN, le=HOUSING_COST_MAX)]  # monthly
    children: Annotated[int, Field(ge=CHILDREN_MIN, le=CHILDREN_MAX)]


class Application(BaseModel):
    """One loan application: market, applicant, optional co-applicant, loan, household."""

    model_config = _STRICT

    market: Market
    applicant: Person
    co_applicant: Person | None = None
    loan: Loan
    household: Household

    @model_validator(mode="after")
    def _check_national_ids(self, info: ValidationInfo) -> Self:
        on = reference_date(info.context)
        errors: list[InitErrorDetails] = []
        for role, person in (("applicant", self.applicant), ("co_applicant", self.co_applicant)):
            if person is None:
                continue
            try:
                parse(person.national_id, self.market, on=on)
            except InvalidNationalIdError as exc:
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "national_id",
                            "invalid {kind}: {reason}",
                            {"kind": exc.kind, "reason": exc.reason},
                        ),
                        loc=(role, "national_id"),
                        input=person.national_id,
                    )
                )
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


def _person_frame_type() -> pl.Struct:
    return pl.Struct(
        {
            "national_id": pl.String(),
            "name": pl.String(),
            "email": pl.String(),
            "phone": pl.String(),
            "citizenship": pl.String(),
            "years_in_country": pl.Int64(),
            "employment": pl.String(),
            "employed_months": pl.Int64(),
            "income": pl.Int64(),
            "unsecured_debt": pl.Int64(),
            "secured_debt": pl.Int64(),
            "payment_remarks": pl.Int64(),
        }
    )


_FRAME_COLUMNS: dict[str, pl.DataType] = {
    "market": pl.String(),
    "applicant": _person_frame_type(),
    "co_applicant": _person_frame_type(),  # null without a co-applicant
    "loan": pl.Struct({"amount": pl.Int64(), "term_months": pl.Int64(), "purpose": pl.String()}),
    "household": pl.Struct(
        {"housing": pl.String(), "housing_cost": pl.Int64(), "children": pl.Int64()}
    ),
}
APPLICATION_FRAME_SCHEMA = pl.Schema(_FRAME_COLUMNS)
"""The Polars schema of a frame of applications: one struct column per nested model."""


def applications_frame(
    apps: Iterable[Application], *, application_ids: Iterable[str] | None = None
) -> pl.DataFrame:
    """A frame of applications in the nested shape (`APPLICATION_FRAME_SCHEMA`), optionally
    with an ``application_id`` column first."""
    rows = [app.model_dump() for app in apps]
    frame = pl.DataFrame(rows, schema=APPLICATION_FRAME_SCHEMA, orient="row")
    if application_ids is not None:
        ids = pl.Series("application_id", list(application_ids), dtype=pl.String)
        frame = frame.insert_column(0, ids)
    return frame


def reference_date(context: object) -> date:
    """The date national ids are checked against: ``context["on"]`` if given, else today."""
    if isinstance(context, dict):
        on = context.get("on")
        if isinstance(on, date):
            return on
    return date.today()
