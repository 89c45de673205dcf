"""The exchange's clock. Code asks an injected clock, never ``datetime.now()``.

Times are timezone-aware UTC inside the system and shown in the business
timezone (Asia/Shanghai).
"""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from typing import Protocol
from zoneinfo import ZoneInfo

BUSINESS_TZ = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)  # the one sanctioned call


class FakeClock:
    """A settable clock for tests and accelerated demos. Thread-safe."""

    def __init__(self, start: datetime | None = None) -> None:
        start = start or datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
        self._now = ensure_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = ensure_utc(when)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now = self._now + (delta or timedelta(**kwargs))
            return self._now


class ScaledClock:
    """Runs ``factor`` times faster than real time from ``origin``; used by the demo."""

    def __init__(self, origin: datetime, factor: float, base: Clock | None = None) -> None:
        self._base = base or SystemClock()
        self._origin = ensure_utc(origin)
        self._real_origin = self._base.now()
        self._factor = factor

    def now(self) -> datetime:
        return self._origin + (self._base.now() - self._real_origin) * self._factor


def ensure_utc(value: datetime) -> datetime:
    """Refuse naive datetimes and convert aware ones to UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: the exchange only handles timezone-aware times")
    return value.astimezone(UTC)


def to_local(value: datetime) -> datetime:
    """The instant in the business timezone (Asia/Shanghai)."""
    return ensure_utc(value).astimezone(BUSINESS_TZ)


def local_date(value: datetime) -> date:
    """The business-calendar date on which an instant falls in Shanghai."""
    return to_local(value).date()


def local_midnight_utc(day: date) -> datetime:
    """00:00 Shanghai time on ``day``, as UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=BUSINESS_TZ).astimezone(UTC)


def end_of_local_day_utc(day: date) -> datetime:
    """The first instant after ``day`` ends in Shanghai (exclusive end), as UTC."""
    return local_midnight_utc(day + timedelta(days=1))


def format_local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return "" if value is None else to_local(value).strftime(fmt)


def format_deadline(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An exclusive deadline shown as the last minute that still counts, in Shanghai time.

    Deadlines are stored as the first instant that is too late (00:00 of the day after the
    last working day). Shown as such, people read the wrong day; "2026-03-05 23:59" says
    what "before 2026-03-06 00:00" means.
    """
    return "" if value is None else to_local(value - timedelta(seconds=1)).strftime(fmt)
