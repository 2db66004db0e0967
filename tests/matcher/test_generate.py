"""The synthetic application generator: valid, deterministic, plausibly distributed."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from matcher.application import APPLICATION_FRAME_SCHEMA, Application
from matcher.features import feature_frame
from matcher.generate import BLOCK_ROWS, generate
from matcher.national_id import parse
from matcher.schema import EMPLOYMENT_TYPES, FEATURES, polars_schema

ON = date(2026, 11, 25)
N = 20_000


@pytest.fixture(scope="module")
def apps() -> pl.DataFrame:
    return generate(N, 7, ON)


@pytest.fixture(scope="module")
def features(apps: pl.DataFrame) -> pl.DataFrame:
    return feature_frame(apps, ON).collect()


def test_the_frame_has_an_id_and_the_nested_application_schema(apps: pl.DataFrame) -> None:
    assert apps.height == N
    assert apps.columns == ["application_id", *APPLICATION_FRAME_SCHEMA.names()]
    assert apps.drop("application_id").schema == APPLICATION_FRAME_SCHEMA
    assert apps["application_id"].dtype == pl.String


def test_application_ids_are_unique_and_say_the_seed(apps: pl.DataFrame) -> None:
    assert apps["application_id"].n_unique() == N
    assert apps["application_id"][0] == "app-7-000000000"
    assert apps["application_id"][N - 1] == f"app-7-{N - 1:09d}"


def test_every_sampled_row_validates_as_an_application(apps: pl.DataFrame) -> None:
    for row in apps.drop("application_id").sample(3_000, seed=3).iter_rows(named=True):
        app = Application.model_validate(row, context={"on": ON})
        assert app.model_dump() == row


def test_feature_frame_works_and_fills_every_non_nullable_feature(
    features: pl.DataFrame,
) -> None:
    assert features.drop("application_id").schema == polars_schema()
    for feature in FEATURES:
        nulls = features[feature.name].null_count()
        if feature.nullable:
            assert nulls == (~features["has_co_applicant"]).sum()
        else:
            assert nulls == 0, feature.name


def test_generation_is_deterministic_for_a_seed() -> None:
    first = generate(500, 11, ON)
    assert first.equals(generate(500, 11, ON))
    assert not first.equals(generate(500, 12, ON))


def test_fewer_rows_are_a_prefix_of_more_rows() -> None:
    more = generate(BLOCK_ROWS + 20, 5, ON)
    assert generate(BLOCK_ROWS + 3, 5, ON).equals(more.head(BLOCK_ROWS + 3))
    assert generate(10, 5, ON).equals(more.head(10))


def test_progress_is_reported_per_block_up_to_n() -> None:
    calls: list[tuple[int, int]] = []
    generate(BLOCK_ROWS + 1, 1, ON, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(BLOCK_ROWS, BLOCK_ROWS + 1), (BLOCK_ROWS + 1, BLOCK_ROWS + 1)]


def test_zero_rows_give_an_empty_frame_with_the_schema() -> None:
    empty = generate(0, 1, ON)
    assert empty.height == 0
    assert empty.drop("application_id").schema == APPLICATION_FRAME_SCHEMA


@pytest.mark.parametrize(
    ("n", "seed", "on", "message"),
    [
        (-1, 1, ON, "n must be at least 0"),
        (1, -1, ON, "seed must be at least 0"),
        (1, 1, date(1980, 1, 1), "decision date"),
        (1, 1, date(2060, 1, 1), "decision date"),
    ],
)
def test_bad_arguments_are_refused(n: int, seed: int, on: date, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        generate(n, seed, on)


# --- distributions ------------------------------------------------------------------------


def share(mask: pl.Series) -> float:
    return float(mask.mean())  # type: ignore[arg-type]


def test_markets_co_applicants_and_remarks_have_the_intended_shares(
    features: pl.DataFrame,
) -> None:
    assert 0.45 < share(features["market"] == "NO") < 0.55
    assert 0.28 < share(features["has_co_applicant"]) < 0.38
    assert 0.05 <= share(features["payment_remarks"] > 0) <= 0.12  # both applicants together


def test_ages_amounts_and_terms_are_in_range(features: pl.DataFrame) -> None:
    ages = features["age"]
    assert ages.min() == 18
    assert ages.max() == 80
    assert 0.6 < share(ages.is_between(25, 55)) < 0.9
    assert features["amount"].min() >= 5_000  # type: ignore[operator]
    assert features["amount"].max() <= 600_000  # type: ignore[operator]
    assert share(features["amount"] < 150_000) > 0.5
    terms = features["term_months"]
    assert terms.is_between(12, 180).all()
    assert set(terms.value_counts(sort=True)["term_months"].head(7)) <= {
        12, 24, 36, 48, 60, 84, 120, 180,
    }  # fmt: skip


def test_incomes_are_around_the_market_medians_with_some_zeros(features: pl.DataFrame) -> None:
    medians = dict(features.group_by("market").agg(pl.col("income").median()).iter_rows())
    assert 380_000 < medians["NO"] < 520_000
    assert 320_000 < medians["SE"] < 440_000
    assert 0.005 < share(features["income"] == 0) < 0.08


def test_employment_is_mostly_permanent_and_every_type_occurs(features: pl.DataFrame) -> None:
    counts = dict(features["employment"].value_counts().iter_rows())
    assert set(counts) == set(EMPLOYMENT_TYPES)
    assert counts["permanent"] / N > 0.55


def test_some_applicants_are_foreign_with_short_residency(features: pl.DataFrame) -> None:
    foreign = features.filter(pl.col("citizenship") != pl.col("market"))
    assert 0.05 < foreign.height / N < 0.2
    assert share(foreign["years_in_country"] < 3) > 0.3


def test_national_ids_come_in_every_form_and_kind(apps: pl.DataFrame) -> None:
    people = apps.select("market", pl.col("applicant").struct.field("national_id"))
    se_lengths = set(people.filter(pl.col("market") == "SE")["national_id"].str.len_bytes())
    assert se_lengths == {10, 11, 12, 13}
    parsed = [parse(nid, market, on=ON) for market, nid in people.head(5_000).iter_rows()]
    assert any(p.d_number for p in parsed)
    assert any(p.samordningsnummer for p in parsed)
    assert not any(p.h_number or p.synthetic for p in parsed)


def test_housing_and_children_are_plausible(apps: pl.DataFrame) -> None:
    household = apps.select(pl.col("household").struct.unnest())
    assert set(household["housing"]) == {"own", "rent", "parents", "other"}
    assert household["children"].is_between(0, 4).all()
    owners = household.filter(pl.col("housing") == "own")["housing_cost"]
    parents = household.filter(pl.col("housing") == "parents")["housing_cost"]
    assert owners.median() > parents.median()  # type: ignore[operator]


def test_names_and_emails_look_real_but_use_example_domains(apps: pl.DataFrame) -> None:
    people = apps.select(pl.col("applicant").struct.unnest())
    assert people["name"].str.contains(" ").all()
    emails = people["email"].drop_nulls()
    assert 0.75 < emails.len() / N < 0.95
    assert emails.str.contains(r"^[a-z.]+[0-9]*@example\.(com|net|org)$").all()
