"""National identity numbers: Norwegian fødselsnummer and Swedish personnummer.

The rules are those of the Norwegian and Swedish population registers, implemented exactly:

- **fødselsnummer** (NO): 11 digits DDMMYY III K1 K2, two mod-11 check digits; D-number day
  + 40, H-number month + 40, synthetic test number month + 80; the century comes from the
  individual number III.
- **personnummer** (SE): YYMMDD-NNNC, YYMMDDNNNC (10 digits; "+" instead of "-" means aged
  100 or more) or YYYYMMDDNNNC (12 digits, also written YYYYMMDD-NNNC); C is the Luhn check
  digit over the 10-digit form; samordningsnummer day + 60. The century of a 10-digit number
  is the one that makes the person younger than 100 on the reference date ("-") or at least
  100 ("+").

Every check raises an `InvalidNationalIdError` (a `ValueError`) that says what is wrong,
without repeating the number itself. The same rules, vectorised for frames, are
`birth_ymd_exprs` (assumes numbers that passed `parse`).
"""

from __future__ import annotations

import calendar
import operator
from collections.abc import Callable
from datetime import date
from typing import Any, Literal, NamedTuple

import polars as pl

from lender_rules.vocabulary import Market
from matcher.errors import (
    NationalIdChecksumError,
    NationalIdDateError,
    NationalIdFormatError,
)

PersonnummerForm = Literal["short", "compact", "long"]

# Tables typed `tuple[int, ...]`: compiled, a fixed-length tuple type is held unboxed, and
# each use as an object (indexed in a loop, passed on) would make a new tuple of it.
FODSELSNUMMER_K1_WEIGHTS: tuple[int, ...] = (3, 7, 6, 1, 8, 9, 4, 5, 2)
FODSELSNUMMER_K2_WEIGHTS: tuple[int, ...] = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
D_NUMBER_DAY_OFFSET = 40
H_NUMBER_MONTH_OFFSET = 40
SYNTHETIC_MONTH_OFFSET = 80
SAMORDNINGSNUMMER_DAY_OFFSET = 60


class ParsedId(NamedTuple):
    """What a valid identity number says about its holder (a named tuple: immutable, and
    built in a fraction of a frozen dataclass's time, once per person validated)."""

    market: Market
    birth_date: date
    number: str  # one written form per holder: NO the 11 digits, SE YYYYMMDDNNNC
    d_number: bool = False  # NO: day + 40
    h_number: bool = False  # NO: month + 40
    synthetic: bool = False  # NO: month + 80 (test numbers)
    samordningsnummer: bool = False  # SE: day + 60


_PARSED: Any = tuple.__new__
"""How `parse` makes its `ParsedId`: from the tuple of every field, as `ParsedId._make`
does; calling the class runs its `__new__` in the interpreter, keywords gathered."""


# --- checks ------------------------------------------------------------------------------


def _mod11(digits: str, weights: tuple[int, ...]) -> int:
    """The mod-11 check digit of `digits`; 10 means no valid check digit exists."""
    if len(digits) != len(weights):
        raise ValueError(f"{len(digits)} digits for {len(weights)} weights")
    rest = sum(map(operator.mul, map(int, digits), weights)) % 11
    return 0 if rest == 0 else 11 - rest


_ZERO = ord("0")
# the weighted sums of ASCII digits taken as their bytes are too large by "0" times the
# weights' sum (K2's ninth-digit part: its tenth digit is K1)
_K1_EXCESS = _ZERO * sum(FODSELSNUMMER_K1_WEIGHTS)
_K2_EXCESS = _ZERO * sum(FODSELSNUMMER_K2_WEIGHTS[:9])


def fodselsnummer_check_digits(first_nine: str) -> tuple[int, int] | None:
    """K1 and K2 for the first nine digits, or None when either would be 10 (no number)."""
    if not (len(first_nine) == 9 and first_nine.isascii() and first_nine.isdigit()):
        return _check_digits_of(first_nine)
    # nine ASCII digits (every number `parse` checks): both sums over their bytes in one
    # loop of machine integers (compiled; `sum(map(operator.mul, ...))` calls a Python
    # function per digit)
    raw = first_nine.encode()
    k1_weights = FODSELSNUMMER_K1_WEIGHTS
    k2_weights = FODSELSNUMMER_K2_WEIGHTS
    k1_sum = k2_sum = 0
    for i in range(9):
        byte: int = raw[i]
        k1_sum += byte * k1_weights[i]
        k2_sum += byte * k2_weights[i]
    rest = (k1_sum - _K1_EXCESS) % 11
    k1 = 0 if rest == 0 else 11 - rest
    if k1 == 10:
        return None
    rest = (k2_sum - _K2_EXCESS + k1 * FODSELSNUMMER_K2_WEIGHTS[9]) % 11
    k2 = 0 if rest == 0 else 11 - rest
    if k2 == 10:
        return None
    return k1, k2


