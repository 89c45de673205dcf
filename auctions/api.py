"""JSON routes of the auctions package: live auction state, bids, results, negotiations and deals."""
from __future__ import annotations

import csv
import io
import time

import sqlalchemy as sa
from flask import Response, g

from auctions import service as svc
from auctions.models import Auction, Deal
from auctions.schemas import (
    AuctionStateSchema,
    BidAcceptedSchema,
    BidCreateSchema,
    BidSchema,
    DealSchema,
    NegotiationSchema,
    PriceSchema,
    ReasonSchema,
    ResultSchema,
    ScheduleSchema,
    WaitArgsSchema,
)
from exchange.actors import Actor
from exchange.api_blueprint import ApiBlueprint
from exchange.auth import MEMBERS, PUBLIC, READERS, STAFF, access, current_user, require_user
from exchange.context import get_clock
from exchange.db import get_db, get_session
from exchange.errors import DomainError, NotFoundError, PermissionDeniedError
from exchange.idempotency import HEADER_DOC, idempotent

auctions_api = ApiBlueprint("auctions_api", __name__, url_prefix="/api/v1",
                         description="Auctions, bids, negotiated transfers and deals")


def _party_id() -> int | None:
    u = current_user()
    return u.party_id if u else None


def _is_staff() -> bool:
    u = current_user()
    return u is not None and Actor.of(u).can_read_all


def _state(ref: str) -> dict:
    session = get_session()
    a = svc.close_if_due(session, ref, clock=get_clock())
    return svc.live_state(session, a, _party_id(), get_clock())


@auctions_api.route("/auctions", methods=["GET"])
@access(PUBLIC)
@auctions_api.response(200, AuctionStateSchema(many=True))
def list_auctions():
    """Auctions scheduled, live, and the 50 most recently closed."""
    session = get_session()
    clock = get_clock()
    live = list(session.scalars(sa.select(Auction).where(Auction.state.in_(["scheduled", "open"]))
                                .order_by(Auction.effective_end_at).limit(100)))
    recent = list(session.scalars(sa.select(Auction).where(Auction.state == "closed")
                                  .order_by(Auction.closed_at.desc()).limit(50)))
    return [svc.live_state(session, a, _party_id(), clock) for a in live + recent]


@auctions_api.route("/auctions/<ref>", methods=["GET"])
@access(PUBLIC)
@auctions_api.response(200, AuctionStateSchema)
def get_auction(ref: str):
    """Live state: price, leader's bidder number, bid count, effective end, server time, minimum next bid.
    A due auction is closed first."""
    return _state(ref)


@auctions_api.route("/auctions/<ref>/wait", methods=["GET"])
@access(PUBLIC)
@auctions_api.arguments(WaitArgsSchema, location="query")
@auctions_api.response(200, AuctionStateSchema)
def wait_for_change(args: dict, ref: str):
    """Long poll: answers as soon as the state's ``version`` differs from the one given, or at the timeout."""
    deadline = time.monotonic() + args["timeout"]
    db = get_db()
    # A signed-in caller was identified on the request's session. End that transaction before
    # waiting: held open, it pins a pooled connection per waiting viewer, and on SQLite (where
    # every transaction takes the write lock) it blocks every other request for the whole wait.
    held = g.get("db_session")
    if held is not None:
        held.commit()
    while True:
        with db.session_scope() as s:  # a short transaction per look, never one held open while waiting
            a = svc.close_if_due(s, ref, clock=get_clock())
            state = svc.live_state(s, a, _party_id(), get_clock())
        if state["version"] != args["version"] or time.monotonic() >= deadline:
            return state
        time.sleep(0.5)


