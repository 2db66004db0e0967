"""Hypothesis strategies shared by the whole test suite.

Sections:
- dates and national identity numbers
- applications (`application_dicts`, `applications`)
- feature rows (`feature_rows`)
"""

from __future__ import annotations

import string
from datetime import date
from typing import Any

from hypothesis import strategies as st

from lender_rules.vocabulary import (
    COUNTRIES,
    EMPLOYMENT_TYPES,
    HOUSING_TYPES,
    MARKETS,
    PURPOSES,
    WITHOUT_EMPLOYER,
    Market,
)
from matcher import application as appmod
from matcher.application import Application
from matcher.national_id import (
    PersonnummerForm,
    age_on,
    fodselsnummer_century,
    fodselsnummer_check_digits,
    make_personnummer,
    months_since_birthday,
    parse,
)
from matcher.schema import FEATURES, Feature, Type

# --- dates and national identity numbers -------------------------------------------------

REFERENCE_DATE = date(2026, 11, 25)
"""The default decision date of generated applications (validated against it)."""

COUNTRY_CODES = ("NO", "SE", "DK", "FI", "IS", "PL", "LT", "DE", "GB", "US", "IN", "SY", "UA")


def decision_dates() -> st.SearchStrategy[date]:
    """Decision dates, leap days included (2000-2035: within the fødselsnummer centuries)."""
    return st.one_of(
        st.dates(min_value=date(2000, 1, 1), max_value=date(2035, 12, 31)),
        st.sampled_from(
            [date(2024, 2, 29), date(2028, 2, 29), date(2025, 3, 1), date(2025, 2, 28)]
        ),
    )


@st.composite
def birth_dates(draw: st.DrawFn, on: date, *, max_age: int = 110, min_age: int = 0) -> date:
    """Birth dates of people aged `min_age` or more on `on`, at most about `max_age` years
    before it; often on the decision day's month and day (a birthday on the decision date) or
    on 29 February."""
    earliest = max(date(1900, 1, 1), date(on.year - max_age, 1, 1))
    latest = _years_before(on, min_age)
    kind = draw(st.sampled_from(["any", "birthday", "leap"]))
    if kind == "birthday":
        return _years_before(on, draw(st.integers(min_age, on.year - earliest.year)))
    if kind == "leap":
        leap_years = [y for y in range(earliest.year, on.year + 1) if y % 4 == 0 and y != 1900]
        candidates = [date(y, 2, 29) for y in leap_years if date(y, 2, 29) <= latest]
        if candidates:
            return draw(st.sampled_from(candidates))
    return draw(st.dates(min_value=earliest, max_value=latest))


def _years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February in a non-leap year
        return date(on.year - years, 2, 28)


def _fodselsnummer_individuals(year: int) -> range:
    if year < 1900:
        return range(500, 750)
    if year >= 2000:
        return range(500, 1000)
    return range(0, 500) if year < 1940 else range(0, 1000)


@st.composite
def fodselsnummers(
    draw: st.DrawFn,
    on: date = REFERENCE_DATE,
    *,
    birth: date | None = None,
    synthetic: bool = True,
) -> str:
    """Valid fødselsnummer (also D-, H- and, with `synthetic`, synthetic test numbers) of
    people born by `on`."""
    born = birth if birth is not None else draw(birth_dates(on))
    individuals = [
        i
        for i in _fodselsnummer_individuals(born.year)
        if fodselsnummer_century(i, born.year % 100) == born.year - born.year % 100
    ]
    d_number = draw(st.booleans())
    month_offset = draw(st.sampled_from([0, 0, 40, 80] if synthetic else [0, 0, 40]))
    start = draw(st.integers(0, len(individuals) - 1))
    day = born.day + (40 if d_number else 0)
    month = born.month + month_offset
    for k in range(len(individuals)):  # about 1 in 6 individual numbers has no check digits
        individual = individuals[(start + k) % len(individuals)]
        nine = f"{day:02d}{month:02d}{born.year % 100:02d}{individual:03d}"
        check = fodselsnummer_check_digits(nine)
        if check is not None:
            return f"{nine}{check[0]}{check[1]}"
    raise AssertionError("unreachable: every century has individual numbers with check digits")


