"""The feature schema: every feature a rule may read, with its type and nullability.

This is the feature contract, tabled in README.md ("Features"). New features are added to
that table first, then here, then computed in `matcher.features`, then used by rules.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import polars as pl

from lender_rules.vocabulary import EMPLOYMENT_TYPES, HOUSING_TYPES, MARKETS, PURPOSES


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


FEATURES: tuple[Feature, ...] = (
    Feature("market", Type.STR, False, '"NO" or "SE"', MARKETS),
    Feature("age", Type.INT, False, "applicant's age in whole years at the decision date"),
    Feature("has_co_applicant", Type.BOOL, False, "a co-applicant is on the application"),
    Feature("co_age", Type.INT, True, "co-applicant's age; null without co-applicant"),
    Feature("income", Type.INT, False, "applicant's gross yearly income, whole currency units"),
    Feature("co_income", Type.INT, False, "co-applicant's gross yearly income, 0 without one"),
    Feature("total_income", Type.INT, False, "income + co_income"),
    Feature("employment", Type.STR, False, "applicant's employment type", EMPLOYMENT_TYPES),
    Feature("employed_months", Type.INT, False, "months with the current employer, 0 if none"),
    Feature("co_employment", Type.STR, True, "co-applicant's employment type", EMPLOYMENT_TYPES),
    Feature("amount", Type.INT, False, "amount applied for"),
    Feature("term_months", Type.INT, False, "repayment term in months"),
    Feature("purpose", Type.STR, False, "purpose of the loan", PURPOSES),
    Feature("existing_debt", Type.INT, False, "unsecured + secured debt of both applicants"),
    Feature(
        "debt_to_income",
        Type.FLOAT,
        False,
        "(existing_debt + amount) / total_income; +inf when total_income is 0",
    ),
    Feature("payment_remarks", Type.INT, False, "active payment remarks, both applicants"),
    Feature("housing", Type.STR, False, "housing situation", HOUSING_TYPES),
    Feature("housing_cost", Type.INT, False, "monthly housing cost"),
    Feature("children", Type.INT, False, "children under 18 in the household"),
    Feature("years_in_country", Type.INT, False, "years resident in the market's country"),
    Feature("citizenship", Type.STR, False, "ISO 3166-1 alpha-2"),
)

FEATURES_BY_NAME: dict[str, Feature] = {f.name: f for f in FEATURES}
FEATURE_NAMES: tuple[str, ...] = tuple(f.name for f in FEATURES)


def polars_schema() -> pl.Schema:
    """The Polars schema of a feature frame (one row per application)."""
    return pl.Schema({f.name: f.type.polars for f in FEATURES})
