"""Demo stage: an ascending auction live right now with bids, kept moving by a demo bidder bot.

The history (publication 30 days ago, registrations, the end of publicity) is
written with a FakeClock through the real services. Each start of the run
command makes sure one demo auction is live; the ``demo.bidder_bot`` job (on
only when DEMO_BOT is set, as in development) bids for the demo buyers now and then.
"""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from exchange.actors import Actor
from exchange.clock import FakeClock
from exchange.demo import DEMO_STAGES
from exchange.errors import DomainError
from exchange.models import User
from exchange.scheduler import register_job
from auctions import service as asvc
from auctions.models import Auction
from listings import service as lsvc
from listings.demo import DEMO_MARK, make_confirmed_asset, publish

LIVE_MARK = DEMO_MARK + "竞价中 "


def _stage(app, session, clock, users) -> None:  # type: ignore[no-untyped-def]
    now = clock.now()
    live = session.scalar(sa.select(Auction.id).join(Auction.listing).where(
        Auction.state.in_(["scheduled", "open"]), Auction.effective_end_at > now + timedelta(minutes=10)))
    if live is not None:
        return
    seller, op = users["seller@demo.example"], users["operator@demo.example"]
    b1, b2 = users["buyer1@demo.example"], users["buyer2@demo.example"]
    rng = random.Random()
    past = FakeClock(now - timedelta(days=40))
    asset = make_confirmed_asset(session, past, seller, op, title="一种高精度谐波减速器柔轮加工工艺",
                                 field="advanced_manufacturing", rng=rng, folder=app.config["UPLOAD_FOLDER"],
                                 summary="柔轮齿形精密成形，寿命提升30%。")
    listing = publish(session, past, seller, op, asset, title=f"{LIVE_MARK}谐波减速器柔轮加工工艺专利转让",
                      price_yuan=1_200_000, free_minutes=120, countdown_seconds=300)
    for buyer in (b1, b2):
        reg = lsvc.register_interest(session, Actor.of(buyer), listing.ref, "本单位符合全部受让条件。", clock=past)
        lsvc.confirm_deposit_manually(session, Actor.of(op), reg.ref, clock=past)
        lsvc.decide_registration(session, Actor.of(op), reg.ref, qualify=True, reason="", clock=past)
    # Publicity ended; the auction opened a few minutes ago.
    past.set(now - timedelta(minutes=10))
    lsvc.apply_due(session, lsvc.load_listing(session, listing.ref, for_update=True), past)
    auction = session.scalar(sa.select(Auction).where(Auction.listing_id == listing.id))
    asvc.reschedule_auction(session, Actor.of(op), auction.ref, asvc.Schedule(starts_at=now - timedelta(minutes=8)),
                            clock=past)
    price = auction.start_price_fen
    for minutes, buyer in ((7, b1), (5, b2), (3, b1)):
        past.set(now - timedelta(minutes=minutes))
        asvc.place_bid(session, Actor.of(buyer), auction.ref, price, clock=past)
        price += auction.increment_fen


DEMO_STAGES.append(_stage)


@register_job("demo.bidder_bot", seconds=20, description="demo only: demo buyers bid in live demo auctions")
def bidder_bot(session, clock) -> int:  # type: ignore[no-untyped-def]
    """Keeps the demo auction room moving. Does nothing unless DEMO_BOT is set."""
    if not current_app.config.get("DEMO_BOT"):
        return 0
    rng = random.Random()
    buyers = list(session.scalars(sa.select(User).where(User.email.in_(["buyer1@demo.example",
                                                                        "buyer2@demo.example"]))))
    placed = 0
    for a in session.scalars(sa.select(Auction).where(Auction.state.in_(["scheduled", "open"]),
                                                      Auction.effective_end_at > clock.now())):
        if not a.listing.title.startswith(DEMO_MARK) or rng.random() < 0.4:
            continue
        for buyer in rng.sample(buyers, len(buyers)):
            try:
                state = asvc.live_state(session, a, buyer.party_id, clock)
                if state["min_next_bid_fen"] is None or state["you_lead"]:
                    continue
                asvc.place_bid(session, Actor.of(buyer), a.ref, state["min_next_bid_fen"], clock=clock)
                placed += 1
                break
            except DomainError:
                continue
    return placed
