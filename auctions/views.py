"""Auction pages: the auction room, the list of auctions, a bidder's bids and deals, the
negotiated transfer, and the operator's auction monitor (in ``auctions.operator_views``).

Every page works without JavaScript: bids are ordinary form posts (CSRF-protected,
post/redirect/get). With JavaScript, ``static/auction-room.js`` long-polls the JSON
API and keeps price, leader, count, record and countdown current; the countdown runs
from the server's time, never from the browser's clock.

A double submission of the bid form (double click, reload after a lost answer) must not
become a second bid or an error. Each rendered form carries a one-time ``form_token``;
an accepted bid stores it as an ``IdempotencyRecord`` (the platform's table for replayed
requests, keyed by user and key) in the same transaction as the bid. A second post of
the same token is answered "already placed" and creates nothing. When two posts of one
token race, the second waits on the auction's row lock, is refused by the bid rules,
and then finds the first one's record and is answered the same way.
"""
from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, send_from_directory, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from auctions import domain as ad
from auctions import service as svc
from auctions.forms import AcceptForm, BidForm, PriceForm, ResultForm
from auctions.models import Auction, AuctionBidder, Bid, Deal, Negotiation, NegotiationState
from exchange.actors import Actor
from exchange.auth import MEMBERS, PUBLIC, READERS, STAFF, access, current_user, require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import ConflictError, DomainError, NotFoundError, ValidationError
from exchange.http import refusal_text
from exchange.models import IdempotencyRecord, Role
from exchange.money import Money
from exchange.views import HOME_SECTIONS, NAV, NavItem
from listings.models import BuyerRegistration, Listing

STATIC_DIR = Path(__file__).resolve().parent / "static"

auctions_web = Blueprint("auctions_web", __name__, template_folder="templates")

# -- labels ------------------------------------------------------------------------------------
LABELS: dict[str, dict[str, Any]] = {
    "format": {"ascending": _l("Ascending online bidding"), "sealed": _l("One-shot sealed bid"),
               "descending": _l("Descending price")},
    "state": {"scheduled": _l("Scheduled"), "open": _l("Open"), "closed": _l("Closed"),
              "cancelled": _l("Cancelled")},
    "phase": {"not_started": _l("Not started"), "free": _l("Free bidding period"),
              "limited": _l("Limited-time period"), "sealed": _l("Taking sealed bids"),
              "descending": _l("Price stepping down"), "ended": _l("Bidding ended")},
    "deal": {"struck": _l("Struck, awaiting signatures"), "in_force": _l("In force"),
             "completed": _l("Completed"), "defaulted": _l("Defaulted"), "cancelled": _l("Cancelled")},
    "method": {"auction": _l("Auction"), "negotiation": _l("Negotiated transfer"),
               "open_licence": _l("Open licence")},
    "mode": {"assignment": _l("Assignment"), "exclusive_licence": _l("Exclusive licence"),
             "sole_licence": _l("Sole licence"), "ordinary_licence": _l("Ordinary licence"),
             "open_licence": _l("Open licence"), "capital_contribution": _l("Capital contribution")},
    "negotiation": {"open": _l("Waiting for the buyer's price"), "buyer_confirmed": _l("Buyer confirmed a price"),
                    "concluded": _l("Concluded"), "failed": _l("Failed")},
}
BADGE = {"open": "ok", "free": "ok", "limited": "warn", "sealed": "ok", "descending": "warn", "closed": "",
         "ended": "", "struck": "warn", "in_force": "ok", "completed": "ok", "defaulted": "bad", "cancelled": "",
         "buyer_confirmed": "warn", "concluded": "ok", "failed": "bad"}


@auctions_web.app_template_global()
def auctions_label(kind: str, value: Any) -> str:
    """The translated label of an enum value (format, state, phase, deal, method, mode, negotiation)."""
    key = getattr(value, "value", value)
    label = LABELS.get(kind, {}).get(key)
    return str(label) if label is not None else str(key or "")


@auctions_web.app_template_global()
def auctions_badge(value: Any) -> str:
    return BADGE.get(getattr(value, "value", value), "")


