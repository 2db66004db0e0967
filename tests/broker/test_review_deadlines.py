"""Review deadlines: a calendar month later, the day clamped to the month's last day."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from broker import add_months, due_date


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (datetime(2026, 11, 30, 8, 15, tzinfo=UTC), datetime(2026, 12, 30, 8, 15, tzinfo=UTC)),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), datetime(2027, 1, 31, 23, 59, tzinfo=UTC)),
        (datetime(2027, 1, 31, 12, 0, tzinfo=UTC), datetime(2027, 2, 28, 12, 0, tzinfo=UTC)),
        (datetime(2028, 1, 31, 12, 0, tzinfo=UTC), datetime(2028, 2, 29, 12, 0, tzinfo=UTC)),
        (datetime(2027, 3, 31, 12, 0, tzinfo=UTC), datetime(2027, 4, 30, 12, 0, tzinfo=UTC)),
    ],
)
def test_a_request_is_due_one_calendar_month_after_receipt(
    received: datetime, due: datetime
) -> None:
    assert due_date(received) == due


def test_an_extension_adds_calendar_months_to_the_due_date() -> None:
    due = datetime(2026, 12, 31, 9, 0, tzinfo=UTC)
    assert add_months(due, 2) == datetime(2027, 2, 28, 9, 0, tzinfo=UTC)
    assert add_months(due, 1) == datetime(2027, 1, 31, 9, 0, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 30, tzinfo=UTC), 14) == datetime(2028, 1, 30, tzinfo=UTC)
