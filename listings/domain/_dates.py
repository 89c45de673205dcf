"""Calendar arithmetic on plain dates (years and months, not working days)."""
from __future__ import annotations

import calendar as _stdcal
from datetime import date


def add_years(day: date, years: int) -> date:
    """The anniversary ``years`` later.

    A 29 February has no anniversary in a common year; we use 1 March, so a
    period "one year from 29 Feb" keeps all of its days and ends on 28 Feb.
    """
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 Feb into a common year
        return date(day.year + years, 3, 1)


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the month's last day (Civil Code art. 202)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, _stdcal.monthrange(year, month)[1]))