def _check_digits_of(first_nine: str) -> tuple[int, int] | None:
    """`fodselsnummer_check_digits` digit by digit (any digits `int` reads)."""
    k1 = _mod11(first_nine, FODSELSNUMMER_K1_WEIGHTS)
    if k1 == 10:
        return None
    k2 = _mod11(first_nine + str(k1), FODSELSNUMMER_K2_WEIGHTS)
    if k2 == 10:
        return None
    return k1, k2


_LUHN_DOUBLED: tuple[int, ...] = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)
"""A digit times 2, its two digits added (9 subtracted above 9): Luhn's weight-2 terms."""


def luhn_check_digit(digits: str) -> int:
    """The Luhn check digit of `digits` (weights 2, 1, 2, ... from the left for 9 digits)."""
    if digits.isascii() and digits.isdigit():  # the bytes of ASCII digits, without `int`
        raw = digits.encode()
        twice = _LUHN_DOUBLED
        total = 0
        for i in range(len(raw)):  # a loop of machine integers, compiled
            digit: int = raw[i] - _ZERO
            total += digit if i % 2 else twice[digit]
    else:
        doubled = sum(map(_LUHN_DOUBLED.__getitem__, map(int, digits[0::2])))
        total = doubled + sum(map(int, digits[1::2]))
    return (10 - total % 10) % 10


def fodselsnummer_century(individual: int, yy: int) -> int | None:
    """The century (1800, 1900, 2000) the individual number III gives, or None if none does."""
    if individual <= 499:
        return 1900
    if individual >= 900 and yy >= 40:
        return 1900
    if yy < 40:
        return 2000
    if individual <= 749 and yy >= 54:
        return 1800
    return None


_DAYS_IN_MONTH: tuple[int, ...] = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def days_in_month(year: int, month: int) -> int:
    """`calendar.monthrange(year, month)[1]` (month 1-12), without its weekday."""
    return 29 if month == 2 and calendar.isleap(year) else _DAYS_IN_MONTH[month]


def _birth(market: Market, year: int, month: int, day: int, on: date) -> date:
    if not 1 <= month <= 12 or not 1 <= day <= days_in_month(year, month):
        raise NationalIdDateError(market, f"no such date {year:04d}-{month:02d}-{day:02d}")
    born = date(year, month, day)
    if born > on:
        raise NationalIdDateError(market, f"birth date {born.isoformat()} is after {on}")
    return born


def parse_fodselsnummer(number: str, *, on: date) -> ParsedId:
    """Check a Norwegian fødselsnummer (also D-, H- and synthetic numbers) and parse it."""
    if len(number) != 11 or not number.isascii() or not number.isdigit():
        raise NationalIdFormatError("NO", "must be exactly 11 digits")
    expected = fodselsnummer_check_digits(number[:9])
    if expected is None or expected != (int(number[9]), int(number[10])):
        raise NationalIdChecksumError("NO", "check digits do not match")
    dd, mm, yy, individual = int(number[0:2]), int(number[2:4]), int(number[4:6]), int(number[6:9])
    d_number = dd > D_NUMBER_DAY_OFFSET
    day = dd - D_NUMBER_DAY_OFFSET if d_number else dd
    h_number = H_NUMBER_MONTH_OFFSET < mm <= H_NUMBER_MONTH_OFFSET + 12
    synthetic = SYNTHETIC_MONTH_OFFSET < mm <= SYNTHETIC_MONTH_OFFSET + 12
    month = mm - (H_NUMBER_MONTH_OFFSET if h_number else SYNTHETIC_MONTH_OFFSET if synthetic else 0)
    century = fodselsnummer_century(individual, yy)
    if century is None:
        raise NationalIdDateError(
            "NO", f"individual number {individual:03d} is not used for YY={yy:02d}"
        )
    born = _birth("NO", century + yy, month, day, on)
    parsed: ParsedId = _PARSED(ParsedId, ("NO", born, number, d_number, h_number, synthetic, False))
    return parsed


