"""A person's national id in the one written form the store's keyed hash is taken of.

The same person may be written `010190 12345` or `01019012345` (Norway), `19900101-1234`,
`900101-1234` or `199001011234` (Sweden): the matcher's parser gives one form per holder
(NO: the 11 digits; SE: YYYYMMDDNNNC), and `audit.PersonalKeys.subject_hash` hashes that.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from lender_rules.vocabulary import MARKETS, Market
from matcher import Application, InvalidNationalIdError, parse_national_id


def normalised(
    national_id: str, market: Market | None = None, on: date | None = None
) -> str | None:
    """The one written form of `national_id` (of `market`, or of whichever market's rules it
    meets), or None if it is no national id."""
    text = "".join(national_id.split())
    day = on or datetime.now(UTC).date()
    for candidate in (market,) if market is not None else MARKETS:
        try:
            return parse_national_id(text, candidate, on=day).number
        except InvalidNationalIdError:
            continue
    return None


def people(application: Application, on: date) -> list[tuple[str, str]]:
    """(role, normalised national id) of the application's applicant and co-applicant."""
    found: list[tuple[str, str]] = []
    for role, person in (
        ("applicant", application.applicant),
        ("co_applicant", application.co_applicant),
    ):
        if person is None:
            continue
        number = normalised(person.national_id, application.market, on)
        found.append((role, number if number is not None else person.national_id))
    return found


def people_in_payload(payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, normalised national id) of the people in a stored personal payload (an
    application as JSON): how payloads stored before subject links existed are linked."""
    market = payload.get("market")
    found: list[tuple[str, str]] = []
    for role in ("applicant", "co_applicant"):
        person = payload.get(role)
        if not isinstance(person, dict) or not isinstance(person.get("national_id"), str):
            continue
        number = normalised(person["national_id"], market if market in MARKETS else None)
        found.append((role, number if number is not None else person["national_id"]))
    return found
