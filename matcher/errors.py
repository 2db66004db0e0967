"""The matcher's errors: a small hierarchy, each with the fields that locate it.

A ruleset that does not load raises `lender_rules.errors.RulesetError` (every problem with
its file, requirement id and JSON path); the errors here are the matcher's own.
"""

from __future__ import annotations


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
