"""Scheduled sweep: open started auctions and close those whose bidding has ended."""
from __future__ import annotations

from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.clock import Clock
from exchange.scheduler import register_job
from auctions.service import close_auction, due_auction_refs, load_auction, open_started


@register_job("auctions.close_due", seconds=5, description="close auctions whose bidding has ended")
def close_due_auctions(session: Session, clock: Clock) -> int:
    """Safe with several schedulers: each due row is locked with SKIP LOCKED on PostgreSQL, and
    closing an already closed auction does nothing."""
    open_started(session, clock)
    n = 0
    for ref in due_auction_refs(session, clock):
        close_auction(session, Actor.system("sweep"), load_auction(session, ref, for_update=True), clock=clock)
        n += 1
    return n
