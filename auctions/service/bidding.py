"""Auctions (竞价): created from listings with two or more qualified buyers, bids under one
lock on the auction row, closing (on request and by a sweep), results and the bidding record."""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, replace
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.calendar_store import get_calendar
from exchange.clock import BUSINESS_TZ, UTC, Clock, local_date
from exchange.db import is_postgres
from exchange.errors import DomainError, NotFoundError, StateError, ValidationError
from exchange.notifications import notify, when
from exchange.refs import next_reference
from auctions import domain as ad
from auctions.models import Auction, AuctionBidder, Bid, DealMethod
from auctions.service import deals
from listings import domain as ld
from listings.models import BuyerRegistration, Listing
from listings.service.common import load_listing

DEFAULT_START_HOUR = 10  # auctions open at 10:00 Shanghai time on the next working day


@dataclass(frozen=True)
class Schedule:
    """Operator overrides when an auction is (re)scheduled; None keeps the listing's settings."""

    starts_at: datetime | None = None
    step_down_fen: int | None = None
    step_interval_seconds: int | None = None
    floor_price_fen: int | None = None
    sealed_minutes: int | None = None


def rules_of(a: Auction) -> ad.AuctionRules:
    return ad.AuctionRules(format=a.format, start_price=a.start_price_fen, starts_at=a.starts_at,
                           increment=a.increment_fen, free_period_ends_at=a.free_period_ends_at,
                           countdown_seconds=a.countdown_seconds, hard_end_at=a.hard_end_at,
                           leader_may_raise=a.leader_may_raise, sealed_closes_at=a.sealed_closes_at,
                           step_down=a.step_down_fen, step_interval_seconds=a.step_interval_seconds,
                           floor_price=a.floor_price_fen)


def snapshot_of(a: Auction) -> ad.AuctionSnapshot:
    return ad.AuctionSnapshot(state=a.state, current_price=a.current_price_fen, leader_bidder_no=a.leader_bidder_no,
                              bid_count=a.bid_count, last_bid_at=a.last_bid_at, effective_end_at=a.effective_end_at,
                              descending_step=None)


def load_auction(session: Session, ref: str, *, for_update: bool = False) -> Auction:
    stmt = sa.select(Auction).where(Auction.ref == ref)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    a = session.scalar(stmt)
    if a is None:
        raise NotFoundError(f"No auction {ref}.", code="auction_not_found")
    return a


def _default_start(session: Session, clock: Clock) -> datetime:
    day = get_calendar(session).next_working_day(local_date(clock.now()))
    return datetime.combine(day, time(DEFAULT_START_HOUR), tzinfo=BUSINESS_TZ).astimezone(UTC)


def _apply_schedule(session: Session, a: Auction, listing: Listing, sched: Schedule, clock: Clock) -> None:
    starts = sched.starts_at or _default_start(session, clock)
    if starts.tzinfo is None:
        raise ValidationError("Give the start time with its timezone.", code="naive_datetime", field="starts_at")
    if starts < clock.now():
        raise ValidationError("The auction cannot start in the past.", code="start_in_past", field="starts_at")
    a.starts_at = starts
    if a.format == ad.AuctionFormat.ASCENDING:
        a.free_period_ends_at = starts + timedelta(minutes=listing.free_bidding_minutes)
        a.hard_end_at = starts + timedelta(minutes=listing.hard_end_minutes) if listing.hard_end_minutes else None
    elif a.format == ad.AuctionFormat.SEALED:
        a.sealed_closes_at = starts + timedelta(minutes=sched.sealed_minutes or listing.free_bidding_minutes)
    else:
        a.step_down_fen = sched.step_down_fen or listing.increment_fen
        a.step_interval_seconds = sched.step_interval_seconds or listing.countdown_seconds
        a.floor_price_fen = sched.floor_price_fen or max(1, listing.price_fen - 10 * listing.increment_fen)
    rules = rules_of(a)
    ad.validate_rules(rules)
    a.effective_end_at = ad.effective_end(rules, None)