def _personnummer_parts(number: str) -> tuple[str, int | None, bool]:
    """Split into (10-digit form, 4-digit year or None, "+" separator)."""
    if number.isascii() and number.isdigit():
        if len(number) == 10:
            return number, None, False
        if len(number) == 12:
            return number[2:], int(number[:4]), False
    elif len(number) == 11 and number[6] in "-+":
        digits = number[:6] + number[7:]
        if digits.isascii() and digits.isdigit():
            return digits, None, number[6] == "+"
    elif len(number) == 13 and number[8] == "-":
        digits = number[:8] + number[9:]
        if digits.isascii() and digits.isdigit():
            return digits[2:], int(digits[:4]), False
    raise NationalIdFormatError(
        "SE", "must be YYMMDD-NNNC, YYMMDD+NNNC, YYMMDDNNNC, YYYYMMDDNNNC or YYYYMMDD-NNNC"
    )


def personnummer_year(yy: int, month: int, day: int, *, hundred_plus: bool, on: date) -> int:
    """The birth year of a 10-digit personnummer: the latest year ending in `yy` whose
    (month, day) is not after `on`, minus 100 for the "+" separator (aged 100 or more)."""
    year = on.year - on.year % 100 + yy
    if year > on.year or (year == on.year and _later_in_year(month, day, on)):
        year -= 100
    return year - 100 if hundred_plus else year


def parse_personnummer(number: str, *, on: date) -> ParsedId:
    """Check a Swedish personnummer (also samordningsnummer) and parse it."""
    ten, year, hundred_plus = _personnummer_parts(number)
    if luhn_check_digit(ten[:9]) != int(ten[9]):
        raise NationalIdChecksumError("SE", "Luhn check digit does not match")
    yy, month, dd = int(ten[0:2]), int(ten[2:4]), int(ten[4:6])
    samordning = dd > SAMORDNINGSNUMMER_DAY_OFFSET
    day = dd - SAMORDNINGSNUMMER_DAY_OFFSET if samordning else dd
    if year is None:
        year = personnummer_year(yy, month, day, hundred_plus=hundred_plus, on=on)
    born = _birth("SE", year, month, day, on)
    parsed: ParsedId = _PARSED(
        ParsedId, ("SE", born, f"{year:04d}{ten[2:]}", False, False, False, samordning)
    )
    return parsed


def parse(national_id: str, market: Market, *, on: date) -> ParsedId:
    """Check `national_id` against the rules of `market` and parse it (see module doc)."""
    if market == "NO":
        return parse_fodselsnummer(national_id, on=on)
    if market == "SE":
        return parse_personnummer(national_id, on=on)
    raise ValueError(f"unknown market {market!r}")


def birth_date(national_id: str, market: Market, *, on: date) -> date:
    """The holder's birth date; raises `InvalidNationalIdError` for an invalid number."""
    return parse(national_id, market, on=on).birth_date


def birth_ymd(national_id: str, market: Market, *, on: date) -> tuple[int, int, int]:
    """(year, month, day) of birth of a number that passed `parse`, without checking it again.

    The fast path of `matcher.features`; the same arithmetic as `birth_ymd_exprs`. Use
    `birth_date` for a number that has not been checked.
    """
    if market == "NO":
        yy = int(national_id[4:6])
        century = fodselsnummer_century(int(national_id[6:9]), yy) or 0
        return century + yy, int(national_id[2:4]) % 40, int(national_id[0:2]) % 40
    if len(national_id) >= 12:  # YYYYMMDDNNNC or YYYYMMDD-NNNC
        return int(national_id[0:4]), int(national_id[4:6]), int(national_id[6:8]) % 60
    month, day = int(national_id[2:4]), int(national_id[4:6]) % 60
    hundred_plus = len(national_id) == 11 and national_id[6] == "+"
    return (
        personnummer_year(int(national_id[0:2]), month, day, hundred_plus=hundred_plus, on=on),
        month,
        day,
    )


def age_on(birth: date, on: date) -> int:
    """Age in whole years on `on`; a 29 February birthday counts from 1 March in other years."""
    return age_on_ymd(birth.year, birth.month, birth.day, on)


