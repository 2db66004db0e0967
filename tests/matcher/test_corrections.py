"""A feature row with a reviewer's corrections: the computed features worked out again, the
row checked against the feature contract, the correction at fault named."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher import (
    CORRECTABLE_FEATURES,
    FeatureRowError,
    features_of,
    validation_context,
    with_corrections,
)
from matcher.application import Application
from tests.api.support import application
from tests.strategies import dated_applications


@given(dated_applications(), st.integers(0, 5_000_000), st.integers(0, 5_000_000))
def test_corrected_inputs_give_the_features_of_the_corrected_application(
    dated: tuple[Application, date], income: int, debt: int
) -> None:
    app, on = dated
    row = features_of(app, on)
    corrected = with_corrections(row, {"income": income, "existing_debt": debt})
    total = income + row["co_income"]
    assert corrected["total_income"] == total
    expected = float("inf") if total == 0 else (debt + row["amount"]) / total
    assert corrected["debt_to_income"] == expected
    assert {
        k: v
        for k, v in corrected.items()
        if k not in ("income", "existing_debt", "total_income", "debt_to_income")
    } == {
        k: v
        for k, v in row.items()
        if k not in ("income", "existing_debt", "total_income", "debt_to_income")
    }


@pytest.mark.parametrize(
    ("corrections", "feature", "reason"),
    [
        ({"salary": 1}, "salary", "not a feature"),
        ({"market": "SE"}, "market", "cannot be corrected"),
        ({"debt_to_income": 0.5}, "debt_to_income", "cannot be corrected"),
        ({"total_income": 9}, "total_income", "cannot be corrected"),
        ({"income": "550000"}, "income", "not an int"),
        ({"children": -1}, "children", "outside"),
        ({"employment": "astronaut"}, "employment", "not one of its values"),
    ],
)
def test_a_bad_correction_is_named(
    corrections: dict[str, object], feature: str, reason: str
) -> None:
    row = features_of(_application(), date(2026, 11, 30))
    with pytest.raises(FeatureRowError) as refused:
        with_corrections(row, corrections)
    assert refused.value.feature == feature
    assert refused.value.reason.startswith(reason)


def test_every_feature_but_the_market_and_the_computed_ones_is_correctable() -> None:
    assert "market" not in CORRECTABLE_FEATURES
    assert {"income", "employment", "existing_debt", "payment_remarks"} <= set(CORRECTABLE_FEATURES)


def _application() -> Application:
    return Application.model_validate(application(), context=validation_context(synthetic_ids=True))
