"""Business calendar: 2026 official data, working-day arithmetic, data validation."""
from __future__ import annotations

import copy
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exchange.calendar import (
    BusinessCalendar,
    Deadline,
    YearCalendar,
    load_bundled_years,
    parse_year_data,
    year_to_data,
)
from exchange.errors import ValidationError

D = date
CAL = BusinessCalendar.bundled()
DATA_2026 = json.loads(
    (Path(__file__).resolve().parents[2] / "exchange" / "data" / "calendar" / "2026.json").read_text("utf-8")
)


# --- bundled data ------------------------------------------------------------

def test_bundled_years_include_2026() -> None:
    years = load_bundled_years()
    assert 2026 in {y.year for y in years}
    assert CAL.is_loaded(2026) and not CAL.is_loaded(2027)
    assert 2026 in CAL.loaded_years


def test_2026_counts_match_the_notice() -> None:
    y = next(y for y in load_bundled_years() if y.year == 2026)
    # 3 + 9 + 3 + 5 + 3 + 3 + 7 days off, 6 make-up days.
    assert len(y.holidays) == 33
    assert sorted(y.makeup_days) == [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28),
                                     D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)]
    assert "国务院办公厅" in y.source


def test_2026_total_working_days() -> None:
    # By hand: 2026-01-01 is a Thursday, so 52 full weeks + one Thursday = 261 weekdays.
    # Holidays on weekdays: New Year 2 (Jan 1-2), Spring Festival 6 (Feb 16-20, 23),
    # Qingming 1 (Apr 6), Labour Day 3 (May 1, 4, 5), Dragon Boat 1 (Jun 19),
    # Mid-Autumn 1 (Sep 25), National Day 5 (Oct 1, 2, 5, 6, 7) = 19.
    # Make-up days: 6.  261 - 19 + 6 = 248.
    assert CAL.working_days_between(D(2025, 12, 31), D(2026, 12, 31)) == 248
    brute = sum(CAL.is_working_day(D(2026, 1, 1) + timedelta(i)) for i in range(365))
    assert brute == 248


# --- named dates -------------------------------------------------------------

@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2026, 1, 1), False), (D(2026, 1, 2), False), (D(2026, 1, 4), True),  # Sun make-up
        (D(2026, 2, 14), True), (D(2026, 2, 16), False), (D(2026, 2, 23), False),
        (D(2026, 2, 24), True), (D(2026, 2, 28), True), (D(2026, 3, 1), False),
        (D(2026, 4, 6), False), (D(2026, 5, 5), False), (D(2026, 5, 9), True),
        (D(2026, 6, 19), False), (D(2026, 9, 20), True), (D(2026, 9, 25), False),
        (D(2026, 10, 7), False), (D(2026, 10, 10), True), (D(2026, 10, 11), False),
        (D(2026, 3, 2), True),
    ],
)
def test_is_working_day(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_holiday_name() -> None:
    assert CAL.holiday_name(D(2026, 2, 17)) == "春节 Spring Festival"
    assert CAL.holiday_name(D(2026, 1, 3)) == "元旦 New Year"  # a Saturday inside the break
    assert CAL.holiday_name(D(2026, 2, 14)) is None  # make-up days are not holidays
    assert CAL.holiday_name(D(2026, 3, 2)) is None


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (D(2026, 2, 13), 1, D(2026, 2, 14)),   # Fri -> Sat make-up
        (D(2026, 2, 14), 1, D(2026, 2, 24)),   # across the Spring Festival
        (D(2026, 2, 27), 1, D(2026, 2, 28)),   # Fri -> Sat make-up
        (D(2026, 2, 28), 1, D(2026, 3, 2)),
        (D(2026, 9, 30), 1, D(2026, 10, 8)),   # across National Day
        (D(2026, 10, 9), 1, D(2026, 10, 10)),  # Fri -> Sat make-up
        (D(2026, 9, 19), 1, D(2026, 9, 20)),   # Sat -> Sun make-up
        (D(2026, 1, 3), 1, D(2026, 1, 4)),     # New Year make-up Sunday
        (D(2026, 4, 30), 1, D(2026, 5, 6)),    # across Labour Day
        # Publicity of 20 working days from Mon 2026-09-21, counted by hand:
        # Sep 22,23,24 (3), 28,29,30 (6), Oct 8,9,10 (9), 12-16 (14), 19-23 (19), 26 (20).
        (D(2026, 9, 21), 20, D(2026, 10, 26)),
    ],
)
def test_add_working_days(start: date, n: int, expected: date) -> None:
    assert CAL.add_working_days(start, n) == Deadline(day=expected, provisional=False)
    assert CAL.working_days_between(start, expected) == n


def test_add_zero_working_days() -> None:
    assert CAL.add_working_days(D(2026, 2, 14), 0).day == D(2026, 2, 14)
    assert CAL.add_working_days(D(2026, 2, 15), 0).day == D(2026, 2, 24)


def test_negative_n_is_refused() -> None:
    with pytest.raises(ValueError):
        CAL.add_working_days(D(2026, 3, 2), -1)


def test_next_working_day() -> None:
    assert CAL.next_working_day(D(2026, 10, 1)) == D(2026, 10, 8)
    assert CAL.next_working_day(D(2026, 3, 2)) == D(2026, 3, 3)


