"""Demo stage: confirmed assets, listings in publicity, one with registrations.

History is written with a FakeClock set in the past, through the real services,
so every record and audit event is what the exchange itself would have made.
"""
from __future__ import annotations

import random
from datetime import date, timedelta

import sqlalchemy as sa

from exchange.actors import Actor
from exchange.clock import FakeClock
from exchange.demo import DEMO_STAGES
from listings import domain as d
from listings import service as svc
from listings.models import Asset, Listing

DEMO_MARK = "【演示】"
_CHECKLIST = {k: True for k in svc.CHECKLIST_ITEMS}
_PDF = b"%PDF-1.4\n% demo evidence\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def demo_patent_number(rng: random.Random, year: int, type_digit: int = 1) -> str:
    body = f"{year}{type_digit}{rng.randrange(10**6, 10**7):07d}"
    return f"{body}.{d.patent_check_character(body)}"


def make_confirmed_asset(session, clock, seller, operator, *, title, field, kind=d.AssetKind.INVENTION_PATENT,  # type: ignore[no-untyped-def]
                         filing_year=2019, rng=None, summary="", folder="/tmp") -> Asset:
    rng = rng or random.Random()
    digit = {d.AssetKind.INVENTION_PATENT: 1, d.AssetKind.UTILITY_MODEL: 2}.get(kind, 1)
    while True:
        number = demo_patent_number(rng, filing_year, digit)
        if session.scalar(sa.select(Asset.id).where(Asset.number == number)) is None:
            break
    asset = svc.register_asset(session, Actor.of(seller), svc.AssetInput(
        kind=kind, title=title, technical_field=field, number=number, filing_date=date(filing_year, 3, 15),
        summary=summary), clock=clock)
    svc.upload_evidence(session, Actor.of(seller), asset.ref, kind="certificate", filename="专利证书.pdf", data=_PDF,
                        public=True, folder=folder, max_bytes=10**7, clock=clock)
    svc.add_valuation(session, Actor.of(seller), asset.ref, d.ValuationMethod.COST,
                      {"replacement_cost_fen": 60_000_000, "physical_depreciation_fen": 5_000_000}, clock=clock)
    svc.request_review(session, Actor.of(seller), asset.ref, clock=clock)
    svc.review_asset(session, Actor.of(operator), asset.ref, checklist=_CHECKLIST, confirm=True,
                     reasons="权属证明、法律状态与登记簿一致 (demo)", clock=clock)
    return asset


def publish(session, clock, seller, operator, asset, *, title, price_yuan, mode=d.TradingMode.ASSIGNMENT,  # type: ignore[no-untyped-def]
            free_minutes=60, **extra) -> Listing:
    terms = svc.ListingTerms(title=title, mode=mode, price_fen=price_yuan * 100, deposit_fen=price_yuan * 10,
                             increment_fen=max(100_000, price_yuan), free_bidding_minutes=free_minutes,
                             qualification_conditions="依法设立并有效存续的企业法人或自然人；具备实施本技术的能力。",
                             **extra)
    # The demo seller is a university: a filed appraisal must back the price.
    svc.record_appraisal(session, Actor.of(operator), asset.ref, svc.AppraisalInput(
        appraiser="上海东方资产评估有限公司 (demo)", report_number=f"沪东评报字(2026)第{asset.id:04d}号",
        value_fen=price_yuan * 95, report_date=clock.now().date() - timedelta(days=30)), clock=clock)
    listing = svc.create_listing(session, Actor.of(seller), asset.ref, terms, clock=clock)
    svc.submit_listing(session, Actor.of(seller), listing.ref, clock=clock)
    return svc.publish_listing(session, Actor.of(operator), listing.ref, clock=clock)


def _stage(app, session, clock, users) -> None:  # type: ignore[no-untyped-def]
    if session.scalar(sa.select(sa.func.count()).select_from(Listing).where(Listing.title.startswith(DEMO_MARK))):
        return
    seller, op = users["seller@demo.example"], users["operator@demo.example"]
    b1, b2 = users["buyer1@demo.example"], users["buyer2@demo.example"]
    folder = app.config["UPLOAD_FOLDER"]
    rng = random.Random(2026)
    past = FakeClock(clock.now() - timedelta(days=3))
    items = [
        ("一种工业机器人关节减速器", "advanced_manufacturing", 2_800_000),
        ("基于深度学习的锂电池缺陷检测方法", "artificial_intelligence", 1_500_000),
        ("一种可降解医用高分子材料及其制备方法", "new_materials", 3_600_000),
    ]
    for i, (title, field, price) in enumerate(items):
        asset = make_confirmed_asset(session, past, seller, op, title=title, field=field, rng=rng, folder=folder,
                                     summary=f"{title}：高校科研成果，已完成中试。")
        listing = publish(session, past, seller, op, asset, title=f"{DEMO_MARK}{title}专利转让", price_yuan=price)
        if i == 0:
            for buyer in (b1, b2):
                reg = svc.register_interest(session, Actor.of(buyer), listing.ref, "本单位符合全部受让条件。",
                                            clock=past)
                svc.confirm_deposit_manually(session, Actor.of(op), reg.ref, clock=past)
            svc.decide_registration(session, Actor.of(op), listing.registrations[0].ref, qualify=True, reason="",
                                    clock=past)


DEMO_STAGES.append(_stage)
