"""Contact details: the e-mail fast path accepts only what email-validator accepts, and the
check as a whole answers as email-validator does."""

from __future__ import annotations

import email_validator
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.contact import (
    _international,
    _international_parts,
    email_problem,
    is_phone_number,
    plain_address,
)


def library_accepts(text: str) -> bool:
    try:
        email_validator.validate_email(text, check_deliverability=False)
    except email_validator.EmailNotValidError:
        return False
    return True


_ATOM = st.text("abcXYZ019_+-", min_size=1, max_size=70)
_LABEL = st.text("abz09-", min_size=1, max_size=70)
_TLD = st.sampled_from(["no", "se", "com", "NO", "test", "local", "arpa", "onion", "x1", "a"])
_PLAIN_LIKE = st.builds(
    lambda local, labels, tld: ".".join(local) + "@" + ".".join([*labels, tld]),
    st.lists(_ATOM, min_size=1, max_size=3),
    st.lists(_LABEL, min_size=0, max_size=4),
    _TLD,
)
"""Addresses near the fast path's edges: long parts and labels, hyphens at the ends and
doubled, special-use and numeric top-level domains, no dot at all."""


@given(_PLAIN_LIKE)
def test_the_fast_path_accepts_only_what_email_validator_accepts(text: str) -> None:
    if plain_address(text):
        assert library_accepts(text)
    assert (email_problem(text) is None) == library_accepts(text)


@given(st.text(max_size=40) | st.from_regex(r"[^@]{0,12}@[^@]{0,12}", fullmatch=True))
def test_the_check_answers_as_email_validator_on_any_text(text: str) -> None:
    assert (email_problem(text) is None) == library_accepts(text)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("kari.nordmann@example.no", True),
        ("Kari_N+lan@Mail-1.Example.COM", True),
        ("kari@localhost.localhost", False),  # special-use: email-validator refuses it
        ("kari@x--y.no", False),
        ("kari@example.n0", False),
        ("kari..n@example.no", False),
        ("a" * 65 + "@example.no", False),
        ("æøå@döm.se", False),  # Unicode: not plain, but an address
    ],
)
def test_plain_addresses(text: str, plain: bool) -> None:
    assert plain_address(text) is plain


def test_refused_addresses_keep_email_validators_reason() -> None:
    assert email_problem("kari@localhost.localhost") == (
        "The part after the @-sign is a special-use or reserved name that cannot be used "
        "with email."
    )
    assert email_problem("æøå@döm.se") is None


@pytest.mark.parametrize(
    ("text", "region", "valid"),
    [
        ("+47 912 34 567", "SE", True),
        ("912 34 567", "NO", True),
        ("070-123 45 67", "SE", True),
        ("070-123 45 67", "NO", False),
        ("12", "NO", False),
        ("not a number", "NO", False),
    ],
)
def test_phone_numbers(text: str, region: str, valid: bool) -> None:
    assert is_phone_number(text, region) is valid


def library_validates(text: str, region: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, region))
    except phonenumbers.NumberParseException:
        return False


_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
_REGIONS = st.sampled_from(["NO", "SE", *sorted(phonenumbers.SUPPORTED_REGIONS)])
_SEPARATOR = st.sampled_from(["", "", " ", "-", "."])
_DIGITS = st.lists(st.text("0123456789", min_size=1, max_size=5), min_size=1, max_size=5)
_PHONE_LIKE = st.one_of(
    st.builds(  # international: +CC and groups of digits
        lambda code, sep, groups: f"+{code}{sep}" + sep.join(groups),
        st.sampled_from(_CODES) | st.integers(0, 999),
        _SEPARATOR,
        _DIGITS,
    ),
    st.builds(lambda sep, groups: sep.join(groups), _SEPARATOR, _DIGITS),  # national
    st.builds(  # the shapes of the markets: +47 and 8 digits, +46 and 9, national with 0
        lambda prefix, digits: prefix + digits,
        st.sampled_from(["+47 ", "+46 ", "0", "", "+47", "0047 ", "+4779", "+358 18"]),
        st.text("0123456789", min_size=6, max_size=10),
    ),
    st.text(max_size=20),
)


@given(_PHONE_LIKE, _REGIONS)
def test_phone_numbers_are_valid_exactly_when_phonenumbers_says_so(text: str, region: str) -> None:
    assert is_phone_number(text, region) is library_validates(text, region)


def test_numbers_of_shared_country_codes_get_the_library_answer() -> None:
    """+47 is Norway and Svalbard, +1 many regions, +7 Russia and Kazakhstan, +44 the UK and
    the Crown dependencies, +800 a non-geographic entity."""
    samples = [
        "+47 79 02 12 34",
        "+47 912 34 567",
        "+1 684 733 1234",
        "+1 202 555 0143",
        "+1 876 123 4567",
        "+7 701 123 4567",
        "+7 912 345 6789",
        "+44 1624 612345",
        "+44 7700 900123",
        "+800 1234 5678",
        "+882 3456 7890",
    ]
    for text in samples:
        for region in ("NO", "SE", "US"):
            assert is_phone_number(text, region) is library_validates(text, region), text


_INTERNATIONAL = st.builds(  # "+CC NNNN...": the shape parsed without phonenumbers.parse
    lambda code, digits, cut, space: (lambda s: f"+{s[:cut]}{space}{s[cut:]}")(code + digits),
    st.sampled_from([str(c) for c in _CODES]) | st.integers(0, 999).map(str),
    st.text("0123456789", max_size=17),
    st.integers(0, 20),
    st.sampled_from(["", " "]),
)


@settings(max_examples=2000)
@given(_INTERNATIONAL, _REGIONS)
def test_international_numbers_are_parsed_as_phonenumbers_parses_them(
    text: str, region: str
) -> None:
    """The fast path gives the very number `phonenumbers.parse` gives, or leaves the text to
    it; and the answer is the library's."""
    fast = _international(text)
    parts = _international_parts(text)
    assert (fast is None) is (parts is None)
    if fast is not None:
        parsed = phonenumbers.parse(text, region)
        assert fast == parsed
        # what the check reads of it, without the library's number
        assert parts == (parsed.country_code, phonenumbers.national_significant_number(parsed))
    assert is_phone_number(text, region) is library_validates(text, region)
