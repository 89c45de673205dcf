"""Builders for the auction tests.

Two flavours:

* service level (``seller_and_operator``, ``listing_with_buyers``, ``end_publicity``): any
  session and any clock, so the same code builds a scenario inside the rolled-back test
  transaction or with real commits for the concurrency tests;
* API level (``auction_via_api``, ``negotiation_via_api``): like ``tests.helpers.listing_in_auction``
  but with any number of qualified buyers and any listing terms.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from exchange.actors import Actor
from exchange.models import Role, User
from tests.factories import make_member, make_staff, token_for
from tests.helpers import CHECKLIST, PDF_BYTES, confirmed_asset, ok, patent_no, published_listing, qualified_buyer

#: Publication day used by every builder: Mon 21 Sep 2026, 10:00 in Shanghai.
PUBLISH_AT = datetime(2026, 9, 21, 2, 0, tzinfo=timezone.utc)
PRICE = 100_000_000
INCREMENT = 1_000_000
DEPOSIT = 10_000_000

# Serials for patent numbers no other test uses, so committed scenarios never collide.
_serials = itertools.count(8_100_001)


# -- service level -------------------------------------------------------------------------------
@dataclass
class People:
    seller: User
    op: User
    buyers: list[User] = field(default_factory=list)

    def actor(self, user: User) -> Actor:
        return Actor.of(user)


def people(session, clock, buyers: int) -> People:  # type: ignore[no-untyped-def]
    """A seller, an operator and ``buyers`` members (flushed, not committed)."""
    seller = make_member(session, clock)
    op = make_staff(session, clock, Role.operator)
    return People(seller=seller, op=op, buyers=[make_member(session, clock) for _ in range(buyers)])


def confirmed_asset_svc(session, clock, p: People, folder: str) -> str:  # type: ignore[no-untyped-def]
    """Register an invention patent for the seller, upload a certificate, have the operator confirm it."""
    from listings import domain as ld
    from listings import service as ls

    seller, op = Actor.of(p.seller), Actor.of(p.op)
    asset = ls.register_asset(session, seller, ls.AssetInput(
        kind=ld.AssetKind.INVENTION_PATENT, title="一种并发竞价测试用减速器", technical_field="advanced_manufacturing",
        number=patent_no(next(_serials)), filing_date=date(2017, 8, 1), summary="测试"), clock=clock)
    ls.upload_evidence(session, seller, asset.ref, kind="certificate", filename="cert.pdf", data=PDF_BYTES,
                       public=True, folder=folder, max_bytes=10 * 1024 * 1024, clock=clock)
    ls.request_review(session, seller, asset.ref, clock=clock)
    ls.review_asset(session, op, asset.ref, checklist=dict(CHECKLIST), confirm=True, reasons="证书与登记簿一致",
                    clock=clock)
    return asset.ref


def listing_with_buyers(session, clock, p: People, folder: str, buyers: list[User] | None = None,  # type: ignore[no-untyped-def]
                        **terms: Any) -> str:
    """A published listing with every buyer in ``buyers`` (default: all of ``p``) qualified. Returns its ref."""
    from listings import domain as ld
    from listings import service as ls

    asset_ref = confirmed_asset_svc(session, clock, p, folder)
    values: dict[str, Any] = dict(title="并发竞价测试专利转让", mode=ld.TradingMode.ASSIGNMENT, price_fen=PRICE,
                                  deposit_fen=DEPOSIT, increment_fen=INCREMENT,
                                  qualification_conditions="中国境内依法设立的企业法人")
    values.update(terms)
    seller, op = Actor.of(p.seller), Actor.of(p.op)
    listing = ls.create_listing(session, seller, asset_ref, ls.ListingTerms(**values), clock=clock)
    ls.submit_listing(session, seller, listing.ref, clock=clock)
    ls.publish_listing(session, op, listing.ref, clock=clock)
    for buyer in p.buyers if buyers is None else buyers:
        reg = ls.register_interest(session, Actor.of(buyer), listing.ref, "本公司符合全部受让条件", clock=clock)
        ls.confirm_deposit_manually(session, op, reg.ref, clock=clock)
        ls.decide_registration(session, op, reg.ref, qualify=True, reason="", clock=clock)
    return listing.ref


def end_publicity(session, clock, listing_ref: str) -> str:  # type: ignore[no-untyped-def]
    """Move the clock just past the listing's publicity and apply what is due (the auctions hook
    schedules the auction). Returns the listing's new state."""
    from listings import service as ls

    listing = ls.load_listing(session, listing_ref, for_update=True)
    after = listing.publicity_ends_at + timedelta(seconds=1)
    if clock.now() < after:
        clock.set(after)
    ls.apply_due(session, listing, clock)
    return listing.state.value


# -- API level -----------------------------------------------------------------------------------
def auction_via_api(client, session, clock, buyers: int = 2, **listing_over: Any) -> dict:  # type: ignore[no-untyped-def]
    """Seller, operator, auditor and ``buyers`` qualified buyers; publicity has ended.

    With two or more buyers the auction is scheduled (``w["auction"]``); with one the listing
    awaits negotiation. The clock is left just after publicity ended.
    """
    clock.set(PUBLISH_AT)
    seller = make_member(session, clock)
    members = [make_member(session, clock) for _ in range(buyers)]
    op = make_staff(session, clock, Role.operator)
    auditor = make_staff(session, clock, Role.auditor)
    session.commit()
    ts, to, ta = token_for(client, seller), token_for(client, op), token_for(client, auditor)
    tokens = [token_for(client, m) for m in members]
    asset = confirmed_asset(client, ts, to, number=patent_no(next(_serials)))
    listing = published_listing(client, ts, to, asset["ref"], **listing_over)
    regs = [qualified_buyer(client, t, to, listing["ref"]) for t in tokens]
    ends = datetime.fromisoformat(listing["publicity_ends_at"])
    clock.set(ends + timedelta(seconds=1))
    after = ok(client.get(f"/api/v1/listings/{listing['ref']}"))
    w: dict[str, Any] = {"seller": seller, "op": op, "auditor": auditor, "buyers": members, "ts": ts, "to": to,
                         "ta": ta, "tokens": tokens, "asset": asset, "listing": listing, "regs": regs,
                         "listing_state": after["state"], "auction": None}
    if buyers >= 2:
        assert after["state"] == "in_auction", after
        w["auction"] = next(a for a in ok(client.get("/api/v1/auctions")) if a["listing_ref"] == listing["ref"])
    return w
