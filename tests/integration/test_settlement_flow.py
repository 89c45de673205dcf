"""A deal settled end to end through the services: deposits as holds, the auction, the fee record,
the lump sum, the transfer confirmation and the payout; losers' deposits released; the ledger
balanced throughout."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from exchange.errors import DomainError
from settlement import service as svc
from settlement.domain import DEFAULT_FEE_SCHEDULE, HoldState, compute_fee
from settlement.models import (
    DealSettlement,
    DepositHold,
    JournalEntry,
    NotificationState,
    ObligationState,
    PaymentFlag,
    PaymentPurpose,
    SettlementState,
)
from settlement.service import ledger
from exchange.money import Money
from tests import settlement_world as sw


def _hold(session, reg) -> DepositHold:  # type: ignore[no-untyped-def]
    session.expire_all()
    return svc.holds.hold_of(session, reg.id)


def _ok(session) -> None:  # type: ignore[no-untyped-def]
    sw.check_ledger(session)


def test_deposit_by_bank_notification_funds_the_hold_and_marks_the_registration_paid(session, clock):
    w = sw.build(session, clock, buyers=1)
    reg = w.regs[0]
    assert _hold(session, reg).state == HoldState.PENDING
    n = sw.pay_deposit(session, w, reg)
    assert n.state == NotificationState.MATCHED and n.flag == PaymentFlag.EXACT and n.matched_ref == reg.ref
    hold = _hold(session, reg)
    assert hold.state == HoldState.HELD and hold.funded_by == "cash"
    assert reg.state.value == "deposit_paid"
    # The deposit sits in the deposit pool and is owed back to the buyer.
    assert ledger.balance_fen(session, ledger.POOL) == reg.deposit_fen
    assert ledger.balance_fen(session, ledger.deposit_key(reg.buyer)) == -reg.deposit_fen
    assert ledger.balance_fen(session, ledger.SUSPENSE) == 0
    _ok(session)


def test_new_terms_requote_an_unpaid_deposit_and_leave_a_paid_one(session, clock):
    """The seller raises price and deposit during publicity (publicity restarts): a buyer that has
    not paid yet owes the new deposit by the new end of publicity, its hold says the same, and
    paying that amount funds it; a buyer that had paid keeps what it paid under its terms."""
    from exchange.models import AuditEvent
    from listings import service as ls

    w = sw.build(session, clock, buyers=2, price_fen=100_000_000, deposit_fen=10_000_000)
    unpaid, paid = w.regs
    sw.pay_deposit(session, w, paid)
    assert _hold(session, paid).state == HoldState.HELD
    old_due = unpaid.deposit_due_at
    clock.advance(days=3)
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"price_fen": 200_000_000, "deposit_fen": 30_000_000},
                    clock=clock)
    session.expire_all()
    listing = w.listing
    assert unpaid.deposit_fen == 30_000_000 and unpaid.deposit_due_at == listing.publicity_ends_at > old_due
    hold = _hold(session, unpaid)
    assert hold.state == HoldState.PENDING and (hold.amount_fen, hold.cash_fen, hold.cover_fen) == (30_000_000,) * 2 + (0,)
    assert paid.deposit_fen == 10_000_000 and paid.deposit_due_at == old_due and paid.state.value == "deposit_paid"
    assert _hold(session, paid).amount_fen == 10_000_000 and _hold(session, paid).state == HoldState.HELD
    actions = {(e.subject_ref, e.action) for e in session.scalars(sa.select(AuditEvent))}
    assert (unpaid.ref, "registration.terms_changed") in actions and (unpaid.ref, "hold.requoted") in actions
    assert (paid.ref, "registration.terms_changed") not in actions and (paid.ref, "hold.requoted") not in actions
    # The old amount no longer covers it; the new one does.
    sw.pay_deposit(session, w, unpaid, 10_000_000)
    assert _hold(session, unpaid).state == HoldState.PENDING
    sw.pay_deposit(session, w, unpaid, 20_000_000)
    assert _hold(session, unpaid).state == HoldState.HELD and unpaid.state.value == "deposit_paid"
    # Changing only the text leaves the deposits alone (the restart moves no deadline of a paid buyer).
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"disclosures": "补充披露：无其他许可。"}, clock=clock)
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "hold.requoted")) == 1
    _ok(session)


def test_new_terms_let_a_qualified_buyer_leave_with_its_deposit_until_qualified_again(session, clock):
    """Qualified under the old terms, a buyer that withdraws after the seller raised the price gets
    its deposit back; one qualified after the change forfeits it on withdrawal, as before."""
    from exchange.actors import Actor
    from exchange.models import AuditEvent
    from listings import service as ls

    w = sw.build(session, clock, buyers=2)
    early, late = w.regs
    for reg in w.regs:
        sw.pay_deposit(session, w, reg)
    sw.qualify(session, w, early)
    clock.advance(hours=1)
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"price_fen": 150_000_000}, clock=clock)
    clock.advance(hours=1)
    sw.qualify(session, w, late)
    ls.withdraw_registration(session, Actor.of(w.buyers[0]), early.ref, "价格上调", clock=clock)
    ls.withdraw_registration(session, Actor.of(w.buyers[1]), late.ref, "退出", clock=clock)
    # A later change of terms does not reopen a withdrawal already decided.
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"price_fen": 160_000_000}, clock=clock)
    assert svc.settle_due_holds(session, clock) == {"release": 1, "forfeit": 1}
    assert (_hold(session, early).state, _hold(session, late).state) == (HoldState.RELEASED, HoldState.FORFEITED)
    reasons = {e.subject_ref: e.reason for e in session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action.in_(["hold.released", "hold.forfeited"])))}
    assert reasons[early.ref] == "withdrew after the terms changed" and reasons[late.ref] == "withdrew after qualifying"
    # The early buyer's deposit is owed back to it; the late one's went to the seller.
    assert ledger.balance_fen(session, ledger.deposit_key(early.buyer)) == 0
    _ok(session)


def test_a_lowered_deposit_is_funded_from_what_the_buyer_already_paid(session, clock):
    """A short transfer waits as the buyer's free cash; when new terms lower the deposit to what it
    covers, the hold is funded there and then (nothing else would retry it before publicity ends)."""
    from listings import service as ls

    w = sw.build(session, clock, buyers=1, price_fen=100_000_000, deposit_fen=30_000_000)
    reg = w.regs[0]
    sw.pay_deposit(session, w, reg, 20_000_000)
    assert _hold(session, reg).state == HoldState.PENDING
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"deposit_fen": 15_000_000}, clock=clock)
    hold = _hold(session, reg)
    assert (hold.state, hold.cash_fen, reg.state.value) == (HoldState.HELD, 15_000_000, "deposit_paid")
    assert ledger.available_cash_fen(session, reg.buyer) == 5_000_000  # the rest stays the buyer's
    _ok(session)


def test_short_deposit_waits_and_a_top_up_funds_it(session, clock):
    w = sw.build(session, clock, buyers=1)
    reg = w.regs[0]
    n1 = sw.pay_deposit(session, w, reg, reg.deposit_fen - 100)
    assert n1.flag == PaymentFlag.SHORT and _hold(session, reg).state == HoldState.PENDING
    assert ledger.available_cash_fen(session, reg.buyer) == reg.deposit_fen - 100
    top_up = sw.pay_deposit(session, w, reg, 100)
    assert top_up.flag == PaymentFlag.EXACT and top_up.expected_fen == 100  # exactly what was missing
    assert _hold(session, reg).state == HoldState.HELD
    assert ledger.available_cash_fen(session, reg.buyer) == 0
    _ok(session)


def test_auction_deal_settles_and_pays_out_once(session, clock):
    w = sw.build(session, clock, buyers=3)
    deal = sw.auction_deal(session, w)
    winner_reg = w.regs[1]
    st = session.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))
    price = Money(deal.price_fen)
    assert st.fee_schedule_version == DEFAULT_FEE_SCHEDULE.version and st.fee_method == "bidding"
    assert st.buyer_fee_fen == compute_fee(DEFAULT_FEE_SCHEDULE, price, "buyer", "bidding").fen
    assert st.seller_fee_fen == compute_fee(DEFAULT_FEE_SCHEDULE, price, "seller", "bidding").fen
    assert st.state == SettlementState.AWAITING_CONTRACT
    # Losers: due for release within 3 working days; the third buyer did not bid and forfeits.
    assert _hold(session, w.regs[0]).release_due_on is not None
    assert _hold(session, w.regs[2]).state == HoldState.FORFEITED
    assert _hold(session, winner_reg).deal_id == deal.id

    sw.in_force(session, w, deal)
    session.refresh(st)
    assert st.state == SettlementState.AWAITING_PAYMENT and st.applied_deposit_fen == winner_reg.deposit_fen
    [ob] = st.obligations
    assert ob.amount_fen == deal.price_fen - winner_reg.deposit_fen + st.buyer_fee_fen
    # The job releases a loser's deposit on its due date, not before; the buyer may ask for it earlier.
    assert svc.settle_due_holds(session, clock) == {"release": 0, "forfeit": 0}
    with pytest.raises(DomainError) as e:
        svc.request_release(session, w.actor(w.buyers[1]), winner_reg.ref, clock=clock)
    assert e.value.code == "hold_not_releasable"
    svc.request_release(session, w.actor(w.buyers[0]), w.regs[0].ref, clock=clock)
    assert _hold(session, w.regs[0]).state == HoldState.RELEASED
    assert svc.request_release(session, w.actor(w.buyers[0]), w.regs[0].ref, clock=clock).state == HoldState.RELEASED
    clock.set(clock.now() + timedelta(days=7))
    assert svc.settle_due_holds(session, clock) == {"release": 0, "forfeit": 0}

    # Payout is refused until the price is in and the transfer confirmed.
    with pytest.raises(DomainError) as e:
        svc.pay_out(session, w.op_actor, deal.ref, clock=clock)
    assert e.value.code == "price_not_in"
    n = sw.pay(session, w, ob.amount_fen, PaymentPurpose.PRICE, deal.ref)
    assert n.flag == PaymentFlag.EXACT
    session.refresh(st)
    assert st.state == SettlementState.PRICE_IN and _hold(session, winner_reg).state == HoldState.APPLIED
    assert -ledger.balance_fen(session, ledger.escrow_key(deal.ref)) == deal.price_fen
    with pytest.raises(DomainError) as e:
        svc.pay_out(session, w.op_actor, deal.ref, clock=clock)
    assert e.value.code == "transfer_not_confirmed"
    svc.confirm_transfer(session, w.op_actor, deal.ref, evidence="专利权转让登记已于国家知识产权局办理", clock=clock)
    svc.pay_out(session, w.op_actor, deal.ref, clock=clock)
    entries = session.scalar(sa.select(sa.func.count()).select_from(JournalEntry))
    svc.pay_out(session, w.op_actor, deal.ref, clock=clock)  # replay: nothing more
    assert session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) == entries
    session.refresh(st)
    assert st.state == SettlementState.PAID_OUT and deal.state.value == "completed"
    assert ledger.balance_fen(session, ledger.escrow_key(deal.ref)) == 0
    assert -ledger.balance_fen(session, ledger.FEE_INCOME) == st.buyer_fee_fen + st.seller_fee_fen
    assert svc.confirmations_for_deal(session, deal) == {"rights_confirmed": True, "appraised": False,
                                                         "price_held_in_escrow": True,
                                                         "settled_through_exchange": True}
    assert [o.state for o in st.obligations] == [ObligationState.PAID]
    _ok(session)
