"""Norwegian fødselsnummer and Swedish personnummer, as the Norwegian and Swedish
population registers define them.

The known-valid numbers below were computed by hand from those rules; the working is
in the comments, so a reader can check them without running the code under test.
"""

from __future__ import annotations

import calendar
from datetime import date

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.national_id import (
    FODSELSNUMMER_K1_WEIGHTS,
    FODSELSNUMMER_K2_WEIGHTS,
    NationalIdChecksumError,
    NationalIdDateError,
    NationalIdFormatError,
    age_on,
    birth_date,
    birth_ymd,
    birth_ymd_exprs,
    days_in_month,
    fodselsnummer_check_digits,
    luhn_check_digit,
    make_fodselsnummer,
    make_personnummer,
    months_since_birthday,
    parse,
    valid_ids,
)
from matcher.national_id import birth_dates as frame_birth_dates
from tests.strategies import birth_dates, decision_dates, fodselsnummers, personnummers

ON = date(2026, 11, 25)

# --- fødselsnummer: hand-computed numbers ------------------------------------------------
# 150385 123: K1 = 11 - (3*1+7*5+6*0+1*3+8*8+9*5+4*1+5*2+2*3 = 170; 170 mod 11 = 5) = 6
#             K2 = 11 - (5*1+4*5+3*0+2*3+7*8+6*5+5*1+4*2+3*3+2*6 = 151; mod 11 = 8) = 3
FNR_1985 = "15038512363"
# D-number, day 15 + 40 = 55: K1 = 11 - (182 mod 11 = 6) = 5; K2 = 11 - (169 mod 11 = 4) = 7
DNR_1985 = "55038512357"
# H-number, month 3 + 40 = 43: K1 = 11 - (194 mod 11 = 7) = 4; K2 = 11 - (159 mod 11 = 5) = 6
HNR_1985 = "15438512346"
# Synthetic, month 3 + 80 = 83: K1 = 11 - (218 mod 11 = 9) = 2; K2 = 11 - (167 mod 11 = 2) = 9
SYNTHETIC_1985 = "15838512329"
# 010105 512 (III 500-999, YY < 40 -> 2005): K1 = 11 - (82 mod 11 = 5) = 6;
#                                            K2 = 11 - (83 mod 11 = 6) = 5
FNR_2005 = "01010551265"
# 010160 600 (III 500-749, YY >= 54 -> 1860): K1 = 11 - (80 mod 11 = 3) = 8;
#                                             K2 = 11 - (94 mod 11 = 6) = 5
FNR_1860 = "01016060085"
# 010160 900 (III 900-999, YY >= 40 -> 1960): K1 = 11 - (92 mod 11 = 4) = 7;
#                                             K2 = 11 - (107 mod 11 = 8) = 3
FNR_1960 = "01016090073"
# 010160 800: valid check digits (88 mod 11 = 0 -> K1 = 0; 88 mod 11 = 0 -> K2 = 0) but
# III 750-899 with YY >= 40 belongs to no century.
FNR_NO_CENTURY = "01016080000"
# 310285 123 (31 February): K1 = 11 - (147 mod 11 = 4) = 7; K2 = 11 - (145 mod 11 = 2) = 9
FNR_31_FEB = "31028512379"


@pytest.mark.parametrize(
    ("number", "born", "flags"),
    [
        (FNR_1985, date(1985, 3, 15), set()),
        (DNR_1985, date(1985, 3, 15), {"d_number"}),
        (HNR_1985, date(1985, 3, 15), {"h_number"}),
        (SYNTHETIC_1985, date(1985, 3, 15), {"synthetic"}),
        (FNR_2005, date(2005, 1, 1), set()),
        (FNR_1860, date(1860, 1, 1), set()),
        (FNR_1960, date(1960, 1, 1), set()),
    ],
)
def test_hand_computed_fodselsnummer_parse_to_their_birth_date(
    number: str, born: date, flags: set[str]
) -> None:
    parsed = parse(number, "NO", on=ON)
    assert parsed.birth_date == born
    assert parsed.market == "NO"
    all_flags = {"d_number", "h_number", "synthetic", "samordningsnummer"}
    assert {f for f in all_flags if getattr(parsed, f)} == flags