def age_on_ymd(year: int, month: int, day: int, on: date) -> int:
    """`age_on` for a birth date given as (year, month, day)."""
    return on.year - year - _later_in_year(month, day, on)


def _later_in_year(month: int, day: int, on: date) -> bool:
    """Whether (month, day) comes after `on`'s in a year: `(month, day) > (on.month,
    on.day)` written out (compiled, comparing two tuples would make both first)."""
    return month > on.month or (month == on.month and day > on.day)


def months_since_birthday(birth: date, years: int, on: date) -> int:
    """Whole months from the `years`th birthday to `on`, 0 before it."""
    months = (on.year - birth.year - years) * 12 + on.month - birth.month - (on.day < birth.day)
    return max(months, 0)


# --- making valid numbers (tests and the synthetic data generator) -----------------------


def make_fodselsnummer(
    birth: date,
    individual: int,
    *,
    d_number: bool = False,
    h_number: bool = False,
    synthetic: bool = False,
) -> str:
    """A fødselsnummer for `birth` with individual number `individual` (0-999).

    Raises `ValueError` when the individual number does not belong to the birth century or
    the check digits do not exist for it (about 1 in 6 individual numbers); try another.
    """
    if h_number and synthetic:
        raise ValueError("a number is an H-number or a synthetic number, not both")
    if not 0 <= individual <= 999:
        raise ValueError(f"individual number {individual} is not in 0..999")
    if fodselsnummer_century(individual, birth.year % 100) != birth.year - birth.year % 100:
        raise ValueError(f"individual number {individual:03d} is not used for {birth.year}")
    day = birth.day + (D_NUMBER_DAY_OFFSET if d_number else 0)
    month = birth.month + (
        H_NUMBER_MONTH_OFFSET if h_number else SYNTHETIC_MONTH_OFFSET if synthetic else 0
    )
    first_nine = f"{day:02d}{month:02d}{birth.year % 100:02d}{individual:03d}"
    check = fodselsnummer_check_digits(first_nine)
    if check is None:
        raise ValueError(f"no check digits exist for individual number {individual:03d}")
    return f"{first_nine}{check[0]}{check[1]}"


def make_personnummer(
    birth: date,
    serial: int,
    *,
    on: date,
    samordningsnummer: bool = False,
    form: PersonnummerForm = "short",
) -> str:
    """A personnummer for `birth` with birth serial `serial` (0-999), as written on `on`.

    `form`: "short" YYMMDD-NNNC ("+" when aged 100 or more on `on`), "compact" YYMMDDNNNC
    (only for people under 100), "long" YYYYMMDDNNNC.
    """
    if not 0 <= serial <= 999:
        raise ValueError(f"serial {serial} is not in 0..999")
    if birth > on:
        raise ValueError(f"birth date {birth} is after {on}")
    day = birth.day + (SAMORDNINGSNUMMER_DAY_OFFSET if samordningsnummer else 0)
    nine = f"{birth.year % 100:02d}{birth.month:02d}{day:02d}{serial:03d}"
    ten = f"{nine}{luhn_check_digit(nine)}"
    hundred_plus = age_on(birth, on) >= 100
    if form == "long":
        return f"{birth.year // 100:02d}{ten}"
    if form == "compact":
        if hundred_plus:
            raise ValueError("the compact form cannot be used for people aged 100 or more")
        return ten
    return f"{ten[:6]}{'+' if hundred_plus else '-'}{ten[6:]}"


# --- the same rules as Polars expressions ------------------------------------------------


def id_parts_exprs(national_id: pl.Expr, market: pl.Expr) -> dict[str, pl.Expr]:
    """The parts of a national id that its birth date needs, as expressions to compute once.

    ``head``: the first 9 characters of a fødselsnummer (DDMMYYIII), the first 8 of a 12- or
    13-character personnummer (YYYYMMDD), else the first 6 (YYMMDD), as Int64; ``is_no``;
    ``long_se``: a 12-digit personnummer; ``plus``: the "+" separator (aged 100 or more).
    """
    is_no = market == pl.lit("NO")
    long_se = national_id.str.len_bytes() >= 12
    length = pl.when(is_no).then(9).when(long_se).then(8).otherwise(6)
    return {
        "head": national_id.str.slice(0, length).cast(pl.Int64),
        "is_no": is_no,
        "long_se": long_se,
        "plus": national_id.str.contains("+", literal=True),
    }


