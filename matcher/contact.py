"""Contact details checked: an e-mail address (syntax only, no DNS) and a phone number.

The checks are email-validator's and phonenumbers' own; the e-mail check first tries a fast
path. Most addresses people give are plain ASCII (`kari.nordmann@example.no`), and for those
email-validator's answer is known without running it: a local part of letters, digits, `_`,
`+` and `-` between single dots, and a domain of letter-and-digit labels joined by single
hyphens, ending in a letters-only top-level domain, within every length limit and outside
the special-use names, is an address email-validator accepts. Everything else (Unicode,
quoted local parts, other atext characters, anything unusual) goes to email-validator, so
the fast path accepts a subset of what it accepts and refuses nothing itself
(`tests/matcher/test_contact.py` checks both on generated addresses).
"""

from __future__ import annotations

import re

import email_validator
import phonenumbers

_PLAIN_ADDRESS = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*)"
    r"@(?P<domain>(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*\.)+[A-Za-z]+)"
)
LOCAL_PART_MAX_LENGTH = 64
ADDRESS_MAX_LENGTH = 254
DOMAIN_MAX_LENGTH = 253
LABEL_MAX_LENGTH = 63
_SPECIAL_USE = tuple(email_validator.SPECIAL_USE_DOMAIN_NAMES)


def plain_address(text: str) -> bool:
    """Whether `text` is a plain ASCII address that email-validator accepts without a doubt
    (see the module doc); False says only "ask email-validator"."""
    found = _PLAIN_ADDRESS.fullmatch(text)
    if found is None or len(text) > ADDRESS_MAX_LENGTH:
        return False
    domain = found["domain"].lower()
    return (
        len(found["local"]) <= LOCAL_PART_MAX_LENGTH
        and len(domain) <= DOMAIN_MAX_LENGTH
        and max(map(len, domain.split("."))) <= LABEL_MAX_LENGTH
        and not any(domain == d or domain.endswith("." + d) for d in _SPECIAL_USE)
    )


def email_problem(text: str) -> str | None:
    """Why `text` is not an e-mail address (email-validator's reason), or None when it is
    one: syntax only, no DNS."""
    if plain_address(text):
        return None
    try:
        email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        return str(exc)
    return None


def is_phone_number(text: str, region: str) -> bool:
    """A valid number of its numbering plan: international (+CC ...) or national in `region`."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(number)
