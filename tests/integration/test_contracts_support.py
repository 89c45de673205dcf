"""Helpers shared by the contracts tests (this module has no tests of its own):
deals struck straight through the services, signing, and settlement status stand-ins."""
from __future__ import annotations

import io
import itertools
import re
from datetime import date
from typing import Any

from pypdf import PdfReader

from auctions.models import Deal, DealMethod
from auctions.service.deals import strike_deal
from contracts import service as svc
from contracts.models import Contract
from contracts.service import settlement_link
from exchange.actors import Actor
from exchange.models import EntityType, User
from listings.domain import PATENT_KINDS, AssetKind, TradingMode
from listings.service import AssetInput, register_asset
from tests.factories import make_member, make_staff
from tests.helpers import patent_no

_serials = itertools.count(3000)
_TYPE_DIGIT = {AssetKind.INVENTION_PATENT: 1, AssetKind.PATENT_APPLICATION_RIGHT: 1, AssetKind.UTILITY_MODEL: 2,
               AssetKind.DESIGN_PATENT: 3}
LICENCE_TERMS = {"licence_term_months": 60, "territory": "中华人民共和国境内"}
ALL_PAID = {"price_received": True, "buyer_fee_paid": True, "seller_fee_paid": True, "settled": True}


def make_deal(session, clock, *, mode: str = "assignment", kind: str = "invention_patent",  # type: ignore[no-untyped-def]
              price_fen: int = 100_000_000, method: DealMethod = DealMethod.NEGOTIATION,
              seller: User | None = None, buyer: User | None = None,
              seller_entity: EntityType = EntityType.enterprise, terms: dict[str, Any] | None = None,
              title: str = "一种工业机器人关节减速器") -> Deal:
    """A struck deal between two fresh members (its contract is drafted by the hook)."""
    seller = seller or make_member(session, clock, entity_type=seller_entity)
    buyer = buyer or make_member(session, clock)
    asset_kind = AssetKind(kind)
    number = filing = None
    if asset_kind in PATENT_KINDS:
        number, filing = patent_no(next(_serials), type_digit=_TYPE_DIGIT[asset_kind]), date(2017, 8, 1)
    asset = register_asset(session, Actor.of(seller), AssetInput(kind=asset_kind, title=title,
                                                                 technical_field="advanced_manufacturing",
                                                                 number=number, filing_date=filing), clock=clock)
    if terms is None:
        terms = dict(LICENCE_TERMS) if mode not in ("assignment", "capital_contribution") else {}
    return strike_deal(session, method=method, asset=asset, seller_party_id=seller.party_id,
                       buyer_party_id=buyer.party_id, mode=TradingMode(mode), price_fen=price_fen, clock=clock,
                       actor=Actor.system("test"), terms=terms)


def contract_of(session, deal: Deal) -> Contract:  # type: ignore[no-untyped-def]
    contract = svc.contract_for_deal(session, deal.id)
    assert contract is not None, "the deal hook drafts a contract"
    return contract


def seller_user(deal: Deal) -> User:
    return deal.seller.users[0]


def buyer_user(deal: Deal) -> User:
    return deal.buyer.users[0]


def sign_both(session, clock, deal: Deal) -> Contract:  # type: ignore[no-untyped-def]
    contract = contract_of(session, deal)
    for user in (seller_user(deal), buyer_user(deal)):
        contract = svc.sign_contract(session, Actor.of(user), contract.ref, contract.text_sha256, clock=clock)
    return contract


def operator(session, clock) -> Actor:  # type: ignore[no-untyped-def]
    return Actor.of(make_staff(session, clock))


def money_status(monkeypatch, status: dict[str, bool] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Stand in for settlement: ``deal_money_status`` answers ``status`` (everything paid by default)."""
    answer = dict(ALL_PAID if status is None else status)
    monkeypatch.setattr(settlement_link, "_settlement_deal_status", lambda: lambda session, deal: answer)


def pdf_text(data: bytes) -> str:
    """The text of every page, without whitespace (a wrapped value reads as the unwrapped one)."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return re.sub(r"\s+", "", text)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)
