"""Wiring to the auctions package: every struck deal gets its contract drawn up at once,
and a deal's default cancels (or, once in force, terminates) its contract."""
from __future__ import annotations

from sqlalchemy.orm import Session

from auctions.models import Deal
from exchange.clock import Clock


def on_deal_struck(session: Session, deal: Deal, clock: Clock) -> None:
    from contracts.service.contracts import draft_contract

    draft_contract(session, deal, clock=clock)


def on_deal_defaulted(session: Session, deal: Deal, clock: Clock) -> None:
    from contracts.service.contracts import on_deal_defaulted as cancel_or_terminate

    cancel_or_terminate(session, deal, clock)


def wire() -> None:
    """Append the hooks once (importing twice must not draft two contracts)."""
    from auctions.service.deals import ON_DEAL_DEFAULTED, ON_DEAL_STRUCK

    if on_deal_struck not in ON_DEAL_STRUCK:
        ON_DEAL_STRUCK.append(on_deal_struck)
    if on_deal_defaulted not in ON_DEAL_DEFAULTED:
        ON_DEAL_DEFAULTED.append(on_deal_defaulted)