def birth_ymd_from_parts(
    head: pl.Expr, is_no: pl.Expr, long_se: pl.Expr, plus: pl.Expr, *, on: date
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(year, month, day) of birth from the parts of `id_parts_exprs` (see `birth_ymd_exprs`)."""
    # Norway: DDMMYY III; D-number day + 40, H-number month + 40, synthetic month + 80.
    no_ddmmyy, no_iii = head // 1000, head % 1000
    no_yy = no_ddmmyy % 100
    no_century = (
        pl.when(no_iii <= 499)
        .then(1900)
        .when((no_iii >= 900) & (no_yy >= 40))
        .then(1900)
        .when(no_yy < 40)
        .then(2000)
        .when((no_iii <= 749) & (no_yy >= 54))
        .then(1800)
    )
    # Sweden: (YY)YYMMDD; samordningsnummer day + 60.
    se_top, se_mm, se_dd = head // 10_000, head // 100 % 100, head % 100 % 60
    on_yy = on.year % 100
    later_this_century = (se_top > on_yy) | (
        (se_top == on_yy) & (se_mm * 100 + se_dd > on.month * 100 + on.day)
    )
    se_year_short = (
        (on.year - on_yy)
        + se_top
        - pl.when(later_this_century).then(100).otherwise(0)
        - pl.when(plus).then(100).otherwise(0)
    )
    se_year = pl.when(long_se).then(se_top).otherwise(se_year_short)

    year = pl.when(is_no).then(no_century + no_yy).otherwise(se_year)
    month = pl.when(is_no).then(no_ddmmyy // 100 % 100 % 40).otherwise(se_mm)
    day = pl.when(is_no).then(no_ddmmyy // 10_000 % 40).otherwise(se_dd)
    return year, month, day


def birth_ymd_exprs(
    national_id: pl.Expr, market: pl.Expr, *, on: date
) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(year, month, day) of birth as Int64 expressions, for numbers that passed `parse`.

    Invalid numbers give unspecified values, nulls or a cast error; validate before (the
    `Application` model does). Works on the strings without building dates. Polars does not
    share the parts between the three expressions: for speed on large frames, compute
    `id_parts_exprs` as columns first and use `birth_ymd_from_parts` (as `feature_frame` does).
    """
    parts = id_parts_exprs(national_id, market)
    return birth_ymd_from_parts(
        parts["head"], parts["is_no"], parts["long_se"], parts["plus"], on=on
    )


def age_expr(year: pl.Expr, month: pl.Expr, day: pl.Expr, *, on: date) -> pl.Expr:
    """`age_on` as an expression over birth (year, month, day)."""
    on_mmdd = on.month * 100 + on.day
    return (
        pl.lit(on.year, pl.Int64) - year - pl.when(month * 100 + day > on_mmdd).then(1).otherwise(0)
    ).cast(pl.Int64)


def valid_ids(frame: pl.DataFrame, national_id: pl.Expr, market: pl.Expr, *, on: date) -> pl.Series:
    """Per row of `frame`: whether `parse(national_id, market, on=on)` succeeds (null where
    the id or the market is null), computed over the frame with no Python per row. The same
    rules as `parse_fodselsnummer` and `parse_personnummer`; a property test keeps them
    equal. `birth_dates` gives the birth dates of the same check."""
    born = birth_dates(frame, national_id, market, on=on)
    given = frame.select(national_id.is_not_null() & market.is_not_null()).to_series()
    return pl.select(pl.when(given).then(born.is_not_null())).to_series().alias("valid")


def birth_dates(
    frame: pl.DataFrame, national_id: pl.Expr, market: pl.Expr, *, on: date
) -> pl.Series:
    """Per row of `frame`: the birth date that `parse(national_id, market, on=on)` gives, as
    the integer YYYYMMDD (Int32), or null where it raises (or the id or market is null).

    The rows of each market are checked apart, by that market's rules only. Each
    well-formed number is read once as an integer (its digits without the separator), and
    its digits, fields and check digits are worked out from that integer by arithmetic."""
    pairs = (
        frame.lazy().select(national_id.alias("s"), market.alias("m")).with_row_index("i").collect()
    )
    s, m = pl.col("s"), pl.col("m")
    born = pl.repeat(None, pairs.height, dtype=pl.Int32, eager=True)
    for code, check in (("NO", _fodselsnummers_valid), ("SE", _personnummers_valid)):
        rows = pairs.lazy().filter(s.is_not_null() & (m == code))
        found = check(rows, on).collect()
        if found.height:
            born = born.scatter(found.get_column("i"), found.get_column("born"))
    return born.alias("born")


def _fodselsnummers_valid(rows: pl.LazyFrame, on: date) -> pl.LazyFrame:
    """(`i`, `born`) of each number `s` of `rows`, by the rules of `parse_fodselsnummer`."""
    s, c = pl.col("s"), pl.col
    # 11 digits: an unsigned integer of 11 bytes with no sign (as a number: 0 where they are
    # not, and the form fails)
    number = s.cast(pl.UInt64, strict=False)
    forms = {
        "form": (s.str.len_bytes() == 11) & number.is_not_null() & ~s.str.starts_with("+"),
        "x": number.fill_null(0) % 10**11,
    }
    # DDM MYY III K1K2: the first nine digits three at a time
    x = c("x")
    groups = {"g0": x // 10**8, "g1": x // 10**5 % 1000, "g2": x // 100 % 1000, "k": x % 100}
    g0, g1, g2 = c("g0"), c("g1"), c("g2")
    # the two mod-11 sums (K2's without K1), each group's part looked up (`_FODSELSNUMMER_SUMS`)
    sums = pl.sum_horizontal(
        pl.lit(table).gather(g) for table, g in zip(_FODSELSNUMMER_SUMS, (g0, g1, g2), strict=True)
    )
    fields = {
        "sums": sums,
        "dd": (g0 // 10).cast(pl.Int64),
        "mm": (g0 % 10 * 10 + g1 // 100).cast(pl.Int64),
        "yy": (g1 % 100).cast(pl.Int64),
        "individual": g2.cast(pl.Int64),
    }
    # two mod-11 check digits; DDMMYY III with D-, H- and synthetic offsets
    dd, mm = c("dd"), c("mm")
    parts = {
        "k1": (11 - c("sums") % _PACK % 11) % 11,
        "no_day": pl.when(dd > D_NUMBER_DAY_OFFSET).then(dd - D_NUMBER_DAY_OFFSET).otherwise(dd),
        "no_month": pl.when((mm > H_NUMBER_MONTH_OFFSET) & (mm <= H_NUMBER_MONTH_OFFSET + 12))
        .then(mm - H_NUMBER_MONTH_OFFSET)
        .when((mm > SYNTHETIC_MONTH_OFFSET) & (mm <= SYNTHETIC_MONTH_OFFSET + 12))
        .then(mm - SYNTHETIC_MONTH_OFFSET)
        .otherwise(mm),
    }
    yy, individual = c("yy"), c("individual")
    century = (
        pl.when(individual <= 499)
        .then(1900)
        .when((individual >= 900) & (yy >= 40))
        .then(1900)
        .when(yy < 40)
        .then(2000)
        .when((individual <= 749) & (yy >= 54))
        .then(1800)
    )
    k1, k = c("k1"), c("k")
    k2 = (11 - (c("sums") // _PACK + k1 * FODSELSNUMMER_K2_WEIGHTS[9]) % 11) % 11
    checks = {
        "no_year": century + yy,
        "checks": (k1 != 10) & (k2 != 10) & (k1 == k // 10) & (k2 == k % 10),
    }
    return (
        rows.with_columns(**forms)
        .with_columns(**groups)
        .with_columns(**fields)
        .with_columns(**parts)
        .with_columns(**checks)
        .select("i", _born("no", c("form") & c("checks"), on))
    )


_PACK = 1 << 10
"""The K2 sum is packed above the K1 sum (each below 1024) in one lookup."""


def _group_sums(weights: tuple[int, ...], term: Callable[[int, int], int]) -> pl.Series:
    """Per number 0-999 read as three digits: the sum of `term(digit, weight)` over them."""
    return pl.Series(
        [
            sum(term(int(digit), weight) for digit, weight in zip(f"{v:03d}", weights, strict=True))
            for v in range(1000)
        ],
        dtype=pl.UInt32,
    )


_FODSELSNUMMER_SUMS = tuple(
    _group_sums(FODSELSNUMMER_K1_WEIGHTS[i : i + 3], operator.mul)
    + _group_sums(FODSELSNUMMER_K2_WEIGHTS[i : i + 3], operator.mul) * _PACK
    for i in (0, 3, 6)
)
"""Per group of three of the first nine digits: its part of the K1 sum, plus its part of the
K2 sum (without K1's term) times `_PACK`."""


def _luhn_term(digit: int, weight: int) -> int:
    return _LUHN_DOUBLED[digit] if weight == 2 else digit


_LUHN_SUMS = tuple(_group_sums(w, _luhn_term) for w in ((2, 1, 2), (1, 2, 1), (2, 1, 2)))
"""Per group of three of the first nine digits of a personnummer's 10-digit form: its part
of the Luhn sum (weights 2, 1, 2, ... from the left)."""


def _personnummers_valid(rows: pl.LazyFrame, on: date) -> pl.LazyFrame:
    """(`i`, `born`) of each number `s` of `rows`, by the rules of `parse_personnummer`."""
    s, c = pl.col("s"), pl.col
    length = s.str.len_bytes()
    form = s.str.contains(_SE_FORM)
    forms = {
        "form": form,
        # the digits as a number, the separator of the short and 13-character forms dropped
        # (0 where they are not digits, and the form fails)
        "x": s.str.replace(r"[-+]", "").cast(pl.UInt64, strict=False).fill_null(0),
        "long": form & (length >= 12),
        "plus": form & (length == 11) & (s.str.slice(6, 1) == "+"),
    }
    x = c("x")
    ten = x % 10**10  # the 10-digit form: YYM MDD NNN C, the first nine three at a time
    groups = {
        "g0": ten // 10**7,
        "g1": ten // 10**4 % 1000,
        "g2": ten // 10 % 1000,
        "t9": ten % 10,
        "year4": pl.when(c("long")).then((x // 10**8).cast(pl.Int64)),
    }
    g0, g1, g2 = c("g0"), c("g1"), c("g2")
    # Luhn over the 10-digit form, each group's part looked up (`_LUHN_SUMS`);
    # samordningsnummer day + 60; the century
    total = pl.sum_horizontal(
        pl.lit(table).gather(g) for table, g in zip(_LUHN_SUMS, (g0, g1, g2), strict=True)
    )
    fields = {
        "luhn": (10 - total % 10) % 10 == c("t9"),
        "yy": (g0 // 10).cast(pl.Int64),
        "se_month": (g0 % 10 * 10 + g1 // 100).cast(pl.Int64),
        "dd": (g1 % 100).cast(pl.Int64),
    }
    dd = c("dd")
    parts = {
        "se_day": pl.when(dd > SAMORDNINGSNUMMER_DAY_OFFSET)
        .then(dd - SAMORDNINGSNUMMER_DAY_OFFSET)
        .otherwise(dd),
    }
    this_century = on.year - on.year % 100 + c("yy")
    after_on = (this_century > on.year) | (
        (this_century == on.year) & (c("se_month") * 100 + c("se_day") > on.month * 100 + on.day)
    )
    short_year = (
        this_century
        - pl.when(after_on).then(100).otherwise(0)
        - pl.when(c("plus")).then(100).otherwise(0)
    )
    return (
        rows.with_columns(**forms)
        .with_columns(**groups)
        .with_columns(**fields)
        .with_columns(**parts)
        .with_columns(se_year=pl.coalesce(c("year4"), short_year))
        .select("i", _born("se", c("form") & c("luhn"), on))
    )


_SE_FORM = r"^(?:[0-9]{10}|[0-9]{12}|[0-9]{6}[-+][0-9]{4}|[0-9]{8}-[0-9]{4})$"
"""The written forms of a personnummer: compact, 12 digits, short (YYMMDD-NNNN or +), and
12 digits with the separator."""


def _born(prefix: str, ok: pl.Expr, on: date) -> pl.Expr:
    """`born`: the columns `<prefix>_year`, `_month`, `_day` as the integer YYYYMMDD (Int32)
    where `ok` holds and they make a real date (proleptic Gregorian, year 1 or later) not
    after `on`; else null."""
    year, month, day = (pl.col(f"{prefix}_{part}") for part in ("year", "month", "day"))
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )
    real = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)
    ymd = year * 10_000 + month * 100 + day
    valid = ok & real & (ymd <= on.year * 10_000 + on.month * 100 + on.day)
    return pl.when(valid.fill_null(False)).then(ymd).cast(pl.Int32).alias("born")
