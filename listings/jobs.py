"""Scheduled catch-up for listings: end publicity and lapse unpaid deposits that fell due."""
from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.clock import Clock
from exchange.scheduler import register_job
from listings.service import apply_due, due_listing_refs, load_listing


@register_job("listings.end_publicity", seconds=60, description="end publicity and lapse unpaid registrations")
def end_due_publicity(session: Session, clock: Clock) -> int:
    """Apply what is due to each listing under its row lock; repeat runs find nothing left to do."""
    done = 0
    for ref in due_listing_refs(session, clock):
        apply_due(session, load_listing(session, ref, for_update=True), clock)
        done += 1
    return done