def create_auction(session: Session, actor: Actor, listing: Listing, *, clock: Clock,
                   schedule: Schedule | None = None) -> Auction:
    """Open an auction for a listing awaiting one, admitting its qualified buyers with bidder numbers."""
    if listing.state != ld.ListingState.AWAITING_AUCTION:
        raise StateError("Only a listing awaiting bidding gets an auction.", code="invalid_transition")
    existing = session.scalar(sa.select(Auction).where(Auction.listing_id == listing.id))
    if existing is not None:
        return existing
    qualified = [r for r in listing.registrations if r.state == ld.RegistrationState.QUALIFIED]
    if len(qualified) < 2:
        raise StateError("An auction needs at least two qualified buyers.", code="not_enough_bidders")
    now = clock.now()
    a = Auction(ref=next_reference(session, "AU", now.year), listing_id=listing.id,
                format=ad.AuctionFormat(listing.auction_format), state=ad.AuctionState.SCHEDULED,
                start_price_fen=listing.price_fen,
                increment_fen=listing.increment_fen if listing.auction_format == "ascending" else None,
                countdown_seconds=listing.countdown_seconds, leader_may_raise=listing.leader_may_raise,
                starts_at=now, effective_end_at=now, created_at=now)
    _apply_schedule(session, a, listing, schedule or Schedule(), clock)
    session.add(a)
    session.flush()
    for i, reg in enumerate(qualified, start=1):
        session.add(AuctionBidder(auction_id=a.id, registration_id=reg.id, party_id=reg.buyer_party_id,
                                  bidder_no=ad.bidder_number(i)))
        notify(session, party_id=reg.buyer_party_id, topic="auction.invited", clock=clock,
               params={"auction": a.ref, "bidder_no": ad.bidder_number(i), "title": listing.title,
                       "starts": when(a.starts_at)})
    src = listing.state
    ld.check_transition(src, ld.ListingState.IN_AUCTION)
    listing.state = ld.ListingState.IN_AUCTION
    session.flush()
    record_event(session, actor=actor, action="auction.scheduled", subject_type="auction", subject_ref=a.ref,
                 after={"listing": listing.ref, "format": a.format, "starts_at": a.starts_at,
                        "effective_end_at": a.effective_end_at, "bidders": len(qualified)}, clock=clock)
    record_event(session, actor=actor, action="listing.in_auction", subject_type="listing", subject_ref=listing.ref,
                 before={"state": src}, after={"state": listing.state, "auction": a.ref}, clock=clock)
    return a


def reschedule_auction(session: Session, actor: Actor, ref: str, schedule: Schedule, *, clock: Clock) -> Auction:
    """Move the start (and descending/sealed settings) of an auction that has not started."""
    a = load_auction(session, ref, for_update=True)
    if a.state != ad.AuctionState.SCHEDULED or clock.now() >= a.starts_at:
        raise StateError("Only an auction that has not started can be rescheduled.", code="auction_started")
    before = {"starts_at": a.starts_at, "effective_end_at": a.effective_end_at}
    _apply_schedule(session, a, a.listing, schedule, clock)
    session.flush()
    record_event(session, actor=actor, action="auction.rescheduled", subject_type="auction", subject_ref=a.ref,
                 before=before, after={"starts_at": a.starts_at, "effective_end_at": a.effective_end_at}, clock=clock)
    if a.starts_at != before["starts_at"]:
        for b in a.bidders:
            notify(session, party_id=b.party_id, topic="auction.rescheduled", clock=clock,
                   params={"auction": a.ref, "title": a.listing.title, "starts": when(a.starts_at),
                           "bidder_no": b.bidder_no})
    return a


def bidder_for(session: Session, auction: Auction, party_id: int | None) -> AuctionBidder | None:
    if party_id is None:
        return None
    return session.scalar(sa.select(AuctionBidder).where(AuctionBidder.auction_id == auction.id,
                                                         AuctionBidder.party_id == party_id))


