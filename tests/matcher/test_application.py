"""The strict Application model: shape, bounds, enums, national ids per market."""

from __future__ import annotations

import copy
import json
import sys
import unicodedata
from datetime import date
from typing import Any, get_args

import polars as pl
import pytest
from hypothesis import given
from pydantic import ValidationError

from lender_rules.vocabulary import COUNTRIES, EMPLOYMENT_TYPES, HOUSING_TYPES, MARKETS, PURPOSES
from matcher import application as appmod
from matcher.application import (
    APPLICATION_FRAME_SCHEMA,
    Application,
    Household,
    Loan,
    Person,
    applications_frame,
)
from matcher.national_id import make_fodselsnummer, make_personnummer
from tests.strategies import REFERENCE_DATE, application_dicts, applications

ON = date(2026, 11, 25)
CONTEXT = {"on": ON}
FNR = "15038512363"  # 1985-03-15, hand-computed in test_national_id.py
PNR = "900714-1238"  # 1990-07-14, hand-computed in test_national_id.py


def person(national_id: str = FNR, **changes: Any) -> dict[str, Any]:
    return {
        "national_id": national_id,
        "name": "Kari Nordmann",
        "email": "kari@example.no",
        "phone": None,
        "citizenship": "NO",
        "years_in_country": 30,
        "employment": "permanent",
        "employed_months": 60,
        "income": 550_000,
        "unsecured_debt": 40_000,
        "secured_debt": 2_100_000,
        "payment_remarks": 0,
    } | changes


def application(**changes: Any) -> dict[str, Any]:
    return {
        "market": "NO",
        "applicant": person(),
        "loan": {"amount": 150_000, "term_months": 60, "purpose": "car"},
        "household": {"housing": "own", "housing_cost": 9_000, "children": 2},
    } | changes


