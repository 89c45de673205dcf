"""The business calendar: which days count as working days.

Working days are Monday to Friday, minus the public holidays and plus the
weekend make-up working days (调休) that the State Council announces each year.
The yearly announcements are data (``exchange/data/calendar/<year>.json``) so
operators can load and edit them without a code change.

A computation that touches a year whose data is not loaded falls back to plain
weekdays and is flagged ``provisional``: the announcement for next year usually
arrives in November, and nobody should mistake such a date for a firm one.

Pure module: standard library only, no clock, no database.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from typing import Any

from exchange.errors import ValidationError

__all__ = [
    "BusinessCalendar",
    "Deadline",
    "YearCalendar",
    "load_bundled_years",
    "parse_year_data",
    "year_to_data",
]

_ONE_DAY = timedelta(days=1)
# date.fromisoformat accepts many ISO 8601 variants since 3.11 ("20260101",
# "2026-W01-4"); the data files are edited by hand, so insist on one spelling.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Deadline:
    """A computed working-day date; ``provisional`` if it relied on an unloaded year."""

    day: date
    provisional: bool


@dataclass(frozen=True)
class YearCalendar:
    """One year's official holiday arrangement."""

    year: int
    holidays: dict[date, str]
    makeup_days: dict[date, str]
    source: str = ""


def _invalid(message: str, code: str = "calendar_invalid", **details: Any) -> ValidationError:
    return ValidationError(message, code=code, details=details)


