"""The feature schema: every feature a rule may read, with its type and nullability.

This is the feature contract, tabled in README.md ("Features"). New features are added to
that table first, then here, then computed in `matcher.features`, then used by rules.

Every number feature has bounds, derived from the bounds of the application model
(`matcher.application`): the compiler works out from them the range of every expression of a
rule (`matcher.ranges`), and feature rows and frames are checked against them before they are
evaluated (`matcher.feature_checks`).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import polars as pl

from lender_rules.vocabulary import EMPLOYMENT_TYPES, HOUSING_TYPES, MARKETS, PURPOSES
from matcher.application import (
    AMOUNT_MAX,
    AMOUNT_MIN,
    CHILDREN_MAX,
    DEBT_MAX,
    EMPLOYED_MONTHS_MAX,
    HOUSING_COST_MAX,
    INCOME_MAX,
    PAYMENT_REMARKS_MAX,
    TERM_MAX,
    TERM_MIN,
    YEARS_IN_COUNTRY_MAX,
)

# Ages follow from national identity numbers, whose births start in 1854 (fødselsnummer of the
# 1800s): below 250 for any decision date before 2104.
AGE_MAX = 250


class Type(enum.Enum):
    """A value type of the rule language."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    STR = "str"

    @property
    def is_numeric(self) -> bool:
        return self in (Type.INT, Type.FLOAT)

    @property
    def polars(self) -> pl.DataType:
        return _POLARS_TYPES[self]


_POLARS_TYPES: dict[Type, pl.DataType] = {
    Type.BOOL: pl.Boolean(),
    Type.INT: pl.Int64(),
    Type.FLOAT: pl.Float64(),
    Type.STR: pl.String(),
}


@dataclass(frozen=True)
class Feature:
    """One column of the feature row."""

    name: str
    type: Type
    nullable: bool
    meaning: str
    values: tuple[str, ...] = ()  # the closed set of values of an enum-like string feature
    low: int | float | None = None  # bounds of a number feature, inclusive
    high: int | float | None = None


FEATURES: tuple[Feature, ...] = (
    Feature("market", Type.STR, False, '"NO" or "SE"', MARKETS),
    Feature(
        "age",
        Type.INT,
        False,
        "applicant's age in whole years at the decision date",
        low=0,
        high=AGE_MAX,
    ),
    Feature("has_co_applicant", Type.BOOL, False, "a co-applicant is on the application"),
    Feature(
        "co_age",
        Type.INT,
        True,
        "co-applicant's age; null without co-applicant",
        low=0,
        high=AGE_MAX,
    ),
    Feature(
        "income",
        Type.INT,
        False,
        "applicant's gross yearly income, whole currency units",
        low=0,
        high=INCOME_MAX,
    ),
    Feature(
        "co_income",
        Type.INT,
        False,
        "co-applicant's gross yearly income, 0 without one",
        low=0,
        high=INCOME_MAX,
    ),
    Feature("total_income", Type.INT, False, "income + co_income", low=0, high=2 * INCOME_MAX),
    Feature("employment", Type.STR, False, "applicant's employment type", EMPLOYMENT_TYPES),
    Feature(
        "employed_months",
        Type.INT,
        False,
        "months with the current employer, 0 if none",
        low=0,
        high=EMPLOYED_MONTHS_MAX,
    ),
    Feature("co_employment", Type.STR, True, "co-applicant's employment type", EMPLOYMENT_TYPES),
    Feature("amount", Type.INT, False, "amount applied for", low=AMOUNT_MIN, high=AMOUNT_MAX),
    Feature(
        "term_months", Type.INT, False, "repayment term in months", low=TERM_MIN, high=TERM_MAX
    ),
    Feature("purpose", Type.STR, False, "purpose of the loan", PURPOSES),
    Feature(
        "existing_debt",
        Type.INT,
        False,
        "unsecured + secured debt of both applicants",
        low=0,
        high=4 * DEBT_MAX,
    ),
    Feature(
        "debt_to_income",
        Type.FLOAT,
        False,
        "(existing_debt + amount) / total_income; +inf when total_income is 0",
        low=0.0,
        high=math.inf,
    ),
    Feature(
        "payment_remarks",
        Type.INT,
        False,
        "active payment remarks, both applicants",
        low=0,
        high=2 * PAYMENT_REMARKS_MAX,
    ),
    Feature("housing", Type.STR, False, "housing situation", HOUSING_TYPES),
    Feature("housing_cost", Type.INT, False, "monthly housing cost", low=0, high=HOUSING_COST_MAX),
    Feature(
        "children", Type.INT, False, "children under 18 in the household", low=0, high=CHILDREN_MAX
    ),
    Feature(
        "years_in_country",
        Type.INT,
        False,
        "years resident in the market's country",
        low=0,
        high=YEARS_IN_COUNTRY_MAX,
    ),
    Feature("citizenship", Type.STR, False, "ISO 3166-1 alpha-2"),
)

FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


def polars_schema() -> pl.Schema:
    """The Polars schema of a feature frame (one row per application)."""
    return pl.Schema({f.name: f.type.polars for f in FEATURES})