def errors_of(data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    with pytest.raises(ValidationError) as info:
        Application.model_validate(data, context=CONTEXT)
    return [(e["loc"], e["type"]) for e in info.value.errors()]


def test_a_valid_application_validates_and_keeps_its_values() -> None:
    app = Application.model_validate(application(), context=CONTEXT)
    assert app.market == "NO"
    assert app.co_applicant is None
    assert app.applicant.income == 550_000
    assert app.applicant.phone is None
    assert app.loan.purpose == "car"
    assert app.household.children == 2


def test_optional_fields_default_to_none() -> None:
    data = application()
    data["applicant"] = {k: v for k, v in data["applicant"].items() if k not in ("email", "phone")}
    app = Application.model_validate(data, context=CONTEXT)
    assert app.applicant.email is None
    assert app.applicant.phone is None
    assert app.co_applicant is None


def test_json_input_validates_the_same_way() -> None:
    data = application(co_applicant=person(make_second_fnr()))
    app = Application.model_validate_json(json.dumps(data), context=CONTEXT)
    assert app == Application.model_validate(data, context=CONTEXT)
    assert app.model_dump() == data


def make_second_fnr() -> str:
    return make_fodselsnummer(date(1988, 6, 1), 201)


def test_enum_fields_take_exactly_the_vocabulary() -> None:
    assert get_args(Application.model_fields["market"].annotation) == MARKETS
    assert get_args(Person.model_fields["employment"].annotation) == EMPLOYMENT_TYPES
    assert get_args(Loan.model_fields["purpose"].annotation) == PURPOSES
    assert get_args(Household.model_fields["housing"].annotation) == HOUSING_TYPES


BOUNDS = [
    (("loan", "amount"), appmod.AMOUNT_MIN, appmod.AMOUNT_MAX),
    (("loan", "term_months"), appmod.TERM_MIN, appmod.TERM_MAX),
    (("applicant", "income"), appmod.INCOME_MIN, appmod.INCOME_MAX),
    (("applicant", "unsecured_debt"), appmod.DEBT_MIN, appmod.DEBT_MAX),
    (("applicant", "secured_debt"), appmod.DEBT_MIN, appmod.DEBT_MAX),
    (("applicant", "payment_remarks"), appmod.PAYMENT_REMARKS_MIN, appmod.PAYMENT_REMARKS_MAX),
    (("applicant", "years_in_country"), appmod.YEARS_IN_COUNTRY_MIN, 120),
    (("applicant", "employed_months"), appmod.EMPLOYED_MONTHS_MIN, 720),
    (("household", "housing_cost"), appmod.HOUSING_COST_MIN, appmod.HOUSING_COST_MAX),
    (("household", "children"), appmod.CHILDREN_MIN, appmod.CHILDREN_MAX),
]


OLDEST = make_fodselsnummer(date(1906, 1, 1), 123)  # aged 120 on ON: every bound is possible


def with_value(path: tuple[str, str], value: object) -> dict[str, Any]:
    data = copy.deepcopy(application(applicant=person(OLDEST)))
    data[path[0]][path[1]] = value
    return data


def test_bounds_are_the_ones_of_the_brief() -> None:
    assert (appmod.AMOUNT_MIN, appmod.AMOUNT_MAX) == (1_000, 5_000_000)
    assert (appmod.TERM_MIN, appmod.TERM_MAX) == (1, 360)
    assert (appmod.INCOME_MAX, appmod.DEBT_MAX) == (100_000_000, 1_000_000_000)
    assert (appmod.PAYMENT_REMARKS_MAX, appmod.HOUSING_COST_MAX) == (100, 1_000_000)
    assert (appmod.CHILDREN_MAX, appmod.YEARS_IN_COUNTRY_MAX) == (20, 120)
    assert appmod.EMPLOYED_MONTHS_MAX == 720


@pytest.mark.parametrize(("path", "low", "high"), BOUNDS)
def test_bounds_are_inclusive(path: tuple[str, str], low: int, high: int) -> None:
    for value in (low, high):
        Application.model_validate(with_value(path, value), context=CONTEXT)


@pytest.mark.parametrize(("path", "low", "high"), BOUNDS)
def test_values_outside_the_bounds_are_refused_at_their_path(
    path: tuple[str, str], low: int, high: int
) -> None:
    assert errors_of(with_value(path, low - 1)) == [(path, "greater_than_equal")]
    assert errors_of(with_value(path, high + 1)) == [(path, "less_than_equal")]


@pytest.mark.parametrize("value", ["150000", 150000.0, True, None])
def test_numbers_are_strict(value: object) -> None:
    (error,) = errors_of(with_value(("loan", "amount"), value))
    assert error[0] == ("loan", "amount")


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("loan", "purpose"), "holiday"),
        (("applicant", "employment"), "Permanent"),
        (("household", "housing"), "tent"),
    ],
)
def test_enum_values_outside_the_set_are_refused(path: tuple[str, str], value: str) -> None:
    assert errors_of(with_value(path, value)) == [(path, "literal_error")]


def test_an_unknown_market_is_refused() -> None:
    assert errors_of(application(market="DK")) == [(("market",), "literal_error")]


@pytest.mark.parametrize("code", ["no", "NOR", "N", "1A", "", "XX", "EU", "UK"])
def test_citizenship_is_an_iso_3166_alpha_2_code(code: str) -> None:
    path = ("applicant", "citizenship")
    assert errors_of(with_value(path, code)) == [(path, "country_code")]


@pytest.mark.parametrize("code", ["NO", "SE", "GB", "PS", "AX"])
def test_assigned_country_codes_are_citizenships(code: str) -> None:
    Application.model_validate(with_value(("applicant", "citizenship"), code), context=CONTEXT)


@pytest.mark.parametrize(
    ("name", "kind"), [("", "string_too_short"), ("x" * 201, "string_too_long")]
)
def test_name_is_1_to_200_characters(name: str, kind: str) -> None:
    assert errors_of(with_value(("applicant", "name"), name)) == [(("applicant", "name"), kind)]
    Application.model_validate(with_value(("applicant", "name"), "x" * 200), context=CONTEXT)


