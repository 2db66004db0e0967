"""The matcher's errors: a small hierarchy, each with the fields that locate it.

A ruleset that does not load raises `lender_rules.errors.RulesetError` (every problem with
its file, requirement id and JSON path); the errors here are the matcher's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class MatcherError(Exception):
    """Base of the matcher's errors."""


class OperatorTypeError(MatcherError):
    """Operands of the wrong type for an operator; the compiler adds file, id and path."""


class ExpressionRangeError(MatcherError):
    """A number expression of a rule can leave the numbers both lowerings compute alike
    (`matcher.ranges`); the compiler adds file, id and path."""

    def __init__(self, operator: str, message: str) -> None:
        self.operator = operator
        super().__init__(message)


class FeatureRowError(MatcherError, ValueError):
    """A feature row to evaluate is not one the feature contract allows (`matcher.schema`)."""

    def __init__(self, feature: str, value: Any, reason: str) -> None:
        self.feature = feature
        self.value = value
        self.reason = reason
        super().__init__(f"feature {feature!r}: {reason} (got {value!r})")


@dataclass(frozen=True)
class BadColumn:
    """One column of a feature frame and how many of its rows the contract does not allow."""

    column: str
    bad_rows: int
    reason: str


class FeatureFrameError(MatcherError, ValueError):
    """A feature frame to match holds rows the feature contract does not allow; `columns`
    names each bad column with its count of bad rows (`matcher.valid_rows` sets them
    aside instead)."""

    def __init__(self, columns: tuple[BadColumn, ...], rows: int, bad_rows: int) -> None:
        self.columns = columns
        self.rows = rows
        self.bad_rows = bad_rows
        listed = "; ".join(f"{c.column}: {c.bad_rows} row(s) {c.reason}" for c in columns)
        super().__init__(f"{bad_rows} of {rows} feature row(s) are not valid: {listed}")


class NothingActivatedError(MatcherError):
    """The rules in force were asked for, but no ruleset has been activated."""


class InvalidNationalIdError(MatcherError, ValueError):
    """A national identity number is not valid for its market (a ValueError, so that
    pydantic reports it as a validation error of the field)."""

    def __init__(self, market: str, reason: str) -> None:
        self.market = market
        self.reason = reason
        super().__init__(f"invalid {self.kind}: {reason}")

    @property
    def kind(self) -> str:
        """The name of the market's identity number."""
        return "fødselsnummer" if self.market == "NO" else "personnummer"


class NationalIdFormatError(InvalidNationalIdError):
    """The number does not have the shape of the market's identity number."""


class NationalIdChecksumError(InvalidNationalIdError):
    """A check digit does not match."""


class NationalIdDateError(InvalidNationalIdError):
    """The birth date in the number does not exist or lies after the reference date."""