@dataclass(frozen=True, slots=True)
class PlacedBid:
    """An accepted bid, and the auction as it stands right after it: what the bidder's receipt shows."""

    auction_id: int
    auction_ref: str
    seq: int
    bidder_no: str
    amount_fen: int
    placed_at: datetime
    sealed: bool
    state: ad.AuctionState
    current_price_fen: int | None  # None while bids are sealed
    leader_bidder_no: str | None
    bid_count: int
    effective_end_at: datetime
    min_next_bid_fen: int | None
    server_time: datetime
    closes_auction: bool = False  # a descending acceptance, whose auction is still to be closed

    def receipt(self) -> dict[str, Any]:
        """The receipt as ``BidAcceptedSchema`` describes it (times as ISO 8601 strings)."""
        sealed = self.sealed
        return {"seq": self.seq, "bidder_no": self.bidder_no, "amount_fen": self.amount_fen,
                "placed_at": self.placed_at.isoformat(),
                "auction": {"ref": self.auction_ref, "state": self.state.value, "bid_count": self.bid_count,
                            "server_time": self.server_time.isoformat(),
                            "current_price_fen": None if sealed else self.current_price_fen,
                            "leader_bidder_no": None if sealed else self.leader_bidder_no,
                            "you_lead": (not sealed) and self.leader_bidder_no == self.bidder_no,
                            "effective_end_at": self.effective_end_at.isoformat(),
                            "min_next_bid_fen": self.min_next_bid_fen,
                            "version": f"{self.bid_count}:{self.state.value}:{self.effective_end_at.isoformat()}"}}

    def receipt_json(self) -> str:
        """The receipt serialised once: it is both the answer and the stored idempotent replay."""
        return json.dumps(self.receipt(), ensure_ascii=False, separators=(",", ":"))


_AUCTIONS = Auction.__table__
_BIDDERS = AuctionBidder.__table__
_BIDS = Bid.__table__
#: What the bid path reads from the auction row: the rules and the live snapshot, nothing else.
_BID_COLUMNS = ("id", "ref", "format", "state", "start_price_fen", "increment_fen", "starts_at",
                "free_period_ends_at", "countdown_seconds", "hard_end_at", "leader_may_raise", "sealed_closes_at",
                "step_down_fen", "step_interval_seconds", "floor_price_fen", "current_price_fen", "leader_bidder_no",
                "bid_count", "last_bid_at", "effective_end_at")


def peek_columns() -> list[sa.ColumnElement]:
    """What the bid path reads of the auction and of the bidder's seat in it (None if it has none)."""
    return [*(_AUCTIONS.c[n] for n in _BID_COLUMNS), _BIDDERS.c.id.label("bidder_id"),
            _BIDDERS.c.bidder_no.label("bidder_bidder_no"), _BIDDERS.c.defaulted.label("bidder_defaulted")]


def peek_join(left: sa.FromClause, party: sa.ColumnElement) -> sa.FromClause:
    """``left`` joined to the auction ``:ref`` and to ``party``'s seat among its bidders. An outer join
    for the seat (a party without one is refused by the rules, not by a missing row)."""
    return left.join(_AUCTIONS, _AUCTIONS.c.ref == sa.bindparam("ref")).outerjoin(_BIDDERS, _seat(party))


def _seat(party: sa.ColumnElement) -> sa.ColumnElement[bool]:
    return sa.and_(_BIDDERS.c.auction_id == _AUCTIONS.c.id, _BIDDERS.c.party_id == party)


@functools.cache
def _bid_statements() -> tuple[sa.Select, sa.Select, sa.Update, sa.Insert, sa.Select]:
    """The bid path's statements, built once (building and cache-keying a statement costs more than
    running it on a warm connection). They are Core statements: the bid path runs while the auction's
    row lock is held, and the ORM's unit of work would only add Python time under the lock."""
    peek = (sa.select(*peek_columns())
            .select_from(_AUCTIONS.outerjoin(_BIDDERS, _seat(sa.bindparam("party_id"))))
            .where(_AUCTIONS.c.ref == sa.bindparam("ref")))
    lock = peek.with_for_update(of=_AUCTIONS)
    # The live snapshot is written whole, so the statement has one shape whatever changed.
    update = (_AUCTIONS.update().where(_AUCTIONS.c.id == sa.bindparam("auction_row"))
              .values(state=sa.bindparam("new_state"), current_price_fen=sa.bindparam("new_price"),
                      leader_bidder_no=sa.bindparam("new_leader"), bid_count=sa.bindparam("new_count"),
                      last_bid_at=sa.bindparam("new_last_bid_at"), effective_end_at=sa.bindparam("new_end")))
    insert = _BIDS.insert()
    has_sealed = sa.select(_BIDS.c.id).where(_BIDS.c.auction_id == sa.bindparam("auction_row"),
                                             _BIDS.c.bidder_id == sa.bindparam("bidder_row"))
    return peek, lock, update, insert, has_sealed


