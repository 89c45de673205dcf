"""Helpers shared by the listings pages: the acting user, refusals beside fields, publicity
countdowns on the business calendar, and the optional links into the auctions package."""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from config import EXAMPLE_ACCOUNTS
from exchange.actors import Actor
from exchange.auth import current_user, require_user
from exchange.calendar_store import get_calendar
from exchange.clock import local_date
from exchange.context import get_clock
from exchange.errors import DomainError
from exchange.views import apply_field_errors
from listings import domain as d

def actor() -> Actor:
    return Actor.of(require_user())


def maybe_actor() -> Actor | None:
    user = current_user()
    return Actor.of(user) if user else None


def today() -> date:
    return local_date(get_clock().now())


def deposit_account() -> dict[str, str]:
    """Where buyers pay deposits: the configured account (production requires one), else the example."""
    return dict(current_app.config.get("DEPOSIT_ACCOUNT") or EXAMPLE_ACCOUNTS["DEPOSIT_ACCOUNT"])


# Refusals whose service message names English values (kinds, formats, checklist keys): said in our words.
CODE_MESSAGES: dict[str, Any] = {
    "not_a_patent": _l("Only patents and patent applications have a patent term."),
    "invalid_auction_format": _l("Choose a bidding method from the list."),
    "invalid_checklist": _l("The review checklist is incomplete; reload the page and try again."),
    "confirmation_checklist_incomplete": _l("Every checklist item must be ticked to confirm the rights."),
}


def show_error(form, err: DomainError, aliases: dict[str, str] | None = None) -> int:  # type: ignore[no-untyped-def]
    """Put a service's refusal beside the form field it names and return the HTTP status.

    Services name their own fields (``price_fen``); the page's field may be called
    differently (``price``, typed in yuan): ``aliases`` maps one to the other. A
    refusal that names no field of this form is shown above the form. What the failed
    attempt had already flushed is undone now, so the page shows what is stored.
    """
    from exchange.db import get_session

    get_session().rollback()
    name = (aliases or {}).get(err.field or "", err.field)
    if name and not _is_field(form, name):
        name = None
    shown = copy.copy(err)  # the same refusal (its template and figures) beside this form's field
    shown.field = name
    apply_field_errors(form, shown, CODE_MESSAGES)
    return err.status


def _is_field(form, name: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        return name in form._fields
    except AttributeError:  # pragma: no cover - not a wtforms form
        return False


@dataclass(frozen=True)
class Countdown:
    """Where a listing's publicity stands today, counted on the business calendar."""

    end: date
    working_days_left: int  # working days after today, up to and including the last day
    last_day: bool  # today is the last day
    ended: bool
    provisional: bool  # the end falls in a year whose official calendar is not loaded


def countdown(session: Session, listing: Any, on: date | None = None) -> Countdown | None:
    if listing.state not in (d.ListingState.PUBLISHED, d.ListingState.SUSPENDED) or listing.publicity_end is None:
        return None
    on = on or today()
    end = listing.publicity_end
    left = get_calendar(session).working_days_between(on, end)
    return Countdown(end=end, working_days_left=left, last_day=on == end, ended=on > end,
                     provisional=bool(listing.publicity_provisional))


@dataclass(frozen=True)
class Suspension:
    """A suspended listing's clock: suspension (中止) normally lasts at most one month."""

    since: date
    limit: date  # the last day of the normal limit; after it the operator should resume or terminate
    overdue: bool


def suspension(listing: Any, on: date | None = None) -> Suspension | None:
    if listing.state != d.ListingState.SUSPENDED or listing.suspended_on is None:
        return None
    on = on or today()
    return Suspension(since=listing.suspended_on, limit=d.suspension_limit(listing.suspended_on),
                      overdue=d.suspension_overdue(listing.suspended_on, on))


def auction_for(session: Session, listing: Any) -> Any | None:
    """The auction of a listing, if the auctions package is installed and one exists."""
    if listing.state not in (d.ListingState.AWAITING_AUCTION, d.ListingState.IN_AUCTION, d.ListingState.SOLD,
                             d.ListingState.UNSOLD, d.ListingState.TERMINATED):  # terminated: a seller's default
        return None
    try:
        from auctions.service import listing_auction
    except ImportError:
        return None
    return listing_auction(session, listing.ref)


def auction_url(auction: Any) -> str:
    """The auction's page (written in the auctions package); a plain path if it is not installed yet."""
    from flask import url_for

    for endpoint in ("auctions_web.room", "auctions_web.auction_page"):
        try:
            return url_for(endpoint, ref=auction.ref)
        except Exception:  # noqa: BLE001 - the endpoint name differs or is not registered
            continue
    return f"/auctions/{auction.ref}"


def parse_share_bp(text: str | None) -> int | None:
    """A share typed in percent ("50", "33.33") as basis points, exactly."""
    from decimal import Decimal, InvalidOperation

    from flask_babel import gettext as _

    from exchange.errors import ValidationError

    text = (text or "").strip().rstrip("%").strip()
    if not text:
        return None
    try:
        bp = Decimal(text) * 100
    except InvalidOperation:
        bp = Decimal("NaN")
    if not bp.is_finite() or bp != bp.to_integral_value() or not 0 < bp <= 10000:
        raise ValidationError(_("A share is a percentage above 0 and at most 100, with at most two decimals."),
                              code="invalid_share", field="share_percent")
    return int(bp)


def yuan(fen: int | None) -> str:
    """An amount in fen as the yuan text a form field shows (``1,250,000.00``)."""
    from exchange.money import Money

    return "" if fen is None else Money(int(fen)).format(symbol=False)
