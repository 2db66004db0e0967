"""The explanation's records made without their dataclass `__init__` (`matcher.records`)
are the records their constructors make: every field set, equal, of the same class."""

from __future__ import annotations

import dataclasses

from matcher import records
from matcher.explanation import Combination, Hint, LenderExplanation, Reason, Value


def _same(made: object, built: object) -> None:
    assert type(made) is type(built)
    for field in dataclasses.fields(built):  # type: ignore[arg-type]
        assert getattr(made, field.name) == getattr(built, field.name), field.name
    assert made == built


def test_a_reason_is_the_one_its_constructor_makes() -> None:
    values: dict[str, Value] = {"debt_to_income": 6.5}
    made = records.reason("fjord.dti", "failed", "Debt too high.", "dti <= 5", values, 5)
    _same(made, Reason("fjord.dti", "failed", "Debt too high.", "dti <= 5", values, 5))


def test_an_explanation_is_the_one_its_constructor_makes() -> None:
    reason = Reason("fjord.min_age", "missing", "Too young.", "age >= 23", {"age": None})
    hint = Hint(message="m")
    for eligible, reasons, given in ((False, [reason], hint), (True, [], None)):
        _same(
            records.explanation("fjord", "Fjordkreditt AS", eligible, reasons, given),
            LenderExplanation("fjord", "Fjordkreditt AS", eligible, reasons, given),
        )


def test_a_hint_is_the_one_its_constructor_makes_with_every_field_given() -> None:
    combination = Combination(term_months=[(12, 24)], amount=[(10_000, 50_000)])
    for amount, term, combinations, blocking in (
        ([(10_000, 20_000)], None, None, []),
        (None, [(12, 96)], [combination], ["fjord.max_dti"]),
    ):
        made = records.hint(amount, 1_000, term, 12, combinations, blocking, "a message")
        built = Hint(
            amount=amount,
            amount_step=1_000,
            term_months=term,
            term_months_step=12,
            combinations=combinations,
            blocking=blocking,
            message="a message",
        )
        _same(made, built)
    # a field the dataclass gains and the function does not set would be missing
    assert [f.name for f in dataclasses.fields(Hint)] == [
        "amount",
        "amount_step",
        "term_months",
        "term_months_step",
        "combinations",
        "blocking",
        "message",
    ]
    assert [f.name for f in dataclasses.fields(Reason)] == [
        "code",
        "kind",
        "message",
        "rule",
        "values",
        "threshold",
    ]
    assert [f.name for f in dataclasses.fields(LenderExplanation)] == [
        "lender_id",
        "name",
        "eligible",
        "reasons",
        "hint",
    ]