def test_extra_fields_are_forbidden_at_every_level() -> None:
    assert errors_of(application(score=700)) == [(("score",), "extra_forbidden")]
    assert errors_of(with_value(("loan", "rate"), 5)) == [(("loan", "rate"), "extra_forbidden")]


def test_missing_fields_are_named() -> None:
    data = application()
    del data["household"]
    assert errors_of(data) == [(("household",), "missing")]


def test_a_national_id_of_the_wrong_market_is_refused_at_its_field() -> None:
    assert errors_of(application(market="SE")) == [(("applicant", "national_id"), "national_id")]


def test_the_co_applicants_national_id_is_checked_too() -> None:
    data = application(co_applicant=person("15038512364"))
    assert errors_of(data) == [(("co_applicant", "national_id"), "national_id")]


def test_both_bad_national_ids_are_reported() -> None:
    data = application(market="SE", co_applicant=person(PNR))
    assert errors_of(data) == [(("applicant", "national_id"), "national_id")]
    data = application(market="SE", applicant=person("1"), co_applicant=person("2"))
    assert errors_of(data) == [
        (("applicant", "national_id"), "national_id"),
        (("co_applicant", "national_id"), "national_id"),
    ]


def test_the_national_id_error_says_why_without_the_number() -> None:
    with pytest.raises(ValidationError) as info:
        Application.model_validate(application(applicant=person("15038512364")), context=CONTEXT)
    (error,) = info.value.errors()
    assert error["msg"] == "invalid fødselsnummer: check digits do not match"
    assert error["ctx"] == {"kind": "fødselsnummer", "reason": "check digits do not match"}


def test_a_swedish_application_takes_personnummer() -> None:
    app = Application.model_validate(
        application(market="SE", applicant=person(PNR, citizenship="SE")), context=CONTEXT
    )
    assert app.applicant.national_id == PNR


def test_national_ids_are_checked_against_the_context_date() -> None:
    newborn = make_fodselsnummer(date(2030, 1, 1), 601)
    data = application(applicant=person(newborn, years_in_country=18, employed_months=24))
    assert errors_of(data) == [(("applicant", "national_id"), "national_id")]  # not born yet
    Application.model_validate(data, context={"on": date(2048, 1, 1)})


def test_without_a_context_the_reference_date_is_today() -> None:
    next_year = date(date.today().year + 1, 1, 1)
    unborn = make_personnummer(next_year, 123, on=next_year, form="long")
    data = application(market="SE", applicant=person(unborn))
    with pytest.raises(ValidationError):
        Application.model_validate(data)
    Application.model_validate(application())


def test_the_model_is_immutable() -> None:
    app = Application.model_validate(application(), context=CONTEXT)
    with pytest.raises(ValidationError):
        setattr(app, "market", "SE")  # noqa: B010 (mypy does not see the frozen config)


@given(application_dicts())
def test_generated_application_dicts_validate_and_round_trip(data: dict[str, Any]) -> None:
    app = Application.model_validate(data, context={"on": REFERENCE_DATE})
    assert app.model_dump() == data


@given(applications())
def test_applications_frame_has_the_nested_schema(app: Application) -> None:
    frame = applications_frame([app, app], application_ids=["a", "b"])
    assert frame.columns == ["application_id", *APPLICATION_FRAME_SCHEMA.names()]
    assert frame.drop("application_id").schema == APPLICATION_FRAME_SCHEMA
    assert frame["application_id"].to_list() == ["a", "b"]
    row = frame.row(0, named=True)
    del row["application_id"]
    assert row == app.model_dump()
    assert frame["co_applicant"].is_null().to_list() == [app.co_applicant is None] * 2