def _refused_before_lock(row: sa.Row, amount_fen: int, now: datetime) -> DomainError | None:
    """The refusal of an ascending bid that is too low against the committed row, read without a lock.

    Such a bid can be refused at once, without queueing for the auction's lock: in an ascending
    auction the committed price only ever rises, so no bid in flight can make this one acceptable.
    Only ``bid_too_low`` is decided this way; every other answer (accepted included) waits for
    the lock and the locked row. The checks run in the domain's order, so a bid that would be
    refused for another reason first (closed, not qualified...) is not answered here.
    """
    if row.format != ad.AuctionFormat.ASCENDING:
        return None
    try:
        ad.validate_ascending_bid(rules_of(row), snapshot_of(row), row.bidder_bidder_no or "", amount_fen, now,
                                  row.bidder_id is not None and not row.bidder_defaulted)
    except DomainError as err:
        return err if err.code == "bid_too_low" else None
    return None


def place_bid(session: Session, actor: Actor, auction_ref: str, amount_fen: int, *, clock: Clock) -> PlacedBid:
    """Place a bid. Validation and the write happen under the auction's row lock, on the exchange's clock.

    A bid at or after the effective end is refused even if nobody has closed the auction yet.
    On PostgreSQL the lock is ``SELECT ... FOR UPDATE`` of the auction row; on SQLite every
    transaction already holds the database's write lock (``BEGIN IMMEDIATE``). A unique index on
    (auction, price) for open bids backs the lock up. Between the locked read and the writes
    only the pure rules of ``auctions.domain`` run. An ascending bid already below the committed
    price is refused before the lock (``_refused_before_lock``), so the losers of a race for a price
    step do not queue behind the winner. The first acceptance of a descending auction closes it.
    """
    session.flush()  # pending ORM changes first: the bid's statements go straight to the connection
    placed = bid_on(session.connection(), actor, auction_ref, amount_fen, clock=clock)
    loaded = session.identity_map.get(identity_key(Auction, placed.auction_id))
    if loaded is not None:
        session.expire(loaded)  # an Auction this session loaded earlier no longer matches its row
    if placed.closes_auction:
        a = close_auction(session, Actor.system("auction"), load_auction(session, auction_ref, for_update=True),
                          clock=clock)
        placed = replace(placed, state=a.state, effective_end_at=a.effective_end_at, closes_auction=False)
    return placed