@st.composite
def personnummers(draw: st.DrawFn, on: date = REFERENCE_DATE, *, birth: date | None = None) -> str:
    """Valid personnummer (also samordningsnummer) of people born by `on`, in every form:
    YYMMDD-NNNC, YYMMDD+NNNC (100 or older), YYMMDDNNNC, YYYYMMDDNNNC, YYYYMMDD-NNNC."""
    born = birth if birth is not None else draw(birth_dates(on))
    forms: list[PersonnummerForm] = ["short", "long"]
    if age_on(born, on) < 100:
        forms.append("compact")
    form = draw(st.sampled_from(forms))
    number = make_personnummer(
        born,
        draw(st.integers(0, 999)),
        on=on,
        samordningsnummer=draw(st.booleans()),
        form=form,
    )
    if form == "long" and draw(st.booleans()):
        number = f"{number[:8]}-{number[8:]}"
    return number


def national_ids(market: Market, on: date, birth: date) -> st.SearchStrategy[str]:
    """Valid national ids of `market` (no synthetic test numbers) for people born on `birth`."""
    if market == "NO":
        return fodselsnummers(on, birth=birth, synthetic=False)
    return personnummers(on, birth=birth)


# --- applications ------------------------------------------------------------------------


def _bounded(low: int, high: int, *, typical: int | None = None) -> st.SearchStrategy[int]:
    """Integers within the bounds, the bounds themselves and small values drawn often."""
    special = [low, high] + ([typical] if typical is not None else [])
    return st.one_of(
        st.sampled_from(special),
        st.integers(low, min(high, low + 100)),
        st.integers(low, high),
    )


_names = st.text(
    alphabet=string.ascii_letters + "æøåÆØÅäöÄÖ -'", min_size=appmod.NAME_MIN_LENGTH, max_size=40
).filter(lambda name: not name.isspace())
_citizenships = st.sampled_from(COUNTRY_CODES) | st.sampled_from(COUNTRIES)


@st.composite
def person_dicts(draw: st.DrawFn, market: Market, on: date = REFERENCE_DATE) -> dict[str, Any]:
    """A valid `Person` as a dict, with a national id of `market` (an adult, no synthetic
    test number) and years in the country and months employed that fit the age."""
    born = draw(birth_dates(on, min_age=appmod.MIN_AGE))
    age = age_on(born, on)
    employment = draw(st.sampled_from(EMPLOYMENT_TYPES))
    working = months_since_birthday(born, appmod.WORKING_AGE, on)
    employed_max = 0 if employment in WITHOUT_EMPLOYER else min(appmod.EMPLOYED_MONTHS_MAX, working)
    return {
        "national_id": draw(national_ids(market, on, born)),
        "name": draw(_names),
        "email": draw(st.none() | st.just("kari.nordmann@example.no")),
        "phone": draw(st.none() | st.just("+47 912 34 567")),
        "citizenship": draw(_citizenships),
        "years_in_country": draw(
            _bounded(appmod.YEARS_IN_COUNTRY_MIN, min(appmod.YEARS_IN_COUNTRY_MAX, age))
        ),
        "employment": employment,
        "employed_months": draw(_bounded(appmod.EMPLOYED_MONTHS_MIN, employed_max)),
        "income": draw(_bounded(appmod.INCOME_MIN, appmod.INCOME_MAX, typical=450_000)),
        "unsecured_debt": draw(_bounded(appmod.DEBT_MIN, appmod.DEBT_MAX, typical=50_000)),
        "secured_debt": draw(_bounded(appmod.DEBT_MIN, appmod.DEBT_MAX, typical=2_000_000)),
        "payment_remarks": draw(_bounded(appmod.PAYMENT_REMARKS_MIN, appmod.PAYMENT_REMARKS_MAX)),
    }