@auctions_web.app_template_global()
def auctions_countdown(seconds: float | None) -> str:
    """Time left as HH:MM:SS (with days when longer); the script keeps it running."""
    if seconds is None:
        return ""
    total = max(0, math.ceil(seconds))
    days, rest = divmod(total, 86_400)
    hms = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return _("%(days)s d %(time)s", days=days, time=hms) if days else hms


# -- helpers -------------------------------------------------------------------------------------
def yuan_text(fen: int | None) -> str:
    """Fen as a plain yuan amount for an input field: 1030000 or 1030000.50."""
    if fen is None:
        return ""
    whole, frac = divmod(fen, 100)
    return f"{whole}" if frac == 0 else f"{whole}.{frac:02d}"


def parse_yuan(text: str | None, field: str) -> int:
    """A yuan amount typed by a person, exactly in fen (never through a float)."""
    try:
        fen = Money.parse(text or "", "CNY").fen
    except ValidationError as err:
        err.field = field
        raise
    if fen <= 0:
        raise ValidationError("Enter an amount above zero.", code="amount_not_positive", field=field)
    return fen


# Service field names that a form calls differently.
FIELD_ALIASES = {"price_fen": "price", "amount_fen": "amount", "sealed_closes_at": "sealed_minutes",
                 "free_period_ends_at": "starts_at", "hard_end_at": "starts_at", "step_down_fen": "step_down",
                 "floor_price_fen": "floor_price"}
# Refusals whose service message carries the input or English state and format names (not a fixed msgid):
# said in our words.
CODE_MESSAGES = {
    "amount_too_large": _l("The amount is too large."),
    "currency_mismatch": _l("Amounts are in yuan (CNY)."),
    "invalid_auction_transition": _l("Not possible in the auction's current state."),
    "wrong_auction_format": _l("This auction's bidding method does not allow this."),
}


def error_message(err: DomainError) -> str:
    """The refusal in the reader's language, with the figures that help correct it."""
    text = refusal_text(err, CODE_MESSAGES)
    d = err.details or {}
    hint = None
    if err.code == "bid_too_low" and isinstance(d.get("min_bid"), int):
        hint = _("The lowest acceptable bid is %(amount)s.", amount=Money(d["min_bid"]).format())
    elif err.code == "bid_too_low" and isinstance(d.get("min_price_fen"), int):
        hint = _("The lowest acceptable price is %(amount)s.", amount=Money(d["min_price_fen"]).format())
    elif err.code == "not_increment_multiple" and isinstance(d.get("increment"), int):
        hint = _("Bids rise from %(base)s in steps of %(step)s.", base=Money(d["base"]).format(),
                 step=Money(d["increment"]).format())
    if hint:
        text += hint if text.endswith("。") else " " + hint  # Chinese sentences need no space between them
    return text


def show_error(form, err: DomainError) -> None:  # type: ignore[no-untyped-def]
    """Put a refusal beside the field it concerns, or above the form."""
    name = FIELD_ALIASES.get(err.field or "", err.field)
    field = getattr(form, name, None) if name else None
    if field is not None and name not in ("csrf_token", "form_token"):
        field.errors = list(field.errors) + [error_message(err)]
    else:
        form.form_errors.append(error_message(err))


def is_reader(user) -> bool:  # type: ignore[no-untyped-def]
    return user is not None and Actor.of(user).can_read_all


def listing_url(listing_ref: str) -> str:
    """The listing's public page (served by the listings package)."""
    return f"/listings/{listing_ref}"


# Other packages may add links to a deal row: fn(deal) -> (label, url) or None.
DEAL_LINKS: list[Callable[[Deal], tuple[str, str] | None]] = []


def deal_links(deal: Deal) -> list[tuple[str, str]]:
    links: list[tuple[str, str]] = []
    if deal.listing is not None:
        links.append((_("Listing"), listing_url(deal.listing.ref)))
    if deal.auction_id is not None:
        a = get_session().get(Auction, deal.auction_id)
        if a is not None:
            links.append((_("Auction room"), url_for("auctions_web.room", ref=a.ref)))
    if deal.negotiation_id is not None:
        n = get_session().get(Negotiation, deal.negotiation_id)
        if n is not None:
            links.append((_("Negotiation"), url_for("auctions_web.negotiation", ref=n.ref)))
    for fn in DEAL_LINKS:
        link = fn(deal)
        if link is not None:
            links.append(link)
    return links