def bid_on(conn: sa.Connection, actor: Actor, auction_ref: str, amount_fen: int, *, clock: Clock,
           peeked: sa.Row | None = None) -> PlacedBid:
    """The bid itself, in Core statements on ``conn`` (``place_bid`` says what it does). It leaves one
    thing to its caller: a descending acceptance (``closes_auction``) must close the auction with
    ``close_auction`` in the same transaction.

    ``peeked`` is the unlocked read of the auction when the caller has made it already, in this
    transaction, with the columns of ``peek_columns()`` for this auction and the actor's party (the
    bid lane reads it in the same query as the caller's token).
    """
    peek, lock, update, insert, has_sealed = _bid_statements()
    params = {"party_id": actor.party_id or -1, "ref": auction_ref}
    row = peeked if peeked is not None else conn.execute(peek, params).first()
    if row is None:
        raise NotFoundError(f"No auction {auction_ref}.", code="auction_not_found")
    refusal = _refused_before_lock(row, amount_fen, clock.now())
    if refusal is not None:
        raise refusal
    row = conn.execute(lock, params).first()
    eligible = row.bidder_id is not None and not row.bidder_defaulted
    bidder_no = row.bidder_bidder_no or ""
    now = clock.now()
    rules = rules_of(row)
    snap = snapshot_of(row)
    sealed = False
    if row.format == ad.AuctionFormat.ASCENDING:
        snap = ad.validate_ascending_bid(rules, snap, bidder_no, amount_fen, now, eligible)
    elif row.format == ad.AuctionFormat.SEALED:
        has = eligible and conn.execute(has_sealed, {"auction_row": row.id,
                                                     "bidder_row": row.bidder_id}).first() is not None
        ad.validate_sealed_bid(rules, now, bool(has), amount_fen, eligible, state=row.state)
        sealed = True
        if snap.state == ad.AuctionState.SCHEDULED:
            snap = replace(snap, state=ad.AuctionState.OPEN)
    else:
        snap = ad.accept_descending(rules, snap, bidder_no, now, eligible)
        amount_fen = snap.current_price
    seq = row.bid_count + 1
    conn.execute(update, {"auction_row": row.id, "new_state": snap.state, "new_price": snap.current_price,
                          "new_leader": snap.leader_bidder_no, "new_count": seq, "new_last_bid_at": snap.last_bid_at,
                          "new_end": snap.effective_end_at})
    conn.execute(insert, {"auction_id": row.id, "bidder_id": row.bidder_id, "bidder_no": bidder_no,
                          "amount_fen": amount_fen, "placed_at": now, "seq": seq, "sealed": sealed})
    min_next = None
    if row.format == ad.AuctionFormat.ASCENDING and now < snap.effective_end_at:
        min_next = ad.min_next_bid(rules, snap)
    return PlacedBid(auction_id=row.id, auction_ref=row.ref, seq=seq, bidder_no=bidder_no, amount_fen=amount_fen,
                     placed_at=now, sealed=sealed, state=snap.state, current_price_fen=snap.current_price,
                     leader_bidder_no=snap.leader_bidder_no, bid_count=seq, effective_end_at=snap.effective_end_at,
                     min_next_bid_fen=min_next, server_time=now,
                     closes_auction=row.format == ad.AuctionFormat.DESCENDING)


def _records(session: Session, a: Auction) -> list[ad.BidRecord]:
    rows = session.execute(sa.select(Bid.bidder_no, Bid.amount_fen, Bid.placed_at, Bid.seq)
                           .where(Bid.auction_id == a.id).order_by(Bid.seq)).all()
    return [ad.BidRecord(bidder_no=r[0], amount=r[1], placed_at=r[2], seq=r[3]) for r in rows]


def is_due(a: Auction, clock: Clock) -> bool:
    return a.state in (ad.AuctionState.SCHEDULED, ad.AuctionState.OPEN) and clock.now() >= a.effective_end_at


def close_auction(session: Session, actor: Actor, a: Auction, *, clock: Clock) -> Auction:
    """Close a due auction: winner by price then time, the hammer price, the deal. Idempotent."""
    if a.state == ad.AuctionState.CLOSED:
        return a
    now = clock.now()
    result = ad.close_result(rules_of(a), snapshot_of(a), _records(session, a), now)
    ad.check_transition(a.state, ad.AuctionState.CLOSED)
    a.state = ad.AuctionState.CLOSED
    a.closed_at = now
    a.unsold = result.unsold
    listing = a.listing
    if result.winner is not None:
        a.hammer_price_fen = result.hammer_price
        a.winner_bidder_no = result.winner.bidder_no
    session.flush()
    record_event(session, actor=actor, action="auction.closed", subject_type="auction", subject_ref=a.ref,
                 after={"hammer_price_fen": a.hammer_price_fen, "winner_bidder_no": a.winner_bidder_no,
                        "bids": a.bid_count, "unsold": a.unsold}, clock=clock)
    if result.winner is not None:
        win = session.scalar(sa.select(AuctionBidder).where(AuctionBidder.auction_id == a.id,
                                                            AuctionBidder.bidder_no == result.winner.bidder_no))
        _listing_to(session, actor, listing, ld.ListingState.SOLD, clock, "auction won")
        deals.strike_deal(session, method=DealMethod.AUCTION, asset=listing.asset,
                          seller_party_id=listing.seller_party_id, buyer_party_id=win.party_id, mode=listing.mode,
                          price_fen=result.hammer_price, clock=clock, actor=actor, listing=listing,
                          registration=win.registration, auction_id=a.id)
    else:
        _listing_to(session, actor, listing, ld.ListingState.UNSOLD, clock, "no valid bid")
    for hook in deals.ON_AUCTION_CLOSED:
        hook(session, a, clock)
    return a