@st.composite
def application_dicts(
    draw: st.DrawFn, market: Market | None = None, *, on: date = REFERENCE_DATE
) -> dict[str, Any]:
    """Valid applications as JSON-like dicts (what a client posts), national ids valid on
    `on` (validate with ``context={"on": on}``); about a third have a co-applicant."""
    chosen: Market = market if market is not None else draw(st.sampled_from(MARKETS))
    has_co = draw(st.integers(0, 2)) == 0
    applicant = draw(person_dicts(chosen, on))
    number = parse(applicant["national_id"], chosen, on=on).number
    others = person_dicts(chosen, on).filter(
        lambda co: parse(co["national_id"], chosen, on=on).number != number
    )
    return {
        "market": chosen,
        "applicant": applicant,
        "co_applicant": draw(others) if has_co else None,
        "loan": {
            "amount": draw(_bounded(appmod.AMOUNT_MIN, appmod.AMOUNT_MAX, typical=150_000)),
            "term_months": draw(_bounded(appmod.TERM_MIN, appmod.TERM_MAX, typical=60)),
            "purpose": draw(st.sampled_from(PURPOSES)),
        },
        "household": {
            "housing": draw(st.sampled_from(HOUSING_TYPES)),
            "housing_cost": draw(_bounded(appmod.HOUSING_COST_MIN, appmod.HOUSING_COST_MAX)),
            "children": draw(_bounded(appmod.CHILDREN_MIN, appmod.CHILDREN_MAX)),
        },
    }


def applications(
    market: Market | None = None, *, on: date = REFERENCE_DATE
) -> st.SearchStrategy[Application]:
    """Valid `Application` models (see `application_dicts`)."""
    return application_dicts(market, on=on).map(
        lambda d: Application.model_validate(d, context={"on": on})
    )


@st.composite
def dated_applications(draw: st.DrawFn) -> tuple[Application, date]:
    """An application together with a decision date it is valid on (any date 2000-2035)."""
    on = draw(decision_dates())
    return draw(applications(on=on)), on


# --- feature rows ------------------------------------------------------------------------

FEATURE_FLOAT_MAX = 100.0


def _feature_value(feature: Feature) -> st.SearchStrategy[Any]:
    if feature.type is Type.BOOL:
        return st.booleans()
    if feature.type is Type.INT:
        assert feature.low is not None and feature.high is not None
        low, high = int(feature.low), int(feature.high)
        return st.integers(low, high) | st.sampled_from([low, high])  # the bounds themselves
    if feature.type is Type.FLOAT:
        return st.floats(0.0, FEATURE_FLOAT_MAX, allow_nan=False, allow_infinity=False)
    if feature.values:
        return st.sampled_from(feature.values)
    return st.sampled_from(COUNTRY_CODES)


@st.composite
def feature_rows(draw: st.DrawFn, nulls: bool = True) -> dict[str, Any]:
    """Feature rows within the feature contract (matcher.schema order, every number within
    its bounds, the bounds themselves often), not necessarily consistent numbers
    (debt_to_income need not match the amounts), all finite: floats in 0..100. With `nulls`, rows without a co-applicant have null co_* features (and other
    nullable features may be null); without, every feature is set and has_co_applicant is
    True."""
    has_co = draw(st.booleans()) if nulls else True
    row: dict[str, Any] = {}
    for feature in FEATURES:
        if feature.name == "has_co_applicant":
            row[feature.name] = has_co
        elif feature.nullable and nulls and feature.name.startswith("co_") and not has_co:
            row[feature.name] = None
        elif feature.nullable and nulls and not feature.name.startswith("co_"):
            row[feature.name] = draw(st.none() | _feature_value(feature))
        else:
            row[feature.name] = draw(_feature_value(feature))
    return row


# --- rule trees (typed JsonLogic) ----------------------------------------------------------
# Random well-typed rules over the feature schema, for the differential tests. Multiplication
# takes one small literal factor so that integer results stay far below 2**53, where Python's
# unbounded integers, Polars' 64-bit integers and doubles all agree.

