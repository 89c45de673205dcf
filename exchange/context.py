"""Per-request access to the injected clock, the session and the acting user."""
from __future__ import annotations

from flask import current_app, g

from exchange.actors import Actor
from exchange.auth import require_user
from exchange.calendar import BusinessCalendar
from exchange.clock import Clock
from exchange.db import get_session


def get_clock() -> Clock:
    return current_app.extensions["exchange.clock"]


def current_actor() -> Actor:
    return Actor.of(require_user())


def calendar() -> BusinessCalendar:
    from exchange.calendar_store import get_calendar

    return get_calendar(get_session())


def request_id() -> str | None:
    return g.get("request_id")
