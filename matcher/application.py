"""The loan application as the HTTP API accepts it: strict pydantic models.

The shape is a contract (other modules code against it); the bounds are module constants so
that tests, the generator and the API documentation use the same numbers, and every field's
JSON Schema states its bounds (the OpenAPI page publishes them). The model holds only what
the applicant stated: derived values such as age are computed at decision time by
`matcher.features`.

Beyond each field's own bounds, an application is refused when it describes no possible
person or household, each problem located at its field path (e.g. ``applicant.national_id``):

- a national id invalid for the application's market (fødselsnummer for NO, personnummer for
  SE), for the applicant and the co-applicant;
- a person aged under `MIN_AGE` (no credit agreement with a minor) or over `MAX_AGE` on the
  reference date;
- a synthetic test number (fødselsnummer month + 80), unless the context accepts them
  (demo and test mode);
- a co-applicant with the applicant's national id (in any written form);
- `years_in_country` greater than the person's age; `employed_months` longer than the months
  since the person's `WORKING_AGE`th birthday, or above 0 for an employment without an
  employer (`WITHOUT_EMPLOYER`: student, unemployed);
- an e-mail that is not an address (syntax only, no DNS), a phone that is not a phone number
  (international, or national in the market's country), a name that is only whitespace or
  holds control or format characters, a citizenship that is not an ISO 3166-1 alpha-2 code.

The validation context (``model_validate(..., context=...)``): ``"on"``, the reference date
(default today), and ``"synthetic_ids"``, true to accept synthetic test numbers (default
false); `validation_context` builds it.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any, Self

import polars as pl
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from lender_rules.vocabulary import (
    COUNTRIES,
    MARKETS,
    WITHOUT_EMPLOYER,
    Employment,
    Housing,
    Market,
    Purpose,
)
from matcher.contact import email_problem, is_phone_number
from matcher.person_checks import MAX_AGE, MIN_AGE, WORKING_AGE, person_problems

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
NATIONAL_ID_MAX_LENGTH = 13

NATIONAL_ID_FORMATS = (
    "NO: fødselsnummer, 11 digits DDMMYYIIIKK (D-numbers and H-numbers too); "
    "SE: personnummer or samordningsnummer, YYMMDD-NNNC, YYMMDD+NNNC (aged 100 or more), "
    "YYMMDDNNNC, YYYYMMDDNNNC or YYYYMMDD-NNNC. Check digits are checked; the holder must be "
    f"{MIN_AGE}-{MAX_AGE} years old. Synthetic test numbers (fødselsnummer month + 80) are "
    "accepted only in demo and test mode."
)

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)

_NOT_IN_TEXT = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Unicode categories a name may not hold: control, format (bidi overrides, zero-width),
surrogate, private-use and unassigned characters, line and paragraph separators."""
_COUNTRY_CODES = frozenset(COUNTRIES)


def _name(value: str) -> str:
    if value.isspace():
        raise PydanticCustomError("name", "a name is not only whitespace")
    # printable text has no character of another category than letters, marks, numbers,
    # punctuation, symbols and the ASCII space: the per-character look-up only for the rest
    if not value.isprintable() and any(unicodedata.category(ch) in _NOT_IN_TEXT for ch in value):
        raise PydanticCustomError("name", "a name holds no control or format characters")
    return value


def _email(value: str) -> str:
    reason = email_problem(value)
    if reason is not None:
        raise PydanticCustomError("email", "not an e-mail address: {reason}", {"reason": reason})
    return value


def _country(value: str) -> str:
    if value not in _COUNTRY_CODES:
        raise PydanticCustomError("country_code", "not an ISO 3166-1 alpha-2 country code")
    return value


Name = Annotated[
    str,
    Field(
        min_length=NAME_MIN_LENGTH,
        max_length=NAME_MAX_LENGTH,
        description="Not only whitespace; no control or format characters.",
    ),
    AfterValidator(_name),
]
Email = Annotated[
    str,
    Field(
        max_length=EMAIL_MAX_LENGTH,
        json_schema_extra={"format": "email"},
        description="An e-mail address (its syntax is checked; no DNS look-up).",
    ),
    AfterValidator(_email),
]
Country = Annotated[
    str,
    Field(
        json_schema_extra={"enum": list(COUNTRIES)},
        description="ISO 3166-1 alpha-2 country code, e.g. NO, SE, PL.",
    ),
    AfterValidator(_country),
]


class Person(BaseModel):
    """An applicant or co-applicant, as stated on the application."""

    model_config = _STRICT

    national_id: Annotated[
        str, Field(min_length=1, max_length=NATIONAL_ID_MAX_LENGTH, description=NATIONAL_ID_FORMATS)
    ]
    name: Name
    email: Email | None = None
    phone: Annotated[
        str | None,
        Field(
            max_length=PHONE_MAX_LENGTH,
            description=(
                "A phone number: international (+47 912 34 567) or national in the "
                "application's market (912 34 567, 070-123 45 67)."
            ),
        ),
    ] = None
    citizenship: Country
    years_in_country: Annotated[
        int,
        Field(
            ge=YEARS_IN_COUNTRY_MIN,
            le=YEARS_IN_COUNTRY_MAX,
            description="Years resident in the market's country; at most the person's age.",
        ),
    ]
    employment: Employment
    employed_months: Annotated[
        int,
        Field(
            ge=EMPLOYED_MONTHS_MIN,
            le=EMPLOYED_MONTHS_MAX,
            description=(
                "Months with the current employer: at most the months since the person's "
                f"{WORKING_AGE}th birthday, and 0 for {' and '.join(WITHOUT_EMPLOYER)} "
                "(no employer)."
            ),
        ),
    ]
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
    def _check_people(self, info: ValidationInfo) -> Self:
        on = reference_date(info.context)
        synthetic_ids = synthetic_ids_accepted(info.context)
        errors: list[InitErrorDetails] = []
        numbers: list[str] = []
        for role, person in (("applicant", self.applicant), ("co_applicant", self.co_applicant)):
            if person is None:
                continue
            for field, kind, message, context in person_problems(
                person, self.market, on, synthetic_ids=synthetic_ids, others=numbers
            ):
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(kind, message, context),
                        loc=(role, field),
                        input=getattr(person, field),
                    )
                )
        if errors:
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


def _phone_of_some_market(value: str) -> str:
    if not any(is_phone_number(value, market) for market in MARKETS):
        raise PydanticCustomError("phone_number", "not a phone number")
    return value


Phone = Annotated[
    str,
    Field(
        max_length=PHONE_MAX_LENGTH,
        description="A phone number: international, or national in one of the markets.",
    ),
    AfterValidator(_phone_of_some_market),
]
"""A phone number given without its application's market (a rectification)."""


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


def validation_context(*, on: date | None = None, synthetic_ids: bool = False) -> dict[str, Any]:
    """The context of `Application.model_validate`: the reference date (None: today) and
    whether synthetic test national ids are accepted (demo and test mode only)."""
    return {"on": on, "synthetic_ids": synthetic_ids}


def reference_date(context: object) -> date:
    """The date national ids are checked against: ``context["on"]`` if given, else today."""
    if isinstance(context, dict):
        on = context.get("on")
        if isinstance(on, date):
            return on
    return date.today()


def synthetic_ids_accepted(context: object) -> bool:
    """Whether the context accepts synthetic test national ids (``context["synthetic_ids"]``)."""
    return isinstance(context, dict) and context.get("synthetic_ids") is True