_NUMERIC = [f.name for f in FEATURES if f.type in (Type.INT, Type.FLOAT)]
_STRINGS = [f.name for f in FEATURES if f.type is Type.STR]
_BOOLS = [f.name for f in FEATURES if f.type is Type.BOOL]
_STRING_LITERALS = ("NO", "SE", "permanent", "temporary", "rent", "own", "car", "N", "E", "")


def _var(names: list[str]) -> st.SearchStrategy[Any]:
    return st.sampled_from(names).map(lambda n: {"var": n})


def _int_literals() -> st.SearchStrategy[int]:
    return st.integers(min_value=-1000, max_value=1_000_000)


def _float_literals() -> st.SearchStrategy[float]:
    return st.integers(min_value=-400, max_value=400).map(lambda i: i / 4)


def numeric_rules(depth: int = 3) -> st.SearchStrategy[Any]:
    """Number-valued rule trees."""
    leaf = st.one_of(_var(_NUMERIC), _int_literals(), _float_literals())
    if depth <= 0:
        return leaf
    sub = numeric_rules(depth - 1)
    small = st.integers(min_value=-100, max_value=100) | st.sampled_from([0.5, 1.5, -2.25])
    return st.one_of(
        leaf,
        st.lists(sub, min_size=1, max_size=3).map(lambda a: {"+": a}),
        st.lists(sub, min_size=1, max_size=2).map(lambda a: {"-": a}),
        st.tuples(sub, small).map(lambda a: {"*": list(a)}),
        st.tuples(sub, sub).map(lambda a: {"/": list(a)}),
        st.tuples(sub, sub).map(lambda a: {"%": list(a)}),
        st.lists(sub, min_size=1, max_size=3).map(lambda a: {"min": a}),
        st.lists(sub, min_size=1, max_size=3).map(lambda a: {"max": a}),
        st.tuples(bool_rules(depth - 1), sub, sub).map(lambda a: {"if": list(a)}),
    )


def string_rules() -> st.SearchStrategy[Any]:
    """String-valued rule trees (features and literals)."""
    return st.one_of(_var(_STRINGS), st.sampled_from(_STRING_LITERALS))


def bool_rules(depth: int = 3) -> st.SearchStrategy[Any]:
    """Boolean rule trees: what a requirement's rule is."""
    leaf = st.one_of(_var(_BOOLS), st.booleans())
    if depth <= 0:
        return leaf
    num = numeric_rules(depth - 1)
    sub = bool_rules(depth - 1)
    compare = st.sampled_from(["<", "<=", ">", ">="])
    equal = st.sampled_from(["==", "!=", "===", "!=="])
    return st.one_of(
        leaf,
        st.tuples(compare, num, num).map(lambda a: {a[0]: [a[1], a[2]]}),
        st.tuples(compare, num, num, num).map(lambda a: {a[0]: [a[1], a[2], a[3]]}),
        st.tuples(compare, string_rules(), string_rules()).map(lambda a: {a[0]: [a[1], a[2]]}),
        st.tuples(equal, num, num).map(lambda a: {a[0]: [a[1], a[2]]}),
        st.tuples(equal, string_rules(), string_rules()).map(lambda a: {a[0]: [a[1], a[2]]}),
        st.tuples(equal, sub, sub).map(lambda a: {a[0]: [a[1], a[2]]}),
        st.tuples(st.sampled_from(["!", "!!"]), num | string_rules() | sub).map(
            lambda a: {a[0]: [a[1]]}
        ),
        st.lists(sub, min_size=1, max_size=3).map(lambda a: {"and": a}),
        st.lists(sub, min_size=1, max_size=3).map(lambda a: {"or": a}),
        st.tuples(sub, sub, sub).map(lambda a: {"if": list(a)}),
        st.tuples(sub, sub, sub, sub, sub).map(lambda a: {"if": list(a)}),
        st.tuples(
            _var(_STRINGS), st.lists(st.sampled_from(_STRING_LITERALS), min_size=1, max_size=4)
        ).map(lambda a: {"in": [a[0], a[1]]}),
        st.tuples(num, st.lists(_int_literals(), min_size=1, max_size=4)).map(
            lambda a: {"in": [a[0], a[1]]}
        ),
        st.tuples(st.sampled_from(_STRING_LITERALS), _var(_STRINGS)).map(
            lambda a: {"in": [a[0], a[1]]}
        ),
    )