def _text(obj: dict, key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise _invalid(f"{where}: '{key}' must be a non-empty string", where=where, key=key)
    return value.strip()


def _day(obj: dict, key: str, where: str, year: int) -> date:
    raw = _text(obj, key, where)
    try:
        if not _ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise _invalid(f"{where}: '{key}' is not a YYYY-MM-DD date: {raw!r}", where=where, value=raw) from None
    if day.year != year:
        raise _invalid(f"{where}: {day} is outside {year}", "calendar_date_outside_year", where=where, day=raw)
    return day


def _list(data: dict, key: str) -> list[dict]:
    items = data.get(key)
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _invalid(f"'{key}' must be a list of objects", key=key)
    return items


def parse_year_data(data: dict) -> YearCalendar:
    """Build a ``YearCalendar`` from its JSON shape, refusing anything doubtful.

    Raises ``ValidationError`` with code ``calendar_invalid`` (shape, missing keys,
    malformed dates, start after end), ``calendar_date_outside_year``,
    ``calendar_makeup_not_weekend`` or ``calendar_day_conflict`` (a day listed twice,
    or both a holiday and a make-up day).
    """
    if not isinstance(data, dict):
        raise _invalid("calendar data must be an object")
    year = data.get("year")
    # bool is an int subclass; "year": true is a typo, not 1.
    if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9999:
        raise _invalid("'year' must be an integer year", key="year")
    source = data.get("source", "")
    if not isinstance(source, str):
        raise _invalid("'source' must be a string", key="source")

    holidays: dict[date, str] = {}
    for i, item in enumerate(_list(data, "holidays")):
        where = f"holidays[{i}]"
        name = _text(item, "name", where)
        start, end = _day(item, "start", where, year), _day(item, "end", where, year)
        if start > end:
            raise _invalid(f"{where}: start {start} is after end {end}", where=where)
        day = start
        while day <= end:
            if day in holidays:
                raise _invalid(f"{where}: {day} is already a holiday", "calendar_day_conflict", day=day.isoformat())
            holidays[day] = name
            day += _ONE_DAY

    makeup_days: dict[date, str] = {}
    for i, item in enumerate(_list(data, "makeup_days")):
        where = f"makeup_days[{i}]"
        name = _text(item, "name", where)
        day = _day(item, "date", where, year)
        if day.weekday() < 5:
            # A weekday is a working day anyway; listing it means the data is wrong.
            raise _invalid(f"{where}: {day} is not a Saturday or Sunday", "calendar_makeup_not_weekend",
                           day=day.isoformat())
        if day in holidays or day in makeup_days:
            raise _invalid(f"{where}: {day} is listed twice", "calendar_day_conflict", day=day.isoformat())
        makeup_days[day] = name

    return YearCalendar(year=year, holidays=holidays, makeup_days=makeup_days, source=source.strip())


def year_to_data(y: YearCalendar) -> dict:
    """The JSON shape of ``y`` (inverse of ``parse_year_data``), holidays merged into runs."""
    holidays: list[dict[str, str]] = []
    for day in sorted(y.holidays):
        name = y.holidays[day]
        last = holidays[-1] if holidays else None
        if last and last["name"] == name and date.fromisoformat(last["end"]) + _ONE_DAY == day:
            last["end"] = day.isoformat()
        else:
            holidays.append({"name": name, "start": day.isoformat(), "end": day.isoformat()})
    makeup_days = [{"name": y.makeup_days[d], "date": d.isoformat()} for d in sorted(y.makeup_days)]
    return {"year": y.year, "source": y.source, "holidays": holidays, "makeup_days": makeup_days}


def load_bundled_years() -> list[YearCalendar]:
    """Parse every shipped ``exchange/data/calendar/*.json``, ordered by year."""
    folder = resources.files("exchange").joinpath("data", "calendar")
    years = [
        parse_year_data(json.loads(entry.read_text(encoding="utf-8")))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    ]
    return sorted(years, key=lambda y: y.year)


class BusinessCalendar:
    """Working-day arithmetic over the loaded years, plain weekdays elsewhere."""

    def __init__(self, years: Iterable[YearCalendar] = ()) -> None:
        self._years: dict[int, YearCalendar] = {}
        self._holidays: dict[date, str] = {}
        self._makeup: set[date] = set()
        for y in years:
            if y.year in self._years:
                raise ValueError(f"calendar year {y.year} given twice")
            self._years[y.year] = y
            self._holidays.update(y.holidays)
            self._makeup.update(y.makeup_days)

    @classmethod
    def bundled(cls) -> BusinessCalendar:
        """A calendar with the years shipped in ``exchange/data/calendar``."""
        return cls(load_bundled_years())

    @property
    def loaded_years(self) -> frozenset[int]:
        """The years whose official data is loaded."""
        return frozenset(self._years)

    def is_loaded(self, year: int) -> bool:
        """Whether official data for ``year`` is loaded."""
        return year in self._years

    def is_working_day(self, d: date) -> bool:
        """Mon-Fri minus holidays plus make-up days (plain Mon-Fri for unloaded years)."""
        if d in self._makeup:
            return True
        return d.weekday() < 5 and d not in self._holidays

    def holiday_name(self, d: date) -> str | None:
        """The holiday ``d`` belongs to, or None."""
        return self._holidays.get(d)

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The n-th working day after ``start`` (``start`` not counted).

        ``n == 0`` gives ``start`` if it is a working day, else the next one.
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if n == 0:
            day = start if self.is_working_day(start) else self.next_working_day(start)
        else:
            day = start
            for _ in range(n):
                day = self.next_working_day(day)
        return Deadline(day=day, provisional=self.is_provisional(start, day))

    def working_days_between(self, start: date, end: date) -> int:
        """Count working days d with ``start < d <= end`` (0 if ``end <= start``)."""
        if end <= start:
            return 0
        # Count weekdays arithmetically, then correct for the (few) listed days,
        # so long spans cost nothing.
        count = _weekdays_upto(end) - _weekdays_upto(start)
        count -= sum(1 for d in self._holidays if start < d <= end and d.weekday() < 5)
        count += sum(1 for d in self._makeup if start < d <= end)
        return count

    def is_provisional(self, start: date, end: date) -> bool:
        """Whether any year in ``[start, end]`` lacks loaded data."""
        low, high = min(start.year, end.year), max(start.year, end.year)
        return any(year not in self._years for year in range(low, high + 1))


def _weekdays_upto(d: date) -> int:
    """Number of Mon-Fri days from a fixed Monday epoch up to and including ``d``."""
    weeks, rest = divmod(d.toordinal() - 1, 7)  # ordinal 1 (0001-01-01) is a Monday
    return weeks * 5 + min(rest + 1, 5)
