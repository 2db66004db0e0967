"""An explanation's records (`matcher.explanation`) made from compiled code without their
dataclass `__init__`.

The records are plain dataclasses, kept in Python for pydantic to read; their generated
`__init__` runs in the interpreter, a frame for each record, and the single path makes
dozens per call (a reason per failed requirement, an explanation and a hint per rejected
lender). Compiled, setting a record's slots one by one costs about half as much. Each
function sets every field its class has, in the class's order
(tests/matcher/test_records.py holds them to the dataclasses' own constructors).
"""

from __future__ import annotations

from typing import Any

from matcher.explanation import Combination, Hint, LenderExplanation, Reason, Value

_NEW: Any = object.__new__  # a record without its `__init__`, its slots then set


def reason(
    code: str, kind: str, message: str, rule: str, values: dict[str, Value], threshold: Any
) -> Reason:
    """`Reason(code, kind, message, rule, values, threshold)`."""
    made: Any = _NEW(Reason)
    made.code = code
    made.kind = kind
    made.message = message
    made.rule = rule
    made.values = values
    made.threshold = threshold
    return made  # type: ignore[no-any-return]


def explanation(
    lender_id: str, name: str, eligible: bool, reasons: list[Reason], hint: Hint | None
) -> LenderExplanation:
    """`LenderExplanation(lender_id, name, eligible, reasons, hint)`."""
    made: Any = _NEW(LenderExplanation)
    made.lender_id = lender_id
    made.name = name
    made.eligible = eligible
    made.reasons = reasons
    made.hint = hint
    return made  # type: ignore[no-any-return]


def hint(
    amount: list[tuple[int, int]] | None,
    amount_step: int,
    term_months: list[tuple[int, int]] | None,
    term_months_step: int,
    combinations: list[Combination] | None,
    blocking: list[str],
    message: str,
) -> Hint:
    """`Hint(amount=..., ..., message=...)`, every field given."""
    made: Any = _NEW(Hint)
    made.amount = amount
    made.amount_step = amount_step
    made.term_months = term_months
    made.term_months_step = term_months_step
    made.combinations = combinations
    made.blocking = blocking
    made.message = message
    return made  # type: ignore[no-any-return]
