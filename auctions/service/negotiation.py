"""Negotiated transfer (协议转让) with the one qualified buyer, and the winner-default path."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.clock import Clock
from exchange.errors import NotFoundError, PermissionDeniedError, RuleViolationError, StateError
from exchange.notifications import money, notify
from exchange.refs import next_reference
from exchange.text import clean_text
from auctions import domain as ad
from auctions.models import Auction, AuctionBidder, Bid, Deal, DealMethod, DealState, Negotiation, NegotiationState
from auctions.service import deals
from auctions.service.bidding import _listing_to, _records
from listings import domain as ld
from listings.models import Listing


def load_negotiation(session: Session, ref: str, *, for_update: bool = False) -> Negotiation:
    stmt = sa.select(Negotiation).where(Negotiation.ref == ref)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    n = session.scalar(stmt)
    if n is None:
        raise NotFoundError(f"No negotiation {ref}.", code="negotiation_not_found")
    return n


def open_negotiation(session: Session, actor: Actor, listing: Listing, *, clock: Clock) -> Negotiation:
    """Start the negotiated transfer for a listing that ended publicity with exactly one qualified buyer."""
    existing = session.scalar(sa.select(Negotiation).where(Negotiation.listing_id == listing.id))
    if existing is not None:
        return existing
    if listing.state != ld.ListingState.AWAITING_NEGOTIATION:
        raise StateError("Only a listing awaiting negotiation is negotiated.", code="invalid_transition")
    qualified = [r for r in listing.registrations if r.state == ld.RegistrationState.QUALIFIED]
    if len(qualified) != 1:
        raise StateError("A negotiated transfer needs exactly one qualified buyer.", code="not_one_buyer")
    now = clock.now()
    n = Negotiation(ref=next_reference(session, "N", now.year), listing_id=listing.id,
                    registration_id=qualified[0].id, state=NegotiationState.OPEN, created_at=now)
    session.add(n)
    session.flush()
    notify(session, party_id=qualified[0].buyer_party_id, topic="negotiation.invited", clock=clock,
           params={"negotiation": n.ref, "title": listing.title, "price": money(listing.price_fen)})
    record_event(session, actor=actor, action="negotiation.opened", subject_type="negotiation", subject_ref=n.ref,
                 after={"listing": listing.ref, "registration": qualified[0].ref}, clock=clock)
    return n


def confirm_price(session: Session, actor: Actor, ref: str, price_fen: int, *, clock: Clock) -> Negotiation:
    """The buyer confirms a price no lower than the listing price."""
    n = load_negotiation(session, ref, for_update=True)
    if actor.party_id != n.registration.buyer_party_id:
        raise PermissionDeniedError("Only the qualified buyer confirms the price.", code="not_the_buyer")
    if n.state not in (NegotiationState.OPEN, NegotiationState.BUYER_CONFIRMED):
        raise StateError("This negotiation is over.", code="negotiation_closed")
    if isinstance(price_fen, bool) or not isinstance(price_fen, int) or price_fen < n.listing.price_fen:
        raise RuleViolationError("The price may not be below the listing price.", code="bid_too_low",
                                 field="price_fen", details={"min_price_fen": n.listing.price_fen})
    n.price_fen = price_fen
    n.state = NegotiationState.BUYER_CONFIRMED
    n.buyer_confirmed_at = clock.now()
    session.flush()
    record_event(session, actor=actor, action="negotiation.buyer_confirmed", subject_type="negotiation",
                 subject_ref=n.ref, after={"price_fen": price_fen}, clock=clock)
    return n


def record_result(session: Session, actor: Actor, ref: str, *, concluded: bool, note: str,
                  clock: Clock) -> Negotiation:
    """The operator records the outcome: a deal at the confirmed price, or failure (listing unsold)."""
    n = load_negotiation(session, ref, for_update=True)
    if n.state in (NegotiationState.CONCLUDED, NegotiationState.FAILED):
        raise StateError("The result is already recorded.", code="negotiation_closed")
    note = clean_text(note, "note", max_length=2000, multiline=True, min_length=0 if concluded else 1)
    if concluded and n.state != NegotiationState.BUYER_CONFIRMED:
        raise StateError("The buyer has not confirmed a price.", code="price_not_confirmed")
    listing = n.listing
    n.state = NegotiationState.CONCLUDED if concluded else NegotiationState.FAILED
    n.concluded_at, n.note = clock.now(), note
    session.flush()
    record_event(session, actor=actor, action=f"negotiation.{n.state.value}", subject_type="negotiation",
                 subject_ref=n.ref, after={"price_fen": n.price_fen}, reason=note or None, clock=clock)
    if concluded:
        _listing_to(session, actor, listing, ld.ListingState.SOLD, clock, "negotiated transfer")
        deals.strike_deal(session, method=DealMethod.NEGOTIATION, asset=listing.asset,
                          seller_party_id=listing.seller_party_id, buyer_party_id=n.registration.buyer_party_id,
                          mode=listing.mode, price_fen=n.price_fen, clock=clock, actor=actor, listing=listing,
                          registration=n.registration, negotiation_id=n.id)
    else:
        _listing_to(session, actor, listing, ld.ListingState.UNSOLD, clock, "negotiation failed")
    return n


def offer_to_runner_up(session: Session, actor: Actor, deal_ref: str, *, clock: Clock) -> Deal:
    """After the winner defaulted, give the deal to the runner-up at its last bid."""
    old = deals.load_deal(session, deal_ref, for_update=True)
    if old.state != DealState.DEFAULTED:
        raise StateError("Only a defaulted deal is offered to the runner-up.", code="deal_not_defaulted")
    if old.auction_id is None:
        raise StateError("Only auction deals have a runner-up.", code="no_runner_up")
    a = session.get(Auction, old.auction_id)
    defaulted = {b.bidder_no for b in a.bidders if b.defaulted}
    records = [r for r in _records(session, a) if r.bidder_no not in defaulted]
    best = ad.winner(records)
    if best is None:
        raise RuleViolationError("No other bidder made a bid.", code="no_runner_up")
    runner = session.scalar(sa.select(AuctionBidder).where(AuctionBidder.auction_id == a.id,
                                                           AuctionBidder.bidder_no == best.bidder_no))
    deals.cancel_deal(session, actor, old.ref, "offered to the runner-up", clock=clock)
    listing = a.listing
    return deals.strike_deal(session, method=DealMethod.AUCTION, asset=listing.asset,
                             seller_party_id=listing.seller_party_id, buyer_party_id=runner.party_id,
                             mode=listing.mode, price_fen=best.amount, clock=clock, actor=actor, listing=listing,
                             registration=runner.registration, auction_id=a.id, replaces=old,
                             terms={"runner_up": True})


def relist_after_default(session: Session, actor: Actor, deal_ref: str, reason: str, *, clock: Clock) -> Listing:
    """After the winner defaulted, send the listing back to unsold so the seller can relist."""
    old = deals.load_deal(session, deal_ref, for_update=True)
    if old.state != DealState.DEFAULTED or old.listing_id is None:
        raise StateError("Only a defaulted listing deal goes back to relisting.", code="deal_not_defaulted")
    deals.cancel_deal(session, actor, old.ref, reason, clock=clock)
    listing = old.listing
    _listing_to(session, actor, listing, ld.ListingState.UNSOLD, clock, "winner defaulted; relisting")
    return listing


def call_off_for_seller_default(session: Session, actor: Actor, deal_ref: str, reason: str, *,
                                clock: Clock) -> Deal:
    """The seller did not sign: the deal is called off and the listing it sold ends (终结).

    Neither the runner-up nor a relisting can rescue a trade the seller will not sign, so the
    listing is not sent back to unsold; the seller may list the asset afresh. A deal without a
    listing, or an open-licence taking (its listing stays open for others), leaves listings alone.
    Idempotent.
    """
    deal = deals.load_deal(session, deal_ref, for_update=True)
    if deal.state == DealState.CANCELLED:
        return deal  # already called off (perhaps to offer the listing to a runner-up): nothing to end
    if deal.state != DealState.STRUCK:
        raise StateError("Only a deal not yet in force is called off for the seller's default.",
                         code="deal_not_struck", details={"state": deal.state.value})
    deals.cancel_deal(session, actor, deal_ref, reason, clock=clock)
    listing = deal.listing
    if listing is not None and listing.state == ld.ListingState.SOLD:
        _listing_to(session, actor, listing, ld.ListingState.TERMINATED, clock, reason)
    return deal


def bids_of(session: Session, party_id: int) -> list[Bid]:
    return list(session.scalars(sa.select(Bid).join(AuctionBidder, AuctionBidder.id == Bid.bidder_id)
                                .where(AuctionBidder.party_id == party_id).order_by(Bid.id.desc()).limit(200)))
