"""What is impossible about one person on an application, from what they stated and their
national id (`Application`'s check of its people, `matcher.application`): an id invalid for
the market, a holder too young or too old on the reference date, a synthetic test number
where none is accepted, the same person twice, more years in the country than years of age,
employment longer than the working life or without an employer, a phone that is not a phone
number.

Compiled (`matcher/_native.py`): it runs for every person of every application validated.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from lender_rules.vocabulary import WITHOUT_EMPLOYER, Market
from matcher.contact import is_phone_number
from matcher.errors import InvalidNationalIdError
from matcher.national_id import ParsedId, age_on, months_since_birthday, parse

if TYPE_CHECKING:
    from matcher.application import Person

MIN_AGE = 18
"""No credit agreement with a minor: applicants and co-applicants are at least 18."""
MAX_AGE = 120
"""No living person is older."""
WORKING_AGE = 15
"""Working life starts at 15: employed_months is at most the months since that birthday."""

Problem = tuple[str, str, str, dict[str, Any]]
"""(field, error type, message template, its context) of one person's field."""


def person_problems(
    person: Person, market: Market, on: date, *, synthetic_ids: bool, others: list[str]
) -> list[Problem]:
    """What is impossible about one person; `others` holds the numbers of the people before
    (this person's is added). A list, not a generator: nearly always empty, and made for
    every person validated."""
    problems: list[Problem] = []
    try:
        parsed: ParsedId | None = parse(person.national_id, market, on=on)
    except InvalidNationalIdError as exc:
        parsed = None
        problems.append(
            (
                "national_id",
                "national_id",
                "invalid {kind}: {reason}",
                {"kind": exc.kind, "reason": exc.reason},
            )
        )
    if parsed is not None:
        age = age_on(parsed.birth_date, on)
        problems += _identity_problems(parsed, age, synthetic_ids=synthetic_ids, others=others)
        others.append(parsed.number)
        if person.years_in_country > age:
            problems.append(
                (
                    "years_in_country",
                    "more_than_age",
                    "{years} years in the country is more than the person's age ({age})",
                    {"years": person.years_in_country, "age": age},
                )
            )
        working = months_since_birthday(parsed.birth_date, WORKING_AGE, on)
        if person.employed_months > working:
            problems.append(
                (
                    "employed_months",
                    "longer_than_working_life",
                    "{months} months is longer than the person's working life (at most "
                    "{working} months since age {working_age})",
                    {
                        "months": person.employed_months,
                        "working": working,
                        "working_age": WORKING_AGE,
                    },
                )
            )
    if person.employment in WITHOUT_EMPLOYER and person.employed_months > 0:
        problems.append(
            (
                "employed_months",
                "no_employer",
                "must be 0 when the employment is {employment} (no employer)",
                {"employment": person.employment},
            )
        )
    if person.phone is not None and not is_phone_number(person.phone, market):
        problems.append(("phone", "phone_number", "not a phone number", {}))
    return problems


def _identity_problems(
    parsed: ParsedId, age: int, *, synthetic_ids: bool, others: list[str]
) -> list[Problem]:
    """What is impossible about a valid number's holder (`age` on the reference date)."""
    out: list[Problem] = []
    if parsed.synthetic and not synthetic_ids:
        out.append(
            (
                "national_id",
                "synthetic_national_id",
                "a synthetic test number (month + 80) is accepted only in demo and test mode",
                {},
            )
        )
    if age < MIN_AGE:
        out.append(
            (
                "national_id",
                "age",
                "the holder is under {min_age}: no credit agreement with a minor",
                {"min_age": MIN_AGE},
            )
        )
    elif age > MAX_AGE:
        out.append(("national_id", "age", "the holder is over {max_age}", {"max_age": MAX_AGE}))
    if parsed.number in others:
        out.append(
            (
                "national_id",
                "same_person",
                "the co-applicant has the applicant's national id",
                {},
            )
        )
    return out