def test_applications_frame_of_nothing_is_empty_with_the_schema() -> None:
    frame = applications_frame([])
    assert frame.height == 0
    assert frame.schema == APPLICATION_FRAME_SCHEMA
    assert isinstance(frame, pl.DataFrame)


# --- impossible applications: each refused at its field ---------------------------------


def born(birth: date) -> str:
    """A fødselsnummer of someone born on `birth` (the first usable individual number)."""
    for individual in range(123, 1000):
        try:
            return make_fodselsnummer(birth, individual)
        except ValueError:
            continue
    raise LookupError(birth)


def test_a_co_applicant_with_the_applicants_national_id_is_refused() -> None:
    data = application(co_applicant=person())
    assert errors_of(data) == [(("co_applicant", "national_id"), "same_person")]


def test_the_same_personnummer_in_another_written_form_is_the_same_person() -> None:
    data = application(
        market="SE",
        applicant=person(PNR, citizenship="SE"),
        co_applicant=person("199007141238", citizenship="SE"),
    )
    assert errors_of(data) == [(("co_applicant", "national_id"), "same_person")]


@pytest.mark.parametrize("role", ["applicant", "co_applicant"])
def test_a_person_under_18_is_refused_at_the_national_id(role: str) -> None:
    minor = person(born(date(2008, 11, 26)), years_in_country=17, employed_months=0)
    data = application(co_applicant=person(make_second_fnr(), years_in_country=30)) | {role: minor}
    assert errors_of(data) == [((role, "national_id"), "age")]


def test_18_on_the_decision_day_is_old_enough() -> None:
    adult = person(born(date(2008, 11, 25)), years_in_country=18, employed_months=36)
    Application.model_validate(application(applicant=adult), context=CONTEXT)


def test_a_person_over_120_is_refused_at_the_national_id() -> None:
    old = person(born(date(1905, 11, 24)), employment="retired", employed_months=0)
    assert errors_of(application(applicant=old)) == [(("applicant", "national_id"), "age")]
    Application.model_validate(application(applicant=person(OLDEST)), context=CONTEXT)


def test_a_synthetic_test_number_is_refused_unless_the_context_accepts_it() -> None:
    synthetic = make_fodselsnummer(date(1985, 3, 15), 123, synthetic=True)
    data = application(applicant=person(synthetic))
    assert errors_of(data) == [(("applicant", "national_id"), "synthetic_national_id")]
    accepted = appmod.validation_context(on=ON, synthetic_ids=True)
    assert Application.model_validate(data, context=accepted).applicant.national_id == synthetic


def test_more_years_in_the_country_than_the_age_is_refused() -> None:
    data = application(applicant=person(years_in_country=42))  # aged 41
    assert errors_of(data) == [(("applicant", "years_in_country"), "more_than_age")]
    Application.model_validate(application(applicant=person(years_in_country=41)), context=CONTEXT)


def test_employment_longer_than_the_working_life_is_refused() -> None:
    # Born 1985-03-15: 15 on 2000-03-15; on 2026-11-25 that is 26 years 8 months = 320 months.
    assert errors_of(application(applicant=person(employed_months=321))) == [
        (("applicant", "employed_months"), "longer_than_working_life")
    ]
    Application.model_validate(application(applicant=person(employed_months=320)), context=CONTEXT)


@pytest.mark.parametrize("employment", ["student", "unemployed"])
def test_no_employer_means_no_months_with_one(employment: str) -> None:
    data = application(applicant=person(employment=employment, employed_months=1))
    assert errors_of(data) == [(("applicant", "employed_months"), "no_employer")]
    idle = person(employment=employment, employed_months=0)
    Application.model_validate(application(applicant=idle), context=CONTEXT)


@pytest.mark.parametrize("employment", ["retired", "other", "temporary"])
def test_other_employments_may_state_months_with_an_employer(employment: str) -> None:
    data = application(applicant=person(employment=employment, employed_months=12))
    Application.model_validate(data, context=CONTEXT)