def test_provisional_when_crossing_into_unloaded_year() -> None:
    deadline = CAL.add_working_days(D(2026, 12, 24), 10)
    assert deadline.provisional is True
    # Plain weekdays in 2027: Dec 25, 28-31 (5), Jan 1, 4-7 (10).
    assert deadline.day == D(2027, 1, 7)
    assert CAL.add_working_days(D(2026, 12, 1), 5).provisional is False
    assert CAL.is_provisional(D(2026, 1, 1), D(2026, 12, 31)) is False
    assert CAL.is_provisional(D(2026, 6, 1), D(2028, 1, 1)) is True
    assert CAL.is_provisional(D(2025, 12, 31), D(2026, 1, 5)) is True


def test_unloaded_year_is_plain_weekdays() -> None:
    empty = BusinessCalendar()
    assert empty.loaded_years == frozenset()
    assert empty.is_working_day(D(2026, 10, 1)) is True  # Thursday, holiday unknown
    assert empty.is_working_day(D(2026, 10, 10)) is False  # Saturday
    assert empty.add_working_days(D(2026, 10, 9), 1) == Deadline(D(2026, 10, 12), True)


def test_working_days_between_edges() -> None:
    assert CAL.working_days_between(D(2026, 3, 2), D(2026, 3, 2)) == 0
    assert CAL.working_days_between(D(2026, 3, 9), D(2026, 3, 2)) == 0
    assert CAL.working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3
    assert CAL.working_days_between(D(2026, 2, 13), D(2026, 2, 28)) == 6  # 14, 24-27, 28


def test_duplicate_year_refused() -> None:
    y = parse_year_data(DATA_2026)
    with pytest.raises(ValueError):
        BusinessCalendar([y, y])


# --- data validation ---------------------------------------------------------

def test_round_trip() -> None:
    y = parse_year_data(DATA_2026)
    assert year_to_data(y) == DATA_2026
    assert parse_year_data(year_to_data(y)) == y


def _broken(change) -> dict:
    data = copy.deepcopy(DATA_2026)
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "code"),
    [
        (lambda d: d["holidays"][0].update(end="2027-01-02"), "calendar_date_outside_year"),
        (lambda d: d["makeup_days"].append({"name": "x", "date": "2025-12-27"}), "calendar_date_outside_year"),
        (lambda d: d["makeup_days"][0].update(date="2026-01-05"), "calendar_makeup_not_weekend"),
        (lambda d: d["makeup_days"][0].update(date="2026-01-03"), "calendar_day_conflict"),
        (lambda d: d["makeup_days"].append({"name": "x", "date": "2026-01-04"}), "calendar_day_conflict"),
        (lambda d: d["holidays"].append({"name": "x", "start": "2026-10-07", "end": "2026-10-08"}),
         "calendar_day_conflict"),
        (lambda d: d["holidays"][0].update(start="2026-01-05"), "calendar_invalid"),  # start after end
        (lambda d: d["holidays"][0].update(start="2026-02-30"), "calendar_invalid"),
        (lambda d: d["holidays"][0].update(start="20260101"), "calendar_invalid"),
        (lambda d: d["holidays"][0].update(start=20260101), "calendar_invalid"),
        (lambda d: d["holidays"][0].pop("name"), "calendar_invalid"),
        (lambda d: d.pop("holidays"), "calendar_invalid"),
        (lambda d: d.pop("makeup_days"), "calendar_invalid"),
        (lambda d: d.pop("year"), "calendar_invalid"),
        (lambda d: d.update(year="2026"), "calendar_invalid"),
        (lambda d: d.update(year=True), "calendar_invalid"),
        (lambda d: d.update(holidays={"a": 1}), "calendar_invalid"),
        (lambda d: d.update(source=5), "calendar_invalid"),
    ],
)
def test_bad_data_rejected(change, code: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_year_data(_broken(change))
    assert info.value.code == code
    assert info.value.status == 422


def test_non_object_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        parse_year_data([])  # type: ignore[arg-type]
    assert info.value.code == "calendar_invalid"


def test_year_calendar_is_frozen() -> None:
    y = YearCalendar(year=2030, holidays={}, makeup_days={})
    with pytest.raises(AttributeError):
        y.year = 2031  # type: ignore[misc]


# --- properties --------------------------------------------------------------

starts = st.dates(min_value=D(2025, 1, 1), max_value=D(2027, 12, 31))
counts = st.integers(min_value=1, max_value=60)


@given(starts, st.integers(min_value=0, max_value=60))
def test_result_is_always_a_working_day(start: date, n: int) -> None:
    result = CAL.add_working_days(start, n).day
    assert CAL.is_working_day(result)
    assert result > start or (n == 0 and result == start)


@given(starts, counts)
def test_between_inverts_add(start: date, n: int) -> None:
    deadline = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, deadline.day) == n
    # Nothing working is skipped: the day before the result holds one fewer.
    assert CAL.working_days_between(start, deadline.day - timedelta(1)) == n - 1
    assert deadline.provisional == CAL.is_provisional(start, deadline.day)


@given(starts, counts)
def test_monotonic_in_n(start: date, n: int) -> None:
    assert CAL.add_working_days(start, n).day < CAL.add_working_days(start, n + 1).day
    assert CAL.add_working_days(start, n - 1).day <= CAL.add_working_days(start, n).day


@given(starts, starts)
def test_between_matches_day_by_day_count(a: date, b: date) -> None:
    expected = sum(CAL.is_working_day(a + timedelta(i)) for i in range(1, (b - a).days + 1))
    assert CAL.working_days_between(a, b) == expected