def test_make_fodselsnummer_reproduces_the_hand_computed_numbers() -> None:
    born = date(1985, 3, 15)
    assert make_fodselsnummer(born, 123) == FNR_1985
    assert make_fodselsnummer(born, 123, d_number=True) == DNR_1985
    assert make_fodselsnummer(born, 123, h_number=True) == HNR_1985
    assert make_fodselsnummer(born, 123, synthetic=True) == SYNTHETIC_1985
    assert make_fodselsnummer(date(2005, 1, 1), 512) == FNR_2005
    assert make_fodselsnummer(date(1860, 1, 1), 600) == FNR_1860


def test_check_digits_that_would_be_10_mean_no_number() -> None:
    # 000100000: the K1 sum is 1*1 = 1, 1 mod 11 = 1, 11 - 1 = 10 -> invalid.
    assert fodselsnummer_check_digits("000100000") is None
    assert fodselsnummer_check_digits("150385123") == (6, 3)


@pytest.mark.parametrize("number", ["15038512364", "15038512373", "15038512263"])
def test_a_wrong_check_digit_is_a_checksum_error(number: str) -> None:
    with pytest.raises(NationalIdChecksumError, match="check digits"):
        parse(number, "NO", on=ON)


@pytest.mark.parametrize(
    "number", ["1503851236", "150385123633", "1503851236a", "15038 12363", "١٥٠٣٨٥١٢٣٦٣", ""]
)
def test_a_number_that_is_not_11_digits_is_a_format_error(number: str) -> None:
    with pytest.raises(NationalIdFormatError, match="11 digits"):
        parse(number, "NO", on=ON)


def test_31_february_is_a_date_error() -> None:
    with pytest.raises(NationalIdDateError, match="no such date 1985-02-31"):
        parse(FNR_31_FEB, "NO", on=ON)


def test_an_individual_number_outside_every_century_is_a_date_error() -> None:
    with pytest.raises(NationalIdDateError, match="individual number 800"):
        parse(FNR_NO_CENTURY, "NO", on=ON)


def _with_check_digits(ddmmyy: str) -> str:
    """A number with valid check digits for DDMMYY: the first individual from 123 that has
    them (about 1 in 6 has none)."""
    for individual in range(123, 500):
        check = fodselsnummer_check_digits(f"{ddmmyy}{individual}")
        if check is not None:
            return f"{ddmmyy}{individual}{check[0]}{check[1]}"
    raise AssertionError(ddmmyy)


def test_29_february_is_valid_only_in_leap_years() -> None:
    assert parse(_with_check_digits("290284"), "NO", on=ON).birth_date == date(1984, 2, 29)
    with pytest.raises(NationalIdDateError, match="no such date 1985-02-29"):
        parse(_with_check_digits("290285"), "NO", on=ON)


@pytest.mark.parametrize(
    "ddmmyy",
    [
        "151585",  # month 15
        "152985",  # month 29: neither +40 nor +80
        "154085",  # month 40: H offset on month 0
        "158085",  # month 80: synthetic offset on month 0
        "159385",  # month 93: synthetic month 13
        "321285",  # day 32
        "400385",  # day 40: D offset on day 0
        "720385",  # day 72: D-number day 32
        "000385",  # day 0
    ],
)
def test_months_and_days_outside_the_offsets_are_date_errors(ddmmyy: str) -> None:
    with pytest.raises(NationalIdDateError, match="no such date"):
        parse(_with_check_digits(ddmmyy), "NO", on=ON)


def test_a_birth_after_the_reference_date_is_a_date_error() -> None:
    future = make_fodselsnummer(date(2030, 1, 1), 601)
    with pytest.raises(NationalIdDateError, match="after 2026-11-25"):
        parse(future, "NO", on=ON)
    assert birth_date(future, "NO", on=date(2030, 1, 1)) == date(2030, 1, 1)


def test_make_fodselsnummer_refuses_impossible_requests() -> None:
    with pytest.raises(ValueError, match="not used for 1985"):
        make_fodselsnummer(date(1985, 3, 15), 600)
    with pytest.raises(ValueError, match=r"not in 0\.\.999"):
        make_fodselsnummer(date(1985, 3, 15), 1000)
    with pytest.raises(ValueError, match="not both"):
        make_fodselsnummer(date(1985, 3, 15), 123, h_number=True, synthetic=True)
    with pytest.raises(ValueError, match="no check digits"):
        # 010185000: K1 = 11 - (117 mod 11 = 7) = 4; K2 sum 100, 100 mod 11 = 1 -> 10.
        make_fodselsnummer(date(1985, 1, 1), 0)