def _listing_to(session: Session, actor: Actor, listing: Listing, to: ld.ListingState, clock: Clock,
                reason: str) -> None:
    src = listing.state
    ld.check_transition(src, to)
    listing.state = to
    listing.closed_at = clock.now()
    listing.updated_at = clock.now()
    session.flush()
    record_event(session, actor=actor, action=f"listing.{to.value}", subject_type="listing", subject_ref=listing.ref,
                 before={"state": src}, after={"state": to}, reason=reason, clock=clock)


def close_if_due(session: Session, ref: str, *, clock: Clock) -> Auction:
    """Close the auction if its time is up (requests call this; so does the sweep)."""
    a = load_auction(session, ref)
    if is_due(a, clock):
        a = load_auction(session, ref, for_update=True)
        if is_due(a, clock):
            close_auction(session, Actor.system("auction"), a, clock=clock)
    return a


def due_auction_refs(session: Session, clock: Clock, limit: int = 100) -> list[str]:
    """Auctions whose bidding has ended but which are not closed, each locked for this sweep.

    On PostgreSQL ``SKIP LOCKED`` lets several schedulers share the work: a row
    another sweep (or a bid) holds is skipped, not waited for.
    """
    stmt = (sa.select(Auction.ref).where(Auction.state.in_([ad.AuctionState.SCHEDULED.value,
                                                              ad.AuctionState.OPEN.value]),
                                          Auction.effective_end_at <= clock.now())
            .order_by(Auction.effective_end_at).limit(limit))
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def open_started(session: Session, clock: Clock) -> int:
    """Mark scheduled auctions whose start has passed as open (display only: bids never wait for it)."""
    res = session.execute(sa.update(Auction).where(Auction.state == ad.AuctionState.SCHEDULED,
                                                   Auction.starts_at <= clock.now(),
                                                   Auction.effective_end_at > clock.now())
                          .values(state=ad.AuctionState.OPEN))
    return res.rowcount or 0


def publish_result(session: Session, actor: Actor, ref: str, *, clock: Clock) -> Auction:
    """The operator publishes the result: from now on the winner's name is shown."""
    a = close_if_due(session, ref, clock=clock)
    a = load_auction(session, ref, for_update=True)
    if a.state != ad.AuctionState.CLOSED:
        raise StateError("The auction has not closed yet.", code="auction_not_closed")
    if a.result_published_at is None:
        a.result_published_at = clock.now()
        session.flush()
        record_event(session, actor=actor, action="auction.result_published", subject_type="auction",
                     subject_ref=a.ref, after={"winner_bidder_no": a.winner_bidder_no,
                                               "hammer_price_fen": a.hammer_price_fen}, clock=clock)
    return a


# -- what people may see ---------------------------------------------------------------------------
def _shown_state(a: Auction, now: datetime) -> str:
    """The state as the clock has it: bidding never waits for the sweep to flip a row to open
    (or closed), so the room must not say "scheduled" while bids are being taken."""
    if a.state in (ad.AuctionState.SCHEDULED, ad.AuctionState.OPEN):
        if now >= a.effective_end_at:
            return ad.AuctionState.CLOSED.value
        if now >= a.starts_at:
            return ad.AuctionState.OPEN.value
    return a.state.value