@auctions_api.route("/auctions/<ref>/bids", methods=["POST"])
@access(*MEMBERS)
@idempotent()
@auctions_api.arguments(BidCreateSchema)
@auctions_api.response(201, BidAcceptedSchema)
@auctions_api.doc(parameters=[HEADER_DOC])
def place_bid(data: dict, ref: str):
    """Place a bid. Needs an Idempotency-Key: a retry returns the first answer and creates nothing.

    Refusal codes: auction_not_open, auction_closed, bid_too_low, not_increment_multiple, not_qualified,
    already_leading, sealed_bid_exists, invalid_amount."""
    session = get_session()
    try:
        placed = svc.place_bid(session, Actor.of(require_user()), ref, data["amount_fen"], clock=get_clock())
    except DomainError:
        # A refusal ends the transaction anyway; rolling back here frees the auction's row lock for
        # the next bidder before the refusal is rendered, not after.
        session.rollback()
        raise
    # The receipt is serialised once, from the values in hand: it is the answer and, stored by
    # @idempotent, the replay. (BidAcceptedSchema documents it; a test holds the two together.)
    return Response(placed.receipt_json(), status=201, mimetype="application/json")


@auctions_api.route("/auctions/<ref>/bids", methods=["GET"])
@access(PUBLIC)
@auctions_api.response(200, BidSchema(many=True))
def bidding_record(ref: str):
    """The bidding record: bidder numbers, never names. Sealed bids stay hidden until the close."""
    session = get_session()
    a = svc.close_if_due(session, ref, clock=get_clock())
    return svc.bidding_record(session, a, staff=_is_staff(), viewer_party_id=_party_id(), clock=get_clock())


@auctions_api.route("/auctions/<ref>/protocol.csv", methods=["GET"])
@access(*MEMBERS, *READERS)
@auctions_api.response(200, description="CSV (UTF-8 with BOM)")
def protocol(ref: str):
    """The auction protocol: settings, result and every bid (staff and auditors; bidders after the close)."""
    session = get_session()
    a = svc.close_if_due(session, ref, clock=get_clock())
    if not _is_staff():
        if a.state.value != "closed" or svc.bidding.bidder_for(session, a, _party_id()) is None:
            raise PermissionDeniedError("The protocol is for the exchange and, after the close, the bidders.",
                                        code="protocol_not_available")
    buf = io.StringIO()
    buf.write("\ufeff")
    csv.writer(buf).writerows(svc.protocol_rows(session, a))
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{a.ref}-protocol.csv"'})


@auctions_api.route("/auctions/<ref>/close", methods=["POST"])
@access(*STAFF)
@auctions_api.response(200, AuctionStateSchema)
def close(ref: str):
    """Close the auction if its bidding has ended (closing twice changes nothing)."""
    session = get_session()
    a = svc.load_auction(session, ref)
    if not svc.bidding.is_due(a, get_clock()) and a.state.value != "closed":
        from exchange.errors import StateError

        raise StateError("Bidding has not ended yet.", code="auction_not_due")
    return _state(ref)


@auctions_api.route("/auctions/<ref>/publish-result", methods=["POST"])
@access(*STAFF)
@auctions_api.response(200, AuctionStateSchema)
def publish_result(ref: str):
    """Publish the result: the winner's name becomes visible."""
    session = get_session()
    a = svc.publish_result(session, Actor.of(require_user()), ref, clock=get_clock())
    return svc.live_state(session, a, _party_id(), get_clock())


@auctions_api.route("/auctions/<ref>/reschedule", methods=["POST"])
@access(*STAFF)
@auctions_api.arguments(ScheduleSchema)
@auctions_api.response(200, AuctionStateSchema)
def reschedule(data: dict, ref: str):
    """Move an auction that has not started (and set descending or sealed settings)."""
    session = get_session()
    a = svc.reschedule_auction(session, Actor.of(require_user()), ref, svc.Schedule(**data), clock=get_clock())
    return svc.live_state(session, a, _party_id(), get_clock())


@auctions_api.route("/bids/mine", methods=["GET"])
@access(*MEMBERS)
@auctions_api.response(200, BidSchema(many=True))
def my_bids():
    """Your party's bids."""
    return svc.bids_of(get_session(), require_user().party_id)


# -- negotiations ---------------------------------------------------------------------------
def _negotiation_for(ref: str):  # type: ignore[no-untyped-def]
    n = svc.load_negotiation(get_session(), ref)
    u = require_user()
    if not Actor.of(u).can_read_all and u.party_id not in (n.registration.buyer_party_id, n.listing.seller_party_id):
        raise NotFoundError(f"No negotiation {ref}.", code="negotiation_not_found")
    return n


