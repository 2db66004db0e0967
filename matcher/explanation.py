"""An explanation's records: `LenderExplanation`, its `Reason`s and `Hint`, and a hint's
`Combination`s (made by `matcher.explain`).

Kept apart from `explain`, which runs compiled (`matcher/_native.py`): pydantic reads these
classes as it reads models, for the API's JSON Schema and answers, and it reads them from
their Python definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Literal

from pydantic import Field

Value = bool | int | float | str | None

# The explanation's records (`Combination`, `Hint`, `Reason`, `LenderExplanation`) are plain
# slotted dataclasses, cheap to build on the single path, where a pydantic model would
# validate what the matcher has just computed. Pydantic reads them as it reads models (their
# docstrings and `Field` annotations give the same JSON Schema), so the API validates and
# serialises them once, in its answer. They are values: nothing changes one once built.


@dataclass(slots=True, kw_only=True)
class Combination:
    """Terms, and the amounts a lender would accept over each of them (intervals with steps,
    as in `Hint`)."""

    term_months: list[tuple[int, int]]
    term_months_step: int = 1
    amount: list[tuple[int, int]]
    amount_step: int = 1


@dataclass(slots=True, kw_only=True)
class Hint:
    """The amounts (at the applied term) and terms (at the applied amount) a lender would
    accept with everything else unchanged; computed exactly, as intervals [low, high] of
    whole units. Where a lender takes only every k-th value ("a whole multiple of 1,000"),
    the step is k and low and high are such values; otherwise the step is 1.

    When neither the amount nor the term alone can make the lender accept, `combinations`
    are exactly the (amount, term) pairs that would; when none would, `combinations` is
    empty and `blocking` names the requirements in the way (codes). `combinations` is None
    when the one-variable answers suffice (or pairs cannot be computed exactly)."""

    amount: list[tuple[int, int]] | None = None
    amount_step: int = 1
    term_months: list[tuple[int, int]] | None = None
    term_months_step: int = 1
    combinations: list[Combination] | None = None
    # the default shown in the JSON Schema, as a model's `= []` shows it
    blocking: Annotated[list[str], Field(json_schema_extra={"default": []})] = field(
        default_factory=list
    )
    message: str


@dataclass(slots=True)
class Reason:
    """Why one requirement of one lender did not pass."""

    code: str
    kind: Literal["failed", "missing"]
    message: str
    rule: str
    values: Annotated[
        dict[str, Value],
        Field(
            description=(
                "The applicant's values of the features the rule reads, by feature name; null "
                'is unknown (missing data); +inf and -inf are the strings "Infinity" and '
                '"-Infinity" (debt_to_income of an applicant without income), as in the '
                "stored feature row."
            )
        ),
    ]
    threshold: Value | list[Value] = None
    """What the applicant's value was measured against, for this applicant: a limit that
    depends on other values ("200,000 + 40,000 per child") or on a condition ("12 months
    when employment is temporary") is given as it applied to them (see `threshold`)."""


@dataclass(slots=True)
class LenderExplanation:
    """One lender's outcome for one application, with every reason it was not eligible."""

    lender_id: str
    name: str
    eligible: bool
    reasons: list[Reason]
    hint: Hint | None = None
