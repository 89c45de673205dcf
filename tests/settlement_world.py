"""A small world for settlement tests, built through the listings and auctions services:
a seller's confirmed patent, a published listing, registered buyers, deposits paid by bank
notification, qualification, the end of publicity, an auction with bids, and the deal."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from exchange.actors import Actor
from exchange.clock import FakeClock
from exchange.models import Role, User
from listings import domain as ld
from listings import service as ls
from settlement import service as svc
from settlement.models import PaymentPurpose
from tests.factories import make_member, make_staff

_serial = itertools.count(1000)
_bank = itertools.count(1)


@dataclass
class World:
    clock: FakeClock
    seller: User
    buyers: list[User]
    op: User
    asset: Any
    listing: Any
    regs: list[Any] = field(default_factory=list)

    @property
    def op_actor(self) -> Actor:
        return Actor.of(self.op)

    def actor(self, user: User) -> Actor:
        return Actor.of(user)


def patent_no(serial: int) -> str:
    from listings.domain import patent_check_character

    body = f"20171{serial:07d}"
    return f"{body}.{patent_check_character(body)}"


def build(session, clock: FakeClock, *, buyers: int = 2, price_fen: int = 100_000_000, deposit_fen: int = 10_000_000,
          auction_format: str = "ascending", register: bool = True) -> World:  # type: ignore[no-untyped-def]
    """Seller, operator and buyers; a published listing; buyers registered (deposits pending)."""
    session.info["clock"] = clock
    seller = make_member(session, clock)
    users = [make_member(session, clock) for _ in range(buyers)]
    op = make_staff(session, clock, Role.operator)
    asset = ls.register_asset(session, Actor.of(seller), ls.AssetInput(
        kind=ld.AssetKind.INVENTION_PATENT, title="一种谐波减速器", technical_field="advanced_manufacturing",
        number=patent_no(next(_serial)), filing_date=clock.now().date().replace(year=2017)), clock=clock)
    asset.confirmation = ld.AssetConfirmation.CONFIRMED  # the review itself is the listings package's test
    asset.confirmed_at = clock.now()
    session.flush()
    listing = ls.create_listing(session, Actor.of(seller), asset.ref, ls.ListingTerms(
        title="谐波减速器专利转让", mode=ld.TradingMode.ASSIGNMENT, price_fen=price_fen, deposit_fen=deposit_fen,
        increment_fen=max(1, price_fen // 100), auction_format=auction_format), clock=clock)
    ls.submit_listing(session, Actor.of(seller), listing.ref, clock=clock)
    ls.publish_listing(session, Actor.of(op), listing.ref, clock=clock)
    w = World(clock, seller, users, op, asset, listing)
    if register:
        for u in users:
            w.regs.append(ls.register_interest(session, Actor.of(u), listing.ref, "本公司符合全部受让条件",
                                               clock=clock))
    return w


def bank_ref() -> str:
    return f"BK{next(_bank):09d}"


def pay(session, w: World, amount_fen: int, purpose: PaymentPurpose, purpose_ref: str | None, *,
        ref: str | None = None, payer: str = "付款人"):  # type: ignore[no-untyped-def]
    n, _ = svc.receive_notification(session, w.op_actor, svc.NotificationInput(
        bank_reference=ref or bank_ref(), amount_fen=amount_fen, payer_name=payer, purpose=purpose,
        purpose_ref=purpose_ref), clock=w.clock)
    return n


def pay_deposit(session, w: World, reg, amount_fen: int | None = None):  # type: ignore[no-untyped-def]
    return pay(session, w, reg.deposit_fen if amount_fen is None else amount_fen, PaymentPurpose.DEPOSIT, reg.ref)


def qualify(session, w: World, reg) -> None:  # type: ignore[no-untyped-def]
    ls.decide_registration(session, w.op_actor, reg.ref, qualify=True, reason="", clock=w.clock)


def end_publicity(session, w: World) -> None:  # type: ignore[no-untyped-def]
    w.clock.set(w.listing.publicity_ends_at + timedelta(seconds=1))
    ls.apply_due(session, ls.load_listing(session, w.listing.ref, for_update=True), w.clock)


def run_auction(session, w: World, bids: list[tuple[int, int]]):  # type: ignore[no-untyped-def]
    """Bidding at the auction created when publicity ended; ``bids`` are (buyer index, amount)."""
    from auctions import service as asvc
    from auctions.models import Auction

    import sqlalchemy as sa

    a = session.scalar(sa.select(Auction).where(Auction.listing_id == w.listing.id))
    w.clock.set(a.starts_at + timedelta(minutes=1))
    asvc.open_started(session, w.clock)
    for i, amount in bids:
        w.clock.advance(seconds=5)
        asvc.place_bid(session, Actor.of(w.buyers[i]), a.ref, amount, clock=w.clock)
    a = asvc.load_auction(session, a.ref, for_update=True)
    w.clock.set(a.effective_end_at + timedelta(seconds=1))
    asvc.close_auction(session, Actor.system("test"), a, clock=w.clock)
    return a


def deal_of(session, w: World):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from auctions.models import Deal, DealState

    return session.scalar(sa.select(Deal).where(Deal.listing_id == w.listing.id,
                                                Deal.state.in_([DealState.STRUCK.value, DealState.IN_FORCE.value,
                                                                DealState.COMPLETED.value])))


def in_force(session, w: World, deal) -> None:  # type: ignore[no-untyped-def]
    from auctions.service import deals

    deals.mark_in_force(session, w.op_actor, deal.ref, clock=w.clock)


def auction_deal(session, w: World, bids: list[tuple[int, int]] | None = None):  # type: ignore[no-untyped-def]
    """All buyers pay their deposits and qualify; the first two bid; the deal is struck."""
    for reg in w.regs:
        pay_deposit(session, w, reg)
        qualify(session, w, reg)
    end_publicity(session, w)
    price = w.listing.price_fen
    run_auction(session, w, bids or [(0, price), (1, price + w.listing.increment_fen)])
    return deal_of(session, w)


def check_ledger(session) -> None:  # type: ignore[no-untyped-def]
    """The ledger verifies from its postings and, on PostgreSQL, the deferred database checks accept
    every entry written so far (tests never commit, so fire them now and defer again)."""
    from exchange.db import is_postgres

    session.flush()
    if is_postgres(session):
        session.execute(sa.text("SET CONSTRAINTS ALL IMMEDIATE"))
        session.execute(sa.text("SET CONSTRAINTS ALL DEFERRED"))
    check = svc.verify_ledger(session)
    assert check.ok, check.as_dict()


def shanghai_end(day):  # type: ignore[no-untyped-def]
    """The first instant after ``day`` ends in Shanghai."""
    from exchange.clock import end_of_local_day_utc

    return end_of_local_day_utc(day)
