"""Scheduled catch-up for settlement: release (or forfeit) deposits whose fate is decided, and flag
overdue payments, starting the default path. Requests apply the same rules when they arrive; the
jobs only catch up, and running one twice or late changes nothing more."""
from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.clock import Clock
from exchange.scheduler import register_job
from settlement.service import flag_overdue, settle_due_holds


@register_job("settlement.resolve_deposits", seconds=300,
              description="release losers' and lapsed deposits when due; forfeit those of buyers who withdrew")
def resolve_deposits(session: Session, clock: Clock) -> dict[str, int]:
    """Every unresolved hold not taken by a deal is released or forfeited once its fate is decided."""
    return settle_due_holds(session, clock)


@register_job("settlement.flag_overdue", seconds=900,
              description="flag overdue payments and start the default path")
def overdue(session: Session, clock: Clock) -> dict[str, int]:
    """Amounts past their due date are flagged; once the grace has run the deal is defaulted."""
    return flag_overdue(session, clock)
