"""The vocabulary of lendmatch: every short closed list, written once.

Each list is a `Literal` type (for pydantic models, FastAPI parameters and mypy) and the tuple
of its values in their canonical order (`typing.get_args` of the Literal, so the two cannot
drift apart). Everything else imports from here: the application model, the feature schema,
the rule-file loader, the store's checks, the API's parameters and the CLI's options.

To add a language (Danish, say): add "da" to `Language` here, its texts to `matcher.texts`,
and a "da" reason to every lender file. Nothing else changes.
"""

from __future__ import annotations

from typing import Literal, get_args

import pycountry

Market = Literal["NO", "SE"]
"""The markets the broker serves (ISO 3166-1 alpha-2 of the country)."""
MARKETS: tuple[Market, ...] = get_args(Market)

Language = Literal["en", "nb", "sv"]
"""Languages of reasons, plain words and answers: English, Norwegian bokmål, Swedish."""
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "en"

Role = Literal["frontend", "admin"]
"""What an API key may do: frontend posts and reads decisions; admin also manages rulesets."""
ROLES: tuple[Role, ...] = get_args(Role)

CaseworkerRole = Literal["caseworker", "supervisor"]
"""Who signs in to the review screen: a caseworker reviews cases; a supervisor also reassigns."""
CASEWORKER_ROLES: tuple[CaseworkerRole, ...] = get_args(CaseworkerRole)

Channel = Literal["api", "batch", "manual"]
"""How a decision was made: one application over HTTP, a batch re-scoring, a caseworker."""
CHANNELS: tuple[Channel, ...] = get_args(Channel)

Outcome = Literal["eligible", "rejected", "missing_data", "not_served"]
"""A lender's outcome for one application: eligible; rejected (a requirement failed); missing
data (none failed, some unknown); not served (the lender does not serve the market, or is not
in the ruleset). Batch re-scoring compares outcomes before and after a rule change."""
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)

Employment = Literal[
    "permanent", "temporary", "self_employed", "retired", "student", "unemployed", "other"
]
"""Employment types of an applicant or co-applicant (the features employment, co_employment)."""
EMPLOYMENT_TYPES: tuple[Employment, ...] = get_args(Employment)
WITHOUT_EMPLOYER: tuple[Employment, ...] = ("student", "unemployed")
"""Employment types with no current employer: their employed_months is 0."""

Purpose = Literal["refinance", "consumer", "car", "renovation", "other"]
"""Purposes of a loan (the feature purpose)."""
PURPOSES: tuple[Purpose, ...] = get_args(Purpose)

Housing = Literal["own", "rent", "parents", "other"]
"""Housing situations of a household (the feature housing)."""
HOUSING_TYPES: tuple[Housing, ...] = get_args(Housing)

COUNTRIES: tuple[str, ...] = tuple(sorted(country.alpha_2 for country in pycountry.countries))
"""ISO 3166-1 alpha-2 country codes (citizenship): the 249 officially assigned codes, from the
ISO 3166 data that pycountry ships (a list too long for a `Literal`)."""

__all__ = [
    "CASEWORKER_ROLES",
    "CHANNELS",
    "COUNTRIES",
    "DEFAULT_LANGUAGE",
    "EMPLOYMENT_TYPES",
    "HOUSING_TYPES",
    "LANGUAGES",
    "MARKETS",
    "OUTCOMES",
    "PURPOSES",
    "ROLES",
    "WITHOUT_EMPLOYER",
    "CaseworkerRole",
    "Channel",
    "Employment",
    "Housing",
    "Language",
    "Market",
    "Outcome",
    "Purpose",
    "Role",
]
