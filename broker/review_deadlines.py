"""Review deadlines: one calendar month from receipt, extendable once by up to two months.

A month later is the same day of the next month at the same time (UTC); when that month has
no such day, the last day of that month: a request received on 31 January is due on 28
February (29 in a leap year), one received on 31 March on 30 April. An extension adds its
months to the due date the same way.
"""

from __future__ import annotations

import calendar
from datetime import datetime

RESPONSE_MONTHS = 1
MAX_EXTENSION_MONTHS = 2


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` moved by whole calendar months (the day clamped to the month's last day)."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last_day))


def due_date(received_at: datetime) -> datetime:
    """When an answer to a request received at `received_at` is due."""
    return add_months(received_at, RESPONSE_MONTHS)
