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

import functools
import re
from typing import Any

import email_validator
import phonenumbers
from phonenumbers import phonenumberutil as _util

# possessive quantifiers (`++`, `*+`: never give back what they took) where giving back
# cannot help the match: a run of a class stops at a character outside it, and the domain's
# "label." parts stop at the top-level domain, which has no dot; the same addresses match,
# without the regex engine's backtracking
_PLAIN_ADDRESS = re.compile(
    r"(?P<local>[A-Za-z0-9_+-]++(?:\.[A-Za-z0-9_+-]++)*+)"
    r"@(?P<domain>(?:[A-Za-z0-9]++(?:-[A-Za-z0-9]++)*+\.)++[A-Za-z]++)"
)
LOCAL_PART_MAX_LENGTH = 64
ADDRESS_MAX_LENGTH = 254
DOMAIN_MAX_LENGTH = 253
LABEL_MAX_LENGTH = 63
_SPECIAL_USE = frozenset(email_validator.SPECIAL_USE_DOMAIN_NAMES)
_SPECIAL_USE_LABELS = max((name.count(".") + 1 for name in _SPECIAL_USE), default=0)
"""The most labels a special-use name has: a longer suffix of a domain is none of them."""


def plain_address(text: str) -> bool:
    """Whether `text` is a plain ASCII address that email-validator accepts without a doubt
    (see the module doc); False says only "ask email-validator"."""
    found = _PLAIN_ADDRESS.fullmatch(text)
    if found is None or len(text) > ADDRESS_MAX_LENGTH:
        return False
    local, domain = found.group("local", "domain")
    domain = domain.lower()
    labels = domain.split(".")
    if (
        len(local) > LOCAL_PART_MAX_LENGTH
        or len(domain) > DOMAIN_MAX_LENGTH
        or max(map(len, labels)) > LABEL_MAX_LENGTH
    ):
        return False
    # neither a special-use name nor below one: no suffix of whole labels is one (of those
    # short enough to be one)
    for i in range(max(len(labels) - _SPECIAL_USE_LABELS, 0), len(labels)):
        if ".".join(labels[i:]) in _SPECIAL_USE:
            return False
    return True


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
    """A valid number of its numbering plan: international (+CC ...) or national in `region`.

    `phonenumbers.parse` (for "+CC NNNN..." its result worked out without it, see
    `_international`), then `phonenumbers.is_valid_number`'s decision, worked out as that
    function does (the region a number of a shared country code belongs to, then the number
    against that region's patterns) with each region's patterns compiled once: the library
    asks the same question twice and compiles on each call (`tests/matcher/test_contact.py`
    compares the two on generated numbers)."""
    parts = _international_parts(text)
    if parts is None:
        try:
            number = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            return False
        country_code = number.country_code
        national = phonenumbers.national_significant_number(number)
    else:
        country_code, national = parts
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code or 0)
    if country_code is None or regions is None:
        return False
    home = regions[0] if len(regions) == 1 else _region_of(national, country_code, regions)
    if home is None:
        return False
    plan = _plan(country_code, home)
    return plan is not None and plan.country_code == country_code and plan.valid(national)


# "+CC NNNN...": a plus, digits, at most one space. For these `phonenumbers.parse` finds the
# number as written (no extension, phone context or letters), takes the country code as the
# shortest known prefix of the digits, and ignores the region; what it does next (strip a
# national prefix where the rest keeps a possible length, Italian leading zeros) is done here
# by its own functions. Anything else, and anything it would refuse, goes to `parse`.
_PLUS_DIGITS = re.compile(r"\+[0-9]+(?: [0-9]+)?")
_KEEP_STRIPPED = frozenset(
    set(_util.ValidationResult.__dict__.values())
    - {
        _util.ValidationResult.TOO_SHORT,
        _util.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
        _util.ValidationResult.INVALID_LENGTH,
    }
)


def _international(text: str) -> phonenumbers.PhoneNumber | None:
    """`phonenumbers.parse(text, region)` for "+CC NNNN..." that it parses (any region), or
    None: not of that shape, or a number `parse` would refuse."""
    parts = _international_parts(text)
    if parts is None:
        return None
    country_code, national = parts
    number = phonenumbers.PhoneNumber(country_code=country_code)
    _util._set_italian_leading_zeros_for_phone_number(national, number)
    number.national_number = int(national)
    return number