# --- loans: applicants and lenders for hints -----------------------------------------------


@st.composite
def loan_feature_rows(draw: st.DrawFn) -> dict[str, Any]:
    """Consistent feature rows of applicants who meet the usual requirements that do not
    read the loan (age, income, employment, remarks, residence), applying for any amount and
    term of the application's bounds, often far more or far longer than lenders take."""
    from matcher.features import with_loan

    market = draw(st.sampled_from(MARKETS))
    income = draw(st.integers(250_000, 1_500_000))
    row: dict[str, Any] = {
        "market": market,
        "age": draw(st.integers(25, 74)),
        "has_co_applicant": False,
        "co_age": None,
        "income": income,
        "co_income": 0,
        "total_income": income,
        "employment": "permanent",
        "employed_months": draw(st.integers(12, 240)),
        "co_employment": None,
        "purpose": draw(st.sampled_from(["refinance", "car", "consumer"])),
        "existing_debt": draw(st.integers(0, 3_000_000)),
        "payment_remarks": 0,
        "housing": "own",
        "housing_cost": draw(st.integers(2000, 6000)),
        "children": 0,
        "years_in_country": draw(st.integers(5, 50)),
        "citizenship": market,
    }
    amount = draw(
        st.integers(appmod.AMOUNT_MIN, appmod.AMOUNT_MAX) | st.integers(appmod.AMOUNT_MIN, 900_000)
    )
    term = draw(st.integers(appmod.TERM_MIN, appmod.TERM_MAX) | st.sampled_from([60, 96, 240]))
    return with_loan(row, amount=amount, term_months=term)


@st.composite
def loan_lender_documents(draw: st.DrawFn, lender_id: str = "loans") -> dict[str, Any]:
    """A lender document (both markets) whose requirements read the amount and the term,
    some both at once: amount and term ranges, a debt ceiling, the age at the end of the
    term, whole thousands, whole years, a term range by purpose (an `if`), and a ceiling on
    amount per month of term."""
    amount_var, term_var = {"var": "amount"}, {"var": "term_months"}
    low = draw(st.integers(1_000, 50_000))
    high = draw(st.integers(low, 1_000_000))
    shortest = draw(st.integers(1, 24))
    longest = draw(st.integers(shortest, 240))
    choices = {
        "amount_range": {"<=": [low, amount_var, high]},
        "term_range": {"<=": [shortest, term_var, longest]},
        "debt_ceiling": {"<=": [{"var": "debt_to_income"}, draw(st.integers(2, 8))]},
        "age_at_end": {
            "<=": [{"+": [{"var": "age"}, {"/": [term_var, 12]}]}, draw(st.integers(60, 80))]
        },
        "whole_thousands": {"==": [{"%": [amount_var, 1000]}, 0]},
        "whole_years": {"==": [{"%": [term_var, 12]}, 0]},
        "term_by_purpose": {
            "if": [
                {"==": [{"var": "purpose"}, "refinance"]},
                {"<=": [shortest, term_var, draw(st.integers(shortest, 240))]},
                {"<=": [draw(st.integers(1, 24)), term_var, longest]},
            ]
        },
        "per_month": {"<=": [{"/": [amount_var, term_var]}, draw(st.integers(1_000, 20_000))]},
        "per_month_scaled": {
            "<=": [amount_var, {"*": [term_var, draw(st.integers(1_000, 10_000))]}]
        },
    }
    chosen = draw(
        st.lists(st.sampled_from(sorted(choices)), min_size=1, max_size=len(choices), unique=True)
    )
    reason = {"en": "r", "nb": "r", "sv": "r"}
    return {
        "lender_id": lender_id,
        "name": lender_id.title(),
        "markets": list(MARKETS),
        "requirements": [
            {"id": name, "rule": choices[name], "reason": reason} for name in sorted(chosen)
        ],
    }