def live_state(session: Session, a: Auction, viewer_party_id: int | None, clock: Clock) -> dict[str, Any]:
    """State for the auction room; the server's time is included so pages never trust the browser clock."""
    now = clock.now()
    rules = rules_of(a)
    snap = snapshot_of(a)
    sealed_hidden = a.format == ad.AuctionFormat.SEALED and a.state != ad.AuctionState.CLOSED
    me = bidder_for(session, a, viewer_party_id)
    min_next = None
    if a.state in (ad.AuctionState.SCHEDULED, ad.AuctionState.OPEN) and now < a.effective_end_at:
        if a.format == ad.AuctionFormat.ASCENDING:
            min_next = ad.min_next_bid(rules, snap)
        elif a.format == ad.AuctionFormat.DESCENDING:
            min_next = ad.descending_price_at(rules, max(now, a.starts_at))
        else:
            min_next = a.start_price_fen
    phase = ad.phase_at(rules, snap, now) if a.format == ad.AuctionFormat.ASCENDING else None
    winner_name = None
    if a.result_published_at and a.winner_bidder_no:
        w = session.scalar(sa.select(AuctionBidder).where(AuctionBidder.auction_id == a.id,
                                                          AuctionBidder.bidder_no == a.winner_bidder_no))
        winner_name = w.party.name if w else None
    return {
        "ref": a.ref, "listing_ref": a.listing.ref, "title": a.listing.title, "format": a.format.value,
        "state": _shown_state(a, now),
        "phase": phase.value if phase else None, "starts_at": a.starts_at, "free_period_ends_at": a.free_period_ends_at,
        "effective_end_at": a.effective_end_at, "hard_end_at": a.hard_end_at, "server_time": now,
        "seconds_left": max(0.0, (a.effective_end_at - now).total_seconds()),
        "start_price_fen": a.start_price_fen, "increment_fen": a.increment_fen,
        "current_price_fen": None if sealed_hidden else a.current_price_fen,
        "leader_bidder_no": None if sealed_hidden else a.leader_bidder_no,
        "bid_count": a.bid_count, "min_next_bid_fen": min_next, "countdown_seconds": a.countdown_seconds,
        "your_bidder_no": me.bidder_no if me else None,
        "you_lead": bool(me and not sealed_hidden and a.leader_bidder_no == me.bidder_no),
        "hammer_price_fen": a.hammer_price_fen, "winner_bidder_no": a.winner_bidder_no, "unsold": a.unsold,
        "result_published": a.result_published_at is not None, "winner_name": winner_name,
        "version": f"{a.bid_count}:{a.state.value}:{a.effective_end_at.isoformat()}",
    }


def bidding_record(session: Session, a: Auction, *, staff: bool, viewer_party_id: int | None,
                   clock: Clock) -> list[dict[str, Any]]:
    """The bidding record (竞价记录): numbers, never names. Sealed bids stay hidden from everyone,
    operators included, until the close; bidders see the record of an open ascending auction live."""
    closed = a.state == ad.AuctionState.CLOSED
    if a.format == ad.AuctionFormat.SEALED and not closed:
        return []
    is_bidder = bidder_for(session, a, viewer_party_id) is not None
    if not (staff or is_bidder or closed):
        return []
    rows = session.scalars(sa.select(Bid).where(Bid.auction_id == a.id).order_by(Bid.seq))
    return [{"seq": b.seq, "bidder_no": b.bidder_no, "amount_fen": b.amount_fen, "placed_at": b.placed_at}
            for b in rows]


def protocol_rows(session: Session, a: Auction) -> list[list[str]]:
    """The auction protocol as rows for a CSV download."""
    from exchange.clock import format_local
    from exchange.money import Money

    head = [["auction", a.ref], ["listing", a.listing.ref], ["title", a.listing.title], ["format", a.format.value],
            ["starts_at (UTC+8)", format_local(a.starts_at, "%Y-%m-%d %H:%M:%S")],
            ["closed_at (UTC+8)", format_local(a.closed_at, "%Y-%m-%d %H:%M:%S")],
            ["start price", Money(a.start_price_fen).format()],
            ["hammer price", Money(a.hammer_price_fen).format() if a.hammer_price_fen else "-"],
            ["winner bidder no", a.winner_bidder_no or "-"], ["bids", str(a.bid_count)], [],
            ["seq", "bidder no", "amount", "time (UTC+8)"]]
    if a.format == ad.AuctionFormat.SEALED and a.state != ad.AuctionState.CLOSED:
        # Sealed bids stay hidden from everyone, the exchange included, until the close.
        return head
    rows = session.scalars(sa.select(Bid).where(Bid.auction_id == a.id).order_by(Bid.seq))
    return head + [[str(b.seq), b.bidder_no, Money(b.amount_fen).format(),
                    format_local(b.placed_at, "%Y-%m-%d %H:%M:%S.%f")] for b in rows]


def registrations_in(session: Session, a: Auction) -> list[BuyerRegistration]:
    return [b.registration for b in a.bidders]


def listing_auction(session: Session, listing_ref: str) -> Auction | None:
    listing = load_listing(session, listing_ref)
    return session.scalar(sa.select(Auction).where(Auction.listing_id == listing.id))
