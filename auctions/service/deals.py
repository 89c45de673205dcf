"""The deal (成交): the one service through which every way of striking a deal passes.

Auction awards, negotiated transfers and open-licence takings all call
``strike_deal``. Other packages react through the hook lists (contracts draws
up the contract when a deal is struck, settlement opens obligations when it
takes effect, forfeits the deposit when the buyer defaults and releases it
when a deal is called off through no fault of the buyer).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.calendar_store import get_calendar
from exchange.clock import Clock, end_of_local_day_utc, local_date
from exchange.errors import NotFoundError, RuleViolationError, StateError
from exchange.notifications import deadline, money, notify
from exchange.refs import next_reference
from exchange.text import clean_text
import auctions.notices  # noqa: F401  (registers the topics)
from auctions.models import Deal, DealMethod, DealState
from listings import domain as ld
from listings.models import Asset, BuyerRegistration, Listing

DEFAULT_SIGNING_WORKING_DAYS = 3

ON_DEAL_STRUCK: list[Callable[..., None]] = []
ON_DEAL_IN_FORCE: list[Callable[..., None]] = []
ON_DEAL_DEFAULTED: list[Callable[..., None]] = []
ON_DEAL_COMPLETED: list[Callable[..., None]] = []
ON_DEAL_CANCELLED: list[Callable[..., None]] = []
ON_AUCTION_CLOSED: list[Callable[..., None]] = []

DEAL_TRANSITIONS: dict[DealState, set[DealState]] = {
    DealState.STRUCK: {DealState.IN_FORCE, DealState.DEFAULTED, DealState.CANCELLED},
    DealState.IN_FORCE: {DealState.COMPLETED, DealState.DEFAULTED},
    DealState.DEFAULTED: {DealState.CANCELLED},
    DealState.COMPLETED: set(),
    DealState.CANCELLED: set(),
}


def _check(src: DealState, dst: DealState) -> None:
    if dst not in DEAL_TRANSITIONS[src]:
        raise StateError(f"A deal cannot go from {src.value} to {dst.value}.", code="invalid_transition",
                         details={"from": src.value, "to": dst.value})


def load_deal(session: Session, ref: str, *, for_update: bool = False) -> Deal:
    stmt = sa.select(Deal).where(Deal.ref == ref)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    deal = session.scalar(stmt)
    if deal is None:
        raise NotFoundError(f"No deal {ref}.", code="deal_not_found")
    return deal


def visible_deal(actor: Actor, deal: Deal) -> Deal:
    if actor.can_read_all or actor.party_id in (deal.buyer_party_id, deal.seller_party_id):
        return deal
    raise NotFoundError(f"No deal {deal.ref}.", code="deal_not_found")


def sign_deadline(session: Session, struck_at: datetime, days: int = DEFAULT_SIGNING_WORKING_DAYS) -> datetime:
    """Signatures are due by the end of the N-th working day after the deal is struck."""
    deadline = get_calendar(session).add_working_days(local_date(struck_at), days)
    return end_of_local_day_utc(deadline.day)


def strike_deal(session: Session, *, method: DealMethod, asset: Asset, seller_party_id: int, buyer_party_id: int,
                mode: ld.TradingMode, price_fen: int, clock: Clock, actor: Actor, listing: Listing | None = None,
                registration: BuyerRegistration | None = None, auction_id: int | None = None,
                negotiation_id: int | None = None, open_licence_taking_id: int | None = None,
                replaces: Deal | None = None, terms: dict[str, Any] | None = None) -> Deal:
    """Record a deal, however it was struck, and tell the other packages."""
    if seller_party_id == buyer_party_id:
        raise RuleViolationError("A party cannot buy from itself.", code="seller_cannot_register")
    now = clock.now()
    deal_terms = dict(terms or {})
    if listing is not None:
        deal_terms.setdefault("licence_term_months", listing.licence_term_months)
        deal_terms.setdefault("territory", listing.territory)
        deal_terms.setdefault("listing_price_fen", listing.price_fen)
        deal_terms.setdefault("publicity_start", listing.publicity_start.isoformat() if listing.publicity_start else None)
        deal_terms.setdefault("publicity_end", listing.publicity_end.isoformat() if listing.publicity_end else None)
    deal = Deal(ref=next_reference(session, "D", now.year), method=method, state=DealState.STRUCK,
                listing_id=listing.id if listing else None, asset_id=asset.id, seller_party_id=seller_party_id,
                buyer_party_id=buyer_party_id, mode=mode, price_fen=price_fen,
                registration_id=registration.id if registration else None, auction_id=auction_id,
                negotiation_id=negotiation_id, open_licence_taking_id=open_licence_taking_id,
                replaces_deal_id=replaces.id if replaces else None, terms=deal_terms, struck_at=now,
                sign_by=sign_deadline(session, now))
    session.add(deal)
    session.flush()
    if listing is not None:
        listing.deal_price_fen = price_fen
    record_event(session, actor=actor, action="deal.struck", subject_type="deal", subject_ref=deal.ref,
                 after={"method": method, "price_fen": price_fen, "buyer_party_id": buyer_party_id,
                        "seller_party_id": seller_party_id, "listing": listing.ref if listing else None,
                        "sign_by": deal.sign_by, "replaces": replaces.ref if replaces else None}, clock=clock)
    params = {"deal": deal.ref, "title": listing.title if listing is not None else asset.title,
              "price": money(price_fen), "sign_by": deadline(deal.sign_by)}
    # An open licence has no deposit and no auction; a deal that replaces a defaulted one went to the
    # runner-up, whose words say so (and that its deposit may have been released meanwhile).
    side = "licence_taken" if method == DealMethod.OPEN_LICENCE else "runner_up" if replaces else "struck"
    notify(session, party_id=buyer_party_id, topic=f"deal.{side}_{'licensee' if side == 'licence_taken' else 'buyer'}",
           params=params, clock=clock)
    notify(session, party_id=seller_party_id, topic=f"deal.{side}_seller", params=params, clock=clock)
    for hook in ON_DEAL_STRUCK:
        hook(session, deal, clock)
    return deal


def _move(session: Session, actor: Actor, deal: Deal, to: DealState, clock: Clock, reason: str | None = None) -> None:
    src = deal.state
    _check(src, to)
    deal.state = to
    if to in (DealState.COMPLETED, DealState.CANCELLED, DealState.DEFAULTED):
        deal.closed_at = clock.now()
        deal.close_reason = reason
    session.flush()
    record_event(session, actor=actor, action=f"deal.{to.value}", subject_type="deal", subject_ref=deal.ref,
                 before={"state": src}, after={"state": to}, reason=reason, clock=clock)


def _deal_params(deal: Deal) -> dict[str, str]:
    return {"deal": deal.ref, "title": deal.listing.title if deal.listing is not None else deal.asset.title}


def cancel_deal(session: Session, actor: Actor, deal_ref: str, reason: str, *, clock: Clock) -> Deal:
    """Call a deal off: one not yet in force (the seller did not sign), or one whose buyer defaulted
    and that is being offered to the runner-up or relisted. Idempotent.

    ``ON_DEAL_CANCELLED`` runs after the move: settlement releases the buyer's deposit of a deal
    that was cancelled while still struck (a defaulted deal's deposit was already forfeited).
    """
    deal = load_deal(session, deal_ref, for_update=True)
    if deal.state == DealState.CANCELLED:
        return deal
    _move(session, actor, deal, DealState.CANCELLED, clock, clean_text(reason, "reason", max_length=2000,
                                                                         multiline=True))
    for party_id in (deal.buyer_party_id, deal.seller_party_id):
        notify(session, party_id=party_id, topic="deal.cancelled", params=_deal_params(deal), clock=clock)
    for hook in ON_DEAL_CANCELLED:
        hook(session, deal, clock)
    return deal


def mark_in_force(session: Session, actor: Actor, deal_ref: str, *, clock: Clock) -> Deal:
    """The contract has taken effect (both signatures); payment deadlines run from now. Idempotent."""
    deal = load_deal(session, deal_ref, for_update=True)
    if deal.state == DealState.IN_FORCE:
        return deal
    deal.in_force_at = clock.now()
    _move(session, actor, deal, DealState.IN_FORCE, clock)
    for hook in ON_DEAL_IN_FORCE:
        hook(session, deal, clock)
    return deal


def record_default(session: Session, actor: Actor, deal_ref: str, reason: str, *, clock: Clock) -> Deal:
    """The buyer did not sign or pay in time: the deal is defaulted and its deposit forfeited."""
    deal = load_deal(session, deal_ref, for_update=True)
    if deal.state == DealState.DEFAULTED:
        return deal
    _move(session, actor, deal, DealState.DEFAULTED, clock, clean_text(reason, "reason", max_length=2000,
                                                                         multiline=True))
    notify(session, party_id=deal.buyer_party_id, topic="deal.defaulted_buyer", params=_deal_params(deal), clock=clock)
    notify(session, party_id=deal.seller_party_id, topic="deal.defaulted_seller", params=_deal_params(deal),
           clock=clock)
    from auctions.models import AuctionBidder

    if deal.registration_id:
        session.execute(sa.update(AuctionBidder).where(AuctionBidder.registration_id == deal.registration_id)
                        .values(defaulted=True))
    for hook in ON_DEAL_DEFAULTED:
        hook(session, deal, clock)
    return deal


def complete_deal(session: Session, actor: Actor, deal_ref: str, *, clock: Clock) -> Deal:
    """Everything is done: price in, transfer confirmed, seller paid out. Idempotent."""
    deal = load_deal(session, deal_ref, for_update=True)
    if deal.state == DealState.COMPLETED:
        return deal
    _move(session, actor, deal, DealState.COMPLETED, clock)
    for hook in ON_DEAL_COMPLETED:
        hook(session, deal, clock)
    return deal


def deals_of(session: Session, party_id: int) -> list[Deal]:
    return list(session.scalars(sa.select(Deal).where(sa.or_(Deal.buyer_party_id == party_id,
                                                             Deal.seller_party_id == party_id))
                                .order_by(Deal.id.desc())))


def overdue_signature_refs(session: Session, clock: Clock, limit: int = 200) -> list[str]:
    """Struck deals whose signing deadline has passed (the contracts package decides who failed)."""
    return list(session.scalars(sa.select(Deal.ref).where(Deal.state == DealState.STRUCK,
                                                          Deal.sign_by <= clock.now()).order_by(Deal.id).limit(limit)))