def js_config(**extra: Any) -> dict[str, Any]:
    """Labels the page script needs, in the reader's language (read from a JSON data block)."""
    labels = {"no_bid": _("No bid yet"), "hidden": _("Hidden until the close"), "you_lead": _("You lead"),
              "not_lead": _("You do not lead"), "starts_in": _("Starts in"), "time_left": _("Time left"),
              "ended": _("Bidding ended"), "days": _("%(days)s d %(time)s", days="{days}", time="{time}"),
              "none": "—", "phase": {k: str(v) for k, v in LABELS["phase"].items()}}
    return {"labels": labels, **extra}


def state_json(state: dict[str, Any]) -> dict[str, Any]:
    """The live state as the JSON API gives it, for the page script's first look."""
    from auctions.schemas import AuctionStateSchema

    return AuctionStateSchema().dump(state)


@auctions_web.get("/static/auctions/<path:filename>", endpoint="static")
@access(PUBLIC)
def static_file(filename: str):
    """The package's scripts and styles (CSP allows only same-origin files)."""
    return send_from_directory(STATIC_DIR, filename, max_age=300)


# -- the auction room ------------------------------------------------------------------------------
def page_phase(a: Auction, state: dict[str, Any]) -> str:
    """Where the auction stands for the page: not_started, free, limited, sealed, descending, ended."""
    now = state["server_time"]
    if state["state"] in ("closed", "cancelled") or now >= a.effective_end_at:
        return "ended"
    if now < a.starts_at:
        return "not_started"
    if a.format == ad.AuctionFormat.ASCENDING:
        return state["phase"] or "free"
    return a.format.value


def room_context(ref: str, form: BidForm | None = None, accept_form: AcceptForm | None = None) -> dict[str, Any]:
    session, clock = get_session(), get_clock()
    a = svc.close_if_due(session, ref, clock=clock)
    user = current_user()
    party_id = user.party_id if user else None
    state = svc.live_state(session, a, party_id, clock)
    phase = page_phase(a, state)
    me = svc.bidding.bidder_for(session, a, party_id)
    record = svc.bidding_record(session, a, staff=is_reader(user), viewer_party_id=party_id, clock=clock)
    my_bids = []
    if me is not None:
        my_bids = list(session.scalars(sa.select(Bid).where(Bid.auction_id == a.id, Bid.bidder_id == me.id)
                                       .order_by(Bid.seq)))
    accepting = phase not in ("not_started", "ended")
    no_form_reason = None
    if user is None:
        no_form_reason = "sign_in"
    elif user.role != Role.member:
        no_form_reason = "staff"
    elif me is None:
        no_form_reason = "not_bidder"
    elif me.defaulted:
        no_form_reason = "defaulted"
    elif a.format == ad.AuctionFormat.SEALED and my_bids:
        no_form_reason = "sealed_done"
    can_bid = accepting and no_form_reason is None
    token = uuid.uuid4().hex
    if form is None:
        form = BidForm(formdata=None, amount=yuan_text(state["min_next_bid_fen"]))
    form.form_token.data = token
    if accept_form is None:
        accept_form = AcceptForm(formdata=None)
    accept_form.form_token.data = token
    seconds_to_start = max(0.0, (a.starts_at - state["server_time"]).total_seconds())
    config = js_config(state=state_json(state), phase=phase,
                       poll_timeout=5 if a.format == ad.AuctionFormat.DESCENDING else 25)
    return {"config": config, "a": a, "s": state, "phase": phase, "me": me, "my_bids": my_bids, "record": record,
            "record_visible": bool(record) or is_reader(user) or me is not None or state["state"] == "closed",
            "form": form, "accept_form": accept_form, "can_bid": can_bid, "accepting": accepting,
            "no_form_reason": no_form_reason, "seconds_to_start": seconds_to_start,
            "listing_url": listing_url(a.listing.ref), "staff": user is not None and user.role in STAFF,
            "reader": is_reader(user),
            "sealed_hidden": a.format == ad.AuctionFormat.SEALED and state["state"] != "closed"}


def render_room(ref: str, status: int = 200, **kw: Any):  # type: ignore[no-untyped-def]
    return render_template("auctions/room.html", **room_context(ref, **kw)), status