@auctions_api.route("/negotiations/<ref>", methods=["GET"])
@access(*MEMBERS, *READERS)
@auctions_api.response(200, NegotiationSchema)
def get_negotiation(ref: str):
    """A negotiated transfer (buyer, seller, staff)."""
    return _negotiation_for(ref)


@auctions_api.route("/listings/<ref>/negotiation", methods=["GET"])
@access(*MEMBERS, *READERS)
@auctions_api.response(200, NegotiationSchema)
def listing_negotiation(ref: str):
    """The negotiated transfer of a listing."""
    from auctions.models import Negotiation
    from listings.service.common import load_listing

    listing = load_listing(get_session(), ref)
    n = get_session().scalar(sa.select(Negotiation).where(Negotiation.listing_id == listing.id))
    if n is None:
        raise NotFoundError("This listing has no negotiation.", code="negotiation_not_found")
    return _negotiation_for(n.ref)


@auctions_api.route("/negotiations/<ref>/confirm", methods=["POST"])
@access(*MEMBERS)
@auctions_api.arguments(PriceSchema)
@auctions_api.response(200, NegotiationSchema)
def confirm(data: dict, ref: str):
    """The buyer confirms a price no lower than the listing price."""
    return svc.confirm_price(get_session(), Actor.of(require_user()), ref, data["price_fen"], clock=get_clock())


@auctions_api.route("/negotiations/<ref>/result", methods=["POST"])
@access(*STAFF)
@auctions_api.arguments(ResultSchema)
@auctions_api.response(200, NegotiationSchema)
def result(data: dict, ref: str):
    """The operator records the outcome (a deal at the confirmed price, or failure)."""
    return svc.record_result(get_session(), Actor.of(require_user()), ref, concluded=data["concluded"],
                             note=data["note"], clock=get_clock())


# -- deals ----------------------------------------------------------------------------------
@auctions_api.route("/deals", methods=["GET"])
@access(*MEMBERS, *READERS)
@auctions_api.response(200, DealSchema(many=True))
def list_deals():
    """Your party's deals; all deals for staff and auditors (latest 500)."""
    session = get_session()
    u = require_user()
    if Actor.of(u).can_read_all:
        return list(session.scalars(sa.select(Deal).order_by(Deal.id.desc()).limit(500)))
    return svc.deals.deals_of(session, u.party_id)


@auctions_api.route("/deals/<ref>", methods=["GET"])
@access(*MEMBERS, *READERS)
@auctions_api.response(200, DealSchema)
def get_deal(ref: str):
    """A deal (its buyer, its seller, staff and auditors)."""
    return svc.deals.visible_deal(Actor.of(require_user()), svc.deals.load_deal(get_session(), ref))


@auctions_api.route("/deals/<ref>/in-force", methods=["POST"])
@access(*STAFF)
@auctions_api.response(200, DealSchema)
def in_force(ref: str):
    """Record that the contract has taken effect (the operator's step where no e-signature is used);
    payment deadlines run from now."""
    return svc.deals.mark_in_force(get_session(), Actor.of(require_user()), ref, clock=get_clock())


@auctions_api.route("/deals/<ref>/default", methods=["POST"])
@access(*STAFF)
@auctions_api.arguments(ReasonSchema)
@auctions_api.response(200, DealSchema)
def default(data: dict, ref: str):
    """Record the winner's default (did not sign or pay in time); its deposit is forfeited."""
    return svc.deals.record_default(get_session(), Actor.of(require_user()), ref, data["reason"], clock=get_clock())


@auctions_api.route("/deals/<ref>/offer-runner-up", methods=["POST"])
@access(*STAFF)
@auctions_api.response(201, DealSchema)
def offer_runner_up(ref: str):
    """After a default, give the deal to the runner-up at its last bid."""
    return svc.offer_to_runner_up(get_session(), Actor.of(require_user()), ref, clock=get_clock())


@auctions_api.route("/deals/<ref>/relist", methods=["POST"])
@access(*STAFF)
@auctions_api.arguments(ReasonSchema)
@auctions_api.response(200, DealSchema)
def relist(data: dict, ref: str):
    """After a default, send the listing back to unsold for relisting."""
    session = get_session()
    svc.relist_after_default(session, Actor.of(require_user()), ref, data["reason"], clock=get_clock())
    return svc.deals.load_deal(session, ref)
