"""Realistic synthetic loan applications, vectorised with numpy, in the nested frame shape.

`generate(n, seed, on)` gives a frame with an ``application_id`` column followed by the
columns of `matcher.application.APPLICATION_FRAME_SCHEMA`; every row validates as an
`Application` on the decision date `on`. Rows are made in fixed blocks of `BLOCK_ROWS`, each
from its own random stream (seed, block index), so the output depends only on the seed and
`on`, and ``generate(n, ...)`` is the first n rows of ``generate(m, ...)`` for any m >= n.

The distributions follow the Nordic consumer-loan market loosely: both markets about half
each, a third with a co-applicant, ages 18-80 mostly 25-55, log-normal incomes (median 450k
NOK, 380k SEK) with some zeros, mostly permanent employment, modest unsecured debt with a long tail,
mortgages for most owners, amounts 5k-600k skewed low, the usual terms, about 7 % with
payment remarks, some foreign citizens with short residency (often with a D-number or a
samordningsnummer), personnummer in all written forms. Names are common Nordic (and some
foreign) names; e-mail addresses use the reserved example.* domains.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date

import numpy as np
import numpy.typing as npt
import polars as pl

from lender_rules.vocabulary import EMPLOYMENT_TYPES, HOUSING_TYPES, PURPOSES
from matcher.application import APPLICATION_FRAME_SCHEMA, INCOME_MAX
from matcher.features import APPLICATION_ID
from matcher.national_id import FODSELSNUMMER_K1_WEIGHTS, FODSELSNUMMER_K2_WEIGHTS

Ints = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
Floats = npt.NDArray[np.float64]
Progress = Callable[[int, int], None]
"""Called after each block with (rows done, rows in total)."""

BLOCK_ROWS = 50_000
"""Rows per block: the unit of randomness and of progress reports."""
EARLIEST_DECISION_YEAR = 1990  # births from 1909: fødselsnummer individual numbers 000-499
LATEST_DECISION_YEAR = 2057  # births until 2039: the last fødselsnummer century year


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST_NAMES = (
    _words(
        "Ole Jan Per Bjørn Lars Kjell Knut Arne Svein Hans Jonas Håkon Sindre Øystein Eirik Vegard "
        "Emma Nora Ingrid Kari Anne Marit Sofie Ida Hilde Solveig Åse Ragnhild Maja Tone"
    ),
    _words(
        "Lars Anders Johan Karl Per Erik Mikael Nils Jan Björn Oskar Hugo Göran Jörgen Sven "
        "Maria Anna Eva Karin Kristina Lena Sara Elin Ingrid Åsa Linnea Märta Saga Ebba Astrid"
    ),
    _words(
        "Piotr Tomasz Jonas Mohammed Ahmed Andriy Rahul Wei Carlos Thomas "
        "Anna Agnieszka Ruta Fatima Amina Olena Priya Li Ana Marie"
    ),
)
_LAST_NAMES = (
    _words(
        "Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen "
        "Pettersen Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen "
        "Halvorsen Lund Sørensen Moen Bakken Strand Solberg Kristoffersen Gundersen"
    ),
    _words(
        "Andersson Johansson Karlsson Nilsson Eriksson Larsson Olsson Persson Svensson Gustafsson "
        "Pettersson Jonsson Jansson Hansson Bengtsson Jönsson Lindberg Jakobsson Magnusson "
        "Lindström Olofsson Lindqvist Lindgren Berg Axelsson Bergström Lundberg Lind Mattsson"
    ),
    _words(
        "Nowak Kowalski Wiśniewski Kazlauskas Jankauskas Hassan Ali Mohamed Kovalenko Shevchenko "
        "Sharma Patel Wang Zhang García Rodríguez Müller Schmidt Smith Brown"
    ),
)
_ASCII_OF = {"æ": "ae", "ø": "o", "å": "a", "ä": "a", "ö": "o", "ü": "u", "ś": "s", "í": "i"}
_FOREIGN = ("PL", "LT", "DK", "FI", "DE", "UA", "SY", "IN", "GB", "ES", "IR", "SO")
_FOREIGN_WEIGHTS = (20, 10, 8, 8, 6, 10, 8, 6, 5, 4, 8, 7)
_EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
_EMPLOYMENT_WEIGHTS = (72, 10, 8, 1, 3, 4, 2)  # in the order of EMPLOYMENT_TYPES
_PURPOSE_WEIGHTS = (35, 25, 15, 15, 10)  # refinance, consumer, car, renovation, other
_HOUSING_WEIGHTS = (55, 35, 6, 4)  # own, rent, parents, other
_HOUSING_COST_MEDIAN = (11_000.0, 9_500.0, 1_500.0, 5_000.0)
_TERMS = (12, 24, 36, 48, 60, 84, 120, 144, 180)
_TERM_WEIGHTS = (10, 12, 14, 6, 30, 10, 10, 3, 5)
_CHILDREN_WEIGHTS = (50, 18, 20, 8, 4)  # 0-4 children
_EMPLOYED = [EMPLOYMENT_TYPES.index(t) for t in ("permanent", "temporary", "self_employed")]


def generate(n: int, seed: int, on: date, *, progress: Progress | None = None) -> pl.DataFrame:
    """`n` synthetic applications valid on `on`, deterministic for `seed` (see module doc)."""
    if n < 0:
        raise ValueError(f"n must be at least 0, not {n}")
    if seed < 0:
        raise ValueError(f"seed must be at least 0, not {seed}")
    if not EARLIEST_DECISION_YEAR <= on.year <= LATEST_DECISION_YEAR:
        raise ValueError(
            f"the decision date must be in {EARLIEST_DECISION_YEAR}-{LATEST_DECISION_YEAR}"
            f" (national id centuries), not {on}"
        )
    blocks: list[pl.DataFrame] = []
    done = 0
    for index in range(-(-n // BLOCK_ROWS)):
        rows = min(BLOCK_ROWS, n - done)
        blocks.append(_block(seed, index, on).head(rows))
        done += rows
        if progress is not None:
            progress(done, n)
    if not blocks:
        return _block(seed, 0, on).clear()
    return pl.concat(blocks, rechunk=False)


def _choice(rng: np.random.Generator, weights: tuple[float, ...], size: int) -> Ints:
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(len(weights), size=size, p=p / p.sum()).astype(np.int64)


def _lognormal(rng: np.random.Generator, median: Floats | float, sigma: float, size: int) -> Floats:
    return np.asarray(np.exp(np.log(median) + sigma * rng.standard_normal(size)))


def _rounded(values: Floats, unit: int, high: int) -> Ints:
    return np.minimum(np.round(values / unit) * unit, high).astype(np.int64)


def _block(seed: int, index: int, on: date) -> pl.DataFrame:
    rng = np.random.default_rng([seed, index])
    size = BLOCK_ROWS
    is_no = rng.random(size) < 0.5
    has_co = rng.random(size) < 1 / 3
    housing = _choice(rng, _HOUSING_WEIGHTS, size)
    age = np.where(
        rng.random(size) < 0.75, np.round(rng.normal(40, 10, size)), rng.integers(18, 81, size)
    )
    age = np.clip(age, 18, 80).astype(np.int64)
    housing = np.where(
        (age < 25) & (rng.random(size) < 0.4), HOUSING_TYPES.index("parents"), housing
    )
    owns = housing == HOUSING_TYPES.index("own")
    co_age = np.clip(age + np.round(rng.normal(0, 4, size)), 18, 80).astype(np.int64)

    purpose = _choice(rng, _PURPOSE_WEIGHTS, size)
    amount_median = np.where(purpose == PURPOSES.index("refinance"), 180_000.0, 70_000.0)
    amount = np.clip(
        _rounded(_lognormal(rng, amount_median, 0.9, size), 1_000, 600_000), 5_000, None
    )
    term = np.asarray(_TERMS)[_choice(rng, _TERM_WEIGHTS, size)]
    term = np.where(rng.random(size) < 0.1, rng.integers(12, 181, size), term)
    # Norwegian non-refinancing loans are mostly repaid within 5 years (utlånsforskriften).
    short = is_no & (purpose != PURPOSES.index("refinance")) & (rng.random(size) < 0.85)
    term = np.where(short, np.minimum(term, 60), term)
    housing_cost = _rounded(
        _lognormal(rng, np.asarray(_HOUSING_COST_MEDIAN)[housing], 0.4, size), 100, 1_000_000
    )
    children = np.where(age > 60, 0, _choice(rng, _CHILDREN_WEIGHTS, size))

    frame = pl.DataFrame(
        {
            "market": np.where(is_no, "NO", "SE"),
            "applicant": _people(rng, is_no, age, owns, on).to_struct(),
            "co_applicant": _co_applicants(rng, has_co, is_no, co_age, owns, on),
            "has_co": has_co,
            "loan": pl.DataFrame(
                {
                    "amount": amount,
                    "term_months": term,
                    "purpose": pl.Series(PURPOSES).gather(purpose),
                }
            ).to_struct(),
            "household": pl.DataFrame(
                {
                    "housing": pl.Series(HOUSING_TYPES).gather(housing),
                    "housing_cost": housing_cost,
                    "children": children,
                }
            ).to_struct(),
        }
    )
    first_row = index * BLOCK_ROWS
    application_id = pl.concat_str(
        pl.lit(f"app-{seed}-"),
        pl.int_range(first_row, first_row + size, dtype=pl.Int64).cast(pl.String).str.zfill(9),
    )
    return frame.select(
        application_id.alias(APPLICATION_ID),
        *(
            pl.when("has_co").then(pl.col(name)).alias(name)
            if name == "co_applicant"
            else pl.col(name)
            for name in APPLICATION_FRAME_SCHEMA.names()
        ),
    ).cast(APPLICATION_FRAME_SCHEMA)


def _co_applicants(
    rng: np.random.Generator, has_co: Bools, is_no: Bools, age: Ints, owns: Bools, on: date
) -> pl.Series:
    """Co-applicants where `has_co` (null elsewhere), made only for those rows."""
    people = _people(rng, is_no[has_co], age[has_co], owns[has_co], on).to_struct()
    if people.is_empty():
        return _people(rng, is_no[:1], age[:1], owns[:1], on).to_struct().clear(has_co.size)
    position = np.maximum(np.cumsum(has_co) - 1, 0)  # row i -> its co-applicant, if any
    spread = people.gather(position)
    return pl.select(pl.when(pl.lit(pl.Series(has_co))).then(spread)).to_series()


def _people(
    rng: np.random.Generator, is_no: Bools, age: Ints, owns: Bools, on: date
) -> pl.DataFrame:
    """One person per row with the fields of `Person`, aged `age` on `on`."""
    size = age.size
    # The birth date: `age` years and a random part of a year before `on`, at least 18.
    days_old = np.floor((age + rng.random(size)) * 365.2425).astype(np.int64)
    latest = date(on.year - 18, on.month, min(on.day, 28)).toordinal()
    year, month, day = _ymd(np.minimum(on.toordinal() - days_old, latest))
    age = on.year - year - ((on.month * 100 + on.day) < (month * 100 + day))

    foreign = rng.random(size) < 0.12
    years_foreign = np.minimum(np.floor(rng.exponential(6.0, size)), age).astype(np.int64)
    years_home = np.where(
        rng.random(size) < 0.9, age, np.maximum(age - rng.integers(1, 15, size), 0)
    )
    years_in_country = np.where(foreign, years_foreign, years_home)
    newcomer_id = np.where(
        foreign & (years_in_country < 3), rng.random(size) < 0.6, rng.random(size) < 0.005
    )
    fnr = _fodselsnummer(rng, year, month, day, newcomer_id)
    pnr = _personnummer(rng, year, month, day, newcomer_id)

    employment = _choice(rng, _EMPLOYMENT_WEIGHTS, size)
    u = rng.random(size)
    employment = np.where((age >= 67) & (u < 0.85), EMPLOYMENT_TYPES.index("retired"), employment)
    employment = np.where((age < 26) & (u < 0.2), EMPLOYMENT_TYPES.index("student"), employment)
    employed = np.isin(employment, _EMPLOYED)
    tenure = rng.exponential(np.where(employment == 1, 12.0, 60.0), size)
    employed_months = np.where(employed, np.minimum(np.floor(tenure), (age - 17) * 12), 0)

    factor = np.asarray([1.0, 0.8, 1.0, 0.65, 0.2, 0.4, 0.7])[employment]
    income = _lognormal(rng, np.where(is_no, 450_000.0, 380_000.0) * factor, 0.45, size)
    zero_chance = np.asarray([0.005, 0.01, 0.03, 0.0, 0.15, 0.4, 0.1])[employment]
    income = np.where(rng.random(size) < zero_chance, 0.0, income)

    unsecured = np.where(rng.random(size) < 0.4, 0.0, _lognormal(rng, 60_000.0, 1.1, size))
    mortgage_median = np.where(is_no, 2_200_000.0, 1_800_000.0)
    has_secured = rng.random(size) < np.where(owns, 0.75, 0.1)
    secured_median = np.where(owns, mortgage_median, 150_000.0)  # renters: car loans
    secured = np.where(has_secured, _lognormal(rng, secured_median, 0.6, size), 0.0)
    remarks = np.where(rng.random(size) < 0.07, 1 + rng.poisson(1.2, size), 0)

    origin = np.where(foreign, 2, np.where(is_no, 0, 1))
    frame = pl.DataFrame(
        {
            "fnr": fnr,
            "pnr": pnr,
            "is_no": is_no,
            "foreign": foreign,
            "first": _names(rng, _FIRST_NAMES, origin),
            "last": _names(rng, _LAST_NAMES, origin),
            "email_n": rng.integers(1, 100, size),
            "has_email": rng.random(size) < 0.85,
            "domain": pl.Series(_EMAIL_DOMAINS).gather(rng.integers(0, 3, size)),
            "has_phone": rng.random(size) < 0.9,
            "phone": pl.Series(rng.integers(0, 10**8, size)).cast(pl.String).str.zfill(8),
            "foreign_citizenship": pl.Series(_FOREIGN).gather(_choice(rng, _FOREIGN_WEIGHTS, size)),
            "years_in_country": years_in_country,
            "employment": pl.Series(EMPLOYMENT_TYPES).gather(employment),
            "employed_months": employed_months.astype(np.int64),
            "income": _rounded(income, 100, INCOME_MAX),
            "unsecured_debt": _rounded(unsecured, 1_000, 10_000_000),
            "secured_debt": _rounded(secured, 1_000, 50_000_000),
            "payment_remarks": np.minimum(remarks, 20).astype(np.int64),
        }
    )
    slug = pl.concat_str(_ascii(pl.col("first")), pl.lit("."), _ascii(pl.col("last")))
    number = (
        pl.when(pl.col("email_n") < 40)
        .then(pl.col("email_n").cast(pl.String))
        .otherwise(pl.lit(""))
    )
    # Norwegian mobiles: +47 9XXXXXXX (8 digits); Swedish: +46 7NXXXXXXX (9 digits) with N in
    # the mobile series 70, 72, 73, 76, 79 (taken from the first random digit).
    se_series = (
        pl.col("phone")
        .str.slice(0, 1)
        .replace_strict({str(d): "7" + "02369"[d % 5] for d in range(10)})
    )
    country_code = (
        pl.when("is_no").then(pl.lit("+47 9")).otherwise(pl.concat_str(pl.lit("+46 "), se_series))
    )
    return frame.select(
        pl.when("is_no").then("fnr").otherwise("pnr").alias("national_id"),
        pl.concat_str("first", pl.lit(" "), "last").alias("name"),
        pl.when("has_email")
        .then(pl.concat_str(slug, number, pl.lit("@"), "domain"))
        .alias("email"),
        pl.when("has_phone")
        .then(pl.concat_str(country_code, pl.col("phone").str.slice(1)))
        .alias("phone"),
        pl.when("foreign")
        .then("foreign_citizenship")
        .otherwise(pl.when("is_no").then(pl.lit("NO")).otherwise(pl.lit("SE")))
        .alias("citizenship"),
        "years_in_country",
        "employment",
        "employed_months",
        "income",
        "unsecured_debt",
        "secured_debt",
        "payment_remarks",
    )


def _ymd(ordinals: Ints) -> tuple[Ints, Ints, Ints]:
    """(year, month, day) of proleptic Gregorian ordinals (`date.toordinal`)."""
    days = (ordinals - date(1970, 1, 1).toordinal()).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months).astype(np.int64) + 1
    return year, month, day


def _digits(value: Ints, width: int) -> list[Ints]:
    return [value // 10 ** (width - 1 - i) % 10 for i in range(width)]


def _mod11(digits: list[Ints], weights: tuple[int, ...]) -> Ints:
    rest = sum((d * w for d, w in zip(digits, weights, strict=True)), np.zeros_like(digits[0])) % 11
    return np.where(rest == 0, 0, 11 - rest)


def _fodselsnummer(
    rng: np.random.Generator, year: Ints, month: Ints, day: Ints, d_number: Bools
) -> pl.Series:
    """Fødselsnummer (D-numbers where `d_number`) for births in 1900-2039."""
    low = np.where(year >= 2000, 500, 0)  # 1900-1999: 000-499; 2000-2039: 500-999
    individual = low + rng.integers(0, 500, year.size)
    prefix = (day + np.where(d_number, 40, 0)) * 10_000 + month * 100 + year % 100
    while True:  # about 1 in 6 individual numbers has no check digits: take the next one
        nine = _digits(prefix, 6) + _digits(individual, 3)
        k1 = _mod11(nine, FODSELSNUMMER_K1_WEIGHTS)
        k2 = _mod11([*nine, k1], FODSELSNUMMER_K2_WEIGHTS)
        bad = (k1 == 10) | (k2 == 10)
        if not bad.any():
            break
        individual = np.where(bad, low + (individual - low + 1) % 500, individual)
    number = (prefix * 1000 + individual) * 100 + k1 * 10 + k2
    return pl.Series(number).cast(pl.String).str.zfill(11)


def _personnummer(
    rng: np.random.Generator, year: Ints, month: Ints, day: Ints, samordning: Bools
) -> pl.Series:
    """Personnummer (samordningsnummer where `samordning`) of people under 100, in all forms:
    YYMMDD-NNNC, YYMMDDNNNC, YYYYMMDDNNNC, YYYYMMDD-NNNC."""
    serial = rng.integers(0, 1000, year.size)
    nine_value = (
        (year % 100 * 100 + month) * 100 + day + np.where(samordning, 60, 0)
    ) * 1000 + serial
    total = np.zeros(year.size, dtype=np.int64)
    for i, digit in enumerate(_digits(nine_value, 9)):
        product = digit * (2 - i % 2)
        total += product - 9 * (product > 9)
    ten = nine_value * 10 + (10 - total % 10) % 10
    short = pl.col("ten").cast(pl.String).str.zfill(10)
    long = (pl.col("century") * 10**10 + pl.col("ten")).cast(pl.String).str.zfill(12)
    form = pl.col("form")
    frame = pl.DataFrame(
        {"ten": ten, "century": year // 100, "form": _choice(rng, (45, 15, 35, 5), year.size)}
    )
    return frame.select(
        pl.when(form == 0)
        .then(pl.concat_str(short.str.slice(0, 6), pl.lit("-"), short.str.slice(6)))
        .when(form == 1)
        .then(short)
        .when(form == 2)
        .then(long)
        .otherwise(pl.concat_str(long.str.slice(0, 8), pl.lit("-"), long.str.slice(8)))
    ).to_series()


def _names(rng: np.random.Generator, lists: tuple[tuple[str, ...], ...], origin: Ints) -> pl.Series:
    """A name from ``lists[origin]`` for every row."""
    sizes = np.asarray([len(names) for names in lists])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pick = offsets[origin] + np.floor(rng.random(origin.size) * sizes[origin]).astype(np.int64)
    return _all_names(lists).gather(pick)


@functools.cache
def _all_names(lists: tuple[tuple[str, ...], ...]) -> pl.Series:
    return pl.Series([name for names in lists for name in names])


def _ascii(name: pl.Expr) -> pl.Expr:
    lower = name.str.to_lowercase()
    return lower.str.replace_many(list(_ASCII_OF), list(_ASCII_OF.values()))