@auctions_web.get("/auctions/<ref>")
@access(PUBLIC)
def room(ref: str):
    """The auction room: live price, leader's bidder number, countdown, record and the bid form."""
    return render_room(ref)


def _submission(user_id: int, key: str) -> IdempotencyRecord | None:
    return get_session().scalar(sa.select(IdempotencyRecord).where(IdempotencyRecord.user_id == user_id,
                                                                   IdempotencyRecord.key == key))


def _already(record: IdempotencyRecord, digest: str, ref: str, form: Any, accept: bool):  # type: ignore[no-untyped-def]
    """Answer a second post of one form: the same bid is 'already placed'; another amount is refused."""
    if record.request_hash == digest:
        placed = json.loads(record.response_body)
        flash(_("This bid of %(amount)s was already placed (no. %(seq)s); it was not placed twice.",
                amount=Money(placed["amount_fen"]).format(), seq=placed["seq"]), "ok")
        return redirect(url_for("auctions_web.room", ref=ref), 303)
    get_session().rollback()
    show_error(form, ConflictError("This form was already used for a bid; check the amount and send it again.",
                                   code="form_used"))
    return render_room(ref, 409, **({"accept_form": form} if accept else {"form": form}))


@auctions_web.post("/auctions/<ref>/bid")
@access(*MEMBERS)
def bid(ref: str):
    """Place a bid from the room's form (accept the current price in a descending auction)."""
    session, clock = get_session(), get_clock()
    user = require_user()
    a = svc.load_auction(session, ref)
    accept = a.format == ad.AuctionFormat.DESCENDING
    form: Any = AcceptForm() if accept else BidForm()
    kw = {"accept_form": form} if accept else {"form": form}
    if not form.validate_on_submit():
        if form.form_token.errors:
            form.form_errors.append(_("The form expired; please try again."))
        return render_room(ref, 422, **kw)
    key = "web-bid:" + form.form_token.data
    try:
        amount = 0 if accept else parse_yuan(form.amount.data, "amount")
    except ValidationError as err:
        show_error(form, err)
        return render_room(ref, 422, **kw)
    digest = hashlib.sha256(f"{ref}:{'accept' if accept else amount}".encode()).hexdigest()
    earlier = _submission(user.id, key)
    if earlier is not None:
        return _already(earlier, digest, ref, form, accept)
    try:
        placed = svc.place_bid(session, Actor.of(user), ref, amount, clock=clock)
    except DomainError as err:
        session.rollback()
        earlier = _submission(user.id, key)  # a twin post of this form won the race
        if earlier is not None:
            return _already(earlier, digest, ref, form, accept)
        show_error(form, err)
        return render_room(ref, err.status, **kw)
    session.add(IdempotencyRecord(user_id=user.id, key=key, endpoint="auctions_web.bid", request_hash=digest,
                                  status_code=303, created_at=clock.now(),
                                  response_body=json.dumps({"seq": placed.seq, "amount_fen": placed.amount_fen})))
    session.flush()
    money = Money(placed.amount_fen).format()
    if a.format == ad.AuctionFormat.SEALED:
        flash(_("Your sealed bid of %(amount)s is in. It stays hidden until the close.", amount=money), "ok")
    elif accept:
        flash(_("You accepted the price of %(amount)s. The auction is closed.", amount=money), "ok")
    else:
        flash(_("Your bid of %(amount)s is in (no. %(seq)s). You lead.", amount=money, seq=placed.seq), "ok")
    return redirect(url_for("auctions_web.room", ref=ref), 303)


