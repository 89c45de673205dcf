"""Demo stage: a negotiated transfer whose contract both sides have signed and which is
registered (技术合同认定登记), so the contract, its PDF and the registration proof can be
seen at once. The certificate follows when settlement reports the money in.

History is written with a FakeClock in the past through the real services. Idempotent:
nothing is added when the demo listing exists.
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from auctions import service as asvc
from auctions.models import Deal, Negotiation
from contracts import service as svc
from exchange.actors import Actor
from exchange.clock import FakeClock
from exchange.demo import DEMO_STAGES
from listings import service as lsvc
from listings.demo import DEMO_MARK, make_confirmed_asset, publish
from listings.models import Listing

SIGNED_MARK = DEMO_MARK + "已签约 "


def seed_contracts(app, session, clock, users) -> None:  # type: ignore[no-untyped-def]
    if session.scalar(sa.select(Listing.id).where(Listing.title.startswith(SIGNED_MARK))) is not None:
        return
    seller, op, buyer = users["seller@demo.example"], users["operator@demo.example"], users["buyer2@demo.example"]
    past = FakeClock(clock.now() - timedelta(days=45))
    asset = make_confirmed_asset(session, past, seller, op, title="一种柔性钙钛矿太阳能电池封装结构", field="new_energy",
                                 folder=app.config["UPLOAD_FOLDER"], summary="水汽阻隔率提升一个数量级。")
    listing = publish(session, past, seller, op, asset, title=f"{SIGNED_MARK}柔性钙钛矿电池封装结构专利转让",
                      price_yuan=800_000)
    reg = lsvc.register_interest(session, Actor.of(buyer), listing.ref, "本单位符合全部受让条件。", clock=past)
    lsvc.confirm_deposit_manually(session, Actor.of(op), reg.ref, clock=past)
    lsvc.decide_registration(session, Actor.of(op), reg.ref, qualify=True, reason="", clock=past)
    # Publicity ends with one qualified buyer: a negotiated transfer at the listing price.
    past.set(listing.publicity_ends_at + timedelta(minutes=5))
    lsvc.apply_due(session, lsvc.load_listing(session, listing.ref, for_update=True), past)
    negotiation = session.scalar(sa.select(Negotiation).where(Negotiation.listing_id == listing.id))
    asvc.confirm_price(session, Actor.of(buyer), negotiation.ref, listing.price_fen, clock=past)
    asvc.record_result(session, Actor.of(op), negotiation.ref, concluded=True, note="双方确认成交 (demo)", clock=past)
    deal_id = session.scalar(sa.select(Deal.id).where(Deal.negotiation_id == negotiation.id))
    contract = svc.contract_for_deal(session, deal_id)
    for user in (buyer, seller):
        past.advance(hours=3)
        contract = svc.sign_contract(session, Actor.of(user), contract.ref, contract.text_sha256, clock=past)
    past.advance(days=1)
    submitted = svc.submit_registration(session, Actor.of(seller), contract.ref, svc.RegistrationSubmission(),
                                        clock=past, default_region=app.config["EXCHANGE_REGION_CODE"])
    past.advance(days=2)
    svc.register(session, Actor.of(op), submitted.ref, note="准予登记 (demo)", clock=past)
    if svc.readiness(session, contract.deal)["issuable"]:
        svc.issue_certificate(session, Actor.of(op), contract.deal.ref, clock=past)


if seed_contracts not in DEMO_STAGES:
    DEMO_STAGES.append(seed_contracts)