def _international_parts(text: str) -> tuple[int, str] | None:
    """The country code and the national significant number (as
    `phonenumbers.national_significant_number` writes it: its leading zeros kept) of
    `_international(text)`, without building the library's number: None where that is."""
    if len(text) > 24 or _PLUS_DIGITS.fullmatch(text) is None:
        return None
    digits = text[1:].replace(" ", "")
    if len(digits) <= _util._MIN_LENGTH_FOR_NSN or digits[0] == "0":
        return None
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if country_code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    national = digits[size:]
    if len(national) < _util._MIN_LENGTH_FOR_NSN:
        return None
    found = _metadata(country_code)
    if found is None:
        return None
    metadata, prefix = found
    # the library strips nothing where its national prefix pattern does not match
    if prefix is not None and prefix.match(national):
        # its stubs say (str, str, bool); it gives None first where there is no carrier code
        strip: Any = _util._maybe_strip_national_prefix_carrier_code
        _, stripped, _ = strip(national, metadata)
        if _util._test_number_length(stripped, metadata) in _KEEP_STRIPPED:
            national = stripped
    if not _util._MIN_LENGTH_FOR_NSN <= len(national) <= _util._MAX_LENGTH_FOR_NSN:
        return None
    return country_code, national


@functools.cache
def _metadata(
    country_code: int,
) -> tuple[phonenumbers.PhoneMetadata, re.Pattern[str] | None] | None:
    """The metadata `phonenumbers.parse` uses for a country code's numbers (its main
    region's) and its national prefix pattern compiled (None: there is none, and the
    library strips nothing); kept for the process, as the library keeps its metadata."""
    region = _util.region_code_for_country_code(country_code)
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(country_code, region)
    if metadata is None:
        return None
    prefix = metadata.national_prefix_for_parsing
    return metadata, re.compile(prefix) if prefix else None


def _region_of(national: str, country_code: int, regions: tuple[str, ...]) -> str | None:
    """The region of a country code shared by several that a national number belongs to."""
    for region in regions:
        plan = _plan(country_code, region)
        if plan is None:
            continue
        if plan.leading_digits is not None:
            if plan.leading_digits.match(national):
                return region
        elif plan.valid(national):
            return region
    return None


_NumberKind = tuple[frozenset[int], re.Pattern[str]]


class _Plan:
    """A region's numbering plan: the general pattern and that of each kind of number."""

    def __init__(self, metadata: phonenumbers.PhoneMetadata) -> None:
        self.country_code: int | None = metadata.country_code
        leading = metadata.leading_digits
        self.leading_digits = re.compile(leading) if leading is not None else None
        self.general = _kind(metadata.general_desc)
        # the library tries these in its order to name the type; whether one matches does
        # not depend on the order, so the usual kinds (mobile, fixed line) come first
        kinds = [] if metadata.same_mobile_and_fixed_line_pattern else [metadata.mobile]
        kinds += [
            metadata.fixed_line,
            metadata.premium_rate,
            metadata.toll_free,
            metadata.shared_cost,
            metadata.voip,
            metadata.personal_number,
            metadata.pager,
            metadata.uan,
            metadata.voicemail,
        ]
        # typed with None: compiled, a list of fixed-length tuples is read an item at a
        # time unboxed, and passing one on to `_matches` would make a new tuple of it
        self.kinds: list[_NumberKind | None] = [k for k in map(_kind, kinds) if k is not None]

    def valid(self, national: str) -> bool:
        """Whether the number is of the general pattern and of one kind (not UNKNOWN)."""
        if not _matches(national, self.general):
            return False
        for kind in self.kinds:  # noqa: SIM110 - a loop: no generator made per number
            if _matches(national, kind):
                return True
        return False


def _kind(desc: phonenumbers.PhoneNumberDesc | None) -> _NumberKind | None:
    if desc is None or not desc.national_number_pattern:
        return None
    return frozenset(desc.possible_length or ()), re.compile(desc.national_number_pattern)


def _matches(national: str, kind: _NumberKind | None) -> bool:
    if kind is None:
        return False
    lengths, pattern = kind
    return (not lengths or len(national) in lengths) and pattern.fullmatch(national) is not None


@functools.cache
def _plan(country_code: int, region: str) -> _Plan | None:
    """The plan of a region ("001", the non-geographic entity, by its country code); kept
    for the process, as the library's own metadata is: a few hundred regions at most."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, region.upper()
    )
    return None if metadata is None else _Plan(metadata)