# --- personnummer: hand-computed numbers -------------------------------------------------
# 900714 123: Luhn over 9,0,0,7,1,4,1,2,3 with weights 2,1,2,1,...:
#   18->1+8=9, 0, 0, 7, 2, 4, 2, 2, 6 = 32 -> C = (10 - 2) mod 10 = 8
PNR_1990 = "900714-1238"
# samordningsnummer, day 14 + 60 = 74: 9, 0, 0, 7, 14->5, 4, 2, 2, 6 = 35 -> C = 5
SNR_1990 = "900774-1235"


@pytest.mark.parametrize("number", [PNR_1990, "9007141238", "199007141238", "19900714-1238"])
def test_hand_computed_personnummer_parse_in_every_form(number: str) -> None:
    parsed = parse(number, "SE", on=ON)
    assert parsed.birth_date == date(1990, 7, 14)
    assert not parsed.samordningsnummer


@pytest.mark.parametrize("number", [PNR_1990, "9007141238", "199007141238", "19900714-1238"])
def test_every_written_form_of_a_personnummer_is_one_number(number: str) -> None:
    assert parse(number, "SE", on=ON).number == "199007141238"


def test_a_personnummer_of_someone_aged_100_is_one_number_too() -> None:
    assert parse("900714+1238", "SE", on=ON).number == "189007141238"
    assert parse("189007141238", "SE", on=ON).number == "189007141238"


def test_a_fodselsnummer_is_its_own_written_form() -> None:
    assert parse(FNR_1985, "NO", on=ON).number == FNR_1985


def test_samordningsnummer_has_day_plus_60() -> None:
    parsed = parse(SNR_1990, "SE", on=ON)
    assert parsed.birth_date == date(1990, 7, 14)
    assert parsed.samordningsnummer


def test_plus_separator_means_aged_100_or_more() -> None:
    assert birth_date("900714+1238", "SE", on=ON) == date(1890, 7, 14)


def test_luhn_check_digit_matches_the_hand_computation() -> None:
    assert luhn_check_digit("900714123") == 8
    assert luhn_check_digit("900774123") == 5


@pytest.mark.parametrize(
    ("ten", "born"),
    [
        ("2601011234", date(2026, 1, 1)),  # earlier this year: born this year
        ("2611251234", date(2026, 11, 25)),  # born on the decision date: age 0
        ("2611261234", date(1926, 11, 26)),  # tomorrow's date: 99 years ago
        ("2612011234", date(1926, 12, 1)),
        ("2701011234", date(1927, 1, 1)),
        ("0002291234", date(2000, 2, 29)),
    ],
)
def test_a_10_digit_personnummer_is_younger_than_100_on_the_reference_date(
    ten: str, born: date
) -> None:
    number = ten[:9] + str(luhn_check_digit(ten[:9]))
    assert birth_date(number, "SE", on=ON) == born
    assert 0 <= age_on(born, ON) < 100


def test_29_february_in_1900_is_a_date_error_for_plus_numbers() -> None:
    number = "000229+123" + str(luhn_check_digit("000229123"))
    with pytest.raises(NationalIdDateError, match="no such date 1900-02-29"):
        parse(number, "SE", on=ON)


@pytest.mark.parametrize("number", ["900714-1239", "199007141239", "900714-2238"])
def test_a_wrong_luhn_digit_is_a_checksum_error(number: str) -> None:
    with pytest.raises(NationalIdChecksumError, match="Luhn"):
        parse(number, "SE", on=ON)


@pytest.mark.parametrize(
    "number",
    ["19900714+1238", "900714 1238", "90071412", "9007-141238", "90071a-1238", "1990071412380"],
)
def test_other_shapes_are_format_errors(number: str) -> None:
    with pytest.raises(NationalIdFormatError, match="YYMMDD-NNNC"):
        parse(number, "SE", on=ON)


@pytest.mark.parametrize("yymmdd", ["900231", "901301", "900700", "900760", "900792"])
def test_impossible_personnummer_dates_are_date_errors(yymmdd: str) -> None:
    nine = f"{yymmdd}123"
    with pytest.raises(NationalIdDateError, match="no such date"):
        parse(f"{nine}{luhn_check_digit(nine)}", "SE", on=ON)


def test_a_long_personnummer_born_in_the_future_is_a_date_error() -> None:
    nine = "300101123"
    with pytest.raises(NationalIdDateError, match="after"):
        parse(f"20{nine}{luhn_check_digit(nine)}", "SE", on=ON)