# -- lists ---------------------------------------------------------------------------------------------
def _states(auctions: list[Auction], user) -> list[tuple[Auction, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    session, clock = get_session(), get_clock()
    party_id = user.party_id if user else None
    return [(a, svc.live_state(session, a, party_id, clock)) for a in auctions]


@auctions_web.get("/auctions")
@access(PUBLIC)
def auction_list():
    """Auctions live now, scheduled, and recently closed."""
    session, now = get_session(), get_clock().now()
    running = list(session.scalars(sa.select(Auction).where(Auction.state.in_(["scheduled", "open"]))
                                   .order_by(Auction.effective_end_at).limit(100)))
    live = [a for a in running if a.starts_at <= now]
    upcoming = sorted((a for a in running if a.starts_at > now), key=lambda a: a.starts_at)
    closed = list(session.scalars(sa.select(Auction).where(Auction.state == "closed")
                                  .order_by(Auction.closed_at.desc()).limit(20)))
    user = current_user()
    return render_template("auctions/list.html", live=_states(live, user), upcoming=_states(upcoming, user),
                           closed=_states(closed, user), config=js_config(server_time=now.isoformat()))


def _home_live() -> tuple[str, dict[str, Any]]:
    session, now = get_session(), get_clock().now()
    live = list(session.scalars(sa.select(Auction).where(Auction.state.in_(["scheduled", "open"]),
                                                         Auction.starts_at <= now, Auction.effective_end_at > now)
                                .order_by(Auction.effective_end_at).limit(6)))
    return "auctions/_home_live.html", {"home_live": _states(live, current_user())}


def _home_deals() -> tuple[str, dict[str, Any]]:
    deals = list(get_session().scalars(sa.select(Deal).where(Deal.state.in_(["struck", "in_force", "completed"]))
                                       .order_by(Deal.struck_at.desc(), Deal.id.desc()).limit(8)))
    return "auctions/_home_deals.html", {"home_deals": deals}


# -- a member's bids and deals ---------------------------------------------------------------------------
def _bid_status(a: Auction, state: dict[str, Any], me: AuctionBidder, best: Bid | None) -> str:
    if me.defaulted:
        return "defaulted"
    if state["state"] == "closed":
        if a.unsold or not a.winner_bidder_no:
            return "unsold"
        return "won" if a.winner_bidder_no == me.bidder_no else "not_won"
    if best is None:
        return "no_bid"
    if a.format == ad.AuctionFormat.SEALED:
        return "sealed_in"
    return "leading" if state["you_lead"] else "outbid"


BID_STATUS = {"defaulted": (_l("Defaulted"), "bad"), "unsold": (_l("Unsold"), ""), "won": (_l("Won"), "ok"),
              "not_won": (_l("Not won"), ""), "no_bid": (_l("No bid yet"), ""),
              "sealed_in": (_l("Sealed bid submitted"), "ok"), "leading": (_l("You lead"), "ok"),
              "outbid": (_l("Outbid"), "warn")}


@auctions_web.get("/my/bids")
@access(*MEMBERS)
def my_bids():
    """The auctions you are admitted to, where you stand, and every bid you placed."""
    session, clock = get_session(), get_clock()
    user = require_user()
    seats = list(session.scalars(sa.select(AuctionBidder).where(AuctionBidder.party_id == user.party_id)
                                 .order_by(AuctionBidder.id.desc()).limit(200)))
    bids = svc.bids_of(session, user.party_id)
    by_bidder: dict[int, list[Bid]] = {}
    for b in bids:
        by_bidder.setdefault(b.bidder_id, []).append(b)
    rows = []
    for seat in seats:
        a = seat.auction
        state = svc.live_state(session, a, user.party_id, clock)
        mine = by_bidder.get(seat.id, [])
        best = max(mine, key=lambda b: (b.amount_fen, -b.seq), default=None)
        status = _bid_status(a, state, seat, best)
        rows.append({"a": a, "s": state, "seat": seat, "best": best, "count": len(mine),
                     "status": BID_STATUS[status], "status_key": status})
    auctions_by_id = {seat.auction_id: seat.auction for seat in seats}
    return render_template("auctions/my_bids.html", rows=rows, bids=bids, auctions_by_id=auctions_by_id)


@auctions_web.get("/my/deals")
@access(*MEMBERS)
def my_deals():
    """Your deals as buyer or seller, with their signing deadline, and your negotiated transfers."""
    session = get_session()
    user = require_user()
    deals = svc.deals.deals_of(session, user.party_id)
    negotiations = list(session.scalars(
        sa.select(Negotiation).join(BuyerRegistration, BuyerRegistration.id == Negotiation.registration_id)
        .join(Listing, Listing.id == Negotiation.listing_id)
        .where(sa.or_(BuyerRegistration.buyer_party_id == user.party_id, Listing.seller_party_id == user.party_id))
        .order_by(Negotiation.id.desc()).limit(200)))
    return render_template("auctions/my_deals.html", deals=deals, negotiations=negotiations,
                           party_id=user.party_id, deal_links=deal_links, now=get_clock().now())


# -- negotiated transfer ----------------------------------------------------------------------------------
def _visible_negotiation(ref: str) -> Negotiation:
    n = svc.load_negotiation(get_session(), ref)
    user = require_user()
    if not is_reader(user) and user.party_id not in (n.registration.buyer_party_id, n.listing.seller_party_id):
        raise NotFoundError(f"No negotiation {ref}.", code="negotiation_not_found")
    return n


def render_negotiation(ref: str, status: int = 200, price_form: PriceForm | None = None,
                       result_form: ResultForm | None = None):  # type: ignore[no-untyped-def]
    n = _visible_negotiation(ref)
    user = require_user()
    is_buyer = user.party_id == n.registration.buyer_party_id and user.role == Role.member
    live = n.state in (NegotiationState.OPEN, NegotiationState.BUYER_CONFIRMED)
    if price_form is None:
        price_form = PriceForm(formdata=None, price=yuan_text(n.price_fen or n.listing.price_fen))
    if result_form is None:
        result_form = ResultForm(formdata=None)
    deal = get_session().scalar(sa.select(Deal).where(Deal.negotiation_id == n.id).order_by(Deal.id.desc()))
    return render_template("auctions/negotiation.html", n=n, deal=deal, price_form=price_form,
                           result_form=result_form, can_confirm=is_buyer and live,
                           can_record=live and user.role in STAFF, listing_url=listing_url(n.listing.ref),
                           deal_links=deal_links), status


@auctions_web.get("/negotiations/<ref>")
@access(*MEMBERS, *READERS)
def negotiation(ref: str):
    """A negotiated transfer (协议转让): the buyer confirms a price, the operator records the result."""
    return render_negotiation(ref)


@auctions_web.post("/negotiations/<ref>/confirm")
@access(*MEMBERS)
def negotiation_confirm(ref: str):
    form = PriceForm()
    _visible_negotiation(ref)
    if not form.validate_on_submit():
        return render_negotiation(ref, 422, price_form=form)
    try:
        price = parse_yuan(form.price.data, "price")
        svc.confirm_price(get_session(), Actor.of(require_user()), ref, price, clock=get_clock())
    except DomainError as err:
        get_session().rollback()
        show_error(form, err)
        return render_negotiation(ref, err.status, price_form=form)
    flash(_("You confirmed the price of %(amount)s. The exchange will record the result.",
            amount=Money(price).format()), "ok")
    return redirect(url_for("auctions_web.negotiation", ref=ref), 303)


@auctions_web.post("/negotiations/<ref>/result")
@access(*STAFF)
def negotiation_result(ref: str):
    form = ResultForm()
    if not form.validate_on_submit():
        return render_negotiation(ref, 422, result_form=form)
    try:
        n = svc.record_result(get_session(), Actor.of(require_user()), ref, concluded=form.outcome.data == "concluded",
                              note=form.note.data or "", clock=get_clock())
    except DomainError as err:
        get_session().rollback()
        show_error(form, err)
        return render_negotiation(ref, err.status, result_form=form)
    flash(_("Result recorded: %(state)s.", state=auctions_label("negotiation", n.state)), "ok")
    return redirect(url_for("auctions_web.negotiation", ref=ref), 303)


# -- registration with the platform --------------------------------------------------------------------
def _register() -> None:
    items = [NavItem("auctions_web.auction_list", _l("Auctions"), None, 20),
             NavItem("auctions_web.my_bids", _l("My bids"), (Role.member.value,), 40),
             NavItem("auctions_web.my_deals", _l("My deals"), (Role.member.value,), 41),
             NavItem("auctions_web.monitor", _l("Auction monitor"), (Role.operator.value, Role.admin.value), 70)]
    known = {i.endpoint for i in NAV}
    NAV.extend(i for i in items if i.endpoint not in known)
    for fn in (_home_live, _home_deals):
        if fn not in HOME_SECTIONS:
            HOME_SECTIONS.append(fn)


_register()

from auctions import operator_views  # noqa: E402,F401  (its routes live on this blueprint)
