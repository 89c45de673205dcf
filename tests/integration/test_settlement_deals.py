"""Deal settlement beyond the happy path: overdue payments and the default path, instalments,
defaults before the contract takes effect, the runner-up, negotiated and open-licence deals,
and the fee record a deal keeps."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from auctions.models import DealState
from listings.domain import ListingState
from auctions.service import deals
from exchange.errors import DomainError
from exchange.models import AuditEvent
from exchange.money import Money
from settlement import service as svc
from settlement.domain import DEFAULT_FEE_SCHEDULE, HoldState, compute_fee, schedule_to_dict
from settlement.models import (
    CreditEventRecord,
    DealSettlement,
    ObligationState,
    PaymentFlag,
    PaymentPurpose,
    SettlementState,
)
from settlement.service import ledger
from tests import settlement_world as sw


def _st(session, deal) -> DealSettlement:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))


def _hold(session, reg):  # type: ignore[no-untyped-def]
    session.expire_all()
    return svc.holds.hold_of(session, reg.id)


def _events(session, party_id: int) -> list[str]:
    return sorted(e.kind.value for e in session.scalars(sa.select(CreditEventRecord)
                                                         .where(CreditEventRecord.party_id == party_id)))


def test_overdue_lump_sum_is_flagged_and_the_deal_defaults_forfeiting_the_deposit(session, clock):
    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    st = _st(session, deal)
    [ob] = st.obligations
    # A part payment lands in escrow; the rest never comes.
    sw.pay(session, w, st.buyer_fee_fen + 1_000_000, PaymentPurpose.PRICE, deal.ref)
    assert svc.flag_overdue(session, clock) == {"flagged": 0, "defaulted": 0}
    clock.set(sw.shanghai_end(ob.due_on) + timedelta(hours=1))
    assert svc.flag_overdue(session, clock) == {"flagged": 1, "defaulted": 1}
    assert svc.flag_overdue(session, clock) == {"flagged": 0, "defaulted": 0}  # a second run does nothing
    st = _st(session, deal)
    assert deal.state == DealState.DEFAULTED and st.state == SettlementState.DEFAULTED
    assert [o.state for o in st.obligations] == [ObligationState.CANCELLED]
    winner = w.regs[1]
    hold = _hold(session, winner)
    assert hold.state == HoldState.FORFEITED
    # The seller gets 80 % of the forfeited deposit, the exchange the rest; the part paid goes back.
    seller_share = winner.deposit_fen * 8 // 10
    assert ledger.available_cash_fen(session, deal.seller) == seller_share
    assert -ledger.balance_fen(session, ledger.FORFEITURE_INCOME) == winner.deposit_fen - seller_share
    assert ledger.available_cash_fen(session, deal.buyer) == 1_000_000
    assert -ledger.balance_fen(session, ledger.FEE_INCOME) == st.buyer_fee_fen  # fees paid are kept
    assert ledger.balance_fen(session, ledger.escrow_key(deal.ref)) == 0
    assert {"default", "forfeiture", "late_payment"} <= set(_events(session, deal.buyer_party_id))
    # The defaulter's cash goes back by refund, once.
    d, created = svc.refund(session, w.op_actor, deal.buyer.ref, 1_000_000, "price paid on a defaulted deal",
                            key="refund-1", clock=clock)
    assert created and svc.refund(session, w.op_actor, deal.buyer.ref, 1_000_000, "again", key="refund-1",
                                  clock=clock) == (d, False)
    assert ledger.available_cash_fen(session, deal.buyer) == 0
    with pytest.raises(DomainError) as e:
        svc.refund(session, w.op_actor, deal.buyer.ref, 1, "nothing left", key="refund-2", clock=clock)
    assert e.value.code == "insufficient_cash"
    sw.check_ledger(session)


def test_instalments_at_least_thirty_percent_down_within_a_year(session, clock):
    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    with pytest.raises(DomainError) as e:
        svc.set_instalment_plan(session, w.op_actor, deal.ref, {"down_ratio": "0.2", "count": 3}, clock=clock)
    assert e.value.code == "down_payment_too_low"
    with pytest.raises(DomainError) as e:
        svc.set_instalment_plan(session, w.op_actor, deal.ref, {"down_ratio": "0.3", "count": 14}, clock=clock)
    assert e.value.code == "instalments_beyond_one_year"
    st = svc.set_instalment_plan(session, w.op_actor, deal.ref, {"down_ratio": "0.3", "count": 4,
                                                                  "interval_months": 3}, clock=clock)
    st = _st(session, deal)
    total = sum(o.amount_fen for o in st.obligations)
    assert len(st.obligations) == 4 and total == deal.price_fen - w.regs[1].deposit_fen + st.buyer_fee_fen
    assert st.obligations[0].amount_fen >= total * Decimal("0.3")
    down = st.obligations[0].amount_fen
    n = sw.pay(session, w, down, PaymentPurpose.INSTALMENT, deal.ref)
    assert n.flag == PaymentFlag.EXACT
    st = _st(session, deal)
    assert [o.state for o in st.obligations] == [ObligationState.PAID] + [ObligationState.OPEN] * 3
    assert st.fee_paid_fen == st.buyer_fee_fen  # the fee is paid first
    with pytest.raises(DomainError) as e:
        svc.set_instalment_plan(session, w.op_actor, deal.ref, {"down_ratio": "0.5", "count": 2}, clock=clock)
    assert e.value.code == "plan_not_changeable"
    # Pay the rest in one go (over the next instalment, exactly what is left).
    rest = total - down
    assert sw.pay(session, w, rest, PaymentPurpose.INSTALMENT, deal.ref).flag == PaymentFlag.EXACT
    st = _st(session, deal)
    assert st.state == SettlementState.PRICE_IN
    assert _hold(session, w.regs[1]).state == HoldState.APPLIED
    assert set(_events(session, deal.buyer_party_id)) == {"on_time_payment"}
    sw.check_ledger(session)


def test_default_before_the_contract_takes_effect_forfeits_and_the_runner_up_gets_the_deal(session, clock):
    w = sw.build(session, clock, buyers=2)
    price = w.listing.price_fen
    deal = sw.auction_deal(session, w, bids=[(0, price), (1, price + w.listing.increment_fen)])
    loser = w.regs[0]
    deals.record_default(session, w.op_actor, deal.ref, "did not sign within 3 working days", clock=clock)
    assert _hold(session, w.regs[1]).state == HoldState.FORFEITED
    assert _st(session, deal).state == SettlementState.DEFAULTED
    from auctions.service import offer_to_runner_up

    new = offer_to_runner_up(session, w.op_actor, deal.ref, clock=clock)
    assert _st(session, deal).state == SettlementState.DEFAULTED  # cancelling the old deal changes nothing
    assert _hold(session, w.regs[1]).state == HoldState.FORFEITED
    st = _st(session, new)
    assert new.buyer_party_id == loser.buyer_party_id and st.hold_id == _hold(session, loser).id
    assert _hold(session, loser).release_due_on is None and _hold(session, loser).deal_id == new.id
    sw.in_force(session, w, new)
    st = _st(session, new)
    assert st.applied_deposit_fen == loser.deposit_fen
    assert st.obligations[0].amount_fen == price - loser.deposit_fen + st.buyer_fee_fen
    sw.check_ledger(session)


def test_a_seller_that_never_signs_frees_the_buyers_deposit_and_carries_the_default(session, clock):
    """The buyer signed, the seller let the deadline pass: the deal is called off, the buyer's
    deposit is released (and refunded like a losing bidder's), nothing is owed, and the default is
    the seller's, on the seller's credit record."""
    from contracts import jobs as contract_jobs
    from contracts import service as contracts
    from exchange.actors import Actor

    w = sw.build(session, clock, buyers=2)
    price = w.listing.price_fen
    deal = sw.auction_deal(session, w, bids=[(0, price), (1, price + w.listing.increment_fen)])
    winner_reg = w.regs[1]
    assert _hold(session, winner_reg).state == HoldState.HELD and _st(session, deal).hold_id is not None
    deposit_before = ledger.balance_fen(session, ledger.deposit_key(w.buyers[1].party), "CNY")
    contract = contracts.contract_for_deal(session, deal.id)
    contracts.sign_contract(session, Actor.of(w.buyers[1]), contract.ref, contract.text_sha256, clock=clock)
    clock.set(deal.sign_by)
    assert contract_jobs.sweep_signing_deadlines(session, clock) == {"buyer": 0, "seller": 1}
    session.expire_all()
    assert deal.state == DealState.CANCELLED
    st = _st(session, deal)
    assert st.state == SettlementState.CANCELLED and st.obligations == []
    hold = _hold(session, winner_reg)
    assert hold.state == HoldState.RELEASED
    assert deposit_before != 0 and ledger.balance_fen(session, ledger.deposit_key(w.buyers[1].party), "CNY") == 0
    assert "default" in _events(session, w.seller.party_id)
    assert "default" not in _events(session, w.buyers[1].party_id)
    assert "forfeiture" not in _events(session, w.buyers[1].party_id)
    # The listing does not stay 'sold': it ends (终结), saying why, and the asset can be listed afresh.
    assert w.listing.state == ListingState.TERMINATED
    ended = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == w.listing.ref,
                                                        AuditEvent.action == "listing.terminated")).all()
    assert len(ended) == 1 and "卖方未在签约期限内签署合同" in ended[0].reason
    # Again, by the sweep or by the hook itself: nothing more happens.
    assert contract_jobs.sweep_signing_deadlines(session, clock) == {"buyer": 0, "seller": 0}
    svc.obligations.on_deal_cancelled(session, deal, clock)
    assert _st(session, deal).state == SettlementState.CANCELLED
    assert _events(session, w.seller.party_id).count("default") == 1
    from auctions.service import call_off_for_seller_default

    call_off_for_seller_default(session, Actor.system("test"), deal.ref, "again", clock=clock)
    assert w.listing.state == ListingState.TERMINATED
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.subject_ref == w.listing.ref, AuditEvent.action == "listing.terminated")) == 1
    sw.check_ledger(session)


def test_an_operator_cannot_terminate_a_sold_listing(session, clock):
    """A sold listing ends with its deal (completed, relisted after a buyer default, or terminated
    when the seller does not sign), never by an operator's termination behind the deal's back."""
    from exchange.actors import Actor
    from exchange.errors import StateError
    from listings.service import terminate_listing

    w = sw.build(session, clock, buyers=2)
    price = w.listing.price_fen
    deal = sw.auction_deal(session, w, bids=[(0, price), (1, price + w.listing.increment_fen)])
    assert w.listing.state == ListingState.SOLD
    with pytest.raises(StateError) as exc:
        terminate_listing(session, Actor.of(w.op), w.listing.ref, "终结挂牌", clock=clock)
    assert exc.value.code == "invalid_transition" and exc.value.details == {"from": "sold", "to": "terminated"}
    session.expire_all()
    assert w.listing.state == ListingState.SOLD and deal.state == DealState.STRUCK


def test_negotiated_deal_pays_negotiated_fees_and_a_deal_keeps_its_fee_schedule_version(session, clock):
    from auctions.service import confirm_price, record_result
    from auctions.models import Negotiation

    w = sw.build(session, clock, buyers=1, price_fen=500_000_000, deposit_fen=50_000_000)
    reg = w.regs[0]
    sw.pay_deposit(session, w, reg)
    sw.qualify(session, w, reg)
    sw.end_publicity(session, w)
    n = session.scalar(sa.select(Negotiation).where(Negotiation.listing_id == w.listing.id))
    confirm_price(session, w.actor(w.buyers[0]), n.ref, 520_000_000, clock=clock)
    # A new schedule is added before the deal is struck but takes effect later: the deal keeps the old one.
    data = schedule_to_dict(DEFAULT_FEE_SCHEDULE)
    data.update(version="2027-1", effective_from=(clock.now().date() + timedelta(days=30)).isoformat(),
                min_negotiated_fen=500_000)
    svc.add_schedule(session, w.op_actor, data, clock=clock)
    record_result(session, w.op_actor, n.ref, concluded=True, note="", clock=clock)
    deal = sw.deal_of(session, w)
    st = _st(session, deal)
    price = Money(520_000_000)
    assert (st.fee_schedule_version, st.fee_method) == (DEFAULT_FEE_SCHEDULE.version, "negotiated")
    assert st.buyer_fee_fen == st.seller_fee_fen == compute_fee(DEFAULT_FEE_SCHEDULE, price, "buyer", "negotiated").fen
    assert st.buyer_fee_fen == 520_000_000 * 24 // 10_000  # 0.24 % below 3,000万, exact to the fen
    # Once the new version is in force, the next deal pays under it; this one does not change.
    clock.set(clock.now() + timedelta(days=31))
    assert svc.fee_quote(session, 520_000_000, "negotiation", clock=clock)["schedule_version"] == "2027-1"
    assert _st(session, deal).fee_schedule_version == DEFAULT_FEE_SCHEDULE.version
    sw.check_ledger(session)


def test_fee_schedules_are_versioned_and_never_backdated(session, clock):
    from exchange.actors import Actor

    op = Actor.system("test")
    data = schedule_to_dict(DEFAULT_FEE_SCHEDULE)
    with pytest.raises(DomainError) as e:
        svc.add_schedule(session, op, {**data, "version": "old"}, clock=clock)
    assert e.value.code == "fee_schedule_backdated"
    with pytest.raises(DomainError) as e:
        svc.add_schedule(session, op, {**data, "effective_from": "2099-01-01"}, clock=clock)
    assert e.value.code == "fee_schedule_exists"
    with pytest.raises(DomainError) as e:
        svc.add_schedule(session, op, {**data, "version": "x", "effective_from": "2099-01-01",
                                       "bidding_buyer": []}, clock=clock)
    assert e.value.code == "invalid_fee_schedule"


def test_open_licence_deal_without_deposit_and_a_royalty_only_one_without_fees(session, clock):
    from auctions.models import DealMethod
    from listings import domain as ld

    w = sw.build(session, clock, buyers=1, register=False)
    buyer = w.buyers[0]
    deal = deals.strike_deal(session, method=DealMethod.OPEN_LICENCE, asset=w.asset,
                             seller_party_id=w.seller.party_id, buyer_party_id=buyer.party_id,
                             mode=ld.TradingMode.OPEN_LICENCE, price_fen=1_000_000, clock=clock, actor=w.op_actor)
    st = _st(session, deal)
    assert st.hold_id is None and st.fee_method == "negotiated" and st.buyer_fee_fen == 200_000
    assert st.seller_fee_fen == 200_000  # the 2,000 yuan minimum, within the 10,000 yuan price
    royalty = deals.strike_deal(session, method=DealMethod.OPEN_LICENCE, asset=w.asset,
                                seller_party_id=w.seller.party_id, buyer_party_id=w.buyers[0].party_id,
                                mode=ld.TradingMode.OPEN_LICENCE, price_fen=0, clock=clock, actor=w.op_actor)
    sw.in_force(session, w, royalty)
    st0 = _st(session, royalty)
    assert (st0.buyer_fee_fen, st0.seller_fee_fen, st0.state) == (0, 0, SettlementState.PRICE_IN)
    svc.confirm_transfer(session, w.op_actor, royalty.ref, evidence="开放许可备案", clock=clock)
    svc.pay_out(session, w.op_actor, royalty.ref, clock=clock)
    assert royalty.state == DealState.COMPLETED
    sw.check_ledger(session)


def test_small_bidding_deal_seller_fee_is_capped_at_the_price(session, clock):
    rec = svc.fees_for_price(session, Money(200_000), "auction", date(2026, 3, 2), clock=clock)
    assert rec.buyer_fee_fen == 360_000 and rec.seller_fee_fen == 200_000