def test_make_personnummer_forms() -> None:
    born = date(1990, 7, 14)
    assert make_personnummer(born, 123, on=ON) == PNR_1990
    assert make_personnummer(born, 123, on=ON, form="compact") == "9007141238"
    assert make_personnummer(born, 123, on=ON, form="long") == "199007141238"
    assert make_personnummer(born, 123, on=ON, samordningsnummer=True) == SNR_1990
    assert make_personnummer(date(1890, 7, 14), 123, on=ON) == "900714+1238"
    with pytest.raises(ValueError, match="compact"):
        make_personnummer(date(1890, 7, 14), 123, on=ON, form="compact")
    with pytest.raises(ValueError, match="after"):
        make_personnummer(date(2027, 1, 1), 123, on=ON)


def test_a_number_of_the_other_market_is_refused() -> None:
    with pytest.raises(NationalIdFormatError):
        parse(FNR_1985, "SE", on=ON)
    with pytest.raises(NationalIdFormatError):
        parse(PNR_1990, "NO", on=ON)


# --- age ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(1990, 7, 14), date(2026, 7, 13), 35),
        (date(1990, 7, 14), date(2026, 7, 14), 36),  # birthday on the decision date
        (date(2000, 2, 29), date(2025, 2, 28), 24),
        (date(2000, 2, 29), date(2025, 3, 1), 25),  # leap-day birthday counts from 1 March
        (date(2000, 2, 29), date(2028, 2, 29), 28),
        (date(2026, 11, 25), date(2026, 11, 25), 0),
    ],
)
def test_age_in_whole_years(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


@pytest.mark.parametrize(
    ("born", "on", "months"),
    [
        (date(1985, 3, 15), date(2000, 3, 14), 0),  # the day before the 15th birthday
        (date(1985, 3, 15), date(2000, 3, 15), 0),
        (date(1985, 3, 15), date(2000, 4, 14), 0),
        (date(1985, 3, 15), date(2000, 4, 15), 1),
        (date(1985, 3, 15), date(2026, 11, 25), 320),
        (date(2000, 2, 29), date(2015, 3, 29), 1),
        (date(2020, 1, 1), date(2026, 11, 25), 0),  # not 15 yet
    ],
)
def test_whole_months_since_the_15th_birthday(born: date, on: date, months: int) -> None:
    assert months_since_birthday(born, 15, on) == months


# --- properties --------------------------------------------------------------------------


@given(on=decision_dates(), data=st.data())
def test_every_generated_fodselsnummer_parses_to_its_birth_date(
    on: date, data: st.DataObject
) -> None:
    born = data.draw(birth_dates(on))
    number = data.draw(fodselsnummers(on, birth=born))
    assert birth_date(number, "NO", on=on) == born
    assert birth_ymd(number, "NO", on=on) == (born.year, born.month, born.day)


@given(on=decision_dates(), data=st.data())
def test_every_generated_personnummer_parses_to_its_birth_date(
    on: date, data: st.DataObject
) -> None:
    born = data.draw(birth_dates(on))
    number = data.draw(personnummers(on, birth=born))
    assert birth_date(number, "SE", on=on) == born
    assert birth_ymd(number, "SE", on=on) == (born.year, born.month, born.day)


@given(number=fodselsnummers(), position=st.integers(0, 10), delta=st.integers(1, 9))
def test_every_single_digit_error_in_a_fodselsnummer_is_caught(
    number: str, position: int, delta: int
) -> None:
    digit = (int(number[position]) + delta) % 10
    changed = number[:position] + str(digit) + number[position + 1 :]
    with pytest.raises(NationalIdChecksumError):
        parse(changed, "NO", on=ON)


@given(number=personnummers(), position=st.integers(0, 9), delta=st.integers(1, 9))
def test_every_single_digit_error_in_a_personnummer_is_caught(
    number: str, position: int, delta: int
) -> None:
    digits = [i for i, ch in enumerate(number) if ch.isdigit()][-10:]  # the 10-digit form
    at = digits[position]
    changed = number[:at] + str((int(number[at]) + delta) % 10) + number[at + 1 :]
    with pytest.raises(NationalIdChecksumError):
        parse(changed, "SE", on=ON)


@given(
    on=decision_dates(),
    data=st.data(),
)
def test_polars_birth_date_expressions_agree_with_the_python_parser(
    on: date, data: st.DataObject
) -> None:
    rows = data.draw(
        st.lists(
            st.one_of(
                fodselsnummers(on).map(lambda n: ("NO", n)),
                personnummers(on).map(lambda n: ("SE", n)),
            ),
            min_size=1,
            max_size=20,
        )
    )
    frame = pl.DataFrame(rows, schema={"market": pl.String, "id": pl.String}, orient="row")
    year, month, day = birth_ymd_exprs(pl.col("id"), pl.col("market"), on=on)
    got = frame.select(year.alias("y"), month.alias("m"), day.alias("d")).rows()
    expected = []
    for market, number in rows:
        born = birth_date(number, market, on=on)  # type: ignore[arg-type]
        expected.append((born.year, born.month, born.day))
    assert got == expected


def _mutated(draw: st.DrawFn, number: str) -> str:
    """`number` with one character replaced, dropped or doubled (often still well-formed)."""
    i = draw(st.integers(0, len(number) - 1))
    how = draw(st.sampled_from(["digit", "drop", "double", "sign"]))
    if how == "digit":
        return number[:i] + str(draw(st.integers(0, 9))) + number[i + 1 :]
    if how == "drop":
        return number[:i] + number[i + 1 :]
    if how == "double":
        return number[:i] + number[i] + number[i:]
    return number[:i] + draw(st.sampled_from("-+ x")) + number[i + 1 :]


@st.composite
def any_national_ids(draw: st.DrawFn, on: date) -> tuple[str, str]:
    """(market, id): valid numbers of either market, given to either market, mutated or not,
    and digit strings of every length."""
    market = draw(st.sampled_from(["NO", "SE"]))
    kind = draw(st.sampled_from(["valid", "mutated", "digits"]))
    if kind == "digits":
        return market, draw(st.text("0123456789-+", min_size=0, max_size=14))
    number = draw(st.one_of(fodselsnummers(on), personnummers(on)))
    return market, number if kind == "valid" else _mutated(draw, number)


@settings(max_examples=150)  # each example checks up to 40 numbers in one frame
@given(on=decision_dates(), data=st.data())
def test_the_frame_check_of_national_ids_is_parse(on: date, data: st.DataObject) -> None:
    """`valid_ids` is true exactly where `parse` accepts the number (both markets, every
    form, mutated numbers, wrong markets, random digit strings)."""
    rows = data.draw(st.lists(any_national_ids(on), min_size=1, max_size=40))
    frame = pl.DataFrame(rows, schema=["market", "id"], orient="row")
    found = valid_ids(frame, pl.col("id"), pl.col("market"), on=on)

    def accepted(market: str, number: str) -> bool:
        try:
            parse(number, market, on=on)  # type: ignore[arg-type]
        except ValueError:
            return False
        return True

    assert found.to_list() == [accepted(m, n) for m, n in rows]

    def born(market: str, number: str) -> int | None:
        try:
            found = parse(number, market, on=on)  # type: ignore[arg-type]
        except ValueError:
            return None
        return int(found.birth_date.strftime("%Y%m%d"))

    births = frame_birth_dates(frame, pl.col("id"), pl.col("market"), on=on)
    assert births.to_list() == [born(m, n) for m, n in rows]


# --- the check digits against their textbook definitions -----------------------------------


def _luhn_reference(digits: str) -> int:
    total = 0
    for i, ch in enumerate(digits):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def _mod11_reference(digits: str, weights: tuple[int, ...]) -> int | None:
    rest = sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11
    check = 0 if rest == 0 else 11 - rest
    return None if check == 10 else check


_DIGITS = st.text(alphabet="0123456789", min_size=0, max_size=14)


@given(_DIGITS)
def test_luhn_check_digit_equals_the_digit_by_digit_definition(digits: str) -> None:
    assert luhn_check_digit(digits) == _luhn_reference(digits)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_fodselsnummer_check_digits_equal_the_weighted_sums(nine: str) -> None:
    k1 = _mod11_reference(nine, FODSELSNUMMER_K1_WEIGHTS)
    k2 = None if k1 is None else _mod11_reference(nine + str(k1), FODSELSNUMMER_K2_WEIGHTS)
    expected = None if k1 is None or k2 is None else (k1, k2)
    assert fodselsnummer_check_digits(nine) == expected


def test_days_in_month_equals_the_calendars_for_every_year_and_month() -> None:
    for year in range(0, 10_000):
        for month in range(1, 13):
            assert days_in_month(year, month) == calendar.monthrange(year, month)[1]
