"""The business calendar as data operators can load and edit, kept in the database."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.calendar import BusinessCalendar, YearCalendar, load_bundled_years, parse_year_data, year_to_data
from exchange.clock import Clock
from exchange.errors import ConflictError, NotFoundError
from exchange.models import CalendarDay, CalendarYear

_CACHE_KEY = "exchange.calendar"


def get_calendar(session: Session) -> BusinessCalendar:
    """The calendar as stored, read once per unit of work (a request or a job)."""
    cached = session.info.get(_CACHE_KEY)
    if cached is not None:
        return cached
    years: dict[int, dict] = {}
    for y in session.scalars(sa.select(CalendarYear)):
        years[y.year] = {"holidays": {}, "makeup_days": {}, "source": y.source}
    for d in session.scalars(sa.select(CalendarDay)):
        bucket = years[d.year]["makeup_days" if d.is_working else "holidays"]
        bucket[d.day] = d.name
    cal = BusinessCalendar(YearCalendar(year=y, holidays=v["holidays"], makeup_days=v["makeup_days"], source=v["source"])
                           for y, v in sorted(years.items()))
    session.info[_CACHE_KEY] = cal
    return cal


def load_year(session: Session, data: dict, *, actor: Actor, clock: Clock, replace: bool = False) -> YearCalendar:
    """Load (or with ``replace``, correct) one year's holidays and make-up days."""
    year = parse_year_data(data)
    existing = session.get(CalendarYear, year.year)
    before = None
    if existing is not None:
        if not replace:
            raise ConflictError("%(year)s is already loaded; replace it explicitly.", params={"year": year.year},
                                code="calendar_year_loaded")
        before = year_to_data(stored_year(session, year.year))
        session.execute(sa.delete(CalendarDay).where(CalendarDay.year == year.year))
        existing.source, existing.loaded_at, existing.loaded_by = year.source, clock.now(), actor.label
    else:
        session.add(CalendarYear(year=year.year, source=year.source, loaded_at=clock.now(), loaded_by=actor.label))
        session.flush()
    session.add_all([CalendarDay(day=d, year=year.year, is_working=False, name=n) for d, n in year.holidays.items()])
    session.add_all([CalendarDay(day=d, year=year.year, is_working=True, name=n) for d, n in year.makeup_days.items()])
    session.flush()
    session.info.pop(_CACHE_KEY, None)
    record_event(session, actor=actor, action="calendar.year_loaded", subject_type="calendar",
                 subject_ref=str(year.year), before=before, after=year_to_data(year), clock=clock)
    return year


def stored_year(session: Session, year: int) -> YearCalendar:
    row = session.get(CalendarYear, year)
    if row is None:
        raise NotFoundError("The calendar for %(year)s is not loaded.", params={"year": year},
                            code="calendar_year_not_loaded")
    days = session.scalars(sa.select(CalendarDay).where(CalendarDay.year == year)).all()
    return YearCalendar(year=year, holidays={d.day: d.name for d in days if not d.is_working},
                        makeup_days={d.day: d.name for d in days if d.is_working}, source=row.source)


def seed_bundled_years(session: Session, *, clock: Clock) -> list[int]:
    """Load the shipped years that are not in the database yet (migrations and first start)."""
    loaded = set(session.scalars(sa.select(CalendarYear.year)))
    done = []
    for y in load_bundled_years():
        if y.year not in loaded:
            load_year(session, year_to_data(y), actor=Actor.system("calendar-seed"), clock=clock)
            done.append(y.year)
    return done