@pytest.mark.parametrize(
    "email",
    ["kari", "kari@", "@example.no", "kari@example", "kari nordmann@example.no", "a@b@c.no"],
)
def test_an_email_that_is_not_an_address_is_refused(email: str) -> None:
    path = ("applicant", "email")
    assert errors_of(with_value(path, email)) == [(path, "email")]


@pytest.mark.parametrize(
    "email", ["kari@example.no", "kari.nordmann+lån@example.com", "æøå@döm.se"]
)
def test_email_addresses_are_kept_as_stated(email: str) -> None:
    app = Application.model_validate(with_value(("applicant", "email"), email), context=CONTEXT)
    assert app.applicant.email == email


@pytest.mark.parametrize("phone", ["123", "abc", "+47 123", "+46 71 234 5678", "00000000", "+"])
def test_a_phone_that_is_not_a_phone_number_is_refused(phone: str) -> None:
    path = ("applicant", "phone")
    assert errors_of(with_value(path, phone)) == [(path, "phone_number")]


@pytest.mark.parametrize(
    ("market", "phone"),
    [
        ("NO", "+47 912 34 567"),
        ("NO", "912 34 567"),
        ("NO", "+46 70 123 45 67"),
        ("SE", "070-123 45 67"),
    ],
)
def test_phone_numbers_are_international_or_national_in_the_market(market: str, phone: str) -> None:
    national_id = FNR if market == "NO" else PNR
    data = application(market=market, applicant=person(national_id, phone=phone))
    assert Application.model_validate(data, context=CONTEXT).applicant.phone == phone


@pytest.mark.parametrize(
    "name", [" ", "\t\n ", "Kari\x00", "Kari\nNordmann", "Kari\u202eNordmann", "\u200b", "Kari\x7f"]
)
def test_a_name_of_whitespace_or_with_control_characters_is_refused(name: str) -> None:
    path = ("applicant", "name")
    assert errors_of(with_value(path, name)) == [(path, "name")]


@pytest.mark.parametrize("name", ["Kari Nordmann", "Åse Sørensen-Ødegård", "O'Brien", "李 伟"])
def test_real_names_are_accepted(name: str) -> None:
    app = Application.model_validate(with_value(("applicant", "name"), name), context=CONTEXT)
    assert app.applicant.name == name


def test_every_impossibility_of_both_people_is_reported_at_once() -> None:
    applicant = person(years_in_country=99, employment="student", employed_months=3, phone="1")
    data = application(applicant=applicant, co_applicant=person(born(date(2010, 1, 1))))
    assert sorted(errors_of(data)) == [
        (("applicant", "employed_months"), "no_employer"),
        (("applicant", "phone"), "phone_number"),
        (("applicant", "years_in_country"), "more_than_age"),
        (("co_applicant", "employed_months"), "longer_than_working_life"),
        (("co_applicant", "national_id"), "age"),
        (("co_applicant", "years_in_country"), "more_than_age"),
    ]


def test_the_published_schema_states_the_rules_and_bounds() -> None:
    schema = Application.model_json_schema()["$defs"]["Person"]["properties"]
    assert schema["citizenship"]["enum"] == list(COUNTRIES)
    assert schema["email"]["anyOf"][0]["format"] == "email"
    assert schema["years_in_country"]["maximum"] == appmod.YEARS_IN_COUNTRY_MAX
    assert "18-120 years old" in schema["national_id"]["description"]
    assert "YYYYMMDD-NNNC" in schema["national_id"]["description"]
    assert "15th birthday" in schema["employed_months"]["description"]


def test_printable_text_holds_no_character_a_name_may_not_hold() -> None:
    """The name check skips its per-character look-up for printable text: sound only while no
    printable character is of a refused category (every code point checked)."""
    refused = [
        code
        for code in range(sys.maxunicode + 1)
        if chr(code).isprintable() and unicodedata.category(chr(code)) in appmod._NOT_IN_TEXT
    ]
    assert refused == []
