"""The example applications of the OpenAPI page: the same as the files in `examples/`.

"Try it out" on /docs offers each of them for `POST /v1/applications`, and each is decided
(201). The Norwegian ones carry synthetic test fødselsnummer (month + 80), so that no real
person's number is in the documentation; they are accepted in demo and test mode
(`LENDMATCH_SYNTHETIC_IDS`, on in `make serve`) and refused with 422 elsewhere. Sweden has no
rule-based test range, so the Swedish ones carry made-up personnummer (in two written forms).
`tests/api/test_examples.py` keeps this module and the files equal, and posts every one.
"""

from __future__ import annotations

from typing import Any

_KARI = {
    "national_id": "21858641206",  # synthetic: born 1986-05-21, month 05 + 80
    "name": "Kari Nordmann",
    "email": "kari.nordmann@example.no",
    "phone": "+47 912 34 567",
    "citizenship": "NO",
    "years_in_country": 40,
    "employment": "permanent",
    "employed_months": 62,
    "income": 620000,
    "unsecured_debt": 35000,
    "secured_debt": 2400000,
    "payment_remarks": 0,
}
_OLA = {
    "national_id": "03898923311",  # synthetic: born 1989-09-03, month 09 + 80
    "name": "Ola Nordmann",
    "email": "ola.nordmann@example.no",
    "phone": "+47 934 56 789",
    "citizenship": "NO",
    "years_in_country": 37,
    "employment": "temporary",
    "employed_months": 14,
    "income": 410000,
    "unsecured_debt": 60000,
    "secured_debt": 0,
    "payment_remarks": 0,
}
_ANNA = {
    "national_id": "840209-3846",
    "name": "Anna Andersson",
    "email": "anna.andersson@example.se",
    "phone": "070-123 45 67",
    "citizenship": "SE",
    "years_in_country": 42,
    "employment": "permanent",
    "employed_months": 96,
    "income": 480000,
    "unsecured_debt": 20000,
    "secured_debt": 1900000,
    "payment_remarks": 0,
}
_ERIK = {
    "national_id": "19871030-5270",
    "name": "Erik Johansson",
    "email": "erik.johansson@example.se",
    "phone": "+46 73 987 65 43",
    "citizenship": "FI",
    "years_in_country": 12,
    "employment": "self_employed",
    "employed_months": 40,
    "income": 390000,
    "unsecured_debt": 45000,
    "secured_debt": 0,
    "payment_remarks": 0,
}

APPLICATIONS: dict[str, dict[str, Any]] = {
    "no-applicant": {
        "market": "NO",
        "applicant": _KARI,
        "loan": {"amount": 150000, "term_months": 60, "purpose": "renovation"},
        "household": {"housing": "own", "housing_cost": 11500, "children": 2},
    },
    "no-with-co-applicant": {
        "market": "NO",
        "applicant": _OLA,
        "co_applicant": _KARI | {"secured_debt": 0},
        "loan": {"amount": 250000, "term_months": 60, "purpose": "car"},
        "household": {"housing": "rent", "housing_cost": 14500, "children": 2},
    },
    "se-applicant": {
        "market": "SE",
        "applicant": _ANNA,
        "loan": {"amount": 120000, "term_months": 72, "purpose": "refinance"},
        "household": {"housing": "own", "housing_cost": 9800, "children": 1},
    },
    "se-with-co-applicant": {
        "market": "SE",
        "applicant": _ERIK,
        "co_applicant": _ANNA | {"secured_debt": 0},
        "loan": {"amount": 200000, "term_months": 84, "purpose": "consumer"},
        "household": {"housing": "rent", "housing_cost": 12500, "children": 2},
    },
}
"""Example applications by name: the file `examples/<name>.json` holds the same."""

SUMMARIES: dict[str, str] = {
    "no-applicant": "Norway, one applicant (synthetic test id: demo and test mode)",
    "no-with-co-applicant": "Norway, with a co-applicant (synthetic test ids: demo and test mode)",
    "se-applicant": "Sweden, one applicant",
    "se-with-co-applicant": "Sweden, with a co-applicant",
}


def openapi_examples() -> dict[str, dict[str, Any]]:
    """The examples as an OpenAPI media type's `examples` (name -> summary and value)."""
    return {
        name: {"summary": SUMMARIES[name], "value": value} for name, value in APPLICATIONS.items()
    }
