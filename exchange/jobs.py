"""The platform's scheduled jobs."""
from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.clock import Clock
from exchange.notifications import deliver_notices
from exchange.scheduler import register_job


@register_job("exchange.deliver_notices", seconds=60, description="email notices to members (when SMTP is set)")
def deliver_notices_job(session: Session, clock: Clock) -> dict[str, int]:
    return deliver_notices(session, clock)
